"""Forward-pass latency of dense and pruned CNNs, measured with ``torch.utils.benchmark``.

``torch.utils.benchmark.Timer`` synchronises the accelerator before it reads the clock, so a CUDA
forward is timed to its end, not to its launch. Models run in eval mode under ``torch.no_grad()``.

``record(out_dir)`` runs the latency study on the current device and writes
``latency_<device tag>.csv`` (a record stamped with device, versions and date, see
``helpers.results``) and a PNG next to it; notebook 09 reads them back with ``helpers.results.read``.
"""
from __future__ import annotations

import copy
import logging
import math
import re
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from . import env, report, results, zoo
from ._core import check_positive_int
from .counting import count
from .pruning import prune_copy

__all__ = ["DTYPES", "STUDY_MODELS", "STUDY_VARIANTS", "STUDY_BATCHES", "STUDY_DTYPES", "STUDY_CHANNELS_LAST", "COLUMNS", "variant_name", "time_forward", "activation_elements", "fixed_fraction", "build_variants", "time_variants", "study", "device_tag", "recorded", "setting_name", "plot", "record"]


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

# The study: two families, dense vs pruned, with and without round_to, across a grid of settings.
STUDY_MODELS = ("resnet50", "mobilenet_v2")
STUDY_VARIANTS = ((0.0, None), (0.5, None), (0.5, 8), (0.3, None), (0.3, 8))  # (channel ratio, round_to)
STUDY_BATCHES = (1, 64, 256)
STUDY_DTYPES = ("fp32", "bf16")
STUDY_CHANNELS_LAST = (False, True)

COLUMNS = ["model", "variant", "channel_ratio", "round_to", "params", "macs", "activations", "batch", "dtype",
           "channels_last", "ms", "iqr_ms", "runs", "speedup", "mac_ratio", "param_ratio", "activation_ratio"]


def variant_name(channel_ratio: float, round_to: int | None = None) -> str:
    """"dense", "p=0.5" or "p=0.5, round_to=8"."""
    if not channel_ratio:
        return "dense"
    return f"p={channel_ratio:g}" + (f", round_to={round_to}" if round_to else "")


def _dtype(name: str) -> torch.dtype:
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {name!r}")
    return DTYPES[name]


def time_forward(model: nn.Module, batch: int = 1, dtype: str = "fp32", channels_last: bool = False,
                 device: torch.device | str | None = None, input_size: int = 224, min_run_time: float = 0.2,
                 warmup: int = 3, num_threads: int = 1, block_time: float = 0.02, min_blocks: int = 3,
                 label: str = "forward", sub_label: str = "") -> benchmark.Measurement:
    """Time one forward pass of a copy of ``model`` on a random batch.

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
    dt = _dtype(dtype)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net = copy.deepcopy(model).eval().to(device=dev, dtype=dt, memory_format=fmt)
    x = torch.randn(int(batch), 3, input_size, input_size, device=dev, dtype=dt).contiguous(memory_format=fmt)
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


def time_variants(built: list[dict], batches: Sequence[int] = STUDY_BATCHES, dtypes: Sequence[str] = STUDY_DTYPES,
                  channels_last: Sequence[bool] = STUDY_CHANNELS_LAST, device: torch.device | str | None = None,
                  min_run_time: float = 0.2, warmup: int = 3, progress: bool = False) -> list[dict]:
    """Time the variants of one model (from ``build_variants``) over the grid of settings.

    The first variant is the reference (dense): ``speedup`` is its time over each variant's time
    with the same batch, dtype and format; ``mac_ratio`` (``param_ratio``, ``activation_ratio``)
    is its MACs (parameters, activation elements) over the variant's. One row per measurement.
    """
    dev = torch.device(device) if device is not None else env.device()
    for d in dtypes:
        _dtype(d)
    settings = [(b, d, cl) for b in batches for d in dtypes for cl in channels_last]
    ref = built[0]
    rows = []
    for batch, dtype, cl in tqdm(settings, desc=f"timing {ref['model']}", disable=not progress):
        ref_ms = None
        for v in built:
            m = time_forward(v["net"], batch, dtype, cl, dev, min_run_time=min_run_time, warmup=warmup,
                             label=v["model"], sub_label=v["variant"])
            ms = m.median * 1e3
            ref_ms = ms if ref_ms is None else ref_ms
            rows.append({**{k: v[k] for k in ("model", "variant", "channel_ratio", "round_to", "params", "macs",
                                              "activations")},
                         "batch": batch, "dtype": dtype, "channels_last": cl, "ms": ms,
                         "iqr_ms": m.iqr * 1e3, "runs": len(m.times), "speedup": ref_ms / ms,
                         "mac_ratio": ref["macs"] / v["macs"], "param_ratio": ref["params"] / v["params"],
                         "activation_ratio": ref["activations"] / v["activations"]})
    return rows


def study(models: Sequence[str] = STUDY_MODELS, variants=STUDY_VARIANTS, batches: Sequence[int] = STUDY_BATCHES,
          dtypes: Sequence[str] = STUDY_DTYPES, channels_last: Sequence[bool] = STUDY_CHANNELS_LAST,
          device: torch.device | str | None = None, min_run_time: float = 0.2, progress: bool = False) -> list[dict]:
    """Every model of ``models`` built dense and pruned (``variants``, the first being the reference)
    and timed over the grid of batches, dtypes and memory formats (see ``time_variants``)."""
    dev = torch.device(device) if device is not None else env.device()
    for d in dtypes:
        _dtype(d)
    rows = []
    for name in models:
        built = build_variants(name, variants, dev)
        rows += time_variants(built, batches, dtypes, channels_last, dev, min_run_time, progress=progress)
        del built
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    return rows


# ---- recording and reading back ----------------------------------------------------------------
def device_tag(dev: torch.device | str | None = None) -> str:
    """A file-name tag for the device: "cpu", or the GPU's name, e.g. "nvidia-h100-80gb-hbm3"."""
    dev = torch.device(dev) if dev is not None else env.device()
    if dev.type != "cuda":
        return dev.type
    return re.sub(r"[^a-z0-9]+", "-", torch.cuda.get_device_name(dev).lower()).strip("-")


def recorded(folder: str | Path | None = None, gpu_only: bool = True) -> list[Path]:
    """Latency records under ``folder`` (the committed figures/ by default), GPU ones only unless told."""
    where = results.FIGURES if folder is None else results.folder(folder)
    return [p for p in sorted(where.glob("latency_*.csv")) if not (gpu_only and p.stem == "latency_cpu")]


def setting_name(row: dict) -> str:
    """A short label of a row's setting, e.g. "b64 bf16 CL" (batch 64, bf16, channels_last)."""
    return f"b{row['batch']} {row['dtype']}" + (" CL" if row["channels_last"] else "")


def plot(rows: list[dict], title: str = ""):
    """Speed-up of each pruned variant per setting (bars), next to its MAC ratio (dashed line)."""
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


def record(out_dir: str | Path | None = None, device: torch.device | str | None = None, min_run_time: float = 0.2,
           progress: bool = True, **grid) -> dict:
    """Run the latency study on this device; write ``latency_<tag>.csv`` and ``latency_<tag>.png``.

    ``grid`` overrides the study's models, variants, batches, dtypes or channels_last. Returns the
    paths written, the rows and the seconds taken.
    """
    dev = torch.device(device) if device is not None else env.device()
    report.style()
    start = time.perf_counter()
    rows = study(device=dev, min_run_time=min_run_time, progress=progress, **grid)
    seconds = time.perf_counter() - start
    header = results.stamp(
        dev, min_run_time_s=f"{min_run_time:g}", study_seconds=f"{seconds:.0f}",
        timer="torch.utils.benchmark.Timer.timeit in blocks of >= 20 ms, median of the blocks; eval, no_grad",
        cudnn=f"benchmark={torch.backends.cudnn.benchmark}, allow_tf32={torch.backends.cudnn.allow_tf32}",
        classifier="ignored (1000 classes kept); group L2 magnitude, local pruning")
    tag = device_tag(dev)
    csv_path = results.write(f"latency_{tag}.csv", rows, header, COLUMNS, out=out_dir)
    fig = plot(rows, title=f"{header['device']}, torch {header['torch']}, {header['date']}")
    png_path = report.save(fig, f"latency_{tag}", out=out_dir)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return {"csv": csv_path, "png": png_path, "rows": rows, "seconds": seconds}
