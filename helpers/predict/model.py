"""``ParameterModel``: the exact parameter and MAC counts of a uniformly (locally) pruned model, without
pruning."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import torch
from torch import nn

from .._core import (
    UnsupportedModel,
    check_by,
    check_channel_ratio,
    check_positive_int,
    check_round_to,
    sum_by_power,
)
from . import graph, macs, replay


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
    * the same for MACs, as ``tp.utils.count_ops_and_params`` counts them per sample (the integer
      ``helpers.counting.n_macs`` reports): ``macs_before``, ``macs(p)``, ``macs_at(ps)``, and
      ``by="macs"`` in ``reduction``, ``coefficients``, ``breakdown``, ``solve`` and
      ``max_reduction`` (each takes ``by="params"`` by default).

    * ``params(p, pruning_ratio_dict={layer: ratio})`` (and ``macs``, ``reduction``): the count
      for ``BasePruner(pruning_ratio=p, pruning_ratio_dict=...)``, where the listed layers (and the
      layers inside a listed block) take their own ratio, as Torch-Pruning resolves it.

    * transformers: Torch-Pruning's head arguments, under their names and as given (nothing is
      added): ``num_heads``, ``prune_num_heads``, ``prune_head_dims``, ``head_pruning_ratio``
      (whole heads: ``ceil(ratio * heads)`` per attention), ``out_channel_groups``,
      ``in_channel_groups``, ``unwrapped_parameters``. Every attention's heads must be named
      (``num_heads`` for Q/K/V projections, ``out_channel_groups`` for ``nn.MultiheadAttention``;
      ``helpers.pruning.pruner_kwargs(model)`` gives both, for ``BasePruner`` and ``ParameterModel``
      alike): told nothing, ``BasePruner`` prunes an attention's width as plain channels and leaves,
      at most ratios, a model that cannot run, which is refused.

    Limits: it models Torch-Pruning 1.6.1's *local* pruning with group magnitude importance, in one
    step or in ``iterative_steps`` of its linear schedule (which can end on other widths than one
    step where ``round_to`` applies or a group would be emptied). Global pruning is not modelled
    (prune and count instead: ``helpers.budget.bisect_by_pruning``).
    Exact or refused: a model whose count could differ from Torch-Pruning's (tied weights, extra
    tensors on a known layer, a layer the example inputs never reach, a layer type the replay does
    not follow, grouped-query attention, an attention whose heads are not named) raises
    ``helpers.predict.UnsupportedModel`` at build time, naming the layer and what to do. A
    layer whose MACs cannot be followed (its channels come through a reshape or an unknown operation)
    leaves the parameter side working and raises ``UnsupportedModel`` on the first MAC question.

    Example::

        >>> import helpers
        >>> model, example_inputs, ignored = helpers.zoo.build("resnet18")
        >>> predictor = helpers.predict.ParameterModel(model, example_inputs, ignored_layers=ignored)
        >>> predictor.params_before, predictor.params(0.5)
        (11689512, 3055880)
        >>> round(predictor.solve(0.5), 4)  # the channel ratio that removes 50% of the parameters
        0.2969
        >>> predictor.macs_before, predictor.macs(0.5)
        (1822177768, 487202536)
    """

    def __init__(self, model: nn.Module, example_inputs: torch.Tensor, ignored_layers=(),
                 round_to: int | None = None, iterative_steps: int = 1, *, num_heads: dict | None = None,
                 prune_num_heads: bool = False, prune_head_dims: bool = True, head_pruning_ratio: float = 0.0,
                 out_channel_groups: dict | None = None, in_channel_groups: dict | None = None,
                 unwrapped_parameters=None):
        self.round_to = check_round_to(round_to)
        self.iterative_steps = check_positive_int(iterative_steps, "iterative_steps")
        head_pruning_ratio = check_channel_ratio(head_pruning_ratio, name="head_pruning_ratio")
        if prune_num_heads and head_pruning_ratio > 0 and self.iterative_steps > 1:
            raise UnsupportedModel("ParameterModel does not follow head pruning over iterative steps (BasePruner "
                                   "recounts the heads between steps); prune in one step, or measure by pruning "
                                   "(helpers.budget.bisect_by_pruning)")
        # the heads as BasePruner is given them: nothing added (graph.read refuses an attention not named)
        heads = graph.Heads(bool(prune_num_heads), bool(prune_head_dims), head_pruning_ratio)
        self._structure = graph.read(model, example_inputs, ignored_layers, num_heads=num_heads,
                                     out_channel_groups=out_channel_groups,
                                     in_channel_groups=in_channel_groups,
                                     unwrapped_parameters=unwrapped_parameters, heads=heads)
        self._module_ids = {id(m) for m in model.modules()}
        self.params_before = sum(t.numel for t in self._structure.tensors)
        self._sizes = replay.sizes(self._structure)
        self._tables: dict[str, tuple[list[float], np.ndarray]] = {}
        self._by_kept: dict[str, dict[tuple[int, ...], int]] = {"params": {}, "macs": {}}

    # ---- counts ------------------------------------------------------------------------------
    def params(self, p: float, pruning_ratio_dict: dict | None = None) -> int:
        """Exact parameter count after pruning a fraction ``p`` of every group's channels.

        The count depends on ``p`` only through the kept widths ``int(C * (1 - p))`` of the group
        sizes C: it is looked up by those integers in the table of plateaus (built on the first call,
        a few milliseconds), and replayed in full for a combination the table lacks.

        ``pruning_ratio_dict`` (Torch-Pruning's argument of that name: layers of the model, or
        tuples of them, to ratios) gives the groups of those layers their own ratio; the others
        take ``p``."""
        if pruning_ratio_dict:
            return self._count_with(p, pruning_ratio_dict, "params")
        return self._lookup(p, "params")

    def params_at(self, ps) -> np.ndarray:
        """``params`` for many channel ratios at once, each replayed on its own (one pass over an
        array), e.g. for a curve or a brute-force check."""
        ps = _ratios(ps)
        width = replay.widths(self._structure, ps, self.round_to, self.iterative_steps)
        return replay.count(self._structure.tensors, width, ps.shape)

    @property
    def macs_before(self) -> int:
        """MACs per sample of the unpruned model, as ``tp.utils.count_ops_and_params`` counts them."""
        return self._macs().before

    def macs(self, p: float, pruning_ratio_dict: dict | None = None) -> int:
        """Exact MACs per sample after pruning a fraction ``p`` of every group's channels: the
        integer of what ``tp.utils.count_ops_and_params`` reports for the pruned model on the
        example inputs (``helpers.counting.n_macs``). Like ``params``, a function of the kept widths:
        looked up on the table of plateaus. ``pruning_ratio_dict`` as in ``params``."""
        self._macs()
        if pruning_ratio_dict:
            return self._count_with(p, pruning_ratio_dict, "macs")
        return self._lookup(p, "macs")

    def macs_at(self, ps) -> np.ndarray:
        """``macs`` for many channel ratios at once (one pass over an array)."""
        found = self._macs()
        ps = _ratios(ps)
        width = replay.widths(self._structure, ps, self.round_to, self.iterative_steps)
        return macs.evaluate(found, width, ps.shape)

    def reduction(self, p: float, by: str = "params", pruning_ratio_dict: dict | None = None) -> float:
        """Fraction of parameters (``by="macs"``: of MACs) removed at channel ratio ``p``
        (``pruning_ratio_dict`` as in ``params``)."""
        if check_by(by) == "macs":
            return 1.0 - self.macs(p, pruning_ratio_dict) / self.macs_before
        return 1.0 - self.params(p, pruning_ratio_dict) / self.params_before

    def _group_ratios(self, pruning_ratio_dict: dict) -> dict[int, float]:
        """Group index -> ratio for the groups ``pruning_ratio_dict`` reaches, as BasePruner
        resolves it: every layer inside a key (a later key wins for a layer listed twice), and a
        group takes the ratio of the first of its layers found there."""
        if not isinstance(pruning_ratio_dict, dict):
            raise ValueError(f"pruning_ratio_dict must be a dict of layers to ratios, got "
                             f"{type(pruning_ratio_dict).__name__}")
        expanded: dict[int, float] = {}
        for key, ratio in pruning_ratio_dict.items():
            ratio = check_channel_ratio(ratio, name="a ratio in pruning_ratio_dict")
            for layer in key if isinstance(key, tuple) else (key,):
                if not isinstance(layer, nn.Module) or id(layer) not in self._module_ids:
                    raise ValueError("pruning_ratio_dict's keys must be layers (or tuples of layers) of the "
                                     f"model this ParameterModel was built on, got {type(layer).__name__}")
                expanded.update((id(sub), ratio) for sub in layer.modules())
        found = {}
        for i, g in enumerate(self._structure.groups):
            hit = next((m for m in g.scope if m in expanded), None)
            if hit is not None:
                found[i] = expanded[hit]
        return found

    def _count_with(self, p: float, pruning_ratio_dict: dict, by: str) -> int:
        p = check_channel_ratio(p)
        width = replay.widths(self._structure, np.array([p]), self.round_to, self.iterative_steps,
                              self._group_ratios(pruning_ratio_dict))
        if by == "macs":
            return int(macs.evaluate(self._macs(), width, (1,))[0])
        return int(replay.count(self._structure.tensors, width, (1,))[0])

    def _lookup(self, p: float, by: str) -> int:
        p = check_channel_ratio(p)
        self._plateaus(by)
        count = self._by_kept[by].get(replay.kept(self._sizes, p, self.iterative_steps))
        return int(self._count_at([p], by)[0]) if count is None else count

    def _count_at(self, ps, by: str) -> np.ndarray:
        return self.params_at(ps) if by == "params" else self.macs_at(ps)

    def _before(self, by: str) -> int:
        return self.params_before if by == "params" else self.macs_before

    def _macs(self) -> macs.Macs:
        """The MAC terms, or the refusal recorded when the model was read."""
        found = self._structure.macs
        if found.problem is not None:
            raise UnsupportedModel(f"ParameterModel cannot predict this model's MACs exactly: {found.problem}; "
                                   f"{macs.FIX}")
        return found

    # ---- the A k^2 + B k + C split -----------------------------------------------------------
    def coefficients(self, by: str = "params") -> tuple[int, int, int]:
        """(A, B, C) of params(k) = A k^2 + B k + C, k = 1-p: parameters in tensors with 2, 1, 0
        pruned dimensions. ``by="macs"``: the same for MACs (per sample, before pruning), from the
        products of 2, 1 or 0 pruned widths (e.g. a conv between pruned layers, a batch norm or ReLU,
        the stem's input side)."""
        if check_by(by) == "macs":
            found = self._macs()
            a, b, c = sum_by_power((t.name, t.power, t.macs) for t in found.terms)
            return a // found.batch, b // found.batch, c // found.batch
        return sum_by_power((t.name, t.power, t.numel) for t in self._structure.tensors)

    def approximate_params(self, p: float) -> float:
        """The smooth polynomial A k^2 + B k + C, k = 1-p (no integer rounding)."""
        k = 1.0 - check_channel_ratio(p)
        a, b, c = self.coefficients()
        return a * k * k + b * k + c

    def breakdown(self, by: str = "params") -> list[dict]:
        """Parameters by role, each with the power of k it scales with, largest first. ``by="macs"``:
        MACs by role (rows keyed ``"macs"``), with "activation", "pooling" and "upsample" besides the
        parameter roles."""
        rows: dict[tuple[str, int], int] = {}
        if check_by(by) == "macs":
            found = self._macs()
            items = [(t.role, t.power, t.macs) for t in found.terms]
            batch = found.batch
        else:
            items = [(t.role, t.power, t.numel) for t in self._structure.tensors]
            batch = 1
        for role, power, n in items:
            rows[(role, power)] = rows.get((role, power), 0) + n
        before = self._before(by)
        out = [{"role": role, "power": power, by: n // batch, "share": n / batch / before}
               for (role, power), n in rows.items()]
        return sorted(out, key=lambda r: -r[by])

    # ---- budgets -----------------------------------------------------------------------------
    def _plateaus(self, by: str = "params") -> tuple[list[float], np.ndarray]:
        """Breakpoints ``b`` and the parameter (or MAC) count on each plateau: plateau 0 is p = 0,
        plateau k the interval (b[k-1], b[k]] (the last one (b[-1], 1)). Every count the model can
        reach: MACs, like parameters, change only where a width does."""
        if by not in self._tables:
            bps = replay.breakpoints(self._structure, self.iterative_steps)
            inside = np.concatenate([[0.0], (bps[:-1] + bps[1:]) / 2, [(bps[-1] + 1) / 2]])
            counts = self._count_at(inside, by)
            self._tables[by] = (bps.tolist(), counts)
            kept = replay.kept_at(self._sizes, inside, self.iterative_steps)
            self._by_kept[by] = dict(zip(kept, counts.tolist()))
        return self._tables[by]

    def _pick(self, k: int, by: str = "params") -> float:
        """The shortest decimal on plateau ``k``: the ratio with the fewest decimals whose count is
        plateau ``k``'s (the smallest such, where several have that many), so that the ratio as
        printed (``f"{p}"``) and typed back in prunes to the same count."""
        bps, counts = self._plateaus(by)
        if k == 0:
            return 0.0
        lo, hi = Fraction(bps[k - 1]), Fraction(bps[k] if k < len(bps) else 1)
        for decimals in range(1, 16):
            scale = 10 ** decimals
            q = Fraction(math.floor(lo * scale) + 1, scale)
            # two tries: at an edge the float arithmetic may put the first on the next plateau
            for candidate in (q, q + Fraction(1, scale)):
                if candidate <= hi and candidate < 1 and self._count_at([float(candidate)], by)[0] == counts[k]:
                    return float(candidate)
        return float((lo + hi) / 2)

    def max_reduction(self, by: str = "params") -> tuple[float, float]:
        """(channel ratio, reduction) of the largest reduction of parameters (``by="macs"``: of
        MACs) uniform pruning reaches, exactly: the smallest such ratio (the reduction need not grow
        with p: a group is skipped where its rounded width would reach 0)."""
        check_by(by)
        _, counts = self._plateaus(by)
        k = int(np.argmin(counts))  # the first plateau with the fewest parameters (MACs)
        return self._pick(k, by), 1.0 - int(counts[k]) / self._before(by)

    def solve(self, target_reduction: float, by: str = "params", at_least: bool = False) -> float:
        """The channel ratio whose exact reduction of parameters (``by="macs"``: of MACs) is closest
        to ``target_reduction`` or, with ``at_least=True``, the least reduction that reaches it (a
        budget: "at most half the parameters" is met, never missed by a hair).

        Exact: every count reachable up to the ratio of the largest reduction (``max_reduction``) is
        tried, one per plateau between breakpoints; ties go to the smaller ratio. The ratio returned
        is the shortest decimal on the best plateau (0.17 rather than 0.1641): printed as it is and
        passed back as ``pruning_ratio``, it prunes to the count it was chosen for. Past the ratio of
        the largest reduction Torch-Pruning leaves whole more and more groups that their rounded
        width would empty while it shrinks the others: a count met there (ResNet-50 loses 49.8% of
        its MACs at p = 0.9976) is not a channel ratio anyone asks for. A target beyond the largest
        reduction raises a ValueError that names it.
        """
        what = "parameter" if check_by(by) == "params" else "MAC"
        target = check_channel_ratio(target_reduction, name=f"target {what} reduction")
        p_max, r_max = self.max_reduction(by)
        if target > r_max + 1e-12:
            raise ValueError(
                f"a {target:.1%} {what} reduction cannot be reached: uniform pruning of this model "
                f"removes at most {r_max:.2%} (at p={p_max}); lower the target")
        _, counts = self._plateaus(by)
        searched = counts[:int(np.argmin(counts)) + 1]  # up to the plateau of the largest reduction
        reduction = 1.0 - searched / self._before(by)
        if at_least:
            # the counts that meet the budget, compared as integers: count <= (1 - target) * before (a
            # millionth of a parameter of slack for a target read off a float reduction, r_max say)
            allowed = math.floor((1 - Fraction(target)) * self._before(by) + Fraction(1, 10 ** 6))
            meets = np.flatnonzero(searched <= allowed)
            if not len(meets):
                raise ValueError(f"a {target:.1%} {what} reduction cannot be reached: uniform pruning of this "
                                 f"model removes at most {r_max:.2%} (at p={p_max}); lower the target")
            return self._pick(int(meets[np.argmax(searched[meets])]), by)  # argmax: the first, smallest p
        return self._pick(int(np.argmin(np.abs(reduction - target))), by)  # argmin: the first, smallest p


def _ratios(ps) -> np.ndarray:
    """Channel ratios as a float array, each checked (the first bad one with
    ``check_channel_ratio``'s message)."""
    given = np.asarray(ps)
    if given.dtype.kind not in "fiu" or not np.all((given >= 0) & (given < 1)):
        for p in given.flat:
            check_channel_ratio(p.item() if given.dtype.kind in "fiub" else p)
    return given.astype(np.float64)
