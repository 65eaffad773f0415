"""Exercises of the course's practice notebooks (see helpers.checks)."""
from functools import cache, lru_cache

from . import Wrong, as_number, call, exercise, expect_close, expect_equal, expect_function, refusing  # noqa: F401

NB06, NB07, NB08, NB09 = ("06_pruning_real_cnns", "07_reproducing_the_readme", "08_hitting_a_parameter_budget",
                          "09_macs_and_latency")


# ---- 06 · pruning real CNNs ---------------------------------------------------------------------
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


# (model, layer) cases of 06-channel-cost: a stage group, a block's inner group, a group through a
# depthwise convolution and a squeeze-and-excitation layer
CHANNEL_COST_CASES = (("resnet18", "conv1"), ("resnet18", "layer3.1.conv1"), ("mobilenet_v3_small", "features.4.block.0.0"))


@cache
def _channel_cost_reference(name: str, layer: str) -> int:
    from .. import sweep, zoo

    model, inputs, _ = zoo.build(name)
    return sum(r["params_per_channel"] for r in sweep.group_layers(model, inputs, model.get_submodule(layer)))


def _check_channel_cost(fn):
    from .. import counting, sweep, zoo

    for name, layer in CHANNEL_COST_CASES:
        model, inputs, _ = zoo.build(name)
        before = counting.n_params(model)
        root = model.get_submodule(layer)
        with refusing((sweep, "group_layers")):
            got = call(fn, "channel_cost", model, inputs, root, label=f"channel_cost({name}, {name}.{layer})")
        if counting.n_params(model) != before:
            raise Wrong("channel_cost pruned the model it was given: prune a copy (copy.deepcopy(model)) and find "
                        "the layer in the copy by its name (copy.get_submodule(name))")
        try:
            value = int(got)
        except (TypeError, ValueError):
            raise Wrong(f"channel_cost should return a whole number of parameters, got {got!r}") from None
        own = root.weight[0].numel() + (1 if root.bias is not None else 0)
        if value == own:
            raise Wrong(f"for {name}.{layer}, {value} is the layer's own filter: the group also shrinks the "
                        "BatchNorm after it and the layers that read its outputs (and, in a residual stage, every "
                        "layer added to it); prune the whole group that Torch-Pruning's DependencyGraph gives")
        expect_equal(value, _channel_cost_reference(name, layer), f"channel_cost for {name}.{layer}")


def _own_filter_only(model, example_inputs, layer):  # the typical mistake: the layer alone, not its group
    return layer.weight[0].numel() + (1 if layer.bias is not None else 0)


@exercise("06-channel-cost", NB06,
          "Write channel_cost(model, example_inputs, layer) returning how many parameters Torch-Pruning removes "
          "when one output channel of the convolution `layer` goes, with everything its pruning group couples to "
          "it. Leave `model` as it was: work on a copy.",
          _check_channel_cost, wrong_example=lambda: _own_filter_only)
def channel_cost_solution():
    import copy

    import torch_pruning as tp

    def channel_cost(model, example_inputs, layer):
        name = next(n for n, m in model.named_modules() if m is layer)
        clone = copy.deepcopy(model)  # the caller's model stays whole
        graph = tp.DependencyGraph().build_dependency(clone, example_inputs=example_inputs)
        group = graph.get_pruning_group(clone.get_submodule(name), tp.prune_conv_out_channels, idxs=[0])
        before = sum(p.numel() for p in clone.parameters())
        group.prune()
        return before - sum(p.numel() for p in clone.parameters())
    return channel_cost


SAVED_RATIO = 0.4  # the pruned ResNet-18 that 06-save-reload saves and loads back (classifier ignored)
SIZE_MISMATCH = ("a pruned model's layers are narrower than a freshly built resnet18's, so model.state_dict() does not "
                 "load into one, even with strict=False. Save with tp.state_dict(model) and load with "
                 "tp.load_state_dict(fresh, state_dict=...), which reshapes the fresh layers; or save the whole module")
WEIGHTS_ONLY = ("torch.load refused the file (weights_only=True by default since torch 2.6): a file you wrote "
                "yourself loads with torch.load(path, weights_only=False)")


def _same_model(loaded, params, inputs, expected, what):
    """Wrong unless ``loaded`` is a module with ``params`` parameters giving ``expected`` on ``inputs``."""
    import torch

    from .. import counting

    if not isinstance(loaded, torch.nn.Module):
        raise Wrong(f"{what} should be the model, got {type(loaded).__name__}")
    if counting.n_params(loaded) != params:
        raise Wrong(f"{what} has {counting.n_params(loaded):,} parameters, the pruned one {params:,}: load the "
                    "pruned widths, not a fresh model's")
    with torch.no_grad():
        got = loaded.eval()(inputs)
    if got.shape != expected.shape or not torch.allclose(got, expected, atol=1e-5):
        raise Wrong(f"{what} gives other outputs than the pruned model: its weights did not come back")


def _check_save_reload(fn):
    import os
    import tempfile

    import torch
    import torch_pruning as tp
    import torchvision

    from .. import counting, pruning, zoo

    if not callable(fn):
        raise Wrong(f"save_and_reload should be a function, got {type(fn).__name__}")
    model, inputs, ignored = zoo.build("resnet18")
    pruning.prune(model, inputs, SAVED_RATIO, ignored, count_macs=False)
    params = counting.n_params(model)
    with torch.no_grad():
        expected = model(inputs)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "pruned.pt")
        try:
            loaded = fn(model, path)
        except NotImplementedError:
            raise Wrong("save_and_reload is not written yet (it raises NotImplementedError)") from None
        except Exception as err:  # the typical mistakes, each with its hint
            text = str(err)
            if "size mismatch" in text:
                raise Wrong(f"save_and_reload raised 'size mismatch': {SIZE_MISMATCH}") from None
            if "Weights only load failed" in text:
                raise Wrong(WEIGHTS_ONLY) from None
            raise Wrong(f"save_and_reload raised {type(err).__name__}: {text.splitlines()[0] if text else ''}") from None
        if loaded is model or any(a.data_ptr() == b.data_ptr() for a in loaded.parameters() for b in model.parameters()):
            raise Wrong("return the model loaded from the file, not the one you were given")
        _same_model(loaded, params, inputs, expected, "the model save_and_reload returned")
        # the file on its own, as a new session would read it: a whole module, or tp.state_dict's dict
        if not os.path.isfile(path):
            raise Wrong("save_and_reload wrote no file at path: torch.save(..., path)")
        saved = torch.load(path, weights_only=False)
        if isinstance(saved, dict) and "full_state_dict" in saved:
            fresh = torchvision.models.resnet18(weights=None)
            tp.load_state_dict(fresh, state_dict=saved)
            saved = fresh
        elif isinstance(saved, dict):
            raise Wrong(f"the file holds a plain state_dict, which a new session cannot load: {SIZE_MISMATCH}")
        _same_model(saved, params, inputs, expected, "the model in the file")


def _save_state_dict_only(model, path):  # the typical mistake: a plain state_dict into a freshly built resnet18
    import torch
    import torchvision

    torch.save(model.state_dict(), path)
    fresh = torchvision.models.resnet18(weights=None)
    fresh.load_state_dict(torch.load(path), strict=False)
    return fresh


@exercise("06-save-reload", NB06,
          "Write save_and_reload(model, path): save a pruned torchvision ResNet-18 to the file path, load it back "
          "from that file as a new session would, and return the loaded model. The check prunes a fresh ResNet-18 "
          "and compares parameter count and outputs, of the model returned and of the file read on its own.",
          _check_save_reload, wrong_example=lambda: _save_state_dict_only)
def save_reload_solution():
    import torch
    import torch_pruning as tp
    import torchvision

    def save_and_reload(model, path):
        torch.save(tp.state_dict(model), path)  # the weights and each layer's pruned widths
        fresh = torchvision.models.resnet18(weights=None)  # the architecture, at full width
        tp.load_state_dict(fresh, state_dict=torch.load(path, weights_only=False))  # reshaped to the file's widths
        return fresh.eval()
    return save_and_reload


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


# (model, target) cases of 08-meet-budget: at each, the closest count falls a hair short of the target
BUDGET_CASES = (("resnet18", 0.6), ("mobilenet_v3_small", 0.5))


@cache
def _budget_predictor(name: str):
    from .. import zoo
    from ..predict import ParameterModel

    return ParameterModel(*zoo.build(name))


def _check_meet_budget(fn):
    from .. import counting, pruning, theory, zoo

    for name, target in BUDGET_CASES:
        model, inputs, ignored = zoo.build(name)
        before = counting.n_params(model)
        got = call(fn, "meet_budget", model, inputs, ignored, target,
                   label=f"meet_budget({name}, example_inputs, ignored_layers, {target})")
        if counting.n_params(model) != before:
            raise Wrong("meet_budget pruned the model it was given: prune copies (helpers.pruning.prune_copy), or "
                        "ask ParameterModel, which prunes nothing")
        try:
            p = theory.check_channel_ratio(got)
        except ValueError as err:
            raise Wrong(f"meet_budget should return a channel ratio: {err}") from None
        reached = pruning.prune_copy(model, inputs, p, ignored, count_macs=False).param_reduction
        predictor = _budget_predictor(name)
        least = predictor.reduction(predictor.solve(target, at_least=True))
        if reached < target:
            if abs(p - theory.channel_ratio_for(target)) < 1e-4:
                hint = "the rule's inverse over-promises on a real CNN: ask the model"
            elif reached > target - 0.005:
                hint = ("the closest count is a hair short: a budget must be met, so ask for the least reduction "
                        "that reaches it (ParameterModel.solve(target, at_least=True))")
            else:
                hint = "a larger p removes more"
            raise Wrong(f"{name}: p = {p:g} removes {reached:.2%} of the parameters, less than the {target:.0%} "
                        f"asked: {hint}")
        if reached > least + 0.005:
            raise Wrong(f"{name}: p = {p:g} removes {reached:.2%}, more than the budget needs: a smaller p also "
                        f"removes at least {target:.0%}")


def _closest_count(model, example_inputs, ignored_layers, target):  # the typical mistake: closest, not at least
    from ..predict import ParameterModel

    return ParameterModel(model, example_inputs, ignored_layers).solve(target)


@exercise("08-meet-budget", NB08,
          "Write meet_budget(model, example_inputs, ignored_layers, target) returning a channel ratio p whose local "
          "pruning (ignored_layers kept) removes at least the fraction `target` of the model's parameters, with no "
          "more pruning than that needs (within half a percentage point). The check prunes a fresh model at your p.",
          _check_meet_budget, wrong_example=lambda: _closest_count)
def meet_budget_solution():
    from helpers.predict import ParameterModel

    def meet_budget(model, example_inputs, ignored_layers, target):
        predictor = ParameterModel(model, example_inputs, ignored_layers)  # prunes nothing
        return predictor.solve(target, at_least=True)  # the least reduction that reaches target
    return meet_budget


# ---- 09 · MACs and latency -----------------------------------------------------------------------
def _check_fixed_fraction(fn):
    from .. import latency

    if fn is latency.fixed_fraction:
        raise Wrong("that is the course's own function: write the formula, solving S = 1 / (f + (1-f)/M) for f")
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


# (matrix products of the "dense" module, of the "pruned" one): the check's speed-up is about their ratio
SPEEDUP_MATMULS = (8, 2)
SPEEDUP_BAND = (1.5, 12.0)  # broad: a busy machine moves a median, but not below 1.5 or past 12


def _matmul_module(k: int, n: int = 160):
    """A module whose forward pass is k products of an n x n matrix: its time grows with k."""
    import torch
    from torch import nn

    class Matmuls(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.randn(n, n) / n ** 0.5, requires_grad=False)

        def forward(self, x):
            for _ in range(k):
                x = x @ self.weight
            return x
    return Matmuls().eval()


def _check_speedup(fn):
    import torch

    from ..latency import benchmark  # torch.utils.benchmark, imported without a CPU-build warning

    torch.manual_seed(0)
    dense, pruned = (_matmul_module(k) for k in SPEEDUP_MATMULS)
    x = torch.randn(160, 160)
    seen = []  # (method, Measurement) in the order the learner's Timers returned them
    timer = benchmark.Timer
    originals = {name: getattr(timer, name) for name in ("blocked_autorange", "adaptive_autorange", "timeit")}

    def spy(name):
        original = originals[name]

        def method(self, *args, **kwargs):
            m = original(self, *args, **kwargs)
            if name != "timeit" and not any(k != "timeit" for k, _ in seen):
                # one slow block, as a hiccup of the machine would give: it moves the mean, hardly the median
                m = benchmark.Measurement(m.number_per_run, [*m.raw_times, (len(m.raw_times) + 1) * max(m.raw_times)],
                                          m.task_spec, m.metadata)
            seen.append((name, m))
            return m
        return method

    try:
        for name in originals:
            setattr(timer, name, spy(name))
        got = call(fn, "speedup", dense, pruned, x, label="speedup(dense, pruned, x)")
    finally:
        for name, original in originals.items():
            setattr(timer, name, original)
    value = as_number(got, "speedup(dense, pruned, x)")
    if not seen:
        raise Wrong("time with torch.utils.benchmark.Timer(stmt=..., globals=...): it runs warm-up passes, times "
                    "blocks of them and synchronises a GPU; time.perf_counter() around one pass does none of that")
    blocks = [m for name, m in seen if name != "timeit"]
    if not blocks:
        raise Wrong("Timer.timeit(n) gives one block, so no spread and no median: use blocked_autorange()")
    if len(blocks) < 2:
        raise Wrong("time both models, each with its own Timer(...).blocked_autorange()")
    pairs = [(a, b) for a in blocks for b in blocks if a is not b]

    def found(stat):
        return any(abs(value - stat(a) / stat(b)) <= 1e-6 * stat(a) / stat(b) for a, b in pairs)

    if not found(lambda m: m.median):
        if found(lambda m: m.mean):
            raise Wrong("that is a ratio of means: one slow block (the machine busy for a moment) moves a mean, "
                        "while the median of the blocks hardly moves: read Measurement.median")
        raise Wrong("return the ratio of the two medians: dense's Measurement.median / pruned's")
    low, high = SPEEDUP_BAND
    if 1 / low < value < low:
        raise Wrong(f"speedup = {value:.2f}: the two times are about equal, but the check's dense module does "
                    f"{SPEEDUP_MATMULS[0] // SPEEDUP_MATMULS[1]} times the work of its pruned one: did you time "
                    "the same model twice?")
    if value < 1:
        raise Wrong(f"speedup = {value:.2f}: divide the dense time by the pruned time (above 1 when pruning helped)")
    if not low <= value <= high:
        raise Wrong(f"speedup = {value:.2f}, but the check's dense module does {SPEEDUP_MATMULS[0] // SPEEDUP_MATMULS[1]} "
                    "times the matrix products of its pruned one: did you time each model on x?")


def _mean_speedup(dense, pruned, x):  # the typical mistake: the mean, which one slow block moves
    import torch
    from torch.utils import benchmark

    with torch.no_grad():
        times = [benchmark.Timer("model(x)", globals={"model": m, "x": x}).blocked_autorange().mean
                 for m in (dense, pruned)]
    return times[0] / times[1]


@exercise("09-speedup", NB09,
          "Write speedup(dense, pruned, x) returning how many times faster pruned(x) runs than dense(x): time each "
          "with torch.utils.benchmark.Timer(...).blocked_autorange() and divide the medians. The check times two "
          "small modules whose costs differ by a known factor.",
          _check_speedup, wrong_example=lambda: _mean_speedup)
def speedup_solution():
    import torch
    from torch.utils import benchmark

    def speedup(dense, pruned, x):
        with torch.no_grad():  # inference: no autograd bookkeeping in the timed passes
            medians = [benchmark.Timer("model(x)", globals={"model": m, "x": x}).blocked_autorange().median
                       for m in (dense, pruned)]  # seconds per pass, the median of the blocks
        return medians[0] / medians[1]
    return speedup
