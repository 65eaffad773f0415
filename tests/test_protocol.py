"""The accuracy protocol's foundation: train/validation/test splits, training budgets in optimiser steps,
the batch-norm refresh after pruning and confidence intervals over seeds (CPU, tiny data, seconds).

No test here compares an accuracy with a threshold: they check counts, indices and statistics exactly.
"""
import copy
import dataclasses
import math

import numpy as np
import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from helpers import data, pruning, training

LABELS = np.repeat(np.arange(4), 25)  # 100 items, 4 classes of 25: small enough to reason about


@pytest.fixture(scope="module")
def three():
    """The digits in three splits, with 60 training images: a task far from ceiling."""
    return data.load(device="cpu", val_fraction=0.2, train_size=60)


@pytest.fixture
def step_count():
    """Counts every optimiser step taken while the test runs, whatever optimiser ``fit`` builds."""
    count = {"steps": 0}

    def hook(optimizer, args, kwargs):
        count["steps"] += 1

    handle = register_optimizer_step_post_hook(hook)
    yield count
    handle.remove()


@pytest.fixture(scope="module")
def medium():
    """300 training images: more than one batch of 256, so that a batched refresh would show."""
    return data.load(device="cpu", val_fraction=0.2, train_size=300)


def tiny_model(seed: int = 0) -> training.DigitsCNN:
    return training.new_model(seed, "cpu", width=4)


# ---- splits -------------------------------------------------------------------------------------
def test_split_indices_are_disjoint_covering_and_stratified():
    train, val, test = data.split_indices(LABELS, test_fraction=0.2, val_fraction=0.2, seed=0)
    assert (len(train), len(val), len(test)) == (60, 20, 20)
    parts = np.concatenate([train, val, test])
    assert len(set(parts.tolist())) == len(parts)  # disjoint
    assert sorted(parts.tolist()) == list(range(len(LABELS)))  # covering
    for idx, per_class in [(train, 15), (val, 5), (test, 5)]:  # 60%, 20%, 20% of each class of 25
        assert np.bincount(LABELS[idx], minlength=4).tolist() == [per_class] * 4


def test_split_indices_keep_train_size_and_leave_the_other_splits_alone():
    full_train, val, test = data.split_indices(LABELS, 0.2, 0.2, seed=3)
    train, val_small, test_small = data.split_indices(LABELS, 0.2, 0.2, train_size=12, seed=3)
    assert len(train) == 12 and set(train) <= set(full_train)
    assert np.bincount(LABELS[train], minlength=4).tolist() == [3, 3, 3, 3]
    assert np.array_equal(val, val_small) and np.array_equal(test, test_small)
    # the test split does not depend on whether a validation split is drawn
    assert np.array_equal(data.split_indices(LABELS, 0.2, seed=3)[2], test)
    assert data.split_indices(LABELS, 0.2, seed=3)[1] is None


def test_split_indices_follow_the_seed():
    a, b, c = (data.split_indices(LABELS, 0.2, 0.2, train_size=20, seed=s) for s in (5, 5, 6))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not any(np.array_equal(x, y) for x, y in zip(a, c))


@pytest.mark.parametrize("kwargs", [{"val_fraction": -0.1}, {"val_fraction": 0.8}, {"train_size": 3},
                                    {"train_size": 61}, {"train_size": 12.5}, {"test_fraction": 0}])
def test_split_indices_reject_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        data.split_indices(LABELS, **{"test_fraction": 0.2, "val_fraction": 0.2, **kwargs})


def test_load_gives_three_disjoint_stratified_splits(three):
    full = data.load(device="cpu", val_fraction=0.2)
    assert (len(full.y_train), len(full.y_val), len(full.y_test)) == (1078, 359, 360)  # all 1,797 images
    assert len(three.y_train) == 60 and len(three.y_val) == 359
    rows = {name: {tuple(r.tolist()) for r in getattr(full, f"x_{name}").flatten(1)} for name in data.SPLITS}
    assert sum(map(len, rows.values())) == 1797  # the digits hold no duplicate image
    assert not rows["train"] & rows["val"] and not rows["train"] & rows["test"] and not rows["val"] & rows["test"]
    for d in (full, three):
        for name in data.SPLITS:
            assert set(d.split(name)[1].tolist()) == set(range(10)), name
    assert torch.bincount(three.y_train, minlength=10).tolist() == [6] * 10
    # normalised with the kept training images only
    assert abs(float(three.x_train.mean())) < 1e-5 and abs(float(three.x_train.std()) - 1) < 1e-5
    assert "60 training, 359 validation and 360 test images" in three.describe()


def test_load_keeps_the_two_split_api(three):
    two = data.load(device="cpu")
    assert two.x_val is None and two.y_val is None and not two.has_val
    assert (len(two.y_train), len(two.y_test)) == (1437, 360)
    assert two.describe() == "1437 training and 360 test images of shape 1x16x16, 10 classes"
    assert torch.equal(two.y_test, three.y_test)  # the same test images with or without validation
    assert data.Digits(two.x_train, two.y_train, two.x_test, two.y_test) == two  # old positional form
    with pytest.raises(ValueError, match="val_fraction"):
        training.evaluate(tiny_model(), two, split="val")


def test_load_follows_the_split_seed(three):
    again = data.load(device="cpu", val_fraction=0.2, train_size=60)
    other = data.load(device="cpu", val_fraction=0.2, train_size=60, split_seed=1)
    for name in data.SPLITS:
        assert torch.equal(three.split(name)[0], again.split(name)[0])
        assert not torch.equal(three.split(name)[1], other.split(name)[1])


def test_evaluate_reads_the_validation_split(three):
    model = tiny_model()
    with torch.no_grad():
        expected = float((model.eval()(three.x_val).argmax(1) == three.y_val).float().mean())
    assert training.evaluate(model, three, split="val") == pytest.approx(expected)
    with pytest.raises(ValueError):
        three.split("validation")


# ---- training budgets in optimiser steps ------------------------------------------------------------
def test_steps_per_epoch(three):
    assert training.steps_per_epoch(three, 16) == math.ceil(60 / 16) == len(three.train_loader(16))
    assert training.steps_per_epoch(three, 60) == 1 and training.steps_per_epoch(three, 64) == 1
    with pytest.raises(ValueError):
        training.steps_per_epoch(three, 0)


def test_a_steps_budget_takes_exactly_that_many_steps(three, step_count):
    losses = training.fit(tiny_model(), three, steps=7, batch_size=16)  # 4 steps a pass: runs into a 2nd
    assert step_count["steps"] == losses.steps == 7
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)


def test_an_epochs_budget_counts_its_steps(three, step_count):
    losses = training.fit(tiny_model(), three, 2, batch_size=16)
    assert step_count["steps"] == losses.steps == 2 * training.steps_per_epoch(three, 16) == 8
    assert isinstance(losses, list) and len(losses) == 2  # still one mean loss per epoch


def test_equal_step_budgets_give_equal_steps(three, step_count):
    """Two arms on training sets of different sizes: equal epochs are unequal budgets, equal steps are not."""
    bigger = data.load(device="cpu", val_fraction=0.2, train_size=150)
    trained = tiny_model(1)
    pruned = pruning.prune_copy(trained, three.example_inputs(), 0.5, training.ignored_layers(trained),
                                count_macs=False).model
    taken = []
    for run in (lambda: training.fit(tiny_model(0), three, steps=9, batch_size=32),
                lambda: training.fine_tune(pruned, bigger, steps=9, batch_size=32)):
        before = step_count["steps"]
        assert run().steps == 9
        taken.append(step_count["steps"] - before)
    assert taken == [9, 9]
    epochs = [training.fit(tiny_model(), d, 1, batch_size=32).steps for d in (three, bigger)]
    assert epochs == [2, 5]


def test_a_steps_budget_of_whole_epochs_matches_the_epochs_budget(three):
    a, b = tiny_model(2), tiny_model(2)
    la = training.fit(a, three, 2, batch_size=16, seed=2)
    lb = training.fit(b, three, steps=2 * training.steps_per_epoch(three, 16), batch_size=16, seed=2)
    assert la == lb and la.steps == lb.steps
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.parametrize("kwargs", [{}, {"epochs": 1, "steps": 1}, {"steps": 0}, {"steps": 2.5}])
def test_fit_wants_exactly_one_positive_budget(three, kwargs, step_count):
    with pytest.raises(ValueError):
        training.fit(tiny_model(), three, **kwargs)
    assert step_count["steps"] == 0


# ---- batch-norm refresh -----------------------------------------------------------------------------
def bn_inputs_by_hand(model: torch.nn.Module, x: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Each batch norm's input statistics over ``x`` in train mode (as the refresh sees them): the
    per-channel mean and unbiased variance, computed from the captured activations."""
    model = copy.deepcopy(model).train()
    stats, handles = {}, []
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            def hook(module, args, name=name):
                a = args[0].double()
                stats[name] = (a.mean((0, 2, 3)), a.var((0, 2, 3), unbiased=True))
            handles.append(m.register_forward_pre_hook(hook))
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return stats


def test_recalibrate_bn_uses_the_training_images_only(medium):
    three = medium
    model = tiny_model(3)
    training.fit(model, three, steps=5, batch_size=16)
    bns = {n: m for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)}
    for m in bns.values():
        m.running_mean.fill_(100.0)
        m.running_var.fill_(50.0)
    model.zero_grad(set_to_none=True)  # fit leaves the last step's gradients behind
    weights = {n: p.detach().clone() for n, p in model.named_parameters()}
    expected = bn_inputs_by_hand(model, three.x_train)
    # validation and test images turned to NaN: any use of them would show in the statistics
    poisoned = dataclasses.replace(three, x_val=torch.full_like(three.x_val, math.nan),
                                   x_test=torch.full_like(three.x_test, math.nan))
    model.train()
    training.recalibrate_bn(model, poisoned, batch_size=None)  # one batch: exactly the training statistics
    assert not model.training  # ready for evaluation
    for name, m in bns.items():
        mean, var = expected[name]
        torch.testing.assert_close(m.running_mean.double(), mean, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(m.running_var.double(), var, atol=1e-5, rtol=1e-5)
        assert m.momentum == 0.1  # the layer's own momentum is back
    for n, p in model.named_parameters():
        assert torch.equal(p, weights[n]), n  # no weight moved
        assert p.grad is None, n  # and no gradient was computed


def test_recalibrate_bn_after_pruning(medium):
    three = medium
    model = tiny_model(4)
    training.fit(model, three, steps=5, batch_size=16)
    pruned = pruning.prune_copy(model, three.example_inputs(), 0.5, training.ignored_layers(model),
                                count_macs=False).model
    before = {n: b.clone() for n, b in pruned.named_buffers() if "running" in n}
    expected = bn_inputs_by_hand(pruned, three.x_train)
    training.recalibrate_bn(pruned, three, batch_size=None)
    buffers = dict(pruned.named_buffers())
    assert any(not torch.equal(buffers[n], b) for n, b in before.items())  # the statistics changed
    for name, (mean, var) in expected.items():
        torch.testing.assert_close(buffers[f"{name}.running_mean"].double(), mean, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(buffers[f"{name}.running_var"].double(), var, atol=1e-5, rtol=1e-5)
    assert not pruned.training


# ---- means and confidence intervals over seeds --------------------------------------------------------
T_975_2 = 4.302652729911275  # Student's t, 97.5% quantile, 2 degrees of freedom (from tables)


def test_mean_ci_by_hand():
    mean, low, high = training.mean_ci([1, 2, 3])
    half = T_975_2 * 1.0 / math.sqrt(3)  # sample standard deviation of 1, 2, 3 is 1
    assert mean == pytest.approx(2.0)
    assert low == pytest.approx(2.0 - half) and high == pytest.approx(2.0 + half)
    # a lower level is narrower; 99% with 2 degrees of freedom has t = 9.925
    assert training.mean_ci([1, 2, 3], 0.9)[2] < high
    assert training.mean_ci([1, 2, 3], 0.99)[2] == pytest.approx(2.0 + 9.924843 / math.sqrt(3), rel=1e-6)
    assert training.mean_ci(np.array([0.9, 0.9, 0.9])) == pytest.approx((0.9, 0.9, 0.9))


@pytest.mark.parametrize("values, level", [([0.9], 0.95), ([], 0.95), ([1.0, math.nan], 0.95),
                                           ([1, 2], 0.0), ([1, 2], 1.0)])
def test_mean_ci_refuses(values, level):
    with pytest.raises(ValueError):
        training.mean_ci(values, level)


def test_recalibrate_bn_in_batches_averages_the_batches(medium):
    # the default (batches of 256, as the recorded studies ran) is update_bn's equal-weight average
    model = tiny_model(5)
    training.fit(model, medium, steps=3, batch_size=16)
    exact, batched = copy.deepcopy(model), copy.deepcopy(model)
    training.recalibrate_bn(exact, medium, batch_size=None)
    training.recalibrate_bn(batched, medium, batch_size=64)
    means = [(m1.running_mean, m2.running_mean) for m1, m2 in zip(exact.modules(), batched.modules())
             if isinstance(m1, torch.nn.BatchNorm2d)]
    assert means and all(torch.allclose(a, b, atol=0.05) for a, b in means)  # close, from the same images
    assert not batched.training
