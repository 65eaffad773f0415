# %% [markdown]
# # 09 · MACs and latency
#
# **Learning goals**
# - tell apart three reductions: parameters, MACs (multiply-accumulates) and time;
# - time dense and pruned models properly with `torch.utils.benchmark` (warm-up, several runs,
#   the GPU synchronised before the clock is read);
# - see how batch size, precision (fp32, bf16), memory format (`channels_last`) and `round_to`
#   change the speed-up;
# - read from a recorded GPU study why the speed-up falls short of the MAC ratio;
# - pick a channel ratio for a MAC budget three ways (the rule's inverse, Torch-Pruning's step loop,
#   the exact solver), and see which layers carry the MACs.
#
# **Prerequisites**: 07 · Reproducing the README.
#
# **Study time**: about 35 min (reading, running the cells and the exercises).
#
# **Run time** (from `figures/notebook_times.csv`): about 47 s in quick mode (2-core CPU); full mode (GPU) not measured yet.

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
import time

from IPython.display import Markdown

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
# mostly read and write activations. Which of the two ratios the time follows is a question for the
# clock: section 4 compares the measured speed-ups with both.
#
# ## 2. Timing on this device
#
# `latency.time_forward` copies the model, puts it in eval mode in the chosen dtype and memory
# format, runs a few warm-up passes, then times blocks of passes with `torch.utils.benchmark.Timer`
# (at least three blocks of about 20 ms, at least `min_run_time` seconds in all) and reports the
# median time per pass. On a GPU the timer synchronises the device before reading the clock, so a
# forward pass is timed to its end rather than to the launch of its kernels. On a CPU it uses one
# thread. Other programs running on the same machine disturb the clock: read these times as one
# run's, not as constants.

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
report.save(fig, "09_latency_local");

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
    gpu_stamp, gpu = results.read(max(records, key=lambda p: results.read(p)[0].get("date", "")))
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
    report.save(fig, "09_latency_gpu")

# %%
if gpu:
    pruned_gpu = [r for r in gpu if r["variant"] != "dense"]
    assert all(r["speedup"] < r["mac_ratio"] for r in pruned_gpu)
    by = {(r["model"], r["variant"], r["batch"], r["dtype"], r["channels_last"]): r for r in gpu}
    big = max(r["batch"] for r in gpu)
    small, large = by[("resnet50", "p=0.5", 1, "fp32", False)], by[("resnet50", "p=0.5", big, "fp32", False)]
    assert small["speedup"] < large["speedup"]
    print(f"ResNet-50 p=0.5 fp32: {small['speedup']:.2f}x at batch 1, {large['speedup']:.2f}x at batch {big} "
          f"({large['mac_ratio']:.2f}x fewer MACs); no pruned variant reaches its MAC ratio")
else:
    print("(no GPU record: nothing to check here yet)")

# %% [markdown]
# ## 4. Why the speed-up falls short of the MAC ratio
#
# Suppose a fraction `f` of the dense model's time does not shrink at all and the rest shrinks with
# the MACs. Then the speed-up is `S = 1 / (f + (1-f)/M)` for a MAC ratio `M`, and every measurement
# gives an `f` (`latency.fixed_fraction`; exercise `09-fixed-fraction` derives it): 0 when the time
# follows the MACs, 1 when pruning saved nothing (above 1: the pruned model was slower).

# %%
def explain(rows):
    return [{**r, "setting": latency.setting_name(r), "f": latency.fixed_fraction(r["speedup"], r["mac_ratio"])}
            for r in rows if r["variant"] == "p=0.5"]


explained = explain(gpu or local)
print(f"from {'the GPU record' if gpu else 'this device'}, p=0.5:")
Markdown(format_table(explained, [("model", "model", ""), ("setting", "setting", ""),
                                  ("speedup", "speed-up", ".2f"), ("mac_ratio", "MAC ratio", ".2f"),
                                  ("activation_ratio", "activation ratio", ".2f"), ("f", "fixed fraction f", ".2f")]))

# %% [markdown]
# Four readings of the GPU record, each printed and checked below: how the time grows with the batch,
# where the speed-up sits at the largest batch, what bf16 with `channels_last` changes, and what
# `round_to=8` changes where the pruned widths are not multiples of 8 (`p=0.3`).

# %%
if gpu:
    big = max(r["batch"] for r in gpu)
    b1 = min(r["batch"] for r in gpu)
    dense_1, dense_big = by[("resnet50", "dense", b1, "fp32", False)], by[("resnet50", "dense", big, "fp32", False)]
    f_small = [e["f"] for e in explained if e["batch"] == b1]
    f_big = [e["f"] for e in explained if e["batch"] == big]
    print(f"1. dense ResNet-50, fp32: {dense_1['ms']:.2f} ms for batch {b1}, {dense_big['ms']:.2f} ms for batch "
          f"{big} ({dense_big['ms'] / big:.3f} ms per image); f at p=0.5: {min(f_small):.2f} to {max(f_small):.2f} "
          f"at batch {b1}, {min(f_big):.2f} to {max(f_big):.2f} at batch {big}")
    assert dense_big["ms"] / big < dense_1["ms"] / 8 and min(f_small) > max(f_big)
    top = [r for r in gpu if r["variant"] == "p=0.5" and r["batch"] == big]
    print(f"2. p=0.5 at batch {big}: speed-ups {min(r['speedup'] for r in top):.2f}x to "
          f"{max(r['speedup'] for r in top):.2f}x; activation ratios {min(r['activation_ratio'] for r in top):.2f} "
          f"to {max(r['activation_ratio'] for r in top):.2f}; MAC ratios {min(r['mac_ratio'] for r in top):.2f} "
          f"to {max(r['mac_ratio'] for r in top):.2f}")
    assert all(r["activation_ratio"] - 0.35 < r["speedup"] <= r["activation_ratio"] + 0.05 for r in top)
    for name in MODELS:
        fp32, bf16 = by[(name, "p=0.5", big, "fp32", False)], by[(name, "p=0.5", big, "bf16", True)]
        fp32_dense, bf16_dense = by[(name, "dense", big, "fp32", False)], by[(name, "dense", big, "bf16", True)]
        print(f"3. {name}, batch {big}: dense {fp32_dense['ms']:.2f} ms in fp32, {bf16_dense['ms']:.2f} ms in bf16 "
              f"channels_last; p=0.5 speed-up {fp32['speedup']:.2f}x and {bf16['speedup']:.2f}x")
        assert bf16_dense["ms"] < fp32_dense["ms"] and bf16["speedup"] < fp32["speedup"]
    rounding = []
    for (name, variant, batch, dtype, cl), plain in by.items():
        if variant in ("p=0.3", "p=0.5") and batch == big:
            rounded = by[(name, f"{variant}, round_to=8", batch, dtype, cl)]
            rounding.append({"model": name, "variant": variant, "setting": latency.setting_name(plain),
                             "plain": plain["speedup"], "rounded": rounded["speedup"],
                             "time_gain": rounded["speedup"] / plain["speedup"],
                             "mac_gain": rounded["mac_ratio"] / plain["mac_ratio"]})
    print(f"4. round_to=8 against the same p without it, batch {big} (gains: plain ms / rounded ms, "
          "plain MACs / rounded MACs):")
    display(Markdown(format_table(rounding, [
        ("model", "model", ""), ("variant", "p", ""), ("setting", "setting", ""),
        ("plain", "speed-up", ".2f"), ("rounded", "with round_to=8", ".2f"),
        ("time_gain", "time gain", ".2f"), ("mac_gain", "MAC gain", ".3f")])))
    at_03 = [r for r in rounding if r["variant"] == "p=0.3"]
    beyond = sum(r["time_gain"] > r["mac_gain"] for r in at_03)
    print(f"at p=0.3 round_to=8 is faster in {sum(r['time_gain'] > 1 for r in at_03)} of {len(at_03)} settings, "
          f"by more than its MAC gain in {beyond}")
    assert all(r["mac_gain"] > 1 and r["time_gain"] > 1 for r in at_03) and beyond > len(at_03) / 2
    resnet_05 = [r for r in rounding if r["model"] == "resnet50" and r["variant"] == "p=0.5"]
    assert all(r["mac_gain"] == 1 and abs(r["time_gain"] - 1) < 0.03 for r in resnet_05)
else:
    print("(no GPU record: nothing to read here yet)")

# %% [markdown]
# What the four lines say about the fixed fraction:
#
# - **Costs that do not grow with the work** (line 1). The dense model needs far less time per image
#   in a large batch than alone: most of batch 1's time is paid per layer call, whatever the amount
#   of work. Pruning keeps every layer, so it keeps these costs, and batch 1 has the highest fixed
#   fractions of the record.
# - **The activations, not the MACs** (line 2). At the largest batch, where those costs are spread
#   over many images, the `p=0.5` speed-ups sit at about the activation ratio (section 1), far below
#   the MAC ratio. The record times whole models, so it cannot say which layers set that pace; it
#   says the time shrank like the data the layers write, not like their arithmetic.
# - **Faster arithmetic leaves less to save** (line 3). bf16 with `channels_last` makes the dense
#   model faster, and the speed-up from pruning smaller.
# - **Widths the kernels like** (line 4). At `p=0.3` the pruned widths are not multiples of 8;
#   `round_to=8` rounds them to multiples of 8 at the price of a few more channels, and the record
#   shows it faster, mostly by more than its extra MACs explain (NVIDIA's guide, in Further reading,
#   recommends channel counts that are multiples of 8 for its tensor cores). Where the widths are
#   already multiples of 8 (ResNet-50 at `p=0.5`) it changes nothing.
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
# ## 5. A budget in MACs
#
# MACs do not tell the time, but they are what many budgets are written in ("half the MACs"), and
# Torch-Pruning takes a ratio, not a target. Three ways to a channel ratio for a 2x MAC reduction:
#
# - the rule's inverse `1-√(1-r)`: a convolution between two pruned layers keeps `(1-p)²` of its
#   MACs as of its weights;
# - the loop Torch-Pruning's users write: `BasePruner` with `pruning_ratio=1.0` over 100 iterative
#   steps (each removes 1% of every group's channels), counting after each `step()` until the MACs
#   fall to the target;
# - `ParameterModel.solve(r, by="macs")`: the exact MAC count of every reachable width, read from
#   the dependency graph (notebook 05 did it for parameters), no pruning.
#
# The loop, written out on ResNet-18:

# %%
# NBVAL_CHECK_OUTPUT
import torch_pruning as tp

from helpers import budget, pruning, theory, zoo
from helpers.predict import ParameterModel

TARGET = 0.5  # remove half of the MACs
model, example_inputs, ignored = zoo.build("resnet18", device=device)
start = time.perf_counter()
macs_before, _ = tp.utils.count_ops_and_params(model, example_inputs)
pruner = tp.pruner.BasePruner(model, example_inputs, importance=tp.importance.GroupMagnitudeImportance(p=2),
                              pruning_ratio=1.0, iterative_steps=100, ignored_layers=ignored)
steps, macs = 0, macs_before
while macs > (1 - TARGET) * macs_before:
    pruner.step()  # 1% more of every group's initial channels
    steps += 1
    macs, _ = tp.utils.count_ops_and_params(model, example_inputs)
written = {"p": pruner.per_step_pruning_ratio[steps], "reached": 1 - macs / macs_before,
           "seconds": time.perf_counter() - start}
print(f"resnet18: {steps} steps (p = {pruner.per_step_pruning_ratio[steps]:.2f}), "
      f"MACs {macs_before:,.0f} -> {macs:,.0f}, removed {1 - macs / macs_before:.2%}")
assert 1 - macs / macs_before >= TARGET

# %% [markdown]
# `budget.prune_until(built, target, by="macs")` is this loop on a copy of the model (the other
# models below go through it). The three ways side by side (each ratio then pruned for real and
# counted):

# %%
MAC_MODELS = ["resnet18", "mobilenet_v3_small"] + ([] if QUICK else ["resnet50", "mobilenet_v2", "efficientnet_b0"])
ways = []
for name in MAC_MODELS:
    built = zoo.build(name, device=device)
    start = time.perf_counter()
    predictor = ParameterModel(*built)
    p_exact = predictor.solve(TARGET, by="macs")
    solve_s = time.perf_counter() - start
    loop = written if name == "resnet18" else budget.prune_until(built, TARGET, by="macs")
    p_rule = theory.channel_ratio_for(TARGET)
    reached = {p: pruning.prune_copy(*built[:2], p, built[2]).mac_reduction for p in (p_rule, p_exact)}
    assert reached[p_exact] == predictor.reduction(p_exact, by="macs")  # exact, to the MAC
    ways.append({"model": name, "p_rule": p_rule, "r_rule": reached[p_rule], "p_loop": loop["p"],
                 "r_loop": loop["reached"], "loop_s": loop["seconds"], "p_exact": p_exact,
                 "r_exact": reached[p_exact], "exact_s": solve_s})
Markdown(format_table(ways, [("model", "model", ""), ("p_rule", "rule's inverse: p", ".4f"), ("r_rule", "MACs removed", ".2%"),
                             ("p_loop", "loop: p", ".2f"), ("r_loop", "MACs removed", ".2%"), ("loop_s", "loop (s)", ".1f"),
                             ("p_exact", "solver: p", "g"), ("r_exact", "MACs removed", ".2%"),
                             ("exact_s", "solver (s)", ".2f")]))

# %%
for w in ways:  # the solver lands closest; the loop overshoots by up to a step; the rule misses
    assert abs(w["r_exact"] - TARGET) <= min(abs(w["r_loop"] - TARGET), abs(w["r_rule"] - TARGET))
    assert w["r_loop"] >= TARGET
print("closest to the target:", ", ".join(f"{w['model']} solver {w['r_exact'] - TARGET:+.2%} "
                                          f"(loop {w['r_loop'] - TARGET:+.2%}, rule {w['r_rule'] - TARGET:+.2%})"
                                          for w in ways))

# %% [markdown]
# The rule's inverse misses, as it missed parameter budgets in notebook 08, and by other amounts:
# MACs and parameters do not fall alike. A layer's MACs are its weight times the height and width of its output: the layers that work on large
# images weigh more in MACs than in parameters, the classifier (one 1x1 output) far less. The
# `A k² + B k + C` split of notebook 05, weighted by parameters and by MACs:

# %%
# NBVAL_CHECK_OUTPUT
ROLES = ("weights between pruned layers", "stem (input channels fixed)", "classifier (outputs fixed)", "depthwise",
         "normalisation")
split = []
for name in ("resnet18", "mobilenet_v3_small"):
    predictor = ParameterModel(*zoo.build(name, device=device))
    share = {by: {r["role"]: r["share"] for r in predictor.breakdown(by=by)} for by in ("params", "macs")}
    for role in ROLES:
        split.append({"model": name, "role": role, "params": share["params"].get(role, 0.0),
                      "macs": share["macs"].get(role, 0.0)})
    split.append({"model": name, "role": "removed at p=0.5", "params": predictor.reduction(0.5),
                  "macs": predictor.reduction(0.5, by="macs")})
for row in split:
    print(f"{row['model']:<20} {row['role']:<32} params {row['params']:7.2%}   MACs {row['macs']:7.2%}")
row = {(r["model"], r["role"]): r for r in split}
assert all(row[(m, "stem (input channels fixed)")]["macs"] > 10 * row[(m, "stem (input channels fixed)")]["params"]
           and row[(m, "classifier (outputs fixed)")]["macs"] < row[(m, "classifier (outputs fixed)")]["params"] / 10
           for m in ("resnet18", "mobilenet_v3_small"))
resnet_removed, mobile_removed = row[("resnet18", "removed at p=0.5")], row[("mobilenet_v3_small", "removed at p=0.5")]
assert resnet_removed["macs"] < resnet_removed["params"] and mobile_removed["macs"] > mobile_removed["params"]
assert row[("mobilenet_v3_small", "depthwise")]["macs"] > 3 * row[("mobilenet_v3_small", "depthwise")]["params"]
assert row[("resnet18", "stem (input channels fixed)")]["macs"] > row[("resnet18", "classifier (outputs fixed)")]["params"]
assert row[("mobilenet_v3_small", "depthwise")]["macs"] < row[("mobilenet_v3_small", "classifier (outputs fixed)")]["params"]

# %% [markdown]
# In MACs the stem weighs more than ten times its share of the parameters and the classifier less
# than a tenth. ResNet-18's stem, which keeps `1-p`, is a larger share of its MACs than its
# classifier is of its parameters, so it loses a little less of its MACs than of its parameters.
# MobileNetV3-Small loses more of its MACs: its large classifier hardly counts in MACs, while its
# depthwise convolutions, which keep `1-p`, weigh several times more in MACs than in parameters but
# less than the classifier did. A MAC budget needs its own ratio, which is what `solve(by="macs")`
# gives.

# %% [markdown]
# ## Exercises
#
# The exercise is checked by `helpers.checks.check`: replace the `raise NotImplementedError` with
# your code and run the cell.

# %% [markdown]
# ### Exercise `09-fixed-fraction`: how much of the time did not shrink
#
# A pruned model runs `S` times faster with `M` times fewer MACs. Assuming a fraction `f` of the
# dense time does not shrink and the rest shrinks with the MACs, `S = 1 / (f + (1-f)/M)`. Write
# `fixed_fraction(S, M)` returning `f`: the formula behind `latency.fixed_fraction` of section 4.

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
#   says, its activations the same.
# - Time with `torch.utils.benchmark`: warm-up, repeated blocks, the median, the GPU synchronised.
# - In the GPU record no pruned variant reaches its MAC ratio. At batch 1 the speed-ups are the
#   smallest, as most of the time does not grow with the work; at the largest batch they sit at about
#   the activation ratio; bf16 with `channels_last` makes the dense model faster and the speed-up
#   smaller; `round_to=8` makes `p=0.3` faster and changes nothing where the widths were multiples
#   of 8 already.
# - On this CPU the fixed fraction was smaller than in the GPU record: its speed-ups came closer to
#   the MAC ratio.
# - The GPU record in `figures/` (device, versions and date in its header) holds the full grid.
# - For a MAC budget the rule's inverse missed, Torch-Pruning's step loop overshot by up to a step
#   and counted after every step, and `ParameterModel.solve(r, by="macs")` landed closest, exact to
#   the MAC. MACs weigh the stem and depthwise layers more, and the classifier less, than parameters.

# %% [markdown]
# ## Questions
#
# 1. Pruning at `p=0.5` removes about three quarters of ResNet-50's MACs. Why can a layer like
#    BatchNorm or ReLU not get four times faster from it?
#
# <details><summary>Answer</summary>
#
# Its work is one small operation per activation element, and each layer's output keeps `(1-p)` of
# its channels: the elements it reads and writes halve, they do not fall to a quarter. Only a weight
# between two pruned layers loses `(1-p)²`, and such weights belong to convolutions and linear layers.
#
# </details>
#
# 2. Why does the same pruned model gain little at batch 1 on a GPU and more at a large batch?
#
# <details><summary>Answer</summary>
#
# At batch 1 most of the time does not grow with the work (the dense model takes far less time per
# image in a large batch), and pruning keeps every layer and so keeps that cost. In a large batch
# that cost is spread over many images, and the time follows the work that pruning does shrink.
#
# </details>
#
# 3. `round_to=8` prunes a few channels fewer or more than the plain ratio. Why can it still be the
#    better choice for latency, and when does it change nothing?
#
# <details><summary>Answer</summary>
#
# Fast GPU kernels prefer channel counts that are multiples of 8; the record shows `p=0.3` rounded to
# multiples of 8 faster than unrounded, by more than its few extra MACs explain in most settings.
# Where `p` already leaves multiples of 8 (ResNet-50 at `p=0.5`), rounding changes no width, so
# neither the count nor the time.
#
# </details>
#
# 4. At `p = 0.5`, MobileNetV3-Small loses more of its MACs than of its parameters, ResNet-18 a little
#    less. What in each model makes the difference?
#
# <details><summary>Answer</summary>
#
# Where each model's tensors that keep `1-p` sit. In MobileNetV3-Small the classifier holds a large
# share of the parameters but almost no MACs (its output is 1x1), so in MACs more of the model is made
# of weights between pruned layers. In ResNet-18 the stem, which keeps `1-p`, works on the largest
# images: a tiny share of the parameters, a larger share of the MACs than the classifier is of the
# parameters.
#
# </details>

# %% [markdown]
# ## Further reading
#
# - [PyTorch benchmark utilities](https://pytorch.org/docs/stable/benchmark_utils.html):
#   `torch.utils.benchmark.Timer`, which times section 2 and the GPU record.
# - [NVIDIA, convolutional layers user's guide](https://docs.nvidia.com/deeplearning/performance/dl-performance-convolutional/index.html):
#   how channel counts, data types and memory layout decide whether a convolution runs on tensor cores.
# - [PyTorch, channels_last memory format](https://pytorch.org/tutorials/intermediate/memory_format_tutorial.html):
#   what `channels_last` changes and when it helps.
# - Fang et al., "DepGraph: Towards Any Structural Pruning", CVPR 2023
#   ([arXiv:2301.12900](https://arxiv.org/abs/2301.12900)) and
#   [Torch-Pruning](https://github.com/VainF/Torch-Pruning): the pruner, and its README's latency
#   benchmark (notebook 07).
#
# Next: **10 · The cost of over-pruning**.
