"""Recorded results: every CSV under figures/ is written and read here, in one format.

A record is a CSV table preceded by its *stamp*, one ``# key: value`` line per entry: where and with
what it was measured (``helpers.env.stamp()``: device, torch, torchvision, torch-pruning, date) and
anything else that qualifies every row (the mode, the timer's settings). Where rows were measured
separately (the notebooks' run times), the stamp's keys are columns of the table instead.

    # device: NVIDIA H100 80GB HBM3
    # torch: 2.11.0+cu130
    # date: 2026-11-27
    model,channel_ratio,params_after
    resnet18,0.1,9481588

``read`` gives numbers back as numbers (``int``, ``float``; "01" stays a string), ``True``/``False``
as booleans and an empty cell as ``None``; everything else stays a string.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # exact: a record read back gives the same float
    return str(value)


def _parse(text: str):
    if text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    try:
        number = int(text)
        # "01" stays a string: a number is only what writes back to the same text
        return number if str(number) == text else text
    except ValueError:
        pass
    try:
        number = float(text)
        return number if any(c in text for c in ".eE") and text.lower() not in ("inf", "nan") else text
    except ValueError:
        return text


def write(path: str | Path, rows: Sequence[dict], stamp: dict | None = None,
          columns: Sequence[str] | None = None) -> Path:
    """Write ``rows`` to ``path`` under ``stamp``'s ``# key: value`` lines; return the path.

    ``columns`` fixes the columns and their order (default: the first row's keys, then any key a
    later row adds). Floats are written exactly (``repr``), ``None`` as an empty cell.
    """
    path = Path(path)
    if not rows:
        raise ValueError(f"no rows to record in {path.name}")
    if columns is None:
        columns = list(dict.fromkeys(k for r in rows for k in r))
    for key, value in (stamp or {}).items():
        if "\n" in f"{key}{value}" or ":" in str(key):
            raise ValueError(f"stamp entries are one line each and keys hold no ':': {key!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        for key, value in (stamp or {}).items():
            f.write(f"# {key}: {value}\n")
        writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: _cell(r.get(k)) for k in columns} for r in rows)
    return path


def read(path: str | Path) -> tuple[dict[str, str], list[dict]]:
    """Read a record back: ``(stamp, rows)``."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"no record at {path}: it is written by the command that measures it")
    stamp: dict[str, str] = {}
    table = []
    with path.open() as f:
        for line in f:
            if line.startswith("# ") and not table:
                key, sep, value = line[2:].rstrip("\n").partition(": ")
                if not sep:
                    raise ValueError(f"{path.name}: stamp line {line.strip()!r} is not '# key: value'")
                stamp[key] = value
            else:
                table.append(line)
    rows = [{k: _parse(v) for k, v in r.items()} for r in csv.DictReader(io.StringIO("".join(table)))]
    return stamp, rows


def merge(path: str | Path, rows: Sequence[dict], key: Sequence[str], stamp: dict | None = None) -> Path:
    """Add ``rows`` to the record at ``path`` (created if missing), replacing the rows with the same
    values of the ``key`` columns; rows are kept sorted by ``key``."""
    path = Path(path)
    old_stamp, old = read(path) if path.exists() else ({}, [])
    keyed = {tuple(r[k] for k in key): r for r in old}
    keyed.update({tuple(r[k] for k in key): dict(r) for r in rows})
    columns = list(dict.fromkeys(k for r in (*old, *rows) for k in r))
    return write(path, [keyed[k] for k in sorted(keyed, key=lambda t: tuple(map(str, t)))],
                 stamp if stamp is not None else old_stamp, columns)
