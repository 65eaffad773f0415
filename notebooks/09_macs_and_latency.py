# %% [markdown]
# # 09 · MACs and latency
#
# **Learning goals**
# - tell apart three reductions: parameters, MACs (multiply-accumulates) and time;
# - time dense and pruned models properly with `torch.utils.benchmark.Timer` (warm-up, blocks of
#   passes, their median, the GPU synchronised before the clock is read), and write the speed-up
#   yourself;
# - see how batch size, precision (fp32, whose GPU convolutions PyTorch runs in TF32 by default;
#   bf16), memory format (`channels_last`) and `round_to` change the speed-up;
# - read from a recorded GPU study how far the speed-up falls short of the MAC ratio, and which of
#   its rows this notebook cannot explain.
#
# **Prerequisites**: 06 · Pruning real CNNs (07 · Reproducing Torch-Pruning's README times the
# README's ResNet-50 first).
#
# **Track**: elective
# **Study time**: about 35 min (reading, running the cells and the exercises).
#
# **Run time** (from `figures/notebook_times.csv`): about 44 s in quick mode (2-core CPU); full mode (GPU) not measured yet.

# %%
# Colab only: fetch the course and install what Colab lacks, at the versions of pins.txt (does nothing
# elsewhere). What Colab has stays, its CUDA build of torch above all: the course runs on any torch>=2.11
# (pyproject.toml), and the pinned one would download gigabytes again.
import sys
if "google.colab" in sys.modules:
    import os, subprocess
    from importlib.metadata import distributions
    if not os.path.isdir("/content/course"):
        subprocess.run(["git", "clone", "-q", "--depth", "1", "https://github.com/channel-pruning-course/course",
                        "/content/course"], check=True)
        have = {str(d.name).lower().replace("_", "-") for d in distributions()}
        with open("/content/course/pins.txt") as f:
            lacking = [line for line in f if line.split("==")[0].strip() not in have]
        with open("/content/pins-colab.txt", "w") as f:
            f.writelines(lacking)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-c", "/content/pins-colab.txt",
                        "-e", "/content/course"], check=True)
    sys.path.insert(0, "/content/course")
    os.chdir("/content/course/notebooks")

# %%
import helpers
device = helpers.env.setup()

# %%
import statistics

import torch
from IPython.display import Markdown
from torch import nn

from helpers import latency, report, results
from helpers.report import format_table

QUICK = helpers.env.quick()
MODELS = ("resnet50", "mobilenet_v2")
VARIANTS = ((0.0, None), (0.5, None), (0.5, 8))  # dense; p=0.5; p=0.5 with widths rounded to multiples of 8

# %% [markdown]
# ## 1. Three counts of one model
#
# `latency.build_variants` builds each model dense and pruned (classifier ignored) and counts, per
# image: parameters, MACs (`tp.utils.count_ops_and_params`) and *activation elements*, the numbers
# every layer writes in one forward pass (a forward hook on each leaf layer), a proxy for memory
# traffic. Each ratio below is dense / pruned. `round_to=8` rounds each kept width *down* to a
# multiple of 8 (Torch-Pruning's `_round_to`), so it prunes as many channels as the plain ratio or
# more, never fewer: the cell after the table counts the widths.

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
# NBVAL_CHECK_OUTPUT
pruned_counts = [c for c in counts if c["variant"] != "dense"]
assert all(c["activation_ratio"] < c["mac_ratio"] <= 1 / (1 - 0.5) ** 2 for c in pruned_counts)
assert all(1.8 < c["activation_ratio"] < 2.2 for c in pruned_counts)
resnet_half = next(c for c in counts if c["model"] == "resnet50" and c["variant"] == "p=0.5")
print(f"ResNet-50 at p=0.5: {resnet_half['param_ratio']:.2f}x fewer parameters, {resnet_half['mac_ratio']:.2f}x "
      f"fewer MACs, {resnet_half['activation_ratio']:.2f}x fewer activation elements")


def conv_widths(net):
    return {n: m.out_channels for n, m in net.named_modules() if isinstance(m, nn.Conv2d)}


same_widths = {}  # model -> whether round_to=8 left every width of p=0.5 as it was
for name, vs in built.items():
    plain, rounded = (conv_widths(next(v["net"] for v in vs if v["variant"] == var))
                      for var in ("p=0.5", "p=0.5, round_to=8"))
    assert all(rounded[k] <= plain[k] for k in plain)  # rounded down, never up
    narrower = [k for k in plain if rounded[k] < plain[k]]
    same_widths[name] = not narrower
    print(f"{name}, p=0.5 with round_to=8 against without: {len(narrower)} of {len(plain)} convolutions narrower "
          f"({sum(plain[k] - rounded[k] for k in plain)} output channels fewer in all), none wider")
assert same_widths == {"resnet50": True, "mobilenet_v2": False}

# %% [markdown]
# A convolution's MACs are its weights times the positions it slides over, so a weight between two
# pruned layers costs `(1-p)²` of its MACs too; but every layer's *output* only loses `p` of its
# channels: the activations shrink like `(1-p)`, twice fewer at `p=0.5`, not four times. Layers that
# do little arithmetic per element (BatchNorm, ReLU, additions, pooling, depthwise convolutions)
# mostly read and write activations. Which of the two ratios the time follows is a question for the
# clock: section 4 compares the measured speed-ups with both.
#
# ## 2. Timing on this device
#
# A forward pass is timed with PyTorch's `torch.utils.benchmark.Timer`: it runs the statement in
# blocks of passes, takes the time of each block, and synchronises a GPU before reading the clock,
# so that a pass is timed to its end rather than to the launch of its kernels. `blocked_autorange()`
# first runs the statement until it knows how many passes make a block long enough for the clock
# (which also warms it up), then times blocks for at least `min_run_time` seconds. It returns a
# `Measurement`: `.median` and `.iqr` (the spread of the middle half of the blocks) in seconds per
# pass. Timed once, on the dense ResNet-50 of section 1, one image, one CPU thread (the Timer's
# default, the least disturbed by other work on the machine):

# %%
from torch.utils import benchmark  # PyTorch's timer

dense_resnet = built["resnet50"][0]["net"]
images = torch.randn(1, 3, 224, 224, device=device)
timer = benchmark.Timer(stmt="net(images)", globals={"net": dense_resnet, "images": images}, num_threads=1)
with torch.no_grad():  # inference: no autograd bookkeeping in the timed passes
    measurement = timer.blocked_autorange(min_run_time=0.5)
print(f"dense ResNet-50, batch 1: median {measurement.median * 1e3:.1f} ms per pass, IQR "
      f"{measurement.iqr * 1e3:.1f} ms, from {len(measurement.times)} blocks of {measurement.number_per_run} "
      f"pass(es)")
assert measurement.median > 0 and len(measurement.times) >= 1

# %% [markdown]
# A speed-up is the dense model's median divided by the pruned one's (exercise `09-speedup` asks you
# to write it). The median, not the mean: a block slowed by other work on the machine pulls a mean
# up, hardly a median. `latency.time_forward` is this Timer with a few more settings: it copies the
# model into the chosen dtype and memory format, runs a few warm-up passes, then times at least three
# blocks of about 20 ms, at least `min_run_time` seconds in all. `latency.time_variants` runs it over
# a grid of batch sizes, dtypes and layouts for every variant. Read these times as one run's, not as
# constants.

# %%
if QUICK:
    GRID = {"batches": (1, 4), "dtypes": ("fp32",), "channels_last": (False, True), "min_run_time": 0.2,
            "warmup": 1}
else:
    GRID = {"batches": (1, 64, 256), "dtypes": ("fp32", "bf16"), "channels_last": (False, True),
            "min_run_time": 0.3}
local = [row for vs in built.values() for row in latency.time_variants(vs, device=device, **GRID)]


# %%
def setting(row, tf32=False):
    """The setting's short name; "tf32" for fp32 tensors whose convolutions cuDNN ran in TF32."""
    name = latency.setting_name(row)
    return name.replace("fp32", "tf32") if tf32 else name


def pivot(rows, tf32=False):
    """One line per model and variant; per setting the time and (for pruned variants) the speed-up."""
    settings = list(dict.fromkeys(setting(r, tf32) for r in rows))
    table = {}
    for r in rows:
        line = table.setdefault((r["model"], r["variant"]), {"model": r["model"], "variant": r["variant"],
                                                             "mac_ratio": r["mac_ratio"]})
        line[setting(r, tf32)] = f"{r['ms']:.2f} ms" + ("" if r["variant"] == "dense" else f" ({r['speedup']:.2f}x)")
    return Markdown(format_table(list(table.values()), [("model", "model", ""), ("variant", "variant", ""),
                                                         ("mac_ratio", "MACs ÷", ".2f"),
                                                         *[(s, s, "") for s in settings]]))


# PyTorch's default lets cuDNN compute fp32 convolutions in TF32 (10-bit mantissa) on a GPU; a CPU has no TF32
LOCAL_TF32 = device.type == "cuda" and torch.backends.cudnn.allow_tf32
print(f"{helpers.env.device_name(device)}; b = batch, CL = channels_last; speed-up = dense ms / pruned ms"
      + ("; tf32 = fp32 tensors, convolutions in TF32 (cudnn.allow_tf32=True)" if LOCAL_TF32 else ""))
pivot(local, LOCAL_TF32)

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
# `channels_last`) was run on a GPU and saved under `figures/` with the device, the library versions,
# the date and cuDNN's flags. Its "fp32" is the tensors' type: with `torch.backends.cudnn.allow_tf32`
# on (PyTorch's default), cuDNN computes fp32 convolutions in TF32, a 10-bit mantissa instead of 23,
# on the tensor cores. The tables below call that setting "tf32" where the record's stamp says so.
# If no record is there yet, this section says so.

# %%
print(f"study grid: models {latency.STUDY_MODELS}; variants "
      f"{[latency.variant_name(p, r) for p, r in latency.STUDY_VARIANTS]}; batches {latency.STUDY_BATCHES}; "
      f"dtypes {latency.STUDY_DTYPES}; channels_last {latency.STUDY_CHANNELS_LAST}")
records = latency.recorded()
if records:
    gpu_stamp, gpu = results.read(max(records, key=lambda p: results.read(p)[0].get("date", "")))
    print("recorded on: " + "; ".join(f"{k} {v}" for k, v in gpu_stamp.items()))
    TF32 = "allow_tf32=True" in gpu_stamp.get("cudnn", "")
    print(f"fp32 in this record: fp32 tensors, convolutions in {'TF32' if TF32 else 'fp32'} "
          f"(cudnn {gpu_stamp.get('cudnn', 'flags not recorded')})")
else:
    gpu_stamp, gpu, TF32 = None, [], False
    print("PLACEHOLDER: no GPU latency record in figures/ yet (figures/latency_<gpu>.csv).\n"
          "It is made on a CUDA machine with:\n"
          "    python -m helpers latency\n"
          "Until then, sections 3 and 4 use only the measurements made here.")

# %%
if gpu:
    half = [r for r in gpu if r["variant"] in ("dense", "p=0.5", "p=0.5, round_to=8")]
    display(pivot(half, TF32))
    fig = latency.plot(gpu, title=f"{gpu_stamp['device']}, torch {gpu_stamp['torch']}, {gpu_stamp['date']}"
                       + (" (fp32: TF32 convolutions)" if TF32 else ""))
    report.save(fig, "09_latency_gpu")

# %%
if gpu:
    pruned_gpu = [r for r in gpu if r["variant"] != "dense"]
    assert all(r["speedup"] < r["mac_ratio"] for r in pruned_gpu)
    by = {(r["model"], r["variant"], r["batch"], r["dtype"], r["channels_last"]): r for r in gpu}
    big = max(r["batch"] for r in gpu)
    small, large = by[("resnet50", "p=0.5", 1, "fp32", False)], by[("resnet50", "p=0.5", big, "fp32", False)]
    assert small["speedup"] < large["speedup"]
    print(f"ResNet-50 p=0.5 {'tf32' if TF32 else 'fp32'}: {small['speedup']:.2f}x at batch 1, {large['speedup']:.2f}x "
          f"at batch {big} ({large['mac_ratio']:.2f}x fewer MACs); no pruned variant reaches its MAC ratio")
else:
    print("(no GPU record: nothing to check here yet)")

# %% [markdown]
# ## 4. How far the speed-up falls short of the MAC ratio
#
# Suppose a fraction `f` of the dense model's time does not shrink at all and the rest shrinks with
# the MACs. Then the speed-up is `S = 1 / (f + (1-f)/M)` for a MAC ratio `M`, and every measurement
# gives an `f` (`latency.fixed_fraction`; exercise `09-fixed-fraction` derives it): 0 when the time
# follows the MACs, 1 when pruning saved nothing (above 1: the pruned model was slower). `f` describes
# a measurement; it does not say what the time that did not shrink was spent on.

# %%
def explain(rows, tf32=False):
    return [{**r, "setting": setting(r, tf32), "f": latency.fixed_fraction(r["speedup"], r["mac_ratio"])}
            for r in rows if r["variant"] == "p=0.5"]


explained = explain(gpu, TF32) if gpu else explain(local, LOCAL_TF32)
print(f"from {'the GPU record' if gpu else 'this device'}, p=0.5:")
Markdown(format_table(explained, [("model", "model", ""), ("setting", "setting", ""),
                                  ("speedup", "speed-up", ".2f"), ("mac_ratio", "MAC ratio", ".2f"),
                                  ("activation_ratio", "activation ratio", ".2f"), ("f", "fixed fraction f", ".2f")]))

# %% [markdown]
# Five readings of the GPU record, each written below from its rows and checked: how the time grows
# with the batch; the speed-ups at the largest batch against the activation ratio of section 1; what
# bf16 and `channels_last` change; what `round_to=8` changes; and the rows this notebook does not
# explain. The record times whole forward passes: it says how long a pass took, not which layers or
# kernels took the time, so no reading names a cause.

# %%
# NBVAL_CHECK_OUTPUT
def span(rows, key, spec=".2f"):
    low, high = (f"{f(r[key] for r in rows):{spec}}" for f in (min, max))
    return low if low == high else f"{low} to {high}"


if gpu:
    FP32 = "fp32 (TF32 convolutions)" if TF32 else "fp32"
    batches = sorted({r["batch"] for r in gpu})
    b1, big = batches[0], batches[-1]
    dense_1, dense_big = by[("resnet50", "dense", b1, "fp32", False)], by[("resnet50", "dense", big, "fp32", False)]
    f_small = [e for e in explained if e["batch"] == b1]
    f_big = [e for e in explained if e["batch"] == big]
    assert dense_big["ms"] / big < dense_1["ms"] / 8 and max(e["f"] for e in f_big) < min(e["f"] for e in f_small)
    readings = [f"1. **The batch.** Dense ResNet-50 in {FP32} takes {dense_1['ms']:.2f} ms for batch {b1} and "
                f"{dense_big['ms'] / big:.3f} ms per image in a batch of {big}: most of the batch-{b1} time does "
                f"not grow with the batch. At `p=0.5` the fixed fraction is {span(f_small, 'f')} at batch {b1} "
                f"and {span(f_big, 'f')} at batch {big}."]

    top = [r for r in pruned_gpu if r["batch"] == big]
    half, third = ([r for r in top if r["variant"] == v] for v in ("p=0.5", "p=0.3"))
    above = [r for r in pruned_gpu if r["speedup"] > r["activation_ratio"]]
    assert all(r["speedup"] < r["activation_ratio"] for r in top) and all(r["batch"] != big for r in above)
    assert all(r["speedup"] > r["activation_ratio"] - 0.35 for r in half)
    assert max(r["speedup"] for r in third) < min(r["activation_ratio"] for r in third) - 0.05
    # ResNet-50 at p=0.5 is the same network with and without round_to=8 (section 1): two timings of one
    # network, so their ratio is how finely this record tells times apart at that batch
    noise = {b: max(max(by[k]["ms"], by[(k[0], "p=0.5, round_to=8", *k[2:])]["ms"])
                    / min(by[k]["ms"], by[(k[0], "p=0.5, round_to=8", *k[2:])]["ms"])
                    for k in by if k[:3] == ("resnet50", "p=0.5", b)) for b in batches}
    near = [r for r in top if r["speedup"] * noise[big] >= r["activation_ratio"]]
    readings.append(
        f"2. **The activation ratio.** At batch {big} none of the {len(top)} pruned rows exceeds its activation "
        f"ratio; {len(near)} {'reaches' if len(near) == 1 else 'reach'} it within the record's timing gap there ({noise[big] - 1:.1%}, reading 4). "
        f"At `p=0.5` they come close: speed-ups {span(half, 'speedup')} against activation ratios "
        f"{span(half, 'activation_ratio')}. At `p=0.3` without rounding they do not: {span(third, 'speedup')} "
        f"against {span(third, 'activation_ratio')}. No one ratio of section 1 fits every row; at "
        f"smaller batches {len(above)} rows (batch {', '.join(map(str, sorted({r['batch'] for r in above})))}) "
        f"exceed the activation ratio, {sum(r['speedup'] <= r['activation_ratio'] * noise[r['batch']] for r in above)} "
        f"of them by less than the timing gap at their batch.")

    at_big = [(m, v, cl) for m, v, b, d, cl in by if b == big and d == "fp32"]
    assert all(by[(m, v, big, "bf16", cl)]["ms"] < by[(m, v, big, "fp32", cl)]["ms"] for m, v, cl in at_big)
    variants_big = list(dict.fromkeys((m, v) for m, v, _ in at_big if v != "dense"))
    assert all(by[(m, v, big, "bf16", True)]["speedup"] < by[(m, v, big, "fp32", False)]["speedup"]
               for m, v in variants_big)
    record_models = list(dict.fromkeys(r["model"] for r in gpu))
    dense_ms = ", ".join(f"{m} {by[(m, 'dense', big, 'fp32', False)]['ms']:.2f} ms → "
                         f"{by[(m, 'dense', big, 'bf16', True)]['ms']:.2f} ms" for m in record_models)
    half_s = ", ".join(f"{m} {by[(m, 'p=0.5', big, 'fp32', False)]['speedup']:.2f}x → "
                       f"{by[(m, 'p=0.5', big, 'bf16', True)]['speedup']:.2f}x" for m in record_models)
    readings.append(
        f"3. **bf16 and `channels_last`.** At batch {big} bf16 is faster than {FP32} in all {len(at_big)} rows, "
        f"in both layouts. From {FP32} to bf16 with `channels_last`, the dense times go {dense_ms}, and every "
        f"pruned variant's speed-up is smaller ({len(variants_big)} of {len(variants_big)}); at `p=0.5` {half_s}.")
else:
    readings = ["(no GPU record: nothing to read here yet)"]
Markdown("\n".join(readings))

# %%
# NBVAL_CHECK_OUTPUT
if gpu:
    pairs = [(plain, by[(m, f"{v}, round_to=8", b, d, cl)]) for (m, v, b, d, cl), plain in by.items()
             if v in ("p=0.3", "p=0.5")]
    assert all(r["macs"] <= p["macs"] and r["params"] <= p["params"] for p, r in pairs)  # never fewer pruned
    rounding = [{"model": p["model"], "variant": p["variant"], "setting": setting(p, TF32), "plain": p["speedup"],
                 "rounded": r["speedup"], "time_gain": p["ms"] / r["ms"], "mac_gain": p["macs"] / r["macs"]}
                for p, r in pairs if p["batch"] == big]
    display(Markdown(f"`round_to=8` against the same p without it, batch {big} (gains: plain ms / rounded ms, "
                     "plain MACs / rounded MACs):\n\n" + format_table(rounding, [
                         ("model", "model", ""), ("variant", "p", ""), ("setting", "setting", ""),
                         ("plain", "speed-up", ".2f"), ("rounded", "with round_to=8", ".2f"),
                         ("time_gain", "time gain", ".2f"), ("mac_gain", "MAC gain", ".3f")])))
    assert same_widths["resnet50"]  # section 1: at p=0.5 ResNet-50 is the same network with or without rounding
    twin = [(p, r) for p, r in pairs if p["model"] == "resnet50" and p["variant"] == "p=0.5"]
    assert all(p["macs"] == r["macs"] and p["params"] == r["params"] for p, r in twin)
    gap = {b: max(max(p["ms"], r["ms"]) / min(p["ms"], r["ms"]) for p, r in twin if p["batch"] == b) for b in batches}
    assert gap[big] < 1.01
    at_03 = [r for r in rounding if r["variant"] == "p=0.3"]
    beyond = sum(r["time_gain"] > r["mac_gain"] * gap[big] for r in at_03)  # by more than the timing gap, too
    assert all(r["mac_gain"] > 1 and r["time_gain"] > 1 for r in at_03) and beyond > len(at_03) / 2
    small_03 = [(p, r) for p, r in pairs if p["variant"] == "p=0.3" and p["batch"] < big]
    slower_03 = [p for p, r in small_03 if r["ms"] > p["ms"]]
    mac_gains = [p["macs"] / r["macs"] for p, r in pairs]
    reading = (
        f"4. **`round_to=8`.** ResNet-50 at `p=0.5` is the same network with or without it (section 1); the "
        f"record timed it twice per setting, and the two times differ by up to {gap[big] - 1:.1%} at batch {big} "
        f"(the timing gap). In none of the record's {len(pairs)} pairs does rounding leave more MACs or parameters "
        f"than the same p without it (MAC gain {min(mac_gains):.3f} to {max(mac_gains):.3f}). At `p=0.3` and "
        f"batch {big} it is faster in {sum(r['time_gain'] > 1 for r in at_03)} of {len(at_03)} settings, in "
        f"{beyond} by more than its MAC gain times the timing gap; at smaller batches it is slower in "
        f"{len(slower_03)} of {len(small_03)}"
        + (" (" + ", ".join(sorted({p["model"] for p in slower_03})) + ")" if slower_03 else "") + ".")
else:
    reading = "(no GPU record: nothing to read here yet)"
Markdown(reading)

# %%
# NBVAL_CHECK_OUTPUT
if gpu:
    slower = [r for r in pruned_gpu if r["speedup"] < 1]
    within = [r for r in slower if 1 / r["speedup"] < gap[r["batch"]]]
    slow_big = [r for r in slower if r["batch"] == big]
    assert all(1 / r["speedup"] > gap[big] for r in slow_big)
    fixed_big = [by[(r["model"], f"{r['variant']}, round_to=8", big, r["dtype"], r["channels_last"])]["speedup"]
                 for r in slow_big if "round_to" not in r["variant"]]
    bf16_slower = [r for r in gpu if r["dtype"] == "bf16"
                   and r["ms"] > by[(r["model"], r["variant"], r["batch"], "fp32", r["channels_last"])]["ms"]]
    assert all(r["batch"] < big for r in bf16_slower)
    reading = (
        "5. **Rows not explained here.** Timing the same network twice (reading 4) gave times up to "
        + ", ".join(f"{gap[b] - 1:.1%} apart at batch {b}" for b in batches) + ". "
        f"{len(slower)} of {len(pruned_gpu)} pruned rows are slower than dense ("
        + ", ".join(f"{sum(r['batch'] == b for r in slower)} at batch {b}" for b in batches)
        + f"), {len(within)} of them by less than that gap at their batch. At batch {big}: "
        + ", ".join(f"{r['model']} {r['variant']} {setting(r, TF32)} {r['speedup']:.2f}x" for r in slow_big)
        + (", far outside it; with `round_to=8` the same settings reach " + " and ".join(f"{s:.2f}x" for s in fixed_big)
           if slow_big else "none") + f". bf16 is slower than {FP32} in {len(bf16_slower)} "
        f"of {sum(r['dtype'] == 'bf16' for r in gpu)} rows, all at batch "
        + " or ".join(map(str, sorted({r["batch"] for r in bf16_slower})))
        + ". The record does not say why for any of these rows, and this notebook does not explain them.")
else:
    reading = "(no GPU record: nothing to read here yet)"
Markdown(reading)

# %% [markdown]
# Read together: neither count of section 1 tells the time. The speed-up stayed below the MAC ratio
# everywhere and below the activation ratio at the largest batch, but how far below changed with the
# batch, the precision, the layout and `round_to`; at small batches two timings of the same network
# already disagree widely (reading 5). NVIDIA's guide (Further reading)
# recommends channel counts that are multiples of 8 for tensor cores; reading 4 agrees with that
# advice at the largest batch but, timing whole passes, does not test it. Why a row is slow is a
# question for a per-kernel profile (`torch.profiler`), which the record does not hold.
#
# On this device, the fixed fraction compared with the GPU record's:

# %%
local_f = statistics.median(e["f"] for e in explain(local))
if gpu and device.type == "cpu":
    gpu_f = statistics.median(e["f"] for e in explained)
    print(f"median fixed fraction at p=0.5: this CPU {local_f:.2f}, the GPU record {gpu_f:.2f}")
    assert local_f < gpu_f
else:
    print(f"median fixed fraction at p=0.5 on this device: {local_f:.2f}")

# %% [markdown]
# ## Exercises
#
# Each exercise is checked by `helpers.checks.check`: replace the `raise NotImplementedError` with
# your code and run the cell.

# %% [markdown]
# ### Exercise `09-speedup`: time dense against pruned
#
# Write `speedup(dense, pruned, x)`: how many times faster `pruned(x)` runs than `dense(x)`. Time
# each with `torch.utils.benchmark.Timer(stmt=..., globals=...)` and `.blocked_autorange()`, as in
# section 2, under `torch.no_grad()`, and return the dense median divided by the pruned median. The
# check times two small modules whose forward passes differ in work by a known factor, and watches
# which timer you used and which statistic you read.

# %%
# NBVAL_CHECK_OUTPUT
def speedup(dense, pruned, x):
    raise NotImplementedError  # your code here


passed = helpers.checks.check("09-speedup", speedup)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("09-speedup")

# %% [markdown]
# ### Exercise `09-fixed-fraction`: how much of the time did not shrink
#
# A pruned model runs `S` times faster with `M` times fewer MACs. Assuming a fraction `f` of the
# dense time does not shrink and the rest shrinks with the MACs, `S = 1 / (f + (1-f)/M)`. Write
# `fixed_fraction(S, M)` returning `f`: the formula behind the fixed fraction of section 4.

# %%
# NBVAL_CHECK_OUTPUT
def fixed_fraction(speedup, mac_ratio):
    raise NotImplementedError  # your code here


passed = helpers.checks.check("09-fixed-fraction", fixed_fraction)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("09-fixed-fraction")

# %% [markdown]
# ## Summary
#
# - Pruning at `p=0.5` cut ResNet-50's parameters and MACs close to `(1-p)²`, but its activation
#   elements, the data the layers write, only by `(1-p)`; MobileNetV2's MACs fell less than the rule
#   says, its activations the same. `round_to=8` rounds each kept width down, so it prunes as many
#   channels or more, never fewer.
# - Time with `torch.utils.benchmark.Timer(...).blocked_autorange()`: warm-up, repeated blocks, the
#   median, the GPU synchronised; a speed-up is dense median / pruned median. On a GPU, "fp32"
#   convolutions run in TF32 unless `torch.backends.cudnn.allow_tf32` is turned off.
# - In the GPU record no pruned variant reaches its MAC ratio. Most of the batch-1 time does not grow
#   with the batch, and at `p=0.5` the batch-1 speed-ups are smaller than those at the largest batch.
#   At the largest batch no speed-up exceeds the activation ratio: close to it at `p=0.5`, far
#   from it at `p=0.3` without rounding: neither count predicts the time. There, bf16 with
#   `channels_last` makes every dense model faster and every speed-up smaller, and `round_to=8` makes
#   `p=0.3` faster in every setting.
# - The record also holds rows this notebook does not explain: pruned models slower than dense (most
#   at batch 1 and 64, where two timings of one network disagree widely; two at the largest batch),
#   and bf16 slower than fp32 at batch 1 and 64. Timing whole passes cannot say why.
# - In the CPU run (quick mode) the fixed fraction came out smaller than in the GPU record: its
#   speed-ups came closer to the MAC ratio.
# - The GPU record in `figures/` (device, versions, date and cuDNN flags in its header) holds the
#   full grid. A MAC budget is met with `ParameterModel.solve(r, by="macs", at_least=True)`
#   (notebook 08).

# %% [markdown]
# ## Questions
#
# 1. Pruning at `p=0.5` removes about three quarters of ResNet-50's MACs. Why does the work of a
#    layer like BatchNorm or ReLU not fall to a quarter with it?
#
# <details><summary>Answer</summary>
#
# Its work is one small operation per activation element, and each layer's output keeps `(1-p)` of
# its channels: the elements it reads and writes halve, they do not fall to a quarter. Only a weight
# between two pruned layers loses `(1-p)²`, and such weights belong to convolutions and linear layers.
#
# </details>
#
# 2. What does the GPU record show about batch 1, and what does it not show?
#
# <details><summary>Answer</summary>
#
# It shows that most of the dense model's batch-1 time does not grow with the batch (the dense model
# takes far less time per image in a batch of 256), and that pruning hardly shortened it: the batch-1
# speed-ups are small, several below 1. It does not show what that time is spent on: the record times
# whole passes, and two timings of the same network at batch 1 already disagree widely (reading 5).
#
# </details>
#
# 3. `round_to=8` prunes as many channels as the plain ratio or more. What did it do to the time in
#    the record, and when does it change nothing?
#
# <details><summary>Answer</summary>
#
# At the largest batch it made `p=0.3` faster in every setting, mostly by more than its fewer MACs
# and the timing gap account for; at smaller batches it was sometimes slower. The record does not
# show why; NVIDIA's guide recommends channel counts that are multiples of 8 for tensor cores, advice
# the record agrees with at the largest batch without testing it. Where `p` already leaves multiples
# of 8 (ResNet-50 at `p=0.5`), rounding changes no width, so neither the count nor, beyond the timing
# gap, the time.
#
# </details>

# %% [markdown]
# ## Further reading
#
# - [PyTorch benchmark utilities](https://pytorch.org/docs/stable/benchmark_utils.html):
#   `torch.utils.benchmark.Timer`, which times section 2 and the GPU record.
# - [NVIDIA, convolutional layers user's guide](https://docs.nvidia.com/deeplearning/performance/dl-performance-convolutional/index.html):
#   how channel counts, data types and memory layout decide whether a convolution runs on tensor cores.
# - [PyTorch, TensorFloat-32 on Ampere and later devices](https://pytorch.org/docs/stable/notes/cuda.html#tensorfloat-32-tf32-on-ampere-and-later-devices):
#   the flags under which fp32 convolutions and matrix products run in TF32.
# - [PyTorch, channels_last memory format](https://pytorch.org/tutorials/intermediate/memory_format_tutorial.html):
#   what `channels_last` changes and when it helps.
# - Fang et al., "DepGraph: Towards Any Structural Pruning", CVPR 2023
#   ([arXiv:2301.12900](https://arxiv.org/abs/2301.12900)) and
#   [Torch-Pruning](https://github.com/VainF/Torch-Pruning): the pruner, and its README's latency
#   benchmark (notebook 07).
#
# Next: **10 · The cost of over-pruning**.
