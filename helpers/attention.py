"""Attention for Torch-Pruning: the heads a model holds, the pruner arguments that keep them whole,
and the attributes to set after pruning so that the pruned model still runs.

Torch-Pruning prunes a transformer with the same ``BasePruner``, told about the heads:

* separate Q, K, V projections (a module with ``q_proj``, ``k_proj``, ``v_proj`` and ``num_heads``,
  as LLaMA-style models and ``helpers.decoder`` have them): ``num_heads={q_proj: h, k_proj: h,
  v_proj: h}``. The head dimensions are then pruned alike in every head (``prune_head_dims``), and
  with ``prune_num_heads=True`` whole heads go as well (``head_pruning_ratio``);
* ``nn.MultiheadAttention`` (torchvision's ViT): its embedding size is the model's hidden size, so
  only ``out_channel_groups={attention: num_heads}`` keeps it a multiple of the heads (naming it in
  ``num_heads`` instead leaves the hidden size whole: ``helpers.predict`` refuses that).

``pruner_kwargs`` finds the heads and adds these arguments (a caller's own win); ``after_pruning``
writes the widths the modules read at run time (a ViT's ``hidden_dim``, each attention's heads).
"""
from __future__ import annotations

from torch import nn

HEAD_ARGUMENTS = ("num_heads", "prune_num_heads", "prune_head_dims", "head_pruning_ratio",
                  "head_pruning_ratio_dict")


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
    A model without attention gets ``kwargs`` back unchanged."""
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
