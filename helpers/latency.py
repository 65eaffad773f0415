"""Forward-pass latency of dense and pruned CNNs: how to time it, and what the time is spent on.

The method (``interleaved``, ``time_settings``): ``torch.utils.benchmark.Timer``, which synchronises
the accelerator before it reads the clock (a CUDA forward is timed to its end, not to its launch);
warm-up passes first (on CUDA with ``cudnn.benchmark`` on, so that they also run cuDNN's autotuning);
dense and pruned timed in interleaved rounds (A B, B A, A B, ...), so that a drift of the machine
(clock, temperature, other work) falls on both; per setting the median and IQR of the blocks; and
two recordings of every setting, which must agree (``is_stable``) for a row to count as stable.
Models run in eval mode under ``torch.no_grad()``, eager, with BatchNorm folded into the
convolutions (``fold_batchnorm``), or folded and compiled (``prepare``).

The explanation (``profile_classes``, ``breakdown``, ``two_ratio_speedup``, ``conv_kernels``):
``torch.profiler`` sorts a pass's time into kernel classes; convolutions and matrix products shrink
with the MACs, the memory-bound rest with the activations.

``record(out_dir)`` runs the whole study on the current device and writes ``latency_<device tag>``
records (``.csv`` grid, ``_modes``, ``_profile`` and ``_kernels``, one stamp) and a PNG; notebook 09
reads them back with ``helpers.results.read``.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import logging
import math
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from . import env, report, results, zoo
from ._core import check_positive_int
from .counting import count
from .pruning import prune_copy

__all__ = ["DTYPES", "MODES", "CLASSES", "MEMORY_BOUND", "STUDY_MODELS", "STUDY_VARIANTS", "STUDY_BATCHES",
           "STUDY_DTYPES", "STUDY_CHANNELS_LAST", "AGREEMENT", "SPREAD", "COLUMNS", "variant_name",
           "time_forward", "activation_elements", "fixed_fraction", "build_variants", "fold_batchnorm",
           "prepare", "example", "interleaved", "is_stable", "unstable", "time_settings", "time_variants",
           "compare_modes", "best_speedups", "kernel_class", "profile_classes", "breakdown",
           "two_ratio_speedup", "predict", "quiet_profiler_log", "conv_kernels", "study_grid", "study", "device_tag", "recorded", "recorded_part",
           "setting_name", "plot", "record"]


def _import_benchmark():
    """``torch.utils.benchmark``, imported without the "No CUDA runtime is found" warning that
    ``torch.utils.cpp_extension`` logs on a CUDA build of torch without a GPU (it concerns compiling
    extensions, which timing never does)."""
    log = logging.getLogger("torch.utils.cpp_extension")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        from torch.utils import benchmark
    finally:
        log.setLevel(level)
    return benchmark


benchmark = _import_benchmark()

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
MODES = ("eager", "fused", "compiled")  # as built; BatchNorm folded; folded and torch.compile'd

# The study: two families, dense vs pruned, with and without round_to, across a grid of settings.
STUDY_MODELS = ("resnet50", "mobilenet_v2")
STUDY_VARIANTS = ((0.0, None), (0.5, None), (0.5, 8), (0.3, None), (0.3, 8))  # (channel ratio, round_to)
STUDY_BATCHES = (1, 64, 256)
STUDY_DTYPES = ("fp32", "bf16")
STUDY_CHANNELS_LAST = (False, True)

# The stability rule: two recordings of a setting agree within AGREEMENT, and the IQR of its blocks
# is under SPREAD of their median; a row that fails either is listed as unstable.
AGREEMENT = 0.05
SPREAD = 0.05

COLUMNS = ["model", "variant", "channel_ratio", "round_to", "params", "macs", "activations", "batch", "dtype",
           "channels_last", "mode", "ms", "iqr_ms", "runs", "ms_1", "ms_2", "stable", "speedup", "mac_ratio",
           "param_ratio", "activation_ratio"]


def variant_name(channel_ratio: float, round_to: int | None = None) -> str:
    """"dense", "p=0.5" or "p=0.5, round_to=8"."""
    if not channel_ratio:
        return "dense"
    return f"p={channel_ratio:g}" + (f", round_to={round_to}" if round_to else "")


def _dtype(name: str) -> torch.dtype:
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {name!r}")
    return DTYPES[name]


def _mode(name: str) -> str:
    if name not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {name!r}")
    return name


def time_forward(model: nn.Module, batch: int = 1, dtype: str = "fp32", channels_last: bool = False,
                 device: torch.device | str | None = None, input_size: int = 224, min_run_time: float = 0.2,
                 warmup: int = 3, num_threads: int = 1, block_time: float = 0.02, min_blocks: int = 3,
                 label: str = "forward", sub_label: str = "") -> benchmark.Measurement:
    """Time one forward pass of a copy of ``model`` on a random batch (one model alone; to compare
    models, ``time_settings`` interleaves them).

    The copy is put in eval mode on ``device`` in ``dtype`` (fp32, bf16 or fp16) and, with
    ``channels_last``, in NHWC memory format; the caller's model is left as it was. After
    ``warmup`` passes, ``Timer.timeit`` runs blocks of passes lasting about ``block_time`` seconds
    (at least one pass), at least ``min_blocks`` of them and at least ``min_run_time`` seconds in
    all; the timer synchronises the accelerator at both ends of each block. Returns
    torch.utils.benchmark's Measurement of the blocks (``.median``, ``.iqr`` in seconds per pass),
    whose description names the settings so that ``benchmark.Compare`` can tabulate several.
    ``num_threads`` is torch's CPU thread count while timing (the Timer's default, 1, is the least
    disturbed by other work on the machine; a GPU run does not depend on it).
    """
    batch = check_positive_int(batch, "batch")
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    net = prepare(model, dtype, channels_last, dev)
    x = example(batch, dtype, channels_last, dev, input_size)
    timer = benchmark.Timer(stmt="net(x)", globals={"net": net, "x": x}, num_threads=num_threads,
                            label=label, sub_label=sub_label,
                            description=f"batch {batch} {dtype}" + (" channels_last" if channels_last else ""))
    with torch.no_grad():
        if warmup:
            timer.timeit(warmup)  # warm-up under the same thread setting as the measurement
        once = timer.timeit(1).median
        number = max(1, int(block_time / once))
        blocks = max(int(min_blocks), math.ceil(min_run_time / (number * once)))
        measurement = benchmark.Measurement.merge([timer.timeit(number) for _ in range(blocks)])[0]
    del net, x
    return measurement


def activation_elements(model: nn.Module, example_inputs: torch.Tensor) -> int:
    """Elements written by the model's leaf layers in one forward pass: a proxy for memory traffic,
    which shrinks like (1-p) where MACs shrink like (1-p)^2."""
    total = 0

    def hook(_module, _inputs, output):
        nonlocal total
        if isinstance(output, torch.Tensor):
            total += output.numel()

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            model(example_inputs)
    finally:
        for h in handles:
            h.remove()
    return total


def fixed_fraction(speedup: float, mac_ratio: float) -> float:
    """The fraction f of the dense time that did not shrink, if the rest shrank with the MACs:
    the f with speedup = 1 / (f + (1 - f) / mac_ratio). 0: time followed the MACs; 1: nothing saved."""
    if mac_ratio == 1:
        raise ValueError("a variant with as many MACs as the reference has no fixed fraction")
    return (1 / speedup - 1 / mac_ratio) / (1 - 1 / mac_ratio)


def build_variants(name: str, variants=STUDY_VARIANTS, device: torch.device | str = "cpu") -> list[dict]:
    """A zoo model dense and pruned (classifier ignored) at each (channel ratio, round_to) in
    ``variants`` (a pruned copy of one built model each); each with its parameters, MACs and
    activation elements per sample."""
    dense, inputs, ignored = zoo.build(name, device=device)
    out = []
    for p, round_to in variants:
        model = prune_copy(dense, inputs, p, ignored, round_to=round_to, count_macs=False).model if p else dense
        macs, params = count(model, inputs)
        out.append({"model": name, "variant": variant_name(p, round_to), "channel_ratio": float(p),
                    "round_to": round_to or "", "params": params, "macs": macs,
                    "activations": activation_elements(model, inputs), "net": model})
    return out


# ---- preparing a model: eager, BatchNorm folded, compiled ------------------------------------------
def fold_batchnorm(model: nn.Module) -> nn.Module:
    """An inference copy of ``model`` with every BatchNorm that follows a convolution folded into its
    weights (``torch.fx.experimental.optimization.fuse``): the same outputs, one memory-bound layer
    fewer per convolution. The model must be traceable by ``torch.fx``."""
    from torch.fx.experimental.optimization import fuse

    try:
        return fuse(copy.deepcopy(model).eval())
    except Exception as err:  # torch.fx cannot trace data-dependent control flow
        raise ValueError(f"cannot fold BatchNorm in {type(model).__name__}: torch.fx could not trace it "
                         f"({type(err).__name__}: {err}); time it in 'eager' mode") from None


def prepare(model: nn.Module, dtype: str = "fp32", channels_last: bool = False,
            device: torch.device | str | None = None, mode: str = "eager") -> nn.Module:
    """An eval-mode copy of ``model`` on ``device`` in ``dtype`` and memory format, as ``mode`` says:
    "eager" as built, "fused" with BatchNorm folded (``fold_batchnorm``), "compiled" folded and then
    ``torch.compile``'d (on CUDA with ``mode="reduce-overhead"``: CUDA graphs, which record a pass's
    kernels once and replay them, saving each kernel's launch). The caller's model is left as it was."""
    dt = _dtype(dtype)
    _mode(mode)
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = fold_batchnorm(model) if mode in ("fused", "compiled") else copy.deepcopy(model).eval()
    net = net.to(device=dev, dtype=dt, memory_format=fmt)  # folded in fp32 first, then cast
    if mode == "compiled":
        net = torch.compile(net, mode="reduce-overhead" if dev.type == "cuda" else None, dynamic=False)
    return net


def example(batch: int = 1, dtype: str = "fp32", channels_last: bool = False,
            device: torch.device | str = "cpu", input_size: int = 224) -> torch.Tensor:
    """A random image batch in the setting's dtype and memory format."""
    batch = check_positive_int(batch, "batch")
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return torch.randn(batch, 3, input_size, input_size, device=device, dtype=_dtype(dtype)).contiguous(
        memory_format=fmt)


@contextlib.contextmanager
def _cudnn_autotune(device: torch.device):
    """``cudnn.benchmark`` on for CUDA timing: cuDNN tries its algorithms on the first pass of each
    shape (during the warm-up) and keeps the fastest; restored afterwards."""
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = before or device.type == "cuda"
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = before


# ---- the method: interleaved rounds, median and IQR, two recordings --------------------------------
def interleaved(calls: dict[str, Callable[[], object]], min_run_time: float = 0.2, warmup: int = 3,
                block_time: float = 0.02, min_rounds: int = 3, num_threads: int = 1) -> dict[str, benchmark.Measurement]:
    """Time several callables (dense and pruned forward passes, say) against each other.

    Each is warmed up (``warmup`` calls), then told how many calls make a block of about
    ``block_time`` seconds (at least one). Then rounds: in each, every callable times one block with
    ``benchmark.Timer.timeit``, in the given order in even rounds and reversed in odd ones (A B, B A,
    A B, ...), so that what changes on the machine during the measurement falls on all of them alike
    and none always runs first. At least ``min_rounds`` rounds, and enough that each callable is
    timed ``min_run_time`` seconds. Returns one Measurement per name (``.median``, ``.iqr``,
    ``.times`` in seconds per call, one time per block).
    """
    if not calls:
        raise ValueError("give at least one callable to time")
    timers = {name: benchmark.Timer(stmt="call()", globals={"call": fn}, num_threads=num_threads, sub_label=name)
              for name, fn in calls.items()}
    number, block = {}, {}
    for name, timer in timers.items():
        if warmup:
            timer.timeit(warmup)
        once = max(timer.timeit(1).median, 1e-9)
        number[name] = max(1, int(block_time / once))
        block[name] = number[name] * once
    rounds = max(int(min_rounds), math.ceil(min_run_time / min(block.values())))
    names = list(timers)
    blocks = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            blocks[name].append(timers[name].timeit(number[name]))
    return {name: benchmark.Measurement.merge(blocks[name])[0] for name in names}


def is_stable(ms_1: float, ms_2: float | None, median_ms: float, iqr_ms: float, agreement: float = AGREEMENT,
              spread: float = SPREAD) -> bool | None:
    """The stability rule: the two recordings' medians within ``agreement`` of each other (the larger
    over the smaller, minus one; exactly ``agreement`` apart counts as within) and the IQR under
    ``spread`` of the median. False where either fails; None where the IQR passes but there is no
    second recording to compare (the rule cannot be applied in full)."""
    if iqr_ms >= spread * median_ms:
        return False
    if ms_2 is None:
        return None
    return max(ms_1, ms_2) / min(ms_1, ms_2) - 1 <= agreement + 1e-12  # 10.5 / 10 - 1 is 0.05000000000000004


def unstable(rows: Sequence[dict]) -> tuple[list[dict], list[dict]]:
    """The rows that fail the stability rule, and the rows it could not be applied to in full (one
    recording and an IQR that passes). A row without a ``stable`` entry (a record made before the
    rule) is judged here from its median, IQR and recordings."""
    def verdict(r):
        if "stable" in r:
            return r["stable"]
        return is_stable(r.get("ms_1") or r["ms"], r.get("ms_2"), r["ms"], r["iqr_ms"])

    failed = [r for r in rows if verdict(r) is False]
    unchecked = [r for r in rows if verdict(r) is None]
    return failed, unchecked


def time_settings(nets: dict[str, nn.Module], batch: int = 1, dtype: str = "fp32", channels_last: bool = False,
                  device: torch.device | str | None = None, mode: str = "eager", recordings: int = 2,
                  input_size: int = 224, **timing) -> dict[str, dict]:
    """Time several models in one setting: each prepared (``prepare``), then ``recordings``
    interleaved recordings (``interleaved``, ``timing`` passed on) under ``torch.no_grad()``, with
    cuDNN's autotuning on CUDA. Per name: ``ms`` and ``iqr_ms`` over the blocks of all recordings,
    ``runs`` (blocks), ``ms_1`` and ``ms_2`` (each recording's median) and ``stable``
    (``is_stable``)."""
    recordings = check_positive_int(recordings, "recordings")
    dev = torch.device(device) if device is not None else env.device()
    if mode == "compiled":
        # a fresh start for torch.compile: past a limit of recompilations of one forward (8 by
        # default) it would silently run the model eagerly, and a study compiles many variants
        torch._dynamo.reset()
    with _cudnn_autotune(dev), torch.no_grad():
        prepared = {name: prepare(net, dtype, channels_last, dev, mode) for name, net in nets.items()}
        x = example(batch, dtype, channels_last, dev, input_size)
        calls = {name: functools.partial(net, x) for name, net in prepared.items()}
        recs = [interleaved(calls, **timing) for _ in range(recordings)]
    out = {}
    for name in nets:
        merged = benchmark.Measurement.merge([r[name] for r in recs])[0]
        medians = [r[name].median * 1e3 for r in recs]
        ms, iqr = merged.median * 1e3, merged.iqr * 1e3
        second = medians[1] if len(medians) > 1 else None
        out[name] = {"ms": ms, "iqr_ms": iqr, "runs": len(merged.times), "ms_1": medians[0], "ms_2": second,
                     "stable": is_stable(medians[0], second, ms, iqr)}
    del prepared, x, calls
    return out


_COUNTS = ("model", "variant", "channel_ratio", "round_to", "params", "macs", "activations")


def _row(v: dict, ref: dict, setting: dict, timed: dict, ref_ms: float) -> dict:
    return {**{k: v[k] for k in _COUNTS}, **setting, **timed, "speedup": ref_ms / timed["ms"],
            "mac_ratio": ref["macs"] / v["macs"], "param_ratio": ref["params"] / v["params"],
            "activation_ratio": ref["activations"] / v["activations"]}


def time_variants(built: list[dict], batches: Sequence[int] = STUDY_BATCHES, dtypes: Sequence[str] = STUDY_DTYPES,
                  channels_last: Sequence[bool] = STUDY_CHANNELS_LAST, device: torch.device | str | None = None,
                  mode: str = "eager", recordings: int = 2, progress: bool = False, **timing) -> list[dict]:
    """Time the variants of one model (from ``build_variants``) over the grid of settings, the
    variants of each setting interleaved (``time_settings``).

    The first variant is the reference (dense): ``speedup`` is its median over each variant's
    median in the same setting; ``mac_ratio`` (``param_ratio``, ``activation_ratio``) is its MACs
    (parameters, activation elements) over the variant's. One row per variant and setting.
    """
    dev = torch.device(device) if device is not None else env.device()
    for d in dtypes:
        _dtype(d)
    settings = [(b, d, cl) for b in batches for d in dtypes for cl in channels_last]
    ref = built[0]
    rows = []
    for batch, dtype, cl in tqdm(settings, desc=f"timing {ref['model']} ({mode})", disable=not progress):
        timed = time_settings({v["variant"]: v["net"] for v in built}, batch, dtype, cl, dev, mode, recordings,
                              **timing)
        ref_ms = timed[ref["variant"]]["ms"]
        setting = {"batch": batch, "dtype": dtype, "channels_last": cl, "mode": mode}
        rows += [_row(v, ref, setting, timed[v["variant"]], ref_ms) for v in built]
    return rows


def compare_modes(built: list[dict], batches: Sequence[int] = STUDY_BATCHES, dtype: str = "fp32",
                  channels_last: bool = False, device: torch.device | str | None = None,
                  modes: Sequence[str] = MODES, recordings: int = 2, progress: bool = False, **timing) -> list[dict]:
    """The variants of one model timed in each execution mode (``MODES``) at each batch, in one
    precision and layout; the speed-up of each row is against the dense model in the same mode.
    A mode that fails to build here (``torch.compile`` without a working compiler, say) is skipped
    with a warning naming the error."""
    for m in modes:
        _mode(m)
    rows = []
    for mode in modes:
        try:
            rows += time_variants(built, batches, (dtype,), (channels_last,), device, mode, recordings, progress,
                                  **timing)
        except Exception as err:  # noqa: BLE001 - report and go on: the other modes still say something
            if mode != "compiled":
                raise
            print(f"torch.compile failed here, compiled mode skipped: {type(err).__name__}: {err}", file=sys.stderr)
    return rows


def best_speedups(rows: Sequence[dict]) -> list[dict]:
    """Per model, pruned variant and batch: the fastest mode of the dense model against the fastest
    mode of the pruned one (each at its best), next to the MAC and activation ratios."""
    best = {}
    for r in rows:
        key = (r["model"], r["variant"], r["batch"])
        if key not in best or r["ms"] < best[key]["ms"]:
            best[key] = r
    out = []
    for (model, variant, batch), r in best.items():
        if r["channel_ratio"] == 0:
            continue
        dense = next(d for (m, _, b), d in best.items() if m == model and b == batch and d["channel_ratio"] == 0)
        out.append({"model": model, "variant": variant, "batch": batch, "dense_mode": dense["mode"],
                    "dense_ms": dense["ms"], "dense_iqr_ms": dense.get("iqr_ms"), "pruned_mode": r["mode"],
                    "pruned_ms": r["ms"], "pruned_iqr_ms": r.get("iqr_ms"), "speedup": dense["ms"] / r["ms"],
                    "stable": bool(dense.get("stable")) and bool(r.get("stable")), "mac_ratio": r["mac_ratio"],
                    "activation_ratio": r["activation_ratio"]})
    return out


# ---- the explanation: where the time goes ------------------------------------------------------------
CLASSES = ("conv/GEMM", "normalisation", "activation", "add", "pooling", "copies", "other")
MEMORY_BOUND = ("normalisation", "activation", "add", "pooling", "copies")
_CLASS_PATTERNS = (  # first match wins; matched against the op's name (aten::...) or a CUDA kernel's
    ("conv/GEMM", r"conv|addmm|\bmm\b|::mm|matmul|linear|bmm|gemm"),
    ("normalisation", r"norm"),
    ("activation", r"relu|hardtanh|clamp|silu|gelu|sigmoid|hardswish|tanh|threshold"),
    ("add", r"::add|::sub|::mul"),
    ("pooling", r"pool|::mean"),
    ("copies", r"copy|::to\b|::_to|contiguous|clone|::cat|::stack"),
)


def kernel_class(name: str) -> str:
    """The class of an operator (``aten::...``): conv/GEMM (compute-bound), normalisation,
    activation, add, pooling or copies (memory-bound), else other."""
    low = name.lower()
    return next((cls for cls, pattern in _CLASS_PATTERNS if re.search(pattern, low)), "other")


@contextlib.contextmanager
def quiet_profiler_log():
    """The profiler's native library prints start/stop lines on the process's stderr; they say
    nothing about the model, so they go to /dev/null while it runs."""
    fd = 2  # the native library writes to the process's fd 2, whatever sys.stderr is now
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _profile(net: nn.Module, x: torch.Tensor, passes: int, warmup: int = 2, num_threads: int = 1):
    from torch.profiler import ProfilerActivity, profile
    from torch.utils.benchmark.utils.common import set_torch_threads

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if x.is_cuda else [])
    # the thread count the timings use (the Timer's default, 1), so that split and speed-up match
    with torch.no_grad(), set_torch_threads(num_threads):
        for _ in range(warmup):
            net(x)
        if x.is_cuda:
            torch.cuda.synchronize(x.device)
        with quiet_profiler_log(), profile(activities=activities) as prof:
            for _ in range(passes):
                net(x)
            if x.is_cuda:
                torch.cuda.synchronize(x.device)
    return prof


def profile_classes(net: nn.Module, x: torch.Tensor, passes: int = 3) -> dict[str, float]:
    """Milliseconds per forward pass of ``net(x)`` in each kernel class (``CLASSES``), from
    ``torch.profiler``: on CPU each operator's self time, on CUDA the time of the GPU kernels each
    operator launched. The profiler adds its own overhead: read the split, not the total."""
    prof = _profile(net, x, passes)
    cuda = x.is_cuda
    split = dict.fromkeys(CLASSES, 0.0)
    for event in prof.key_averages():
        if event.device_type != torch.autograd.DeviceType.CPU:
            continue  # kernels are counted under the operator that launched them
        us = event.self_device_time_total if cuda else event.self_cpu_time_total
        split[kernel_class(event.key)] += us / 1e3 / passes
    if sum(split.values()) <= 0:
        raise ValueError("torch.profiler recorded no time for the pass" + (
            " on the GPU: its kernel tracing (CUPTI) is not available here, so the split cannot be made"
            if cuda else ""))
    return split


def two_ratio_speedup(split: dict[str, float], mac_ratio: float, activation_ratio: float) -> float:
    """The speed-up predicted from the dense model's time split: conv/GEMM time shrinks with the MACs,
    the memory-bound classes with the activations, the rest not at all."""
    if mac_ratio <= 0 or activation_ratio <= 0:
        raise ValueError("the MAC and activation ratios are positive")
    total = sum(split.values())
    if total <= 0:
        raise ValueError("the split holds no time")
    compute = split.get("conv/GEMM", 0.0)
    memory = sum(split.get(c, 0.0) for c in MEMORY_BOUND)
    return total / (compute / mac_ratio + memory / activation_ratio + (total - compute - memory))


def breakdown(dense: dict, pruned: dict, x: torch.Tensor, passes: int = 3) -> list[dict]:
    """Dense and pruned (``build_variants`` entries, prepared for x's device, dtype and layout) split
    into kernel classes: per class the milliseconds of each, the share of the dense time, and the
    time ratio dense / pruned next to the model's MAC and activation ratios."""
    d, p = profile_classes(dense["net"], x, passes), profile_classes(pruned["net"], x, passes)
    total = sum(d.values())
    mac_ratio, act_ratio = dense["macs"] / pruned["macs"], dense["activations"] / pruned["activations"]
    return [{"class": c, "dense_ms": d[c], "pruned_ms": p[c], "dense_share": d[c] / total,
             "time_ratio": d[c] / p[c] if p[c] > 0 else None, "mac_ratio": mac_ratio,
             "activation_ratio": act_ratio} for c in CLASSES if d[c] > 0 or p[c] > 0]


def predict(built: list[dict], batches: Sequence[int], measured: Sequence[dict], dtype: str = "fp32",
            channels_last: bool = False, device: torch.device | str | None = None, passes: int = 3,
            progress: bool = False) -> tuple[list[dict], list[dict]]:
    """For each pruned variant of ``built`` and each batch: the class breakdown (``breakdown``), and
    the two-ratio prediction of its speed-up next to the speed-up ``measured`` (rows of
    ``time_variants`` in eager mode for the same dtype and layout), with its error
    (predicted / measured - 1). Where the dense model's measured time exceeds its profiled split,
    the difference (``idle_share``: on a GPU, time waiting for kernel launches) counts as time that
    does not shrink. Returns (breakdown rows, prediction rows)."""
    dev = torch.device(device) if device is not None else env.device()
    timed = {(r["variant"], r["batch"]): r for r in measured
             if r["dtype"] == dtype and r["channels_last"] == channels_last and r.get("mode", "eager") == "eager"}
    ref, split_rows, predictions = built[0], [], []
    todo = [(v, b) for b in batches for v in built[1:]]
    with _cudnn_autotune(dev):
        for v, batch in tqdm(todo, desc=f"profiling {ref['model']}", disable=not progress):
            x = example(batch, dtype, channels_last, dev)
            nets = [{**e, "net": prepare(e["net"], dtype, channels_last, dev)} for e in (ref, v)]
            rows = breakdown(*nets, x, passes)
            setting = {"model": ref["model"], "variant": v["variant"], "batch": batch, "dtype": dtype,
                       "channels_last": channels_last}
            split_rows += [{**setting, **r} for r in rows]
            split = {r["class"]: r["dense_ms"] for r in rows}
            dense_timed = timed.get((ref["variant"], batch))
            if dense_timed and dense_timed["ms"] > sum(split.values()):
                # time in no operator's kernels (a GPU waiting for launches) counts as unchanged
                split["idle"] = dense_timed["ms"] - sum(split.values())
            predicted = two_ratio_speedup(split, rows[0]["mac_ratio"], rows[0]["activation_ratio"])
            compute = split.get("conv/GEMM", 0.0) / sum(split.values())
            memory = sum(split.get(c, 0.0) for c in MEMORY_BOUND) / sum(split.values())
            got = timed.get((v["variant"], batch))
            predictions.append({**setting, "compute_share": compute, "memory_share": memory,
                                "idle_share": split.get("idle", 0.0) / sum(split.values()),
                                "mac_ratio": rows[0]["mac_ratio"], "activation_ratio": rows[0]["activation_ratio"],
                                "predicted": predicted, "measured": got["speedup"] if got else None,
                                "error": predicted / got["speedup"] - 1 if got else None})
    return split_rows, predictions


def conv_kernels(net: nn.Module, x: torch.Tensor) -> list[dict]:
    """Per convolution of ``net``: its input and output widths, kernel size, stride, groups, whether both
    widths are multiples of 8, and what ran it, from ``torch.profiler``: the GPU kernels' names on CUDA, the
    innermost operators' names on CPU."""
    from torch.profiler import record_function

    convs = [(name, m) for name, m in net.named_modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError("the model has no Conv2d layers to list")
    labels, handles, active = {}, [], {}
    for i, (name, m) in enumerate(convs):
        labels[f"course.conv{i}"] = (name, m)

        def pre(module, _inputs, label=f"course.conv{i}"):
            active[label] = record_function(label)
            active[label].__enter__()

        def post(module, _inputs, _output, label=f"course.conv{i}"):
            active.pop(label).__exit__(None, None, None)

        handles += [m.register_forward_pre_hook(pre), m.register_forward_hook(post)]
    try:
        prof = _profile(net, x, passes=1, warmup=1)
    finally:
        for h in handles:
            h.remove()

    def conv_op(name: str) -> bool:
        return kernel_class(name) == "conv/GEMM" and not name.startswith("course.")

    def ran(event) -> list[str]:
        names = [k.name for k in event.kernels]
        for child in event.cpu_children:
            names += ran(child)
        if not x.is_cuda and conv_op(event.name) and not any(conv_op(c.name) for c in event.cpu_children):
            names.append(event.name)  # CPU: the innermost convolution operator (mkldnn, slow_conv2d, ...)
        return names

    out = []
    for event in prof.events():
        if event.name in labels and event.device_type == torch.autograd.DeviceType.CPU:
            name, m = labels[event.name]
            found = list(dict.fromkeys(ran(event)))
            out.append({"layer": name, "in_channels": m.in_channels, "out_channels": m.out_channels,
                        "kernel_size": "x".join(map(str, m.kernel_size)), "stride": m.stride[0], "groups": m.groups,
                        "multiple_of_8": m.in_channels % 8 == 0 and m.out_channels % 8 == 0,
                        "kernels": "; ".join(found)})
    return out


# ---- the study ----------------------------------------------------------------------------------------
def study_grid(device: torch.device | str | None = None) -> dict:
    """The study's default grid on this device: on CUDA the batches 1, 64, 256 in fp32 and bf16, the
    execution modes for ResNet-50 only (each compilation takes tens of seconds: the whole study is
    sized to a few minutes); on a CPU batches 1 and 8 (a CPU pass of ResNet-50 at batch 256 takes
    many seconds) and the modes for both models. Both layouts."""
    dev = torch.device(device) if device is not None else env.device()
    cuda = dev.type == "cuda"
    return {"models": STUDY_MODELS, "variants": STUDY_VARIANTS, "batches": STUDY_BATCHES if cuda else (1, 8),
            "dtypes": STUDY_DTYPES, "channels_last": STUDY_CHANNELS_LAST,
            "modes_models": STUDY_MODELS[:1] if cuda else STUDY_MODELS}


def study(models: Sequence[str] = STUDY_MODELS, variants=STUDY_VARIANTS, batches: Sequence[int] = STUDY_BATCHES,
          dtypes: Sequence[str] = STUDY_DTYPES, channels_last: Sequence[bool] = STUDY_CHANNELS_LAST,
          device: torch.device | str | None = None, modes: Sequence[str] = MODES, recordings: int = 2,
          modes_models: Sequence[str] | None = None, progress: bool = False, **timing) -> dict[str, list[dict]]:
    """The whole study on this device. For every model of ``models``, dense and pruned (``variants``,
    the first being the reference):

    - ``grid``: eager times over batches x dtypes x layouts (``time_variants``);
    - ``modes``: eager, BatchNorm folded and compiled at each batch, in the last dtype and layout of
      the grid (bf16 and channels_last by default), for the dense model and the variants at p=0.5
      and p=0.3 with round_to=8 (``compare_modes``), and the best speed-up of each (``best``), for
      the models of ``modes_models`` (default: all);
    - ``profile`` and ``prediction``: the class breakdown and two-ratio prediction at each batch in
      the first dtype and layout (``predict``);
    - ``kernels``: what ran each convolution of p=0.3 with and without round_to=8, in every dtype
      and layout at the largest batch (``conv_kernels``).
    """
    dev = torch.device(device) if device is not None else env.device()
    for d in dtypes:
        _dtype(d)
    for m in modes:
        _mode(m)
    out = {"grid": [], "modes": [], "best": [], "profile": [], "prediction": [], "kernels": []}
    for name in models:
        built = build_variants(name, variants, dev)
        out["grid"] += time_variants(built, batches, dtypes, channels_last, dev, "eager", recordings, progress, **timing)
        few = [v for v in built if v["channel_ratio"] == 0 or v["variant"] in ("p=0.5", "p=0.3, round_to=8")]
        if (len(modes) > 1 or modes[0] != "eager") and (modes_models is None or name in modes_models):
            rows = compare_modes(few, batches, dtypes[-1], channels_last[-1], dev, modes, recordings, progress, **timing)
            out["modes"] += rows
            out["best"] += best_speedups(rows)
        mine = [r for r in out["grid"] if r["model"] == name]
        splits, predictions = predict(built, batches, mine, dtypes[0], channels_last[0], dev, progress=progress)
        out["profile"] += splits
        out["prediction"] += predictions
        third = [v for v in built if v["channel_ratio"] == 0.3]
        for v in third:
            for d in dtypes:
                for cl in channels_last:
                    net = prepare(v["net"], d, cl, dev)
                    with _cudnn_autotune(dev):
                        ks = conv_kernels(net, example(max(batches), d, cl, dev))
                    out["kernels"] += [{"model": name, "variant": v["variant"], "batch": max(batches), "dtype": d,
                                        "channels_last": cl, **k} for k in ks]
        del built
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    return out


# ---- recording and reading back ----------------------------------------------------------------
def device_tag(dev: torch.device | str | None = None) -> str:
    """A file-name tag for the device: "cpu", or the GPU's name, e.g. "nvidia-h100-80gb-hbm3"."""
    dev = torch.device(dev) if dev is not None else env.device()
    if dev.type != "cuda":
        return dev.type
    return re.sub(r"[^a-z0-9]+", "-", torch.cuda.get_device_name(dev).lower()).strip("-")


def recorded(folder: str | Path | None = None, gpu_only: bool = True) -> list[Path]:
    """Latency grid records under ``folder`` (the committed figures/ by default), GPU ones only unless
    told; the records beside them (``_modes``, ``_profile``, ...) are not listed."""
    where = results.FIGURES if folder is None else results.folder(folder)
    return [p for p in sorted(where.glob("latency_*.csv"))
            if p.stem.count("_") == 1 and not (gpu_only and p.stem == "latency_cpu")]


def recorded_part(record: str | Path, part: str) -> tuple[dict[str, str], list[dict]] | None:
    """The part of a study recorded beside its grid record ``latency_<tag>.csv``: ``part`` is one of
    modes, best, profile, prediction, kernels. None where the record has no such part (a record made
    before the study wrote it)."""
    if part not in _PART_KEYS.values() or part == "grid":
        raise ValueError(f"part must be one of {', '.join(k for k in _PART_KEYS.values() if k != 'grid')}, "
                         f"got {part!r}")
    beside = Path(record).with_name(f"{Path(record).stem}_{part}.csv")
    return results.read(beside) if beside.exists() else None


def setting_name(row: dict, tf32: bool = False) -> str:
    """A short label of a row's setting, e.g. "b64 bf16 CL" (batch 64, bf16, channels_last); with
    ``tf32``, fp32 is called "tf32" (fp32 tensors whose GPU convolutions ran in TF32)."""
    dtype = "tf32" if tf32 and row["dtype"] == "fp32" else row["dtype"]
    return f"b{row['batch']} {dtype}" + (" CL" if row["channels_last"] else "")


def plot(rows: list[dict], title: str = ""):
    """Speed-up of each pruned variant per setting (bars, with the IQR-based spread as error bars),
    next to its MAC ratio (dashed line)."""
    import matplotlib.pyplot as plt
    import numpy as np

    models = list(dict.fromkeys(r["model"] for r in rows))
    fig, axes = plt.subplots(len(models), 1, figsize=(9, 3.2 * len(models)), squeeze=False)
    for ax, name in zip(axes[:, 0], models):
        mine = [r for r in rows if r["model"] == name and r["variant"] != "dense"]
        settings = list(dict.fromkeys(setting_name(r) for r in mine))
        variants = list(dict.fromkeys(r["variant"] for r in mine))
        width = 0.8 / max(len(variants), 1)
        for i, var in enumerate(variants):
            by = {setting_name(r): r for r in mine if r["variant"] == var}
            xs = np.arange(len(settings)) + (i - (len(variants) - 1) / 2) * width
            bars = ax.bar(xs, [by[s]["speedup"] if s in by else np.nan for s in settings], width, label=var)
            ratio = next(iter(by.values()))["mac_ratio"]
            ax.axhline(ratio, color=bars.patches[0].get_facecolor(), linestyle="--", linewidth=1)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_xticks(np.arange(len(settings)), settings, rotation=30, ha="right")
        ax.set_ylabel("speed-up vs dense")
        ax.set_title(f"{name}: bars measured speed-up, dashed lines the MAC ratio")
        top = max([r["speedup"] for r in mine] + [r["mac_ratio"] for r in mine] + [1.0])
        ax.set_ylim(0, 1.1 * top)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title="pruned variant")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


PARTS = {  # record suffix -> columns
    "": COLUMNS,
    "_modes": COLUMNS,
    "_best": ["model", "variant", "batch", "dense_mode", "dense_ms", "dense_iqr_ms", "pruned_mode", "pruned_ms",
              "pruned_iqr_ms", "speedup", "stable", "mac_ratio", "activation_ratio"],
    "_profile": ["model", "variant", "batch", "dtype", "channels_last", "class", "dense_ms", "pruned_ms",
                 "dense_share", "time_ratio", "mac_ratio", "activation_ratio"],
    "_prediction": ["model", "variant", "batch", "dtype", "channels_last", "compute_share", "memory_share",
                    "idle_share", "mac_ratio", "activation_ratio", "predicted", "measured", "error"],
    "_kernels": ["model", "variant", "batch", "dtype", "channels_last", "layer", "in_channels", "out_channels",
                 "kernel_size", "stride", "groups", "multiple_of_8", "kernels"],
}
_PART_KEYS = {"": "grid", "_modes": "modes", "_best": "best", "_profile": "profile", "_prediction": "prediction",
              "_kernels": "kernels"}


def record(out_dir: str | Path | None = None, device: torch.device | str | None = None, min_run_time: float = 0.2,
           progress: bool = True, **grid) -> dict:
    """Run the study (``study``) on this device and write its records, ``latency_<tag>.csv`` (the
    grid) and ``latency_<tag>_<part>.csv`` for modes, best, profile, prediction and kernels, all under
    one stamp, and ``latency_<tag>.png``.

    ``grid`` overrides the study's models, variants, batches, dtypes, channels_last, modes or
    recordings (defaults: ``study_grid`` for this device). Returns the paths written, the tables
    and the seconds taken.
    """
    dev = torch.device(device) if device is not None else env.device()
    report.style()
    settings = {**study_grid(dev), **grid}
    if "models" in grid and "modes_models" not in grid:
        settings["modes_models"] = None  # models named by the caller: the modes for each of them
    start = time.perf_counter()
    tables = study(device=dev, min_run_time=min_run_time, progress=progress, **settings)
    seconds = time.perf_counter() - start
    header = results.stamp(
        dev, min_run_time_s=f"{min_run_time:g}", study_seconds=f"{seconds:.0f}",
        timer="torch.utils.benchmark.Timer.timeit in blocks of about 20 ms (one pass where a pass is longer; "
              "each block after Timer.timeit's own two untimed calls); variants interleaved (A B, B A, ...) "
              f"after warm-up; {settings.get('recordings', 2)} recordings; median and IQR of the blocks; eval, no_grad",
        stability=f"two recordings within {AGREEMENT:.0%} and IQR < {SPREAD:.0%} of the median",
        cudnn=(f"benchmark=True, allow_tf32={torch.backends.cudnn.allow_tf32}" if dev.type == "cuda"
               else "not used (CPU)"),
        threads=f"{torch.get_num_threads() if dev.type == 'cpu' else 'n/a'} available, timed with 1",
        compile="mode=reduce-overhead (CUDA graphs)" if dev.type == "cuda" else "inductor, default mode",
        classifier="ignored (1000 classes kept); group L2 magnitude, local pruning")
    tag = device_tag(dev)
    paths = {}
    for suffix, columns in PARTS.items():
        rows = tables[_PART_KEYS[suffix]]
        if rows:
            paths[_PART_KEYS[suffix]] = results.write(f"latency_{tag}{suffix}.csv", rows, header, columns, out=out_dir)
    fig = plot(tables["grid"], title=f"{header['device']}, torch {header['torch']}, {header['date']}")
    paths["png"] = report.save(fig, f"latency_{tag}", out=out_dir)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return {"csv": paths["grid"], "png": paths["png"], "paths": paths, "tables": tables, "rows": tables["grid"],
            "seconds": seconds}
