"""notebooks/conftest.py: under `--nbval-lax`, a `# NBVAL_CHECK_OUTPUT` cell's stderr is never compared,
its stdout still is. Checked on a tiny notebook run by nbval in a separate pytest, as `make test` runs the
course's notebooks."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

CONFTEST = Path(__file__).resolve().parent.parent / "notebooks" / "conftest.py"

CHECK = "# NBVAL_CHECK_OUTPUT\nimport sys\n"
CELLS = {  # source, stored outputs, whether nbval must pass the cell
    "stderr differs": (CHECK + 'print("params: 42")\nprint("a warning", file=sys.stderr)',
                       [("stdout", "params: 42\n"), ("stderr", "another warning, stored\n")], True),
    "stderr only stored": (CHECK + 'print("params: 42")',
                           [("stdout", "params: 42\n"), ("stderr", "a progress bar, stored\n")], True),
    "stderr only produced": (CHECK + 'print("a warning", file=sys.stderr)', [], True),
    "stdout differs": (CHECK + 'print("params: 42")', [("stdout", "params: 41\n")], False),
}


def _notebook(path: Path) -> None:
    cells = []
    for n, (source, outputs, _) in enumerate(CELLS.values(), start=1):
        cell = new_code_cell(source, execution_count=n)
        cell.outputs = [new_output("stream", name=name, text=text) for name, text in outputs]
        cells.append(cell)
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def _nbval(folder: Path) -> dict[str, str]:
    """Run nbval on folder's notebook as `make test` does; return each cell's outcome."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    run = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-v",
                          "-p", "no:cacheprovider", "-p", "no:xdist", "nb.ipynb"],
                         cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    outcomes = dict(re.findall(r"::Cell (\d+) (PASSED|FAILED)", run.stdout))
    assert len(outcomes) == len(CELLS), run.stdout + run.stderr
    return {name: outcomes[str(n)] for n, name in enumerate(CELLS)}


def test_stderr_is_ignored_and_stdout_compared(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # this folder is the rootdir: no project settings
    _notebook(tmp_path / "nb.ipynb")
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    assert _nbval(tmp_path) == {name: "PASSED" if passes else "FAILED"
                                for name, (_, _, passes) in CELLS.items()}


def test_without_the_conftest_nbval_compares_stderr(tmp_path):
    """The control: plain nbval fails the cells whose stderr differs, so the conftest is what passes them."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    _notebook(tmp_path / "nb.ipynb")
    assert _nbval(tmp_path) == {"stderr differs": "FAILED", "stderr only stored": "FAILED",
                                "stderr only produced": "FAILED", "stdout differs": "FAILED"}
