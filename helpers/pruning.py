"""Prune a model with Torch-Pruning and measure what was removed.

``make_pruner`` is Torch-Pruning's own ``BasePruner`` with group L2 magnitude importance, as the
course uses it; ``prune_steps`` is the one loop that steps it; ``prune`` runs that loop and counts
before and after; ``prune_copy`` does the same to a copy, leaving the model it was given untouched.

For transformers: ``find_heads`` (the heads Torch-Pruning must be told about), ``pruner_kwargs``
(``BasePruner``'s arguments with them added) and ``after_pruning`` (the widths a pruned model reads
at run time); notebook 13 writes each of them out before the course calls them.
"""
from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch_pruning as tp
from torch import nn

from ._core import (
    after_pruning,
    check_channel_ratio,
    check_layers,
    check_positive_int,
    check_round_to,
    find_heads,
    pruner_kwargs,
)
from .counting import count, n_params

__all__ = ["PruneResult", "make_pruner", "prune_steps", "prune", "prune_copy", "copy_with_layers", "find_heads",
           "pruner_kwargs", "after_pruning"]


@dataclass
class PruneResult:
    """One pruning: the channel ratio, parameters and MACs before and after, and the pruned model."""

    channel_ratio: float
    params_before: int
    params_after: int
    macs_before: int | None  # per sample, as tp.utils.count_ops_and_params counts them (None: not counted)
    macs_after: int | None
    seconds: float  # time to build the pruner and prune (counting excluded)
    model: nn.Module

    @property
    def param_reduction(self) -> float:
        return 1.0 - self.params_after / self.params_before

    @property
    def mac_reduction(self) -> float:
        return 1.0 - self.macs_after / self.macs_before


def make_pruner(model: nn.Module, example_inputs: torch.Tensor, channel_ratio: float, ignored_layers=(),
                round_to: int | None = None, global_pruning: bool = False, iterative_steps: int = 1,
                **kwargs) -> tp.pruner.BasePruner:
    """Torch-Pruning's BasePruner with group L2 magnitude importance, as the course uses it.

    Written out, this is::

        tp.pruner.BasePruner(model, example_inputs,
                             importance=tp.importance.GroupMagnitudeImportance(p=2),
                             pruning_ratio=channel_ratio, ignored_layers=list(ignored_layers),
                             round_to=round_to, global_pruning=global_pruning,
                             iterative_steps=iterative_steps, **kwargs)

    On a transformer the heads are added to ``kwargs`` where the caller gave none
    (``pruner_kwargs``: ``num_heads`` for Q/K/V projections,
    ``out_channel_groups`` for ``nn.MultiheadAttention``); Torch-Pruning's own head arguments
    (``num_heads``, ``prune_num_heads``, ``prune_head_dims``, ``head_pruning_ratio``,
    ``unwrapped_parameters``) pass through under those names.
    """
    round_to = check_round_to(round_to)
    check_layers(model)
    iterative_steps = check_positive_int(iterative_steps, "iterative_steps")
    # BasePruner's default channel-group dicts are shared between pruners (mutable defaults): give
    # each pruner its own
    kwargs = pruner_kwargs(model, kwargs)
    kwargs.setdefault("in_channel_groups", {})
    kwargs.setdefault("out_channel_groups", {})
    with warnings.catch_warnings():
        # ConvNeXt's layer-scale tensors are "unwrapped parameters": Torch-Pruning finds them itself
        warnings.filterwarnings("ignore", message=".*[Uu]nwrapped parameters.*")
        return tp.pruner.BasePruner(
            model, example_inputs,
            importance=tp.importance.GroupMagnitudeImportance(p=2),
            pruning_ratio=float(channel_ratio),
            ignored_layers=list(ignored_layers),
            round_to=round_to,
            global_pruning=global_pruning,
            iterative_steps=iterative_steps,
            **kwargs,
        )


def prune(model: nn.Module, example_inputs: torch.Tensor, channel_ratio: float, ignored_layers=(),
          round_to: int | None = None, global_pruning: bool = False, iterative_steps: int = 1,
          counts_before: tuple[int, int] | None = None, count_macs: bool = True, **pruner_kwargs) -> PruneResult:
    """Prune ``model`` in place so that each layer loses ``channel_ratio`` of its channels.

    The model and inputs stay on their device (CPU or CUDA). Extra keyword arguments go to
    Torch-Pruning's BasePruner (e.g. ``pruning_ratio_dict``, ``max_pruning_ratio``).
    ``counts_before`` (MACs, params) of the unpruned model saves counting it again in sweeps;
    ``count_macs=False`` counts parameters only (the MAC fields are then None), saving two forward
    passes where only parameters matter.
    """
    # the validated float goes on: a numpy.float32 0.3 would round differently inside Torch-Pruning
    channel_ratio = check_channel_ratio(channel_ratio)

    def counts() -> tuple[int | None, int]:
        return count(model, example_inputs) if count_macs else (None, n_params(model))

    macs_before, params_before = counts_before or counts()
    start = time.perf_counter()
    for _ in prune_steps(model, example_inputs, channel_ratio, iterative_steps, ignored_layers, round_to,
                         global_pruning=global_pruning, **pruner_kwargs):
        pass
    if example_inputs.is_cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    macs_after, params_after = counts()
    return PruneResult(channel_ratio, params_before, params_after, macs_before, macs_after,
                       seconds, model)


def prune_copy(model: nn.Module, example_inputs: torch.Tensor, channel_ratio: float, ignored_layers=(),
               pruning_ratio_dict: dict | None = None, **kwargs) -> PruneResult:
    """``prune`` applied to a deep copy of ``model``; ``model`` itself stays as it was.

    ``ignored_layers`` and the keys of ``pruning_ratio_dict`` (layers, or tuples of layers) name
    layers of ``model``: they are mapped to the copy's layers. The result's ``model`` is the pruned copy. Other keyword arguments
    are ``prune``'s.
    """
    channel_ratio = check_channel_ratio(channel_ratio)
    ignored_layers = list(ignored_layers)
    # a key may be a tuple of layers (one ranking scope in Torch-Pruning): map each layer in it
    keys = [key if isinstance(key, tuple) else (key,) for key in (pruning_ratio_dict or {})]
    clone, clone_layers = copy_with_layers(model, [*ignored_layers, *(m for key in keys for m in key)])
    clone_ignored = clone_layers[:len(ignored_layers)]
    if pruning_ratio_dict is not None:
        mapped = iter(clone_layers[len(ignored_layers):])
        kwargs["pruning_ratio_dict"] = {
            (tuple(next(mapped) for _ in key) if isinstance(given, tuple) else next(mapped)): ratio
            for key, (given, ratio) in zip(keys, pruning_ratio_dict.items())}
    return prune(clone, example_inputs, channel_ratio, clone_ignored, **kwargs)


def prune_steps(model: nn.Module, example_inputs: torch.Tensor, pruning_ratio: float, iterative_steps: int = 1,
                ignored_layers=(), round_to: int | None = None, **pruner_kwargs) -> Iterator[float]:
    """The course's one pruning loop, in place: ``make_pruner`` once, then ``step()``
    ``iterative_steps`` times; after each step the run-time widths of a transformer are set
    (``after_pruning``) and the channel ratio reached is yielded (step i reaches
    ``pruning_ratio * i / iterative_steps`` of each group's initial width: Torch-Pruning's README
    latency benchmark runs pruning_ratio=1 over 20 steps). ``prune``, ``budget.prune_until`` and the
    sweeps all prune through it.

    The caller measures the model between steps (and may stop early)::

        for p in prune_steps(model, inputs, 1.0, 20, round_to=2):
            print(p, helpers.counting.n_params(model))

    Other keyword arguments go to ``make_pruner`` (``global_pruning``, ``pruning_ratio_dict``, ...).
    """
    pruning_ratio = float(pruning_ratio)
    if not (0 <= pruning_ratio <= 1):
        raise ValueError(f"pruning_ratio must lie in [0, 1], got {pruning_ratio!r}")
    pruner = make_pruner(model, example_inputs, pruning_ratio, ignored_layers, round_to,
                         iterative_steps=iterative_steps, **pruner_kwargs)
    for step in range(1, pruner.iterative_steps + 1):
        pruner.step()
        after_pruning(model, pruner)  # a transformer's run-time widths (no-op on a CNN)
        yield pruner.per_step_pruning_ratio[step]


def copy_with_layers(model: nn.Module, layers=()) -> tuple[nn.Module, list[nn.Module | nn.Parameter]]:
    """A deep copy of ``model`` and the copies of ``layers`` (modules or parameters of ``model``)
    inside it."""
    modules = {id(m): n for n, m in model.named_modules()}
    params = {id(p): n for n, p in model.named_parameters()}
    if any(id(m) not in modules and id(m) not in params for m in layers):
        raise ValueError("ignored_layers and pruning_ratio_dict must name layers of the model being pruned")
    clone = copy.deepcopy(model)
    return clone, [clone.get_submodule(modules[id(m)]) if id(m) in modules else clone.get_parameter(params[id(m)])
                   for m in layers]
