"""Every notebook is a jupytext pair: the .py (percent format) and the .ipynb hold the same cells,
and the stored .ipynb was executed top to bottom without errors."""
from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))


def _cells(nb):
    return [(c.cell_type, c.source.strip()) for c in nb.cells if c.source.strip()]


def test_there_are_notebooks():
    assert SOURCES, "no notebooks/NN_*.py found"


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.stem)
def test_pair_in_sync(py):
    ipynb = py.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} is missing: run `make notebooks`"
    assert _cells(jupytext.read(py)) == _cells(jupytext.read(ipynb)), (
        f"{py.name} and {ipynb.name} differ: run `make notebooks` (jupytext --sync) after editing")


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.stem)
def test_stored_outputs_run_in_order(py):
    nb = jupytext.read(py.with_suffix(".ipynb"))
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert None not in counts, f"{py.stem}: some code cells were never executed"
    assert counts == list(range(1, len(counts) + 1)), f"{py.stem}: cells were not run top to bottom once"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{py.stem}: a stored output is an error"


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.stem)
def test_title_states_the_recorded_run_times(py):
    from helpers.tooling.notebooks import run_time_line
    from helpers.tooling.notebooks import times as recorded_times

    times = recorded_times()
    assert (py.stem, "quick") in times, f"{py.stem}: no quick-mode time recorded; run `make notebooks NB={py.stem[:2]}`"
    assert run_time_line(py.stem, times) in py.read_text(), f"{py.stem}: run time line is stale"


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.stem)
def test_stored_outputs_show_no_warnings_or_local_paths(py):
    nb = jupytext.read(py.with_suffix(".ipynb"))
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    stderr = [o.text[:80] for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, f"{py.stem}: a stored output is a warning a learner would see: {stderr[0]!r}"
    root = str(NOTEBOOKS.parent)
    texts = [o.get("text", "") if o.output_type == "stream" else str(o.get("data", {}).get("text/plain", ""))
             for o in outputs]
    local = [t for t in texts if root in t or "/.venv/" in t]
    assert not local, f"{py.stem}: a stored output shows a path of the machine that ran it: {local[0][:80]!r}"
