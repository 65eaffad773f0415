"""Execute the course notebooks top to bottom, store their outputs and record how long each took."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

from .. import env, results
from .paths import NOTEBOOK_TIMES, NOTEBOOKS, repository

# one row per (notebook, mode); each row carries the stamp of the run that timed it
TIME_KEY = ("notebook", "mode")


def sources(selected: list[str] | None = None) -> list[Path]:
    """Notebook sources (jupytext .py) in course order; ``selected`` filters by name prefix."""
    found = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
    if selected:
        found = [p for p in found if any(p.stem.startswith(s) for s in selected)]
        if not found:
            raise ValueError(f"no notebook matches {selected}; have {[p.stem for p in sorted(NOTEBOOKS.glob('[0-9][0-9]_*.py'))]}")
    return found


def run(selected: list[str] | None = None, timeout: int = 1800) -> list[dict]:
    """Sync each .py into its .ipynb, execute it in notebooks/, save outputs; return timings."""
    import os

    import jupytext
    import nbformat
    from nbclient import NotebookClient

    # no front end draws widgets here: stored outputs get the static figures (helpers.explorer)
    os.environ.setdefault("COURSE_WIDGETS", "0")
    rows = []
    for py in sources(selected):
        ipynb = py.with_suffix(".ipynb")
        nb = jupytext.read(py)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        start = time.perf_counter()
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
        seconds = time.perf_counter() - start
        nbformat.write(nb, ipynb)
        jupytext.write(nb, py, fmt="py:percent")  # keeps the pair's metadata identical
        rows.append({"notebook": py.stem, "mode": env.mode(), "seconds": round(seconds, 1), **results.stamp()})
        print(f"{py.stem}: {seconds:.1f} s ({env.mode()} mode, {env.device_name()})", flush=True)
    results.merge(NOTEBOOK_TIMES, rows, TIME_KEY)
    stamp_run_times()
    stamp_repository()
    return rows


def format_seconds(seconds: str | float) -> str:
    s = float(seconds)
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.1f} min"


def times() -> dict[tuple[str, str], dict]:
    """The recorded run times, keyed by (notebook, mode); empty before any run."""
    if not NOTEBOOK_TIMES.exists():
        return {}
    return {(r["notebook"], r["mode"]): r for r in results.read(NOTEBOOK_TIMES)[1]}


def run_time_line(stem: str, times: dict) -> str:
    quick, full = times.get((stem, "quick")), times.get((stem, "full"))
    q = f"about {format_seconds(quick['seconds'])} in quick mode (2-core CPU)" if quick else "quick mode not measured yet"
    f = f"about {format_seconds(full['seconds'])} in full mode ({full['device']})" if full else "full mode (GPU) not measured yet"
    return f"**Run time** (from `figures/notebook_times.csv`): {q}; {f}."


def stamp_run_times() -> None:
    """Write each notebook's recorded times into its title cell, in the .py and the .ipynb alike
    (only that markdown line changes: stored outputs stay as they are)."""
    recorded = times()
    if not recorded:
        return
    pattern = re.compile(r"^(# )?\*\*Run time\*\*.*$", re.M)
    for py in sources():
        line = run_time_line(py.stem, recorded)
        old = py.read_text()
        if line in old:  # unchanged: leave the files alone (another notebook may be being edited)
            continue
        py.write_text(pattern.sub(lambda m, line=line: (m.group(1) or "") + line, old, count=1))
        ipynb = py.with_suffix(".ipynb")
        if not ipynb.exists():
            continue
        nb = json.loads(ipynb.read_text())
        for cell in nb["cells"]:
            src = "".join(cell["source"])
            if cell["cell_type"] == "markdown" and pattern.search(src):
                cell["source"] = pattern.sub(lambda m, line=line: line, src, count=1).splitlines(keepends=True)
                break
        ipynb.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


# Each notebook's Colab cell, its first code cell: written here and nowhere else, then into every notebook
# (.py and .ipynb) by `python -m helpers readme`, with the repository of pyproject.toml.
COLAB_CELL = """\
# Colab only: fetch the course and install what Colab lacks, at the versions of pins.txt (does nothing
# elsewhere). What Colab has stays, its CUDA build of torch above all: the course runs on any torch>=2.11
# (pyproject.toml), and the pinned one would download gigabytes again.
import sys
if "google.colab" in sys.modules:
    import os, subprocess
    from importlib.metadata import distributions
    if not os.path.isdir("/content/course"):
        subprocess.run(["git", "clone", "-q", "--depth", "1", "{repository}",
                        "/content/course"], check=True)
        have = {str(d.name).lower().replace("_", "-") for d in distributions()}
        with open("/content/course/pins.txt") as f:
            lacking = [line for line in f if line.split("==")[0].strip() not in have]
        with open("/content/pins-colab.txt", "w") as f:
            f.writelines(lacking)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-c", "/content/pins-colab.txt",
                        "-e", "/content/course"], check=True)
    sys.path.insert(0, "/content/course")
    os.chdir("/content/course/notebooks")"""

# the repository in each notebook's Colab cell: `"--depth", "1", "https://github.com/OWNER/NAME"`, its
# quotes escaped inside an .ipynb
CLONE_URL = re.compile(r'(\\?"--depth\\?", \\?"1\\?", \\?")https://github\.com/[^"\\]+(\\?")')
# the Colab cell in a jupytext .py: from its first line to the blank line before the next cell
_COLAB_IN_PY = re.compile(r"^# Colab only:.*?(?=\n\n# %%|\Z)", re.S | re.M)


def colab_cell(url: str | None = None) -> str:
    """The source of every notebook's Colab cell, cloning ``url`` (default: pyproject.toml's repository)."""
    return COLAB_CELL.replace("{repository}", url or repository())


def stamp_repository() -> bool:
    """Write the Colab cell of ``colab_cell()`` into every notebook, .py and .ipynb alike (that cell's
    source alone changes); return True if a notebook changed."""
    cell = colab_cell()
    changed = False
    for py in sources():
        old = py.read_text()
        new = _COLAB_IN_PY.sub(lambda m: cell, old, count=1)
        if new != old:
            py.write_text(new)
            changed = True
        ipynb = py.with_suffix(".ipynb")
        if not ipynb.exists():
            continue
        nb = json.loads(ipynb.read_text())
        for c in nb["cells"]:
            if c["cell_type"] == "code" and "".join(c["source"]).startswith("# Colab only:"):
                if "".join(c["source"]) != cell:
                    c["source"] = cell.splitlines(keepends=True)
                    ipynb.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
                    changed = True
                break
    return changed
