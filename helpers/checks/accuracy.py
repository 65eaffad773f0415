"""Exercises of the course's accuracy notebooks (see helpers.checks)."""
from __future__ import annotations

import functools

from ..counting import n_params
from . import Wrong, call, exercise, expect_close, expect_equal, refusing

NB10 = "10_the_cost_of_overpruning"


@functools.lru_cache(maxsize=1)
def _digits_cpu():
    from .. import training

    return training.load(device="cpu")


def _cnn(seed: int = 0, width: int = 20):
    from .. import training

    return training.new_model(seed, device="cpu", width=width)


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


# ---- 10: prune, refresh batch norm, fine-tune ------------------------------------------------------
PRUNE_REFRESH_TUNE = (
    "Write prune_refresh_tune(model, data, p, steps): a copy of model pruned at channel ratio p with "
    "Torch-Pruning's BasePruner (group L2 magnitude importance, the classifier ignored), its batch-norm "
    "statistics refreshed over the training images data.x_train, then fine-tuned for exactly `steps` optimiser "
    "steps on training batches (none for steps = 0). Return the copy; leave model as it was.")
_BN_TOLERANCE = 0.05  # a refresh in batches of 64 lands within 0.002 of the full-set statistics


def _stale_bn(model) -> None:
    """Stored batch-norm statistics unlike those of any batch: a refresh that does not happen shows."""
    import torch

    gen = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen))
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) * 4 + 0.5)


def _reference_pruned(model, example_inputs, p):
    """Torch-Pruning's own result: the reference call on a copy."""
    import copy

    import torch_pruning as tp

    pruned = copy.deepcopy(model)
    tp.pruner.BasePruner(pruned, example_inputs, importance=tp.importance.GroupMagnitudeImportance(p=2),
                         pruning_ratio=p, ignored_layers=[pruned.classifier]).step()
    return pruned


def _bn_off_by(model, data) -> float:
    """How far ``model``'s stored batch-norm statistics are from those of the training images, which
    ``update_bn`` over all of them gives a copy of the same weights: the largest gap of a mean (in
    standard deviations) or of a variance (log ratio)."""
    import copy

    import torch

    fresh = copy.deepcopy(model)
    torch.optim.swa_utils.update_bn([data.x_train], fresh)
    gaps = [0.0]
    for got, want in zip(model.modules(), fresh.modules()):
        if isinstance(got, torch.nn.BatchNorm2d):
            gaps.append(((got.running_mean - want.running_mean).abs() / want.running_var.sqrt()).max().item())
            gaps.append((got.running_var / want.running_var).log().abs().max().item())
    return max(gaps)


def _call_counting_steps(fn, label: str, *args):
    """``fn(*args)`` and the number of optimiser steps (of any optimiser) it took."""
    from torch.optim.optimizer import register_optimizer_step_post_hook

    from .. import training

    taken = [0]
    handle = register_optimizer_step_post_hook(lambda *_: taken.__setitem__(0, taken[0] + 1))
    try:
        with refusing((training, "prune_and_fine_tune"), (training, "prune_at_ratios")):  # the whole pipeline
            out = call(fn, "prune_refresh_tune", *args, label=label)
    finally:
        handle.remove()
    return out, taken[0]


def _check_prune_refresh_tune(fn) -> None:
    import torch

    d = _digits_cpu()
    for p in (0.3, 0.5):
        model = _cnn(seed=1)
        _stale_bn(model)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        expected = n_params(_reference_pruned(model, d.example_inputs(), p))
        for steps in (0, 3):
            label = f"prune_refresh_tune(model, data, {p}, {steps})"
            got, taken = _call_counting_steps(fn, label, model, d, p, steps)
            state = model.state_dict()
            if got is model or state.keys() != before.keys() or any(
                    state[k].shape != v.shape or not torch.equal(state[k], v) for k, v in before.items()):
                raise Wrong("the model passed in changed: prune, refresh and fine-tune a copy (copy.deepcopy), so "
                            "that the trained model stays for the next ratio")
            if not isinstance(got, torch.nn.Module):
                raise Wrong(f"{label} should return the pruned model, got {type(got).__name__}")
            with torch.no_grad():
                classes = got.eval()(d.x_test[:2]).shape[-1]
            if classes != 10:
                raise Wrong(f"the pruned model predicts {classes} classes instead of 10: put the classifier in "
                            "ignored_layers")
            expect_equal(n_params(got), expected, f"parameters of {label} (Torch-Pruning's own call leaves {expected:,})")
            if steps == 0 and _bn_off_by(got, d) > _BN_TOLERANCE:
                raise Wrong("after pruning, the batch-norm statistics are not those of the training images: refresh "
                            "them with torch.optim.swa_utils.update_bn([data.x_train], pruned), which resets them and "
                            "averages over all the images (one pass in train mode only moves them by the momentum)")
            if taken != steps:
                raise Wrong(f"{label} took {taken} optimiser steps, not {steps}: count the steps, one per batch, "
                            "and stop after exactly `steps` (none when steps = 0)")


def _without_refresh(model, data, p, steps):
    """The typical mistake: prune and fine-tune, the batch-norm statistics left as trained."""
    import copy

    import torch
    import torch.nn.functional as F
    import torch_pruning as tp

    pruned = copy.deepcopy(model)
    tp.pruner.BasePruner(pruned, data.example_inputs(), importance=tp.importance.GroupMagnitudeImportance(p=2),
                         pruning_ratio=p, ignored_layers=[pruned.classifier]).step()
    optimizer = torch.optim.AdamW(pruned.parameters(), lr=1e-3)
    pruned.train()
    for (x, y), _ in zip(data.train_loader(), range(steps)):
        optimizer.zero_grad()
        F.cross_entropy(pruned(x), y).backward()
        optimizer.step()
    return pruned.eval()


@exercise("10-prune-refresh-tune", NB10, PRUNE_REFRESH_TUNE, _check_prune_refresh_tune,
          wrong_example=lambda: _without_refresh)
def _solution_prune_refresh_tune():
    import copy

    import torch
    import torch.nn.functional as F
    import torch_pruning as tp

    def prune_refresh_tune(model, data, p, steps):
        pruned = copy.deepcopy(model)  # the trained model stays for the next ratio
        pruner = tp.pruner.BasePruner(pruned, data.example_inputs(),
                                      importance=tp.importance.GroupMagnitudeImportance(p=2),
                                      pruning_ratio=p, ignored_layers=[pruned.classifier])
        pruner.step()
        torch.optim.swa_utils.update_bn([data.x_train], pruned)  # the training images' statistics
        optimizer = torch.optim.AdamW(pruned.parameters(), lr=1e-3)  # built after pruning: the new tensors
        pruned.train()
        taken = 0
        while taken < steps:
            for x, y in data.train_loader(batch_size=64):
                if taken == steps:
                    break
                loss = F.cross_entropy(pruned(x), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                taken += 1
        return pruned.eval()
    return prune_refresh_tune
