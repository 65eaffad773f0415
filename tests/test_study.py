"""helpers.study, what notebooks 11 and 12's accuracy study adds to the pipeline of helpers.training:
choices on validation, the from-scratch control, paired intervals, the sensitivity scan and the greedy
ratios, on tiny data (CPU, seconds).

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

from helpers import counting, study, training
from helpers.predict import ParameterModel


@pytest.fixture(scope="module")
def tiny():
    return training.load(device="cpu", val_fraction=0.2, train_size=60)


@pytest.fixture(scope="module")
def trained(tiny):
    model = training.new_model(0, "cpu", width=4)
    training.fit(model, tiny, 4, batch_size=16)
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
    quick, full = study.study("quick"), study.study("full")
    assert len(full.seeds) >= 10 and len(quick.seeds) >= 2  # an interval needs two seeds; full mode ten
    assert full.max_train_steps >= quick.max_train_steps > quick.first_train_steps
    assert full.long_finetune_steps > full.finetune_steps and quick.long_finetune_steps > quick.finetune_steps
    assert set(quick.budgets) == {0.5, 0.75} and len(quick.lr_grid) >= 2 and len(quick.train_lr_grid) >= 2
    with pytest.raises(ValueError):
        study.study("slow")


def test_load_splits_one_split_per_seed():
    s = dataclasses.replace(study.study("quick"), train_size=30, seeds=(0, 1))
    splits = study.load_splits(s, "cpu")
    assert sorted(splits) == [0, 1]
    for seed, d in splits.items():
        assert len(d.y_train) == 30 and d.has_val
        again = training.load(device="cpu", val_fraction=s.val_fraction, train_size=30, split_seed=seed)
        assert torch.equal(d.x_test, again.x_test)
    assert not torch.equal(splits[0].y_test, splits[1].y_test)  # each seed draws its own split


def test_train_baselines_one_per_seed(step_count):
    s = dataclasses.replace(study.study("quick"), train_size=30, seeds=(0, 1), width=4)
    datas = study.load_splits(s, "cpu")
    models = study.train_baselines(datas, s, 3, 1e-2)
    assert sorted(models) == [0, 1] and step_count["steps"] == 2 * 3
    assert all(m.classifier.in_features == 2 * 4 for m in models.values())
    again = training.train_baseline(datas[1], 3, seed=1, width=4, lr=1e-2)
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in models[1].state_dict().items())


def _fake_training(monkeypatch, accuracy):
    """train_baseline and evaluate replaced: a 'model' remembers (steps, lr, seed) and its validation
    accuracy is accuracy(steps, lr, seed); the test split is never read."""
    trained = []

    def train_baseline(d, steps, seed=0, width=20, lr=3e-3, batch_size=64):
        trained.append((steps, lr, seed))
        return (steps, lr, seed)

    def evaluate(model, d, split="test"):
        assert split == "val"
        return accuracy(*model)

    monkeypatch.setattr(training, "train_baseline", train_baseline)
    monkeypatch.setattr(training, "evaluate", evaluate)
    return trained


def test_train_to_plateau_stops_when_doubling_gains_nothing_beyond_noise(monkeypatch):
    # accuracy rises clearly up to 40 steps, then by a noisy +-0.5 point around zero; lr 0.01 is best
    def accuracy(steps, lr, seed):
        base = {10: 0.70, 20: 0.80, 40: 0.90}.get(steps, 0.90)
        return base + (0.02 if lr == 1e-2 else 0) + (0.005 if steps > 40 and seed % 2 else -0.005 if steps > 40 else 0)

    trained = _fake_training(monkeypatch, accuracy)
    s = dataclasses.replace(study.study("quick"), seeds=(0, 1, 2, 3), first_train_steps=10, max_train_steps=1000,
                            train_lr_grid=(1e-2, 3e-3))
    result = study.train_to_plateau({seed: None for seed in s.seeds}, s)
    assert (result.steps, result.lr) == (40, 1e-2)
    assert result.models == {seed: (40, 1e-2, seed) for seed in s.seeds}
    assert [r["steps"] for r in result.search] == [10, 20, 40, 80]
    assert [r["verdict"] for r in result.search] == [None, "higher", "higher", "within noise"]
    assert result.search[1]["gain"][0] == pytest.approx(0.10)
    assert {steps for steps, _, _ in trained} == {10, 20, 40, 80}  # every count at every rate, on every seed
    assert len(trained) == 4 * 2 * 4


def test_train_to_plateau_refuses_a_curve_that_still_rises(monkeypatch):
    _fake_training(monkeypatch, lambda steps, lr, seed: 1 - 1 / steps + 1e-4 * seed)
    s = dataclasses.replace(study.study("quick"), seeds=(0, 1, 2), first_train_steps=10, max_train_steps=40)
    with pytest.raises(ValueError, match="max_train_steps"):
        study.train_to_plateau({seed: None for seed in s.seeds}, s)


# ---- choosing on validation ---------------------------------------------------------------------------
def test_choose_takes_the_best_mean_and_the_first_of_ties():
    scores = {"a": [0.5, 0.7], "b": [0.8, 0.6], "c": [0.7, 0.7]}
    best, rows = study.choose(["a", "b", "c"], scores.__getitem__)
    assert best == "b"  # mean 0.7, listed before "c", which has the same mean
    assert [r["option"] for r in rows] == ["a", "b", "c"]
    assert (rows[0]["val_mean"], rows[0]["val_low"], rows[0]["val_high"]) == pytest.approx(training.mean_ci([0.5, 0.7]))
    with pytest.raises(ValueError):
        study.choose([], scores.__getitem__)


def test_tune_reads_validation_only_and_keeps_the_chosen_runs(tiny, trained):
    poisoned = dataclasses.replace(tiny, x_test=torch.full_like(tiny.x_test, math.nan))

    def arm(data):
        return lambda lr: [training.prune_and_fine_tune(trained, data, uniform(0.5), 2, lr=lr, seed=seed)
                           for seed in (0, 1)]
    lr, runs, rows = study.tune((1e-2, 1e-3), arm(tiny))
    lr2, _, rows2 = study.tune((1e-2, 1e-3), arm(poisoned))
    assert (lr, [r["val_mean"] for r in rows]) == (lr2, [r["val_mean"] for r in rows2])  # test images change nothing
    assert [r["option"] for r in rows] == [1e-3, 1e-2]  # the grid in increasing order: ties to the smaller rate
    assert lr == max(rows, key=lambda r: (r["val_mean"], -r["option"]))["option"]
    assert [r.lr for r in runs] == [lr, lr] and [r.seed for r in runs] == [0, 1]  # the chosen rate's runs, not rerun
    assert rows[[1e-3, 1e-2].index(lr)]["val_mean"] == pytest.approx(np.mean([r.acc_val for r in runs]))
    no_val = dataclasses.replace(tiny, x_val=None, y_val=None)
    with pytest.raises(ValueError, match="val_fraction"):
        study.tune((1e-3,), arm(no_val))


# ---- the from-scratch control -----------------------------------------------------------------------
def test_reinitialised_keeps_the_architecture_and_forgets_the_weights(tiny, trained):
    pruned = uniform(0.5)(copy.deepcopy(trained), tiny)
    fresh, again, other = (study.reinitialised(pruned, s) for s in (3, 3, 4))
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
    pruned = training.prune_and_fine_tune(trained, tiny, uniform(0.5), F, seed=0, arm="solver", budget=0.5,
                                          pretrain_steps=T, batch_size=16)
    before = step_count["steps"]
    scratch = study.train_from_scratch(pruned.model, tiny, T + F, seed=0, params_before=counting.n_params(trained),
                                       budget=0.5, batch_size=16)
    assert step_count["steps"] - before == T + F == scratch.total_steps == pruned.total_steps
    assert (scratch.arm, scratch.budget, scratch.pretrain_steps) == ("scratch", 0.5, 0)
    assert scratch.acc_test_pruned is None and scratch.acc_val_pruned is None and scratch.acc_test_before_refresh is None
    assert scratch.params == pruned.params and scratch.param_reduction == pytest.approx(pruned.param_reduction)
    assert scratch.model is not pruned.model
    assert scratch.acc_val == training.evaluate(scratch.model, tiny, "val")
    assert scratch.acc_test == training.evaluate(scratch.model, tiny)
    # the pruned architecture, trained afresh by the baseline's recipe
    again = study.reinitialised(pruned.model, 0)
    training.fit(again, tiny, T + F, seed=0, batch_size=16)
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in scratch.model.state_dict().items())


def test_compute_matched_steps_is_scratch_b():
    # 100 dense steps at 4 units and 20 pruned steps at 1 unit cost as much as 420 pruned steps
    assert study.compute_matched_steps(100, 4, 20, 1) == 420
    assert study.compute_matched_steps(10, 3, 0, 2) == 15 and study.compute_matched_steps(10, 3, 1, 4) == 9  # rounded up
    assert study.compute_matched_steps(7, 5, 3, 5) == 10  # nothing pruned: as many steps
    with pytest.raises(ValueError):
        study.compute_matched_steps(10, 0, 1, 1)


# ---- intervals ---------------------------------------------------------------------------------------------
ROWS = [{"seed": s, "arm": a, "budget": 0.5, "acc": v, "params": 7}
        for a, vals in [("a", [0.90, 0.80, 0.70]), ("b", [0.88, 0.775, 0.685])] for s, v in enumerate(vals)]


def test_paired_is_the_interval_of_per_seed_differences():
    mean, low, high = study.paired(ROWS, "acc", {"arm": "a"}, {"arm": "b"})
    diffs = [0.02, 0.025, 0.015]
    half = 4.302652729911275 * np.std(diffs, ddof=1) / math.sqrt(3)
    assert mean == pytest.approx(0.02) and (low, high) == pytest.approx((0.02 - half, 0.02 + half))
    assert low > 0  # clear, though the arms' own intervals overlap widely
    own = [training.mean_ci([r["acc"] for r in ROWS if r["arm"] == arm]) for arm in "ab"]
    assert own[0][1] < own[1][2]


def test_paired_needs_the_same_seeds():
    with pytest.raises(ValueError, match="same seeds"):
        study.paired(ROWS[:-1], "acc", {"arm": "a"}, {"arm": "b"})
    with pytest.raises(ValueError, match="two rows"):
        study.paired(ROWS + ROWS[:1], "acc", {"arm": "a"}, {"arm": "b"})


def test_verdict():
    assert study.verdict(0.001, 0.2) == "higher" and study.verdict(-0.3, -0.01) == "lower"
    assert study.verdict(-0.1, 0.1) == "within noise" and study.verdict(0.0, 0.0) == "within noise"
    with pytest.raises(ValueError):
        study.verdict(0.2, 0.1)


def test_points():
    assert study.points(0.012, -0.003, 0.027) == "+1.2 points (-0.3 to +2.7)"
    assert study.points(-0.2, -0.25, -0.15) == "-20.0 points (-25.0 to -15.0)"


def test_paired_p_is_the_paired_t_test():
    from scipy import stats

    p = study.paired_p(ROWS, "acc", {"arm": "a"}, {"arm": "b"})
    assert p == pytest.approx(stats.ttest_rel([0.90, 0.80, 0.70], [0.88, 0.775, 0.685]).pvalue)
    assert p < 0.05 < stats.ttest_ind([0.90, 0.80, 0.70], [0.88, 0.775, 0.685]).pvalue  # pairing is what finds it
    assert study.paired_p(ROWS, "acc", {"arm": "a"}, {"arm": "a"}) == 1.0  # identical arms: no evidence at all


def test_holm_adjusts_step_down():
    # sorted 0.01, 0.02, 0.04 times 3, 2, 1 -> 0.03, 0.04, 0.04; returned in the input order
    assert study.holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert study.holm([0.03, 0.5]) == pytest.approx([0.06, 0.5])
    assert study.holm([0.6, 0.9]) == pytest.approx([1.0, 1.0])  # monotone and capped at 1
    assert study.holm([0.02]) == [0.02]
    with pytest.raises(ValueError):
        study.holm([0.1, 1.2])


def test_compare_tests_a_family():
    a = [0.90, 0.80, 0.70, 0.85, 0.75]
    arms = {"a": a, "b": [x - d for x, d in zip(a, [0.05, 0.052, 0.048, 0.051, 0.049])],
            "c": [x + d for x, d in zip(a, [0.01, -0.01, 0.005, -0.005, 0.0])]}
    rows = [{"seed": s, "arm": k, "acc": v, "acc2": 1 - v} for k, vals in arms.items() for s, v in enumerate(vals)]
    pairs = [({"arm": "a"}, {"arm": "b"}), ({"arm": "a"}, {"arm": "c"}), ({"arm": "a"}, {"arm": "b"}, "acc2")]
    family = study.compare(rows, "acc", pairs)
    ps = [study.paired_p(rows, "acc", *pairs[0]), study.paired_p(rows, "acc", *pairs[1]),
          study.paired_p(rows, "acc2", *pairs[0])]
    assert [d["p"] for d in family] == pytest.approx(ps) and [d["key"] for d in family] == ["acc", "acc", "acc2"]
    assert [d["p_holm"] for d in family] == pytest.approx(study.holm(ps))
    assert [d["verdict"] for d in family] == ["higher", "within noise", "lower"]
    assert (family[0]["mean"], family[0]["low"], family[0]["high"]) == pytest.approx(study.paired(rows, "acc", *pairs[0]))
    # alone, ROWS' difference (p about 0.02) is one; in a family of three it no longer survives the correction
    alone = study.compare(ROWS, "acc", [({"arm": "a"}, {"arm": "b"})])[0]
    assert alone["p_holm"] == alone["p"] < 0.05 and alone["verdict"] == "higher"
    three = study.compare(ROWS, "acc", [({"arm": "a"}, {"arm": "b"})] * 2 + [({"arm": "a"}, {"arm": "a"})])
    assert [d["verdict"] for d in three] == ["within noise"] * 3


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
    rows = study.sensitivity({0: trained}, {0: poisoned}, ["features.0", "features.7"], [0.25, 0.5], prune_layer)
    assert calls == [("features.0", 0.25), ("features.0", 0.5), ("features.7", 0.25), ("features.7", 0.5)]
    base = training.evaluate(trained, tiny, "val")
    assert all(r["drop"] == pytest.approx(base - r["acc_val"]) for r in rows)
    assert all(torch.equal(v, before[k]) for k, v in trained.state_dict().items())
    drops = study.mean_drops(rows + [{**r, "seed": 1, "drop": r["drop"] + 0.1} for r in rows])
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
    ratios = study.greedy_ratios(drops, params_of, 600)
    assert params_of(ratios) <= 600
    assert ratios == {"cheap": 0.2, "dear": 0.0, "small": 0.0}  # same drop as "small", ten times the parameters
    # once "cheap" is at its limit, "dear" costs less accuracy per parameter than "small"
    assert study.greedy_ratios(drops, params_of, -500, max_ratio=0.5) == {"cheap": 0.5, "dear": 0.25, "small": 0.0}
    with pytest.raises(ValueError, match="no ratios"):
        study.greedy_ratios(drops, params_of, -10_000)
    with pytest.raises(ValueError):
        study.greedy_ratios(drops, params_of, 600, step=0)


def test_greedy_ratios_with_the_exact_predictor(tiny, trained):
    predictor = ParameterModel(trained, tiny.example_inputs(), [trained.classifier])
    layers = ["features.0", "features.3", "features.7", "features.10"]
    flat = {n: (np.array([0.0, 1.0]), np.array([0.0, 1.0])) for n in layers}

    def params_of(ratios):
        return predictor.params(0.0, pruning_ratio_dict={trained.get_submodule(n): r for n, r in ratios.items() if r})

    target = predictor.params(0.3)
    ratios = study.greedy_ratios(flat, params_of, target)
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
    assert study.greedy_ratios(drops, params_of, 850, max_ratio=0.5) == {"small": 0.25, "big": 0.05}
