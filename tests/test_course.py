"""The course as a whole: one list of notebooks (track and study time in each title cell) behind the
README's map and notebook 00's, a core track that fits in five hours, exercises that ask for code, and
answers kept out of sight."""
import json
import math
import re

import pytest

from helpers import checks
from helpers.tooling import readme
from helpers.tooling.notebooks import sources
from helpers.tooling.paths import README

CORE_MINUTES = 300  # the core track's stated study time, at most


def _exercises():
    checks.for_notebook("00_start_here")  # registers every exercise
    return checks.EXERCISES


def _is_code(ex) -> bool:
    return callable(ex.solution())


# ---- one list -----------------------------------------------------------------------------------
def test_every_notebook_states_its_track_and_the_core_fits():
    tracks = {py.stem: readme.track(py) for py in sources()}
    assert all(tracks.values()), f"no **Track** line in: {[s for s, t in tracks.items() if not t]}"
    core = [py for py in sources() if readme.track(py) == "core"]
    minutes = sum(readme.study_minutes(py) for py in core)
    assert core and minutes <= CORE_MINUTES, f"the core track states {minutes} min, more than {CORE_MINUTES}"
    assert f"about {minutes} min" in readme.totals()


def test_track_reads_the_title_cell(tmp_path):
    (tmp_path / "a.py").write_text("# # 99 · X\n#\n# **Track**: elective\n# **Study time**: about 5 min\n")
    (tmp_path / "b.py").write_text("# # 99 · X\n")
    assert readme.track(tmp_path / "a.py") == "elective" and readme.track(tmp_path / "b.py") is None


def test_notebook_00_maps_every_notebook_from_the_same_list():
    listed = readme.course_list()
    for py in sources():
        row = next(line for line in listed.splitlines() if f"({py.stem}.ipynb)" in line)
        assert f"| {readme.track(py)} |" in row and f"| {readme.study_minutes(py)} min |" in row
    assert readme.course_list_is_current(), "notebook 00's course map is stale: run `python -m helpers readme`"


# ---- the learner writes the code ----------------------------------------------------------------------
def test_two_thirds_of_the_exercises_ask_for_code_and_every_core_notebook_has_one():
    exercises = _exercises().values()
    code = [ex for ex in exercises if _is_code(ex)]
    assert 3 * len(code) >= 2 * len(exercises), f"{len(code)} of {len(exercises)} exercises ask for code"
    for py in sources():
        if readme.track(py) == "core" and py.stem != readme.START_NOTEBOOK:
            assert any(ex.notebook == py.stem for ex in code), f"{py.stem}: no exercise asks for code"


# ---- answers out of sight -------------------------------------------------------------------------------
def _shown(value) -> list[str]:
    """The ways a notebook would print a number answer: only values precise enough to give one away
    (three significant digits or more); a round answer such as 0.75 cannot be hidden and is skipped."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value == 0:
        return []
    if float(value).is_integer() and abs(value) >= 100:
        n = int(value)
        return [f"{n:,}", str(n)]
    digits = f"{abs(value):.6g}".replace(".", "").lstrip("0")
    if len(digits) < 3 or float(value).is_integer():
        return []
    return [f"{value:.4f}", f"{value:.3f}", f"{value:.2%}", f"{value:.1%}"]


def _found(text: str, value) -> list[str]:
    # a match must stand alone: "0.2929" is not found inside "10.29291"
    return [s for s in _shown(value) if re.search(rf"(?<![\d.,]){re.escape(s)}(?![\d])", text)]


def test_shown_and_found_see_a_printed_answer():
    assert _found("parameters left: 1,101,544 (p = 0.5)", 1101544) == ["1,101,544"]
    assert _found("removed 0.6514 of it", 0.6514) == ["0.6514"]
    assert _found("removed 65.14%", 0.6514) == ["65.14%"]
    assert not _found("11,101,544 and 0.65141", 1101544) and not _found("10.6514", 0.6514)
    assert _shown(0.75) == [] and _shown(12) == []  # too round to hide


def _outputs(stem: str) -> str:
    nb = json.loads((sources()[0].parent / f"{stem}.ipynb").read_text())
    texts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            texts.append("".join(out.get("text", "")))
            for kind in ("text/plain", "text/markdown", "text/html"):
                texts.append("".join(out.get("data", {}).get(kind, "")))
    return "\n".join(texts)


def _number_answers():
    return [(name, ex) for name, ex in sorted(_exercises().items()) if not _is_code(ex)]


@pytest.mark.parametrize("name", [name for name, _ in _number_answers()])
def test_no_output_and_no_readme_line_gives_a_number_answer_away(name):
    ex = _exercises()[name]
    answer = ex.solution()
    assert not _found(_outputs(ex.notebook), answer), f"{name}: its answer is printed in {ex.notebook}"
    assert not _found(README.read_text(), answer), f"{name}: README.md states its answer"


@pytest.mark.parametrize("py", sources(), ids=lambda p: p.stem)
def test_reveal_cells_do_not_run(py):
    for line in py.read_text().splitlines():
        assert not re.match(r"\s*helpers\.checks\.reveal\(", line), f"{py.stem}: an uncommented reveal: {line}"
