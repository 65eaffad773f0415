import pytest
import torch

from helpers import _core, counting, pruning


def test_resnet18_half_channels_matches_torch_pruning_readme(built):
    # Torch-Pruning's README quick start prints 11689512 -> 3055880 for this configuration
    model, inputs, ignored = built("resnet18")
    result = pruning.prune(model, inputs, 0.5, ignored)
    assert (result.params_before, result.params_after) == (11_689_512, 3_055_880)
    assert result.params_after == sum(p.numel() for p in model.parameters())
    assert 0.73 < result.param_reduction < 0.75
    assert result.macs_after < result.macs_before
    with torch.no_grad():
        assert model(inputs).shape == (1, 1000)


def test_forgetting_the_classifier_prunes_the_classes(built):
    model, inputs, _ = built("resnet18")
    pruning.prune(model, inputs, 0.5)
    with torch.no_grad():
        assert model(inputs).shape == (1, 500)


def test_copy_with_layers_maps_layers(built):
    model, inputs, ignored = built("resnet18")
    clone, clone_ignored = pruning.copy_with_layers(model, ignored)
    assert clone_ignored[0] is clone.fc and clone.fc is not model.fc
    with pytest.raises(ValueError, match="layers of the model"):
        pruning.copy_with_layers(model, [torch.nn.Linear(2, 2)])


def test_prune_copy_leaves_the_original_and_maps_the_ratio_dict(built):
    model, inputs, ignored = built("resnet18")
    result = pruning.prune_copy(model, inputs, 0.5, ignored, pruning_ratio_dict={model.layer4: 0.25})
    assert model.fc.in_features == 512 and model.layer4[1].conv2.out_channels == 512  # untouched
    assert result.model.fc.out_features == 1000  # the ignored classifier keeps its classes
    assert result.model.layer4[1].conv2.out_channels == 384  # the dict's ratio, on the copy's layer4
    assert result.model.layer1[0].conv1.out_channels == 32
    assert result.params_after == counting.n_params(result.model)
    assert result.macs_after < result.macs_before


def test_count_macs_false_counts_parameters_only(built):
    model, inputs, ignored = built("resnet18")
    result = pruning.prune_copy(model, inputs, 0.5, ignored, count_macs=False)
    assert result.macs_before is None and result.params_after == 3_055_880


@pytest.mark.parametrize("kwargs,match", [({"channel_ratio": 1.0}, r"\[0, 1\)"),
                                          ({"channel_ratio": -0.2}, r"\[0, 1\)"),
                                          ({"channel_ratio": 0.3, "round_to": 0}, "round_to"),
                                          ({"channel_ratio": 0.3, "iterative_steps": 0}, "iterative_steps"),
                                          ({"channel_ratio": 0.3, "iterative_steps": True}, "iterative_steps")])
def test_bad_arguments_are_explained(kwargs, match, built):
    model, inputs, ignored = built("resnet18")
    with pytest.raises(ValueError, match=match):
        pruning.prune(model, inputs, ignored_layers=ignored, **kwargs)


def test_iterative_steps_follow_the_schedule(built):
    model, inputs, _ = built("resnet18")
    ratios = list(pruning.prune_steps(model, inputs, 0.5, 5))
    assert ratios == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])


def test_a_numpy_ratio_is_pruned_as_the_validated_float():
    import numpy as np

    from helpers.predict import ParameterModel

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 10, 3), torch.nn.ReLU(), torch.nn.Conv2d(10, 10, 3),
                                torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(10, 2)).eval()
    inputs = torch.randn(1, 3, 8, 8)
    p = np.float32(0.3)
    result = pruning.prune_copy(model, inputs, p, [model[5]], count_macs=False)
    assert isinstance(result.channel_ratio, float)
    assert result.params_after == ParameterModel(model, inputs, [model[5]]).params(p)


def test_a_parameter_in_ignored_layers_is_accepted_and_copied(built):
    model, inputs, ignored = built("resnet18")
    clone, (weight,) = pruning.copy_with_layers(model, [model.fc.weight])
    assert weight is clone.fc.weight and weight is not model.fc.weight
    assert _core.expand_ignored([model.fc.weight, model.layer4[1]])[0] is model.fc.weight
    result = pruning.prune_copy(model, inputs, 0.5, [*ignored, model.conv1.weight], count_macs=False)
    assert result.model.fc.out_features == 1000


def test_each_pruner_gets_its_own_channel_group_dicts(built):
    model, inputs, ignored = built("resnet18")
    first = pruning.make_pruner(model, inputs, 0.5, ignored)
    second = pruning.make_pruner(model, inputs, 0.5, ignored)
    assert first.in_channel_groups is not second.in_channel_groups
    assert first.out_channel_groups is not second.out_channel_groups


def test_every_pruning_goes_through_the_one_loop(built, monkeypatch):
    """prune, prune_copy and budget.prune_until step the pruner only through pruning.prune_steps."""
    from helpers import budget

    seen = []
    real = pruning.prune_steps

    def spy(*args, **kwargs):
        seen.append(args[3] if len(args) > 3 else kwargs.get("iterative_steps", 1))
        yield from real(*args, **kwargs)

    monkeypatch.setattr(pruning, "prune_steps", spy)
    monkeypatch.setattr(budget, "prune_steps", spy)
    model, inputs, ignored = built("resnet18")
    assert pruning.prune_copy(model, inputs, 0.5, ignored, iterative_steps=2).params_after == 3_055_880
    reached = budget.prune_until((model, inputs, ignored), 0.5, by="params", steps=10)
    assert seen == [2, 10] and reached["reached"] >= 0.5 and reached["steps"] == 3
