"""``ParameterModel``: the exact parameter count of a uniformly (locally) pruned model, without pruning."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
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

    Limits: it models Torch-Pruning 1.6.1's *local* pruning with group magnitude importance, one
    ratio for every group, in one step or in ``iterative_steps`` of its linear schedule (which can
    end on other widths than one step where ``round_to`` applies or a group would be emptied).
    Global pruning and ``pruning_ratio_dict`` are not modelled (prune and count instead:
    ``helpers.budget.bisect_by_pruning``).
    Exact or refused: a model whose count could differ from Torch-Pruning's (tied weights, extra
    tensors on a known layer, a layer the example inputs never reach, a layer type the replay does
    not follow) raises ``helpers.unsupported.UnsupportedModel`` at build time, naming the layer.

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
                 round_to: int | None = None, iterative_steps: int = 1):
        self.round_to = check_round_to(round_to)
        if isinstance(iterative_steps, bool) or int(iterative_steps) != iterative_steps or iterative_steps < 1:
            raise ValueError(f"iterative_steps must be a positive integer, got {iterative_steps!r}")
        self.iterative_steps = int(iterative_steps)
        self._structure = graph.read(model, example_inputs, ignored_layers)
        self.params_before = sum(t.numel for t in self._structure.tensors)
        self._sizes = replay.sizes(self._structure)
        self._table: tuple[list[float], np.ndarray] | None = None
        self._by_kept: dict[tuple[int, ...], int] = {}

    # ---- counts ------------------------------------------------------------------------------
    def params(self, p: float) -> int:
        """Exact parameter count after pruning a fraction ``p`` of every group's channels.

        The count depends on ``p`` only through the kept widths ``int(C * (1 - p))`` of the group
        sizes C: it is looked up by those integers in the table of plateaus (built on the first call,
        a few milliseconds), and replayed in full for a combination the table lacks."""
        p = check_channel_ratio(p)
        self._plateaus()
        count = self._by_kept.get(replay.kept(self._sizes, p, self.iterative_steps))
        return int(self.params_at([p])[0]) if count is None else count

    def params_at(self, ps) -> np.ndarray:
        """``params`` for many channel ratios at once, each replayed on its own (one pass over an
        array), e.g. for a curve or a brute-force check."""
        given = np.asarray(ps)
        if given.dtype.kind not in "fiu" or not np.all((given >= 0) & (given < 1)):
            for p in given.flat:  # the first bad one, with check_channel_ratio's message
                check_channel_ratio(p.item() if given.dtype.kind in "fiub" else p)
        ps = given.astype(np.float64)
        width = replay.widths(self._structure, ps, self.round_to, self.iterative_steps)
        return replay.count(self._structure.tensors, width, ps.shape)

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
    def _plateaus(self) -> tuple[list[float], np.ndarray]:
        """Breakpoints ``b`` and the parameter count on each plateau: plateau 0 is p = 0, plateau k
        the interval (b[k-1], b[k]] (the last one (b[-1], 1)). Every count the model can reach."""
        if self._table is None:
            bps = replay.breakpoints(self._structure, self.iterative_steps)
            inside = np.concatenate([[0.0], (bps[:-1] + bps[1:]) / 2, [(bps[-1] + 1) / 2]])
            counts = self.params_at(inside)
            self._table = (bps.tolist(), counts)
            kept = replay.kept_at(self._sizes, inside, self.iterative_steps)
            self._by_kept = dict(zip(kept, counts.tolist()))
        return self._table

    def _pick(self, k: int) -> float:
        """The smallest channel ratio with the fewest decimals (4 at least) on plateau ``k``."""
        bps, counts = self._plateaus()
        if k == 0:
            return 0.0
        lo, hi = Fraction(bps[k - 1]), Fraction(bps[k] if k < len(bps) else 1)
        for decimals in range(4, 16):
            scale = 10 ** decimals
            q = Fraction(math.floor(lo * scale) + 1, scale)
            # two tries: at an edge the float arithmetic may put the first on the next plateau
            for candidate in (q, q + Fraction(1, scale)):
                if candidate <= hi and candidate < 1 and self.params_at([float(candidate)])[0] == counts[k]:
                    return float(candidate)
        return float((lo + hi) / 2)

    def max_reduction(self) -> tuple[float, float]:
        """(channel ratio, reduction) of the largest reduction uniform pruning reaches, exactly: the
        smallest such ratio (the reduction need not grow with p: a group is skipped where its
        rounded width would reach 0)."""
        _, counts = self._plateaus()
        k = int(np.argmin(counts))  # the first plateau with the fewest parameters
        return self._pick(k), 1.0 - int(counts[k]) / self.params_before

    def solve(self, target_param_reduction: float) -> float:
        """The channel ratio whose exact reduction is closest to ``target_param_reduction``.

        Exact: every reachable count is tried (one per plateau between breakpoints), ties go to the
        smaller ratio, and the ratio returned is the smallest with 4 decimals on the best plateau
        (more decimals where the plateau is narrower than 0.0001).
        """
        target = check_channel_ratio(target_param_reduction, name="target parameter reduction")
        p_max, r_max = self.max_reduction()
        if target > r_max + 1e-9:
            raise ValueError(
                f"a {target:.1%} parameter reduction cannot be reached: uniform pruning of this model "
                f"removes at most {r_max:.1%} (at p={p_max:.4f}); lower the target")
        _, counts = self._plateaus()
        miss = np.abs((1.0 - counts / self.params_before) - target)
        return self._pick(int(np.argmin(miss)))  # argmin: the first, i.e. smallest p, on ties
