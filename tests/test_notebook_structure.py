"""Every notebook follows the course's one layout (CONTRIBUTING.md, "A notebook's layout"):

a title cell with learning goals, prerequisites, study time and run time; at most ~45 cells; one
``## Exercises`` markdown heading, after which every exercise sits (a prompt, a checked answer cell,
a reveal cell); then ``## Summary``, ``## Questions`` (answers revealed on demand) and
``## Further reading``; and the next notebook named at the end.
"""
import re
from pathlib import Path

import jupytext
import pytest

from helpers import checks
from helpers.tooling.readme import study_minutes

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
MAX_CELLS = 45
CHECK = re.compile(r'helpers\.checks\.check\("([^"]+)"')
REVEAL = re.compile(r'^#? ?helpers\.checks\.reveal\("([^"]+)"\)$', re.M)
ENDING = ["## Exercises", "## Summary", "## Questions", "## Further reading"]


def _cells(py):
    return [c for c in jupytext.read(py).cells if c.source.strip()]


def _heading(cell):
    """The cell's first line if it is a level-2 markdown heading, else None."""
    first = cell.source.strip().splitlines()[0]
    return first.strip() if cell.cell_type == "markdown" and first.startswith("## ") else None


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.stem)
def test_notebook_is_short(py):
    n = len(_cells(py))
    assert n <= MAX_CELLS, f"{py.stem} has {n} cells (at most {MAX_CELLS}): split it into two topics"


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.stem)
def test_title_cell_states_goals_prerequisites_and_study_time(py):
    title = _cells(py)[0]
    assert title.cell_type == "markdown" and title.source.startswith(f"# {py.stem[:2]} · "), py.stem
    for part in ("**Learning goals**", "**Prerequisites**", "**Study time**", "**Run time**"):
        assert part in title.source, f"{py.stem}: the title cell lacks {part}"
    assert study_minutes(py), f"{py.stem}: state the study time as 'about N min' (reading, running and exercises)"


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.stem)
def test_ends_with_exercises_summary_questions_and_reading_in_order(py):
    cells = _cells(py)
    headings = [h for h in map(_heading, cells) if h]
    found = [h for h in headings if h in ENDING]
    assert found == ENDING, f"{py.stem}: the closing headings are {found}, expected {ENDING}, once each"
    at = {h: i for i, h in enumerate(headings) if h in ENDING}
    assert not [h for h in headings[at["## Exercises"]:] if h not in ENDING], \
        f"{py.stem}: teaching sections come before ## Exercises"
    for cell in cells:
        if cell.cell_type == "code":
            assert not re.search(r"^# #+ ", cell.source, re.M), f"{py.stem}: a markdown heading inside a code cell"


def _section(cells, heading):
    start = next(i for i, c in enumerate(cells) if _heading(c) == heading)
    end = next((i for i in range(start + 1, len(cells)) if _heading(cells[i])), len(cells))
    return "\n".join(c.source for c in cells[start:end])


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.stem)
def test_questions_reveal_answers_on_demand_and_reading_links(py):
    cells = _cells(py)
    questions = _section(cells, "## Questions")
    assert questions.count("<details>") >= 2 and questions.count("<details>") == questions.count("</details>"), \
        f"{py.stem}: at least two conceptual questions, each answer in <details><summary>Answer</summary>...</details>"
    reading = _section(cells, "## Further reading")
    assert len(re.findall(r"\]\(https?://", reading)) >= 2, f"{py.stem}: at least two further-reading links"


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.stem)
def test_exercises_follow_the_one_convention(py):
    cells = _cells(py)
    start = next(i for i, c in enumerate(cells) if _heading(c) == "## Exercises")
    checked = {}
    for i, cell in enumerate(cells):
        for name in CHECK.findall(cell.source) if cell.cell_type == "code" else []:
            assert i > start, f"{py.stem}: exercise {name} comes before ## Exercises"
            assert name.startswith(py.stem[:2] + "-"), f"{py.stem}: exercise ids start with the notebook's number: {name}"
            assert cell.source.startswith("# NBVAL_CHECK_OUTPUT"), f"{py.stem}: {name}'s answer cell is checked by nbval"
            checked[name] = i
    assert sorted(checked) == sorted(checks.for_notebook(py.stem)), \
        f"{py.stem}: checked {sorted(checked)}, registered {sorted(checks.for_notebook(py.stem))}"
    assert checked, f"{py.stem}: no exercise"
    for name, i in checked.items():
        prompts = [c for c in cells[start:i] if c.cell_type == "markdown" and f"### Exercise `{name}`" in c.source]
        assert len(prompts) == 1, f"{py.stem}: {name} needs one prompt above it, headed '### Exercise `{name}`: ...'"
        reveal = cells[i + 1] if i + 1 < len(cells) else None
        assert reveal is not None and reveal.cell_type == "code" and REVEAL.findall(reveal.source) == [name], \
            f"{py.stem}: {name}'s answer cell is followed by its reveal cell, '# helpers.checks.reveal(\"{name}\")'"


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.stem)
def test_names_the_next_notebook(py):
    text = py.read_text()
    later = [p for p in SOURCES if p.stem > py.stem]
    if later:
        nxt = later[0].stem[:2]
        assert re.search(rf"Next: \*\*{nxt} · ", text), f"{py.stem}: end with 'Next: **{nxt} · ...**'"
