import pytest
import torch
from torch import nn

from helpers import counting, predict, pruning, sweep, zoo


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(3, 16, 3, padding=1)
        self.bn0 = nn.BatchNorm2d(16)
        self.conv1 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = torch.relu(self.bn0(self.conv0(x)))
        x = torch.relu(self.bn1(self.conv1(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


def tiny():
    torch.manual_seed(0)
    model = Tiny().eval()
    return model, torch.randn(1, 3, 16, 16), [model.fc]


def test_group_layers_counts_what_one_channel_removes():
    model, inputs, _ = tiny()
    rows = sweep.group_layers(model, inputs, model.conv0)
    assert rows == [
        {"layer": "conv0", "type": "Conv2d", "pruned": "out", "params_per_channel": 3 * 9 + 1},
        {"layer": "bn0", "type": "BatchNorm2d", "pruned": "out", "params_per_channel": 2},
        {"layer": "conv1", "type": "Conv2d", "pruned": "in", "params_per_channel": 32 * 9},
    ]
    assert sum(p.numel() for p in model.parameters()) == counting.n_params(model)  # the model is untouched
    assert model.conv0.out_channels == 16


def test_resnet18_stem_group_spans_the_first_stage():
    model, inputs, _ = zoo.build("resnet18")
    rows = sweep.group_layers(model, inputs, model.conv1)
    by_layer = {r["layer"]: r for r in rows}
    assert by_layer["conv1"]["params_per_channel"] == 3 * 7 * 7
    assert by_layer["layer1.0.conv2"]["pruned"] == "out" and by_layer["layer2.0.conv1"]["pruned"] == "in"
    assert sum(r["params_per_channel"] for r in rows) == 3737


def test_group_layers_refuses_foreign_or_unprunable_layers():
    model, inputs, _ = tiny()
    with pytest.raises(ValueError, match="module of model"):
        sweep.group_layers(model, inputs, nn.Conv2d(3, 3, 1))
    with pytest.raises(ValueError, match="Conv or Linear"):
        sweep.group_layers(model, inputs, model.bn0)


def test_groups_lists_roots_in_module_order():
    model, inputs, ignored = tiny()
    assert sweep.groups(model, inputs, ignored) == [
        {"root": "conv0", "channels": 16, "layers": 3}, {"root": "conv1", "channels": 32, "layers": 3}]


@pytest.mark.parametrize("ratios,expected", [((0.1, 0.2, 0.3, 0.4, 0.5, 0.6), (0.6, 6)), ((0.3, 0.5), (0.5, 5)),
                                             ((0.25, 0.5), (0.5, 2)), ((0.5,), (0.5, 1)), ((0.0,), (0.0, 1))])
def test_schedule_passes_through_every_ratio(ratios, expected):
    assert sweep.schedule(ratios) == expected


def test_schedule_rejects_bad_ratios():
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        sweep.schedule([0.3, 1.2])
    with pytest.raises(ValueError, match="at least one"):
        sweep.schedule([])


def test_ratio_sweep_matches_one_shot_pruning_and_the_predictor():
    model, inputs, ignored = tiny()
    predictor = predict.ParameterModel(model, inputs, ignored)
    rows = sweep.ratio_sweep(model, inputs, [0.0, 0.25, 0.5], ignored, macs=True,
                             on_step=lambda m, p: {"width": m.conv0.out_channels})
    assert [r["channel_ratio"] for r in rows] == [0.0, 0.25, 0.5]
    assert [r["width"] for r in rows] == [16, 12, 8]
    assert rows[0]["macs"] > rows[1]["macs"] > rows[2]["macs"]
    for r in rows:
        assert r["params"] == predictor.params(r["channel_ratio"])
        fresh, x, fresh_ignored = tiny()
        if r["channel_ratio"]:
            pruning.prune(fresh, x, r["channel_ratio"], fresh_ignored)
        assert r["params"] == counting.n_params(fresh)


class Grouped(nn.Module):
    """A grouped conv between two plain ones: BasePruner prunes within each of its 4 channel groups."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, padding=1)
        self.grouped = nn.Conv2d(32, 48, 3, padding=1, groups=4)
        self.head = nn.Conv2d(48, 24, 1)
        self.fc = nn.Linear(24, 10)

    def forward(self, x):
        return self.fc(self.head(torch.relu(self.grouped(torch.relu(self.stem(x))))).mean((2, 3)))


def grouped():
    torch.manual_seed(0)
    model = Grouped().eval()
    return model, torch.randn(1, 3, 8, 8), [model.fc]


RATIOS = [0.2, 0.4, 0.6, 0.8]


def test_iterative_equals_one_shot_without_rounding():
    """Each step keeps int(C0 * (1 - p)) of a group's initial width C0, as one step to p does."""
    for build in (tiny, grouped):
        model, inputs, ignored = build()
        predictor = predict.ParameterModel(model, inputs, ignored)
        rows = sweep.ratio_sweep(model, inputs, RATIOS, ignored)
        assert [r["params"] for r in rows] == [predictor.params(p) for p in RATIOS]


def test_iterative_differs_from_one_shot_with_round_to():
    """With round_to the path matters: a grouped conv rounds each step's cut against its current
    width, and a 16-channel group whose rounded width would reach 0 is skipped in one step but not
    after a first, partial step. ratio_sweep's rows are then the schedule's own counts."""
    for build, round_to in ((grouped, 3), (tiny, 8)):
        model, inputs, ignored = build()
        one_shot = [pruning.prune_copy(model, inputs, p, ignored, round_to=round_to, count_macs=False).params_after
                    for p in RATIOS]
        assert one_shot == [predict.ParameterModel(model, inputs, ignored, round_to=round_to).params(p)
                            for p in RATIOS]
        rows = sweep.ratio_sweep(model, inputs, RATIOS, ignored, round_to=round_to)
        assert [r["params"] for r in rows] != one_shot, build.__name__
        # the iterative schedule itself is predicted exactly
        for steps in (2, 4):
            predictor = predict.ParameterModel(model, inputs, ignored, round_to=round_to, iterative_steps=steps)
            for p in RATIOS:
                measured = pruning.prune_copy(model, inputs, p, ignored, round_to=round_to, iterative_steps=steps,
                                              count_macs=False).params_after
                assert predictor.params(p) == measured, (build.__name__, steps, p)


def test_ratio_sweep_with_an_explicit_schedule_and_round_to():
    model, inputs, ignored = tiny()
    rows = sweep.ratio_sweep(model, inputs, [0.3], ignored, round_to=4, pruning_ratio=0.6, iterative_steps=2)
    assert model.conv0.out_channels == 8  # int(16 * 0.7) = 11, rounded down to 8
    assert rows[0]["params"] == predict.ParameterModel(*tiny(), round_to=4).params(0.3)


def test_ratio_sweep_says_when_the_schedule_misses_a_ratio():
    model, inputs, ignored = tiny()
    with pytest.raises(ValueError, match="never reaches"):
        sweep.ratio_sweep(model, inputs, [0.3], ignored, pruning_ratio=0.5, iterative_steps=2)


def test_zoo_sweep_measures_predicts_and_runs_forward():
    rows = sweep.zoo_sweep(["mobilenet_v3_small"], [0.3, 0.5])
    assert [r["channel_ratio"] for r in rows] == [0.3, 0.5]
    for r in rows:
        assert r["params_after"] == r["predicted_params_after"]
        assert r["macs_after"] == r["predicted_macs_after"] < r["macs_before"]
        assert r["mac_reduction"] == r["predicted_mac_reduction"]
        assert r["param_reduction"] < r["rule_reduction"]  # depthwise convs shrink like (1-p), not (1-p)^2
        assert r["output_shape"] == (1, 1000)


def test_settings_table_measures_and_predicts_each_setting():
    rows = sweep.settings_table("mobilenet_v3_small", [
        {"label": "default", "channel_ratio": 0.5},
        {"label": "classes pruned", "channel_ratio": 0.5, "ignore_classifier": False},
        {"label": "round_to", "channel_ratio": 0.5, "round_to": 8},
        {"label": "iterative", "channel_ratio": 0.5, "iterative_steps": 2},
        {"label": "global", "channel_ratio": 0.5, "global_pruning": True},
    ])
    by = {r["label"]: r for r in rows}
    for label in ("default", "classes pruned", "round_to", "iterative"):
        assert by[label]["params_after"] == by[label]["predicted_params_after"], label
    assert by["global"]["predicted_params_after"] is None
    assert by["iterative"]["params_after"] == by["default"]["params_after"]
    assert by["round_to"]["params_after"] != by["default"]["params_after"]
    assert by["classes pruned"]["output_shape"] == (1, 500) and by["default"]["output_shape"] == (1, 1000)


def test_settings_table_rejects_unknown_settings():
    with pytest.raises(ValueError, match="unknown setting"):
        sweep.settings_table("mobilenet_v3_small", [{"channel_ratio": 0.5, "round_too": 8}])
