"""Real torchvision CNNs across families, built without pretrained weights.

Parameter counts do not depend on the weights' values, so ``weights=None`` gives the same counts
as the pretrained models without downloading anything.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torchvision.models as tvm
from torch import nn

from .unsupported import ARCHITECTURES, UnsupportedModel

# name -> (family, function returning the final classifier layer of a built model)
_MODELS: dict[str, tuple[str, Callable[[nn.Module], nn.Module]]] = {
    "resnet18": ("ResNet", lambda m: m.fc),
    "resnet50": ("ResNet", lambda m: m.fc),
    "resnext50_32x4d": ("ResNeXt", lambda m: m.fc),
    "vgg16_bn": ("VGG-BN", lambda m: m.classifier[-1]),
    "mobilenet_v2": ("MobileNetV2", lambda m: m.classifier[-1]),
    "mobilenet_v3_small": ("MobileNetV3", lambda m: m.classifier[-1]),
    "mobilenet_v3_large": ("MobileNetV3", lambda m: m.classifier[-1]),
    "efficientnet_b0": ("EfficientNet", lambda m: m.classifier[-1]),
    "densenet121": ("DenseNet", lambda m: m.classifier),
    "convnext_tiny": ("ConvNeXt", lambda m: m.classifier[-1]),
    "regnet_x_400mf": ("RegNet", lambda m: m.fc),
    "regnet_y_400mf": ("RegNet", lambda m: m.fc),
    "squeezenet1_1": ("SqueezeNet", lambda m: m.classifier[1]),  # a 1x1 conv makes the 1000 classes
    "mnasnet1_0": ("MnasNet", lambda m: m.classifier[-1]),
}

INPUT_SHAPE = (1, 3, 224, 224)


def names() -> list[str]:
    """Names of the zoo's models, in a fixed order."""
    return list(_MODELS)


def family(name: str) -> str:
    """The architecture family of a zoo model, e.g. "ResNet"."""
    _check_name(name)
    return _MODELS[name][0]


def _check_name(name: str) -> None:
    if name in ARCHITECTURES:  # architectures Torch-Pruning cannot prune (helpers.unsupported)
        raise UnsupportedModel(f"{name} cannot be pruned with Torch-Pruning: {ARCHITECTURES[name]}. "
                         f"Pick one of: {', '.join(names())}")
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; pick one of: {', '.join(names())}")


def build(name: str, device: torch.device | str = "cpu", num_classes: int = 1000,
          seed: int = 0) -> tuple[nn.Module, torch.Tensor, list[nn.Module]]:
    """Build a zoo model with random weights.

    Returns ``(model, example_inputs, ignored_layers)``: the model in eval mode on ``device``, one
    224x224 RGB image, and ``[classifier]`` (the layer whose outputs are the classes, which a pruner
    must not shrink).
    """
    _check_name(name)
    torch.manual_seed(seed)
    model = getattr(tvm, name)(weights=None, num_classes=num_classes)
    model.eval().to(device)
    example_inputs = torch.randn(*INPUT_SHAPE, device=device)
    return model, example_inputs, [_MODELS[name][1](model)]
