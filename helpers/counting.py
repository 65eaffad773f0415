"""Counting parameters by hand, layer by layer, and following how each tensor shrinks when pruned.

* Formulas: ``conv2d_params``, ``linear_params``, ``norm_params`` and ``formula(layer)`` give a
  layer's parameter count from its hyper-parameters alone, to compare with ``numel()``.
* Totals: ``n_params(model)`` is the parameter count Torch-Pruning reports (``sum(numel)``, each
  tensor once, buffers excluded); ``n_macs`` and ``count`` add Torch-Pruning's MAC counter.
* Tables: ``layer_table(model, example_inputs)`` lists every layer with its parameters (counted and by
  formula), buffers and MACs (Torch-Pruning's counter); ``by_type`` and ``by_stage`` sum them per
  layer type and per top-level block.
* Shrinkage: ``snapshot`` before pruning and ``scaling`` after it give, for every parameter tensor,
  the kept fraction and the power ``d`` with kept = (1-p)^d; ``scaling_by_kind`` sums them.
* ``plain_cnn``: a chain of convolutions without BatchNorm or biases, where almost every weight sits
  between two pruned layers (the setting in which the quadratic law holds).
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import torch
import torch_pruning as tp
from torch import nn

from ._core import check_channel_ratio, check_positive_int, sum_by_power, tensor_kind

__all__ = ["n_params", "n_macs", "count", "conv2d_params", "linear_params", "norm_params", "formula", "formula_text",
           "layer_table", "by_type", "by_stage", "tensor_kind", "snapshot", "scaling", "scaling_by_kind", "by_power",
           "plain_cnn"]


# ---- totals -------------------------------------------------------------------------------------
def n_params(module: nn.Module, recurse: bool = True) -> int:
    """Parameters of ``module`` as Torch-Pruning counts them: ``sum(p.numel())`` over
    ``module.parameters()`` (a tensor shared by two layers counts once; buffers such as batch norm's
    running statistics do not count). ``recurse=False``: only the tensors the module holds itself."""
    return sum(p.numel() for p in module.parameters(recurse=recurse))


def n_macs(model: nn.Module, example_inputs: torch.Tensor) -> int:
    """Multiply-accumulates of one forward pass per sample, from ``tp.utils.count_ops_and_params``."""
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        macs, _ = tp.utils.count_ops_and_params(model, example_inputs)
    return int(macs)


def count(model: nn.Module, example_inputs: torch.Tensor) -> tuple[int, int]:
    """``(MACs per sample, parameters)`` of ``model``, as Torch-Pruning reports them."""
    return n_macs(model, example_inputs), n_params(model)


# ---- formulas -----------------------------------------------------------------------------------
def _pair(kernel_size) -> tuple[int, int]:
    if isinstance(kernel_size, int):
        return kernel_size, kernel_size
    kh, kw = kernel_size
    return int(kh), int(kw)


def conv2d_params(c_in: int, c_out: int, kernel_size, groups: int = 1, bias: bool = True) -> int:
    """C_out * C_in/groups * K_h * K_w weights, plus C_out biases when ``bias``."""
    if groups < 1 or c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups} must divide both c_in={c_in} and c_out={c_out}")
    kh, kw = _pair(kernel_size)
    return c_out * (c_in // groups) * kh * kw + (c_out if bias else 0)


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """out * in weights, plus ``out`` biases when ``bias``."""
    return out_features * in_features + (out_features if bias else 0)


def norm_params(num_features: int, affine: bool = True) -> int:
    """A normalisation layer learns a scale and a shift per channel: 2 * C (none without affine)."""
    return 2 * num_features if affine else 0


def formula(layer: nn.Module) -> int:
    """A single layer's own parameter count from its hyper-parameters (its tensors are not read)."""
    if isinstance(layer, nn.modules.conv._ConvNd):
        k = math.prod(layer.kernel_size)
        return layer.out_channels * (layer.in_channels // layer.groups) * k + (
            layer.out_channels if layer.bias is not None else 0)
    if isinstance(layer, nn.Linear):
        return linear_params(layer.in_features, layer.out_features, layer.bias is not None)
    if isinstance(layer, nn.modules.batchnorm._BatchNorm):
        return norm_params(layer.num_features, layer.affine)
    if isinstance(layer, nn.GroupNorm):
        return norm_params(layer.num_channels, layer.affine)
    if isinstance(layer, nn.LayerNorm):
        n = math.prod(layer.normalized_shape)
        if not layer.elementwise_affine:
            return 0
        return 2 * n if layer.bias is not None else n
    if n_params(layer, recurse=False):
        raise NotImplementedError(f"no parameter formula for {type(layer).__name__}")
    return 0


def formula_text(layer: nn.Module) -> str:
    """The formula of ``formula(layer)`` written out with the layer's numbers."""
    if isinstance(layer, nn.modules.conv._ConvNd):
        kernel = " x ".join(str(k) for k in layer.kernel_size)
        text = f"{layer.out_channels} x {layer.in_channels}/{layer.groups} x {kernel}"
        return text + (f" + {layer.out_channels}" if layer.bias is not None else "")
    if isinstance(layer, nn.Linear):
        text = f"{layer.out_features} x {layer.in_features}"
        return text + (f" + {layer.out_features}" if layer.bias is not None else "")
    if isinstance(layer, nn.modules.batchnorm._BatchNorm):
        return f"2 x {layer.num_features}" if layer.affine else "0"
    return str(formula(layer))


# ---- tables -------------------------------------------------------------------------------------
def _leaves(model: nn.Module):
    return [(name, m) for name, m in model.named_modules() if not any(True for _ in m.children())]


def layer_table(model: nn.Module, example_inputs: torch.Tensor) -> list[dict]:
    """One row per leaf layer: name, type, params (``numel``), formula, buffers and MACs per sample.

    MACs come from ``tp.utils.count_ops_and_params(layer_wise=True)``; it counts a convolution's
    multiply-accumulates and one operation per element for activations and pooling (two for BN).
    """
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, _, layer_macs, _ = tp.utils.count_ops_and_params(model, example_inputs, layer_wise=True)
    batch = example_inputs.shape[0]
    rows = []
    for name, m in _leaves(model):
        rows.append({
            "layer": name,
            "type": type(m).__name__,
            "params": n_params(m, recurse=False),
            "formula": formula(m),
            "buffers": sum(b.numel() for b in m.buffers(recurse=False)),
            "macs": int(layer_macs.get(m) or 0) // batch,
        })
    return rows


def by_type(rows: list[dict]) -> list[dict]:
    """``layer_table`` rows summed per layer type, largest parameter count first."""
    total_p = sum(r["params"] for r in rows) or 1
    total_m = sum(r["macs"] for r in rows) or 1
    out: dict[str, dict] = {}
    for r in rows:
        t = out.setdefault(r["type"], {"type": r["type"], "layers": 0, "params": 0, "buffers": 0, "macs": 0})
        t["layers"] += 1
        for key in ("params", "buffers", "macs"):
            t[key] += r[key]
    for t in out.values():
        t["param_share"] = t["params"] / total_p
        t["mac_share"] = t["macs"] / total_m
    return sorted(out.values(), key=lambda t: (-t["params"], -t["macs"], t["type"]))


def by_stage(rows: list[dict]) -> list[dict]:
    """``layer_table`` rows summed per top-level child of the model (e.g. ResNet's conv1, layer1..4,
    fc), in the model's order, with each one's share of parameters and of MACs."""
    total_p = sum(r["params"] for r in rows) or 1
    total_m = sum(r["macs"] for r in rows) or 1
    out: dict[str, dict] = {}
    for r in rows:
        stage = r["layer"].split(".")[0]
        t = out.setdefault(stage, {"stage": stage, "params": 0, "macs": 0})
        t["params"] += r["params"]
        t["macs"] += r["macs"]
    for t in out.values():
        t["param_share"] = t["params"] / total_p
        t["mac_share"] = t["macs"] / total_m
    return list(out.values())


# ---- how each tensor shrinks --------------------------------------------------------------------
def snapshot(model: nn.Module) -> dict[str, tuple[str, int]]:
    """Every parameter tensor's kind and size, taken before pruning: {name: (kind, numel)}."""
    out = {}
    for mod_name, layer in model.named_modules():
        for p_name, param in layer.named_parameters(recurse=False):
            name = f"{mod_name}.{p_name}" if mod_name else p_name
            out[name] = (tensor_kind(layer, p_name), param.numel())
    return out


def scaling(before: dict[str, tuple[str, int]], model_after: nn.Module, p: float) -> list[dict]:
    """Per parameter tensor: numel before and after pruning at channel ratio ``p``, the kept
    fraction and the power d of k = 1-p that explains it (kept = k^d; rounded to the nearest integer,
    ``exact`` says whether k^d matches the kept fraction to 1e-9)."""
    k = 1.0 - check_channel_ratio(p)
    if k == 1.0:
        raise ValueError("p=0 prunes nothing: the power of k cannot be read")
    after = {name: param.numel() for name, param in model_after.named_parameters()}
    missing = set(before) - set(after)
    if missing:
        raise ValueError(f"{len(missing)} tensors disappeared after pruning, e.g. {min(missing)}")
    rows = []
    for name, (kind, n0) in before.items():
        kept = after[name] / n0
        power = round(math.log(kept) / math.log(k))
        rows.append({"tensor": name, "kind": kind, "before": n0, "after": after[name], "kept": kept,
                     "power": power, "exact": abs(kept - k ** power) < 1e-9})
    return rows


def scaling_by_kind(rows: list[dict]) -> list[dict]:
    """``scaling`` rows summed per (kind, power): tensors, params before and after, share of the
    model before pruning. Sorted by power (2, 1, 0), then by size."""
    total = sum(r["before"] for r in rows)
    out: dict[tuple[str, int], dict] = {}
    for r in rows:
        key = (r["kind"], r["power"])
        t = out.setdefault(key, {"kind": r["kind"], "power": r["power"], "tensors": 0, "before": 0, "after": 0})
        t["tensors"] += 1
        t["before"] += r["before"]
        t["after"] += r["after"]
    for t in out.values():
        t["share"] = t["before"] / total
    return sorted(out.values(), key=lambda t: (-t["power"], -t["before"], t["kind"]))


def by_power(rows: list[dict]) -> tuple[int, int, int]:
    """(A, B, C): parameters (before pruning) in tensors that scaled as k^2, k^1 and k^0 (``scaling``
    rows)."""
    return sum_by_power((r["tensor"], r["power"], r["before"]) for r in rows)


# ---- a model where the law holds ----------------------------------------------------------------
def plain_cnn(widths: Sequence[int] = (64, 128, 256, 256, 512, 512), in_channels: int = 3,
              num_classes: int = 10, seed: int = 0) -> nn.Sequential:
    """A VGG-style chain: 3x3 convs (no BatchNorm, no bias) with ReLU, a global pool, a linear head.

    Every conv weight except the first sits between two layers whose channels get pruned; only the
    stem (``in_channels`` fixed) and the head (``num_classes`` fixed) do not.
    """
    if not widths:
        raise ValueError("widths must name at least one layer's width")
    widths = [check_positive_int(w, "each of widths") for w in widths]
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    c_in = in_channels
    for w in widths:
        layers += [nn.Conv2d(c_in, int(w), 3, padding=1, bias=False), nn.ReLU()]
        c_in = int(w)
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, num_classes)]
    return nn.Sequential(*layers).eval()
