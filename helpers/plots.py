"""Consistent figures, saved under the repository's figures/ whatever the working directory."""
from __future__ import annotations

import os
from pathlib import Path

import matplotlib

from .tooling.paths import FIGURES, ROOT

RULE_STYLE = {"color": "black", "linestyle": "--", "linewidth": 1.5, "label": "rule 1-(1-p)^2"}
NAIVE_STYLE = {"color": "grey", "linestyle": ":", "linewidth": 1.5, "label": "naive: p removes p"}


def style() -> None:
    """One look for every figure of the course."""
    matplotlib.rcParams.update({
        "figure.dpi": 100, "savefig.dpi": 120, "figure.figsize": (6.4, 4.2),
        "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
        "font.size": 10, "legend.fontsize": 8, "svg.hashsalt": "course",
    })


def figures_dir(out: str | Path | None = None) -> Path:
    """The folder figures go to: ``out`` if given (relative to the repository root), else figures/.

    ``COURSE_FIGURES_DIR`` redirects the default, so that test runs leave figures/ as committed.
    """
    path = Path(os.environ.get("COURSE_FIGURES_DIR") or FIGURES) if out is None else Path(out)
    if not path.is_absolute():
        path = ROOT / path
    path.mkdir(parents=True, exist_ok=True)
    return path


def save(fig, name: str, out: str | Path | None = None) -> Path:
    """Save ``fig`` as PNG under figures/ (or ``out``); return the path."""
    path = figures_dir(out) / (name if name.endswith(".png") else f"{name}.png")
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
