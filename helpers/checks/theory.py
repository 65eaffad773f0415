"""Exercises of the course's theory notebooks (00-05), registered with ``helpers.checks``.

Each reference solution below is what ``helpers.checks.reveal(name)`` prints. Checks that prune run
on 32 x 32 images: a parameter count does not depend on the image size, and tracing is faster.
"""
from __future__ import annotations

import math
from functools import cache

from torch import nn

from ..counting import n_params
from . import Wrong, as_number, call, exercise, expect_close, expect_function

# MobileNetV2 (torchvision, 1000 classes) before and after local pruning at p=0.5 with its classifier
# ignored, as Torch-Pruning 1.6.1 counts them; tests/test_counting.py prunes it to check them.
MOBILENET_V2_PARAMS = (3_504_872, 1_221_768)


def _as_fraction(answer, what: str) -> float:
    """Accept 0.75 or 75 (a percentage) for a fraction in [0, 1]."""
    value = as_number(answer, what)
    if 1.0 < value <= 100.0:
        value /= 100.0
    if not 0.0 <= value <= 1.0:
        raise Wrong(f"{what} is a fraction between 0 and 1 (or a percentage), got {answer!r}")
    return value


def _fresh(name: str):
    """A zoo model with random weights, a 32 x 32 image, and the layer(s) to leave alone."""
    import torch

    from .. import zoo

    model, _, ignored = zoo.build(name)
    return model, torch.randn(1, 3, 32, 32), ignored


# ---- 00 · Start here ----------------------------------------------------------------------------
# ResNet-18 before and after Torch-Pruning's README quick start (p=0.5, classifier ignored)
README_QUICKSTART_PARAMS = (11_689_512, 3_055_880)


def _check_rule_at_half(answer):
    value = _as_fraction(answer, "your answer")
    if abs(value - 0.5) < 1e-6:
        raise Wrong("0.5 is the naive reading 'p removes p'; apply 1-(1-p)^2 with p = 0.5")
    before, after = README_QUICKSTART_PARAMS
    if abs(value - (1 - after / before)) < 0.0005:
        raise Wrong("that is what the quick start measured on ResNet-18; the question asks what the "
                    "rule 1-(1-p)^2 predicts at p = 0.5")
    expect_close(value, 1 - (1 - 0.5) ** 2, 0.005, "your answer")


@exercise("00-rule-at-half", "00_start_here",
          "Under the rule 1-(1-p)^2, what fraction of the parameters does p = 0.5 remove (the "
          "channel ratio of the quick start)?",
          _check_rule_at_half, wrong_example=lambda: 0.5)
def _rule_at_half():
    p = 0.5
    return 1 - (1 - p) ** 2


# ---- 01 · Counting parameters -------------------------------------------------------------------
# (c_in, c_out, kernel, groups, bias): plain, 1x1, stem, grouped, depthwise, depthwise multiplier
_CONV_CASES = [(64, 64, 3, 1, False), (256, 64, 1, 1, True), (3, 64, 7, 1, False),
               (128, 128, 3, 32, False), (96, 96, 3, 96, True), (32, 64, 5, 32, True)]


def _check_conv2d_params(fn):
    if not callable(fn):
        raise Wrong(f"pass your function itself (no parentheses), got {type(fn).__name__}")
    cases = [(args, n_params(nn.Conv2d(args[0], args[1], args[2], groups=args[3], bias=args[4])))
             for args in _CONV_CASES]
    plain = [c for c in cases if c[0][3] == 1]
    for args, expected in plain:  # ungrouped first: the simpler mistakes
        got = call(fn, "conv2d_params", *args, label=f"conv2d_params{args}")
        c_in, c_out, k, _, bias = args
        if bias and got == expected - c_out:
            raise Wrong(f"conv2d_params{args}: with bias=True add one bias per output channel")
        if not bias and got == expected + c_out:
            raise Wrong(f"conv2d_params{args}: bias=False means no bias to add")
        if k > 1 and got == c_out * c_in + (c_out if bias else 0):
            raise Wrong(f"conv2d_params{args}: each (output, input) pair of channels has a K x K kernel")
    expect_function(fn, plain, "conv2d_params")
    try:
        expect_function(fn, cases, "conv2d_params")
    except Wrong as why:
        raise Wrong(f"{why}. Ungrouped convs are right; with groups=g each output channel sees only "
                    "C_in/g input channels") from None


@exercise("01-conv2d-params", "01_counting_parameters",
          "Write conv2d_params(c_in, c_out, k, groups, bias) returning nn.Conv2d's parameter count.",
          _check_conv2d_params,
          wrong_example=lambda: (lambda c_in, c_out, k, groups=1, bias=True:
                                 c_out * c_in * k * k + (c_out if bias else 0)))
def _conv2d_params():
    def conv2d_params(c_in, c_out, k, groups=1, bias=True):
        return c_out * (c_in // groups) * k * k + (c_out if bias else 0)
    return conv2d_params


def _count_cases():
    """Three models to count: ResNet-18, MobileNetV3-Small, and a small CNN of three layers."""
    import torch

    small = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                          nn.Linear(8 * 16 * 16, 10)).eval()
    return [_fresh("resnet18")[:2], _fresh("mobilenet_v3_small")[:2], (small, torch.randn(1, 3, 16, 16))]


def _check_count(fn):
    import torch
    import torch_pruning as tp

    if not callable(fn):
        raise Wrong(f"pass your function itself (no parentheses), got {type(fn).__name__}")
    for model, inputs in _count_cases():
        label = f"count({type(model).__name__}, example_inputs)"
        got = call(fn, "count", model, inputs, label=label)
        with torch.no_grad():
            macs, params = tp.utils.count_ops_and_params(model, inputs)
        expected = (int(params), int(macs))
        buffers = sum(b.numel() for b in model.buffers())
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise Wrong(f"{label} returned {got!r}: return two numbers, (params, macs)")
        try:
            got = (int(got[0]), int(got[1]))
        except (TypeError, ValueError):
            raise Wrong(f"{label} returned {got!r}: return two numbers, (params, macs)") from None
        if got == expected[::-1]:
            raise Wrong("tp.utils.count_ops_and_params returns (MACs, params), in that order; "
                        "count returns (params, macs)")
        if got[0] == expected[0] + buffers and buffers:
            raise Wrong(f"{label}: {got[0]:,} parameters counts the buffers too (BatchNorm's running "
                        "statistics, in the state_dict): count model.parameters() only")
        if got != expected:
            raise Wrong(f"{label} returned {got}, not Torch-Pruning's count (params, MACs) = {expected}")


@exercise("01-count", "01_counting_parameters",
          "Write count(model, example_inputs) returning (parameters, MACs) of the model, counted by "
          "Torch-Pruning's tp.utils.count_ops_and_params.",
          _check_count,
          wrong_example=lambda: _count_in_tp_order)
def _count():
    import torch_pruning as tp

    def count(model, example_inputs):
        macs, params = tp.utils.count_ops_and_params(model, example_inputs)  # MACs first
        return params, macs
    return count


def _count_in_tp_order(model, example_inputs):  # the typical mistake: Torch-Pruning's order kept
    import torch_pruning as tp

    return tp.utils.count_ops_and_params(model, example_inputs)


# ---- 02 · The quadratic law ---------------------------------------------------------------------
_BUDGETS = (0.25, 0.5, 0.6, 0.75, 0.9, 0.99)


def _check_p_for(fn):
    if not callable(fn):
        raise Wrong(f"pass your function itself (no parentheses), got {type(fn).__name__}")
    for r in _BUDGETS:
        got = as_number(call(fn, "p_for", r, label=f"p_for({r})"), f"p_for({r})")
        if abs(got - r) < 1e-9:
            raise Wrong(f"p_for({r}) returned {r}: p = r is the naive reading; under the law it removes "
                        f"{1 - (1 - r) ** 2:.1%}. Solve r = 1-(1-p)^2 for p")
        if abs(got - (1 - (1 - r) ** 2)) < 1e-9:
            raise Wrong(f"p_for({r}) applied the law to r (what p = {r} removes); invert it instead: "
                        "solve r = 1-(1-p)^2 for p")
        if not 0.0 <= got < 1.0:
            raise Wrong(f"p_for({r}) returned {got!r}: a channel ratio lies in [0, 1)")
        removed = 1 - (1 - got) ** 2
        if abs(removed - r) > 1e-6:
            raise Wrong(f"p_for({r}) returned p = {got:.4f}, which removes {removed:.2%} under the law, "
                        f"not {r:.0%}")


@exercise("02-p-for-reduction", "02_the_quadratic_law",
          "Write p_for(r) returning the channel ratio p that removes a fraction r of the parameters "
          "under the quadratic law.",
          _check_p_for, wrong_example=lambda: (lambda r: r))
def _p_for_reduction():
    import math

    def p_for(r):
        return 1 - math.sqrt(1 - r)  # r = 1 - (1-p)^2  <=>  1-p = sqrt(1-r)
    return p_for


# ---- 03 · Where the rule bends ------------------------------------------------------------------
_BUDGET_MODEL, _BUDGET_TARGET, _BUDGET_TOL = "mobilenet_v3_small", 0.4, 0.005


def _pruned_reduction(model, inputs, ignored, p) -> float:
    from ..pruning import prune_copy

    return prune_copy(model, inputs, p, ignored, count_macs=False).param_reduction


def _check_ratio_for_budget(fn):
    import torch

    model, inputs, ignored = _fresh(_BUDGET_MODEL)
    before = n_params(model)
    target = _BUDGET_TARGET
    got = call(fn, "ratio_for_budget", model, inputs, ignored, target,
               label=f"ratio_for_budget(mobilenet_v3_small, example_inputs, ignored_layers, {target})")
    with torch.no_grad():
        classes = model(inputs).shape[-1]
    if n_params(model) != before or classes != 1000:
        raise Wrong("your function pruned the model it was given: prune a copy at each step, "
                    "net, ignored = copy.deepcopy((model, ignored_layers))")
    p = as_number(got, "the channel ratio it returned")
    if not 0.0 <= p < 1.0:
        raise Wrong(f"it returned {got!r}: a channel ratio lies in [0, 1)")
    if abs(p - (1 - math.sqrt(1 - target))) < 1e-6:
        raise Wrong(f"p = {p:.4f} is the law's inverse, which MobileNetV3-Small does not follow: prune copies "
                    "at trial ratios and count, narrowing the interval around the target (bisection)")
    achieved = _pruned_reduction(model, inputs, ignored, p)
    if abs(achieved - target) <= _BUDGET_TOL:
        return
    if abs(_pruned_reduction(model, inputs, [], p) - target) <= _BUDGET_TOL:
        raise Wrong(f"p = {p:.4f} hits {target:.0%} only with the classifier pruned too: a deep copy of the "
                    "model alone keeps the original's layers in ignored_layers, which are not in the copy. "
                    "Copy both at once: net, ignored = copy.deepcopy((model, ignored_layers))")
    raise Wrong(f"p = {p:.4f} removes {achieved:.2%} of MobileNetV3-Small's parameters, not {target:.0%} "
                f"(within {100 * _BUDGET_TOL:.1f} points)")


@exercise("03-ratio-for-budget", "03_where_the_rule_bends",
          "Write ratio_for_budget(model, example_inputs, ignored_layers, target) returning a channel ratio "
          "p at which BasePruner removes target of the model's parameters (within half a point), found by "
          "bisection: prune a copy of the model at each trial p and count.",
          _check_ratio_for_budget, wrong_example=lambda: (lambda model, x, ignored, target: 1 - (1 - target) ** 0.5))
def _ratio_for_budget():
    import copy

    import torch_pruning as tp

    def ratio_for_budget(model, example_inputs, ignored_layers, target):
        def removed(p):  # prune a copy at p; the fraction of its parameters that went
            net, ignored = copy.deepcopy((model, ignored_layers))  # ignored: the copy's own layers
            before = sum(t.numel() for t in net.parameters())
            tp.pruner.BasePruner(net, example_inputs, importance=tp.importance.GroupMagnitudeImportance(p=2),
                                 pruning_ratio=p, ignored_layers=ignored).step()
            return 1 - sum(t.numel() for t in net.parameters()) / before

        low, high = 0.0, 0.95  # the reduction grows with p: keep the target between removed(low) and removed(high)
        for _ in range(20):
            p = (low + high) / 2
            r = removed(p)
            if abs(r - target) < 0.002:
                break
            low, high = (p, high) if r < target else (low, p)
        return p
    return ratio_for_budget


# ---- 04 · Groups and rounding -------------------------------------------------------------------
# (model, a layer to ignore besides its classifier): a residual group, a single layer, an inverted residual group
_PROTECT_CASES = [("resnet18", "layer2.0.conv2"), ("resnet18", "layer3.1.conv1"),
                  ("mobilenet_v2", "features.5.conv.2")]


@cache
def _protected_by_pruning(name: str, extra: str | None) -> frozenset:
    """Torch-Pruning's own answer: the convs whose output width BasePruner leaves whole."""
    from ..pruning import prune_copy

    model, inputs, ignored = _fresh(name)
    if extra:
        ignored = ignored + [model.get_submodule(extra)]
    pruned = prune_copy(model, inputs, 0.5, ignored, count_macs=False).model
    return frozenset(n for n, m in model.named_modules()
                     if isinstance(m, nn.Conv2d) and pruned.get_submodule(n).out_channels == m.out_channels)


def _check_protected(fn):
    if not callable(fn):
        raise Wrong(f"pass your function itself (no parentheses), got {type(fn).__name__}")
    for name, extra in _PROTECT_CASES:
        model, inputs, ignored = _fresh(name)
        if extra:
            ignored = ignored + [model.get_submodule(extra)]
        label = f"protected_convs({name}, example_inputs, [classifier{', ' + extra if extra else ''}])"
        got = call(fn, "protected_convs", model, inputs, ignored, label=label)
        try:
            got = set(got)
        except TypeError:
            raise Wrong(f"{label} returned {got!r}: return a set of layer names") from None
        expected = set(_protected_by_pruning(name, extra))
        if got == expected:
            continue
        missing, extra_names = sorted(expected - got), sorted(got - expected)
        if extra and got == {extra}:
            raise Wrong(f"{label} returned only {extra}: ignoring one layer protects its whole group, every "
                        "layer whose output channels must go with its own")
        if missing:
            raise Wrong(f"{label} misses {', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}, whose "
                        "output channels BasePruner leaves whole too")
        raise Wrong(f"{label} names {', '.join(extra_names[:4])}{' ...' if len(extra_names) > 4 else ''}, whose "
                    "output channels BasePruner does prune")


def _only_the_ignored(model, example_inputs, ignored_layers):  # the typical mistake: groups forgotten
    return {n for n, m in model.named_modules() if isinstance(m, nn.Conv2d) and m in ignored_layers}


@exercise("04-protected-convs", "04_groups_and_rounding",
          "Write protected_convs(model, example_inputs, ignored_layers) returning the names of the "
          "convolutions whose output channels BasePruner leaves whole when given ignored_layers.",
          _check_protected, wrong_example=lambda: _only_the_ignored)
def _protected_convs():
    import torch_pruning as tp
    from torch import nn

    def protected_convs(model, example_inputs, ignored_layers):
        DG = tp.DependencyGraph().build_dependency(model, example_inputs=example_inputs)
        pruned = set()  # layers whose output channels some prunable group removes
        for group in DG.get_all_groups(ignored_layers=ignored_layers, root_module_types=[nn.Conv2d, nn.Linear]):
            for dep, _ in group:
                if DG.is_out_channel_pruning_fn(dep.handler):
                    pruned.add(dep.target.module)
        return {name for name, m in model.named_modules() if isinstance(m, nn.Conv2d) and m not in pruned}
    return protected_convs


# ---- 05 · The exact count ----------------------------------------------------------------------
_PREDICT_RATIOS = (0.3, 0.6)  # ratios at which summing rounded parts differs from rounding the sum


def dense_blocks() -> nn.Module:
    """DenseNet-121's first two dense blocks (growth rate 32, 6 and 12 layers), random weights: the
    model of notebook 04's concatenation section."""
    import torch
    import torchvision

    torch.manual_seed(0)
    return torchvision.models.DenseNet(growth_rate=32, block_config=(6, 12), num_init_features=64).eval()


@cache
def _dense_after(p: float) -> int:
    """Torch-Pruning's count of the dense blocks pruned at ``p`` (classifier ignored)."""
    import torch

    from ..pruning import prune_copy

    model = dense_blocks()
    return prune_copy(model, torch.randn(1, 3, 32, 32), p, [model.classifier], count_macs=False).params_after


def _count_one_group_per_dimension(model, example_inputs, ignored_layers, p) -> int:
    """The notebook's ResNet-18 count: each pruned dimension keeps int(n x (1-p)) of its n channels, as
    if one group held them all (the typical mistake on a concatenation)."""
    import torch_pruning as tp

    dg = tp.DependencyGraph().build_dependency(model, example_inputs=example_inputs)
    shrunk = set()
    for group in dg.get_all_groups(ignored_layers=ignored_layers, root_module_types=[nn.Conv2d, nn.Linear]):
        for dep, _ in group:
            shrunk.add((dep.target.module, "out" if dg.is_out_channel_pruning_fn(dep.handler) else "in"))
    total = 0
    for layer in model.modules():
        for name, param in layer.named_parameters(recurse=False):
            sides = ["out"] if isinstance(layer, nn.BatchNorm2d) or name == "bias" else ["out", "in"]
            keys = [(layer, s) for s in sides] + [None] * (param.dim() - len(sides))
            total += math.prod(int(n * (1 - p)) if key in shrunk else n for n, key in zip(param.shape, keys))
    return total


def _check_predict(fn):
    import torch

    if not callable(fn):
        raise Wrong(f"pass your function itself (no parentheses), got {type(fn).__name__}")
    for p in _PREDICT_RATIOS:
        model, inputs = dense_blocks(), torch.randn(1, 3, 32, 32)
        before = n_params(model)
        label = f"predict_params(dense_blocks(), example_inputs, [model.classifier], {p})"
        got = as_number(call(fn, "predict_params", model, inputs, [model.classifier], p, label=label), label)
        if n_params(model) != before:
            raise Wrong("your function pruned the model: predict from the dependency graph, prune nothing")
        expected = _dense_after(p)
        if got == expected:
            continue
        if got == _count_one_group_per_dimension(model, inputs, [model.classifier], p):
            raise Wrong(f"{label} = {got:,.0f} rounds each concatenated input once, int(n x (1-p)); but each "
                        "part of a concatenation is its own group and keeps int(C x (1-p)) of its own C "
                        "channels: collect every group's C for a dimension, and keep n minus what each removes")
        raise Wrong(f"{label} = {got:,.0f}, but Torch-Pruning leaves {expected:,} parameters")


@exercise("05-predict-concat", "05_the_exact_count",
          "Write predict_params(model, example_inputs, ignored_layers, p): the parameters BasePruner leaves "
          "at channel ratio p, read from the dependency graph without pruning, for models whose layers read "
          "concatenations (a dimension shared by several groups). The check compares with Torch-Pruning on "
          "DenseNet's first two dense blocks.",
          _check_predict, wrong_example=lambda: _count_one_group_per_dimension)
def _predict_concat():
    import math

    import torch_pruning as tp
    from torch import nn

    def predict_params(model, example_inputs, ignored_layers, p):
        DG = tp.DependencyGraph().build_dependency(model, example_inputs=example_inputs)
        groups_of = {}  # (layer, "out" or "in") -> the C of every group that prunes that dimension
        for group in DG.get_all_groups(ignored_layers=ignored_layers, root_module_types=[nn.Conv2d, nn.Linear]):
            C = len(group[0].idxs)
            for dep, _ in group:
                side = "out" if DG.is_out_channel_pruning_fn(dep.handler) else "in"
                groups_of.setdefault((dep.target.module, side), []).append(C)
        total = 0
        for layer in model.modules():
            for name, param in layer.named_parameters(recurse=False):
                sides = ["out"] if isinstance(layer, nn.BatchNorm2d) or name == "bias" else ["out", "in"]
                Cs = [groups_of.get((layer, s), []) for s in sides] + [[]] * (param.dim() - len(sides))
                # a dimension keeps its size minus what each of its groups removes, C - int(C x (1-p))
                total += math.prod(n - sum(C - int(C * (1 - p)) for C in cs) for n, cs in zip(param.shape, Cs))
        return total
    return predict_params
