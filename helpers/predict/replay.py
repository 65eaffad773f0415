"""Torch-Pruning's local-pruning arithmetic, replayed on integers (``BasePruner`` 1.6.1; each step of
an iterative schedule does the same from the current widths):

* each group keeps ``int(C * (1 - p))`` of its C channels (per channel group for grouped convs);
* with ``round_to`` the kept width of the root layer is rounded down to a multiple of it;
* a group is skipped when one of its layers already has 1 channel (``_check_pruning_ratio``) or
  would lose all of them (``check_pruning_group``).

The replay runs on numpy arrays, one entry per channel ratio: a sweep over thousands of ratios costs
about as much as one ratio. Its float steps are Torch-Pruning's (``1 - p``, times ``C``, truncated),
so each entry is the integer Torch-Pruning computes.
"""
from __future__ import annotations

import math

import numpy as np

from .graph import Structure, Tensor


def widths(structure: Structure, ps: np.ndarray, round_to: int | None = None,
           iterative_steps: int = 1, group_ps: dict[int, float] | None = None) -> dict[tuple, np.ndarray]:
    """Every width counter after local pruning, for each channel ratio in ``ps`` (validated).

    With ``iterative_steps`` the schedule is Torch-Pruning's linear one: step i aims at
    ``(i / steps) * p`` of each group's *initial* width, cutting from its current width.
    ``group_ps`` gives some groups (by index in ``structure.groups``) a ratio of their own, as
    ``pruning_ratio_dict`` does: the same schedule, with that ratio in place of ``p``.
    """
    ps = np.asarray(ps, dtype=np.float64)
    group_ps = group_ps or {}
    width = {key: np.full(ps.shape, w, dtype=np.int64) for key, w in structure.widths.items()}
    for step in range(1, iterative_steps + 1):
        fraction = step / float(iterative_steps)  # tp.pruner.algorithms.scheduler.linear_scheduler
        for i, g in enumerate(structure.groups):
            target = fraction * (np.full(ps.shape, group_ps[i]) if i in group_ps else ps)
            initial = g.channels // g.ch_groups
            current = width[g.root_key] // g.ch_groups
            n_pruned = current - (initial * (1.0 - target)).astype(np.int64)  # astype truncates, as int()
            ranked = n_pruned > 0  # BasePruner prunes a group only where its ratio removes a channel
            skip = ~ranked
            for d in g.deps:
                if not d.is_param:
                    skip |= width[d.key] == 1
            if round_to:
                root = width[g.root_key]
                kept = root - n_pruned
                n_pruned = np.maximum(root - (kept - kept % round_to), 0)  # numpy's % floors, as Python's
            removed = np.minimum(n_pruned, current) * g.ch_groups
            if g.heads:
                removed = _with_heads(structure, g, removed, ranked, width, fraction)
            skip |= removed == 0
            for d in g.deps:
                skip |= width[d.key] <= removed * d.per_channel
            cut = np.where(skip, 0, removed)
            for d in g.deps:
                width[d.key] = width[d.key] - cut * d.per_channel
    return width


def _with_heads(structure: Structure, g, dims: np.ndarray, ranked: np.ndarray, width: dict,
                fraction: float) -> np.ndarray:
    """Entries an attention group loses: its head dimensions (``dims``, the same in every head,
    unless ``prune_head_dims=False``) and, with ``prune_num_heads``, ``ceil(ratio * heads)`` whole
    heads; a removed head's dimensions count once. Where the group's channel ratio removes no
    dimension (``ranked`` False) BasePruner removes nothing, heads included."""
    h = structure.heads
    per_head_dims = dims // g.ch_groups if h.prune_head_dims else np.zeros_like(dims)
    if not (h.prune_num_heads and h.head_pruning_ratio > 0):
        return per_head_dims * g.ch_groups
    n_heads = math.ceil(fraction * h.head_pruning_ratio * g.heads)  # math.ceil, as BasePruner
    head_width = width[g.root_key] // g.heads
    removed = per_head_dims * g.heads + n_heads * (head_width - per_head_dims)
    return np.where(ranked, removed, 0)


def count(tensors: list[Tensor], width: dict[tuple, np.ndarray], shape: tuple) -> np.ndarray:
    """Parameters of ``tensors`` at the widths ``width``: an array of ``shape`` (the ratios')."""
    total = np.zeros(shape, dtype=np.int64)
    for t in tensors:
        n = 1
        for d in t.dims:
            n = n * (d if isinstance(d, int) else width[d[0]] // d[1])
        total = total + n
    return total


def sizes(structure: Structure) -> list[int]:
    """The distinct channel counts C (per channel group) that the groups cut by ``int(C * (1 - p))``.
    Every width after pruning, so every count, is a function of those integers alone."""
    return sorted({g.channels // g.ch_groups for g in structure.groups} - {0})


def kept(group_sizes: list[int], p: float, iterative_steps: int = 1) -> tuple[int, ...]:
    """``int(C * (1 - p_i))`` for each size C and each step's target p_i, with Torch-Pruning's float
    steps: the integers every count is a function of."""
    return tuple(int(c * (1.0 - (step / float(iterative_steps)) * p))
                 for step in range(1, iterative_steps + 1) for c in group_sizes)


def kept_at(group_sizes: list[int], ps: np.ndarray, iterative_steps: int = 1) -> list[tuple[int, ...]]:
    """``kept`` for every ratio in ``ps`` (one tuple per ratio)."""
    rows = [(np.array(group_sizes)[:, None] * (1.0 - (step / float(iterative_steps)) * ps[None, :])).astype(np.int64)
            for step in range(1, iterative_steps + 1)]
    return list(map(tuple, np.concatenate(rows).T.tolist()))


def breakpoints(structure: Structure, iterative_steps: int = 1) -> np.ndarray:
    """The channel ratios in [0, 1) where some kept width can change, in increasing order.

    A group of C channels keeps ``int(C * (1 - p))``, which steps down just after p = j/C (after
    p = j/C * steps/i at step i of an iterative schedule); every other step (rounding, skipping) is a
    function of those integers. So every width is constant on ``(b[k-1], b[k]]`` between consecutive
    breakpoints, and p = 0 is a breakpoint of its own. As floats they are exact enough: two different
    ones lie at least about 1/(steps C)^2 apart, far above float rounding.
    """
    points = [np.zeros(1)] + [np.arange(c) / c * iterative_steps / step for c in sizes(structure)
                              for step in range(1, iterative_steps + 1)]
    points = np.unique(np.concatenate(points))
    return points[points < 1]
