import pytest

from helpers import budget, counting, predict, theory


def test_pruned_reduction_matches_the_predictor(tiny_cnn):
    predictor = predict.ParameterModel(*tiny_cnn())
    assert budget.pruned_reduction(tiny_cnn(), 0.0) == 0.0
    for p in (0.2, 0.5):
        assert budget.pruned_reduction(tiny_cnn(), p) == pytest.approx(predictor.reduction(p), abs=1e-12)
    assert budget.pruned_reduction(tiny_cnn(), 0.5, iterative_steps=5) == pytest.approx(predictor.reduction(0.5))


def test_pruned_reduction_takes_a_ratio_dict_naming_the_model_s_layers(tiny_cnn):
    built = tiny_cnn()
    uniform = budget.pruned_reduction(built, 0.5)
    spared = budget.pruned_reduction(built, 0.5, pruning_ratio_dict={built[0][6]: 0.1})
    assert spared < uniform


def test_bisection_prunes_until_the_budget_is_met(tiny_cnn):
    predictor = predict.ParameterModel(*tiny_cnn())
    search = budget.bisect_by_pruning(tiny_cnn(), 0.5, tol=0.005)
    assert abs(search.reduction - 0.5) <= 0.005
    assert search.evaluations == len(search.trace) >= 2
    assert (search.channel_ratio, search.reduction) in search.trace
    assert search.reduction == pytest.approx(predictor.reduction(search.channel_ratio))
    assert search.miss_pp == pytest.approx(100 * (search.reduction - 0.5))
    solved = budget.solve(predictor, 0.5)
    assert abs(solved.miss_pp) <= abs(search.miss_pp) + 1e-9  # the exact solver is at least as close
    assert solved.evaluations == 0


def test_bisection_stops_at_the_bracket_or_the_evaluation_limit(tiny_cnn):
    search = budget.bisect_by_pruning(tiny_cnn(), 0.5, tol=0.0, max_evaluations=4)
    assert search.evaluations == 4
    search = budget.bisect_by_pruning(tiny_cnn(), 0.5, tol=0.0, p_tol=0.2)
    assert search.evaluations <= 4


def test_bisection_works_for_global_pruning(tiny_cnn):
    search = budget.bisect_by_pruning(tiny_cnn(), 0.4, tol=0.01, global_pruning=True)
    assert abs(search.reduction - 0.4) <= 0.01


def test_unreachable_budget_is_explained(tiny_cnn):
    with pytest.raises(ValueError, match="not reached even at p=0.3"):
        budget.bisect_by_pruning(tiny_cnn(), 0.9, p_max=0.3)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        budget.bisect_by_pruning(tiny_cnn(), 1.5)


def test_widths_and_removed_fractions(tiny_cnn):
    model, inputs, ignored = tiny_cnn()
    before = budget.out_widths(model)
    assert before == {"0": 32, "3": 64, "6": 64, "11": 10}
    from helpers import pruning
    pruning.prune(model, inputs, 0.25, ignored)
    fractions = budget.removed_fractions(before, model)
    assert fractions == {"0": 0.25, "3": 0.25, "6": 0.25, "11": 0.0}


def test_budget_table_rule_vs_solver():
    rows = budget.budget_table(["mobilenet_v3_small"], [0.5], verify=["mobilenet_v3_small"])
    (row,) = rows
    assert row["p_rule"] == pytest.approx(theory.channel_ratio_for(0.5))
    assert row["measured_rule"] == pytest.approx(row["reduction_rule"])
    assert row["measured_solve"] == pytest.approx(row["reduction_solve"])
    assert row["miss_rule_pp"] < -5  # MobileNet's depthwise convs: the rule's p falls far short
    assert abs(row["miss_solve_pp"]) < 0.1


def test_prune_measured_reports_per_layer_fractions_without_the_classifier(tiny_cnn):
    built = tiny_cnn()
    pruned = budget.prune_measured(built, 0.5, pruning_ratio_dict={built[0][6]: 0.25})
    assert pruned.fractions == {"0": 0.5, "3": 0.5, "6": 0.25}
    assert pruned.model[-1].out_features == 10
    assert built[0][6].out_channels == tiny_cnn()[0][6].out_channels  # the original is untouched
    assert pruned.reduction == pytest.approx(1 - counting.n_params(pruned.model) / counting.n_params(built[0]))


def test_prune_until_stops_at_the_first_step_past_the_target():
    from helpers import budget, pruning, zoo
    from helpers.counting import n_macs

    built = zoo.build("mobilenet_v3_small")
    before = n_macs(*built[:2])
    for by in ("macs", "params"):
        result = budget.prune_until(built, 0.3, by=by, steps=20)
        assert result["reached"] >= 0.3 and result["p"] == pytest.approx(result["steps"] / 20)
        # one step less (local steps land on the one-shot widths) stays short of the target
        short = pruning.prune_copy(*built[:2], (result["steps"] - 1) / 20, built[2])
        assert (short.mac_reduction if by == "macs" else short.param_reduction) < 0.3
    assert 1 - n_macs(result["model"], built[1]) / before > 0  # the copy was pruned
    assert n_macs(*built[:2]) == before  # the model itself is left as it was
    with pytest.raises(ValueError, match="by must be"):
        budget.prune_until(built, 0.3, by="flops")
