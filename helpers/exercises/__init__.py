"""Every notebook's exercises, registered with ``helpers.checks`` on import (one module per part)."""
from . import theory, practice, accuracy  # noqa: F401
