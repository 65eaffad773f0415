"""The whole test session runs offline: this process (collection and module fixtures included) and
every Python process it starts (``tests/offline/sitecustomize.py``)."""
import importlib.util
import os
from pathlib import Path

OFFLINE = Path(__file__).parent / "tests" / "offline"
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(OFFLINE), os.environ.get("PYTHONPATH")]))
_spec = importlib.util.spec_from_file_location("course_offline", OFFLINE / "sitecustomize.py")
_spec.loader.exec_module(importlib.util.module_from_spec(_spec))  # installs the guard in this process
