"""Markdown tables from rows of dicts: the one formatter behind every table the course prints
(notebooks, ``make reproduce``, the README)."""
from __future__ import annotations

from collections.abc import Sequence

# One column: (key in each row, header, format spec) and optionally an alignment, "right" (default)
# or "left".
Column = tuple


def format_table(rows: Sequence[dict], columns: Sequence[Column]) -> str:
    """Render ``rows`` as a GitHub markdown table.

    Each column is ``(key, header, spec)`` or ``(key, header, spec, align)``: a cell is
    ``format(row[key], spec)``, "n/a" where the row has no value (``None`` or no such key), and
    ``align`` is "right" (the default) or "left".

    >>> print(format_table([{"p": 0.5, "r": 0.75}], [("p", "p", ".1f"), ("r", "removed", ".0%")]))
    | p | removed |
    |---:|---:|
    | 0.5 | 75% |
    """
    aligns = []
    for col in columns:
        align = col[3] if len(col) > 3 else "right"
        if align not in ("left", "right"):
            raise ValueError(f"column {col[0]!r}: align must be 'left' or 'right', got {align!r}")
        aligns.append("---" if align == "left" else "---:")
    head = "| " + " | ".join(col[1] for col in columns) + " |"
    rule = "|" + "|".join(aligns) + "|"
    body = ["| " + " | ".join(format(r[col[0]], col[2]) if r.get(col[0]) is not None else "n/a"
                              for col in columns) + " |"
            for r in rows]
    return "\n".join([head, rule, *body])
