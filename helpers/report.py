"""What the course shows: markdown tables and figures, in one style.

* ``format_table``: the one formatter behind every table the course prints (notebooks,
  ``make reproduce``, the README);
* ``style`` and ``save``: one look for every figure, saved where ``helpers.results.folder`` says;
* ``rule_axes``: the quadratic law and the naive line; ``importance_bars`` (which channels of one
  layer go) and ``struck_weight`` (which rows and columns of its weight go with them);
  ``errorbars``: means over seeds with their intervals.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

from . import results

__all__ = ["format_table", "style", "save", "rule_axes", "importance_bars", "struck_weight", "errorbars"]

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


RULE_STYLE = {"color": "black", "linestyle": "--", "linewidth": 1.5, "label": "rule 1-(1-p)^2"}
NAIVE_STYLE = {"color": "grey", "linestyle": ":", "linewidth": 1.5, "label": "naive: p removes p"}
KEPT_COLOR, REMOVED_COLOR = "C0", "C3"  # a kept channel, a removed one, in every picture of a pruned layer


def style() -> None:
    """One look for every figure of the course."""
    matplotlib.rcParams.update({
        "figure.dpi": 100, "savefig.dpi": 120, "figure.figsize": (6.4, 4.2),
        "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
        "font.size": 10, "legend.fontsize": 8, "svg.hashsalt": "course",
    })


def save(fig, name: str, out: str | Path | None = None) -> Path:
    """Save ``fig`` as PNG where ``helpers.results.folder(out)`` says; return the path."""
    path = results.path(name, ".png", out)
    fig.savefig(path, bbox_inches="tight", metadata={"Software": None})
    return path


def rule_axes(ax, p_max: float = 0.9):
    """Draw the quadratic rule and the naive line on ``ax`` over p in [0, p_max]."""
    import numpy as np

    p = np.linspace(0, p_max, 91)
    ax.plot(p, 1 - (1 - p) ** 2, **RULE_STYLE)
    ax.plot(p, p, **NAIVE_STYLE)
    ax.set_xlabel("channel ratio p (pruning_ratio)")
    ax.set_ylabel("parameter reduction")
    ax.set_xlim(0, p_max)
    ax.set_ylim(0, 1)
    return ax


def _numpy(values):
    """A torch tensor (any device, with or without grad) or array-like as a float numpy array."""
    import numpy as np

    if hasattr(values, "detach"):
        values = values.detach().cpu()
    return np.asarray(values, dtype=float)


def _indices(idxs, n: int, what: str):
    """``idxs`` as sorted unique ints in [0, n); a ValueError names what is out of range."""
    import numpy as np

    idxs = np.unique(_numpy(idxs).astype(int).ravel()) if len(idxs) else np.array([], dtype=int)
    if len(idxs) and (idxs[0] < 0 or idxs[-1] >= n):
        raise ValueError(f"{what} must lie in [0, {n}), got {idxs.tolist()}")
    return idxs


def importance_bars(ax, scores, removed) -> float | None:
    """Draw one bar per channel, its importance score: the ``removed`` channels in
    ``REMOVED_COLOR``, the kept ones in ``KEPT_COLOR``, and the threshold between them as a dashed
    line. Return the threshold (None when no channel or every channel is removed).

    A pruner that removes a fixed number of channels per group removes the lowest scores, so one
    threshold separates them: if some removed channel scores above a kept one, no line does, and a
    ValueError says so rather than draw a wrong picture.
    """
    import numpy as np
    from matplotlib.patches import Patch

    scores = _numpy(scores).ravel()
    removed = _indices(removed, len(scores), "removed channels")
    kept = np.setdiff1d(np.arange(len(scores)), removed)
    colors = np.where(np.isin(np.arange(len(scores)), removed), REMOVED_COLOR, KEPT_COLOR)
    ax.bar(np.arange(len(scores)), scores, width=0.8, color=colors)
    handles = [Patch(facecolor=KEPT_COLOR, label="kept"), Patch(facecolor=REMOVED_COLOR, label="removed")]
    threshold = None
    if len(removed) and len(kept):
        if scores[removed].max() > scores[kept].min():
            raise ValueError("the removed channels are not the lowest-scoring ones: no threshold separates them")
        threshold = float(scores[removed].max() + scores[kept].min()) / 2
        handles.append(ax.axhline(threshold, color="black", linestyle="--", linewidth=1, label="threshold"))
    ax.legend(handles=handles, loc="upper right")
    # the scores of one group are close to each other: show their spread, not the distance from 0
    low, high = scores.min(), scores.max()
    pad = 0.1 * (high - low) or 0.1 * abs(high) or 1.0
    ax.set_ylim(low - pad, high + 4 * pad)  # room above the bars for the legend
    ax.set_xlim(-1, len(scores))
    ax.set_xlabel("channel")
    ax.set_ylabel("group importance")
    return threshold


def struck_weight(ax, matrix, removed_rows, removed_cols, **imshow_kwargs):
    """Show a weight as a heat map (``matrix``: rows x columns, e.g. a conv weight's L2 norm over
    its kernel, C_out x C_in) with each removed row struck through by a horizontal line and each
    removed column by a vertical one, in ``REMOVED_COLOR``, the struck cells faded. Return the heat
    map's image (for a colour bar).

    Extra keyword arguments go to ``ax.imshow`` (e.g. ``vmin``/``vmax``, to share a colour scale).
    """
    import numpy as np

    matrix = _numpy(matrix)
    if matrix.ndim != 2:
        raise ValueError(f"matrix must be 2-D (rows x columns), got shape {matrix.shape}")
    rows = _indices(removed_rows, matrix.shape[0], "removed rows")
    cols = _indices(removed_cols, matrix.shape[1], "removed columns")
    image = ax.imshow(matrix, **{"cmap": "viridis", "interpolation": "nearest", **imshow_kwargs})
    if len(rows) or len(cols):
        fade = np.zeros((*matrix.shape, 4))  # white, opaque enough to fade what is struck
        fade[rows, :] = fade[:, cols] = (1.0, 1.0, 1.0, 0.6)
        ax.imshow(fade, interpolation="nearest")
    # a line about a third of a cell wide, from the axes' size when drawn (points: 1/72 inch)
    width, height = ax.get_window_extent().size * 72 / ax.figure.dpi
    linewidth = max(0.5, 0.3 * min(width / matrix.shape[1], height / matrix.shape[0]))
    for r in rows:
        ax.axhline(r, color=REMOVED_COLOR, linewidth=linewidth)
    for c in cols:
        ax.axvline(c, color=REMOVED_COLOR, linewidth=linewidth)
    ax.grid(False)
    ax.set_xlabel("column: input channel")
    ax.set_ylabel("row: output channel")
    return image


def errorbars(ax, summary: Sequence[dict], key: str, labels: Sequence[str], offset: float = 0.0, **style):
    """Plot each summary row's ``{key}_mean`` with its interval (``{key}_low``, ``{key}_high``, as
    ``helpers.training.summarise`` gives them) as an error bar in percent, at x = 0, 1, ...; return
    the x positions."""
    import numpy as np

    x = np.arange(len(summary)) + offset
    mean = np.array([s[f"{key}_mean"] for s in summary])
    err = np.array([[s[f"{key}_mean"] - s[f"{key}_low"] for s in summary],
                    [s[f"{key}_high"] - s[f"{key}_mean"] for s in summary]])
    ax.errorbar(x, 100 * mean, yerr=100 * err, fmt=style.pop("fmt", "o"), capsize=3, **style)
    ax.set_xticks(np.arange(len(summary)), labels)
    return x
