import math

import pytest

from helpers import theory


def test_half_the_channels_removes_three_quarters():
    assert theory.param_reduction(0.5) == pytest.approx(0.75)
    assert theory.param_reduction(0.0) == 0.0


def test_seed_quick_reference_table():
    # the seed page's rounded percentages
    seed = {0.1: 19, 0.2: 36, 0.3: 51, 0.4: 64, 0.5: 75, 0.6: 84}
    rows = theory.quick_reference_table(seed)
    assert [round(100 * r["param_reduction"]) for r in rows] == list(seed.values())
    assert all(r["naive_reduction"] == r["channel_ratio"] for r in rows)


@pytest.mark.parametrize("p", [0.0, 0.05, 0.3, 0.5, 0.77, 0.99])
def test_inverse_round_trip(p):
    assert theory.channel_ratio_for(theory.param_reduction(p)) == pytest.approx(p)


def test_half_the_parameters_needs_about_030():
    assert theory.channel_ratio_for(0.5) == pytest.approx(1 - math.sqrt(0.5))
    assert 0.29 < theory.channel_ratio_for(0.5) < 0.30


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, float("nan"), "half", None])
def test_bad_ratio_says_what_to_do(bad):
    with pytest.raises(ValueError, match=r"\[0, 1\)|number"):
        theory.param_reduction(bad)
    with pytest.raises(ValueError):
        theory.channel_ratio_for(bad)


def test_markdown_table_has_every_ratio():
    md = theory.quick_reference_markdown()
    assert md.count("\n") == 1 + len(theory.SEED_RATIOS)
    assert "| 0.50 | 75.0% |" in md
