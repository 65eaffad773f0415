"""Prune a model with Torch-Pruning and measure what was removed."""
from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch_pruning as tp
from torch import nn

from .theory import check_channel_ratio


@dataclass
class PruneResult:
    channel_ratio: float
    params_before: int
    params_after: int
    macs_before: int  # per sample, as tp.utils.count_ops_and_params counts them
    macs_after: int
    seconds: float  # time to build the pruner and prune (counting excluded)
    model: nn.Module

    @property
    def param_reduction(self) -> float:
        return 1.0 - self.params_after / self.params_before

    @property
    def mac_reduction(self) -> float:
        return 1.0 - self.macs_after / self.macs_before


def count(model: nn.Module, example_inputs: torch.Tensor) -> tuple[int, int]:
    """(MACs per sample, parameters) of ``model``: parameters are sum(numel), buffers excluded."""
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        macs, params = tp.utils.count_ops_and_params(model, example_inputs)
    return int(macs), int(params)


def dependency_graph(model: nn.Module, example_inputs: torch.Tensor) -> tp.DependencyGraph:
    """Torch-Pruning's dependency graph of ``model``, traced with autograd (never under no_grad)."""
    with torch.enable_grad(), warnings.catch_warnings():
        # ConvNeXt's layer-scale tensors are "unwrapped parameters": Torch-Pruning finds them itself
        warnings.filterwarnings("ignore", message=".*[Uu]nwrapped parameters.*")
        return tp.DependencyGraph().build_dependency(model, example_inputs=example_inputs)


def make_pruner(model, example_inputs, channel_ratio, ignored_layers=(), round_to=None,
                global_pruning=False, iterative_steps=1, **kwargs) -> tp.pruner.BasePruner:
    """Torch-Pruning's BasePruner with group L2 magnitude importance, as the course uses it."""
    if round_to is not None and (int(round_to) != round_to or round_to < 1):
        raise ValueError(f"round_to must be a positive integer or None, got {round_to!r}")
    if int(iterative_steps) != iterative_steps or iterative_steps < 1:
        raise ValueError(f"iterative_steps must be a positive integer, got {iterative_steps!r}")
    with warnings.catch_warnings():
        # ConvNeXt's layer-scale tensors are "unwrapped parameters": Torch-Pruning finds them itself
        warnings.filterwarnings("ignore", message=".*[Uu]nwrapped parameters.*")
        return tp.pruner.BasePruner(
            model, example_inputs,
            importance=tp.importance.GroupMagnitudeImportance(p=2),
            pruning_ratio=channel_ratio,
            ignored_layers=list(ignored_layers),
            round_to=round_to,
            global_pruning=global_pruning,
            iterative_steps=int(iterative_steps),
            **kwargs,
        )


def prune(model: nn.Module, example_inputs: torch.Tensor, channel_ratio: float, ignored_layers=(),
          round_to: int | None = None, global_pruning: bool = False, iterative_steps: int = 1,
          counts_before: tuple[int, int] | None = None, **pruner_kwargs) -> PruneResult:
    """Prune ``model`` in place so that each layer loses ``channel_ratio`` of its channels.

    The model and inputs stay on their device (CPU or CUDA). Extra keyword arguments go to
    Torch-Pruning's BasePruner (e.g. ``pruning_ratio_dict``, ``max_pruning_ratio``).
    ``counts_before`` (MACs, params) of the unpruned model saves counting it again in sweeps.
    """
    check_channel_ratio(channel_ratio)
    macs_before, params_before = counts_before or count(model, example_inputs)
    start = time.perf_counter()
    pruner = make_pruner(model, example_inputs, channel_ratio, ignored_layers, round_to,
                         global_pruning, iterative_steps, **pruner_kwargs)
    for _ in range(int(iterative_steps)):
        pruner.step()
    if example_inputs.is_cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    macs_after, params_after = count(model, example_inputs)
    return PruneResult(float(channel_ratio), params_before, params_after, macs_before, macs_after,
                       seconds, model)


def prune_steps(model: nn.Module, example_inputs: torch.Tensor, pruning_ratio: float,
                iterative_steps: int, ignored_layers=(), round_to: int | None = None
                ) -> Iterator[PruneResult]:
    """Iterative pruning: yield the measured model after each of ``iterative_steps`` steps.

    Step i reaches channel ratio ``pruning_ratio * i / iterative_steps``, the schedule of
    Torch-Pruning's README latency benchmark (pruning_ratio=1, 20 steps).
    """
    if not (0 < pruning_ratio <= 1):
        raise ValueError(f"pruning_ratio must lie in (0, 1], got {pruning_ratio!r}")
    macs0, params0 = count(model, example_inputs)
    start = time.perf_counter()
    pruner = make_pruner(model, example_inputs, pruning_ratio, ignored_layers, round_to,
                         iterative_steps=iterative_steps)
    for step in range(1, int(iterative_steps) + 1):
        pruner.step()
        seconds = time.perf_counter() - start
        macs, params = count(model, example_inputs)
        yield PruneResult(pruner.per_step_pruning_ratio[step], params0, params, macs0, macs, seconds, model)
        start = time.perf_counter()



def copy_with_ignored(model: nn.Module, ignored_layers=()) -> tuple[nn.Module, list[nn.Module]]:
    """A deep copy of ``model`` and the copies of ``ignored_layers`` inside it, so that one built
    model can be pruned at several ratios."""
    names = {id(m): n for n, m in model.named_modules()}
    missing = [m for m in ignored_layers if id(m) not in names]
    if missing:
        raise ValueError("ignored_layers must be layers of the model being copied")
    clone = copy.deepcopy(model)
    return clone, [clone.get_submodule(names[id(m)]) for m in ignored_layers]
