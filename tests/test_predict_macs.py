"""MAC prediction must equal Torch-Pruning's own counter (``tp.utils.count_ops_and_params``) after real
pruning, to the MAC; where a layer's channels cannot be followed it must refuse, not guess."""
import numpy as np
import pytest
import torch
from test_predict import CONFIGS, RATIOS
from torch import nn

from helpers import zoo
from helpers.counting import n_macs
from helpers.predict import ParameterModel, UnsupportedModel
from helpers.pruning import prune_copy

FAST = ["resnet18", "mobilenet_v3_small", "squeezenet1_1", "regnet_y_400mf"]
# (classifier ignored, round_to, iterative_steps, channel ratios)
SETTINGS = [(True, None, 1, (0.2, 0.5, 0.85)), (False, 8, 1, (0.37,)), (True, 8, 3, (0.5,))]


def _assert_exact(model, inputs, ignored, round_to, steps, ratios):
    predictor = ParameterModel(model, inputs, ignored, round_to=round_to, iterative_steps=steps)
    assert predictor.macs_before == n_macs(model, inputs)
    assert predictor.macs(0.0) == predictor.macs_before
    for p in ratios:
        result = prune_copy(model, inputs, p, ignored, round_to=round_to, iterative_steps=steps)
        where = f"p={p} round_to={round_to} steps={steps}"
        assert predictor.macs(p) == result.macs_after, where
        assert predictor.macs_at([p])[0] == result.macs_after, where
        assert predictor.params(p) == result.params_after, where
        assert predictor.reduction(p, by="macs") == result.mac_reduction, where
    return predictor


@pytest.mark.parametrize("ignore,round_to,steps,ratios", SETTINGS, ids=lambda v: str(v))
@pytest.mark.parametrize("name", FAST)
def test_macs_equal_torch_pruning(zoo_model, name, ignore, round_to, steps, ratios):
    model, inputs, ignored = zoo_model(name)
    _assert_exact(model, inputs, ignored if ignore else [], round_to, steps, ratios)


# Every zoo CNN in every setting, but for the three slowest to copy and trace (each ratio prunes a
# copy): VGG-16-BN (138M parameters, a plain chain of convolutions, which ResNet-18's stem and
# MobileNet's chains already cover), and DenseNet-121 and ResNet-50, checked with the classifier
# pruned (their concatenations and bottlenecks); round_to and iterative steps are replayed alike on
# every model, and the other eleven check them. The course's default setting is checked on the
# whole zoo by tests/test_readme.py, ResNet-50's README setting (round_to=2, 20 steps) there too.
SLOWEST_SETTINGS = [(False, None, 1)]
ZOO_CASES = [(name, *config) for name in zoo.names() for config in CONFIGS
             if name != "vgg16_bn" and (name not in ("densenet121", "resnet50") or config in SLOWEST_SETTINGS)]


@pytest.mark.slow
@pytest.mark.parametrize("name,ignore,round_to,steps", ZOO_CASES, ids=lambda v: str(v))
def test_macs_equal_torch_pruning_over_the_zoo(zoo_model, name, ignore, round_to, steps):
    model, inputs, ignored = zoo_model(name, small=True)
    _assert_exact(model, inputs, ignored if ignore else [], round_to, steps, RATIOS)


# ---- layers without parameters, and layers the counter treats specially --------------------------
class Mixed(nn.Module):
    """Conv1d-free but varied: a non-affine batch norm, a one-parameter PReLU, upsampling, pooling, a
    concatenation, group and instance norms, GELU and ReLU6, a Linear on a channels-last tensor with
    a LayerNorm, a subclass of Conv2d (which the counter does not count) and a reused ReLU."""

    class Quiet(nn.Conv2d):
        pass

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.bn = nn.BatchNorm2d(16, affine=False)
        self.act = nn.PReLU()
        self.up = nn.Upsample(scale_factor=2)
        self.pool = nn.MaxPool2d(2)
        self.a, self.b = nn.Conv2d(16, 12, 3, padding=1), self.Quiet(16, 20, 1)
        self.gn = nn.GroupNorm(4, 32)
        self.gelu = nn.GELU()
        self.avg = nn.AvgPool2d(2)
        self.c = nn.Conv2d(32, 24, 3, padding=1, bias=False)
        self.inorm = nn.InstanceNorm2d(24, affine=True)
        self.relu = nn.ReLU()
        self.lin = nn.Linear(24, 40)
        self.ln = nn.LayerNorm(40)
        self.relu6 = nn.ReLU6()
        self.fc = nn.Linear(40, 10)

    def forward(self, x):
        x = self.pool(self.up(self.act(self.bn(self.stem(x)))))
        x = self.avg(self.gelu(self.gn(torch.cat([self.relu(self.a(x)), self.b(x)], dim=1))))
        x = self.relu(self.inorm(self.c(x)))
        x = self.relu6(self.ln(self.lin(x.permute(0, 2, 3, 1))))  # channels last from here
        return self.fc(x.mean((1, 2)))


def test_exact_on_layers_without_parameters():
    torch.manual_seed(0)
    model, inputs = Mixed().eval(), torch.randn(1, 3, 8, 8)
    for round_to, steps in ((None, 1), (3, 1), (None, 3)):
        _assert_exact(model, inputs, [model.fc], round_to, steps, (0.1, 0.5, 0.8))
    predictor = ParameterModel(model, inputs, [model.fc])
    roles = {r["role"] for r in predictor.breakdown(by="macs")}
    assert {"activation", "pooling", "upsample", "normalisation"} <= roles


class Flat(nn.Module):
    """A ReLU after a flatten: its channels are the conv's times 16 positions, through a reshape."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(8 * 16, 10)

    def forward(self, x):
        return self.fc(self.relu(torch.flatten(self.conv(x), 1)))


def test_a_layer_whose_channels_cannot_be_followed_is_refused_for_macs_only():
    torch.manual_seed(0)
    model, inputs = Flat().eval(), torch.randn(1, 3, 8, 8)
    # the refusal is needed: the ReLU's count does change with pruning
    before = n_macs(model, inputs)
    assert prune_copy(model, inputs, 0.5, [model.fc]).macs_after < before
    predictor = ParameterModel(model, inputs, [model.fc])
    assert predictor.params(0.5) == prune_copy(model, inputs, 0.5, [model.fc], count_macs=False).params_after
    for ask in (lambda: predictor.macs(0.5), lambda: predictor.macs_before, lambda: predictor.solve(0.5, by="macs"),
                lambda: predictor.coefficients(by="macs"), lambda: predictor.breakdown(by="macs")):
        with pytest.raises(UnsupportedModel, match=r"relu \(ReLU\) sees channels that cannot be traced back"):
            ask()


# ---- coefficients and breakdown ------------------------------------------------------------------
@pytest.fixture(scope="module")
def resnet18(zoo_model):
    model, inputs, ignored = zoo_model("resnet18")
    return ParameterModel(model, inputs, ignored)


def test_mac_coefficients_add_up_and_follow_the_polynomial(resnet18):
    a, b, c = resnet18.coefficients(by="macs")
    assert a + b + c == resnet18.macs_before
    assert a > 0.9 * resnet18.macs_before  # almost all of ResNet-18's MACs are convs between pruned layers
    assert c == 1000  # only the classifier's bias keeps its MACs (the counter adds it once per call)
    # at p = 0.5 every kept width of ResNet-18 is an integer: the polynomial is exact
    assert a // 4 + b // 2 + c == resnet18.macs(0.5)
    assert resnet18.coefficients() == resnet18.coefficients(by="params")  # the default is unchanged


def test_mac_breakdown(resnet18):
    rows = {r["role"]: r for r in resnet18.breakdown(by="macs")}
    assert sum(r["macs"] for r in rows.values()) == resnet18.macs_before
    assert sum(r["share"] for r in rows.values()) == pytest.approx(1.0)
    assert rows["weights between pruned layers"]["power"] == 2
    assert rows["stem (input channels fixed)"]["macs"] == 64 * 3 * 7 * 7 * 112 * 112
    assert rows["classifier (outputs fixed)"]["macs"] == 512 * 1000
    assert rows["pooling"]["power"] == 1 and rows["activation"]["power"] == 1
    assert "params" in resnet18.breakdown()[0] and "macs" not in resnet18.breakdown()[0]


# ---- the MAC solver ------------------------------------------------------------------------------
def _grid_best(predictor, target, step=10_000):
    ps = np.arange(step) / step
    ps = ps[ps <= predictor.max_reduction(by="macs")[0]]  # the ratios solve searches
    miss = np.abs(1.0 - predictor.macs_at(ps) / predictor.macs_before - target)
    return float(ps[int(np.argmin(miss))]), float(miss.min())


@pytest.mark.parametrize("round_to", [None, 8])
@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small", "regnet_y_400mf"])
def test_mac_solver_is_the_best_ratio_on_a_fine_grid(zoo_model, name, round_to):
    predictor = ParameterModel(*zoo_model(name), round_to=round_to)
    p_max, r_max = predictor.max_reduction(by="macs")
    ps = np.arange(100_000) / 100_000
    assert r_max >= 1.0 - predictor.macs_at(ps).min() / predictor.macs_before
    assert predictor.reduction(p_max, by="macs") == r_max
    for target in [t for t in (0.01, 0.3, 0.5, 0.75) if t < r_max] + [r_max]:
        p = predictor.solve(target, by="macs")
        p_grid, miss_grid = _grid_best(predictor, target)
        miss = abs(predictor.reduction(p, by="macs") - target)
        # ties go to the smaller ratio's plateau, the one with more MACs left
        assert miss < miss_grid or (miss == miss_grid and predictor.macs(p) >= predictor.macs(p_grid)), \
            (target, p, p_grid)
    table = predictor._plateaus("macs")
    predictor.solve(0.42, by="macs")
    assert predictor._plateaus("macs") is table
    assert predictor.solve(0.5) == predictor.solve(0.5, by="params")


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small"])
def test_mac_solved_ratio_prunes_to_the_predicted_count(zoo_model, name):
    model, inputs, ignored = zoo_model(name)
    predictor = ParameterModel(model, inputs, ignored)
    p = predictor.solve(0.5, by="macs")
    result = prune_copy(model, inputs, p, ignored)
    assert result.macs_after == predictor.macs(p)
    assert abs(result.mac_reduction - 0.5) < 0.01
    if name == "mobilenet_v3_small":  # its classifier holds many parameters and few MACs
        assert p < predictor.solve(0.5, by="params")


def test_unreachable_mac_target_names_the_maximum(resnet18):
    p_max, r_max = resnet18.max_reduction(by="macs")
    with pytest.raises(ValueError, match=f"MAC reduction cannot be reached.*at most {r_max:.2%}"):
        resnet18.solve(min(r_max + 0.01, 0.9999), by="macs")


@pytest.mark.parametrize("bad", ["flops", "MACs", None, 1])
def test_bad_by_is_refused_naming_the_options(resnet18, bad):
    for ask in (lambda: resnet18.coefficients(by=bad), lambda: resnet18.breakdown(by=bad),
                lambda: resnet18.solve(0.5, by=bad), lambda: resnet18.max_reduction(by=bad),
                lambda: resnet18.reduction(0.5, by=bad)):
        with pytest.raises(ValueError, match=r"by must be one of 'params', 'macs'"):
            ask()


@pytest.mark.parametrize("bad", [float("nan"), -0.1, 1.0])
def test_bad_ratios_for_macs(resnet18, bad):
    for ask in (resnet18.macs, lambda b: resnet18.macs_at([0.1, b]), lambda b: resnet18.solve(b, by="macs")):
        with pytest.raises(ValueError, match=r"\[0, 1\)"):
            ask(bad)


def test_solver_stays_below_the_ratio_of_the_largest_reduction():
    # ResNet-50 loses 49.8% of its MACs at p = 0.9976, where Torch-Pruning leaves its 64-channel groups
    # whole: a count closer to 50% than any plateau near p = 0.3, and not a ratio anyone asks for
    predictor = ParameterModel(*zoo.build("resnet50"))
    assert abs(predictor.reduction(0.9976, by="macs") - 0.5) < abs(predictor.reduction(0.2969, by="macs") - 0.5)
    p_max, _ = predictor.max_reduction(by="macs")
    p = predictor.solve(0.5, by="macs")
    assert p < 0.5 < p_max < 0.9976
    assert abs(predictor.reduction(p, by="macs") - 0.5) < 0.005
