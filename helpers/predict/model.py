"""``ParameterModel``: the exact parameter count of a uniformly (locally) pruned model, without pruning."""
from __future__ import annotations

import torch
from torch import nn

from ..counting import sum_by_power
from ..pruning import check_round_to
from ..theory import check_channel_ratio
from . import graph, replay


class ParameterModel:
    """Predict the parameters Torch-Pruning leaves after ``BasePruner(pruning_ratio=p)``.

    Built once from a model, its example inputs, the layers to leave alone and ``round_to`` (the
    arguments ``BasePruner`` takes), it reads Torch-Pruning's dependency graph a single time and then
    answers for any channel ratio ``p`` in microseconds, on integers, without touching the model:

    * ``params(p)``: the exact ``sum(p.numel())`` of the pruned model; ``reduction(p)`` the fraction
      removed;
    * ``coefficients()``: ``(A, B, C)`` of ``params(k) = A k^2 + B k + C`` with ``k = 1-p``, the
      parameters in tensors with two, one and no pruned dimensions; ``approximate_params(p)`` the
      smooth polynomial, ``breakdown()`` the same split by role (weights between pruned layers,
      stem, classifier, depthwise, normalisation, bias, not pruned);
    * ``solve(target)``: the channel ratio whose exact reduction is closest to a parameter budget;
      ``max_reduction()`` the most that uniform pruning can remove.

    Limits: it models Torch-Pruning 1.6.1's *local* pruning in one step with group magnitude
    importance, one ratio for every group. Global pruning, ``pruning_ratio_dict`` and iterative
    schedules are not modelled (prune and count instead: ``helpers.budget.bisect_by_pruning``).
    Layers it cannot follow (transposed convolutions, custom layers with parameters) raise
    ``NotImplementedError`` at build time rather than give a wrong number.

    Example::

        >>> import helpers
        >>> model, example_inputs, ignored = helpers.zoo.build("resnet18")
        >>> predictor = helpers.predict.ParameterModel(model, example_inputs, ignored_layers=ignored)
        >>> predictor.params_before, predictor.params(0.5)
        (11689512, 3055880)
        >>> round(predictor.solve(0.5), 4)  # the channel ratio that removes 50% of the parameters
        0.2969
    """

    def __init__(self, model: nn.Module, example_inputs: torch.Tensor, ignored_layers=(),
                 round_to: int | None = None):
        self.round_to = check_round_to(round_to)
        self._structure = graph.read(model, example_inputs, ignored_layers)
        self.params_before = sum(t.numel for t in self._structure.tensors)

    # ---- counts ------------------------------------------------------------------------------
    def params(self, p: float) -> int:
        """Exact parameter count after pruning a fraction ``p`` of every group's channels."""
        width = replay.widths(self._structure, check_channel_ratio(p), self.round_to)
        return replay.count(self._structure.tensors, width)

    def reduction(self, p: float) -> float:
        """Fraction of parameters removed at channel ratio ``p``."""
        return 1.0 - self.params(p) / self.params_before

    # ---- the A k^2 + B k + C split -----------------------------------------------------------
    def coefficients(self) -> tuple[int, int, int]:
        """(A, B, C) of params(k) = A k^2 + B k + C, k = 1-p: parameters in tensors with 2, 1, 0
        pruned dimensions."""
        return sum_by_power((t.name, t.power, t.numel) for t in self._structure.tensors)

    def approximate_params(self, p: float) -> float:
        """The smooth polynomial A k^2 + B k + C, k = 1-p (no integer rounding)."""
        k = 1.0 - check_channel_ratio(p)
        a, b, c = self.coefficients()
        return a * k * k + b * k + c

    def breakdown(self) -> list[dict]:
        """Parameters by role, each with the power of k it scales with, largest first."""
        rows: dict[tuple[str, int], int] = {}
        for t in self._structure.tensors:
            rows[(t.role, t.power)] = rows.get((t.role, t.power), 0) + t.numel
        out = [{"role": role, "power": power, "params": n, "share": n / self.params_before}
               for (role, power), n in rows.items()]
        return sorted(out, key=lambda r: -r["params"])

    # ---- budgets -----------------------------------------------------------------------------
    def max_reduction(self, step: float = 0.01) -> tuple[float, float]:
        """(channel ratio, reduction) of the largest reduction reachable, scanned over [0, 1)."""
        best = (0.0, 0.0)
        for i in range(int(round(1 / step))):
            p = i * step
            r = self.reduction(p)
            if r > best[1]:
                best = (p, r)
        return best

    def solve(self, target_param_reduction: float, tol: float = 1e-6) -> float:
        """The channel ratio whose exact reduction is closest to ``target_param_reduction``."""
        target = check_channel_ratio(target_param_reduction, name="target parameter reduction")
        p_max, r_max = self.max_reduction()
        if target > r_max + 1e-9:
            raise ValueError(
                f"a {target:.1%} parameter reduction cannot be reached: uniform pruning of this model "
                f"removes at most {r_max:.1%} (at p={p_max:.2f}); lower the target")
        lo, hi = 0.0, p_max  # reduction(lo) < target <= reduction(hi), reduction non-decreasing in p
        if target <= 0.0:
            return 0.0
        while hi - lo > tol:
            mid = (lo + hi) / 2
            if self.reduction(mid) >= target:
                hi = mid
            else:
                lo = mid
        best = min((lo, hi), key=lambda q: abs(self.reduction(q) - target))
        return round(best, 6) if abs(self.reduction(round(best, 6)) - self.reduction(best)) < 1e-12 else best
