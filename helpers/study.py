"""The accuracy study of notebooks 11 and 12: what a reviewer asks of one, beyond the pipeline.

``helpers.training`` holds the data, the model and the one pipeline (prune, refresh batch norm,
fine-tune: ``training.prune_and_fine_tune``, which returns a ``training.Run``), with the summary over
seeds (``training.summarise``). This module holds what only the study needs:

* ``Study`` and ``study(mode)``: the task (a narrower DigitsCNN on fewer training images, so that the
  trained model sits below ceiling), the grids of learning rates and the budgets in optimiser steps,
  and the seeds, per mode; ``load_splits``: one train / validation / test split per seed
  (``split_seed = seed``), so that the intervals cover the draw of the images as well as the initial
  weights and the batch order;
* ``train_to_plateau``: the dense baseline trained until more steps stop helping on validation (the
  step count and the learning rate both chosen on validation); ``train_baselines``: the same models
  again from the chosen step count and rate;
* ``choose`` and ``tune``: a setting picked by its mean *validation* accuracy over seeds (the test
  images are read once, at the end), for every arm the same way;
* ``train_from_scratch`` (with ``reinitialised``) and ``compute_matched_steps``: the control, the
  pruned architecture initialised afresh and trained for as many optimiser steps (Scratch-E in Liu et
  al.'s terms) or for as many multiply-accumulates (Scratch-B) as the pruned arm;
* ``paired``, ``paired_p``, ``holm``, ``compare``, ``verdict`` and ``points``: the interval and the
  test of a difference between two arms measured on the same seeds, corrected for the number of
  comparisons made;
* ``sensitivity``, ``mean_drops`` and ``greedy_ratios``: a per-layer scan of validation accuracy
  against channel ratio, and a non-uniform ``pruning_ratio_dict`` built from it for a budget.

The pruning itself stays in the notebooks, written with Torch-Pruning's API: every function here that
prunes takes the notebook's ``prune(model, data)`` (it prunes ``model`` in place and returns it).
"""
from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from . import env, training
from .counting import n_params
from .training import LEVEL, Digits, Run

__all__ = ["Study", "study", "load_splits", "Trained", "train_to_plateau", "train_baselines", "choose", "tune",
           "reinitialised", "train_from_scratch", "compute_matched_steps", "paired", "paired_p", "holm", "compare",
           "verdict", "points", "sensitivity", "mean_drops", "greedy_ratios"]


# ---- the study's settings, per mode ---------------------------------------------------------------
@dataclass(frozen=True)
class Study:
    """The task and the budgets of the accuracy study (notebooks 11 and 12); budgets in optimiser steps.

    The baseline's training is not fixed here: ``train_to_plateau`` chooses its step count (from
    ``first_train_steps``, doubling up to ``max_train_steps``) and its learning rate
    (``train_lr_grid``) on validation."""

    width: int  # DigitsCNN's width (channels of the first stage)
    train_size: int  # training images kept (of 1,078 once validation and test are drawn)
    val_fraction: float  # of all 1,797 images; the test split is the usual 20%
    first_train_steps: int  # the baseline's step counts tried: this one, doubled while it helps
    max_train_steps: int
    finetune_steps: int  # the short fine-tune after pruning
    long_finetune_steps: int  # the longer fine-tune
    seeds: tuple[int, ...]
    lr_grid: tuple[float, ...]  # fine-tuning peak learning rates, one picked on validation per arm
    scan_ratios: tuple[float, ...]  # channel ratios of the per-layer sensitivity scan
    train_lr_grid: tuple[float, ...] = (3e-3, 1e-2)  # training from scratch (baseline and control arms)
    budgets: tuple[float, ...] = (0.5, 0.75)  # fractions of the parameters to remove
    batch_size: int = 64


# 200 training images are 4 steps of 64 a pass
_STUDIES = {
    "quick": Study(width=12, train_size=200, val_fraction=0.2, first_train_steps=60, max_train_steps=960,
                   finetune_steps=20, long_finetune_steps=80, seeds=(0, 1, 2, 3, 4), lr_grid=(3e-3, 1e-2, 3e-2),
                   scan_ratios=(0.25, 0.5, 0.75)),
    "full": Study(width=12, train_size=200, val_fraction=0.2, first_train_steps=60, max_train_steps=3840,
                  finetune_steps=50, long_finetune_steps=200, seeds=tuple(range(12)),
                  lr_grid=(1e-3, 3e-3, 1e-2, 3e-2), scan_ratios=tuple(round(0.1 * i, 1) for i in range(1, 10))),
}


def study(mode: str | None = None) -> Study:
    """The study run in ``mode`` (default: ``helpers.env.mode()``)."""
    return env.for_mode(_STUDIES, mode)


def load_splits(s: Study, device: torch.device | str | None = None) -> dict[int, Digits]:
    """For each seed, the digits split into train, validation and test with ``split_seed = seed``."""
    return {seed: training.load(device=device, val_fraction=s.val_fraction, train_size=s.train_size,
                                split_seed=seed) for seed in s.seeds}


# ---- choosing on validation ------------------------------------------------------------------------
def choose(options: Sequence, val_scores: Callable[[object], Sequence[float]], level: float = LEVEL
           ) -> tuple[object, list[dict]]:
    """The option with the highest mean validation score, and one row per option.

    ``val_scores(option)`` returns that option's validation accuracy on every seed; nothing else is
    read. The first of equal means wins (list the options in the order to prefer them). Each row
    holds ``option``, ``val_mean``, ``val_low``, ``val_high`` (the interval needs two seeds or more).
    """
    if not options:
        raise ValueError("nothing to choose from")
    rows = []
    for option in options:
        scores = [float(v) for v in val_scores(option)]
        mean, low, high = training.mean_ci(scores, level) if len(scores) > 1 else (scores[0], None, None)
        rows.append({"option": option, "val_mean": mean, "val_low": low, "val_high": high})
    best = max(range(len(rows)), key=lambda i: (rows[i]["val_mean"], -i))
    return rows[best]["option"], rows


def tune(grid: Sequence[float], runs_at: Callable[[float], Sequence[Run]], level: float = LEVEL
         ) -> tuple[float, list[Run], list[dict]]:
    """Run one arm at every learning rate of ``grid`` and keep the rate with the best mean validation
    accuracy (``choose``; ties to the smaller rate). ``runs_at(lr)`` returns the arm's runs at that rate,
    one per seed. Returns the rate, its runs (the arm's result: no run is repeated) and ``choose``'s rows.
    Only ``acc_val`` decides; the test accuracies of the other rates are never looked at."""
    done: dict[float, list[Run]] = {}

    def val_scores(lr):
        done[lr] = list(runs_at(lr))
        if any(r.acc_val is None for r in done[lr]):
            raise ValueError("tune reads validation accuracy: load the digits with val_fraction > 0")
        return [r.acc_val for r in done[lr]]

    best, rows = choose(sorted(grid), val_scores, level)
    return best, done[best], rows


# ---- the dense baseline, trained to its plateau ------------------------------------------------------
@dataclass
class Trained:
    """The dense baselines ``train_to_plateau`` chose: one model per seed, trained for ``steps`` at peak
    learning rate ``lr``; ``search`` holds one row per step count tried (its best rate on validation,
    that rate's validation accuracy, and the gain over the previous count with its verdict)."""

    models: dict[int, training.DigitsCNN]
    steps: int
    lr: float
    search: list[dict]


def train_to_plateau(datas: dict[int, Digits], s: Study, level: float = LEVEL) -> Trained:
    """The dense baseline, trained until more steps stop helping on validation.

    Step counts ``s.first_train_steps``, twice that, and so on: at each, every rate of
    ``s.train_lr_grid`` trains one DigitsCNN per seed and the best mean validation accuracy picks the
    rate. As soon as doubling the steps gains nothing beyond noise (the paired interval over seeds of
    the gain in validation accuracy does not lie above zero), the smaller step count is kept, with its
    rate and models. Raises ``ValueError`` if validation accuracy still rises at ``s.max_train_steps``."""
    steps, search, previous = s.first_train_steps, [], None
    while steps <= s.max_train_steps:
        models = {lr: {seed: training.train_baseline(d, steps, seed=seed, width=s.width, lr=lr,
                                                    batch_size=s.batch_size) for seed, d in datas.items()}
                  for lr in sorted(s.train_lr_grid)}
        val = {lr: [training.evaluate(m, datas[seed], "val") for seed, m in ms.items()] for lr, ms in models.items()}
        lr, _ = choose(sorted(s.train_lr_grid), val.__getitem__, level)
        mean, low, high = training.mean_ci(val[lr], level)
        row = {"steps": steps, "lr": lr, "val_mean": mean, "val_low": low, "val_high": high,
               "gain": None, "verdict": None}
        if previous is not None:
            row["gain"] = training.mean_ci([a - b for a, b in zip(val[lr], previous["val"])], level)
            row["verdict"] = verdict(*row["gain"][1:])
        search.append(row)
        if previous is not None and row["verdict"] != "higher":
            return Trained(previous["models"], previous["steps"], previous["lr"], search)
        previous = {"steps": steps, "lr": lr, "val": val[lr], "models": models[lr]}
        steps *= 2
    raise ValueError(f"validation accuracy still rose when the steps doubled to {search[-1]['steps']}: "
                     f"raise max_train_steps (now {s.max_train_steps})")


def train_baselines(datas: dict[int, Digits], s: Study, steps: int, lr: float) -> dict[int, training.DigitsCNN]:
    """One DigitsCNN of width ``s.width`` per seed, trained for ``steps`` at peak rate ``lr`` on that
    seed's split: ``train_to_plateau``'s models again, from its choice (the same seeds give the same
    weights on a CPU)."""
    return {seed: training.train_baseline(d, steps, seed=seed, width=s.width, lr=lr, batch_size=s.batch_size)
            for seed, d in datas.items()}


# ---- the from-scratch control -------------------------------------------------------------------
def reinitialised(model: nn.Module, seed: int = 0) -> nn.Module:
    """A copy of ``model`` (e.g. a pruned one) with the same layers and widths, every parameter drawn
    afresh by its layer's own initialisation and every batch-norm statistic reset: the architecture
    without what training taught it. The weights depend on ``seed`` only."""
    fresh = copy.deepcopy(model)
    torch.manual_seed(seed)
    for m in fresh.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()  # batch norm: also resets its running statistics
    return fresh


def train_from_scratch(architecture: nn.Module, data: Digits, steps: int, *, seed: int, params_before: int,
                       arm: str = "scratch", budget: float | None = None, lr: float = 3e-3,
                       batch_size: int = 64) -> Run:
    """``architecture`` initialised afresh (``reinitialised``) and trained for exactly ``steps`` optimiser
    steps with the baseline's recipe (``training.fit``), as a ``training.Run`` with no pruned accuracies.
    ``params_before`` is the unpruned model's count, for the reduction."""
    model = reinitialised(architecture, seed)
    training.fit(model, data, steps, lr=lr, seed=seed, batch_size=batch_size, desc=f"from scratch (seed {seed})")
    acc_val = training.evaluate(model, data, "val") if data.has_val else None
    return Run(arm, budget, None, seed, n_params(model), 1 - n_params(model) / params_before, 0, steps,
               None, None, None, acc_val, training.evaluate(model, data), model, lr)


def compute_matched_steps(pretrain_steps: int, macs_dense: int, finetune_steps: int, macs_pruned: int) -> int:
    """Optimiser steps of the pruned architecture that cost as many multiply-accumulates as the pruned
    arm did in all: ``pretrain_steps`` on the dense model and ``finetune_steps`` on the pruned one, at
    ``macs_dense`` and ``macs_pruned`` per image (forward and backward scale alike), rounded up:
    ``ceil((pretrain_steps * macs_dense + finetune_steps * macs_pruned) / macs_pruned)``. Liu et al.'s
    Scratch-B, with the fine-tune counted."""
    if min(pretrain_steps, finetune_steps) < 0 or min(macs_dense, macs_pruned) <= 0:
        raise ValueError("steps must be >= 0 and MACs > 0, got "
                         f"{pretrain_steps}, {macs_dense}, {finetune_steps}, {macs_pruned}")
    return math.ceil((pretrain_steps * macs_dense + finetune_steps * macs_pruned) / macs_pruned)


# ---- intervals and tests over seeds -----------------------------------------------------------------
def _by_seed(rows: Sequence[dict], key: str, where: dict) -> dict[int, float]:
    found = {}
    for r in rows:
        if all(r.get(k) == v for k, v in where.items()):
            if r["seed"] in found:
                raise ValueError(f"two rows for seed {r['seed']} where {where}")
            found[r["seed"]] = r[key]
    return found


def _pairs(rows: Sequence[dict], key: str, a: dict, b: dict) -> tuple[list[float], list[float]]:
    xa, xb = _by_seed(rows, key, a), _by_seed(rows, key, b)
    if not xa or set(xa) != set(xb):
        raise ValueError(f"the arms {a} and {b} must cover the same seeds, got {sorted(xa)} and {sorted(xb)}")
    return [xa[s] for s in sorted(xa)], [xb[s] for s in sorted(xa)]


def paired(rows: Sequence[dict], key: str, a: dict, b: dict, level: float = LEVEL) -> tuple[float, float, float]:
    """The mean over seeds of ``key`` in the rows matching ``a`` minus the same seed's row matching ``b``,
    and its interval: ``(mean, low, high)`` of the per-seed differences.

    Pairing by seed removes what two arms share (the split, the trained starting point), so a difference
    can be clear even where the two arms' own intervals overlap. Both arms must cover the same seeds."""
    xa, xb = _pairs(rows, key, a, b)
    return training.mean_ci([x - y for x, y in zip(xa, xb)], level)


def paired_p(rows: Sequence[dict], key: str, a: dict, b: dict) -> float:
    """The two-sided p-value of the paired t-test of ``paired``'s differences (``scipy.stats.ttest_rel``):
    how often differences this far from zero would come from noise alone. Identical arms give 1."""
    from scipy import stats

    xa, xb = _pairs(rows, key, a, b)
    if np.allclose(xa, xb, rtol=0, atol=0):
        return 1.0
    return float(stats.ttest_rel(xa, xb).pvalue)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of a family of p-values, in their order: the i-th smallest is
    multiplied by ``m - i`` (i from 0), each kept at least as large as the one before and at most 1.
    Comparing an adjusted p-value with 0.05 keeps the chance of any false "difference" in the whole
    family at or below 5%, where testing each at 0.05 would not."""
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1 or ((p < 0) | (p > 1) | np.isnan(p)).any():
        raise ValueError(f"p-values must be a list of numbers in [0, 1], got {list(pvalues)!r}")
    m, out, running = len(p), np.empty(len(p)), 0.0
    for i, j in enumerate(np.argsort(p, kind="stable")):
        running = max(running, min(1.0, (m - i) * p[j]))
        out[j] = running
    return out.tolist()


def compare(rows: Sequence[dict], key: str, pairs: Sequence[tuple], level: float = LEVEL) -> list[dict]:
    """Every pair ``(a, b)`` of arms compared on ``key`` as one family (a pair ``(a, b, other_key)``
    compares that key instead, e.g. accuracy before and after a fine-tune in one family): per pair
    ``a``, ``b``, ``key``, ``mean``, ``low``, ``high`` (``paired``), ``p`` (``paired_p``), ``p_holm``
    (``holm`` over the family) and ``verdict``: 'higher' or 'lower' where the Holm-adjusted p-value is
    below ``1 - level``, else 'within noise'."""
    out = []
    for pair in pairs:
        a, b, k = (*pair, key) if len(pair) == 2 else pair
        mean, low, high = paired(rows, k, a, b, level)
        out.append({"a": a, "b": b, "key": k, "mean": mean, "low": low, "high": high, "p": paired_p(rows, k, a, b)})
    for d, adjusted in zip(out, holm([d["p"] for d in out])):
        d["p_holm"] = adjusted
        d["verdict"] = ("higher" if d["mean"] > 0 else "lower") if adjusted < 1 - level else "within noise"
    return out


def verdict(low: float, high: float) -> str:
    """'higher' if an interval of a difference lies above zero, 'lower' if below, else 'within noise'."""
    if low > high:
        raise ValueError(f"low > high: {low} > {high}")
    return "higher" if low > 0 else "lower" if high < 0 else "within noise"


def points(mean: float, low: float, high: float) -> str:
    """A difference of accuracies with its interval, in percentage points: '+1.2 points (-0.3 to +2.7)'."""
    return f"{100 * mean:+.1f} points ({100 * low:+.1f} to {100 * high:+.1f})"


# ---- sensitivity and non-uniform ratios -----------------------------------------------------------
def sensitivity(models: dict[int, nn.Module], datas: dict[int, Digits], layers: Sequence[str], ratios: Sequence[float],
                prune_layer: Callable[[nn.Module, Digits, str, float], nn.Module]) -> list[dict]:
    """Validation accuracy of each seed's model with one layer pruned at a time.

    For every seed, layer name and ratio, ``prune_layer(copy, data, name, ratio)`` prunes a copy (only
    that layer's channels); its batch-norm statistics are refreshed over the training images and its
    validation accuracy measured, with no fine-tuning. One row per (seed, layer, ratio) with
    ``acc_val`` and ``drop``, the seed's unpruned validation accuracy minus it. The test images are
    never read."""
    rows = []
    jobs = [(seed, name, float(r)) for seed in models for name in layers for r in ratios]
    base = {seed: training.evaluate(m, datas[seed], "val") for seed, m in models.items()}
    for seed, name, ratio in tqdm(jobs, desc="sensitivity scan", disable=env.progress_disabled()):
        pruned = training._seeded_prune(lambda m, d, name=name, ratio=ratio: prune_layer(m, d, name, ratio),
                                        models[seed], datas[seed], seed)
        training.recalibrate_bn(pruned, datas[seed])
        acc = training.evaluate(pruned, datas[seed], "val")
        rows.append({"seed": seed, "layer": name, "ratio": ratio, "acc_val": acc, "drop": base[seed] - acc})
    return rows


def mean_drops(rows: Sequence[dict]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each layer's scan averaged over seeds: ``{layer: (ratios, mean drops)}``, starting at (0, 0)."""
    out = {}
    for name in dict.fromkeys(r["layer"] for r in rows):
        ratios = sorted({r["ratio"] for r in rows if r["layer"] == name})
        drops = [float(np.mean([r["drop"] for r in rows if r["layer"] == name and r["ratio"] == x])) for x in ratios]
        out[name] = (np.array([0.0, *ratios]), np.array([0.0, *drops]))
    return out


def greedy_ratios(drops: dict[str, tuple[np.ndarray, np.ndarray]], params_of: Callable[[dict[str, float]], int],
                  max_params: int, step: float = 0.05, max_ratio: float = 0.9) -> dict[str, float]:
    """Per-layer channel ratios that keep at most ``max_params`` parameters, paying as little of the
    scanned accuracy as it can for each parameter removed.

    Start with every layer at 0. Each round, every layer is offered one more ``step`` of ratio (up to
    ``max_ratio``; more steps where one alone removes no whole channel); its price is the rise in its scanned drop (``drops[layer]``, interpolated linearly,
    a fall counted as 0) per parameter that step removes (``params_of(ratios)``, the exact count of
    the model pruned with those ratios). The cheapest step is taken, ties to the step that removes
    more, until the count is at most ``max_params``. Then, as long as one step back on some layer
    keeps the count within ``max_params`` (the last step may have overshot), the step back that
    regains the most scanned accuracy is taken, so that the ratios land as close to the budget as the
    steps allow. Layers interact, so the scan's drops only rank
    the steps: the result must be measured. Raises ``ValueError`` if no ratio up to ``max_ratio``
    meets the budget."""
    if not 0 < step <= max_ratio < 1:
        raise ValueError(f"need 0 < step <= max_ratio < 1, got step={step!r}, max_ratio={max_ratio!r}")
    ratios = {name: 0.0 for name in drops}
    count = params_of(ratios)
    while count > max_params:
        best = None
        for name, (xs, ys) in drops.items():
            r, removed = ratios[name], 0
            while removed <= 0:  # whole channels: a step may remove nothing, then take the next one too
                r = round(r + step, 10)
                if r > max_ratio + 1e-9:
                    break
                removed = count - params_of({**ratios, name: r})
            if removed <= 0:
                continue
            cost = max(0.0, float(np.interp(r, xs, ys) - np.interp(ratios[name], xs, ys)))
            key = (cost / removed, -removed)
            if best is None or key < best[0]:
                best = (key, name, r, count - removed)
        if best is None:
            raise ValueError(f"no ratios up to {max_ratio} keep at most {max_params} parameters (best: {count})")
        _, name, r, count = best
        ratios[name] = r
    # the last step may overshoot the budget: give back the steps that it can spare, dearest first
    while True:
        best = None
        for name, (xs, ys) in drops.items():
            r = round(ratios[name] - step, 10)
            if r < -1e-9:
                continue
            r = max(r, 0.0)
            kept = params_of({**ratios, name: r})
            if kept <= max_params and kept > count:
                saved = float(np.interp(ratios[name], xs, ys) - np.interp(r, xs, ys))
                if best is None or (saved, kept) > best[0]:
                    best = ((saved, kept), name, r, kept)
        if best is None:
            return ratios
        _, name, r, count = best
        ratios[name] = r
