"""Every registered exercise: its reference solution passes its check and a typical mistake fails."""
import pytest

from helpers import checks

checks.for_notebook("00_start_here")  # registers every exercise
NAMES = sorted(checks.EXERCISES)


@pytest.mark.parametrize("name", NAMES)
def test_solution_passes(name, capsys):
    assert checks.check(name, checks.solution(name)), capsys.readouterr().out
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("name", NAMES)
def test_typical_mistake_fails(name, capsys):
    ex = checks.EXERCISES[name]
    assert ex.wrong_example is not None, f"{name}: register a wrong_example so the check is shown to fail"
    assert not checks.check(name, ex.wrong_example())
    assert "not yet" in capsys.readouterr().out


def test_unanswered_is_not_passed(capsys):
    assert not checks.check(NAMES[0], ...)
    assert "not answered" in capsys.readouterr().out


def test_unknown_exercise_is_named():
    with pytest.raises(ValueError, match="no exercise named"):
        checks.check("no-such-exercise", 1)


def test_reveal_prints_the_solution(capsys):
    checks.reveal(NAMES[0])
    assert "def " in capsys.readouterr().out


def test_an_exercise_about_torch_pruning_code_refuses_the_course_helper_that_wraps_it(capsys):
    from helpers import sweep, training

    def by_helper(model, example_inputs, layer):
        return sum(r["params_per_channel"] for r in sweep.group_layers(model, example_inputs, layer))

    assert not checks.check("06-channel-cost", by_helper)
    assert not checks.check("10-prune-refresh-tune", lambda m, d, p, s: training.prune_and_fine_tune(m, d, p, s).model)
    out = capsys.readouterr().out
    assert "helpers.sweep.group_layers is the course's helper" in out
    assert "helpers.training.prune_and_fine_tune is the course's helper" in out
    assert sweep.group_layers.__module__ == "helpers.sweep"  # restored after the check
    assert training.prune_and_fine_tune.__module__ == "helpers.training"
