"""Exercises of the course's accuracy notebooks (see helpers.checks)."""
from __future__ import annotations

import functools

from ..counting import n_params
from . import Wrong, call, exercise, expect_close, expect_equal

NB10 = "10_the_cost_of_overpruning"


@functools.lru_cache(maxsize=1)
def _digits_cpu():
    from .. import training

    return training.load(device="cpu")


def _cnn(seed: int = 0, width: int = 20):
    from .. import training

    return training.new_model(seed, device="cpu", width=width)


def _example():
    import torch

    return torch.zeros(1, 1, 16, 16)


# ---- 10: accuracy of a model ------------------------------------------------------------------
ACCURACY = ("Write accuracy(model, x, y): the fraction of images in x whose predicted class (the argmax of the "
            "logits) equals y. Measuring must not change the model.")


def _check_accuracy(fn) -> None:
    import torch

    d = _digits_cpu()
    model = _cnn(seed=1)
    # stored batch-norm statistics unlike those of any batch: train mode and eval mode disagree
    gen = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen))
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) * 4 + 0.5)
    buffers = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = d.x_test[:200], d.y_test[:200]
    got = call(fn, "accuracy(model, x, y)", model, x, y)
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, buffers[k])]
    if changed:
        raise Wrong(f"measuring changed the model ({changed[0]} moved): switch it to eval mode first, "
                    "where batch norm uses its stored statistics and updates nothing")
    if isinstance(got, torch.Tensor):
        got = got.item()
    model.eval()
    with torch.no_grad():
        expected = (model(x).argmax(1) == y).float().mean().item()
    if isinstance(got, (int, float)) and got > 1:
        raise Wrong(f"accuracy returned {got}: return the fraction of correct images (0 to 1), not a count")
    expect_close(got, expected, 1e-6, "accuracy(model, x, y)")


def _accuracy_without_eval(model, x, y):
    """The typical mistake: no model.eval(), so batch norm uses (and updates) batch statistics."""
    import torch

    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


@exercise("10-accuracy", NB10, ACCURACY, _check_accuracy, wrong_example=lambda: _accuracy_without_eval)
def _solution_accuracy():
    import torch

    def accuracy(model, x, y):
        model.eval()  # batch norm: use the stored statistics, update nothing
        with torch.no_grad():
            return (model(x).argmax(1) == y).float().mean().item()
    return accuracy


# ---- 10: prune a copy, keep the trained model -------------------------------------------------
PRUNED_COPY = ("Write pruned_copy(model, example_inputs, p): a copy of model pruned at channel ratio p with the "
               "classifier's outputs protected, leaving model itself untouched.")


def _check_pruned_copy(fn) -> None:
    from .. import training
    from ..predict import ParameterModel

    x = _example()
    model = _cnn()
    before = n_params(model)
    predictor = ParameterModel(model, x, training.ignored_layers(model))
    for p in (0.3, 0.5):
        pruned = call(fn, f"pruned_copy(model, x, {p})", model, x, p)
        if n_params(model) != before or pruned is model:
            raise Wrong("the trained model was pruned in place: prune a copy (copy.deepcopy) so that the "
                        "next channel ratio starts again from the full model")
        out = pruned(x)
        if out.shape[-1] != 10:
            raise Wrong(f"the pruned model predicts {out.shape[-1]} classes instead of 10: protect the "
                        "classifier with ignored_layers")
        expect_equal(n_params(pruned), predictor.params(p), f"parameters of pruned_copy(model, x, {p})")


def _pruned_in_place(model, example_inputs, p):
    """The typical mistake: the trained model itself is pruned, not a copy."""
    from .. import pruning, training

    pruning.prune(model, example_inputs, p, ignored_layers=training.ignored_layers(model))
    return model


@exercise("10-pruned-copy", NB10, PRUNED_COPY, _check_pruned_copy, wrong_example=lambda: _pruned_in_place)
def _solution_pruned_copy():
    import copy

    import helpers

    def pruned_copy(model, example_inputs, p):
        pruned = copy.deepcopy(model)
        helpers.pruning.prune(pruned, example_inputs, p, ignored_layers=[pruned.classifier])
        return pruned
    return pruned_copy


# ---- 10: the channel ratio for a parameter budget ---------------------------------------------
RATIO_FOR = ("Write ratio_for(model, example_inputs, target): the channel ratio p that removes a fraction "
             "`target` of the model's parameters (classifier protected), as closely as whole channels allow.")


def _check_ratio_for(fn) -> None:
    from .. import pruning, training
    from ..predict import ParameterModel

    x = _example()
    for width in (20, 32):
        model = _cnn(width=width)
        predictor = ParameterModel(model, x, training.ignored_layers(model))
        for target in (0.3, 0.5, 0.7):
            p = call(fn, f"ratio_for(model, x, {target})", model, x, target)
            try:
                p = float(p)
            except (TypeError, ValueError):
                raise Wrong(f"ratio_for should return a channel ratio (a number), got {p!r}") from None
            if not 0 <= p < 1:
                raise Wrong(f"ratio_for(model, x, {target}) = {p} is not a channel ratio in [0, 1)")
            result = pruning.prune_copy(model, x, p, training.ignored_layers(model), count_macs=False)
            # whole channels only: the closest reachable reduction may miss the target by a little
            best = predictor.reduction(predictor.solve(target))
            if abs(result.param_reduction - target) > abs(best - target) + 0.01:
                raise Wrong(f"with width {width}, p = {p:.3f} removes {result.param_reduction:.1%} of the "
                            f"parameters, not {target:.0%} (p = {predictor.solve(target)} removes "
                            f"{best:.1%})")


# the typical mistake: reading the channel ratio as a parameter fraction
@exercise("10-ratio-for-budget", NB10, RATIO_FOR, _check_ratio_for,
          wrong_example=lambda: (lambda model, example_inputs, target: target))
def _solution_ratio_for():
    import helpers

    def ratio_for(model, example_inputs, target):
        predictor = helpers.predict.ParameterModel(model, example_inputs, ignored_layers=[model.classifier])
        return predictor.solve(target)
    return ratio_for
