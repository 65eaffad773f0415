"""MACs as Torch-Pruning's counter reports them, written in terms of the width counters.

``tp.utils.count_ops_and_params`` hooks every module whose *exact* type is in its table
(``MODULES_MAPPING``; a subclass counts nothing, and the children of a counted module are not
added) and adds, per call, a product of the module's channel widths and fixed sizes (batch,
spatial positions, kernel):

* conv: ``prod(kernel) * in_channels * (out_channels // groups) * positions`` plus
  ``out_channels * positions`` for a bias;
* linear: ``numel(input) * out_features`` plus ``out_features`` for a bias;
* batch, instance and group norm, layer norm: ``numel(input)``, twice with affine parameters;
* ReLU-like activations, upsampling: ``numel(output)``; pooling: ``numel(input)``.

So one forward pass, recorded while Torch-Pruning traces its dependency graph, fixes every size
except the widths: each call becomes terms ``coefficient * width * width`` (or one width, or
none). A layer with parameters reads its widths from its own counters; a layer without (ReLU,
pooling) sees the channels of the tensor it is given, found by walking Torch-Pruning's graph back
to the layers that made that tensor (through element-wise ops, summed over a concatenation), with
every step checked against the recorded shapes. Where that walk cannot be made with certainty, the
MAC prediction is refused (lazily: the parameter prediction stays available).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from torch import nn
from torch_pruning import ops
from torch_pruning.utils import op_counter

from .._core import is_depthwise, role, tensor_kind

FIX = "count MACs by pruning a copy instead (helpers.pruning.prune_copy)"

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.InstanceNorm1d, nn.InstanceNorm2d,
          nn.InstanceNorm3d, nn.GroupNorm)
_ELEMENTS = (nn.ReLU, nn.PReLU, nn.ELU, nn.LeakyReLU, nn.ReLU6, nn.GELU)  # numel(output)
_POOLS = tuple(t for t, hook in op_counter.MODULES_MAPPING.items() if hook is op_counter.pool_flops_counter_hook)

# autograd ops that keep every dimension's meaning (element-wise maths, activations, pooling and
# resizing of the spatial dimensions, normalisation): a tensor's channels pass through them
_PASS_THROUGH = re.compile(
    r"(Relu|Hardtanh|Elu|LeakyRelu|Gelu|Hardswish|Hardsigmoid|Sigmoid|Silu|Tanh|Mish|Softplus|"
    r"Add|Sub|Mul|Div|Neg|Clamp|ClampMin|ClampMax|Pow|Exp|Sqrt|Rsqrt|Abs|Clone|Prelu|PreluKernel|"
    r"(Adaptive)?(Max|Avg)Pool[123]D(WithIndices)?|Upsample\w+|NativeBatchNorm|CudnnBatchNorm|"
    r"NativeLayerNorm|NativeGroupNorm)Backward\d*")
# views: they keep the channels only where the view has its input's shape (a re-strided copy)
_VIEW = re.compile(r"(AsStrided|View|Reshape|UnsafeView|Alias|Expand|Squeeze|Unsqueeze)Backward\d*")
_REDUCE = re.compile(r"(Mean|Sum|Amax|Amin)Backward\d*")  # channel-preserving only with keepdim

# axis of the channels in a registered layer's output: 1 (N, C, ...) or the last one
_CHANNEL_FIRST = (ops.OPTYPE.CONV, ops.OPTYPE.DEPTHWISE_CONV, ops.OPTYPE.BN, ops.OPTYPE.GN, ops.OPTYPE.IN,
                  ops.OPTYPE.PRELU)
_CHANNEL_LAST = (ops.OPTYPE.LINEAR, ops.OPTYPE.LN)


@dataclass
class Call:
    """One counted call of a module in the traced forward pass."""
    module: nn.Module
    in_shape: tuple | None
    out_shape: tuple | None
    grad_fn: object  # of the output (None: nothing before it has parameters)
    macs: int  # Torch-Pruning's own hook on this call, before pruning


@dataclass
class Term:
    """``coef * prod(sum(widths[k] for k in keys) // divisor)`` MACs of one layer."""
    name: str
    role: str
    coef: int
    factors: tuple  # ((keys, divisor), ...): keys a tuple of counters whose widths add up
    macs: int  # before pruning
    power: int  # factors that pruning shrinks


@dataclass
class Macs:
    """The MAC terms of a model, or why they cannot be written (the first layer that fails)."""
    terms: list[Term]
    batch: int
    problem: str | None = None

    @cached_property
    def before(self) -> int:
        """MACs per sample before pruning (the counter's total over the batch, divided by it)."""
        return sum(t.macs for t in self.terms) // self.batch

    @cached_property
    def products(self) -> list[tuple[tuple, int]]:
        """The terms merged by their factors: a layer and the activation after it often share one."""
        merged: dict[tuple, int] = {}
        for t in self.terms:
            merged[t.factors] = merged.get(t.factors, 0) + t.coef
        return list(merged.items())


def counted_modules(model: nn.Module) -> dict[nn.Module, int]:
    """The modules the counter adds up, each with how often its total is added (a module shared
    by two parents is added twice, as ``accumulate_flops`` does)."""
    mapping = {**op_counter.MODULES_MAPPING, **op_counter.CUSTOM_MODULES_MAPPING}
    counted: dict[nn.Module, int] = {}
    stack = [model]
    while stack:
        m = stack.pop()
        if type(m) in mapping:
            counted[m] = counted.get(m, 0) + 1
        else:
            stack.extend(m.children())
    return counted


class Recorder:
    """Records each counted module call (shapes, output grad_fn, Torch-Pruning's MACs) during a
    forward pass; a new top-level call starts the record afresh (Torch-Pruning's tracer first
    tries ``model(*example_inputs)``, which may fail part-way)."""

    def __init__(self, model: nn.Module, example_inputs):
        self.model, self.example_inputs = model, example_inputs
        self.counted = counted_modules(model)
        self.calls: list[Call] = []
        self.errors: list[str] = []
        self.first_arg = None
        self.names = {m: n for n, m in model.named_modules()}
        self.mapping = {**op_counter.MODULES_MAPPING, **op_counter.CUSTOM_MODULES_MAPPING}
        self._handles = []

    def __enter__(self):
        self._handles.append(self.model.register_forward_pre_hook(self._start))
        for m in self.counted:
            self._handles.append(m.register_forward_hook(self._record))
        return self

    def __exit__(self, *exc):
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def _start(self, module, args):
        self.calls, self.errors = [], []
        self.first_arg = args[0] if args else None

    def _record(self, module, inputs, output):
        had = module.__dict__.get("__flops__", None)
        try:  # the counter's own hook on this very call: the number each term must reproduce
            module.__flops__ = 0
            self.mapping[type(module)](module, inputs, output)
            macs = int(module.__flops__)
        except Exception as err:  # noqa: BLE001 - any failure makes this call unpredictable
            self.errors.append(f"{self.names.get(module, '?')}: {type(err).__name__}: {err}")
            return
        finally:
            del module.__flops__
            if had is not None:
                module.__flops__ = had
        first = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
        out = output[0] if isinstance(output, (tuple, list)) else output
        out = out if isinstance(out, torch.Tensor) else None
        self.calls.append(Call(module, tuple(first.shape) if first is not None else None,
                               tuple(out.shape) if out is not None else None,
                               out.grad_fn if out is not None else None, macs))

    def batch(self) -> int:
        """The counter's batch size: ``len`` of the first positional input of the model."""
        return len(self.first_arg) if self.first_arg is not None else 1


class _Unknown(Exception):
    """A layer whose MACs the terms cannot follow (the message says which and why)."""


def build(model: nn.Module, dg, recorder: Recorder, widths: dict, prunable: set) -> Macs:
    """The MAC terms of every recorded call, each checked against Torch-Pruning's own count of
    that call before pruning; a ``Macs`` with ``problem`` set where one cannot be written."""
    batch = recorder.batch()
    names = recorder.names
    if recorder.errors:
        return Macs([], batch, f"{recorder.errors[0]} (Torch-Pruning's counter fails on that layer)")
    if isinstance(recorder.example_inputs, torch.Tensor) and recorder.first_arg is not recorder.example_inputs:
        return Macs([], batch, "the model was traced on example_inputs without their batch dimension "
                    "(it accepts unbatched inputs), so the recorded shapes are not the counter's")
    walker = _Walker(dg, widths)
    terms: list[Term] = []
    for call in recorder.calls:
        name = names.get(call.module, "?")
        try:
            new = _terms(call, name, widths, prunable, walker)
        except _Unknown as err:
            return Macs([], batch, f"{name or 'the model'} ({type(call.module).__name__}) {err}")
        except (TypeError, IndexError, ValueError, ZeroDivisionError) as err:  # e.g. a call without inputs
            return Macs([], batch, f"{name or 'the model'} ({type(call.module).__name__}) is called in a way "
                        f"the terms do not follow ({type(err).__name__}: {err})")
        if sum(t.macs for t in new) != call.macs:  # a formula that does not reproduce the counter
            return Macs([], batch, f"{name or 'the model'} ({type(call.module).__name__}): its terms give "
                        f"{sum(t.macs for t in new)} MACs where Torch-Pruning counts {call.macs}")
        times = recorder.counted[call.module]
        for t in new:
            t.coef, t.macs = t.coef * times, t.macs * times
        terms.extend(new)
    return Macs(terms, batch)


def _factor(key, fixed: int, widths: dict, divisor: int = 1) -> tuple | int:
    """A width factor: ``((key,), divisor)`` where the counter exists, else the fixed size."""
    if key in widths:
        return ((key,), divisor)
    return fixed // divisor


def _term(name, kind, coef, factors, widths, prunable) -> Term:
    varying = tuple(f for f in factors if not isinstance(f, int))
    for f in factors:
        if isinstance(f, int):
            coef *= f
    before = coef
    for keys, divisor in varying:
        before *= sum(widths[k] for k in keys) // divisor
    # per factor as given: a weight's are (inputs, outputs), every other kind's one channel factor
    shrunk = [not isinstance(f, int) and any(k in prunable for k in f[0]) for f in factors]
    if kind in ("conv weight", "grouped conv weight", "linear weight"):
        label = role(kind, shrunk[1], shrunk[0])
    else:
        label = role(kind, any(shrunk), False)
    return Term(name, label, coef, varying, before, sum(shrunk))


def _numel(shape) -> int:
    return int(np.prod(shape, dtype=np.int64)) if shape is not None else 0


def _terms(call: Call, name: str, widths: dict, prunable: set, walker: _Walker) -> list[Term]:
    m = call.module
    t = type(m)
    if t in _CONVS:
        if m.transposed:
            raise _Unknown("is a transposed convolution")
        positions = call.in_shape[0] * _numel(call.out_shape[2:])
        kernel = _numel(m.kernel_size)
        if is_depthwise(m):
            if not m.in_channels == m.out_channels == m.groups:
                raise _Unknown("is a depthwise convolution with a channel multiplier")
            ch = _factor(("ch", id(m)), m.out_channels, widths)
            weight = _term(name, "depthwise conv weight", kernel * positions, [ch], widths, prunable)
            out = ch
        else:
            cin = _factor(("in", id(m)), m.in_channels, widths)
            cout = _factor(("out", id(m)), m.out_channels, widths, m.groups)
            weight = _term(name, tensor_kind(m, "weight"), kernel * positions, [cin, cout], widths, prunable)
            out = _factor(("out", id(m)), m.out_channels, widths)
        if m.bias is None:
            return [weight]
        return [weight, _term(name, "bias", positions, [out], widths, prunable)]
    if t is nn.Linear:
        rows = _numel(call.in_shape[:-1])
        cin = _factor(("in", id(m)), m.in_features, widths)
        cout = _factor(("out", id(m)), m.out_features, widths)
        weight = _term(name, "linear weight", rows, [cin, cout], widths, prunable)
        if m.bias is None:
            return [weight]
        return [weight, _term(name, "bias", 1, [cout], widths, prunable)]
    if t in _NORMS or t is nn.LayerNorm:
        affine = m.elementwise_affine if t is nn.LayerNorm else m.affine
        axis = -1 if t is nn.LayerNorm else 1
        return [_scaled(call, name, "normalisation", call.in_shape, 2 if affine else 1, ("ch", id(m)), axis,
                        widths, prunable, walker)]
    if t in _ELEMENTS:
        own = ("ch", id(m)) if t is nn.PReLU else None
        return [_scaled(call, name, "activation", call.out_shape, 1, own, 1, widths, prunable, walker)]
    if t in _POOLS:
        return [_scaled(call, name, "pooling", call.in_shape, 1, None, 1, widths, prunable, walker,
                        also=call.out_shape)]
    if t is nn.Upsample:
        # the counter takes output[0]: one sample's elements
        term = _scaled(call, name, "upsample", call.out_shape, 1, None, 1, widths, prunable, walker)
        term.coef //= call.out_shape[0]
        term.macs //= call.out_shape[0]
        return [term]
    # any other counted type (attention, recurrent, transposed conv): fixed, or refused
    if call.grad_fn is None:
        return [_term(name, "other", call.macs, [], widths, prunable)]
    own = {k for k in _own_keys(m) if k in widths}
    if own and not own & prunable:
        return [_term(name, "other", call.macs, [], widths, prunable)]
    raise _Unknown("is a layer whose MACs depend on widths in ways the terms do not follow")


def _own_keys(module) -> set:
    """Every width counter a module may own (see ``graph.counter_keys``)."""
    return {("out", id(module)), ("in", id(module)), ("ch", id(module))}


def _scaled(call, name, kind, shape, factor, own, own_axis, widths, prunable, walker, also=None) -> Term:
    """``factor * numel(shape)`` as ``coef * channels``: channels from the layer's own counter
    (``own`` at ``own_axis``) or from the walk back from its output."""
    if shape is None:
        raise _Unknown("has no tensor input or output to count")
    if own is not None and own in widths:
        keys, axis = (own,), own_axis - len(shape) if own_axis >= 0 else own_axis
    elif call.grad_fn is None:  # nothing before it has parameters: no width can change
        return _term(name, kind, factor * _numel(shape), [], widths, prunable)
    else:
        found = walker.channels_of(call.grad_fn)
        if found is None:
            raise _Unknown("sees channels that cannot be traced back with certainty to the layers "
                           "that make them (through a reshape, split, slice or unknown operation)")
        keys, axis = found
    orig = sum(widths[k] for k in keys)
    if orig <= 0:
        raise _Unknown("has no channels to count")
    for s in (shape, also):
        if s is not None and (len(s) < -axis or s[axis] != orig or len(s) + axis == 0):
            raise _Unknown(f"has a tensor of shape {tuple(s)} whose channel axis does not hold the "
                           f"{orig} channels traced back to it")
    return _term(name, kind, factor * _numel(shape) // orig, [(keys, 1)], widths, prunable)


class _Walker:
    """From a tensor's autograd node back to the width counters of the layers that made its
    channels: ``(keys, axis)`` (channels = the sum of those widths, on that negative axis)."""

    def __init__(self, dg, widths: dict):
        self.dg, self.widths = dg, widths
        self.nodes = {node.grad_fn: node for node in dg.module2node.values() if node.grad_fn is not None}
        self.memo: dict = {}

    def channels_of(self, grad_fn):
        node = self.nodes.get(grad_fn)
        return None if node is None else self._walk(node)

    def _walk(self, node):
        if node in self.memo:
            return self.memo[node]
        self.memo[node] = None  # a cycle (a reused layer) resolves to unknown
        found = self._resolve(node)
        shape = _out_shape(node)
        if found is not None:
            keys, axis = found
            orig = sum(self.widths[k] for k in keys)
            if shape is None or len(shape) < -axis or shape[axis] != orig:
                found = None
        self.memo[node] = found
        return found

    def _resolve(self, node):
        module, kind = node.module, node.type
        if kind == ops.OPTYPE.PARAMETER:
            key = ("ch", id(module))
            return ((key,), node.pruning_dim - module.dim()) if key in self.widths else None
        if kind in _CHANNEL_FIRST + _CHANNEL_LAST:
            plain = isinstance(module, nn.Linear) or (isinstance(module, nn.modules.conv._ConvNd)
                                                      and not is_depthwise(module))
            key = ("out", id(module)) if plain else ("ch", id(module))
            if key in self.widths:
                shape = _out_shape(node)
                if shape is None:
                    return None
                return (key,), (-1 if kind in _CHANNEL_LAST else 1 - len(shape))
            if kind in (ops.OPTYPE.CONV, ops.OPTYPE.DEPTHWISE_CONV, ops.OPTYPE.LINEAR):
                return None
            return self._through(node)  # a norm or PReLU without a width of its own keeps its input's
        name = type(node.grad_fn).__name__ if node.grad_fn is not None else ""
        if kind == ops.OPTYPE.CONCAT:
            return self._concat(node)
        if kind == ops.OPTYPE.ELEMENTWISE:
            if _PASS_THROUGH.fullmatch(name):
                return self._through(node)
            if _REDUCE.fullmatch(name) and getattr(node.grad_fn, "_saved_keepdim", False):
                return self._through(node)
            if _VIEW.fullmatch(name):
                return self._through(node, same_shape=True)
        return None

    def _through(self, node, same_shape: bool = False):
        """The channels of an op that keeps its input's: the first input whose channels fill the
        output's channel axis (a broadcast input, e.g. a scalar, does not)."""
        shape = _out_shape(node)
        if shape is None:
            return None
        for inp in node.inputs:
            if same_shape and _out_shape(inp) != shape:
                continue
            found = self._walk(inp)
            if found is None:
                continue
            keys, axis = found
            if len(shape) >= -axis and shape[axis] == sum(self.widths[k] for k in keys):
                return found
        return None

    def _concat(self, node):
        dim = getattr(node.grad_fn, "_saved_dim", None)
        shape = _out_shape(node)
        if dim is None or shape is None or len(node.inputs) == 0:
            return None
        axis = dim - len(shape) if dim >= 0 else dim
        keys: tuple = ()
        for inp in node.inputs:
            found = self._walk(inp)
            if found is None or found[1] != axis:
                return None
            keys += found[0]
        return keys, axis


def _out_shape(node):
    """The shape of a node's (first) output, from its autograd node."""
    if node.type == ops.OPTYPE.PARAMETER:
        return tuple(node.module.shape)
    try:
        return tuple(node.grad_fn._input_metadata[0].shape)
    except (AttributeError, IndexError, RuntimeError):
        return None


def evaluate(found: Macs, width: dict, shape: tuple) -> np.ndarray:
    """MACs per sample at the widths ``width`` (arrays of ``shape``, the ratios')."""
    total = np.zeros(shape, dtype=np.int64)
    for factors, coef in found.products:
        n = np.int64(coef)
        for keys, divisor in factors:
            s = width[keys[0]]
            for k in keys[1:]:
                s = s + width[k]
            n = n * (s // divisor if divisor != 1 else s)
        total = total + n
    return total // found.batch
