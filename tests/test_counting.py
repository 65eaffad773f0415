"""helpers.counting: the formulas agree with numel(), the tables add up, shrinkage powers are read right."""
import pytest
import torch
from torch import nn

from helpers import counting, pruning, zoo
from helpers.checks import theory as theory_exercises


@pytest.mark.parametrize("layer", [
    nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False),
    nn.Conv2d(64, 128, 3),
    nn.Conv2d(128, 128, 3, groups=32, bias=False),
    nn.Conv2d(96, 96, 3, groups=96),
    nn.Conv2d(32, 64, (1, 5), groups=32),
    nn.Conv1d(8, 16, 3),
    nn.Linear(512, 1000),
    nn.Linear(10, 5, bias=False),
    nn.BatchNorm2d(64),
    nn.BatchNorm2d(64, affine=False),
    nn.LayerNorm(96),
    nn.GroupNorm(4, 32),
    nn.ReLU(),
], ids=repr)
def test_formula_matches_numel(layer):
    assert counting.formula(layer) == sum(p.numel() for p in layer.parameters())


def test_named_formulas():
    assert counting.conv2d_params(128, 256, 3, bias=False) == 294_912
    assert counting.conv2d_params(96, 96, 3, groups=96) == 96 * 9 + 96
    assert counting.conv2d_params(64, 64, (1, 3), bias=False) == 64 * 64 * 3
    assert counting.linear_params(512, 1000) == 513_000
    assert counting.norm_params(64) == 128 and counting.norm_params(64, affine=False) == 0
    with pytest.raises(ValueError, match="groups"):
        counting.conv2d_params(10, 12, 3, groups=4)


def test_formula_text():
    assert counting.formula_text(nn.Conv2d(3, 64, 7, bias=False)) == "64 x 3/1 x 7 x 7"
    assert counting.formula_text(nn.Linear(512, 1000)) == "1000 x 512 + 1000"
    assert counting.formula_text(nn.BatchNorm2d(64)) == "2 x 64"


def test_unknown_layer_with_parameters_is_refused():
    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.s = nn.Parameter(torch.ones(3))

    with pytest.raises(NotImplementedError, match="Scale"):
        counting.formula(Scale())


def test_layer_table_resnet18_adds_up():
    model, x, _ = zoo.build("resnet18")
    rows = counting.layer_table(model, x)
    macs, params = counting.count(model, x)
    assert sum(r["params"] for r in rows) == params == 11_689_512
    assert sum(r["macs"] for r in rows) == macs
    assert all(r["params"] == r["formula"] for r in rows)
    types = {t["type"]: t for t in counting.by_type(rows)}
    assert types["Conv2d"]["layers"] == 20 and types["BatchNorm2d"]["buffers"] == 9_600 + 20
    assert abs(sum(t["param_share"] for t in types.values()) - 1) < 1e-12
    stem = next(r for r in rows if r["layer"] == "conv1")
    assert stem["macs"] == stem["params"] * 112 * 112  # one MAC per weight per output position


def test_scaling_reads_the_powers_of_a_chain():
    model = counting.plain_cnn(widths=(8, 16, 16))
    before = counting.snapshot(model)
    assert before["0.weight"] == ("conv weight", 3 * 8 * 9)
    pruning.prune(model, torch.randn(1, 3, 16, 16), 0.5, ignored_layers=[model[-1]])
    rows = {r["tensor"]: r for r in counting.scaling(before, model, 0.5)}
    assert [rows[n]["power"] for n in ("0.weight", "2.weight", "4.weight", "8.weight", "8.bias")] == [1, 2, 2, 1, 0]
    assert all(r["exact"] for r in rows.values())
    a, b, c = counting.by_power(list(rows.values()))
    assert (a, b, c) == (8 * 16 * 9 + 16 * 16 * 9, 3 * 8 * 9 + 16 * 10, 10)
    kinds = counting.scaling_by_kind(list(rows.values()))
    assert [k["power"] for k in kinds] == sorted((k["power"] for k in kinds), reverse=True)


def test_scaling_refuses_p_zero_and_lost_tensors():
    model = counting.plain_cnn(widths=(4,))
    before = counting.snapshot(model)
    with pytest.raises(ValueError, match="p=0"):
        counting.scaling(before, model, 0.0)
    with pytest.raises(ValueError, match="disappeared"):
        counting.scaling({**before, "gone.weight": ("conv weight", 4)}, model, 0.5)


def test_tensor_kinds():
    assert counting.tensor_kind(nn.Conv2d(8, 8, 3, groups=8), "weight") == "depthwise conv weight"
    assert counting.tensor_kind(nn.Conv2d(8, 8, 3, groups=2), "weight") == "grouped conv weight"
    assert counting.tensor_kind(nn.Conv2d(8, 8, 3), "bias") == "bias"
    assert counting.tensor_kind(nn.BatchNorm2d(8), "bias") == "normalisation"


def test_plain_cnn_checks_widths():
    with pytest.raises(ValueError, match="widths"):
        counting.plain_cnn(widths=(8, 0))
    assert counting.plain_cnn(widths=(8, 16))(torch.randn(2, 3, 8, 8)).shape == (2, 10)


def test_mobilenet_v2_exercise_constants():
    """The 03-mobilenetv2-reduction check compares with these counts: prune to confirm them."""
    model, x, ignored = zoo.build("mobilenet_v2")
    result = pruning.prune(model, x, 0.5, ignored)
    assert (result.params_before, result.params_after) == theory_exercises.MOBILENET_V2_PARAMS


def test_by_stage_keeps_model_order():
    model = counting.plain_cnn(widths=(8, 16))
    rows = counting.layer_table(model, torch.randn(1, 3, 8, 8))
    stages = counting.by_stage(rows)
    assert [s["stage"] for s in stages] == [str(i) for i in range(len(model))]
    assert sum(s["params"] for s in stages) == sum(p.numel() for p in model.parameters())
    assert abs(sum(s["mac_share"] for s in stages) - 1) < 1e-12
