"""Every notebook's exercises, registered with ``helpers.checks`` on import (one module per part)."""
from . import accuracy, practice, study, theory, transformers  # noqa: F401
