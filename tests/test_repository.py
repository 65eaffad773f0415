"""The repository URL is written once (pyproject.toml) and every Colab link and clone follows it; the
Colab cell is written once (helpers.tooling.notebooks) and installs what Colab lacks from pins.txt."""
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import types

import pytest

from helpers.tooling import notebooks, paths, readme

FORK = "https://github.com/a-fork/its-course"


def _colab_cells(ipynb) -> list[str]:
    cells = json.loads(ipynb.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"
            and "".join(c["source"]).startswith("# Colab only:")]


def test_every_colab_cell_clones_the_repository_of_pyproject():
    url = paths.repository()
    for py in notebooks.sources():
        for path in (py, py.with_suffix(".ipynb")):
            found = notebooks.CLONE_URL.findall(path.read_text())
            assert len(found) == 1, f"{path.name}: no Colab cell clone found"
            assert url in path.read_text(), f"{path.name}: run `python -m helpers readme`"


def test_every_notebook_has_the_generated_colab_cell():
    cell = notebooks.colab_cell()
    for py in notebooks.sources():
        assert f"# %%\n{cell}\n\n# %%" in py.read_text(), f"{py.name}: run `python -m helpers readme`"
        assert _colab_cells(py.with_suffix(".ipynb")) == [cell], \
            f"{py.stem}.ipynb: run `python -m helpers readme`"


def test_readme_colab_links_follow_pyproject(monkeypatch):
    owner_name = paths.repository().removeprefix("https://github.com/")
    assert f"colab.research.google.com/github/{owner_name}/blob/main/notebooks/" in paths.README.read_text()
    monkeypatch.setattr(readme, "repository", lambda: FORK)
    assert "github/a-fork/its-course/blob/main/notebooks/00_start_here.ipynb" in readme.course_map()


def test_stamp_repository_rewrites_py_and_ipynb(tmp_path, monkeypatch):
    py = notebooks.sources()[0]
    for path in (py, py.with_suffix(".ipynb")):
        shutil.copy(path, tmp_path / path.name)
    copy = tmp_path / py.name
    monkeypatch.setattr(notebooks, "sources", lambda selected=None: [copy])
    monkeypatch.setattr(notebooks, "repository", lambda: FORK)
    others = [c for c in json.loads(copy.with_suffix(".ipynb").read_text())["cells"]
              if not "".join(c["source"]).startswith("# Colab only:")]
    assert notebooks.stamp_repository()
    assert f'"{FORK}"' in copy.read_text()
    assert f"# %%\n{notebooks.colab_cell(FORK)}\n\n# %%" in copy.read_text()
    assert _colab_cells(copy.with_suffix(".ipynb")) == [notebooks.colab_cell(FORK)]
    after = [c for c in json.loads(copy.with_suffix(".ipynb").read_text())["cells"]
             if not "".join(c["source"]).startswith("# Colab only:")]
    assert after == others  # the other cells and their outputs are left as they were
    assert not notebooks.stamp_repository()  # nothing left to change


def test_colab_cell_installs_what_colab_lacks_at_the_pins(tmp_path, monkeypatch):
    """The cell run as on Colab (its /content here a temporary folder; git and pip recorded, not run):
    Colab has torch, torchvision and numpy and keeps them; the rest comes under pins.txt's pins."""
    course = tmp_path / "course"
    calls = []

    def run(args, check=False):
        calls.append(args)
        if args[0] == "git":  # the clone: the pins file and the notebooks' folder
            (course / "notebooks").mkdir(parents=True)
            shutil.copy(paths.ROOT / "pins.txt", course / "pins.txt")

    colab_has = [types.SimpleNamespace(name=n) for n in ("torch", "torchvision", "numpy", "PyYAML")]
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: colab_has)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir(tmp_path)
    exec(notebooks.colab_cell(FORK).replace("/content", str(tmp_path)), {})

    assert calls[0][:6] == ["git", "clone", "-q", "--depth", "1", FORK]
    constraints = tmp_path / "pins-colab.txt"
    assert calls[1] == [sys.executable, "-m", "pip", "install", "-q", "-c", str(constraints),
                        "-e", str(course)]
    pins = dict(re.findall(r"^([\w-]+)==(\S+)", (paths.ROOT / "pins.txt").read_text(), re.M))
    applied = dict(re.findall(r"^([\w-]+)==(\S+)", constraints.read_text(), re.M))
    assert applied["torch-pruning"] == pins["torch-pruning"]
    assert applied == {k: v for k, v in pins.items() if k not in ("torch", "torchvision")}
    assert sys.path[0] == str(course) and os.getcwd() == str(course / "notebooks")


def test_colab_cell_names_no_version():
    assert not re.search(r"[\w-]==\d", notebooks.colab_cell(FORK)), "pin versions in pins.txt"


def test_a_repository_outside_github_is_refused(tmp_path, monkeypatch):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n[project.urls]\nRepository = "https://gitlab.com/a/b"\n')
    monkeypatch.setattr(paths, "PYPROJECT", pyproject)
    with pytest.raises(ValueError, match="https://github.com/OWNER/NAME"):
        paths.repository()
