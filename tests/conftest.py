"""Fixtures the test modules share."""
import pytest
import torch
from torch import nn

from helpers import pruning, zoo

# Counts do not depend on the input's height and width (MACs are compared at whatever size both sides
# see), so the zoo-wide exactness checks trace the CNNs at 64x64 instead of 224x224: 12x fewer MACs
# per forward pass. `make reproduce` and its test keep 224x224, the README's setting.
SMALL_INPUT = (1, 3, 64, 64)


@pytest.fixture(scope="session")
def zoo_model():
    """``zoo_model(name, small=False)``: ``zoo.build(name)``'s ``(model, example_inputs,
    ignored_layers)``, built once per session and shared: read it, prune copies of it
    (``prune_copy``), never prune it in place. ``small=True`` gives a CNN a 64x64 example input."""
    cache = {}

    def get(name: str = "resnet18", small: bool = False):
        if name not in cache:
            cache[name] = zoo.build(name)
        model, inputs, ignored = cache[name]
        if small and zoo.family(name) != zoo.TRANSFORMER:
            torch.manual_seed(0)
            inputs = torch.randn(*SMALL_INPUT)
        return model, inputs, ignored
    return get


@pytest.fixture(scope="session")
def small_input():
    """One 64x64 RGB image (see SMALL_INPUT)."""
    torch.manual_seed(0)
    return torch.randn(*SMALL_INPUT)


@pytest.fixture
def built(zoo_model):
    """``built(name)``: a fresh ``(model, example_inputs, ignored_layers)`` of a zoo model, a deep copy
    of the shared one with its ignored layers mapped into the copy: a test may prune it in place."""
    def make(name: str = "resnet18"):
        model, inputs, ignored = zoo_model(name)
        clone, clone_ignored = pruning.copy_with_layers(model, ignored)
        return clone, inputs.clone(), clone_ignored
    return make


def _tiny_cnn() -> tuple[nn.Module, torch.Tensor, list[nn.Module]]:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)).eval()
    return model, torch.randn(1, 3, 16, 16), [model[-1]]


@pytest.fixture
def tiny_cnn():
    """``tiny_cnn()``: a fresh three-conv CNN with batch norm and a 10-class head, as the triple
    ``(model, example_inputs, ignored_layers)``: the smallest model with real pruning groups."""
    return _tiny_cnn
