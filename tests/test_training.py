"""helpers.training: the digits and their splits, the small CNN, training budgets in optimiser steps, the
batch-norm refresh, the one accuracy pipeline (prune, refresh, fine-tune) and the summary over seeds
(CPU, seconds).

Apart from two checks that training works at all (far above chance), no test compares an accuracy
with a threshold: they check counts, indices, statistics and accuracies measured independently.
"""
import copy
import dataclasses
import math

import numpy as np
import pytest
import torch
import torch_pruning as tp
from torch.optim.optimizer import register_optimizer_step_post_hook

from helpers import checks, counting, predict, pruning, results, training

LABELS = np.repeat(np.arange(4), 25)  # 100 items, 4 classes of 25: small enough to reason about


@pytest.fixture(scope="module")
def digits():
    return training.load(device="cpu")


@pytest.fixture(scope="module")
def trained(digits):
    """A DigitsCNN trained for 69 steps, 3 passes over the 1,437 training images (seconds on a CPU)."""
    return training.train_baseline(digits, steps=69, seed=0)


@pytest.fixture(scope="module")
def three():
    """The digits in three splits, with 60 training images: a task far from ceiling."""
    return training.load(device="cpu", val_fraction=0.2, train_size=60)


@pytest.fixture(scope="module")
def medium():
    """300 training images in three splits."""
    return training.load(device="cpu", val_fraction=0.2, train_size=300)


@pytest.fixture(scope="module")
def tiny_trained(three):
    model = tiny_model(0)
    training.fit(model, three, 4, batch_size=16)
    return model


@pytest.fixture
def step_count():
    """Counts every optimiser step taken while the test runs, whatever optimiser ``fit`` builds."""
    count = {"steps": 0}

    def hook(optimizer, args, kwargs):
        count["steps"] += 1

    handle = register_optimizer_step_post_hook(hook)
    yield count
    handle.remove()


def tiny_model(seed: int = 0) -> training.DigitsCNN:
    return training.new_model(seed, "cpu", width=4)


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def same_weights(model, saved) -> bool:
    return all(torch.equal(v, saved[k]) for k, v in model.state_dict().items())


def uniform(p):
    """A prune(model, data) written with Torch-Pruning's API, as the notebooks write theirs."""
    def prune(model, d):
        tp.pruner.BasePruner(model, d.example_inputs(), importance=tp.importance.GroupMagnitudeImportance(p=2),
                             pruning_ratio=p, ignored_layers=[model.classifier]).step()
        return model
    return prune


# ---- the data -------------------------------------------------------------------------------------
def test_digits_shapes_and_split(digits):
    assert digits.x_train.shape == (1437, 1, training.SIZE, training.SIZE)
    assert digits.x_test.shape == (360, 1, training.SIZE, training.SIZE)
    assert digits.y_train.dtype == torch.long and set(digits.y_test.tolist()) == set(range(10))
    # stratified: each class gets 20% of its ~180 images, 35 to 37 of the 360 test images
    counts = torch.bincount(digits.y_test, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37, counts
    # normalised with the training images' statistics
    assert abs(float(digits.x_train.mean())) < 1e-4 and abs(float(digits.x_train.std()) - 1) < 1e-3


def test_digits_split_is_deterministic(digits):
    again = training.load(device="cpu")
    for a, b in [(digits.x_train, again.x_train), (digits.y_train, again.y_train),
                 (digits.x_test, again.x_test), (digits.y_test, again.y_test)]:
        assert torch.equal(a, b)
    other = training.load(device="cpu", split_seed=1)
    assert not torch.equal(digits.y_test, other.y_test)


def test_train_and_test_are_disjoint(digits):
    train = {tuple(row.tolist()) for row in digits.x_train.flatten(1)}
    assert not any(tuple(row.tolist()) in train for row in digits.x_test.flatten(1)[:100])


def test_train_loader_order_follows_the_seed(digits):
    def first(seed):
        return next(iter(digits.train_loader(32, seed)))[1]

    assert torch.equal(first(0), first(0))
    assert not torch.equal(first(0), first(1))


@pytest.mark.parametrize("kwargs", [{"test_fraction": 0}, {"test_fraction": 1.5}, {"size": 4}, {"size": 12.5},
                                    {"size": True}])
def test_load_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        training.load(device="cpu", **kwargs)


def test_split_indices_are_disjoint_covering_and_stratified():
    train, val, test = training.split_indices(LABELS, test_fraction=0.2, val_fraction=0.2, seed=0)
    assert (len(train), len(val), len(test)) == (60, 20, 20)
    parts = np.concatenate([train, val, test])
    assert len(set(parts.tolist())) == len(parts)  # disjoint
    assert sorted(parts.tolist()) == list(range(len(LABELS)))  # covering
    for idx, per_class in [(train, 15), (val, 5), (test, 5)]:  # 60%, 20%, 20% of each class of 25
        assert np.bincount(LABELS[idx], minlength=4).tolist() == [per_class] * 4


def test_split_indices_keep_train_size_and_leave_the_other_splits_alone():
    full_train, val, test = training.split_indices(LABELS, 0.2, 0.2, seed=3)
    train, val_small, test_small = training.split_indices(LABELS, 0.2, 0.2, train_size=12, seed=3)
    assert len(train) == 12 and set(train) <= set(full_train)
    assert np.bincount(LABELS[train], minlength=4).tolist() == [3, 3, 3, 3]
    assert np.array_equal(val, val_small) and np.array_equal(test, test_small)
    # the test split does not depend on whether a validation split is drawn
    assert np.array_equal(training.split_indices(LABELS, 0.2, seed=3)[2], test)
    assert training.split_indices(LABELS, 0.2, seed=3)[1] is None


def test_split_indices_follow_the_seed():
    a, b, c = (training.split_indices(LABELS, 0.2, 0.2, train_size=20, seed=s) for s in (5, 5, 6))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not any(np.array_equal(x, y) for x, y in zip(a, c))


@pytest.mark.parametrize("kwargs", [{"val_fraction": -0.1}, {"val_fraction": 0.8}, {"train_size": 3},
                                    {"train_size": 61}, {"train_size": 12.5}, {"train_size": "12"},
                                    {"test_fraction": 0}])
def test_split_indices_reject_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        training.split_indices(LABELS, **{"test_fraction": 0.2, "val_fraction": 0.2, **kwargs})


def test_load_gives_three_disjoint_stratified_splits(three):
    full = training.load(device="cpu", val_fraction=0.2)
    assert (len(full.y_train), len(full.y_val), len(full.y_test)) == (1078, 359, 360)  # all 1,797 images
    assert len(three.y_train) == 60 and len(three.y_val) == 359
    rows = {name: {tuple(r.tolist()) for r in getattr(full, f"x_{name}").flatten(1)} for name in training.SPLITS}
    assert sum(map(len, rows.values())) == 1797  # the digits hold no duplicate image
    assert not rows["train"] & rows["val"] and not rows["train"] & rows["test"] and not rows["val"] & rows["test"]
    for d in (full, three):
        for name in training.SPLITS:
            assert set(d.split(name)[1].tolist()) == set(range(10)), name
    assert torch.bincount(three.y_train, minlength=10).tolist() == [6] * 10
    # normalised with the kept training images only
    assert abs(float(three.x_train.mean())) < 1e-5 and abs(float(three.x_train.std()) - 1) < 1e-5
    assert "60 training, 359 validation and 360 test images" in three.describe()


def test_load_keeps_the_two_split_api(three):
    two = training.load(device="cpu")
    assert two.x_val is None and two.y_val is None and not two.has_val
    assert (len(two.y_train), len(two.y_test)) == (1437, 360)
    assert two.describe() == "1437 training and 360 test images of shape 1x16x16, 10 classes"
    assert torch.equal(two.y_test, three.y_test)  # the same test images with or without validation
    assert training.Digits(two.x_train, two.y_train, two.x_test, two.y_test) == two  # positional form
    with pytest.raises(ValueError, match="val_fraction"):
        training.evaluate(tiny_model(), two, split="val")


def test_load_follows_the_split_seed(three):
    again = training.load(device="cpu", val_fraction=0.2, train_size=60)
    other = training.load(device="cpu", val_fraction=0.2, train_size=60, split_seed=1)
    for name in training.SPLITS:
        assert torch.equal(three.split(name)[0], again.split(name)[0])
        assert not torch.equal(three.split(name)[1], other.split(name)[1])


# ---- the model ------------------------------------------------------------------------------------
def test_model_size_and_output(digits):
    model = training.new_model(0, "cpu")
    assert counting.n_params(model) == 26_030
    assert model(digits.example_inputs(4)).shape == (4, 10)
    assert training.ignored_layers(model) == [model.classifier]
    for width in (0, 1, 2.5, True):
        with pytest.raises(ValueError, match="width"):
            training.DigitsCNN(width=width)


def test_new_model_depends_on_seed_only():
    a, b, c = training.new_model(3, "cpu"), training.new_model(3, "cpu"), training.new_model(4, "cpu")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.classifier.weight, c.classifier.weight)


# ---- training and evaluation, budgets in steps ----------------------------------------------------
def test_untrained_model_is_near_chance(digits):
    assert training.evaluate(training.new_model(0, "cpu"), digits) < 0.3


def test_short_training_beats_chance_by_far(trained, digits):
    assert training.evaluate(trained, digits) > 0.85  # chance is 0.10
    assert training.evaluate(trained, digits, split="train") > 0.85


def test_training_is_reproducible_on_cpu(three):
    a, b = tiny_model(5), tiny_model(5)
    la = training.fit(a, three, 6, seed=5, batch_size=16)
    lb = training.fit(b, three, 6, seed=5, batch_size=16)
    assert la == lb and all(math.isfinite(v) for v in la)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    c = tiny_model(5)
    training.fit(c, three, 6, seed=6, batch_size=16)  # another batch order
    assert not torch.equal(a.classifier.weight, c.classifier.weight)


def test_cpu_thread_setting_is_restored(three):
    before = torch.get_num_threads()
    training.fit(tiny_model(), three, 2)
    training.evaluate(tiny_model(), three)
    assert torch.get_num_threads() == before


def test_steps_per_epoch(three):
    assert training.steps_per_epoch(three, 16) == math.ceil(60 / 16) == len(three.train_loader(16))
    assert training.steps_per_epoch(three, 60) == 1 and training.steps_per_epoch(three, 64) == 1
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            training.steps_per_epoch(three, bad)


def test_fit_takes_exactly_its_steps(three, step_count):
    losses = training.fit(tiny_model(), three, 7, batch_size=16)  # 4 steps a pass: runs into a 2nd
    assert step_count["steps"] == 7
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)  # one mean loss a pass


def test_equal_step_budgets_give_equal_steps(three, step_count):
    """Two runs on training sets of different sizes: equal passes are unequal budgets, equal steps are not."""
    bigger = training.load(device="cpu", val_fraction=0.2, train_size=150)
    trained = tiny_model(1)
    pruned = pruning.prune_copy(trained, three.example_inputs(), 0.5, training.ignored_layers(trained),
                                count_macs=False).model
    taken = []
    for run in (lambda: training.fit(tiny_model(0), three, 9, batch_size=32),
                lambda: training.fine_tune(pruned, bigger, 9, batch_size=32)):
        before = step_count["steps"]
        run()
        taken.append(step_count["steps"] - before)
    assert taken == [9, 9]
    assert [training.steps_per_epoch(d, 32) for d in (three, bigger)] == [2, 5]


@pytest.mark.parametrize("steps", [0, -1, 2.5, True, None])
def test_fit_wants_a_positive_whole_number_of_steps(three, steps, step_count):
    with pytest.raises(ValueError, match="steps"):
        training.fit(tiny_model(), three, steps)
    assert step_count["steps"] == 0


@pytest.mark.parametrize("batch_size", [0, 16.5, None])
def test_fit_wants_a_positive_whole_batch_size(three, batch_size, step_count):
    with pytest.raises(ValueError, match="batch_size"):
        training.fit(tiny_model(), three, 3, batch_size=batch_size)
    assert step_count["steps"] == 0


def test_fine_tune_keeps_the_parameter_count(trained, digits):
    model = copy.deepcopy(trained)
    shapes = [p.shape for p in model.parameters()]
    weight = model.classifier.weight.detach().clone()
    training.fine_tune(model, digits, 5)
    assert [p.shape for p in model.parameters()] == shapes
    assert not torch.equal(model.classifier.weight, weight)


def test_evaluate_changes_nothing(trained, digits):
    model = copy.deepcopy(trained).train()
    state = weights(model)
    training.evaluate(model, digits)
    assert model.training  # mode restored
    assert same_weights(model, state)
    with pytest.raises(ValueError):
        training.evaluate(model, digits, split="validation")


def test_evaluate_reads_the_validation_split(three):
    model = tiny_model()
    with torch.no_grad():
        expected = float((model.eval()(three.x_val).argmax(1) == three.y_val).float().mean())
    assert training.evaluate(model, three, split="val") == pytest.approx(expected)
    with pytest.raises(ValueError):
        three.split("validation")


# ---- the batch-norm refresh -----------------------------------------------------------------------
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


def test_recalibrate_bn_uses_exactly_the_training_images(medium):
    model = tiny_model(3)
    training.fit(model, medium, 5, batch_size=16)
    bns = {n: m for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)}
    for m in bns.values():
        m.running_mean.fill_(100.0)
        m.running_var.fill_(50.0)
    model.zero_grad(set_to_none=True)  # fit leaves the last step's gradients behind
    saved = {n: p.detach().clone() for n, p in model.named_parameters()}
    expected = bn_inputs_by_hand(model, medium.x_train)
    # validation and test images turned to NaN: any use of them would show in the statistics
    poisoned = dataclasses.replace(medium, x_val=torch.full_like(medium.x_val, math.nan),
                                   x_test=torch.full_like(medium.x_test, math.nan))
    model.train()
    training.recalibrate_bn(model, poisoned)
    assert not model.training  # ready for evaluation
    for name, m in bns.items():
        mean, var = expected[name]  # all 300 images at once: their exact mean and variance
        torch.testing.assert_close(m.running_mean.double(), mean, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(m.running_var.double(), var, atol=1e-5, rtol=1e-5)
        assert m.momentum == 0.1  # the layer's own momentum is back
    for n, p in model.named_parameters():
        assert torch.equal(p, saved[n]), n  # no weight moved
        assert p.grad is None, n  # and no gradient was computed


def test_recalibrate_bn_after_pruning(medium):
    model = tiny_model(4)
    training.fit(model, medium, 5, batch_size=16)
    pruned = pruning.prune_copy(model, medium.example_inputs(), 0.5, training.ignored_layers(model),
                                count_macs=False).model
    before = {n: b.clone() for n, b in pruned.named_buffers() if "running" in n}
    expected = bn_inputs_by_hand(pruned, medium.x_train)
    training.recalibrate_bn(pruned, medium)
    buffers = dict(pruned.named_buffers())
    assert any(not torch.equal(buffers[n], b) for n, b in before.items())  # the statistics changed
    for name, (mean, var) in expected.items():
        torch.testing.assert_close(buffers[f"{name}.running_mean"].double(), mean, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(buffers[f"{name}.running_var"].double(), var, atol=1e-5, rtol=1e-5)
    assert not pruned.training


# ---- the pipeline: prune, refresh, fine-tune ------------------------------------------------------
def test_prune_and_fine_tune_at_a_channel_ratio(trained, digits, step_count):
    before = weights(trained)
    run = training.prune_and_fine_tune(trained, digits, 0.5, 23, seed=0, pretrain_steps=69)
    # exactly its steps; the trained model is untouched; the copy lost what the exact predictor says
    assert step_count["steps"] == run.steps == 23 and run.total_steps == 92
    assert same_weights(trained, before)
    predicted = predict.ParameterModel(trained, digits.example_inputs(), training.ignored_layers(trained)).params(0.5)
    assert run.params == predicted == counting.n_params(run.model)
    assert run.param_reduction == pytest.approx(1 - predicted / 26_030) and run.param_reduction > 0.70
    assert (run.arm, run.budget, run.channel_ratio, run.seed) == ("pruned", None, 0.5, 0)
    assert run.model(digits.example_inputs(2)).shape == (2, 10)  # the classes survive
    assert run.acc_val_pruned is None and run.acc_val is None  # these digits have no validation split
    # each stage measured as it was: pruned alone, then batch norm refreshed
    again = pruning.prune_copy(trained, digits.example_inputs(), 0.5, training.ignored_layers(trained),
                               count_macs=False).model
    assert run.acc_test_before_refresh == training.evaluate(again, digits)
    training.recalibrate_bn(again, digits)
    assert run.acc_test_pruned == training.evaluate(again, digits)
    assert run.acc_test == training.evaluate(run.model, digits)
    row = run.row()
    assert "model" not in row and row["total_steps"] == 92 and row["acc_test"] == run.acc_test


def test_prune_and_fine_tune_with_a_prune_function(three, tiny_trained, step_count):
    before = weights(tiny_trained)
    run = training.prune_and_fine_tune(tiny_trained, three, uniform(0.5), 6, lr=1e-3, seed=0, arm="solver",
                                       budget=0.5, pretrain_steps=4, batch_size=16)
    assert step_count["steps"] == run.steps == 6 and run.total_steps == 10
    assert same_weights(tiny_trained, before)  # a copy was pruned
    predicted = predict.ParameterModel(tiny_trained, three.example_inputs(), [tiny_trained.classifier]).params(0.5)
    assert run.params == counting.n_params(run.model) == predicted
    assert run.param_reduction == pytest.approx(1 - predicted / counting.n_params(tiny_trained))
    assert (run.arm, run.budget, run.channel_ratio) == ("solver", 0.5, None)
    assert run.acc_val == training.evaluate(run.model, three, "val")


def test_prune_and_fine_tune_refreshes_batch_norm_before_measuring(three, tiny_trained, step_count):
    run = training.prune_and_fine_tune(tiny_trained, three, uniform(0.5), 0)
    assert run.steps == 0 and step_count["steps"] == 0
    # with no fine-tune, the pruned model's statistics are exactly those of the training images
    expected = bn_inputs_by_hand(run.model, three.x_train)
    for name, m in run.model.named_modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            torch.testing.assert_close(m.running_mean.double(), expected[name][0], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(m.running_var.double(), expected[name][1], atol=1e-5, rtol=1e-5)
    stale = uniform(0.5)(copy.deepcopy(tiny_trained), three)
    assert run.acc_test_before_refresh == training.evaluate(stale, three)
    assert run.acc_test_pruned == training.evaluate(run.model, three)
    assert run.acc_val_pruned == training.evaluate(run.model, three, "val")


def test_prune_and_fine_tune_seeds_the_pruning(three, tiny_trained):
    def random(model, d):
        tp.pruner.BasePruner(model, d.example_inputs(), importance=tp.importance.RandomImportance(),
                             pruning_ratio=0.5, ignored_layers=[model.classifier]).step()
        return model

    a, b, c = (training.prune_and_fine_tune(tiny_trained, three, random, 0, seed=s) for s in (7, 7, 8))
    assert same_weights(a.model, weights(b.model))  # the same seed draws the same channels
    assert not same_weights(a.model, weights(c.model))  # another seed, others


def test_prune_and_fine_tune_refuses(three, tiny_trained):
    with pytest.raises(TypeError, match="must return the pruned model"):
        training.prune_and_fine_tune(tiny_trained, three, lambda m, d: None, 0)
    with pytest.raises(ValueError, match="channel ratio"):
        training.prune_and_fine_tune(tiny_trained, three, 1.5, 0)
    with pytest.raises(ValueError, match="steps"):
        training.prune_and_fine_tune(tiny_trained, three, 0.5, -1)
    with pytest.raises(ValueError, match="pretrain_steps"):
        training.prune_and_fine_tune(tiny_trained, three, 0.5, 0, pretrain_steps=2.5)


def test_prune_at_ratios(three, tiny_trained):
    runs = training.prune_at_ratios({0: tiny_trained, 1: tiny_trained}, three, [0.2, 0.6], 0, pretrain_steps=4)
    assert [(r.seed, r.channel_ratio) for r in runs] == [(0, 0.2), (0, 0.6), (1, 0.2), (1, 0.6)]
    assert all(r.arm == "uniform" and r.total_steps == 4 for r in runs)
    assert runs[0].param_reduction < runs[1].param_reduction
    alone = training.prune_and_fine_tune(tiny_trained, three, 0.6, 0, seed=1)
    assert runs[3].row() == {**alone.row(), "arm": "uniform", "pretrain_steps": 4, "total_steps": 4}


# ---- the summary over seeds -------------------------------------------------------------------------
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


ROWS = [{"seed": s, "arm": a, "budget": 0.5, "acc": v, "params": 7}
        for a, vals in [("a", [0.90, 0.80, 0.70]), ("b", [0.88, 0.775, 0.685])] for s, v in enumerate(vals)]


def test_summarise_groups_and_intervals():
    rows = ROWS + [{"seed": s, "arm": "c", "budget": 0.5, "acc": None, "params": 5} for s in range(3)]
    out = training.summarise(rows, ("acc",))
    assert [s["arm"] for s in out] == ["a", "b", "c"] and [s["n"] for s in out] == [3, 3, 3]
    half = T_975_2 * 0.1 / math.sqrt(3)  # 0.9, 0.8, 0.7: sample standard deviation 0.1
    assert (out[0]["acc_mean"], out[0]["acc_low"], out[0]["acc_high"]) == pytest.approx((0.8, 0.8 - half, 0.8 + half))
    assert out[0]["acc_text"] == "80.0% (55.2 to 104.8)" and out[0]["params"] == 7 and "seed" not in out[0]
    assert out[2]["acc_mean"] is None and out[2]["acc_text"] is None
    assert training.percent(0.928, 0.915, 0.941) == "92.8% (91.5 to 94.1)"


def test_summarise_by_other_columns():
    rows = [{"seed": s, "channel_ratio": p, "acc": p + s / 10} for s in range(3) for p in (0.5, 0.2)]
    out = training.summarise(rows, ("acc",), by=("channel_ratio",))
    assert [(s["channel_ratio"], s["n"]) for s in out] == [(0.5, 3), (0.2, 3)]  # in the order first seen
    assert [s["acc_mean"] for s in out] == pytest.approx([0.6, 0.3])


# ---- notebook 10's plans and its records ------------------------------------------------------------
def test_plans_are_budgets_in_steps(digits):
    quick, full = training.plan("quick"), training.plan("full")
    assert len(quick.seeds) >= 2 and len(full.seeds) > len(quick.seeds)  # an interval needs two seeds
    assert full.train_steps > quick.train_steps and full.finetune_steps == quick.finetune_steps
    # whole passes over the training images: 10 and 30, then a fine-tune of 2
    per_pass = training.steps_per_epoch(digits, quick.batch_size)
    assert (quick.train_steps, full.train_steps, quick.finetune_steps) == (10 * per_pass, 30 * per_pass, 2 * per_pass)
    assert 0.5 in quick.ratios and 0.5 in full.ratios
    with pytest.raises(ValueError):
        training.plan("medium")


def test_a_run_records_its_rows_under_a_stamp(tmp_path, monkeypatch):
    """What notebooks 10-12 write: the runs' rows, stamped, where results.folder() says."""
    monkeypatch.setenv("COURSE_FIGURES_DIR", str(tmp_path))
    rows = [{"a": 1, "b": 0.5}, {"a": 2, "b": None}]
    assert results.write("demo", rows, results.stamp("cpu")) == tmp_path / "demo.csv"
    stamp, back = results.read("demo")
    assert back == rows
    for key in ("device", "mode", "torch", "torch-pruning", "date"):
        assert stamp[key], key


# ---- feedback of notebook 10's exercises on other typical mistakes -------------------------------------
def _prune_refresh_tune(in_place=False, ignore=True, extra_steps=0):
    """A prune -> refresh -> fine-tune function of exercise 10-prune-refresh-tune with one thing changed."""
    def prune_refresh_tune(model, data, p, steps):
        pruned = model if in_place else copy.deepcopy(model)
        tp.pruner.BasePruner(pruned, data.example_inputs(), importance=tp.importance.GroupMagnitudeImportance(p=2),
                             pruning_ratio=p, ignored_layers=[pruned.classifier] if ignore else []).step()
        torch.optim.swa_utils.update_bn(data.train_loader(), pruned)  # in batches: close enough
        if steps + extra_steps:
            training.fine_tune(pruned, data, steps + extra_steps)
        return pruned
    return prune_refresh_tune


@pytest.mark.parametrize("changes,hint", [({}, None), (dict(in_place=True), "copy"),
                                          (dict(ignore=False), "ignored_layers"), (dict(extra_steps=1), "optimiser steps")])
def test_prune_refresh_tune_mistakes_are_told_why(changes, hint, capsys):
    assert checks.check("10-prune-refresh-tune", _prune_refresh_tune(**changes)) == (hint is None)
    if hint:
        assert hint in capsys.readouterr().out


def test_accuracy_as_a_count_is_told_why(capsys):
    def accuracy(model, x, y):
        model.eval()
        with torch.no_grad():
            return int((model(x).argmax(1) == y).sum())

    assert not checks.check("10-accuracy", accuracy)
    assert "fraction" in capsys.readouterr().out
