"""helpers.protocol, the bookkeeping of notebooks 11 and 12's accuracy study, on tiny data (CPU, seconds).

Nothing here compares an accuracy with a threshold: the tests check step counts, parameter counts,
statistics and the arithmetic of intervals exactly.
"""
import copy
import dataclasses
import math

import numpy as np
import pytest
import torch
import torch_pruning as tp
from torch.optim.optimizer import register_optimizer_step_post_hook

from helpers import counting, data, protocol, training
from helpers.predict import ParameterModel


@pytest.fixture(scope="module")
def tiny():
    return data.load(device="cpu", val_fraction=0.2, train_size=60)


@pytest.fixture(scope="module")
def trained(tiny):
    model = training.new_model(0, "cpu", width=4)
    training.fit(model, tiny, steps=4, batch_size=16)
    return model


@pytest.fixture
def step_count():
    count = {"steps": 0}
    handle = register_optimizer_step_post_hook(lambda *args: count.__setitem__("steps", count["steps"] + 1))
    yield count
    handle.remove()


def uniform(p):
    def prune(model, d):
        tp.pruner.BasePruner(model, d.example_inputs(), importance=tp.importance.GroupMagnitudeImportance(p=2),
                             pruning_ratio=p, ignored_layers=[model.classifier]).step()
        return model
    return prune


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


# ---- the study's settings ---------------------------------------------------------------------------
def test_study_plans():
    quick, full = protocol.study("quick"), protocol.study("full")
    assert len(full.seeds) >= 5 and len(quick.seeds) >= 2  # an interval needs two seeds; full mode five
    assert full.train_epochs >= quick.train_epochs and full.long_finetune_steps > full.finetune_steps
    assert quick.long_finetune_steps > quick.finetune_steps and set(quick.budgets) == {0.5, 0.75}
    with pytest.raises(ValueError):
        protocol.study("slow")


def test_load_splits_one_split_per_seed():
    s = dataclasses.replace(protocol.study("quick"), train_size=30, seeds=(0, 1))
    splits = protocol.load_splits(s, "cpu")
    assert sorted(splits) == [0, 1]
    for seed, d in splits.items():
        assert len(d.y_train) == 30 and d.has_val
        again = data.load(device="cpu", val_fraction=s.val_fraction, train_size=30, split_seed=seed)
        assert torch.equal(d.x_test, again.x_test)
    assert not torch.equal(splits[0].y_test, splits[1].y_test)  # each seed draws its own split
    assert s.train_steps(splits[0]) == s.train_epochs * math.ceil(30 / s.batch_size)


# ---- choosing on validation ---------------------------------------------------------------------------
def test_choose_takes_the_best_mean_and_the_first_of_ties():
    scores = {"a": [0.5, 0.7], "b": [0.8, 0.6], "c": [0.7, 0.7]}
    best, rows = protocol.choose(["a", "b", "c"], scores.__getitem__)
    assert best == "b"  # mean 0.7, listed before "c", which has the same mean
    assert [r["option"] for r in rows] == ["a", "b", "c"]
    assert (rows[0]["val_mean"], rows[0]["val_low"], rows[0]["val_high"]) == pytest.approx(training.mean_ci([0.5, 0.7]))
    with pytest.raises(ValueError):
        protocol.choose([], scores.__getitem__)


def test_choose_finetune_lr_reads_validation_only(tiny, trained):
    s = dataclasses.replace(protocol.study("quick"), finetune_steps=2, lr_grid=(1e-3, 1e-2))
    poisoned = dataclasses.replace(tiny, x_test=torch.full_like(tiny.x_test, math.nan))
    a = protocol.choose_finetune_lr(s, {0: trained}, {0: tiny}, uniform(0.5), 0.5)
    b = protocol.choose_finetune_lr(s, {0: trained}, {0: poisoned}, uniform(0.5), 0.5)
    assert a == b and a[0] in (1e-3, 1e-2)


# ---- the arms: budgets, batch norm, architecture ----------------------------------------------------------
def test_prune_and_tune_takes_exactly_its_steps_and_leaves_the_model(tiny, trained, step_count):
    before = weights(trained)
    run = protocol.prune_and_tune("solver", 0.5, trained, tiny, uniform(0.5), 6, 1e-3, seed=0, pretrain_steps=4,
                                  batch_size=16)
    assert step_count["steps"] == run.steps == 6 and run.total_steps == 10
    assert all(torch.equal(v, before[k]) for k, v in trained.state_dict().items())  # a copy was pruned
    predicted = ParameterModel(trained, tiny.example_inputs(), [trained.classifier]).params(0.5)
    assert run.params == counting.n_params(run.model) == predicted
    assert run.param_reduction == pytest.approx(1 - predicted / counting.n_params(trained))
    row = run.row()
    assert "model" not in row and row["total_steps"] == 10 and row["arm"] == "solver"


def test_prune_and_tune_refreshes_batch_norm_before_measuring(tiny, trained):
    run = protocol.prune_and_tune("x", 0.5, trained, tiny, uniform(0.5), 0, 1e-3, seed=0, pretrain_steps=0)
    assert run.steps == 0
    # with no fine-tune, the pruned model's statistics are exactly those of the training images
    exact = copy.deepcopy(run.model)
    training.recalibrate_bn(exact, tiny, batch_size=None)
    for a, b in zip(run.model.modules(), exact.modules()):
        if isinstance(a, torch.nn.BatchNorm2d):
            assert torch.equal(a.running_mean, b.running_mean) and torch.equal(a.running_var, b.running_var)
    assert run.acc_test_pruned == run.acc_test == training.evaluate(run.model, tiny)
    assert run.acc_val_pruned == training.evaluate(run.model, tiny, "val")


def test_prune_must_return_the_model(tiny, trained):
    with pytest.raises(TypeError):
        protocol.prune_and_tune("x", 0.5, trained, tiny, lambda m, d: None, 0, 1e-3, 0, 0)


def test_reinitialised_keeps_the_architecture_and_forgets_the_weights(tiny, trained):
    pruned = uniform(0.5)(copy.deepcopy(trained), tiny)
    fresh, again, other = (protocol.reinitialised(pruned, s) for s in (3, 3, 4))
    shapes = {k: v.shape for k, v in pruned.state_dict().items()}
    assert {k: v.shape for k, v in fresh.state_dict().items()} == shapes
    assert counting.n_params(fresh) == counting.n_params(pruned)
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in fresh.state_dict().items())  # seeded
    conv = [k for k in shapes if k.endswith("weight") and len(shapes[k]) == 4]
    assert all(not torch.equal(fresh.state_dict()[k], pruned.state_dict()[k]) for k in conv)
    assert any(not torch.equal(fresh.state_dict()[k], other.state_dict()[k]) for k in conv)
    for m in fresh.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            assert torch.equal(m.running_mean, torch.zeros_like(m.running_mean))
            assert torch.equal(m.running_var, torch.ones_like(m.running_var))
            assert torch.equal(m.weight, torch.ones_like(m.weight))


def test_scratch_and_pruned_arms_get_equal_budgets(tiny, trained, step_count):
    T, F = 4, 6
    pruned = protocol.prune_and_tune("solver", 0.5, trained, tiny, uniform(0.5), F, 1e-3, 0, T, batch_size=16)
    before = step_count["steps"]
    scratch = protocol.train_from_scratch("scratch", 0.5, pruned.model, tiny, T + F, seed=0,
                                          params_before=counting.n_params(trained), batch_size=16)
    assert step_count["steps"] - before == T + F == scratch.total_steps == pruned.total_steps
    assert scratch.pretrain_steps == 0 and scratch.acc_test_pruned is None
    assert scratch.params == pruned.params and scratch.param_reduction == pytest.approx(pruned.param_reduction)
    assert scratch.model is not pruned.model


# ---- intervals ---------------------------------------------------------------------------------------------
ROWS = [{"seed": s, "arm": a, "budget": 0.5, "acc": v, "params": 7}
        for a, vals in [("a", [0.90, 0.80, 0.70]), ("b", [0.88, 0.775, 0.685])] for s, v in enumerate(vals)]


def test_paired_is_the_interval_of_per_seed_differences():
    mean, low, high = protocol.paired(ROWS, "acc", {"arm": "a"}, {"arm": "b"})
    diffs = [0.02, 0.025, 0.015]
    half = 4.302652729911275 * np.std(diffs, ddof=1) / math.sqrt(3)
    assert mean == pytest.approx(0.02) and (low, high) == pytest.approx((0.02 - half, 0.02 + half))
    assert low > 0  # clear, though the arms' own intervals overlap widely
    own = [training.mean_ci([r["acc"] for r in ROWS if r["arm"] == arm]) for arm in "ab"]
    assert own[0][1] < own[1][2]


def test_paired_needs_the_same_seeds():
    with pytest.raises(ValueError, match="same seeds"):
        protocol.paired(ROWS[:-1], "acc", {"arm": "a"}, {"arm": "b"})
    with pytest.raises(ValueError, match="two rows"):
        protocol.paired(ROWS + ROWS[:1], "acc", {"arm": "a"}, {"arm": "b"})


def test_verdict():
    assert protocol.verdict(0.001, 0.2) == "higher" and protocol.verdict(-0.3, -0.01) == "lower"
    assert protocol.verdict(-0.1, 0.1) == "within noise" and protocol.verdict(0.0, 0.0) == "within noise"
    with pytest.raises(ValueError):
        protocol.verdict(0.2, 0.1)


def test_summarise_groups_and_intervals():
    rows = ROWS + [{"seed": s, "arm": "c", "budget": 0.5, "acc": None, "params": 5} for s in range(3)]
    out = protocol.summarise(rows, ("acc",))
    assert [s["arm"] for s in out] == ["a", "b", "c"] and [s["n"] for s in out] == [3, 3, 3]
    assert (out[0]["acc_mean"], out[0]["acc_low"], out[0]["acc_high"]) == pytest.approx(
        training.mean_ci([0.9, 0.8, 0.7]))
    assert out[0]["acc_text"] == protocol.percent(*training.mean_ci([0.9, 0.8, 0.7])) and out[0]["params"] == 7
    assert out[2]["acc_mean"] is None and out[2]["acc_text"] is None
    assert protocol.percent(0.928, 0.915, 0.941) == "92.8% (91.5 to 94.1)"
    assert protocol.points(0.012, -0.003, 0.027) == "+1.2 points (-0.3 to +2.7)"


# ---- sensitivity and non-uniform ratios ---------------------------------------------------------------------
def test_sensitivity_scans_every_layer_on_validation(tiny, trained):
    calls = []

    def prune_layer(model, d, name, ratio):
        calls.append((name, ratio))
        tp.pruner.BasePruner(model, d.example_inputs(), importance=tp.importance.GroupMagnitudeImportance(p=2),
                             pruning_ratio=0.0, pruning_ratio_dict={model.get_submodule(name): ratio},
                             ignored_layers=[model.classifier]).step()
        return model

    before = weights(trained)
    poisoned = dataclasses.replace(tiny, x_test=torch.full_like(tiny.x_test, math.nan))
    rows = protocol.sensitivity({0: trained}, {0: poisoned}, ["features.0", "features.7"], [0.25, 0.5], prune_layer)
    assert calls == [("features.0", 0.25), ("features.0", 0.5), ("features.7", 0.25), ("features.7", 0.5)]
    base = training.evaluate(trained, tiny, "val")
    assert all(r["drop"] == pytest.approx(base - r["acc_val"]) for r in rows)
    assert all(torch.equal(v, before[k]) for k, v in trained.state_dict().items())
    drops = protocol.mean_drops(rows + [{**r, "seed": 1, "drop": r["drop"] + 0.1} for r in rows])
    xs, ys = drops["features.7"]
    assert xs.tolist() == [0.0, 0.25, 0.5] and ys[0] == 0
    assert ys[2] == pytest.approx(np.mean([rows[3]["drop"], rows[3]["drop"] + 0.1]))


def test_greedy_ratios_meet_the_budget_where_accuracy_is_cheapest():
    per_channel = {"cheap": 100, "dear": 100, "small": 10}  # parameters per 0.05 of ratio

    def params_of(ratios):
        return 1000 - sum(round(r / 0.05) * per_channel[n] for n, r in ratios.items())

    drops = {"cheap": (np.array([0, 1.0]), np.array([0, 0.1])),
             "dear": (np.array([0, 1.0]), np.array([0, 0.9])),
             "small": (np.array([0, 1.0]), np.array([0, 0.1]))}
    ratios = protocol.greedy_ratios(drops, params_of, 600)
    assert params_of(ratios) <= 600
    assert ratios == {"cheap": 0.2, "dear": 0.0, "small": 0.0}  # same drop as "small", ten times the parameters
    # once "cheap" is at its limit, "dear" costs less accuracy per parameter than "small"
    assert protocol.greedy_ratios(drops, params_of, -500, max_ratio=0.5) == {"cheap": 0.5, "dear": 0.25, "small": 0.0}
    with pytest.raises(ValueError, match="no ratios"):
        protocol.greedy_ratios(drops, params_of, -10_000)
    with pytest.raises(ValueError):
        protocol.greedy_ratios(drops, params_of, 600, step=0)


def test_greedy_ratios_with_the_exact_predictor(tiny, trained):
    predictor = ParameterModel(trained, tiny.example_inputs(), [trained.classifier])
    layers = ["features.0", "features.3", "features.7", "features.10"]
    flat = {n: (np.array([0.0, 1.0]), np.array([0.0, 1.0])) for n in layers}

    def params_of(ratios):
        return predictor.params(0.0, pruning_ratio_dict={trained.get_submodule(n): r for n, r in ratios.items() if r})

    target = predictor.params(0.3)
    ratios = protocol.greedy_ratios(flat, params_of, target)
    assert params_of(ratios) <= target
    # no single step back fits the budget: the ratios land as close to it as the steps allow
    for name, r in ratios.items():
        if r > 0:
            assert params_of({**ratios, name: max(0.0, round(r - 0.05, 10))}) > target
    model = copy.deepcopy(trained)
    tp.pruner.BasePruner(model, tiny.example_inputs(), importance=tp.importance.GroupMagnitudeImportance(p=2),
                         pruning_ratio=0.0, ignored_layers=[model.classifier],
                         pruning_ratio_dict={model.get_submodule(n): r for n, r in ratios.items() if r}).step()
    assert counting.n_params(model) == params_of(ratios)


def test_greedy_ratios_give_back_what_the_last_step_overshot():
    per_step = {"small": 10, "big": 100}

    def params_of(ratios):
        return 1000 - sum(round(r / 0.05) * per_step[n] for n, r in ratios.items())

    drops = {"small": (np.array([0, 1.0]), np.array([0, 0.001])),  # nearly free: taken first, to its limit
             "big": (np.array([0, 1.0]), np.array([0, 0.1]))}
    # "small" at 0.5 removes 100, then one step of "big" 100 more: 800 kept for a budget of 850; five
    # steps of "small" are given back, landing on the budget
    assert protocol.greedy_ratios(drops, params_of, 850, max_ratio=0.5) == {"small": 0.25, "big": 0.05}
