import pytest
from torch import nn

from helpers import zoo


def test_zoo_spans_families():
    assert len(zoo.names()) >= 12
    assert len({zoo.family(n) for n in zoo.names()}) >= 9


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small", "squeezenet1_1", "densenet121"])
def test_build_returns_model_inputs_and_classifier(name):
    model, inputs, ignored = zoo.build(name)
    assert not model.training
    assert tuple(inputs.shape) == zoo.INPUT_SHAPE
    (classifier,) = ignored
    assert isinstance(classifier, (nn.Linear, nn.Conv2d))
    out = classifier.out_features if isinstance(classifier, nn.Linear) else classifier.out_channels
    assert out == 1000
    assert any(m is classifier for m in model.modules())


def test_unknown_model_lists_the_choices():
    with pytest.raises(ValueError, match="unknown model 'resnet19'.*resnet18"):
        zoo.build("resnet19")


def test_shufflenet_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="channel shuffle"):
        zoo.build("shufflenet_v2_x1_0")
