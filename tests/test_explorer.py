"""The explorer: its numbers are Torch-Pruning's, its widgets redraw, and it falls back to a static
figure wherever no front end draws widgets."""
import matplotlib
import pytest

matplotlib.use("Agg")

from helpers import explorer, pruning, theory, zoo  # noqa: E402


def test_numbers_are_what_torch_pruning_leaves():
    shown = explorer.numbers("resnet18", 0.3, classes=10)
    model, inputs, ignored = zoo.build("resnet18", num_classes=10)
    result = pruning.prune(model, inputs, 0.3, ignored)
    assert (shown["params_before"], shown["params_after"]) == (result.params_before, result.params_after)
    assert shown["rule"] == theory.param_reduction(0.3)
    # the split before sums to the model, after to the smooth polynomial A k² + B k + C
    assert sum(shown["split_before"].values()) == result.params_before
    pm = explorer.predictor("resnet18", 10, None)
    assert sum(shown["split_after"].values()) == pytest.approx(pm.approximate_params(0.3))


def test_the_head_and_round_to_change_the_count():
    ten, thousand = explorer.numbers("mobilenet_v3_small", 0.5, 10), explorer.numbers("mobilenet_v3_small", 0.5, 1000)
    assert ten["reduction"] > thousand["reduction"]  # the fixed classifier holds the 1000-class model back
    rounded = explorer.numbers("mobilenet_v3_small", 0.5, 1000, round_to=8)
    assert rounded["params_after"] != thousand["params_after"]


@pytest.mark.parametrize("setting, message", [
    ({"p": 1.0}, "channel ratio"), ({"model": "vgg16"}, "explorer offers"), ({"classes": 0}, "classes"),
    ({"classes": True}, "classes"), ({"round_to": 0}, "round_to")])
def test_bad_settings_are_refused(setting, message):
    with pytest.raises(ValueError, match=message):
        explorer.numbers(**{"model": "resnet18", "p": 0.3, **setting})


def test_interactive_only_where_a_front_end_draws(monkeypatch):
    monkeypatch.delenv("NBVAL", raising=False)
    monkeypatch.delenv("COURSE_WIDGETS", raising=False)
    assert explorer.interactive()
    monkeypatch.setenv("COURSE_WIDGETS", "0")
    assert not explorer.interactive()
    monkeypatch.delenv("COURSE_WIDGETS")
    monkeypatch.setenv("NBVAL", "1")
    assert not explorer.interactive()


def test_static_fallback_draws_one_figure(monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.setenv("COURSE_WIDGETS", "0")
    plt.close("all")
    shown = explorer.explore("resnet18", 0.5)
    assert shown["params_after"] == 3_055_880  # Torch-Pruning's README quick start
    assert len(plt.get_fignums()) == 1
    assert "removes" in plt.gcf().axes[0].get_title()


def test_moving_a_control_redraws():
    box, controls, fig = explorer.widget("resnet18", 0.3)
    assert fig.axes[0].get_title().startswith("p = 0.30")
    controls["p"].value = 0.5
    assert fig.axes[0].get_title().startswith("p = 0.50")
    controls["classes"].value = 10
    assert "10 classes" in fig.axes[1].get_title()
    assert controls["round_to"].label == "None"  # shown, not a blank selection
    controls["round_to"].value = "8"
    assert "round_to=8" in fig.axes[1].get_title()
    assert len(box.children) == 3
