"""The helper package's layout: at most 14 modules a learner sees, each with its ``__all__``; the
course's machinery (``helpers.tooling``) imported by none of them and by no notebook; the predictor
depending on the private core alone."""
import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HELPERS = ROOT / "helpers"
PUBLIC = sorted(p for p in HELPERS.glob("*.py") if not p.name.startswith("_"))
LEARNER_FILES = [p for p in HELPERS.rglob("*.py") if "tooling" not in p.relative_to(HELPERS).parts]


def _imports(path: Path) -> set[str]:
    """Every helpers module a file imports, as an absolute dotted name (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found |= {f"{base}.{a.name}" for a in node.names}
    return {name for name in found if name == "helpers" or name.startswith("helpers.")}


def test_at_most_fourteen_top_level_modules():
    modules = [p.stem for p in HELPERS.glob("*.py") if not p.name.startswith("__")]
    assert len(modules) <= 14, sorted(modules)


@pytest.mark.parametrize("path", LEARNER_FILES + sorted((ROOT / "notebooks").glob("[0-9]*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_a_learner_runs_imports_the_tooling(path):
    if path == HELPERS / "__main__.py":  # `python -m helpers` is the command line itself
        return
    assert not {m for m in _imports(path) if m.startswith("helpers.tooling")}, path


def test_the_predictor_depends_on_the_private_core_alone():
    used = set().union(*(_imports(p) for p in (HELPERS / "predict").glob("*.py")))
    outside = {m for m in used if not m.startswith(("helpers.predict", "helpers._core"))}
    assert not outside, outside


def test_the_import_scan_sees_relative_imports():
    # the check above must be able to fail: a file of the predictor importing a learner module
    assert "helpers._core.check_by" in _imports(HELPERS / "predict" / "model.py")  # from .._core import ...
    assert "helpers.predict.graph" in _imports(HELPERS / "predict" / "model.py")  # from . import graph
    assert "helpers.pruning.prune_steps" in _imports(HELPERS / "budget.py")


@pytest.mark.parametrize("path", PUBLIC, ids=lambda p: p.stem)
def test_every_public_module_says_what_it_exports(path):
    module = importlib.import_module(f"helpers.{path.stem}")
    assert hasattr(module, "__all__"), f"helpers.{path.stem} has no __all__"
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"helpers.{path.stem}.__all__ names what it lacks: {missing}"
