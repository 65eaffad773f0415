"""Choosing a channel ratio for a parameter budget.

Three ways to pick p for a target parameter reduction r:

* the rule's inverse, ``1 - sqrt(1 - r)`` (``theory.channel_ratio_for``): no model needed, and off
  by the model's share of tensors that shrink like (1-p) instead of (1-p)^2;
* ``ParameterModel.solve``: exact for uniform local pruning, from one dependency graph, no pruning;
* ``bisect_by_pruning``: prune a copy of the model at each step of a bisection and count. Slow, but
  it works for any pruner setting the predictor does not model (global pruning,
  ``pruning_ratio_dict``, ``max_pruning_ratio``).

For a MAC budget the same holds with ``ParameterModel.solve(r, by="macs")``; ``prune_until`` is the
loop Torch-Pruning's users write for it (small iterative steps until the count falls to the target).

A model is given as ``built = (model, example_inputs, ignored_layers)``, the triple
``helpers.zoo.build`` returns; it is never modified (every prune works on a copy).
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from . import theory, zoo
from ._core import check_by, expand_ignored, pruner_kwargs
from .counting import n_macs, n_params
from .predict import ParameterModel
from .pruning import copy_with_layers, prune_copy, prune_steps

__all__ = ["Pruned", "prune_measured", "pruned_reduction", "Search", "bisect_by_pruning", "solve",
           "budget_table", "out_widths", "removed_fractions", "prune_until"]

# (model, example_inputs, ignored_layers), as zoo.build returns it
Built = tuple[nn.Module, torch.Tensor, list]


@dataclass
class Pruned:
    """A pruned copy of a model, with what was removed."""
    model: nn.Module
    reduction: float  # fraction of parameters removed
    fractions: dict[str, float]  # per conv/linear layer (ignored layers left out): outputs removed


def prune_measured(built: Built, channel_ratio: float, **pruner_kwargs) -> Pruned:
    """Prune a copy of ``built``'s model at ``channel_ratio`` and measure each layer's loss.

    ``pruner_kwargs`` go to ``pruning.prune_copy`` (round_to, global_pruning, iterative_steps,
    max_pruning_ratio, pruning_ratio_dict naming the original model's layers, ...).
    """
    model, inputs, ignored = built
    result = prune_copy(model, inputs, channel_ratio, ignored, count_macs=False, **pruner_kwargs)
    skip = {id(m) for m in expand_ignored(ignored)}
    names = {n for n, m in model.named_modules() if id(m) in skip}
    fractions = {n: f for n, f in removed_fractions(out_widths(model), result.model).items() if n not in names}
    return Pruned(result.model, result.param_reduction, fractions)


def pruned_reduction(built: Built, channel_ratio: float, **pruner_kwargs) -> float:
    """The fraction of parameters a copy of ``built``'s model loses when pruned at ``channel_ratio``
    (keyword arguments as in ``prune_measured``)."""
    model, inputs, ignored = built
    return prune_copy(model, inputs, channel_ratio, ignored, count_macs=False, **pruner_kwargs).param_reduction


@dataclass
class Search:
    """The outcome of a search for the channel ratio that meets a parameter budget."""
    target: float
    channel_ratio: float
    reduction: float  # what that ratio achieves
    evaluations: int  # models pruned (bisection) or predictions made (solver)
    seconds: float
    trace: list[tuple[float, float]] = field(default_factory=list)  # (p, reduction) tried, in order

    @property
    def miss_pp(self) -> float:
        """Achieved minus target reduction, in percentage points."""
        return 100 * (self.reduction - self.target)


def bisect_by_pruning(built: Built, target: float, tol: float = 0.002, p_tol: float = 1e-3,
                      p_max: float = 0.9, max_evaluations: int = 30, **pruner_kwargs) -> Search:
    """Bisection on the channel ratio that prunes a copy of the model at every step and counts.

    Stops once a ratio's reduction is within ``tol`` of ``target``, or the bracket is narrower
    than ``p_tol``, or after ``max_evaluations`` prunes; returns the closest ratio tried. Any
    pruner setting passes through ``pruner_kwargs`` (``global_pruning=True``, say).

    Bisection assumes the reduction grows with p. With ``round_to`` it need not (a group whose
    rounded width would reach 0 is skipped and keeps all its channels), and the search can then
    miss the closest ratio; for local pruning ``ParameterModel.solve`` is exact.
    """
    target = theory.check_channel_ratio(target, name="target parameter reduction")
    start = time.perf_counter()
    trace: list[tuple[float, float]] = []

    def evaluate(p: float) -> float:
        r = pruned_reduction(built, p, **pruner_kwargs)
        trace.append((p, r))
        return r

    if target > 0 and evaluate(p_max) < target:
        raise ValueError(f"a {target:.1%} parameter reduction is not reached even at p={p_max}: "
                         f"it removes {trace[-1][1]:.1%}; lower the target or raise p_max")
    lo, hi = 0.0, p_max
    while target > 0 and len(trace) < max_evaluations and hi - lo > p_tol:
        mid = (lo + hi) / 2
        r = evaluate(mid)
        if abs(r - target) <= tol:
            break
        if r >= target:
            hi = mid
        else:
            lo = mid
    p, r = min(trace, key=lambda t: abs(t[1] - target)) if trace else (0.0, 0.0)
    return Search(target, p, r, len(trace), time.perf_counter() - start, trace)


def solve(predictor: ParameterModel, target: float, at_least: bool = False) -> Search:
    """``ParameterModel.solve`` wrapped as a Search (its time excludes building the predictor)."""
    start = time.perf_counter()
    p = predictor.solve(target, at_least=at_least)
    seconds = time.perf_counter() - start
    return Search(float(target), p, predictor.reduction(p), 0, seconds)


def budget_table(names: Sequence[str], targets: Sequence[float], device: torch.device | str = "cpu",
                 verify: Sequence[str] = ()) -> list[dict]:
    """For each zoo model and target reduction: p and the exact achieved reduction by the rule's
    inverse and by ``ParameterModel.solve`` (classifier ignored, local pruning).

    For the models in ``verify`` both ratios are also pruned for real; ``measured_rule`` and
    ``measured_solve`` then hold the reductions counted on the pruned models.
    """
    rows = []
    for name in names:
        built = zoo.build(name, device=device)
        predictor = ParameterModel(*built, **pruner_kwargs(built[0]))  # a transformer's heads, as prune_copy's
        for target in targets:
            p_rule = theory.channel_ratio_for(target)
            p_solve = predictor.solve(target)
            row = {"model": name, "family": zoo.family(name), "target": target,
                   "p_rule": p_rule, "reduction_rule": predictor.reduction(p_rule),
                   "p_solve": p_solve, "reduction_solve": predictor.reduction(p_solve)}
            row["miss_rule_pp"] = 100 * (row["reduction_rule"] - target)
            row["miss_solve_pp"] = 100 * (row["reduction_solve"] - target)
            if name in verify:
                row["measured_rule"] = pruned_reduction(built, p_rule)
                row["measured_solve"] = pruned_reduction(built, p_solve)
            rows.append(row)
    return rows


def out_widths(model: nn.Module) -> dict[str, int]:
    """Output width of every conv and linear layer, by name."""
    return {n: (m.out_channels if isinstance(m, nn.modules.conv._ConvNd) else m.out_features)
            for n, m in model.named_modules() if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear))}


def removed_fractions(before: dict[str, int], model: nn.Module) -> dict[str, float]:
    """Per layer, the fraction of its output channels that pruning removed (``before`` from
    ``out_widths`` of the unpruned model)."""
    after = out_widths(model)
    return {n: 1 - after[n] / w for n, w in before.items() if n in after}


def prune_until(built: Built, target: float, by: str = "macs", steps: int = 100) -> dict:
    """Torch-Pruning's usual loop to a budget, on a copy: ``BasePruner`` with ``pruning_ratio=1``
    over ``steps`` iterative steps (each removes ``1/steps`` of every group's initial channels),
    counting after each ``step()`` until the reduction of ``by`` ("macs" or "params") reaches
    ``target``. Returns the ratio reached (``p``), the ``steps`` taken, the reduction ``reached``,
    the pruned ``model`` and the wall time in ``seconds``."""
    check_by(by)
    target = theory.check_channel_ratio(target, name="target reduction")
    measure = n_macs if by == "macs" else (lambda m, _: n_params(m))
    model, inputs, ignored = built
    start = time.perf_counter()
    clone, clone_ignored = copy_with_layers(model, ignored)
    before = measure(clone, inputs)
    p, now, taken = 0.0, before, 0
    stepping = prune_steps(clone, inputs, 1.0, steps, clone_ignored)
    while taken < steps and now > (1.0 - target) * before:
        p = next(stepping)
        taken += 1
        now = measure(clone, inputs)
    return {"p": p, "steps": taken, "reached": 1.0 - now / before, "model": clone,
            "seconds": time.perf_counter() - start}
