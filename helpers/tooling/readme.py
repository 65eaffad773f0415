"""The README's generated parts: blocks between ``<!-- name:start -->`` and ``<!-- name:end -->``
are rewritten from files the code produced, so the README cannot drift from them."""
from __future__ import annotations

import re

from ..report import format_table
from .notebooks import format_seconds, sources, times
from .paths import DOCS, FIGURES, NOTEBOOKS, README, repository
from .reproduce import TABLE_MD


def colab(stem: str) -> str:
    """The Colab link of a notebook, from the repository in pyproject.toml."""
    owner_name = repository().removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{owner_name}/blob/main/notebooks/{stem}.ipynb"


def _title(py) -> str:
    for line in py.read_text().splitlines():
        m = re.match(r"#\s*#\s+(.*)", line)
        if m:
            return m.group(1).strip()
    return py.stem


def study_minutes(py) -> int | None:
    """The study time a notebook's title cell states ("**Study time**: about N min"), in minutes."""
    m = re.search(r"\*\*Study time\*\*: about (\d+) min", py.read_text())
    return int(m.group(1)) if m else None


def track(py) -> str | None:
    """The track a notebook's title cell states ("**Track**: core" or "elective")."""
    m = re.search(r"\*\*Track\*\*: (core|elective)\b", py.read_text())
    return m.group(1) if m else None


def totals() -> str:
    """One line: the stated study time of the core track and of the electives, summed over their notebooks."""
    parts = []
    for name in ("core", "elective"):
        found = [py for py in sources() if track(py) == name]
        minutes = sum(study_minutes(py) or 0 for py in found)
        label = "core track" if name == "core" else "electives"
        parts.append(f"{label}: {len(found)} notebooks, about {minutes} min of study ({minutes / 60:.1f} h)")
    return "; ".join(parts).capitalize() + "."


def _fmt_time(row) -> str:
    return format_seconds(row["seconds"]) if row else "not measured yet"


def course_map() -> str:
    recorded = times()
    rows = []
    for py in sources():
        quick, full = recorded.get((py.stem, "quick")), recorded.get((py.stem, "full"))
        study = study_minutes(py)
        rows.append({"notebook": f"[{_title(py)}](notebooks/{py.stem}.ipynb)", "track": track(py) or "",
                     "study": f"{study} min" if study else "", "quick": _fmt_time(quick),
                     "full": f"{_fmt_time(full)} ({full['device']})" if full else "not measured yet",
                     "colab": f"[Open in Colab]({colab(py.stem)})"})
    return format_table(rows, [("notebook", "notebook", "", "left"), ("track", "track", "", "left"),
                               ("study", "study time", ""), ("quick", "run time, quick mode (CPU, 2 cores)", ""),
                               ("full", "full mode (GPU)", ""), ("colab", "", "", "left")]) + "\n\n" + totals() + "\n"


def course_list() -> str:
    """The course map of notebook 00: every notebook with its track and study time (the README's list)."""
    rows = [{"notebook": f"[{_title(py)}]({py.stem}.ipynb)", "track": track(py) or "",
             "study": f"{study_minutes(py)} min" if study_minutes(py) else ""} for py in sources()]
    return format_table(rows, [("notebook", "notebook", "", "left"), ("track", "track", "", "left"),
                               ("study", "study time", "")]) + "\n\n" + totals() + "\n"


START_NOTEBOOK = "00_start_here"
_BLOCK_PY = re.compile(r"(# <!-- course-map:start -->\n).*?(# <!-- course-map:end -->)", re.DOTALL)
_BLOCK_MD = re.compile(r"(<!-- course-map:start -->\n).*?(<!-- course-map:end -->)", re.DOTALL)


def stamp_course_list(write: bool = True) -> bool:
    """Write ``course_list`` into notebook 00's course-map block, in the .py and the .ipynb alike (only
    that markdown changes); return True if anything changed (with ``write=False``: would change). A
    notebook without the block is left alone."""
    import json

    py = next((p for p in sources() if p.stem == START_NOTEBOOK), None)
    if py is None or not _BLOCK_PY.search(py.read_text()):
        return False
    content = course_list()
    as_py = "".join(f"# {line}".rstrip() + "\n" for line in content.splitlines())
    old = py.read_text()
    new = _BLOCK_PY.sub(lambda m: m.group(1) + as_py + m.group(2), old, count=1)
    changed = new != old
    if changed and write:
        py.write_text(new)
    ipynb = py.with_suffix(".ipynb")
    if ipynb.exists():
        nb = json.loads(ipynb.read_text())
        for cell in nb["cells"]:
            src = "".join(cell["source"])
            if cell["cell_type"] == "markdown" and _BLOCK_MD.search(src):
                fresh = _BLOCK_MD.sub(lambda m: m.group(1) + content + m.group(2), src, count=1)
                if fresh != src:
                    changed = True
                    if write:
                        cell["source"] = fresh.splitlines(keepends=True)
                        ipynb.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
                break
    return changed


def course_list_is_current() -> bool:
    """Whether notebook 00's course-map block (.py and .ipynb) holds ``course_list()`` now."""
    return _BLOCK_PY.search((NOTEBOOKS / f"{START_NOTEBOOK}.py").read_text()) is not None \
        and not stamp_course_list(write=False)


def reproduce_table() -> str:
    path = FIGURES / TABLE_MD
    if not path.exists():
        raise ValueError(f"{path.name} is missing from figures/: run `make reproduce` first")
    return path.read_text()


def teaching() -> str:
    """docs/teaching.md with its measured-times table filled in."""
    recorded = times()
    run_totals = []
    for mode, where in (("quick", "quick mode (CPU)"), ("full", "full mode (GPU)")):
        rows = [recorded.get((py.stem, mode)) for py in sources()]
        if all(rows):
            run_totals.append(f"{where}: {sum(float(r['seconds']) for r in rows) / 60:.0f} min")
    text = ("Each notebook's study time (reading, running and exercises, for a learner on their own) and its "
            "run time in quick and in full mode are in the [course map](#course-map) above.")
    studies = [study_minutes(py) for py in sources()]
    if all(studies):
        text += f" {totals()}"
    if run_totals:
        text += f" The whole course, run top to bottom: {'; '.join(run_totals)}."
    return (DOCS / "teaching.md").read_text().replace("{{TIMES}}", text)


BLOCKS = {"course-map": course_map, "reproduce-table": reproduce_table, "teaching": teaching}


def expected(text: str) -> str:
    """README text with every generated block replaced by its current content."""
    for name, make in BLOCKS.items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.DOTALL)
        if not pattern.search(text):
            raise ValueError(f"README.md lacks the block <!-- {name}:start --> ... <!-- {name}:end -->")
        content = make()
        text = pattern.sub(lambda m, content=content: m.group(1) + content + m.group(2), text)
    return text


def update() -> bool:
    """Rewrite README.md's generated blocks; return True if anything changed."""
    old = README.read_text()
    new = expected(old)
    if new != old:
        README.write_text(new)
    return new != old
