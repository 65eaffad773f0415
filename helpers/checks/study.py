"""Exercises of the accuracy-study notebooks, 11 and 12 (see helpers.checks)."""
from __future__ import annotations

import math

from . import Wrong, as_number, call, exercise, expect_function

NB11 = "11_what_pruning_buys"
NB12 = "12_criteria_and_sensitivity"


# ---- 11: the interval of a paired difference ----------------------------------------------------
PAIRED = ("Write paired_interval(a, b): the mean of the per-seed differences a[i] - b[i] and its 95% interval "
          "from Student's t with n - 1 degrees of freedom, as (mean, low, high).")

# two arms on five seeds: the seeds differ a lot, the arms little and consistently
_A = [0.80, 0.91, 0.72, 0.86, 0.95]
_B = [0.78, 0.88, 0.71, 0.84, 0.93]


def _expected_paired(a, b):
    from .. import training

    return training.mean_ci([x - y for x, y in zip(a, b)], 0.95)


def _check_paired(fn) -> None:
    for a, b in [(_A, _B), (_A[:3], _B[:3]), ([0.5, 0.6, 0.7, 0.8], [0.6, 0.6, 0.6, 0.6])]:
        got = call(fn, "paired_interval(a, b)", list(a), list(b), label=f"paired_interval({a}, {b})")
        try:
            mean, low, high = (as_number(v, "each of mean, low, high") for v in got)
        except (TypeError, ValueError):
            raise Wrong(f"paired_interval should return three numbers (mean, low, high), got {got!r}") from None
        m, lo, hi = _expected_paired(a, b)
        if abs(mean - m) > 1e-9:
            raise Wrong(f"the mean difference for {a} and {b} is {m:.4f}, not {mean:.4f}")
        if abs(low - lo) > 1e-6 or abs(high - hi) > 1e-6:
            raise Wrong(f"for a = {a}, b = {b} the interval is ({lo:.4f}, {hi:.4f}), not ({low:.4f}, {high:.4f}): "
                        "take the interval of the per-seed differences (paired), with Student's t for "
                        f"n - 1 = {len(a) - 1} degrees of freedom, not the normal 1.96 nor the two arms' own spreads")


def _unpaired(a, b):
    """The typical mistake: the two arms treated as independent samples (Welch's interval)."""
    from scipy import stats

    n = len(a)
    ma, mb = sum(a) / n, sum(b) / n
    va = sum((x - ma) ** 2 for x in a) / (n - 1)
    vb = sum((x - mb) ** 2 for x in b) / (n - 1)
    se = math.sqrt(va / n + vb / n)
    dof = (va / n + vb / n) ** 2 / ((va / n) ** 2 / (n - 1) + (vb / n) ** 2 / (n - 1))
    half = stats.t.ppf(0.975, dof) * se
    return ma - mb, ma - mb - half, ma - mb + half


@exercise("11-paired-interval", NB11, PAIRED, _check_paired, wrong_example=lambda: _unpaired)
def _solution_paired():
    import math

    from scipy import stats

    def paired_interval(a, b):
        d = [x - y for x, y in zip(a, b)]
        n = len(d)
        mean = sum(d) / n
        s = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))  # sample standard deviation
        half = stats.t.ppf(0.975, n - 1) * s / math.sqrt(n)
        return mean, mean - half, mean + half
    return paired_interval


# ---- 11: an equal budget for the from-scratch arm -----------------------------------------------
SCRATCH_STEPS = ("Write scratch_steps(train_epochs, n_train, batch_size, finetune_steps): the optimiser steps a "
                 "from-scratch arm takes to match training for train_epochs epochs on n_train images (the last "
                 "batch may be smaller, none dropped), then fine-tuning for finetune_steps steps.")


def _check_scratch_steps(fn) -> None:
    cases = [((30, 200, 64, 20), 140), ((25, 300, 64, 25), 150), ((10, 128, 64, 5), 25), ((1, 1, 64, 0), 1),
             ((75, 200, 64, 50), 350)]
    expect_function(fn, cases, "scratch_steps")


@exercise("11-scratch-steps", NB11, SCRATCH_STEPS, _check_scratch_steps,
          # the typical mistake: the last, smaller batch of each epoch forgotten
          wrong_example=lambda: (lambda e, n, b, f: e * (n // b) + f))
def _solution_scratch_steps():
    import math

    def scratch_steps(train_epochs, n_train, batch_size, finetune_steps):
        return train_epochs * math.ceil(n_train / batch_size) + finetune_steps
    return scratch_steps


# ---- 12: prune one layer only -------------------------------------------------------------------
ONE_LAYER = ("Write prune_one_layer(model, example_inputs, layer, ratio): prune, in place, a fraction ratio of the "
             "output channels of `layer` only (every other layer keeps its width, the classifier its 10 outputs) "
             "with Torch-Pruning's BasePruner, and return the model.")


def _widths(model):
    import torch

    return [m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d)]


def _check_one_layer(fn) -> None:
    import torch

    from .. import training

    x = torch.zeros(1, 1, 16, 16)
    for index, ratio in [(1, 0.5), (2, 0.25), (3, 0.75)]:
        model = training.new_model(0, device="cpu", width=12)
        layer = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)][index]
        before = _widths(model)
        pruned = call(fn, "prune_one_layer", model, x, layer, ratio,
                      label=f"prune_one_layer(model, x, conv {index}, {ratio})")
        if not isinstance(pruned, torch.nn.Module):
            raise Wrong(f"prune_one_layer should return the pruned model, got {type(pruned).__name__}")
        expected = [w if i != index else int(w * (1 - ratio)) for i, w in enumerate(before)]
        got = _widths(pruned)
        if got != expected:
            raise Wrong(f"pruning conv {index} at {ratio}: widths {got}, expected {expected} (only that layer "
                        "loses channels: give it its ratio in pruning_ratio_dict and every other layer pruning_ratio=0)")
        if pruned(x).shape[-1] != 10:
            raise Wrong("the classifier lost outputs: put it in ignored_layers")


def _every_layer(model, example_inputs, layer, ratio):
    """The typical mistake: the ratio given as pruning_ratio, so every layer loses channels."""
    import torch_pruning as tp

    tp.pruner.BasePruner(model, example_inputs, importance=tp.importance.GroupMagnitudeImportance(p=2),
                         pruning_ratio=ratio, ignored_layers=[model.classifier]).step()
    return model


@exercise("12-one-layer", NB12, ONE_LAYER, _check_one_layer, wrong_example=lambda: _every_layer)
def _solution_one_layer():
    import torch_pruning as tp

    def prune_one_layer(model, example_inputs, layer, ratio):
        pruner = tp.pruner.BasePruner(model, example_inputs, importance=tp.importance.GroupMagnitudeImportance(p=2),
                                      pruning_ratio=0.0, pruning_ratio_dict={layer: ratio},
                                      ignored_layers=[model.classifier])
        pruner.step()
        return model
    return prune_one_layer


# ---- 12: the greedy step of the non-uniform ratios ----------------------------------------------
NEXT_LAYER = ("Write next_layer(cost, removed): given, for each layer, the validation accuracy its next step of ratio "
              "costs (cost[name]) and the parameters that step removes (removed[name]), return the name of the layer "
              "whose step costs the least accuracy per parameter removed.")


def _check_next_layer(fn) -> None:
    cases = [
        # the cheapest step in accuracy removes few parameters: per parameter, the wide layer is cheaper
        (({"features.0": 0.010, "features.7": 0.012, "features.10": 0.05},
          {"features.0": 119, "features.7": 326, "features.10": 228}), "features.7"),
        (({"a": 0.02, "b": 0.01}, {"a": 400, "b": 100}), "a"),
        (({"a": 0.02, "b": 0.01}, {"a": 100, "b": 100}), "b"),
        (({"a": 0.0, "b": 0.03}, {"a": 10, "b": 1000}), "a"),
    ]
    expect_function(fn, cases, "next_layer")


def _cheapest_in_accuracy(cost, removed):
    """The typical mistake: the step that costs the least accuracy, whatever it removes."""
    return min(cost, key=cost.get)


@exercise("12-next-layer", NB12, NEXT_LAYER, _check_next_layer, wrong_example=lambda: _cheapest_in_accuracy)
def _solution_next_layer():
    def next_layer(cost, removed):
        return min(cost, key=lambda name: cost[name] / removed[name])
    return next_layer
