"""The course's private core: what ``pruning``, ``counting`` and ``predict`` share.

* argument checks (a channel ratio, a positive integer, ``round_to``, ``by``), each with the message
  that says what to pass;
* Torch-Pruning plumbing: the ignored layers as ``BasePruner`` reads them, its dependency graph, the
  heads of a transformer and the widths to set after pruning one;
* what the course refuses (``UnsupportedModel``, ``check_layers``);
* tensor classification: what a parameter tensor is and where it sits between pruned layers.

Learners call the public modules; those re-export what a learner needs from here.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch_pruning as tp
from torch import nn
from torch_pruning import ops
from torchvision.models import maxvit, shufflenetv2, swin_transformer

_NORMS = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm)
BY = ("params", "macs")


# ---- argument checks -------------------------------------------------------------------------------
def check_channel_ratio(p: float, name: str = "channel ratio") -> float:
    """Return ``p`` as a float if it lies in [0, 1); raise a ValueError that says what to do.

    Strings and booleans are refused even where ``float()`` would take them ("0.3", True): a ratio
    read from a file or a flag belongs converted by the caller, visibly."""
    if isinstance(p, (str, bytes, bool)):
        raise ValueError(f"{name} must be a number in [0, 1), got {p!r} ({type(p).__name__})")
    try:
        value = float(p)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1), got {p!r}") from None
    if not (0.0 <= value < 1.0) or math.isnan(value):
        raise ValueError(
            f"{name} must lie in [0, 1) (the fraction of channels removed), got {p!r}; "
            "p=0.3 removes 30% of each layer's channels"
        )
    return value


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    """``value`` as an int if it is a whole number of at least ``minimum``; else a ValueError naming
    ``name``. Booleans are refused (``True`` is not a count)."""
    try:
        whole = not isinstance(value, (bool, str, bytes)) and int(value) == value
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return int(value)


def check_round_to(round_to) -> int | None:
    """``round_to`` as an int, or None; a ValueError that says what is allowed otherwise."""
    if round_to is None:
        return None
    return check_positive_int(round_to, "round_to (or None)")


def check_by(by) -> str:
    """``by`` as given if it names a count the model predicts, else a ValueError naming them."""
    if not isinstance(by, str) or by not in BY:
        raise ValueError(f"by must be one of {', '.join(repr(b) for b in BY)}, got {by!r}")
    return by


# ---- what the course refuses -----------------------------------------------------------------------
class UnsupportedModel(ValueError):
    """A model (or a layer in it) that the course cannot prune or predict exactly."""


@dataclass(frozen=True)
class Construct:
    layers: tuple[type, ...]  # the module types that reveal it
    reason: str
    architectures: tuple[str, ...]  # torchvision names built with it


CONSTRUCTS = (
    Construct((shufflenetv2.InvertedResidual,),
              "its channel shuffle (a reshape-transpose-reshape) mixes channels across groups, "
              "which Torch-Pruning's dependency graph cannot trace",
              tuple(f"shufflenet_v2_{w}" for w in ("x0_5", "x1_0", "x1_5", "x2_0"))),
    Construct((swin_transformer.ShiftedWindowAttention, swin_transformer.ShiftedWindowAttentionV2,
               swin_transformer.PatchMerging, swin_transformer.PatchMergingV2),
              "Swin's shifted-window attention uses operations Torch-Pruning's dependency graph does not "
              "support (tracing it takes gigabytes and minutes before failing)",
              tuple(f"swin{v}_{s}" for v in ("", "_v2") for s in ("t", "s", "b"))),
    Construct((maxvit.PartitionAttentionLayer,),
              "MaxViT's window and grid attention (partitioned by reshapes) exhausts Torch-Pruning's "
              "tracer (minutes, then MemoryError past 14 GB)",
              ("maxvit_t",)),
)

# architecture name -> reason, for the zoo
ARCHITECTURES: dict[str, str] = {name: c.reason for c in CONSTRUCTS for name in c.architectures}

def check_layers(model: nn.Module) -> None:
    """Raise ``UnsupportedModel`` at once if ``model`` holds a layer from ``CONSTRUCTS``."""
    for name, module in model.named_modules():
        for construct in CONSTRUCTS:
            if isinstance(module, construct.layers):
                raise UnsupportedModel(
                    f"{name or 'the model'} ({type(module).__name__}) cannot be pruned with Torch-Pruning: "
                    f"{construct.reason}")


# ---- Torch-Pruning plumbing ------------------------------------------------------------------------
def expand_ignored(ignored_layers: Iterable[nn.Module | nn.Parameter]) -> list[nn.Module | nn.Parameter]:
    """Every module inside the layers to ignore (a block given whole leaves all its layers alone);
    an ``nn.Parameter`` (which ``BasePruner`` also accepts) stays as it is."""
    return [m for layer in ignored_layers
            for m in (layer.modules() if isinstance(layer, nn.Module) else [layer])]


def ignored_modules(ignored_layers: Iterable[nn.Module | nn.Parameter]) -> list[nn.Module]:
    """The modules ``BasePruner`` skips as group roots: those of ``expand_ignored`` (an ignored
    parameter instead leaves the dependency graph, and the rest of its group is still pruned)."""
    return [m for m in expand_ignored(ignored_layers) if isinstance(m, nn.Module)]


def dependency_graph(model: nn.Module, example_inputs: torch.Tensor,
                     unwrapped_parameters=None) -> tp.DependencyGraph:
    """Torch-Pruning's dependency graph of ``model``, traced with autograd (never under no_grad).

    A model with a layer Torch-Pruning cannot trace (``CONSTRUCTS``) is refused first.
    ``unwrapped_parameters`` is ``BasePruner``'s argument of that name (parameters used outside a
    layer, with the dimension to prune)."""
    check_layers(model)
    with torch.enable_grad(), warnings.catch_warnings():
        # ConvNeXt's layer-scale tensors are "unwrapped parameters": Torch-Pruning finds them itself
        warnings.filterwarnings("ignore", message=".*[Uu]nwrapped parameters.*")
        return tp.DependencyGraph().build_dependency(model, example_inputs=example_inputs,
                                                     unwrapped_parameters=unwrapped_parameters)


# ---- attention: the heads Torch-Pruning must be told about -----------------------------------------
def qkv_attentions(model: nn.Module) -> list[nn.Module]:
    """The modules with separate Q, K and V projections and a ``num_heads`` attribute."""
    return [m for m in model.modules()
            if all(isinstance(getattr(m, n, None), nn.Linear) for n in ("q_proj", "k_proj", "v_proj"))
            and isinstance(getattr(m, "num_heads", None), int)]


def find_heads(model: nn.Module) -> dict[nn.Module, int]:
    """``num_heads`` as Torch-Pruning takes it: each Q, K and V projection with its number of heads
    (K and V take ``num_key_value_heads`` where a module has it)."""
    heads = {}
    for attention in qkv_attentions(model):
        kv = getattr(attention, "num_key_value_heads", attention.num_heads)
        heads.update({attention.q_proj: attention.num_heads, attention.k_proj: kv, attention.v_proj: kv})
    return heads


def multihead_groups(model: nn.Module) -> dict[nn.Module, int]:
    """``out_channel_groups`` for every ``nn.MultiheadAttention``: its heads."""
    return {m: m.num_heads for m in model.modules() if isinstance(m, nn.MultiheadAttention)}


def pruner_kwargs(model: nn.Module, kwargs: dict | None = None) -> dict:
    """``kwargs`` for ``BasePruner`` with the model's heads added where the caller gave none:
    ``num_heads`` for Q/K/V projections, ``out_channel_groups`` entries for ``nn.MultiheadAttention``.
    A model without attention gets ``kwargs`` back unchanged. ``ParameterModel`` takes the same
    arguments and adds nothing: ``ParameterModel(model, x, ignored, **pruner_kwargs(model))``
    predicts what ``BasePruner(model, x, ..., **pruner_kwargs(model))`` leaves."""
    kwargs = dict(kwargs or {})
    heads = find_heads(model)
    if heads and kwargs.get("num_heads") is None:
        kwargs["num_heads"] = heads
    groups = multihead_groups(model)
    if groups:
        kwargs["out_channel_groups"] = {**groups, **(kwargs.get("out_channel_groups") or {})}
    return kwargs


def after_pruning(model: nn.Module, pruner=None) -> None:
    """Set what the modules read at run time to the pruned widths: a torchvision ViT's
    ``hidden_dim`` (its patch embedding's channels) and each Q/K/V attention's ``num_heads`` (the
    pruner's count, which it lowers when it removes heads)."""
    for module in model.modules():
        if hasattr(module, "conv_proj") and hasattr(module, "hidden_dim"):  # torchvision VisionTransformer
            module.hidden_dim = module.conv_proj.out_channels
    if pruner is not None:
        counts = getattr(pruner, "num_heads", {}) or {}
        for attention in qkv_attentions(model):
            # 0: the ratio asked for every head, and Torch-Pruning left the group whole (yet counted
            # the heads down): the layers keep their heads
            if counts.get(attention.q_proj, 0) > 0:
                attention.num_heads = counts[attention.q_proj]
                if hasattr(attention, "num_key_value_heads") and attention.k_proj in counts:
                    attention.num_key_value_heads = counts[attention.k_proj]


# ---- tensor classification -------------------------------------------------------------------------
def is_depthwise(layer: nn.Module) -> bool:
    """A depthwise convolution as Torch-Pruning defines it (``groups == out_channels > 1``): its
    weight has one input channel per output channel, so pruning shrinks it on one side only."""
    return isinstance(layer, nn.modules.conv._ConvNd) and ops.module2type(layer) == ops.OPTYPE.DEPTHWISE_CONV


def tensor_kind(layer: nn.Module, param_name: str) -> str:
    """What a parameter tensor is: conv weight (plain, grouped or depthwise), linear weight,
    normalisation, bias or other."""
    if param_name == "bias" and not isinstance(layer, _NORMS):
        return "bias"
    if isinstance(layer, nn.modules.conv._ConvNd):
        if is_depthwise(layer):
            return "depthwise conv weight"
        return "conv weight" if layer.groups == 1 else "grouped conv weight"
    if isinstance(layer, nn.Linear) or (isinstance(layer, nn.MultiheadAttention) and param_name.endswith("weight")):
        return "linear weight"
    if isinstance(layer, nn.MultiheadAttention):  # in_proj_bias, bias_k, bias_v
        return "bias"
    if isinstance(layer, nn.Embedding) or "embed" in param_name or "token" in param_name:
        return "embedding"  # token embedding; a ViT's class token and position embedding
    if isinstance(layer, _NORMS) or type(layer).__name__.endswith("Norm"):  # RMSNorm, LayerNorm, ...
        return "normalisation"
    return "other"


def role(kind: str, out_pruned: bool, in_pruned: bool) -> str:
    """Where a tensor of ``kind`` (``tensor_kind``) sits, given which of its dimensions pruning
    shrinks: a conv or linear weight is "weights between pruned layers" (both), the "stem (input
    channels fixed)" (outputs only) or the "classifier (outputs fixed)" (inputs only); a depthwise
    weight is "depthwise"; every other kind keeps its name. Tensors that nothing shrinks are "not
    pruned", whatever their kind."""
    if not (out_pruned or in_pruned):
        return "not pruned"
    if kind in ("conv weight", "grouped conv weight", "linear weight"):
        if out_pruned and not in_pruned:
            return "stem (input channels fixed)"
        if in_pruned and not out_pruned:
            return "classifier (outputs fixed)"
        return "weights between pruned layers"
    if kind == "depthwise conv weight":
        return "depthwise"
    return kind


def sum_by_power(tensors) -> tuple[int, int, int]:
    """(A, B, C) of params(k) = A k^2 + B k + C from ``(name, power, numel)`` triples: the parameters
    in tensors that scale as k^2, k^1 and k^0. Measured (``by_power``) and predicted
    (``ParameterModel.coefficients``) alike come through here."""
    sums = {0: 0, 1: 0, 2: 0}
    for name, power, numel in tensors:
        if power not in sums:
            raise ValueError(f"{name} scales as k^{power}: not a power 0, 1 or 2")
        sums[power] += numel
    return sums[2], sums[1], sums[0]
