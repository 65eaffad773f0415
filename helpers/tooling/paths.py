"""Where things are in the repository, whatever the working directory."""
from __future__ import annotations

import re
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the backport, a dependency there (pyproject.toml)
    import tomli as tomllib

from ..results import FIGURES

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
DOCS = ROOT / "docs"
README = ROOT / "README.md"
PYPROJECT = ROOT / "pyproject.toml"
NOTEBOOK_TIMES = FIGURES / "notebook_times.csv"


def repository() -> str:
    """The course's GitHub repository, ``https://github.com/OWNER/NAME``, from pyproject.toml's
    ``[project.urls] Repository`` (the one place it is written)."""
    url = tomllib.loads(PYPROJECT.read_text())["project"].get("urls", {}).get("Repository", "")
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url):
        raise ValueError(f"pyproject.toml's [project.urls] Repository must be https://github.com/OWNER/NAME "
                         f"(Colab opens notebooks from GitHub), got {url!r}")
    return url
