# %% [markdown]
# # 09 · MACs and latency
#
# **Learning goals**
# - tell apart three reductions: parameters, MACs (multiply-accumulates) and time;
# - time dense against pruned properly, each step shown by a measurement: warm-up, synchronising a
#   GPU, interleaving the models, the median and its IQR, two recordings and a stability rule that
#   lists the settings it cannot trust;
# - measure where a forward pass spends its time with `torch.profiler`, and predict a speed-up from
#   two ratios (convolutions shrink with the MACs, the memory-bound rest with the activations), with
#   its error printed;
# - read from recorded studies what folding BatchNorm, `torch.compile`, precision, memory layout and
#   `round_to` change.
#
# **Prerequisites**: 06 · Pruning real CNNs (07 · Reproducing Torch-Pruning's README times the
# README's ResNet-50 first).
#
# **Track**: elective
# **Study time**: about 45 min (reading, running the cells and the exercises).
#
# **Run time** (from `figures/notebook_times.csv`): about 1.6 min in quick mode (2-core CPU); full mode (GPU) not measured yet.

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
import collections
import math
import statistics
import time

import torch
from IPython.display import Markdown
from torch import nn

from helpers import latency, report, results
from helpers.report import format_table

QUICK = helpers.env.quick()
MODELS = ("resnet50", "mobilenet_v2")
VARIANTS = latency.STUDY_VARIANTS  # dense; p=0.5 and p=0.3, each with and without widths rounded to multiples of 8
BATCHES = (1, 4) if QUICK else (1, 64, 256)  # timed live below; quick mode keeps a CPU run short
print(f"variants: {[latency.variant_name(p, r) for p, r in VARIANTS]}; live batches {BATCHES}")

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
display(Markdown(format_table(counts, [("model", "model", ""), ("variant", "variant", ""), ("params", "params", ",d"),
                               ("macs", "MACs", ",d"), ("activations", "activations", ",d"),
                               ("param_ratio", "params ÷", ".2f"), ("mac_ratio", "MACs ÷", ".2f"),
                               ("activation_ratio", "activations ÷", ".2f")])))
half_counts = [c for c in counts if c["channel_ratio"] == 0.5]
assert all(c["activation_ratio"] < c["mac_ratio"] <= 1 / (1 - 0.5) ** 2 for c in half_counts)
assert all(1.8 < c["activation_ratio"] < 2.2 for c in half_counts)
resnet_half = next(c for c in counts if c["model"] == "resnet50" and c["variant"] == "p=0.5")
print(f"ResNet-50 at p=0.5: {resnet_half['param_ratio']:.2f}x fewer parameters, {resnet_half['mac_ratio']:.2f}x "
      f"fewer MACs, {resnet_half['activation_ratio']:.2f}x fewer activation elements")


def net_of(model, variant):
    return next(v["net"] for v in built[model] if v["variant"] == variant)


def conv_widths(net):
    return {n: (m.in_channels, m.out_channels) for n, m in net.named_modules() if isinstance(m, nn.Conv2d)}


same_widths, aligned = {}, {}  # model -> round_to=8 left p=0.5 as it was; (model, variant) -> convs in multiples of 8
for name in MODELS:
    for p in ("p=0.5", "p=0.3"):
        plain, rounded = conv_widths(net_of(name, p)), conv_widths(net_of(name, f"{p}, round_to=8"))
        assert all(rounded[k][1] <= plain[k][1] for k in plain)  # rounded down, never up
        narrower = [k for k in plain if rounded[k][1] < plain[k][1]]
        if p == "p=0.5":
            same_widths[name] = not narrower
        for variant, widths in ((p, plain), (f"{p}, round_to=8", rounded)):
            aligned[(name, variant)] = sum(i % 8 == 0 and o % 8 == 0 for i, o in widths.values())
        odd = [k for k, (i, o) in rounded.items() if i % 8 or o % 8]
        print(f"{name}, {p} with round_to=8 against without: {len(narrower)} of {len(plain)} convolutions narrower "
              f"({sum(plain[k][1] - rounded[k][1] for k in plain)} output channels fewer in all), none wider; "
              f"both widths multiples of 8 in {aligned[(name, p)]} convolutions without, "
              f"{aligned[(name, p + ', round_to=8')]} with; with round_to=8 not multiples of 8 only in "
              f"{', '.join(odd) or 'none'}")
assert same_widths == {"resnet50": True, "mobilenet_v2": False}
assert all(aligned[(m, "p=0.3, round_to=8")] > aligned[(m, "p=0.3")] for m in MODELS)

# %% [markdown]
# A convolution's MACs are its weights times the positions it slides over, so a weight between two
# pruned layers costs `(1-p)²` of its MACs too; but every layer's *output* only loses `p` of its
# channels: the activations shrink like `(1-p)`, twice fewer at `p=0.5`, not four times. Layers that
# do little arithmetic per element (BatchNorm, ReLU, additions, pooling) mostly read and write
# activations. Which of the two ratios the time follows is a question for the clock and, in section
# 3, for the profiler. Under `round_to=8` the only widths left that are not multiples of 8 are those
# the cell above names.

# %% [markdown]
# ## 2. Timing dense against pruned
#
# A speed-up is a ratio of two times, and each time is a claim about a model only if the clock
# measured the model. Five rules, each shown here by a measurement where this device can show it
# (rule 2 needs a GPU). The timer is PyTorch's
# `torch.utils.benchmark.Timer`; `latency.interleaved` and `latency.time_settings` apply all five.
#
# **1. Warm up.** The first passes of a model pay one-off costs (for example memory allocation, the
# CPU library oneDNN preparing its convolution routines for each shape, and on a GPU cuDNN trying its
# algorithms for each shape and keeping the fastest: `torch.backends.cudnn.benchmark = True`). The
# Timer itself runs a statement twice before it times it, so the first pass is timed here with the
# wall clock, on a fresh copy of the dense ResNet-50.
#
# **2. Synchronise.** On a GPU, `net(images)` returns as soon as its kernels are queued, possibly
# before they have run; a clock read then measures the queueing. `torch.cuda.synchronize()` waits
# for the kernels, and the Timer calls it before every reading. On a CPU the call returns when the
# work is done. Both, on this device:

# %%
from torch.utils import benchmark  # PyTorch's timer

torch.backends.cudnn.benchmark = device.type == "cuda"  # cuDNN autotunes each shape on its first pass


def sync():
    if device.type == "cuda":
        torch.cuda.synchronize()


def wall(fn):
    """One call timed by the wall clock, the GPU synchronised before each reading."""
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


fresh = latency.prepare(net_of("resnet50", "dense"), device=device)  # an eval-mode copy on this device
images = latency.example(1, device=device)
with torch.no_grad():
    passes = [wall(lambda: fresh(images)) for _ in range(6)]
warm = min(passes[1:])  # the fastest later pass: other work on the machine can only slow a pass down
print(f"dense ResNet-50, batch 1, {torch.get_num_threads()} CPU threads: first pass {passes[0] * 1e3:.1f} ms, "
      f"the fastest of the next five {warm * 1e3:.1f} ms: the first took {passes[0] / warm:.1f}x as long")
assert passes[0] > warm
if device.type == "cuda":  # rule 2, at batch 64: enough work per kernel for the queue to run ahead
    batch64 = latency.example(64, device=device)
    with torch.no_grad():
        fresh(batch64)
        sync()
        start = time.perf_counter()
        fresh(batch64)
        queued = time.perf_counter() - start  # no synchronisation: the kernels may still be running
        sync()
        done = wall(lambda: fresh(batch64))
    print(f"dense ResNet-50, batch 64: clock read without synchronising {queued * 1e3:.2f} ms, with {done * 1e3:.2f} ms")
else:
    print(f"{helpers.env.device_name(device)}: calls return when their work is done, nothing to synchronise")

# %% [markdown]
# **3. Interleave.** A machine's speed drifts: clocks throttle as a chip heats up, another job
# starts. Timing the dense model and then the pruned one puts any drift between them into the
# speed-up. A simulation makes the point: two *identical* calls of 2 ms, on a "machine" where every
# call takes 1.5 times as long once another job starts. Timed one after the other, with the job starting in between; then
# with `latency.interleaved`, which times one block of each in turn (A B, B A, A B, ...), the job
# starting half-way through.
#
# **4. The median, and its spread.** A block slowed by something else on the machine pulls a mean
# up, hardly a median. Another simulation: every seventh call of a 2 ms workload is held up for
# 20 ms. The IQR (the spread of the middle half of the blocks) says how much the blocks varied; a
# speed-up is the dense median over the pruned median (exercise `09-speedup`).

# %%
class Machine:
    """Stands for a machine whose speed changes: from `busy_from` on, every call takes 1.5 times as long."""
    busy_from = math.inf

    def work(self, ms=2.0):
        time.sleep(ms / 1e3 * (1.5 if time.perf_counter() >= self.busy_from else 1.0))


machine = Machine()
a_then = benchmark.Timer(stmt="machine.work()", globals={"machine": machine}).blocked_autorange(min_run_time=0.2)
machine.busy_from = time.perf_counter()  # another job starts now
b_then = benchmark.Timer(stmt="machine.work()", globals={"machine": machine}).blocked_autorange(min_run_time=0.2)
one_after_other = b_then.median / a_then.median

machine.busy_from = time.perf_counter() + 0.3  # the job starts during the measurement
both = latency.interleaved({"A": machine.work, "B": machine.work}, min_run_time=0.5)
side_by_side = both["B"].median / both["A"].median
print(f"the same call, B's time over A's: {one_after_other:.2f} one after the other, {side_by_side:.2f} interleaved")
assert one_after_other > 1.3 and abs(side_by_side - 1) < 0.1

calls = 0


def disturbed():
    global calls
    calls += 1
    time.sleep((22.0 if calls % 7 == 0 else 2.0) / 1e3)


m = latency.interleaved({"disturbed": disturbed}, min_run_time=0.3, block_time=0)["disturbed"]
print(f"{len(m.times)} blocks of one call: median {m.median * 1e3:.2f} ms, mean {m.mean * 1e3:.2f} ms, "
      f"IQR {m.iqr * 1e3:.2f} ms")
assert m.mean > 1.5 * m.median

# %% [markdown]
# **5. Two recordings, and a rule.** `latency.time_settings` prepares the models (an eval-mode copy
# in the setting's precision and layout), warms each up, and records them interleaved twice. A
# setting is *stable* when the two recordings' medians agree within 5% and the IQR is under 5% of
# the median; a row that fails is listed as unstable, never dropped. Dense and pruned ResNet-50 at
# batch 1 on this device, timed like every Timer measurement here with one CPU thread (the Timer's
# default, the least disturbed by other work; rule 1 above ran with all of torch's threads):

# %%
timed = latency.time_settings({v: net_of("resnet50", v) for v in ("dense", "p=0.5", "p=0.3")}, batch=1,
                              device=device)
rows = [{"variant": v, **t} for v, t in timed.items()]
display(Markdown(format_table(rows, [("variant", "variant", ""), ("ms", "median ms", ".2f"),
                                     ("iqr_ms", "IQR ms", ".2f"), ("ms_1", "recording 1", ".2f"),
                                     ("ms_2", "recording 2", ".2f"), ("stable", "stable", "")])))
assert all(t["ms_2"] is not None and t["stable"] == latency.is_stable(t["ms_1"], t["ms_2"], t["ms"], t["iqr_ms"])
           for t in timed.values())
print(f"speed-up at p=0.5: {timed['dense']['ms'] / timed['p=0.5']['ms']:.2f}x; "
      f"unstable here: {[v for v, t in timed.items() if not t['stable']] or 'none'}")

# %% [markdown]
# ## 3. Where the time goes
#
# A whole-pass time says how long, not what on. `torch.profiler` records every operator a pass runs
# (on a GPU, every kernel and the operator that launched it). Here is the dense ResNet-50's profile
# at batch 1, its ten costliest operators by *self* time (time in the operator itself, not in the
# operators it calls):

# %%
from torch.profiler import ProfilerActivity, profile

activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
with torch.no_grad():
    fresh(images)  # warm
    with latency.quiet_profiler_log(), profile(activities=activities) as prof:  # no native start/stop lines
        fresh(images)
print(prof.key_averages().table(sort_by="self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total",
                                row_limit=10, max_name_column_width=40))

# %% [markdown]
# `latency.kernel_class` sorts operators into classes: convolutions and matrix products
# (`conv/GEMM`, many operations per element read), and the low-arithmetic (memory-bound) ones,
# which do one or two operations per element: normalisation, activation, add, pooling and copies. `latency.breakdown`
# profiles dense and pruned and sums each class's self time per pass; each class's time ratio
# (dense / pruned) sits next to the model's MAC and activation ratios.
#
# If convolutions took time in proportion to their MACs and the memory-bound classes in proportion
# to the activations, the dense split would predict the speed-up: with shares `c` (conv/GEMM), `m`
# (memory-bound) and `o` (the rest, unchanged) of the dense time, MAC ratio `M` and activation ratio
# `A`, the **two-ratio prediction** is `S = 1 / (c/M + m/A + o)` (`latency.two_ratio_speedup`).
# `latency.predict` compares it with the speed-up measured as in section 2, per batch size. First
# the measurements (fp32, contiguous), then the profiles:

# %%
local = [row for vs in built.values()
         for row in latency.time_variants(vs, BATCHES, ("fp32",), (False,), device,
                                          min_run_time=0.1 if QUICK else 0.3, warmup=1 if QUICK else 3)]
splits, predictions = [], []
for name, vs in built.items():
    s, p = latency.predict(vs, BATCHES, [r for r in local if r["model"] == name], device=device, passes=2)
    splits += s
    predictions += p

# %%
at_half = [r for r in splits if r["variant"] == "p=0.5"]
print(f"{helpers.env.device_name(device)}, fp32, p=0.5: each class's share of the dense time, and its time ratio")
display(Markdown(format_table(at_half, [
    ("model", "model", ""), ("batch", "batch", ""), ("class", "class", ""), ("dense_share", "share of dense", ".0%"),
    ("time_ratio", "time ÷", ".2f"), ("mac_ratio", "MACs ÷", ".2f"), ("activation_ratio", "activations ÷", ".2f")])))
display(Markdown(format_table(predictions, [
    ("model", "model", ""), ("variant", "variant", ""), ("batch", "batch", ""),
    ("compute_share", "conv/GEMM share", ".0%"), ("memory_share", "memory-bound share", ".0%"),
    ("idle_share", "idle share", ".0%"), ("mac_ratio", "MACs ÷", ".2f"), ("activation_ratio", "activations ÷", ".2f"),
    ("predicted", "predicted speed-up", ".2f"), ("measured", "measured", ".2f"), ("error", "error", "+.0%")])))
assert all(p["error"] == p["predicted"] / p["measured"] - 1 for p in predictions)
conv = [r for r in at_half if r["class"] == "conv/GEMM"]
memory = [r for r in at_half if r["class"] in latency.MEMORY_BOUND and r["time_ratio"]]
errors = {b: [p["error"] for p in predictions if p["batch"] == b] for b in BATCHES}
over = [p for p in predictions if p["error"] > 0]
Markdown(
    f"On this device the two-ratio prediction is off by a median of "
    + ", ".join(f"{statistics.median(map(abs, e)):.0%} at batch {b}" for b, e in errors.items())
    + f"; it overshoots in {len(over)} of {len(predictions)} rows. The class table says which assumption "
    f"failed: the conv/GEMM time fell by less than the MACs in {sum(r['time_ratio'] < r['mac_ratio'] for r in conv)} "
    f"of {len(conv)} profiles at `p=0.5` (time ratios {min(r['time_ratio'] for r in conv):.2f} to "
    f"{max(r['time_ratio'] for r in conv):.2f} against MAC ratios {min(r['mac_ratio'] for r in conv):.2f} to "
    f"{max(r['mac_ratio'] for r in conv):.2f}), and the memory-bound classes by less than the activations in "
    f"{sum(r['time_ratio'] < r['activation_ratio'] for r in memory)} of {len(memory)} class rows. Where the "
    "convolutions fall short of the MAC ratio, a prediction that assumes they follow it overshoots. (The "
    "profiler's own overhead enters every operator, which is why its split, not its total, is used; the "
    "idle share is the dense model's timed median beyond its profiled split, time in no operator.)")

# %% [markdown]
# ## 4. BatchNorm folded, and compiled
#
# Two standard inference steps remove work that pruning cannot. *Folding* BatchNorm into the
# convolution before it (`latency.fold_batchnorm`, which calls
# `torch.fx.experimental.optimization.fuse`) scales the convolution's weights and bias once, so the
# normalisation class disappears from every pass. `torch.compile` generates fused code for the
# remaining operators and, on a GPU with `mode="reduce-overhead"`, records the pass's kernels once as
# a CUDA graph and replays it, saving each kernel's launch (as PyTorch documents it, Further reading;
# no record here has measured the GPU side yet). Both apply to dense and pruned alike.
# Folding, checked here:

# %%
dense_resnet = net_of("resnet50", "dense").eval()
folded = latency.fold_batchnorm(dense_resnet)
n_bn = {name: sum(isinstance(m, nn.BatchNorm2d) for m in net.modules())
        for name, net in (("as built", dense_resnet), ("folded", folded))}
with torch.no_grad():
    reference = dense_resnet(images)
    gap = ((folded(images) - reference).abs().max() / reference.abs().max()).item()
print(f"BatchNorm layers: {n_bn}; largest output difference {gap:.1e} of the largest output")
assert n_bn["folded"] == 0 < n_bn["as built"] and gap < 1e-2  # TF32 convolutions on a GPU differ in the 3rd digit
split = latency.profile_classes(latency.prepare(dense_resnet, device=device), images)
split_folded = latency.profile_classes(latency.prepare(dense_resnet, device=device, mode="fused"), images)
print(f"normalisation per pass: {split['normalisation']:.2f} ms as built, {split_folded['normalisation']:.2f} ms folded")
assert split_folded["normalisation"] == 0

# %% [markdown]
# Compiling is slow on a CPU (each model and input shape is compiled anew), so this notebook reads
# compiled times from the recorded study (`python -m helpers latency`, which runs `latency.record`):
# eager, folded and compiled at every batch, dense and pruned interleaved and recorded twice, and for
# each batch the best pruned time against the best dense time. The records of this course:

# %%
studies = latency.recorded(gpu_only=False)
for record in studies:
    stamp = results.read(record)[0]
    best = latency.recorded_part(record, "best")
    print(f"{record.name}: {stamp['device']}, torch {stamp['torch']}, {stamp['date']}")
    if best is None:
        print("  eager mode only (recorded before the study timed folded and compiled models)")
        continue
    modes = latency.recorded_part(record, "modes")[1]
    setting = modes[0]
    print(f"  {setting['dtype']}" + (", channels_last" if setting["channels_last"] else "")
          + f"; modes timed: {', '.join(dict.fromkeys(r['mode'] for r in modes))}")
    dense_modes = [r for r in modes if r["channel_ratio"] == 0]
    display(Markdown("Dense model per mode:\n\n" + format_table(dense_modes, [
        ("model", "model", ""), ("batch", "batch", ""), ("mode", "mode", ""), ("ms", "median ms", ".2f"),
        ("iqr_ms", "IQR ms", ".2f"), ("stable", "stable", "")])))
    display(Markdown("Best against best:\n\n" + format_table(best[1], [
        ("model", "model", ""), ("variant", "variant", ""), ("batch", "batch", ""), ("dense_mode", "dense at", ""),
        ("dense_ms", "dense ms", ".2f"), ("dense_iqr_ms", "IQR", ".2f"), ("pruned_mode", "pruned at", ""),
        ("pruned_ms", "pruned ms", ".2f"), ("pruned_iqr_ms", "IQR", ".2f"), ("speedup", "best speed-up", ".2f"),
        ("stable", "both stable", ""), ("mac_ratio", "MACs ÷", ".2f"), ("activation_ratio", "activations ÷", ".2f")])))
    shaky = [r for r in modes if r["stable"] is not True]
    print(f"  unstable by the rule among its {len(modes)} mode rows: "
          + (", ".join(f"{r['model']} {r['variant']} b{r['batch']} {r['mode']}" for r in shaky) or "none"))
    assert all(b["speedup"] < b["mac_ratio"] for b in best[1])

# %% [markdown]
# ## 5. `round_to` and the routines each width gets
#
# Section 1 counted which convolutions keep widths that are multiples of 8. Whether a width gets a
# fast routine is decided by the library that runs the convolution, and the profile names the
# routine: `latency.conv_kernels` wraps every convolution in a `torch.profiler.record_function`
# label and lists what ran inside it (on a GPU the cuDNN or CUTLASS kernels, on a CPU the innermost
# convolution operator). ResNet-50 at `p=0.3`, with and without `round_to=8`, batch 1 on this device:

# %%
routines = []
for variant in ("p=0.3", "p=0.3, round_to=8"):
    for row in latency.conv_kernels(latency.prepare(net_of("resnet50", variant), device=device), images):
        routines.append({"variant": variant, **row})
by_routine = {}
for r in routines:
    key = (r["variant"], "yes" if r["multiple_of_8"] else "no", r["kernels"])
    by_routine.setdefault(key, []).append(r)
table = [{"variant": v, "aligned": a, "routine": k if len(k) < 90 else k[:87] + "...", "convs": len(rs),
          "kernels": ", ".join(sorted({f"{r['kernel_size']}/{r['stride']}" for r in rs})),
          "examples": ", ".join(f"{r['in_channels']}→{r['out_channels']}" for r in rs[:3])}
         for (v, a, k), rs in by_routine.items()]
display(Markdown(format_table(table, [("variant", "variant", ""), ("aligned", "widths multiples of 8", ""),
                              ("routine", "what ran the convolution", ""), ("convs", "convolutions", ""),
                              ("kernels", "kernel/stride", ""),
                              ("examples", "e.g. (in→out channels)", "")])))
assert len(routines) == 2 * len(conv_widths(net_of("resnet50", "p=0.3")))
assert sum(r["multiple_of_8"] for r in routines if r["variant"] == "p=0.3, round_to=8") \
    == aligned[("resnet50", "p=0.3, round_to=8")]
ran = {v: collections.Counter(r["kernels"] for r in routines if r["variant"] == v) for v in ("p=0.3", "p=0.3, round_to=8")}
for variant, counter in ran.items():
    print(f"{variant}: " + ", ".join(f"{k[:60]} x{n}" for k, n in counter.most_common()))
print("round_to=8 changed which routine runs the convolutions here" if ran["p=0.3"] != ran["p=0.3, round_to=8"]
      else f"on {helpers.env.device_name(device)} round_to=8 changed no routine: the same routines ran as many "
           "convolutions with and without it")

# %% [markdown]
# A record made by the current study lists the same for every precision and layout at its largest
# batch (a record made before the kernel lists says so). Per record, how many distinct routines ran
# the convolutions, with and without `round_to=8`:

# %%
for record in studies:
    kernels = latency.recorded_part(record, "kernels")
    if kernels is None:
        print(f"{record.name}: no kernel list (recorded before the study profiled)")
        continue
    summary = {}
    for r in kernels[1]:
        key = (r["model"], latency.setting_name(r), r["variant"])
        s = summary.setdefault(key, {"convs": 0, "aligned": 0, "routines": set()})
        s["convs"] += 1
        s["aligned"] += bool(r["multiple_of_8"])
        s["routines"].update(r["kernels"].split("; "))
    print(f"{record.name} ({kernels[0]['device']}):")
    display(Markdown(format_table(
        [{"model": m, "setting": st, "variant": v, "aligned": f"{s['aligned']} of {s['convs']}",
          "routines": len(s["routines"]), "names": ", ".join(sorted(n.split("::")[-1][:40] for n in s["routines"]))}
         for (m, st, v), s in summary.items()],
        [("model", "model", ""), ("setting", "setting", ""), ("variant", "variant", ""),
         ("aligned", "aligned convs", ""), ("routines", "routines", ""), ("names", "names", "")])))

# %% [markdown]
# ## 6. The recorded studies
#
# `python -m helpers latency` runs the whole study (`latency.record`): ResNet-50 and MobileNetV2,
# dense, `p=0.5` and `p=0.3`, each with and without `round_to=8`, over batch sizes, fp32 and bf16,
# with and without `channels_last`, every setting recorded twice with the variants interleaved; then
# the modes of section 4, the profiles of section 3 at each batch, and the routines of section 5. It
# writes its records under `figures/` with one stamp: device, library versions, date, the timer's
# method, the stability rule and cuDNN's flags. Below: each record's stamp, how widely its blocks
# spread (IQR over median), and the rows the stability rule lists as unstable.

# %%
def setting(row, tf32=False):
    """The setting's short name; "tf32" for fp32 tensors whose convolutions cuDNN ran in TF32."""
    name = latency.setting_name(row)
    return name.replace("fp32", "tf32") if tf32 else name


def pivot(rows, tf32=False):
    """One line per model and variant; per setting the median, its IQR and (pruned) the speed-up."""
    settings = list(dict.fromkeys(setting(r, tf32) for r in rows))
    table = {}
    for r in rows:
        line = table.setdefault((r["model"], r["variant"]), {"model": r["model"], "variant": r["variant"],
                                                             "mac_ratio": r["mac_ratio"]})
        line[setting(r, tf32)] = (f"{r['ms']:.2f} ms, IQR {r['iqr_ms']:.2f}"
                                  + ("" if r["variant"] == "dense" else f" ({r['speedup']:.2f}x)"))
    return Markdown(format_table(list(table.values()), [("model", "model", ""), ("variant", "variant", ""),
                                                         ("mac_ratio", "MACs ÷", ".2f"),
                                                         *[(s, s, "") for s in settings]]))


def tf32_in(stamp):
    """Whether a record's fp32 convolutions ran in TF32: PyTorch's default on a GPU (cuDNN's allow_tf32); a
    CPU has no TF32."""
    return "allow_tf32=True" in stamp.get("cudnn", "") and not stamp["device"].startswith("CPU")


LOCAL_TF32 = device.type == "cuda" and torch.backends.cudnn.allow_tf32


for record in studies:
    stamp, rows = results.read(record)
    print(f"{record.name}\n  " + "\n  ".join(f"{k}: {v}" for k, v in stamp.items()))
    spread = [r["iqr_ms"] / r["ms"] for r in rows]
    failed, unchecked = latency.unstable(rows)
    wide = [r for r in rows if r["iqr_ms"] >= latency.SPREAD * r["ms"]]
    print(f"  IQR / median over its {len(rows)} rows: median {statistics.median(spread):.1%}, largest "
          f"{max(spread):.1%}; {len(wide)} rows at or above {latency.SPREAD:.0%}")
    if unchecked:
        print(f"  {len(unchecked)} rows pass the IQR test but were recorded once: the agreement test cannot be "
              "applied to them")
    print(f"  unstable by the rule: {len(failed)} of {len(rows)} rows" + (":" if failed else ""))
    if failed:
        print("  " + "; ".join(f"{r['model']} {r['variant']} {latency.setting_name(r, tf32_in(stamp))} "
                               f"(IQR {r['iqr_ms'] / r['ms']:.0%} of {r['ms']:.2f} ms"
                               + (f", recordings {r['ms_1']:.2f} and {r['ms_2']:.2f} ms" if r.get("ms_2") else "")
                               + ")" for r in failed))
    display(pivot([r for r in rows if r["variant"] in ("dense", "p=0.5")], tf32_in(stamp)))
    recorded_prediction = latency.recorded_part(record, "prediction")
    if recorded_prediction:
        display(Markdown("Its two-ratio predictions at `p=0.5` (section 3):\n\n" + format_table(
            [r for r in recorded_prediction[1] if r["variant"] == "p=0.5"], [
                ("model", "model", ""), ("batch", "batch", ""), ("compute_share", "conv/GEMM share", ".0%"),
                ("memory_share", "memory-bound share", ".0%"), ("idle_share", "idle share", ".0%"),
                ("predicted", "predicted", ".2f"), ("measured", "measured", ".2f"), ("error", "error", "+.0%")])))


# %%
print("the study's grid on a GPU: " + "; ".join(f"{k} {v}" for k, v in latency.study_grid("cuda").items()))
records = latency.recorded()  # GPU records only
if records:
    gpu_stamp, gpu = results.read(max(records, key=lambda p: results.read(p)[0].get("date", "")))
    print("recorded on: " + "; ".join(f"{k} {v}" for k, v in gpu_stamp.items()))
    TF32 = tf32_in(gpu_stamp)
    print(f"fp32 in this record: fp32 tensors, convolutions in {'TF32' if TF32 else 'fp32'} "
          f"(cudnn {gpu_stamp.get('cudnn', 'flags not recorded')})")
else:
    gpu_stamp, gpu, TF32 = None, [], False
    print("PLACEHOLDER: no GPU latency record in figures/ yet (figures/latency_<gpu>.csv).\n"
          "It is made on a CUDA machine with:\n"
          "    python -m helpers latency\n"
          "Until then, sections 6 and 7 use only the measurements made here.")

# %%
if gpu:
    fig = latency.plot(gpu, title=f"{gpu_stamp['device']}, torch {gpu_stamp['torch']}, {gpu_stamp['date']}"
                       + (" (fp32: TF32 convolutions)" if TF32 else ""))
    report.save(fig, "09_latency_gpu")
    pruned_gpu = [r for r in gpu if r["variant"] != "dense"]
    assert all(r["speedup"] < r["mac_ratio"] for r in pruned_gpu)
    by = {(r["model"], r["variant"], r["batch"], r["dtype"], r["channels_last"]): r for r in gpu}
    big = max(r["batch"] for r in gpu)
    small, large = by[("resnet50", "p=0.5", 1, "fp32", False)], by[("resnet50", "p=0.5", big, "fp32", False)]
    assert small["speedup"] < large["speedup"]
    batches = sorted({r["batch"] for r in gpu})
    print(f"ResNet-50 p=0.5 {'tf32' if TF32 else 'fp32'}: {small['speedup']:.2f}x at batch 1, {large['speedup']:.2f}x "
          f"at batch {big} ({large['mac_ratio']:.2f}x fewer MACs); no pruned variant reaches its MAC ratio")
else:
    print("(no GPU record: nothing to check here yet)")

# %% [markdown]
# One reading of the GPU record, written from its rows and checked: what `round_to=8` changed. Its
# yardstick of noise works for a record with one recording per setting as well as with two:
# ResNet-50 at `p=0.5` is the same network with or without rounding (section 1), and the record
# times it twice per setting; the gap between those two times is how finely the record tells times
# apart.

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
    assert slower_03  # the answer to question 3 says "sometimes slower"
    wide_big = [r for r in gpu if r["batch"] == big and r["iqr_ms"] >= latency.SPREAD * r["ms"]]
    mac_gains = [p["macs"] / r["macs"] for p, r in pairs]
    reading = (
        f"**`round_to=8` in the GPU record.** ResNet-50 at `p=0.5` is the same network with or without it (section 1); the "
        f"record timed it twice per setting, and the two times differ by up to {gap[big] - 1:.1%} at batch {big} "
        f"(the timing gap). In none of the record's {len(pairs)} pairs does rounding leave more MACs or parameters "
        f"than the same p without it (MAC gain {min(mac_gains):.3f} to {max(mac_gains):.3f}). At `p=0.3` and "
        f"batch {big} it is faster in {sum(r['time_gain'] > 1 for r in at_03)} of {len(at_03)} settings, in "
        f"{beyond} by more than its MAC gain times the timing gap. At smaller batches the timing gap is "
        + ", ".join(f"{gap[b] - 1:.0%} at batch {b}" for b in batches if b != big)
        + f": there rounding is slower in {len(slower_03)} of {len(small_03)} settings"
        + (" (" + ", ".join(sorted({p["model"] for p in slower_03})) + ")" if slower_03 else "")
        + f", {sum(p['ms'] / r['ms'] < gap[p['batch']] for p, r in small_03 if r['ms'] > p['ms'])} of them by less "
        "than the gap, so the record cannot tell. "
        f"At batch {big}, {len(wide_big)} of the record's {sum(r['batch'] == big for r in gpu)} rows have an IQR of "
        f"{latency.SPREAD:.0%} of their median or more.")
else:
    reading = "(no GPU record: nothing to read here yet)"
Markdown(reading)

# %% [markdown]
# ## 7. How far the speed-up falls short of the MAC ratio
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
# `fixed_fraction(S, M)` returning `f`: the formula behind the fixed fraction of section 7.

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
#   elements, the data the layers write, only by `(1-p)`. `round_to=8` rounds each kept width down,
#   so it prunes as many channels or more, never fewer, and leaves as many convolutions with widths
#   that are multiples of 8 or more (more at `p=0.3` for both models).
# - Timing dense against pruned: warm up (the first pass pays one-off costs), synchronise a GPU before
#   reading the clock, interleave the models so that a drifting machine slows both alike, take the
#   median of the blocks and show its IQR, record every setting twice, and list as unstable any
#   setting whose recordings differ by more than 5% or whose IQR reaches 5% of the median
#   (`latency.time_settings`, `latency.is_stable`).
# - `torch.profiler` splits a pass into classes of operators. The two-ratio prediction (convolutions
#   shrink with the MACs, memory-bound layers with the activations) is printed with its error per
#   batch; where it fails, the class table shows which of its two assumptions did.
# - Folding BatchNorm removes the normalisation class with the same outputs; `torch.compile` applies
#   to dense and pruned alike. The recorded study keeps, per batch, the best dense time against the
#   best pruned time: in every record that holds them, that speed-up stays below the MAC ratio.
# - The committed GPU record holds one recording per setting and its stamp names no interleaving
#   (its variants were timed one after another, so drift can enter its speed-ups); the agreement
#   test cannot be applied, and section 6 lists its rows whose IQR fails. In it no pruned variant
#   reaches its MAC ratio. `tools/gpu_record.sh` records everything above on a GPU.
# - A MAC budget is met with `ParameterModel.solve(r, by="macs", at_least=True)` (notebook 08).

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
# 2. Why time the dense and the pruned model in interleaved rounds rather than one after the other,
#    and why record each setting twice?
#
# <details><summary>Answer</summary>
#
# A machine's speed drifts (clocks, temperature, other jobs). Timed one after the other, any drift
# between the two measurements lands in the speed-up, as the simulation of section 2 showed; in
# interleaved rounds it falls on both alike. Two recordings test whether a setting's median can be
# reproduced at all: where they disagree by more than 5%, or the blocks spread widely, the speed-up
# is not a property of the models, and the row is listed as unstable rather than read.
#
# </details>
#
# 3. `round_to=8` prunes as many channels as the plain ratio or more. What did it do to the time in
#    the GPU record, and when does it change nothing?
#
# <details><summary>Answer</summary>
#
# At the largest batch it made `p=0.3` faster in every setting, mostly by more than its fewer MACs
# and the timing gap account for. At smaller batches the record cannot tell: timing the same network
# twice there differs by more than most of the differences rounding made. NVIDIA's guide recommends
# channel counts that are multiples of 8 for tensor cores, but the GPU record holds no kernel list, so
# which routine each width got there is not shown; section 5 shows how to see it. Where `p` already
# leaves multiples of 8 (ResNet-50 at `p=0.5`), rounding changes no width, so neither the count nor,
# beyond the timing gap, the time.
#
# </details>

# %% [markdown]
# ## Further reading
#
# - [PyTorch benchmark utilities](https://pytorch.org/docs/stable/benchmark_utils.html):
#   `torch.utils.benchmark.Timer`, which times section 2 and the recorded studies.
# - [PyTorch profiler](https://pytorch.org/docs/stable/profiler.html): `torch.profiler`, which
#   splits the passes of sections 3 and 5.
# - [`torch.compile`](https://pytorch.org/docs/stable/generated/torch.compile.html) and
#   [CUDA graphs in PyTorch](https://pytorch.org/docs/stable/notes/cuda.html#cuda-graphs): the
#   compiled mode of section 4.
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
