"""Torch-Pruning's local-pruning arithmetic, replayed on integers (``BasePruner`` 1.6.1, one step):

* each group keeps ``int(C * (1 - p))`` of its C channels (per channel group for grouped convs);
* with ``round_to`` the kept width of the root layer is rounded down to a multiple of it;
* a group is skipped when one of its layers already has 1 channel (``_check_pruning_ratio``) or
  would lose all of them (``check_pruning_group``).
"""
from __future__ import annotations

from .graph import Structure, Tensor


def widths(structure: Structure, p: float, round_to: int | None = None) -> dict[tuple, int]:
    """Every width counter after local pruning at channel ratio ``p`` (already validated)."""
    width = dict(structure.widths)
    for g in structure.groups:
        if any(width[d.key] == 1 for d in g.deps if not d.is_param):
            continue
        per_group = g.channels // g.ch_groups
        n_pruned = per_group - int(per_group * (1 - p))
        if n_pruned <= 0:
            continue
        if round_to:
            current = width[g.root_key]
            kept = current - n_pruned
            n_pruned = max(current - (kept - kept % round_to), 0)
        removed = min(n_pruned, per_group) * g.ch_groups
        if removed == 0:
            continue
        if any(width[d.key] <= removed * d.per_channel for d in g.deps):
            continue
        for d in g.deps:
            width[d.key] -= removed * d.per_channel
    return width


def count(tensors: list[Tensor], width: dict[tuple, int]) -> int:
    """Parameters of ``tensors`` at the widths ``width``."""
    total = 0
    for t in tensors:
        n = 1
        for d in t.dims:
            n *= d if isinstance(d, int) else width[d[0]] // d[1]
        total += n
    return total
