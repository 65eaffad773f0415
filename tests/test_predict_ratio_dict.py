"""``ParameterModel`` with ``pruning_ratio_dict``: layers (or blocks) with ratios of their own, checked
against Torch-Pruning's own count of the pruned model, and the keys it refuses."""
import random

import pytest
import torch
from torch import nn

from helpers import pruning, training, zoo
from helpers.predict import ParameterModel


def _assert_dicts_exact(model, inputs, ignored, layers, blocks=(), trials=4, round_to=None, steps=1, macs=True):
    rng = random.Random(0)
    predictor = ParameterModel(model, inputs, ignored, round_to=round_to, iterative_steps=steps)
    for trial in range(trials):
        keys = rng.sample(layers, min(3, len(layers))) + ([rng.choice(blocks)] if blocks and trial % 2 else [])
        ratios = {key: round(rng.uniform(0.0, 0.85), 3) for key in keys}
        p = round(rng.uniform(0.0, 0.6), 3)
        result = pruning.prune_copy(model, inputs, p, ignored, pruning_ratio_dict=ratios, round_to=round_to,
                                    iterative_steps=steps, count_macs=macs)
        assert predictor.params(p, pruning_ratio_dict=ratios) == result.params_after, (trial, p)
        if macs:
            assert predictor.macs(p, pruning_ratio_dict=ratios) == result.macs_after, (trial, p)
        assert predictor.reduction(p, pruning_ratio_dict=ratios) == pytest.approx(result.param_reduction)


def _convs(model, ignored):
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)) and m not in ignored]


@pytest.mark.parametrize("round_to,steps", [(None, 1), (4, 1), (None, 3)])
def test_digits_cnn_dicts_are_exact(round_to, steps):
    model = training.new_model(seed=0, device="cpu")
    inputs = torch.randn(1, 1, 16, 16)
    ignored = training.ignored_layers(model)
    _assert_dicts_exact(model, inputs, ignored, _convs(model, ignored), round_to=round_to, steps=steps)


def test_resnet18_dicts_with_blocks_are_exact():
    model, inputs, ignored = zoo.build("resnet18")
    inputs = torch.randn(1, 3, 64, 64)  # counts of parameters do not depend on the image size
    _assert_dicts_exact(model, inputs, ignored, _convs(model, ignored), blocks=[model.layer2, model.layer4[1]])


def test_a_dict_changes_the_count_and_an_empty_one_does_not():
    model = training.new_model(seed=0, device="cpu")
    inputs = torch.randn(1, 1, 16, 16)
    predictor = ParameterModel(model, inputs, training.ignored_layers(model))
    first = model.features[0]
    assert predictor.params(0.3, pruning_ratio_dict={}) == predictor.params(0.3)
    assert predictor.params(0.3, pruning_ratio_dict={first: 0.3}) == predictor.params(0.3)
    assert predictor.params(0.3, pruning_ratio_dict={first: 0.6}) < predictor.params(0.3)
    # a later key wins for a layer it lists again (the whole model, then one layer)
    assert (predictor.params(0.0, pruning_ratio_dict={model.features: 0.5, first: 0.0})
            > predictor.params(0.0, pruning_ratio_dict={model.features: 0.5}))


def test_bad_dicts_are_refused_with_what_to_do():
    model = training.new_model(seed=0, device="cpu")
    other = training.new_model(seed=1, device="cpu")
    predictor = ParameterModel(model, torch.randn(1, 1, 16, 16), training.ignored_layers(model))
    with pytest.raises(ValueError, match="layers .* of the model"):
        predictor.params(0.2, pruning_ratio_dict={other.features[0]: 0.5})
    with pytest.raises(ValueError, match="layers .* of the model"):
        predictor.params(0.2, pruning_ratio_dict={"features.0": 0.5})
    with pytest.raises(ValueError, match="ratio in pruning_ratio_dict"):
        predictor.params(0.2, pruning_ratio_dict={model.features[0]: 1.0})
    with pytest.raises(ValueError, match="dict of layers"):
        predictor.params(0.2, pruning_ratio_dict=[(model.features[0], 0.5)])
