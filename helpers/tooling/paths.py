"""Where things are in the repository, whatever the working directory."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ROOT / "figures"
NOTEBOOKS = ROOT / "notebooks"
DOCS = ROOT / "docs"
README = ROOT / "README.md"
PYPROJECT = ROOT / "pyproject.toml"
NOTEBOOK_TIMES = FIGURES / "notebook_times.csv"
