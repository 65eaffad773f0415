"""Real CNNs pruned with Torch-Pruning: the pruning groups of a model, and sweeps over channel ratios.

* ``group_layers`` and ``groups``: what one pruning group couples, and every group of a model;
* ``ratio_sweep``: one model pruned step by step (an iterative schedule, one dependency graph),
  measured at chosen ratios;
* ``settings_table``, ``zoo_sweep`` and ``transformer_sweep``: a copy pruned in one call per pruner
  setting, per CNN and ratio, or per transformer, ratio and kind of width, each row measured and
  predicted by one function (``_pruned_row``);
* ``README`` and ``readme_sweep``: Torch-Pruning's README latency log and its configuration, replayed.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import reduce

import torch
import torch_pruning as tp
from torch import nn
from tqdm.auto import tqdm

from . import theory, zoo
from ._core import dependency_graph, ignored_modules, pruner_kwargs, qkv_attentions
from .counting import count, n_macs, n_params
from .predict import ParameterModel
from .pruning import copy_with_layers, prune_copy, prune_steps

__all__ = ["group_layers", "groups", "schedule", "ratio_sweep", "settings_table", "zoo_sweep", "heads_alone",
           "transformer_sweep", "README", "readme_sweep"]


def _out_pruning_fn(layer: nn.Module):
    if isinstance(layer, nn.modules.conv._ConvNd):
        return tp.prune_conv_out_channels
    if isinstance(layer, nn.Linear):
        return tp.prune_linear_out_channels
    raise ValueError(f"pick a Conv or Linear layer as the root of a group, got {type(layer).__name__}")


def group_layers(model: nn.Module, example_inputs: torch.Tensor, layer: nn.Module) -> list[dict]:
    """The layers that lose parameters when one output channel of ``layer`` is removed.

    Torch-Pruning's dependency graph gives the group; it is pruned by one channel on a copy of the
    model, so that every row's ``params_per_channel`` is what the library really removes. One row
    per layer, in the model's module order: name, type, pruned dims ("out", "in" or "out+in").
    """
    if not any(m is layer for m in model.modules()):
        raise ValueError("layer must be a module of model")
    clone, (root,) = copy_with_layers(model, [layer])
    dg = dependency_graph(clone, example_inputs)
    group = dg.get_pruning_group(root, _out_pruning_fn(root), idxs=[0])
    dims: dict[int, set] = {}
    for dep, _ in group:
        target = dep.target.module
        if isinstance(target, nn.Module):
            dims.setdefault(id(target), set()).add("out" if dg.is_out_channel_pruning_fn(dep.handler) else "in")
    before = {n: n_params(m, recurse=False) for n, m in clone.named_modules()}
    group.prune()
    rows = []
    for name, module in clone.named_modules():
        removed = before[name] - n_params(module, recurse=False)
        if removed:
            rows.append({"layer": name, "type": type(module).__name__,
                         "pruned": "+".join(sorted(dims.get(id(module), {"?"}), reverse=True)),
                         "params_per_channel": removed})
    return rows


def groups(model: nn.Module, example_inputs: torch.Tensor, ignored_layers=()) -> list[dict]:
    """Every pruning group a local pruner would use: its root layer, its width and how many layers
    with parameters it couples, in the model's module order."""
    dg = dependency_graph(model, example_inputs)
    names = {id(m): n for n, m in model.named_modules()}
    ignored = ignored_modules(ignored_layers)
    rows = []
    for group in dg.get_all_groups(ignored_layers=ignored, root_module_types=[nn.modules.conv._ConvNd, nn.Linear]):
        root = group[0].dep.target.module
        layers = {id(dep.target.module) for dep, _ in group
                  if isinstance(dep.target.module, nn.Module) and n_params(dep.target.module, recurse=False)}
        rows.append({"root": names[id(root)], "channels": len(group[0].idxs), "layers": len(layers)})
    order = {n: i for i, n in enumerate(names.values())}
    return sorted(rows, key=lambda r: order[r["root"]])


def schedule(ratios: Sequence[float]) -> tuple[float, int]:
    """(pruning_ratio, iterative_steps) of a linear schedule that passes through every ratio."""
    if not ratios:
        raise ValueError("give at least one channel ratio")
    micro = [round(theory.check_channel_ratio(r) * 1_000_000) for r in ratios]
    step = reduce(math.gcd, [m for m in micro if m] or [1])
    top = max(micro)
    if top == 0:
        return 0.0, 1
    return top / 1_000_000, top // step


def ratio_sweep(model: nn.Module, example_inputs: torch.Tensor, ratios: Sequence[float], ignored_layers=(),
                round_to: int | None = None, macs: bool = False,
                on_step: Callable[[nn.Module, float], dict | None] | None = None,
                pruning_ratio: float | None = None, iterative_steps: int | None = None) -> list[dict]:
    """Prune ``model`` in place, step by step (``pruning.prune_steps``), and measure it at each
    channel ratio in ``ratios``.

    One pruner (one dependency graph) serves every ratio. The schedule is linear: by default the
    coarsest one that passes through every ratio; ``pruning_ratio`` and ``iterative_steps`` set it
    explicitly (e.g. the README's 1.0 over 20 steps). ``on_step(model, p)`` may return extra
    columns (a latency, say). Rows: channel_ratio, params (and macs), in increasing p.

    Iterative against one-shot: each step keeps ``int(C0 * (1 - p))`` of a group's *initial* width
    C0, as one step to ``p`` does, so a row equals pruning the unpruned model once at ``p`` (and
    ``ParameterModel.params(p)``) when no ``round_to`` applies and no group is skipped. With
    ``round_to``, or where a group's width would reach 0, the path matters and the rows are this
    schedule's own counts, which ``ParameterModel(..., iterative_steps=n)`` predicts
    (``tests/test_sweep.py`` holds a case of each kind).
    """
    keep = sorted({round(theory.check_channel_ratio(r), 6) for r in ratios})
    if pruning_ratio is None or iterative_steps is None:
        pruning_ratio, iterative_steps = schedule(keep)

    def measure(p: float) -> dict:
        row = {"channel_ratio": p, "params": n_params(model)}
        if macs:
            row["macs"] = n_macs(model, example_inputs)
        if on_step is not None:
            row.update(on_step(model, p) or {})
        return row

    rows = [measure(0.0)] if keep[0] == 0.0 else []
    wanted = [p for p in keep if p > 0]
    if not wanted:
        return rows
    for p in prune_steps(model, example_inputs, pruning_ratio, iterative_steps, ignored_layers, round_to):
        p = round(p, 6)
        if p in wanted:
            rows.append(measure(p))
        if p >= wanted[-1]:
            break
    missing = set(wanted) - {r["channel_ratio"] for r in rows}
    if missing:
        raise ValueError(f"the schedule ({pruning_ratio} over {iterative_steps} steps) never reaches "
                         f"{sorted(missing)}")
    return rows


def _pruned_row(model: nn.Module, inputs: torch.Tensor, ignored, channel_ratio: float,
                predictor: ParameterModel | None, count_macs: bool = True, counts_before=None, **kwargs) -> dict:
    """The sweeps' one measurement: a copy of ``model`` pruned in one call (``pruning.prune_copy``,
    ``kwargs`` its pruner settings), run forward once, counted, and set next to ``predictor``'s
    count for the same settings (None: not predicted)."""
    result = prune_copy(model, inputs, channel_ratio, ignored, counts_before=counts_before, count_macs=count_macs,
                        **kwargs)
    with torch.no_grad():
        shape = tuple(result.model(inputs).shape)
    predicted = (predictor.params(channel_ratio, pruning_ratio_dict=kwargs.get("pruning_ratio_dict"))
                 if predictor is not None else None)
    row = {"channel_ratio": channel_ratio, "params_before": result.params_before,
           "params_after": result.params_after, "predicted_params_after": predicted,
           "param_reduction": result.param_reduction,
           "predicted_reduction": None if predicted is None else 1 - predicted / result.params_before,
           "rule_reduction": theory.param_reduction(channel_ratio)}
    if count_macs:
        row.update({"macs_before": result.macs_before, "macs_after": result.macs_after,
                    "predicted_macs_after": predictor.macs(channel_ratio) if predictor is not None else None,
                    "mac_reduction": result.mac_reduction,
                    "predicted_mac_reduction": predictor.reduction(channel_ratio, by="macs")
                    if predictor is not None else None})
    return {**row, "prune_seconds": round(result.seconds, 3), "output_shape": shape}


def zoo_sweep(names: Sequence[str], ratios: Sequence[float], device: torch.device | str = "cpu",
              ignore_classifier: bool = True, round_to: int | None = None, progress: bool = False,
              predictors: dict | None = None) -> list[dict]:
    """Every zoo CNN pruned at every ratio, against the exact prediction and the rule.

    Each model is built once and predicted (``ParameterModel``) before anything is pruned; then a
    copy of it is pruned in one step at each ratio, counted (parameters and MACs, as
    ``tp.utils.count_ops_and_params`` counts them, per sample) and run forward once. One row per
    (model, ratio): model, family, then the columns of ``settings_table``'s rows with MACs.
    A dict given as ``predictors`` receives each model's ``ParameterModel`` under its name.
    """
    for name in names:
        zoo.family(name)  # unknown or unsupported names fail before any work
    ratios = [theory.check_channel_ratio(p) for p in ratios]
    rows = []
    bar = tqdm(total=len(names) * len(ratios), desc="pruning the zoo", disable=not progress)
    for name in names:
        model, inputs, classifier = zoo.build(name, device=device)
        ignored = classifier if ignore_classifier else []
        predictor = ParameterModel(model, inputs, ignored, round_to=round_to, **pruner_kwargs(model))
        if predictors is not None:
            predictors[name] = predictor
        before = count(model, inputs)
        for p in ratios:
            bar.set_postfix_str(f"{name} p={p:.2f}")
            rows.append({"model": name, "family": zoo.family(name),
                         **_pruned_row(model, inputs, ignored, p, predictor, counts_before=before, round_to=round_to)})
            bar.update()
    bar.close()
    return rows


def heads_alone(model: nn.Module, ratio: float) -> dict:
    """The ``BasePruner`` arguments that remove ``ceil(ratio * heads)`` of every attention's heads (a
    fraction ``ceil(ratio * heads) / heads``, not ``ratio``) and nothing else: the Q/K/V projections as
    one key of ``pruning_ratio_dict`` per attention (any ratio above 0 lets Torch-Pruning rank the
    group; head dimensions are kept), ``pruning_ratio`` 0 elsewhere. The heads themselves go to
    ``BasePruner`` as ``num_heads`` (``helpers.pruning.pruner_kwargs`` adds them)."""
    attentions = qkv_attentions(model)
    if not attentions:
        raise ValueError("heads_alone needs attention modules with q_proj, k_proj, v_proj and num_heads")
    ratio = theory.check_channel_ratio(ratio, name="head ratio")
    return {"prune_num_heads": True, "prune_head_dims": False, "head_pruning_ratio": ratio,
            "pruning_ratio_dict": {(a.q_proj, a.k_proj, a.v_proj): ratio for a in attentions}}


def transformer_sweep(names: Sequence[str], ratios: Sequence[float], device: torch.device | str = "cpu",
                      progress: bool = False) -> list[dict]:
    """The zoo's transformers pruned at every ratio, measured against the exact prediction and the
    rule. Two settings: "every width" (``pruning_ratio=p``: the hidden size, the MLP's and, in a
    decoder, the head dimensions) and, for decoders, "heads alone" (``heads_alone(model, p)``). One
    row per (model, setting, ratio): model, setting, the columns of ``settings_table``'s rows
    (parameters only: the MAC predictor does not follow attention) and ``output_kept`` (the pruned
    model keeps the classes or the vocabulary)."""
    for name in names:
        if zoo.family(name) != zoo.TRANSFORMER:
            raise ValueError(f"{name} is not a transformer; pick from {', '.join(zoo.names(zoo.TRANSFORMER))}")
    ratios = [theory.check_channel_ratio(p) for p in ratios]
    rows = []
    bar = tqdm(total=len(names) * len(ratios), desc="pruning the transformers", disable=not progress)
    for name in names:
        model, inputs, ignored = zoo.build(name, device=device)
        with torch.no_grad():
            shape = tuple(model(inputs).shape)
        # the heads named as prune_copy names them for BasePruner (pruner_kwargs)
        every_width = ParameterModel(model, inputs, ignored, **pruner_kwargs(model))
        for p in ratios:
            bar.set_postfix_str(f"{name} p={p:.2f}")
            for setting in ["every width", *(["heads alone"] if name in zoo.DECODERS else [])]:
                if setting == "every width":
                    row = _pruned_row(model, inputs, ignored, p, every_width, count_macs=False)
                else:  # the head ratio is read when the predictor is built; pruning_ratio 0 elsewhere
                    kwargs = heads_alone(model, p)
                    ratio_dict = kwargs.pop("pruning_ratio_dict")
                    predictor = ParameterModel(model, inputs, ignored, **pruner_kwargs(model, kwargs))
                    row = _pruned_row(model, inputs, ignored, 0.0, predictor, count_macs=False,
                                      pruning_ratio_dict=ratio_dict, **kwargs)
                    row.update(channel_ratio=p, rule_reduction=theory.param_reduction(p))
                rows.append({"model": name, "setting": setting, **row, "output_kept": row["output_shape"] == shape})
            bar.update()
    bar.close()
    return rows


SETTING_KEYS = {"label", "channel_ratio", "ignore_classifier", "round_to", "iterative_steps", "global_pruning"}


def settings_table(name: str, settings: Sequence[dict], device: torch.device | str = "cpu") -> list[dict]:
    """One zoo model pruned afresh under each pruner setting, measured and (for local pruning) predicted.

    A setting is a dict with ``channel_ratio`` and optionally ``ignore_classifier`` (default True),
    ``round_to``, ``iterative_steps`` and ``global_pruning``; ``label`` names it in the table.
    The model is built once and each setting prunes a copy of it. Rows: label, channel_ratio,
    params_before, params_after, predicted_params_after (None under global pruning, which
    ParameterModel does not model), param_reduction, predicted_reduction, rule_reduction,
    MACs before and after (measured, and predicted where the parameters are), prune_seconds
    (pruning only) and output_shape.
    """
    for s in settings:
        unknown = set(s) - SETTING_KEYS
        if unknown:
            raise ValueError(f"unknown setting {sorted(unknown)}; a setting takes {sorted(SETTING_KEYS)}")
    predictors: dict[tuple, ParameterModel] = {}
    model, inputs, classifier = zoo.build(name, device=device)
    before = count(model, inputs)
    rows = []
    for s in settings:
        p, round_to, steps = s["channel_ratio"], s.get("round_to"), s.get("iterative_steps", 1)
        ignore = s.get("ignore_classifier", True)
        ignored = classifier if ignore else []
        predictor = None
        if not s.get("global_pruning"):
            key = (ignore, round_to, steps)
            if key not in predictors:
                predictors[key] = ParameterModel(model, inputs, ignored, round_to=round_to, iterative_steps=steps,
                                                 **pruner_kwargs(model))
            predictor = predictors[key]
        rows.append({"label": s.get("label", str(s)),
                     **_pruned_row(model, inputs, ignored, p, predictor, counts_before=before, round_to=round_to,
                                   global_pruning=s.get("global_pruning", False), iterative_steps=steps)})
    return rows


# ---- Torch-Pruning's README latency log -----------------------------------------------------------
class README:
    """Torch-Pruning's README latency log for ResNet-50, and its configuration.

    The README's benchmark (``reproduce/benchmark_latency.py``) prunes ResNet-50 with group L2
    magnitude, ``pruning_ratio=1`` over ``iterative_steps=20`` and ``round_to=2``, ignoring no layer
    (so the 1000-class fc is pruned too), and prints params and MACs after each step."""

    RATIOS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
    PARAMS_M = (20.63, 16.27, 12.46, 9.14, 6.41, 4.07)  # as printed in the README
    MACS_G = (3.31, 2.63, 2.02, 1.50, 1.07, 0.67)
    LATENCY_MS = (43.85, 39.28, 33.38, 29.04, 20.68, 18.12)  # batch 64, the README author's GPU
    BASE = {"params_m": 25.56, "macs_g": 4.12, "latency_ms": 45.22}
    PRUNING_RATIO, ITERATIVE_STEPS, ROUND_TO = 1.0, 20, 2


def readme_sweep(device: torch.device | str = "cpu", ratios=README.RATIOS) -> list[dict]:
    """Prune ResNet-50 exactly as the README's benchmark does; measure the steps at ``ratios``.

    Rows (``ratio_sweep``): channel_ratio, params, macs, starting with the unpruned model at 0.
    """
    model, example_inputs, _ = zoo.build("resnet50", device=device)
    return ratio_sweep(model, example_inputs, [0.0, *ratios], round_to=README.ROUND_TO, macs=True,
                       pruning_ratio=README.PRUNING_RATIO, iterative_steps=README.ITERATIVE_STEPS)
