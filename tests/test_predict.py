"""The predictor must equal Torch-Pruning's count to the parameter, without pruning."""
import pytest

from helpers import theory, zoo
from helpers.predict import ParameterModel
from helpers.pruning import prune_copy

# (classifier ignored, round_to) x channel ratios, over the whole zoo
CONFIGS = [(True, None), (False, None), (True, 2), (True, 4), (False, 8)]
RATIOS = [0.1, 0.37, 0.5, 0.9]


@pytest.fixture(scope="module")
def built():
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = zoo.build(name)
        return cache[name]
    return get


@pytest.mark.slow
@pytest.mark.parametrize("ignore,round_to", CONFIGS, ids=lambda v: str(v))
@pytest.mark.parametrize("name", zoo.names())
def test_predictor_equals_torch_pruning(name, ignore, round_to, built):
    model, inputs, ignored = built(name)
    ignored = ignored if ignore else []
    predictor = ParameterModel(model, inputs, ignored, round_to=round_to)
    assert predictor.params(0.0) == sum(p.numel() for p in model.parameters())
    for p in RATIOS:
        result = prune_copy(model, inputs, p, ignored, round_to=round_to, count_macs=False)
        assert predictor.params(p) == result.params_after, f"{name} p={p} round_to={round_to}"


@pytest.fixture(scope="module")
def resnet18():
    model, inputs, ignored = zoo.build("resnet18")
    return model, inputs, ignored, ParameterModel(model, inputs, ignored)


def test_model_is_not_modified(resnet18):
    model, *_ = resnet18
    assert sum(p.numel() for p in model.parameters()) == 11_689_512


def test_coefficients_add_up_and_follow_the_polynomial(resnet18):
    *_, pm = resnet18
    a, b, c = pm.coefficients()
    assert a + b + c == pm.params_before
    assert a > 0.9 * pm.params_before  # resnet18 is almost all conv weights between pruned layers
    # at p=0.5 every kept width of ResNet-18 is an integer: the polynomial is exact
    assert pm.approximate_params(0.5) == pm.params(0.5)


def test_breakdown_roles_and_powers(resnet18):
    *_, pm = resnet18
    rows = {r["role"]: r for r in pm.breakdown()}
    assert sum(r["params"] for r in rows.values()) == pm.params_before
    assert rows["weights between pruned layers"]["power"] == 2
    assert rows["classifier (outputs fixed)"]["power"] == 1
    assert rows["classifier (outputs fixed)"]["params"] == 512 * 1000
    assert rows["stem (input channels fixed)"]["params"] == 64 * 3 * 7 * 7
    assert rows["normalisation"]["power"] == 1
    assert rows["not pruned"]["params"] == 1000  # the classifier's bias


def test_mobilenet_has_a_large_linear_share():
    model, inputs, ignored = zoo.build("mobilenet_v2")
    pm = ParameterModel(model, inputs, ignored)
    a, b, c = pm.coefficients()
    assert b / (a + b + c) > 0.25
    roles = {r["role"] for r in pm.breakdown()}
    assert "depthwise" in roles
    assert pm.reduction(0.5) < theory.param_reduction(0.5) - 0.05


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "regnet_y_400mf"])
@pytest.mark.parametrize("target", [0.3, 0.5, 0.7])
def test_solver_reaches_targets(name, target):
    model, inputs, ignored = zoo.build(name)
    pm = ParameterModel(model, inputs, ignored)
    p = pm.solve(target)
    miss = abs(pm.reduction(p) - target)
    # no channel ratio on a fine grid comes closer (RegNet's group widths make coarse steps)
    assert miss <= min(abs(pm.reduction(q / 1000) - target) for q in range(0, 1000, 2)) + 1e-12
    if name != "regnet_y_400mf":
        assert miss < 0.01
    assert prune_copy(model, inputs, p, ignored, count_macs=False).param_reduction == pytest.approx(pm.reduction(p), abs=1e-12)
    if name == "mobilenet_v2":  # the rule's inverse undershoots where B is large
        assert p > theory.channel_ratio_for(target)


def test_unreachable_target_names_the_maximum(resnet18):
    *_, pm = resnet18
    p_max, r_max = pm.max_reduction()
    with pytest.raises(ValueError, match=f"at most {r_max:.1%}"):
        pm.solve(min(r_max + 0.01, 0.9999))


@pytest.mark.parametrize("bad", [-0.1, 1.0, 2])
def test_bad_targets_and_ratios(resnet18, bad):
    *_, pm = resnet18
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        pm.solve(bad)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        pm.params(bad)


def test_bad_round_to(resnet18):
    model, inputs, ignored, _ = resnet18
    with pytest.raises(ValueError, match="round_to"):
        ParameterModel(model, inputs, ignored, round_to=0)
