"""The predictor must equal Torch-Pruning's count to the parameter, without pruning."""
import math

import numpy as np
import pytest
import torch
import torchvision.models as tvm

from helpers import theory, zoo
from helpers.predict import ParameterModel
from helpers.pruning import prune_copy

# (classifier ignored, round_to, iterative_steps) x channel ratios, over the whole zoo. The course's
# default setting, (True, None, 1), is checked zoo-wide by tests/test_readme.py (`make reproduce`
# regenerates its table, every count measured and predicted, params and MACs, at six ratios).
CONFIGS = [(False, None, 1), (True, 2, 1), (True, 4, 1), (False, 8, 1), (True, 8, 3)]
RATIOS = [0.1, 0.37, 0.5, 0.9]


# torchvision models outside the zoo, built as a new user would (a classifier to leave alone each)
EXTRA = {
    "googlenet": (lambda: tvm.googlenet(weights=None, aux_logits=False, init_weights=False), lambda m: m.fc),
    "regnet_x_800mf": (lambda: tvm.regnet_x_800mf(weights=None), lambda m: m.fc),
}


@pytest.fixture(scope="module")
def models(small_input):
    """The torchvision models of EXTRA, built once, with a 64x64 example input."""
    cache = {}

    def get(name):
        if name not in cache:
            make, classifier = EXTRA[name]
            torch.manual_seed(0)
            model = make().eval()
            cache[name] = model, small_input, [classifier(model)]
        return cache[name]
    return get


# The zoo's models are checked in every setting by tests/test_predict_macs.py, parameters and MACs
# alike; here, the torchvision models outside the zoo, built as a new user would.
@pytest.mark.slow
@pytest.mark.parametrize("ignore,round_to,steps", [(True, None, 1), *CONFIGS], ids=lambda v: str(v))
@pytest.mark.parametrize("name", list(EXTRA))
def test_predictor_equals_torch_pruning(name, ignore, round_to, steps, models):
    model, inputs, ignored = models(name)
    ignored = ignored if ignore else []
    predictor = ParameterModel(model, inputs, ignored, round_to=round_to, iterative_steps=steps)
    assert predictor.params(0.0) == sum(p.numel() for p in model.parameters())
    for p in RATIOS:
        result = prune_copy(model, inputs, p, ignored, round_to=round_to, iterative_steps=steps, count_macs=False)
        assert predictor.params(p) == result.params_after, f"{name} p={p} round_to={round_to} steps={steps}"


@pytest.fixture(scope="module")
def resnet18(zoo_model):
    model, inputs, ignored = zoo_model("resnet18")
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


SOLVER_MODELS = ["resnet18", "mobilenet_v2", "regnet_y_400mf"]


@pytest.fixture(scope="module")
def solver_models(zoo_model):
    """Three zoo models, each with and without round_to (dependency graphs traced once)."""
    return {(name, round_to): ParameterModel(*zoo_model(name), round_to=round_to)
            for name in SOLVER_MODELS for round_to in (None, 8)}


def _grid_best(predictor, target, step=10_000):
    """Brute force: the grid ratio whose reduction is closest to ``target`` (ties: the smaller)."""
    ps = np.arange(step) / step
    ps = ps[ps <= predictor.max_reduction()[0]]  # the ratios solve searches
    miss = np.abs(1.0 - predictor.params_at(ps) / predictor.params_before - target)
    return float(ps[int(np.argmin(miss))]), float(miss.min())


def assert_solves(predictor, targets):
    """``solve`` comes at least as close as every ratio on a 0.0001 grid, and ties go to the smaller
    ratio's plateau (the one with more parameters left)."""
    for target in targets:
        p = predictor.solve(target)
        p_grid, miss_grid = _grid_best(predictor, target)
        miss = abs(predictor.reduction(p) - target)
        assert miss < miss_grid or (miss == miss_grid and predictor.params(p) >= predictor.params(p_grid)), \
            (target, p, p_grid)


@pytest.mark.parametrize("round_to", [None, 8])
@pytest.mark.parametrize("name", SOLVER_MODELS)
def test_solve_is_the_best_ratio_on_a_fine_grid(solver_models, name, round_to):
    predictor = solver_models[(name, round_to)]
    p_max, r_max = predictor.max_reduction()
    ps = np.arange(100_000) / 100_000
    assert r_max >= 1.0 - predictor.params_at(ps).min() / predictor.params_before
    assert predictor.reduction(p_max) == r_max
    assert_solves(predictor, [0.01, 0.2, 0.5, 0.6180339, 0.75, r_max])
    table = predictor._plateaus()
    predictor.solve(0.42)
    assert predictor._plateaus() is table  # built once per predictor (the bench prints a solve's time)


@pytest.mark.parametrize("name", SOLVER_MODELS)
def test_solved_ratio_prunes_to_the_predicted_count(solver_models, zoo_model, name):
    predictor = solver_models[(name, None)]
    p = predictor.solve(0.5)
    model, inputs, ignored = zoo_model(name)
    assert prune_copy(model, inputs, p, ignored, count_macs=False).params_after == predictor.params(p)
    if name != "regnet_y_400mf":  # RegNet's group widths make coarse steps
        assert abs(predictor.reduction(p) - 0.5) < 0.01
    if name == "mobilenet_v2":  # the rule's inverse undershoots where B is large
        assert p > theory.channel_ratio_for(0.5)


def test_unreachable_target_names_the_maximum(resnet18):
    *_, pm = resnet18
    p_max, r_max = pm.max_reduction()
    for at_least in (False, True):
        with pytest.raises(ValueError, match=f"at most {r_max:.2%}"):
            pm.solve(min(r_max + 0.01, 0.9999), at_least=at_least)
    assert pm.reduction(pm.solve(r_max, at_least=True)) == r_max


# ResNet-18 and MobileNetV3-Small (a large share of depthwise and classifier weights), for a parameter
# and a MAC budget at three targets
SOLVE_CASES = [(name, by, target) for name in ("resnet18", "mobilenet_v3_small") for by in ("params", "macs")
               for target in (0.3, 0.5, 0.7)]


@pytest.fixture(scope="module")
def budget_models(zoo_model):
    return {name: ParameterModel(*zoo_model(name)) for name in ("resnet18", "mobilenet_v3_small")}


@pytest.mark.parametrize("name,by,target", SOLVE_CASES)
def test_the_printed_solve_result_prunes_to_its_count(budget_models, zoo_model, name, by, target):
    pm = budget_models[name]
    count = pm.params if by == "params" else pm.macs
    p = pm.solve(target, by=by)
    printed = f"{p}"  # what a notebook prints and a learner types back in
    model, inputs, ignored = zoo_model(name)
    result = prune_copy(model, inputs, float(printed), ignored)
    assert (result.params_after if by == "params" else result.macs_after) == count(p)
    # the shortest decimal: no ratio with fewer decimals lies on p's plateau (the nearest ones on
    # either side of p with d decimals would)
    decimals = len(printed.split(".")[1])
    for d in range(1, decimals):
        for q in (math.floor(p * 10 ** d) / 10 ** d, math.ceil(p * 10 ** d) / 10 ** d):
            assert q >= 1 or count(q) != count(p), (printed, q)


@pytest.mark.parametrize("name,by,target", SOLVE_CASES)
def test_at_least_meets_the_budget_with_the_least_reduction(budget_models, name, by, target):
    pm = budget_models[name]
    count = pm.params if by == "params" else pm.macs
    before = pm.params_before if by == "params" else pm.macs_before
    p = pm.solve(target, by=by, at_least=True)
    allowed = math.floor((1 - target) * before + 1e-6)
    assert count(p) <= allowed, "the budget is missed"
    ps = np.arange(20_000) / 20_000
    ps = ps[ps <= pm.max_reduction(by)[0]]
    counts = pm.params_at(ps) if by == "params" else pm.macs_at(ps)
    assert count(p) == counts[counts <= allowed].max(), "a smaller reduction meets the budget too"
    closest = pm.solve(target, by=by)
    assert count(closest) >= count(p)  # the closest count may miss the budget; at_least never does


@pytest.mark.parametrize("bad", [float("nan"), "0.3", True, None, -0.1, 1.0, 2])
def test_bad_targets_and_ratios(resnet18, bad):
    *_, pm = resnet18
    for ask in (pm.params, pm.solve, lambda b: pm.params_at([0.1, b])):
        with pytest.raises(ValueError, match=r"\[0, 1\)"):
            ask(bad)


def test_bad_round_to(resnet18):
    model, inputs, ignored, _ = resnet18
    with pytest.raises(ValueError, match="round_to"):
        ParameterModel(model, inputs, ignored, round_to=0)
