# %% [markdown]
# # 09 · MACs and latency
#
# **Learning goals**
# - tell apart three reductions: parameters, MACs (multiply-accumulates) and time;
# - time dense and pruned models properly with `torch.utils.benchmark` (warm-up, several runs,
#   the GPU synchronised before the clock is read);
# - see how batch size, precision (fp32, bf16), memory format (`channels_last`) and `round_to`
#   change the speed-up;
# - explain why the speed-up falls short of the MAC ratio.
#
# **Prerequisites**: 07 · Reproducing the README.
#
# **Run time** (from `figures/notebook_times.csv`): about 36 s in quick mode (2-core CPU); full mode (GPU) not measured yet.

# %%
# Colab only: fetch the course and its pinned packages (does nothing elsewhere)
import sys
if "google.colab" in sys.modules:
    import os, subprocess
    if not os.path.isdir("/content/course"):
        subprocess.run(["git", "clone", "-q", "--depth", "1", "https://github.com/channel-pruning-course/course",
                        "/content/course"], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "/content/course"], check=True)
    sys.path.insert(0, "/content/course")
    os.chdir("/content/course/notebooks")

# %%
import helpers
device = helpers.env.setup()

# %%
import statistics

from IPython.display import Markdown

from helpers import latency, plots
from helpers.tables import format_table

QUICK = helpers.env.quick()
MODELS = ("resnet50", "mobilenet_v2")
VARIANTS = ((0.0, None), (0.5, None), (0.5, 8))  # dense; p=0.5; p=0.5 with widths rounded to multiples of 8

# %% [markdown]
# ## 1. Three counts of one model
#
# `latency.build_variants` builds each model dense and pruned (classifier ignored) and counts, per
# image: parameters, MACs (`tp.utils.count_ops_and_params`) and *activation elements*, the numbers
# every layer writes in one forward pass (a forward hook on each leaf layer), a proxy for memory
# traffic. Each ratio below is dense / pruned.

# %%
built = {name: latency.build_variants(name, VARIANTS, device) for name in MODELS}
counts = [{**v, "param_ratio": vs[0]["params"] / v["params"], "mac_ratio": vs[0]["macs"] / v["macs"],
           "activation_ratio": vs[0]["activations"] / v["activations"]} for vs in built.values() for v in vs]

# %%
# NBVAL_CHECK_OUTPUT
Markdown(format_table(counts, [("model", "model", ""), ("variant", "variant", ""), ("params", "params", ",d"),
                               ("macs", "MACs", ",d"), ("activations", "activations", ",d"),
                               ("param_ratio", "params ÷", ".2f"), ("mac_ratio", "MACs ÷", ".2f"),
                               ("activation_ratio", "activations ÷", ".2f")]))

# %%
pruned_counts = [c for c in counts if c["variant"] != "dense"]
assert all(c["activation_ratio"] < c["mac_ratio"] <= 1 / (1 - 0.5) ** 2 for c in pruned_counts)
assert all(1.8 < c["activation_ratio"] < 2.2 for c in pruned_counts)
resnet_rounded = next(c for c in counts if c["model"] == "resnet50" and c["variant"] == "p=0.5, round_to=8")
assert resnet_rounded["macs"] == next(c for c in counts if c["model"] == "resnet50" and c["variant"] == "p=0.5")["macs"]
resnet_half = next(c for c in counts if c["model"] == "resnet50" and c["variant"] == "p=0.5")
print(f"ResNet-50 at p=0.5: {resnet_half['param_ratio']:.2f}x fewer parameters, {resnet_half['mac_ratio']:.2f}x "
      f"fewer MACs, {resnet_half['activation_ratio']:.2f}x fewer activation elements")

# %% [markdown]
# A convolution's MACs are its weights times the positions it slides over, so a weight between two
# pruned layers costs `(1-p)²` of its MACs too; but every layer's *output* only loses `p` of its
# channels: the activations shrink like `(1-p)`, twice fewer at `p=0.5`, not four times. Layers that
# do little arithmetic per element (BatchNorm, ReLU, additions, pooling, depthwise convolutions)
# cost time in proportion to the activations they read and write, not to MACs.
#
# ## 2. Timing on this device
#
# `latency.time_forward` copies the model, puts it in eval mode in the chosen dtype and memory
# format, runs a few warm-up passes, then times blocks of passes with `torch.utils.benchmark.Timer`
# (at least three blocks of about 20 ms, at least `min_run_time` seconds in all) and reports the
# median time per pass. On a GPU the timer synchronises the device before reading the clock, so a
# forward pass is timed to its end rather than to the launch of its kernels. On a CPU it uses one
# thread, which other programs disturb least.

# %%
if QUICK:
    GRID = {"batches": (1, 4), "dtypes": ("fp32",), "channels_last": (False, True), "min_run_time": 0.2,
            "warmup": 1}
else:
    GRID = {"batches": (1, 64, 256), "dtypes": ("fp32", "bf16"), "channels_last": (False, True),
            "min_run_time": 0.3}
local = [row for vs in built.values() for row in latency.time_variants(vs, device=device, **GRID)]


# %%
def pivot(rows):
    """One line per model and variant; per setting the time and (for pruned variants) the speed-up."""
    settings = list(dict.fromkeys(latency.setting_name(r) for r in rows))
    table = {}
    for r in rows:
        line = table.setdefault((r["model"], r["variant"]), {"model": r["model"], "variant": r["variant"],
                                                             "mac_ratio": r["mac_ratio"]})
        line[latency.setting_name(r)] = f"{r['ms']:.2f} ms" + ("" if r["variant"] == "dense"
                                                              else f" ({r['speedup']:.2f}x)")
    return Markdown(format_table(list(table.values()), [("model", "model", ""), ("variant", "variant", ""),
                                                         ("mac_ratio", "MACs ÷", ".2f"),
                                                         *[(s, s, "") for s in settings]]))


print(f"{helpers.env.device_name(device)}; b = batch, CL = channels_last; speed-up = dense ms / pruned ms")
pivot(local)

# %%
fig = latency.plot(local, title=f"measured here: {helpers.env.device_name(device)}")
plots.save(fig, "09_latency_local");

# %%
medians = {(r["model"], r["variant"]): statistics.median(q["speedup"] for q in local if (q["model"], q["variant"])
                                                         == (r["model"], r["variant"]))
           for r in local if r["variant"] != "dense"}
print("median speed-up: " + ", ".join(f"{m} {v} {s:.2f}x" for (m, v), s in medians.items()))
assert all(s > 1 for s in medians.values()), "pruned models should run faster than dense ones"

# %% [markdown]
# ## 3. The recorded GPU study
#
# The full study (`latency.record()`: ResNet-50 and MobileNetV2; dense, `p=0.5` and `p=0.3`, each
# with and without `round_to=8`; batch 1, 64 and 256; fp32 and bf16; with and without
# `channels_last`) was run on a GPU and saved under `figures/` with the device, the library versions
# and the date. If no record is there yet, this section says so.

# %%
print(f"study grid: models {latency.STUDY_MODELS}; variants "
      f"{[latency.variant_name(p, r) for p, r in latency.STUDY_VARIANTS]}; batches {latency.STUDY_BATCHES}; "
      f"dtypes {latency.STUDY_DTYPES}; channels_last {latency.STUDY_CHANNELS_LAST}")
records = latency.recorded()
if records:
    gpu_stamp, gpu = latency.load(max(records, key=lambda p: latency.load(p)[0].get("date", "")))
    print("recorded on: " + "; ".join(f"{k} {v}" for k, v in gpu_stamp.items()))
else:
    gpu_stamp, gpu = None, []
    print("PLACEHOLDER: no GPU latency record in figures/ yet (figures/latency_<gpu>.csv).\n"
          "It is made on a CUDA machine with:\n"
          "    python -m helpers latency\n"
          "Until then, sections 3 and 4 use only the measurements made here.")

# %%
if gpu:
    half = [r for r in gpu if r["variant"] in ("dense", "p=0.5", "p=0.5, round_to=8")]
    display(pivot(half))
    fig = latency.plot(gpu, title=f"{gpu_stamp['device']}, torch {gpu_stamp['torch']}, {gpu_stamp['date']}")
    plots.save(fig, "09_latency_gpu")

# %%
if gpu:
    pruned_gpu = [r for r in gpu if r["variant"] != "dense"]
    assert all(r["speedup"] < r["mac_ratio"] for r in pruned_gpu)
    by = {(r["model"], r["variant"], r["batch"], r["dtype"], r["channels_last"]): r for r in gpu}
    big = max(r["batch"] for r in gpu)
    small, large = by[("resnet50", "p=0.5", 1, "fp32", False)], by[("resnet50", "p=0.5", big, "fp32", False)]
    assert small["speedup"] < large["speedup"]
    b64 = 64 if any(r["batch"] == 64 for r in gpu) else big
    fp32, bf16 = by[("resnet50", "p=0.5", b64, "fp32", False)], by[("resnet50", "p=0.5", b64, "bf16", True)]
    fp32_dense, bf16_dense = by[("resnet50", "dense", b64, "fp32", False)], by[("resnet50", "dense", b64, "bf16", True)]
    assert bf16_dense["ms"] < fp32_dense["ms"] and bf16["speedup"] < fp32["speedup"]
    print(f"ResNet-50 p=0.5 fp32: {small['speedup']:.2f}x at batch 1, {large['speedup']:.2f}x at batch {big} "
          f"({large['mac_ratio']:.2f}x fewer MACs); no pruned variant reaches its MAC ratio")
    print(f"at batch {b64}: dense {fp32_dense['ms']:.2f} ms in fp32, {bf16_dense['ms']:.2f} ms in bf16 "
          f"channels_last; the pruned model's speed-up {fp32['speedup']:.2f}x and {bf16['speedup']:.2f}x")
else:
    print("(no GPU record: nothing to check here yet)")

# %% [markdown]
# ## 4. Why the speed-up falls short of the MAC ratio
#
# Suppose a fraction `f` of the dense model's time does not shrink at all and the rest shrinks with
# the MACs. Then the speed-up is `S = 1 / (f + (1-f)/M)` for a MAC ratio `M`, and every measurement
# gives an `f` (`latency.fixed_fraction`; the exercise derives it): 0 when the time follows the
# MACs, 1 when pruning saved nothing.

# %%
source, rows = ("the GPU record", gpu) if gpu else ("this device", local)
def explain(rows):
    return [{**r, "setting": latency.setting_name(r), "f": latency.fixed_fraction(r["speedup"], r["mac_ratio"])}
            for r in rows if r["variant"] == "p=0.5"]


explained = explain(gpu or local)
print(f"from {'the GPU record' if gpu else 'this device'}, p=0.5:")
Markdown(format_table(explained, [("model", "model", ""), ("setting", "setting", ""),
                                  ("speedup", "speed-up", ".2f"), ("mac_ratio", "MAC ratio", ".2f"),
                                  ("activation_ratio", "activation ratio", ".2f"), ("f", "fixed fraction f", ".2f")]))

# %% [markdown]
# Where that fraction comes from:
#
# - **Work that does not depend on the width.** Every layer costs a kernel launch (GPU) or a call
#   through PyTorch (both), whatever its width: pruning keeps every layer. With a small batch this
#   overhead is a large share of the time, which is why batch 1 gains least on a GPU.
# - **Memory traffic.** Elementwise layers and depthwise convolutions move activations, which shrink
#   like `(1-p)` (section 1), not `(1-p)²`: at `p=0.5` their time halves at best. A speed-up near
#   the activation ratio means the run was limited by memory, not by arithmetic.
# - **Fast arithmetic makes the rest dominate.** bf16 with `channels_last` puts the convolutions on
#   tensor cores: the dense model gets much faster, and what pruning can still save (the MACs) is a
#   smaller part of its time. Compare the fp32 and bf16 columns of the record.
# - **Shapes the kernels like.** Tensor-core kernels work on tiles of 8 or more channels; widths that
#   are not multiples of 8 can fall off the fast path. `round_to=8` keeps them on it, at the price of
#   pruning a few channels more; where the widths are already multiples of 8 (ResNet-50 at `p=0.5`)
#   it changes nothing.
#
# On a CPU the arithmetic of the convolutions dominates more, so its speed-ups come closer to the
# MAC ratio than a GPU's (with a GPU record present, checked below); the README's GPU log
# (notebook 07) shows the same gap as the record.

# %%
local_f = statistics.median(e["f"] for e in explain(local))
if gpu and device.type == "cpu":
    gpu_f = statistics.median(e["f"] for e in explained)
    print(f"median fixed fraction at p=0.5: this CPU {local_f:.2f}, the GPU record {gpu_f:.2f}")
    assert local_f < gpu_f
else:
    print(f"median fixed fraction at p=0.5 on this device: {local_f:.2f}")
#
# ## Exercise
#
# **The fixed fraction.** A pruned model runs `S` times faster with `M` times fewer MACs. Assuming
# a fraction `f` of the dense time does not shrink and the rest shrinks with the MACs,
# `S = 1 / (f + (1-f)/M)`. Write `fixed_fraction(S, M)` returning `f`: the formula behind
# `latency.fixed_fraction` of section 4.

# %%
def fixed_fraction(speedup, mac_ratio):
    raise NotImplementedError  # your code here


helpers.checks.check("09-fixed-fraction", fixed_fraction);

# %% [markdown]
# To see the reference solution: `helpers.checks.reveal("09-fixed-fraction")`.
#
# ## Summary
#
# - Pruning at `p` cuts parameters and MACs roughly by `(1-p)²`, but activations, and so memory
#   traffic, only by `(1-p)`.
# - Time with `torch.utils.benchmark`: warm-up, repeated runs, the median, the GPU synchronised.
# - On a GPU the speed-up stays well below the MAC ratio (the README's log, the GPU record): per-layer
#   overheads (small batches), memory-bound layers, and fast bf16/`channels_last` kernels that leave
#   less for pruning to save. On a CPU it comes closer. `round_to=8` keeps widths friendly to tensor
#   cores.
# - The GPU record in `figures/` (device, versions and date in its header) holds the full grid.
#
# **Exercise**: `fixed_fraction` (how much of the time did not shrink).
