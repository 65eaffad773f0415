"""The README's generated parts: blocks between ``<!-- name:start -->`` and ``<!-- name:end -->``
are rewritten from files the code produced, so the README cannot drift from them."""
from __future__ import annotations

import re

from ..report import format_table
from .notebooks import format_seconds, sources, times
from .paths import DOCS, FIGURES, README, repository
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


def _fmt_time(row) -> str:
    return format_seconds(row["seconds"]) if row else "not measured yet"


def course_map() -> str:
    recorded = times()
    rows = []
    for py in sources():
        quick, full = recorded.get((py.stem, "quick")), recorded.get((py.stem, "full"))
        study = study_minutes(py)
        rows.append({"notebook": f"[{_title(py)}](notebooks/{py.stem}.ipynb)",
                     "study": f"{study} min" if study else "", "quick": _fmt_time(quick),
                     "full": f"{_fmt_time(full)} ({full['device']})" if full else "not measured yet",
                     "colab": f"[Open in Colab]({colab(py.stem)})"})
    return format_table(rows, [("notebook", "notebook", "", "left"), ("study", "study time", ""),
                               ("quick", "run time, quick mode (CPU, 2 cores)", ""),
                               ("full", "full mode (GPU)", ""), ("colab", "", "", "left")]) + "\n"


def reproduce_table() -> str:
    path = FIGURES / TABLE_MD
    if not path.exists():
        raise ValueError(f"{path.name} is missing from figures/: run `make reproduce` first")
    return path.read_text()


def teaching() -> str:
    """docs/teaching.md with its measured-times table filled in."""
    recorded = times()
    totals = []
    for mode, where in (("quick", "quick mode (CPU)"), ("full", "full mode (GPU)")):
        rows = [recorded.get((py.stem, mode)) for py in sources()]
        if all(rows):
            totals.append(f"{where}: {sum(float(r['seconds']) for r in rows) / 60:.0f} min")
    text = ("Each notebook's study time (reading, running and exercises, for a learner on their own) and its "
            "run time in quick and in full mode are in the [course map](#course-map) above.")
    studies = [study_minutes(py) for py in sources()]
    if all(studies):
        text += f" Studied alone, the whole course takes about {sum(studies) / 60:.1f} hours."
    if totals:
        text += f" The whole course, run top to bottom: {'; '.join(totals)}."
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
