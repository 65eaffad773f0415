"""Reading Torch-Pruning's dependency graph into what the replay needs: width counters, channel
groups and parameter tensors whose shapes are written in terms of those counters.

* A *width counter* is one number that pruning changes: a conv's or linear layer's output width, its
  input width, or the single width of a layer whose input and output channels are the same
  (batch norm, depthwise conv, an unwrapped parameter's pruned dimension).
* A *group* is what ``BasePruner`` prunes together: a root layer of C channels and, per coupled
  layer, how many entries of which counter one root channel removes (e.g. 49 where a 7x7 map is
  flattened into a Linear).
* A *tensor* is a parameter, each dimension either a fixed size or ``(counter, divisor)`` (a grouped
  conv's weight holds ``in_channels // groups``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch_pruning as tp
from torch import nn
from torch_pruning import ops

from .._core import (
    UnsupportedModel,
    dependency_graph,
    expand_ignored,
    ignored_modules,
    is_depthwise,
    qkv_attentions,
    role,
    tensor_kind,
)
from . import macs

# Module types whose parameter shapes the replay follows, with the parameters Torch-Pruning's pruner
# for that type rewrites (any other tensor on such a layer would keep its width and break the model).
PRUNED_NAMES: dict[type, tuple[str, ...]] = {
    nn.modules.conv._ConvNd: ("weight", "bias"),
    nn.Linear: ("weight", "bias"),
    nn.modules.batchnorm._BatchNorm: ("weight", "bias"),
    nn.modules.instancenorm._InstanceNorm: ("weight", "bias"),
    nn.LayerNorm: ("weight", "bias"),
    nn.GroupNorm: ("weight", "bias"),
    nn.PReLU: ("weight",),
    nn.Embedding: ("weight",),
    nn.MultiheadAttention: ("in_proj_weight", "in_proj_bias", "bias_k", "bias_v", "out_proj.weight",
                            "out_proj.bias"),
}
KNOWN = tuple(PRUNED_NAMES)
CHANNEL_FIRST = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm, nn.GroupNorm)

FIX = ("put that layer in ignored_layers if it should keep its width, or measure by pruning "
       "(helpers.budget.bisect_by_pruning)")
HEADS_FIX = ("name the heads as BasePruner takes them, and pass the same arguments to ParameterModel and to "
             "BasePruner: num_heads={q_proj: heads, k_proj: key-value heads, v_proj: key-value heads} for "
             "separate Q, K and V projections, out_channel_groups={attention: attention.num_heads} for "
             "nn.MultiheadAttention (helpers.pruning.pruner_kwargs(model) gives both)")
TIE_FIX = ("untie them before pruning (for tied embeddings: model.lm_head.weight = "
           "nn.Parameter(model.embed_tokens.weight.detach().clone())), predict and prune the untied model, then "
           "tie them again (model.lm_head.weight = model.embed_tokens.weight): an ignored LM head and its "
           "embedding lose the same hidden channels, so their pruned copies are equal")


def refuse(name: str, module, why: str, fix: str = FIX) -> UnsupportedModel:
    """The error for one layer: which layer, why the count would be wrong, and what to do."""
    return UnsupportedModel(f"ParameterModel cannot predict this model exactly: {name or 'the model'} "
                            f"({type(module).__name__}) {why}; {fix}")


@dataclass
class Dep:
    key: tuple  # the width counter this dependency shrinks
    per_channel: int  # entries removed there per root channel removed
    is_param: bool  # target is an unwrapped nn.Parameter (skipped by _check_pruning_ratio)


@dataclass
class Group:
    root_key: tuple
    channels: int  # root width C
    ch_groups: int  # channel groups (grouped convs): pruning repeats within each
    deps: list[Dep] = field(default_factory=list)
    # ids of the modules whose output channels the group prunes, in the order BasePruner looks them
    # up in pruning_ratio_dict (each dependency's source, then its target): the first one found
    # there sets the group's ratio
    scope: list[int] = field(default_factory=list)
    heads: int = 0  # an attention group (Q/K/V outputs named in num_heads): its heads, else 0


@dataclass
class Tensor:
    name: str
    role: str
    numel: int
    dims: list  # per dimension: an int (fixed) or (counter key, divisor)

    @property
    def power(self) -> int:
        """How many of its dimensions pruning shrinks: it scales as k^power, k = 1-p."""
        return sum(not isinstance(d, int) for d in self.dims)


@dataclass
class Heads:
    """BasePruner's head arguments, as the replay needs them."""
    prune_num_heads: bool = False
    prune_head_dims: bool = True
    head_pruning_ratio: float = 0.0


@dataclass
class Structure:
    widths: dict[tuple, int]  # every width counter before pruning
    groups: list[Group]
    tensors: list[Tensor]
    macs: macs.Macs | None = None  # the counter's MACs as terms in the widths (or why not)
    heads: Heads = field(default_factory=Heads)


def counter_keys(module) -> tuple[tuple, tuple]:
    """(out key, in key) of a module: layers whose in and out widths are one number share a key."""
    if isinstance(module, nn.Linear) or (isinstance(module, nn.modules.conv._ConvNd) and not is_depthwise(module)):
        return ("out", id(module)), ("in", id(module))
    return ("ch", id(module)), ("ch", id(module))


def read(model: nn.Module, example_inputs: torch.Tensor, ignored_layers=(), num_heads=None,
         out_channel_groups=None, in_channel_groups=None, unwrapped_parameters=None,
         heads: Heads | None = None) -> Structure:
    """Trace ``model`` once and read its counters, groups and tensors (the model is not modified).
    ``num_heads``, ``out_channel_groups``, ``in_channel_groups`` and ``unwrapped_parameters`` are
    ``BasePruner``'s arguments of those names; ``heads`` its other head arguments.

    Exact or refused: raises ``UnsupportedModel`` wherever Torch-Pruning's count could differ from
    the replay's (or the pruned model would break) rather than return a number.
    """
    _check_owners(model)
    num_heads = dict(num_heads or {})
    _check_heads(model, num_heads)
    _check_heads_named(model, num_heads, out_channel_groups or {})
    recorder = macs.Recorder(model, example_inputs)
    try:
        with recorder:  # the tracer's forward pass also records what the MAC counter will see
            dg = dependency_graph(model, example_inputs, unwrapped_parameters)
    except UnsupportedModel:
        raise
    except Exception as err:
        raise UnsupportedModel(f"Torch-Pruning cannot trace this model on example_inputs "
                               f"({type(err).__name__}: {err}); check that model(example_inputs) runs") from err
    ignored = expand_ignored(ignored_layers)
    _check_reached(model, dg, ignored)
    widths, channel_groups = _counters(model, dg)
    # BasePruner adds the caller's channel groups, and num_heads as output channel groups
    for given, prefix, side in ((in_channel_groups, "in-groups", 1), (out_channel_groups, "out-groups", 0),
                                (num_heads, "out-groups", 0)):
        for module, n in (given or {}).items():
            if int(n) > 1:
                channel_groups[(prefix,) + counter_keys(module)[side]] = int(n)
    groups = _groups(model, dg, ignored, widths, channel_groups, num_heads)
    structure = Structure(widths, groups, _tensors(model, dg, groups), heads=heads or Heads())
    structure.macs = macs.build(model, dg, recorder, widths, {d.key for g in groups for d in g.deps})
    total = sum(p.numel() for p in model.parameters())  # parameters() yields a shared tensor once
    if sum(t.numel for t in structure.tensors) != total:
        raise UnsupportedModel(f"ParameterModel cannot predict this model exactly: its tensors add up to "
                               f"{sum(t.numel for t in structure.tensors):,} parameters, the model has "
                               f"{total:,}; measure by pruning (helpers.budget.bisect_by_pruning)")
    return structure


def _check_heads(model: nn.Module, num_heads: dict) -> None:
    """``num_heads`` names Q/K/V linear layers of ``model``, each with as many heads as its
    attention's other projections (key-value head sharing is not modelled)."""
    modules = {id(m) for m in model.modules()}
    for module, n in num_heads.items():
        if isinstance(module, nn.MultiheadAttention):
            raise refuse("", module, "is named in num_heads: Torch-Pruning then leaves the hidden size "
                         "whole (its attention group finds no layer to prune from)",
                         "give it in out_channel_groups instead (helpers.pruning.pruner_kwargs does), "
                         "which prunes the hidden size alike in every head")
        if not isinstance(module, nn.Linear) or id(module) not in modules:
            raise ValueError("num_heads must map Q, K and V linear layers of the model to their heads, got "
                             f"{type(module).__name__}")
        if isinstance(n, bool) or int(n) != n or n < 1 or module.out_features % int(n):
            raise ValueError(f"num_heads: {n!r} heads do not split a layer of {module.out_features} outputs")


def _check_heads_named(model: nn.Module, num_heads: dict, out_channel_groups: dict) -> None:
    """Every attention of more than one head is named in BasePruner's head arguments. Told nothing,
    BasePruner prunes an attention's width as plain channels: at most ratios the width no longer
    splits into heads, and the pruned model cannot run (nor is its count the one predicted with heads)."""
    names = {id(m): n for n, m in model.named_modules()}
    for attention in qkv_attentions(model):
        missing = [n for n in ("q_proj", "k_proj", "v_proj") if getattr(attention, n) not in num_heads]
        if attention.num_heads > 1 and missing:
            raise refuse(names[id(attention)], attention, f"has {attention.num_heads} heads, and num_heads does "
                         f"not name its {', '.join(missing)}: BasePruner then prunes the projections' outputs as "
                         "plain channels, which at most ratios leaves a width that no longer splits into heads "
                         "(the pruned model cannot run)", HEADS_FIX)
    for attention in model.modules():
        if not isinstance(attention, nn.MultiheadAttention) or attention.num_heads == 1:
            continue
        given = out_channel_groups.get(attention)
        if given is None or int(given) % attention.num_heads:
            named = "does not name it" if given is None else f"gives it {given!r} groups, not a multiple of them"
            raise refuse(names[id(attention)], attention, f"has {attention.num_heads} heads, and "
                         f"out_channel_groups {named}: BasePruner then prunes the hidden size as plain "
                         "channels, which at most ratios leaves an embedding size that no longer splits into "
                         "heads (the pruned model cannot run)", HEADS_FIX)


def _check_owners(model: nn.Module) -> None:
    """Every parameter has one owner, and known layers hold only the tensors their pruner rewrites."""
    owners: dict[int, tuple[str, nn.Module]] = {}
    for mod_name, module in model.named_modules():
        if torch.nn.utils.parametrize.is_parametrized(module):
            raise refuse(mod_name, module, "has a parametrized weight (weight_norm, spectral_norm, ...), "
                         "which Torch-Pruning does not prune through")
        for p_name, param in module.named_parameters(recurse=False):
            name = f"{mod_name}.{p_name}" if mod_name else p_name
            if id(param) in owners:
                other, owner = owners[id(param)]
                embeddings = isinstance(owner, nn.Embedding) or isinstance(module, nn.Embedding)
                raise refuse(mod_name, module, f"shares its parameter {p_name} with {other} (tied "
                             f"{'embeddings' if embeddings else 'weights'}): Torch-Pruning prunes each owner's copy "
                             "on its own, so after step() the model holds two tensors where it held one (the tie "
                             "is lost, and a small ratio can leave more parameters than before)",
                             TIE_FIX if embeddings else "give each layer its own copy to predict and prune, or "
                             "measure by pruning (helpers.budget.bisect_by_pruning)")
            owners[id(param)] = (name, module)
        if isinstance(module, nn.MultiheadAttention) and not module._qkv_same_embed_dim:
            raise refuse(mod_name, module, "has keys or values of another size than its embedding "
                         "(kdim, vdim), whose projections Torch-Pruning prunes on one side only")
        if isinstance(module, KNOWN):
            allowed = next(names for kind, names in PRUNED_NAMES.items() if isinstance(module, kind))
            extra = [n for n, _ in module.named_parameters() if n not in allowed]
            if extra:
                raise refuse(mod_name, module, f"holds {', '.join(extra)} besides {' and '.join(allowed)}: "
                             "Torch-Pruning would prune its channels and leave that tensor at full width")


def _check_reached(model: nn.Module, dg, ignored) -> None:
    """Every parameter that pruning could make inconsistent is in the traced graph (or ignored)."""
    ignored_ids = {id(m) for m in ignored}
    # a traced layer covers its children (MultiheadAttention uses out_proj's weight without calling it)
    covered = {id(sub) for m in dg.module2node if isinstance(m, nn.Module) for sub in m.modules()}
    for mod_name, module in model.named_modules():
        if id(module) in covered or id(module) in ignored_ids:
            continue
        for p_name, param in module.named_parameters(recurse=False):
            if param in dg.module2node or id(param) in ignored_ids or max(param.shape, default=1) <= 1:
                continue  # traced, left alone on purpose, or a scalar no pruning can change
            raise refuse(mod_name, module, f"holds {p_name} but the forward pass on example_inputs never "
                         "reaches it, so Torch-Pruning would shrink the layers around it and leave it at "
                         "full width (an auxiliary head used only in training mode then breaks)",
                         "if it is never used, remove it (e.g. aux_logits=False), or put it in "
                         "ignored_layers to accept it at full width")


def _counters(model, dg) -> tuple[dict[tuple, int], dict[tuple, int]]:
    widths: dict[tuple, int] = {}
    channel_groups: dict[tuple, int] = {}
    for module in dg.module2node:
        if ops.module2type(module) not in dg.REGISTERED_PRUNERS:
            continue
        out_key, in_key = counter_keys(module)
        out_ch, in_ch = dg.get_out_channels(module), dg.get_in_channels(module)
        if out_ch is not None:
            widths[out_key] = out_ch
        if in_ch is not None and in_key != out_key:
            widths[in_key] = in_ch
    # grouped (not depthwise) convs and group norms: BasePruner's in/out channel groups
    for m in model.modules():
        if is_depthwise(m):
            continue
        pruner = dg.get_pruner_of_module(m)
        if pruner is None:
            continue
        out_key, in_key = counter_keys(m)
        if pruner.get_out_channel_groups(m) > 1:
            channel_groups[("out-groups",) + out_key] = pruner.get_out_channel_groups(m)
        if pruner.get_in_channel_groups(m) > 1:
            channel_groups[("in-groups",) + in_key] = pruner.get_in_channel_groups(m)
    return widths, channel_groups


_RANKS_ITS_ROOT = (tp.prune_conv_out_channels, tp.prune_linear_out_channels)


def _ranked_for_sure(group) -> bool:
    """Whether ``GroupMagnitudeImportance`` certainly ranks ``group`` without failing, so that it
    need not be computed (a pass over every weight of the group): it scores a conv or linear root's
    output channels first, and the only index mapping it can trip on is a grouped conv's inputs
    (a depthwise conv's inputs have a pruning function of their own)."""
    if group[0].dep.handler not in _RANKS_ITS_ROOT:
        return False
    return not any(dep.handler == tp.prune_conv_in_channels and dep.target.module.groups > 1 for dep, _ in group)


def _attention_root(dg, group, num_heads, names):
    """BasePruner's attention groups (Q/K/V outputs named in num_heads): the group re-rooted at its
    downstream layer's inputs (the output projection), and the heads; ``(None, heads)`` where no
    such layer exists (BasePruner then skips the group); ``(group, 0)`` for any other group."""
    qkv = [dep.target.module for dep, _ in group
           if dg.is_out_channel_pruning_fn(dep.handler) and dep.target.module in num_heads]
    if not qkv:
        return group, 0
    heads = {num_heads[m] for m in qkv}
    if len(heads) > 1:
        query = max(qkv, key=lambda m: num_heads[m])
        raise refuse(names.get(id(query), "?"), query, f"shares an attention group with projections of fewer "
                     f"heads ({min(heads)} key-value heads for {max(heads)} query heads: grouped-query "
                     "attention, key-value head sharing), which Torch-Pruning 1.6.1 prunes by rules of its own "
                     "(with prune_num_heads=True it removes query heads in equal numbers per key-value head and "
                     "keeps the key and value projections whole) that the replay does not follow",
                     "prune a copy and count it instead (helpers.pruning.prune_copy, or "
                     "tp.utils.count_ops_and_params after pruner.step())")
    downstream = None
    for dep, idxs in group:
        if isinstance(dep.target.module, (nn.modules.conv._ConvNd, nn.Linear, nn.LSTM)) and \
                dg.is_in_channel_pruning_fn(dep.handler):
            downstream = (dep, idxs)
    if downstream is None:
        return None, heads.pop()
    dep, idxs = downstream
    return dg.get_pruning_group(dep.target.module, dep.handler, idxs), heads.pop()


def _groups(model, dg, ignored, widths, channel_groups, num_heads) -> list[Group]:
    names = {id(m): n for n, m in model.named_modules()} | {id(p): n for n, p in model.named_parameters()}
    importance = tp.importance.GroupMagnitudeImportance(p=2)
    roots = [ops.TORCH_CONV, ops.TORCH_LINEAR, ops.TORCH_LSTM]
    groups = []
    for group in dg.get_all_groups(ignored_layers=ignored_modules(ignored), root_module_types=roots):
        group, heads = _attention_root(dg, group, num_heads, names)
        if group is None:
            continue
        root = group[0].dep.target.module
        try:
            if not _ranked_for_sure(group) and importance(group) is None:
                continue  # nothing to rank: BasePruner skips the group
        except Exception as err:  # BasePruner ranks every group the same way, and fails the same way
            raise refuse(names.get(id(root), "?"), root, f"roots a group that Torch-Pruning's importance "
                         f"fails on ({type(err).__name__}: {err}), so BasePruner fails too") from err
        channels = len(group[0].idxs)
        is_in = dg.is_in_channel_pruning_fn(group[0].dep.handler) and not dg.is_out_channel_pruning_fn(group[0].dep.handler)
        root_key = counter_keys(root)[1 if is_in else 0]
        g = Group(root_key=root_key, channels=channels, ch_groups=1, heads=heads)
        for dep, idxs in group:
            for module, fn in ((dep.source.module, dep.trigger), (dep.target.module, dep.handler)):
                if fn is not None and dg.is_out_channel_pruning_fn(fn) and id(module) not in g.scope:
                    g.scope.append(id(module))
            target = dep.target.module
            name = names.get(id(target), "?")
            is_out = dg.is_out_channel_pruning_fn(dep.handler)
            has_params = isinstance(target, nn.Parameter) or any(True for _ in target.parameters(False))
            if isinstance(target, nn.Parameter) and sum(size > 1 for size in target.shape) > 1:
                # Torch-Pruning prunes the dimension it was given (unwrapped_parameters) or guessed
                # (the last one larger than 1): safe where that dimension alone has the group's size
                size = target.shape[dg.module2node[target].pruning_dim]
                if size != len(idxs) or list(target.shape).count(size) > 1:
                    raise refuse(name, target, f"of shape {tuple(target.shape)} is used outside a layer, "
                                 f"and Torch-Pruning would prune its dimension of size {size}, which is "
                                 f"not plainly the {len(idxs)} channels of its group. Wrap it in a layer, "
                                 "or name its dimension in unwrapped_parameters")
            if isinstance(target, nn.Parameter) and any(target is q for q in ignored):
                # BasePruner drops an ignored parameter from its graph and prunes the rest of the group
                raise refuse(name, target, "is in ignored_layers but shares its "
                             f"channels with the group of {names.get(id(root), '?')}: Torch-Pruning would "
                             "prune that group and leave this tensor at full width, which breaks the "
                             "model. Ignore the group's layers as well")
            if has_params and not isinstance(target, (nn.Parameter, *KNOWN)):
                raise refuse(name, target, "is pruned with its group, and the replay "
                             "does not follow that layer type's parameters")
            if isinstance(target, nn.modules.conv._ConvNd) and target.transposed:
                raise refuse(name, target, "is a transposed convolution, whose "
                             "weight the replay does not follow")
            out_key, in_key = counter_keys(target)
            key = out_key if is_out else in_key
            if key not in widths:  # an op without a width of its own (add, concat, flatten)
                continue
            if idxs and max(idxs) >= widths[key]:
                raise refuse(name, target, f"is reached with channel index {max(idxs)}, "
                             f"beyond its {widths[key]} channels")
            if len(idxs) % channels:
                raise refuse(name, target, f"loses {len(idxs)} entries per "
                             f"{channels} root channels, an uneven mapping the replay does not follow")
            g.deps.append(Dep(key, len(idxs) // channels, dep.target.type == ops.OPTYPE.PARAMETER))
            cg = channel_groups.get((("out-groups",) if is_out else ("in-groups",)) + key, 1)
            g.ch_groups = max(g.ch_groups, cg)
        if heads and g.ch_groups != heads:
            raise refuse(names.get(id(root), "?"), root, f"roots an attention group of {heads} heads pruned in "
                         f"{g.ch_groups} channel groups, whose arithmetic the replay does not follow",
                         "give the attention's projections no out_channel_groups of their own")
        groups.append(g)
    return groups


def _tensors(model, dg, groups) -> list[Tensor]:
    prunable = {d.key for g in groups for d in g.deps}
    unwrapped = {id(p) for p in dg.module2node if isinstance(p, nn.Parameter)}
    attentions = [m for m in model.modules() if isinstance(m, nn.MultiheadAttention)]
    inside = {id(m.out_proj): m for m in attentions}  # an attention's out_proj: pruned with it
    tensors = []
    for mod_name, module in model.named_modules():
        for p_name, param in module.named_parameters(recurse=False):
            name = f"{mod_name}.{p_name}" if mod_name else p_name
            dims: list = list(param.shape)
            fixed = list(param.shape)  # each dimension's size where no group shrinks it
            out_key, in_key = counter_keys(inside.get(id(module), module))
            pieces = 1
            if id(param) in unwrapped:
                dims[dg.module2node[param].pruning_dim] = (("ch", id(param)), 1)
            elif isinstance(module, nn.modules.conv._ConvNd):
                dims[0] = (out_key, 1)
                if p_name == "weight" and not is_depthwise(module):
                    dims[1] = (in_key, module.groups)  # weight holds in_channels // groups
            elif id(module) in inside:  # out_proj: embed_dim on both sides
                dims = [(out_key, 1)] * len(dims)
            elif isinstance(module, nn.MultiheadAttention):
                if p_name.startswith("in_proj"):  # Q, K and V stacked: three blocks of embed_dim rows
                    pieces = 3
                    fixed[0] //= pieces
                    dims[0] = (out_key, 1)
                    if p_name == "in_proj_weight":
                        dims[1] = (out_key, 1)
                else:  # bias_k, bias_v: (1, 1, embed_dim)
                    dims[2] = (out_key, 1)
            elif isinstance(module, nn.Linear):
                dims[0] = (out_key, 1)
                if p_name == "weight":
                    dims[1] = (in_key, 1)
            elif isinstance(module, nn.Embedding):
                dims[1] = (out_key, 1)
            elif isinstance(module, CHANNEL_FIRST):
                dims[0] = (out_key, 1)
            elif isinstance(module, nn.LayerNorm):
                dims[-1] = (out_key, 1)
            elif isinstance(module, nn.PReLU) and param.numel() > 1:
                dims[0] = (out_key, 1)
            # a dimension that no group shrinks is a fixed number
            dims = [d if isinstance(d, int) or d[0] in prunable else fixed[i] for i, d in enumerate(dims)]
            shrunk = [not isinstance(d, int) for d in dims]
            out_pruned, in_pruned = bool(shrunk) and shrunk[0], any(shrunk[1:])
            kind = tensor_kind(module, p_name)
            for piece in range(pieces):
                label = f"{name}[{'qkv'[piece]}]" if pieces > 1 else name
                tensors.append(Tensor(label, role(kind, out_pruned, in_pruned), param.numel() // pieces, dims))
    return tensors
