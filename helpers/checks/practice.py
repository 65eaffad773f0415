"""Exercises of the course's practice notebooks (see helpers.checks)."""
from functools import lru_cache

from . import Wrong, call, exercise, expect_close, expect_equal, expect_function  # noqa: F401

NB06, NB07, NB08, NB09 = ("06_pruning_real_cnns", "07_reproducing_the_readme", "08_hitting_a_parameter_budget",
                          "09_macs_and_latency")


# ---- 06 · pruning real CNNs ---------------------------------------------------------------------
def _check_kept_channels(fn):
    # (channels, p, round_to) -> channels Torch-Pruning keeps in one local step
    expect_function(fn, [((64, 0.5, None), 32), ((64, 0.3, None), 44), ((64, 0.3, 8), 40), ((64, 0.3, 16), 32),
                         ((24, 0.5, 8), 8), ((96, 0.25, None), 72), ((160, 0.6, None), 64),
                         ((160, 0.6, 32), 64), ((1000, 0.4, 2), 600)], "06-kept-channels")


@exercise("06-kept-channels", NB06,
          "Write kept_channels(channels, p, round_to) returning how many channels Torch-Pruning's local "
          "pruner keeps: int(channels * (1 - p)), rounded down to a multiple of round_to when it is given.",
          _check_kept_channels,
          wrong_example=lambda: (lambda c, p, round_to=None: round(c * (1 - p))))
def kept_channels_solution():
    def kept_channels(channels, p, round_to=None):
        kept = int(channels * (1 - p))
        if round_to:
            kept -= kept % round_to
        return kept
    return kept_channels


STEM_GROUP_PARAMS = 3737  # ResNet-18: sum of params_per_channel over the group of conv1's outputs


def _check_stem_group(answer):
    try:
        value = int(answer)
    except (TypeError, ValueError):
        raise Wrong(f"give a whole number of parameters, got {answer!r}") from None
    if value == 147:
        raise Wrong("147 is conv1 alone (3 x 7 x 7): the group also shrinks bn1, every residual block of "
                    "layer1 and the inputs of layer2")
    expect_equal(value, STEM_GROUP_PARAMS, "parameters removed by one stem channel")


@exercise("06-resnet18-stem-group", NB06,
          "How many parameters does ResNet-18 lose when one output channel of its stem conv (conv1) is "
          "removed, with everything Torch-Pruning couples to it? Use helpers.sweep.group_layers.",
          _check_stem_group, wrong_example=lambda: 147)
def resnet18_stem_group_solution():
    from .. import sweep, zoo

    model, inputs, _ = zoo.build("resnet18")
    return sum(r["params_per_channel"] for r in sweep.group_layers(model, inputs, model.conv1))


PRUNER_CONFIG = {"pruning_ratio": 0.4, "round_to": 16}  # with the classifier ignored; not a setting the notebook prints


@lru_cache(maxsize=1)
def _reference_pruned_params() -> int:
    from .. import pruning, zoo

    model, inputs, ignored = zoo.build("resnet18")
    return pruning.prune_copy(model, inputs, PRUNER_CONFIG["pruning_ratio"], ignored,
                              round_to=PRUNER_CONFIG["round_to"], count_macs=False).params_after


def _check_pruner(fn):
    import torch

    from .. import counting, zoo

    model, inputs, _ = zoo.build("resnet18")
    pruner = call(fn, "build_pruner", model, inputs, label="build_pruner(model, example_inputs)")
    if not hasattr(pruner, "step"):
        raise Wrong(f"return the pruner (a tp.pruner.BasePruner), got {type(pruner).__name__}")
    call(pruner.step, "pruner.step")
    with torch.no_grad():
        classes = model(inputs).shape[-1]
    if classes != 1000:
        raise Wrong(f"the pruned model outputs {classes} classes, not 1000: leave the classifier alone "
                    "(ignored_layers=[model.fc])")
    expect_equal(counting.n_params(model), _reference_pruned_params(),
                 "parameters after pruner.step() (p=0.4, round_to=16, classifier ignored)")


def _pruner_without_round_to(model, example_inputs):  # the typical mistake: round_to forgotten
    import torch_pruning as tp

    return tp.pruner.BasePruner(model, example_inputs, importance=tp.importance.GroupMagnitudeImportance(p=2),
                                pruning_ratio=PRUNER_CONFIG["pruning_ratio"], ignored_layers=[model.fc])


@exercise("06-resnet18-pruner", NB06,
          "Write build_pruner(model, example_inputs) returning Torch-Pruning's BasePruner for ResNet-18 with "
          "group L2 magnitude importance, channel ratio 0.4, the classifier model.fc ignored and round_to=16. "
          "The check calls pruner.step() and compares the parameter count and the number of classes.",
          _check_pruner, wrong_example=lambda: _pruner_without_round_to)
def resnet18_pruner_solution():
    import torch_pruning as tp

    def build_pruner(model, example_inputs):
        return tp.pruner.BasePruner(model, example_inputs,
                                    importance=tp.importance.GroupMagnitudeImportance(p=2),
                                    pruning_ratio=0.4, ignored_layers=[model.fc], round_to=16)
    return build_pruner


# ---- 07 · reproducing the README -----------------------------------------------------------------
def _check_fc_params(fn):
    expect_function(fn, [((2048, 1000, 0.5, False), 1_025_000), ((2048, 1000, 0.5, True), 512_500),
                         ((2048, 1000, 0.0, True), 2_049_000), ((512, 10, 0.25, False), 3_850),
                         ((512, 10, 0.25, True), 2_695)], "07-fc-params")


@exercise("07-fc-params", NB07,
          "Write fc_params(in_features, classes, p, prune_classes) returning the parameters (weight and "
          "bias) of a final Linear layer after channel ratio p: its inputs keep int(in_features*(1-p)); "
          "its outputs keep int(classes*(1-p)) only when prune_classes is True.",
          _check_fc_params,
          wrong_example=lambda: (lambda i, c, p, prune_classes: int(i * (1 - p)) * c))  # forgets the bias
def fc_params_solution():
    def fc_params(in_features, classes, p, prune_classes):
        inputs = int(in_features * (1 - p))
        outputs = int(classes * (1 - p)) if prune_classes else classes
        return inputs * outputs + outputs
    return fc_params


# ---- 08 · hitting a parameter budget -------------------------------------------------------------
def _check_smooth_inverse(fn):
    # params(k) = A k^2 + B k + C, k = 1-p; target r: find p with params = (1-r)(A+B+C)
    expect_function(fn, [((1.0, 0.0, 0.0, 0.75), 0.5), ((0.0, 1.0, 0.0, 0.5), 0.5), ((3.0, 1.0, 0.0, 0.5), 1 / 3),
                         ((8.0, 2.0, 0.0, 0.5), 0.3246094703), ((6.0, 2.0, 2.0, 0.5), 0.4401835094)],
                    "08-p-for-budget", tol=1e-6)


@exercise("08-p-for-budget", NB08,
          "Write p_for_budget(A, B, C, target) returning the channel ratio p at which the smooth "
          "polynomial A k^2 + B k + C (k = 1-p) keeps (1 - target) of A + B + C parameters.",
          _check_smooth_inverse,
          wrong_example=lambda: (lambda a, b, c, target: 1 - (1 - target) ** 0.5))  # the rule ignores B and C
def p_for_budget_solution():
    import math

    def p_for_budget(a, b, c, target):
        rhs = (1 - target) * (a + b + c) - c  # A k^2 + B k must equal this
        if a == 0:
            return 1 - rhs / b
        k = (-b + math.sqrt(b * b + 4 * a * rhs)) / (2 * a)
        return 1 - k
    return p_for_budget


@lru_cache(maxsize=1)
def _resnet18_predictor():
    from .. import zoo
    from ..predict import ParameterModel

    model, inputs, ignored = zoo.build("resnet18")
    return ParameterModel(model, inputs, ignored)


def _check_resnet18_budget(answer):
    from ..theory import check_channel_ratio

    try:
        p = check_channel_ratio(answer)
    except ValueError as err:
        raise Wrong(str(err)) from None
    achieved = _resnet18_predictor().reduction(p)
    if abs(achieved - 0.6) > 0.003:
        raise Wrong(f"p={p:.4f} removes {achieved:.2%} of ResNet-18's parameters, not 60% (within 0.3 points)")


@exercise("08-resnet18-budget", NB08,
          "Which channel ratio removes 60% of ResNet-18's parameters (classifier ignored, local pruning)? "
          "Within 0.3 percentage points.",
          _check_resnet18_budget, wrong_example=lambda: 1 - 0.4 ** 0.5)  # the rule's answer misses by ~0.8 points
def resnet18_budget_solution():
    return _resnet18_predictor().solve(0.6)


# ---- 09 · MACs and latency -----------------------------------------------------------------------
def _check_fixed_fraction(fn):
    expect_function(fn, [((4.0, 4.0), 0.0), ((1.0, 4.0), 1.0), ((2.0, 4.0), 1 / 3), ((1.92, 3.86), 0.35329),
                         ((1.17, 3.86), 0.80390)], "09-fixed-fraction", tol=2e-4)


@exercise("09-fixed-fraction", NB09,
          "A pruned model runs S times faster with M times fewer MACs. If a fraction f of the dense model's "
          "time did not shrink at all and the rest shrank with the MACs, S = 1 / (f + (1 - f) / M). Write "
          "fixed_fraction(S, M) returning f.",
          _check_fixed_fraction,
          wrong_example=lambda: (lambda s, m: 1 - s / m))
def fixed_fraction_solution():
    def fixed_fraction(speedup, mac_ratio):
        return (1 / speedup - 1 / mac_ratio) / (1 - 1 / mac_ratio)
    return fixed_fraction
