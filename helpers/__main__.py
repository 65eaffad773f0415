"""``python -m helpers reproduce|bench|latency|notebooks|readme`` (see ``helpers.tooling.cli``)."""
import sys

from .tooling.cli import main

if __name__ == "__main__":
    sys.exit(main())
