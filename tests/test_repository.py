"""The repository URL is written once (pyproject.toml) and every Colab link and clone follows it."""
import json
import shutil

import pytest

from helpers.tooling import notebooks, paths, readme

FORK = "https://github.com/a-fork/its-course"


def test_every_colab_cell_clones_the_repository_of_pyproject():
    url = paths.repository()
    for py in notebooks.sources():
        for path in (py, py.with_suffix(".ipynb")):
            found = notebooks.CLONE_URL.findall(path.read_text())
            assert len(found) == 1, f"{path.name}: no Colab cell clone found"
            assert url in path.read_text(), f"{path.name}: run `python -m helpers readme`"


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
    assert notebooks.stamp_repository()
    assert f'"{FORK}"' in copy.read_text()
    cells = json.loads(copy.with_suffix(".ipynb").read_text())["cells"]
    assert any(f'"{FORK}"' in "".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert not notebooks.stamp_repository()  # nothing left to change


def test_a_repository_outside_github_is_refused(tmp_path, monkeypatch):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n[project.urls]\nRepository = "https://gitlab.com/a/b"\n')
    monkeypatch.setattr(paths, "PYPROJECT", pyproject)
    with pytest.raises(ValueError, match="https://github.com/OWNER/NAME"):
        paths.repository()
