"""The quadratic law of channel pruning and its inverse.

Removing a fraction ``p`` of every layer's channels shrinks a weight that sits between two
pruned layers to ``(1-p)^2`` of its size, so the parameter reduction is ``1-(1-p)^2``.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

from ._core import check_channel_ratio

__all__ = ["SEED_RATIOS", "check_channel_ratio", "param_reduction", "channel_ratio_for", "quick_reference_table",
           "quick_reference_markdown"]

SEED_RATIOS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)


def param_reduction(p: float) -> float:
    """Fraction of parameters removed by channel ratio ``p`` under the quadratic law."""
    p = check_channel_ratio(p)
    return 1.0 - (1.0 - p) ** 2


def channel_ratio_for(param_reduction: float) -> float:
    """Channel ratio whose quadratic-law parameter reduction equals ``param_reduction``."""
    r = check_channel_ratio(param_reduction, name="parameter reduction")
    return 1.0 - math.sqrt(1.0 - r)


def quick_reference_table(ratios: Iterable[float] = SEED_RATIOS) -> list[dict]:
    """Rows of (channel ratio, naive reading "p removes p", quadratic-law reduction)."""
    return [
        {"channel_ratio": float(p), "naive_reduction": float(p), "param_reduction": param_reduction(p)}
        for p in ratios
    ]


def quick_reference_markdown(ratios: Iterable[float] = SEED_RATIOS) -> str:
    """The seed page's quick-reference table, regenerated."""
    from .report import format_table

    return format_table(
        quick_reference_table(ratios),
        [("channel_ratio", "channel ratio p", ".2f"), ("param_reduction", "parameter reduction 1-(1-p)^2", ".1%")],
    )
