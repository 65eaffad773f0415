"""Recorded results: every CSV under figures/ is written and read here, in one format, in one place.

A record is a CSV table preceded by its *stamp*, one ``# key: value`` line per entry: where and with
what it was measured (``stamp()``: device, python, torch, torchvision, torch-pruning, mode, date) and
anything else that qualifies every row (the timer's settings). Where rows were measured separately
(the notebooks' run times), the stamp's keys are columns of the table instead.

    # device: NVIDIA H100 80GB HBM3
    # torch: 2.11.0+cu130
    # date: 2026-11-27
    model,channel_ratio,params_after
    resnet18,0.1,9481588

One path rule: ``folder()`` is figures/, or ``COURSE_FIGURES_DIR`` when set (``make test`` sets it, so
that a test run leaves the committed figures as they are). What a run writes goes there; ``read``
looks there first and then in the committed figures/ (a record made elsewhere, on a GPU, say).

``read`` gives numbers back as numbers (``int``, ``float``; "01" stays a string), ``True``/``False``
as booleans and an empty cell as ``None``; everything else stays a string.
"""
from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import torch

from . import env

__all__ = ["FIGURES", "folder", "path", "stamp", "write", "read", "merge"]

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "figures"  # the committed records and figures


def folder(out: str | Path | None = None) -> Path:
    """Where this run's records and figures go: ``out`` if given (relative to the repository root),
    else ``COURSE_FIGURES_DIR`` if set, else figures/. Created if missing."""
    where = Path(out if out is not None else os.environ.get("COURSE_FIGURES_DIR") or FIGURES)
    if not where.is_absolute():
        where = ROOT / where
    where.mkdir(parents=True, exist_ok=True)
    return where


def path(name: str | Path, suffix: str = ".csv", out: str | Path | None = None) -> Path:
    """``name`` (given a ``suffix`` if it has none) under ``folder(out)``; a path with a folder stays
    as it is."""
    name = Path(name)
    if not name.suffix:
        name = name.with_suffix(suffix)
    return name if name.parent != Path(".") else folder(out) / name


def stamp(device: torch.device | str | None = None, **extra) -> dict[str, str]:
    """Where and with what a result was measured: device name, library versions, mode and date,
    then ``extra`` entries (the timer's settings, say). The one stamp of every record."""
    dev = torch.device(device) if device is not None else None
    return {"device": env.device_name(dev), **env.versions(), "mode": env.mode(),
            "date": date.today().isoformat(), **{k: str(v) for k, v in extra.items()}}


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


def write(name: str | Path, rows: Sequence[dict], stamp: dict | None = None,
          columns: Sequence[str] | None = None, out: str | Path | None = None) -> Path:
    """Write ``rows`` to ``path(name, out=out)`` under ``stamp``'s ``# key: value`` lines; return the
    path written.

    ``columns`` fixes the columns and their order (default: the first row's keys, then any key a
    later row adds). Floats are written exactly (``repr``), ``None`` as an empty cell.
    """
    target = path(name, out=out)
    if not rows:
        raise ValueError(f"no rows to record in {target.name}")
    if columns is None:
        columns = list(dict.fromkeys(k for r in rows for k in r))
    for key, value in (stamp or {}).items():
        if "\n" in f"{key}{value}" or ":" in str(key):
            raise ValueError(f"stamp entries are one line each and keys hold no ':': {key!r}")
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="") as f:
        for key, value in (stamp or {}).items():
            f.write(f"# {key}: {value}\n")
        writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: _cell(r.get(k)) for k in columns} for r in rows)
    return target


def _find(name: str | Path) -> Path:
    """The record ``name``: this run's (``path(name)``), else the committed one under figures/."""
    here = path(name)
    committed = FIGURES / here.name
    if here.exists() or Path(name).parent != Path("."):
        return here
    return committed


def read(name: str | Path) -> tuple[dict[str, str], list[dict]]:
    """Read a record back: ``(stamp, rows)``. ``name`` is found as ``_find`` says: this run's
    folder first, then the committed figures/."""
    where = _find(name)
    if not where.exists():
        raise ValueError(f"no record {where.name}: it is written by the command that measures it")
    stamp: dict[str, str] = {}
    table = []
    with where.open() as f:
        for line in f:
            if line.startswith("# ") and not table:
                key, sep, value = line[2:].rstrip("\n").partition(": ")
                if not sep:
                    raise ValueError(f"{where.name}: stamp line {line.strip()!r} is not '# key: value'")
                stamp[key] = value
            else:
                table.append(line)
    rows = [{k: _parse(v) for k, v in r.items()} for r in csv.DictReader(io.StringIO("".join(table)))]
    return stamp, rows


def merge(name: str | Path, rows: Sequence[dict], key: Sequence[str], stamp: dict | None = None) -> Path:
    """Add ``rows`` to the record ``name`` (created if missing), replacing the rows with the same
    values of the ``key`` columns; rows are kept sorted by ``key``."""
    target = path(name)
    old_stamp, old = read(target) if target.exists() else ({}, [])
    keyed = {tuple(r[k] for k in key): r for r in old}
    keyed.update({tuple(r[k] for k in key): dict(r) for r in rows})
    columns = list(dict.fromkeys(k for r in (*old, *rows) for k in r))
    return write(target, [keyed[k] for k in sorted(keyed, key=lambda t: tuple(map(str, t)))],
                 stamp if stamp is not None else old_stamp, columns)
