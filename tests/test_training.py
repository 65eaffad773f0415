"""The digits data, the small CNN and its training, evaluation, pruning and fine-tuning (CPU, seconds)."""
import copy

import pytest
import torch

from helpers import checks, counting, data, predict, training
from helpers.tooling import records


@pytest.fixture(scope="module")
def digits():
    return data.load(device="cpu")


@pytest.fixture(scope="module")
def trained(digits):
    """A DigitsCNN trained for 3 epochs (a few seconds on a CPU)."""
    return training.train_baseline(digits, epochs=3, seed=0)


# ---- data -------------------------------------------------------------------------------------
def test_digits_shapes_and_split(digits):
    assert digits.x_train.shape == (1437, 1, data.SIZE, data.SIZE)
    assert digits.x_test.shape == (360, 1, data.SIZE, data.SIZE)
    assert digits.y_train.dtype == torch.long and set(digits.y_test.tolist()) == set(range(10))
    # stratified: each class gets 20% of its ~180 images, 35 to 37 of the 360 test images
    counts = torch.bincount(digits.y_test, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37, counts
    # normalised with the training images' statistics
    assert abs(float(digits.x_train.mean())) < 1e-4 and abs(float(digits.x_train.std()) - 1) < 1e-3


def test_digits_split_is_deterministic(digits):
    again = data.load(device="cpu")
    for a, b in [(digits.x_train, again.x_train), (digits.y_train, again.y_train),
                 (digits.x_test, again.x_test), (digits.y_test, again.y_test)]:
        assert torch.equal(a, b)
    other = data.load(device="cpu", split_seed=1)
    assert not torch.equal(digits.y_test, other.y_test)


def test_train_and_test_are_disjoint(digits):
    train = {tuple(row.tolist()) for row in digits.x_train.flatten(1)}
    assert not any(tuple(row.tolist()) in train for row in digits.x_test.flatten(1)[:100])


def test_train_loader_order_follows_the_seed(digits):
    def first(seed):
        return next(iter(digits.train_loader(32, seed)))[1]

    assert torch.equal(first(0), first(0))
    assert not torch.equal(first(0), first(1))


@pytest.mark.parametrize("kwargs", [{"test_fraction": 0}, {"test_fraction": 1.5}, {"size": 4}])
def test_load_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        data.load(device="cpu", **kwargs)


# ---- model --------------------------------------------------------------------------------------
def test_model_size_and_output(digits):
    model = training.new_model(0, "cpu")
    assert counting.n_params(model) == 26_030
    assert model(digits.example_inputs(4)).shape == (4, 10)
    with pytest.raises(ValueError):
        training.DigitsCNN(width=0)


def test_new_model_depends_on_seed_only():
    a, b, c = training.new_model(3, "cpu"), training.new_model(3, "cpu"), training.new_model(4, "cpu")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.classifier.weight, c.classifier.weight)


# ---- training and evaluation --------------------------------------------------------------------
def test_untrained_model_is_near_chance(digits):
    assert training.evaluate(training.new_model(0, "cpu"), digits) < 0.3


def test_short_training_beats_chance_by_far(trained, digits):
    assert training.evaluate(trained, digits) > 0.85  # chance is 0.10
    assert training.evaluate(trained, digits, split="train") > 0.85


def test_training_is_reproducible_on_cpu(digits):
    a = training.new_model(5, "cpu")
    b = training.new_model(5, "cpu")
    la = training.fit(a, digits, 1, seed=5)
    lb = training.fit(b, digits, 1, seed=5)
    assert la == lb
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_cpu_thread_setting_is_restored(digits):
    before = torch.get_num_threads()
    training.fit(training.new_model(0, "cpu"), digits, 1)
    training.evaluate(training.new_model(0, "cpu"), digits)
    assert torch.get_num_threads() == before


def test_fit_rejects_bad_epochs(digits):
    with pytest.raises(ValueError):
        training.fit(training.new_model(0, "cpu"), digits, 0)


def test_evaluate_changes_nothing(trained, digits):
    model = copy.deepcopy(trained).train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    training.evaluate(model, digits)
    assert model.training  # mode restored
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    with pytest.raises(ValueError):
        training.evaluate(model, digits, split="validation")


# ---- pruning and fine-tuning --------------------------------------------------------------------
def test_prune_and_fine_tune(trained, digits):
    before = {k: v.clone() for k, v in trained.state_dict().items()}
    trial = training.prune_and_fine_tune(trained, digits, 0.5, finetune_epochs=1)
    # the trained model is untouched; the copy lost what the exact predictor says
    assert all(torch.equal(v, before[k]) for k, v in trained.state_dict().items())
    predictor = predict.ParameterModel(trained, digits.example_inputs(), training.ignored_layers(trained))
    assert trial.params_before == 26_030
    assert trial.params_after == predictor.params(0.5) == counting.n_params(trial.model)
    assert trial.param_reduction > 0.70
    assert trial.model(digits.example_inputs(2)).shape == (2, 10)  # the classes survive
    # fine-tuning moves weights, never adds or removes any, and recovers accuracy
    assert trial.acc_finetuned > max(trial.acc_pruned, trial.acc_recalibrated) + 0.1
    row = trial.row()
    assert row["param_reduction"] == trial.param_reduction and "model" not in row


def test_fine_tune_keeps_the_parameter_count(trained, digits):
    model = copy.deepcopy(trained)
    shapes = [p.shape for p in model.parameters()]
    weight = model.classifier.weight.detach().clone()
    training.fine_tune(model, digits, 1)
    assert [p.shape for p in model.parameters()] == shapes
    assert not torch.equal(model.classifier.weight, weight)


def test_recalibrate_bn_recomputes_statistics(trained, digits):
    model = copy.deepcopy(trained)
    bn = model.features[1]
    bn.running_mean.fill_(100.0)
    training.recalibrate_bn(model, digits)
    assert bn.running_mean.abs().max() < 100.0
    torch.testing.assert_close(bn.running_mean, trained.features[1].running_mean, atol=0.2, rtol=0.2)


def test_sweep_and_summary(trained, digits):
    rows = training.sweep({0: trained, 1: trained}, digits, [0.2, 0.6], finetune_epochs=0)
    assert [(r["seed"], r["channel_ratio"]) for r in rows] == [(0, 0.2), (0, 0.6), (1, 0.2), (1, 0.6)]
    summary = training.summarise(rows)
    assert [s["channel_ratio"] for s in summary] == [0.2, 0.6]
    assert all(s["seeds"] == 2 for s in summary)
    for s in summary:
        assert s["acc_finetuned_min"] <= s["acc_finetuned_mean"] <= s["acc_finetuned_max"]
    assert summary[0]["param_reduction"] < summary[1]["param_reduction"]


def test_write_csv_records_rows_under_a_stamp(tmp_path):
    path = training.write_csv([{"a": 1, "b": 0.5}, {"a": 2, "b": 0.25}], "demo", out=tmp_path)
    stamp, rows = records.read(path)
    assert rows == [{"a": 1, "b": 0.5}, {"a": 2, "b": 0.25}]
    for key in ("device", "mode", "torch", "torch-pruning", "date"):
        assert stamp[key], key
    with pytest.raises(ValueError):
        training.write_csv([], "empty", out=tmp_path)


def test_plans():
    quick, full = training.plan("quick"), training.plan("full")
    assert len(full.seeds) >= 3 and full.train_epochs > quick.train_epochs
    assert 0.5 in quick.ratios and 0.5 in full.ratios
    with pytest.raises(ValueError):
        training.plan("medium")


# ---- feedback of the notebook's exercises on other typical mistakes -----------------------------
def test_pruned_copy_without_ignored_layers_is_told_why(capsys):
    import helpers

    def pruned_copy(model, example_inputs, p):
        pruned = copy.deepcopy(model)
        helpers.pruning.prune(pruned, example_inputs, p)
        return pruned

    assert not checks.check("10-pruned-copy", pruned_copy)
    assert "ignored_layers" in capsys.readouterr().out


def test_accuracy_as_a_count_is_told_why(capsys):
    def accuracy(model, x, y):
        model.eval()
        with torch.no_grad():
            return int((model(x).argmax(1) == y).sum())

    assert not checks.check("10-accuracy", accuracy)
    assert "fraction" in capsys.readouterr().out
