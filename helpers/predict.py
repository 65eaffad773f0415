"""Exact parameter counts of uniformly (locally) pruned models, predicted without pruning.

``ParameterModel`` reads Torch-Pruning's dependency graph once: which channel groups exist, which
layers each group shrinks (and by how many entries per channel, e.g. 49 per channel where a 7x7
map is flattened into a Linear), and how every parameter tensor's shape depends on those widths.
It then replays BasePruner's local-pruning arithmetic on integers only:

* each group keeps ``int(C * (1 - p))`` of its C channels (per channel group for grouped convs);
* with ``round_to`` the kept width of the root layer is rounded down to a multiple of it;
* a group is skipped when one of its layers would keep 1 channel or none, or when it holds no
  weight to rank (Torch-Pruning's ``_check_pruning_ratio`` and ``check_pruning_group``).

Every tensor then scales as k^d, k = 1-p, with d the number of its pruned dimensions, so that
params(k) = A k^2 + B k + C up to integer rounding.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch_pruning as tp
from torch import nn
from torch_pruning import ops

from .pruning import dependency_graph
from .theory import check_channel_ratio

# Module types whose parameter shapes this model knows how to follow.
_KNOWN = (nn.modules.conv._ConvNd, nn.Linear, nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm,
          nn.PReLU)


@dataclass
class _Dep:
    key: tuple  # the width counter this dependency shrinks
    per_channel: int  # entries removed there per root channel removed
    checks_out: bool  # True: Torch-Pruning checks the target's output width, else its input width
    is_param: bool  # target is an unwrapped nn.Parameter (skipped by _check_pruning_ratio)


@dataclass
class _Group:
    root_key: tuple
    channels: int  # root width C
    ch_groups: int  # channel groups (grouped convs): pruning repeats within each
    deps: list[_Dep] = field(default_factory=list)


@dataclass
class _Tensor:
    name: str
    role: str
    numel: int
    dims: list  # per dimension: an int (fixed) or (counter key, divisor)


def _counter_keys(module) -> tuple[tuple, tuple]:
    """(out key, in key) of a module: layers whose in and out widths are one number share a key."""
    if isinstance(module, nn.Linear) or (isinstance(module, nn.modules.conv._ConvNd)
                                         and ops.module2type(module) == ops.OPTYPE.CONV):
        return ("out", id(module)), ("in", id(module))
    return ("ch", id(module)), ("ch", id(module))


class ParameterModel:
    """Predict ``sum(p.numel())`` after ``BasePruner(pruning_ratio=p)`` (local, one step).

    Build once per (model, example_inputs, ignored_layers, round_to); the model is not modified.
    """

    def __init__(self, model: nn.Module, example_inputs: torch.Tensor, ignored_layers=(),
                 round_to: int | None = None):
        if round_to is not None and (int(round_to) != round_to or round_to < 1):
            raise ValueError(f"round_to must be a positive integer or None, got {round_to!r}")
        self.round_to = round_to
        dg = dependency_graph(model, example_inputs)
        ignored = [m for layer in ignored_layers for m in layer.modules()]
        self._init_counters(model, dg)
        self._groups = self._read_groups(dg, ignored)
        self._tensors = self._read_tensors(model, dg)
        self.params_before = sum(t.numel for t in self._tensors)

    # ---- building --------------------------------------------------------------------------
    def _init_counters(self, model, dg) -> None:
        self._width: dict[tuple, int] = {}
        self._channel_groups: dict[tuple, int] = {}
        for module in dg.module2node:
            if ops.module2type(module) not in dg.REGISTERED_PRUNERS:
                continue
            out_key, in_key = _counter_keys(module)
            out_ch, in_ch = dg.get_out_channels(module), dg.get_in_channels(module)
            if out_ch is not None:
                self._width[out_key] = out_ch
            if in_ch is not None and in_key != out_key:
                self._width[in_key] = in_ch
        # grouped (not depthwise) convs and group norms: BasePruner's in/out channel groups
        for m in model.modules():
            if isinstance(m, nn.modules.conv._ConvNd) and m.groups == m.out_channels:
                continue
            pruner = dg.get_pruner_of_module(m)
            if pruner is None:
                continue
            out_key, in_key = _counter_keys(m)
            if pruner.get_out_channel_groups(m) > 1:
                self._channel_groups[("out-groups",) + out_key] = pruner.get_out_channel_groups(m)
            if pruner.get_in_channel_groups(m) > 1:
                self._channel_groups[("in-groups",) + in_key] = pruner.get_in_channel_groups(m)

    def _read_groups(self, dg, ignored) -> list[_Group]:
        importance = tp.importance.GroupMagnitudeImportance(p=2)
        roots = [ops.TORCH_CONV, ops.TORCH_LINEAR, ops.TORCH_LSTM]
        groups = []
        for group in dg.get_all_groups(ignored_layers=ignored, root_module_types=roots):
            if importance(group) is None:  # nothing to rank: BasePruner skips the group
                continue
            root = group[0].dep.target.module
            channels = len(group[0].idxs)
            g = _Group(root_key=_counter_keys(root)[0], channels=channels, ch_groups=1)
            for dep, idxs in group:
                target = dep.target.module
                is_out = dg.is_out_channel_pruning_fn(dep.handler)
                has_params = isinstance(target, nn.Parameter) or any(True for _ in target.parameters(False))
                if has_params and not isinstance(target, (nn.Parameter, *_KNOWN)):
                    raise NotImplementedError(
                        f"ParameterModel does not follow {type(target).__name__} layers yet")
                if isinstance(target, nn.modules.conv._ConvNd) and target.transposed:
                    raise NotImplementedError("ParameterModel does not follow transposed convolutions")
                out_key, in_key = _counter_keys(target)
                key = out_key if is_out else in_key
                if key not in self._width:  # an op without a width of its own (add, concat, flatten)
                    continue
                if len(idxs) % channels:
                    raise NotImplementedError(f"uneven index mapping into {type(target).__name__}")
                g.deps.append(_Dep(key, len(idxs) // channels, is_out,
                                   dep.target.type == ops.OPTYPE.PARAMETER))
                cg = self._channel_groups.get((("out-groups",) if is_out else ("in-groups",)) + key, 1)
                g.ch_groups = max(g.ch_groups, cg)
            groups.append(g)
        return groups

    def _read_tensors(self, model, dg) -> list[_Tensor]:
        prunable = {d.key for g in self._groups for d in g.deps}
        unwrapped = {id(p) for p in dg.module2node if isinstance(p, nn.Parameter)}
        tensors = []
        for mod_name, module in model.named_modules():
            for p_name, param in module.named_parameters(recurse=False):
                name = f"{mod_name}.{p_name}" if mod_name else p_name
                dims: list = list(param.shape)
                out_key, in_key = _counter_keys(module)
                if id(param) in unwrapped:
                    node = dg.module2node[param]
                    key = ("ch", id(param))
                    dims[node.pruning_dim] = (key, 1)
                    role = "other (layer scale)"
                elif isinstance(module, nn.modules.conv._ConvNd):
                    depthwise = ops.module2type(module) == ops.OPTYPE.DEPTHWISE_CONV
                    dims[0] = (out_key, 1)
                    if p_name == "weight" and not depthwise:
                        dims[1] = (in_key, module.groups)  # weight holds in_channels // groups
                    role = "bias" if p_name == "bias" else self._weight_role(depthwise, out_key, in_key,
                                                                             prunable)
                elif isinstance(module, nn.Linear):
                    dims[0] = (out_key, 1)
                    if p_name == "weight":
                        dims[1] = (in_key, 1)
                    role = "bias" if p_name == "bias" else self._weight_role(False, out_key, in_key, prunable)
                elif isinstance(module, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm)):
                    dims[0] = (out_key, 1)
                    role = "normalisation"
                elif isinstance(module, nn.LayerNorm):
                    dims[-1] = (out_key, 1)
                    role = "normalisation"
                elif isinstance(module, nn.PReLU) and param.numel() > 1:
                    dims[0] = (out_key, 1)
                    role = "other (PReLU)"
                else:
                    role = "other"
                # a dimension that no group shrinks is a fixed number
                dims = [d if isinstance(d, int) or d[0] in prunable else param.shape[i]
                        for i, d in enumerate(dims)]
                tensors.append(_Tensor(name, role, param.numel(), dims))
        return tensors

    @staticmethod
    def _weight_role(depthwise, out_key, in_key, prunable) -> str:
        if depthwise:
            return "depthwise"
        out_p, in_p = out_key in prunable, in_key in prunable
        if out_p and in_p:
            return "weights between pruned layers"
        if out_p:
            return "stem (input channels fixed)"
        if in_p:
            return "classifier (outputs fixed)"
        return "weights between pruned layers"  # neither dim pruned: counted under its power below

    # ---- evaluating ------------------------------------------------------------------------
    def widths(self, p: float) -> dict[tuple, int]:
        """Every width counter after local pruning at channel ratio ``p``."""
        p = check_channel_ratio(p)
        width = dict(self._width)
        for g in self._groups:
            # _check_pruning_ratio: a layer already at 1 channel stops the group
            if any(width[d.key] == 1 for d in g.deps if not d.is_param):
                continue
            per_group = g.channels // g.ch_groups
            n_pruned = per_group - int(per_group * (1 - p))
            if n_pruned <= 0:
                continue
            if self.round_to:
                current = width[g.root_key]
                kept = current - n_pruned
                n_pruned = max(current - (kept - kept % self.round_to), 0)
            removed = min(n_pruned, per_group) * g.ch_groups
            if removed == 0:
                continue
            # check_pruning_group: no layer may lose all its channels
            if any(width[d.key] <= removed * d.per_channel for d in g.deps):
                continue
            for d in g.deps:
                width[d.key] -= removed * d.per_channel
        return width

    def params(self, p: float) -> int:
        """Exact parameter count after pruning a fraction ``p`` of every group's channels."""
        width = self.widths(p)
        total = 0
        for t in self._tensors:
            n = 1
            for d in t.dims:
                n *= d if isinstance(d, int) else width[d[0]] // d[1]
            total += n
        return total

    def reduction(self, p: float) -> float:
        """Fraction of parameters removed at channel ratio ``p``."""
        return 1.0 - self.params(p) / self.params_before

    def _power(self, t: _Tensor) -> int:
        return sum(not isinstance(d, int) for d in t.dims)

    def coefficients(self) -> tuple[int, int, int]:
        """(A, B, C) of params(k) = A k^2 + B k + C, k = 1-p: parameters in tensors with 2, 1, 0
        pruned dimensions."""
        by_power = {0: 0, 1: 0, 2: 0}
        for t in self._tensors:
            power = self._power(t)
            if power > 2:
                raise NotImplementedError(f"{t.name} has {power} pruned dimensions")
            by_power[power] += t.numel
        return by_power[2], by_power[1], by_power[0]

    def approximate_params(self, p: float) -> float:
        """The smooth polynomial A k^2 + B k + C, k = 1-p (no integer rounding)."""
        k = 1.0 - check_channel_ratio(p)
        a, b, c = self.coefficients()
        return a * k * k + b * k + c

    def breakdown(self) -> list[dict]:
        """Parameters by role, each with the power of k it scales with, largest first."""
        rows: dict[tuple[str, int], int] = {}
        for t in self._tensors:
            power = self._power(t)
            role = t.role if power > 0 else "not pruned"
            rows[(role, power)] = rows.get((role, power), 0) + t.numel
        out = [{"role": role, "power": power, "params": n, "share": n / self.params_before}
               for (role, power), n in rows.items()]
        return sorted(out, key=lambda r: -r["params"])

    def max_reduction(self, step: float = 0.01) -> tuple[float, float]:
        """(channel ratio, reduction) of the largest reduction reachable, scanned over [0, 1)."""
        best = (0.0, 0.0)
        for i in range(int(round(1 / step))):
            p = i * step
            r = self.reduction(p)
            if r > best[1]:
                best = (p, r)
        return best

    def solve(self, target_param_reduction: float, tol: float = 1e-6) -> float:
        """The channel ratio whose exact reduction is closest to ``target_param_reduction``."""
        target = check_channel_ratio(target_param_reduction, name="target parameter reduction")
        p_max, r_max = self.max_reduction()
        if target > r_max + 1e-9:
            raise ValueError(
                f"a {target:.1%} parameter reduction cannot be reached: uniform pruning of this model "
                f"removes at most {r_max:.1%} (at p={p_max:.2f}); lower the target")
        lo, hi = 0.0, p_max  # reduction(lo) < target <= reduction(hi), reduction non-decreasing in p
        if target <= 0.0:
            return 0.0
        while hi - lo > tol:
            mid = (lo + hi) / 2
            if self.reduction(mid) >= target:
                hi = mid
            else:
                lo = mid
        best = min((lo, hi), key=lambda q: abs(self.reduction(q) - target))
        return round(best, 6) if abs(self.reduction(round(best, 6)) - self.reduction(best)) < 1e-12 else best
