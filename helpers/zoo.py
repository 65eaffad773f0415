"""Real torchvision CNNs across families, and transformers, built without pretrained weights.

Parameter counts do not depend on the weights' values, so ``weights=None`` gives the same counts
as the pretrained models without downloading anything. ``names()`` lists the CNNs (the course's
tables and zoo-wide checks); ``names("transformer")`` the transformers: torchvision's ViT-B/16 and
two LLaMA-style decoders (``helpers.decoder``) of one family at two sizes, the same 32,000-token
vocabulary on a narrow and a wide hidden size.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torchvision.models as tvm
from torch import nn

from .decoder import Decoder, DecoderConfig
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

# name -> configuration of a LLaMA-style decoder (helpers.decoder), family "transformer"
DECODERS: dict[str, DecoderConfig] = {
    "llama_small": DecoderConfig(vocab_size=32000, hidden_size=256, intermediate_size=688, num_layers=4,
                                 num_heads=4),
    "llama_large": DecoderConfig(vocab_size=32000, hidden_size=1024, intermediate_size=2816, num_layers=8,
                                 num_heads=16),
}
_TRANSFORMERS = ("vit_b_16", *DECODERS)
TRANSFORMER = "transformer"
KINDS = ("cnn", TRANSFORMER, "all")

INPUT_SHAPE = (1, 3, 224, 224)
TOKENS = 16  # example sequence length of the decoders' inputs


def names(kind: str = "cnn") -> list[str]:
    """Names of the zoo's models, in a fixed order: the CNNs (``kind="cnn"``), the transformers
    (``"transformer"``) or both (``"all"``)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, got {kind!r}")
    return {"cnn": list(_MODELS), TRANSFORMER: list(_TRANSFORMERS), "all": [*_MODELS, *_TRANSFORMERS]}[kind]


def family(name: str) -> str:
    """The architecture family of a zoo model, e.g. "ResNet" (every transformer: "transformer")."""
    _check_name(name)
    return TRANSFORMER if name in _TRANSFORMERS else _MODELS[name][0]


def _check_name(name: str) -> None:
    if name in ARCHITECTURES:  # architectures Torch-Pruning cannot prune (helpers.unsupported)
        raise UnsupportedModel(f"{name} cannot be pruned with Torch-Pruning: {ARCHITECTURES[name]}. "
                         f"Pick one of: {', '.join(names())}")
    if name not in _MODELS and name not in _TRANSFORMERS:
        raise ValueError(f"unknown model {name!r}; pick one of: {', '.join(names('all'))}")


def build(name: str, device: torch.device | str = "cpu", num_classes: int = 1000,
          seed: int = 0) -> tuple[nn.Module, torch.Tensor, list[nn.Module]]:
    """Build a zoo model with random weights.

    Returns ``(model, example_inputs, ignored_layers)``: the model in eval mode on ``device``, one
    224x224 RGB image, and ``[classifier]`` (the layer whose outputs are the classes, which a pruner
    must not shrink). For a decoder: a sequence of ``TOKENS`` token ids and ``[lm_head]`` (its
    outputs are the vocabulary; ``num_classes`` does not apply).
    """
    _check_name(name)
    torch.manual_seed(seed)
    if name in DECODERS:
        model = Decoder(DECODERS[name]).eval().to(device)
        ids = torch.randint(0, DECODERS[name].vocab_size, (1, TOKENS), device=device)
        return model, ids, [model.lm_head]
    if name == "vit_b_16":
        model = tvm.vit_b_16(weights=None, num_classes=num_classes).eval().to(device)
        return model, torch.randn(*INPUT_SHAPE, device=device), [model.heads.head]
    model = getattr(tvm, name)(weights=None, num_classes=num_classes)
    model.eval().to(device)
    example_inputs = torch.randn(*INPUT_SHAPE, device=device)
    return model, example_inputs, [_MODELS[name][1](model)]
