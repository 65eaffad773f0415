# %% [markdown]
# # 07 · Reproducing Torch-Pruning's README
#
# **Learning goals**
# - rerun the configuration of the ResNet-50 "latency" log of Torch-Pruning's README as a plain
#   Torch-Pruning loop of `pruner.step()` calls, and get its printed parameter and MAC counts;
# - show that those counts do not depend on the weights or on the model's mode, and say what the
#   timings here can and cannot be compared with;
# - read timings with their spread over repeated runs, and a profiler table of where the time goes;
# - see why the README's counts follow `1-(1-p)²` so closely, and what they become with the
#   classifier protected.
#
# **Prerequisites**: 06 · Pruning real CNNs.
#
# **Track**: elective
# **Study time**: about 30 min (reading, running the cells and the exercises).
#
# **Run time** (from `figures/notebook_times.csv`): about 29 s in quick mode (2-core CPU); about 47 s in full mode (NVIDIA H100 80GB HBM3).

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
import copy
import statistics

import matplotlib.pyplot as plt
import torch
from IPython.display import Markdown, display

from helpers import latency, report, sweep, theory, zoo
from helpers.sweep import README as rc
from helpers.predict import ParameterModel
from helpers.report import format_table

QUICK = helpers.env.quick()
README_BATCH = 64  # "Latency test on ResNet-50, Batch Size=64", as the README states
BATCH = 1 if QUICK else README_BATCH  # batch 1 keeps a CPU run short
ROUNDS = 3  # timing runs per model, interleaved across the models
MIN_RUN_TIME = 0.0 if QUICK else 0.3  # seconds of timing per model and run (0: one block of passes)
RATIOS = (0.0, *rc.RATIOS)
LAST_STEP = round(rc.RATIOS[-1] * rc.ITERATIVE_STEPS / rc.PRUNING_RATIO)

# %% [markdown]
# ## 1. The README's configuration
#
# The README's latency log comes from its benchmark script, `reproduce/benchmark_latency.py`. Its
# pruner, as `helpers.sweep.README` records it, and the ratios of the log this course compares:

# %%
# NBVAL_CHECK_OUTPUT
print(f"model: torchvision resnet50, input 1x3x224x224\n"
      f"importance: GroupMagnitudeImportance(p=2), local pruning\n"
      f"pruning_ratio={rc.PRUNING_RATIO}, iterative_steps={rc.ITERATIVE_STEPS}, round_to={rc.ROUND_TO}\n"
      f"ignored_layers: none (the 1000-class fc is pruned too)\n"
      f"each step adds {rc.PRUNING_RATIO / rc.ITERATIVE_STEPS:g} to the channel ratio\n"
      f"compared here at p = {', '.join(f'{p:g}' for p in rc.RATIOS)} "
      f"(steps {', '.join(str(round(p * rc.ITERATIVE_STEPS / rc.PRUNING_RATIO)) for p in rc.RATIOS)} "
      f"of {rc.ITERATIVE_STEPS})")

# %% [markdown]
# Written with Torch-Pruning alone, that benchmark is one pruner and a loop of `step()` calls,
# counting after each one. Here are its steps up to the last compared ratio, on a ResNet-50 with
# random weights (seed 0):

# %%
# NBVAL_CHECK_OUTPUT
import torch_pruning as tp

loop_model, example_inputs, _ = zoo.build("resnet50", device=device, seed=0)
stem_seed0 = loop_model.conv1.weight.detach().clone()  # to see later which stem filters survive
pruner = tp.pruner.BasePruner(
    loop_model, example_inputs,
    importance=tp.importance.GroupMagnitudeImportance(p=2),
    pruning_ratio=rc.PRUNING_RATIO,  # where the schedule ends after all its steps
    iterative_steps=rc.ITERATIVE_STEPS,  # each step() goes pruning_ratio / iterative_steps further
    round_to=rc.ROUND_TO,
    ignored_layers=[],  # the README prunes the classifier too
)
loop, lines = {}, []
for step in range(1, LAST_STEP + 1):
    pruner.step()
    macs, params = tp.utils.count_ops_and_params(loop_model, example_inputs)
    p = round(pruner.per_step_pruning_ratio[step], 6)
    loop[p] = (int(params), int(macs))
    lines.append(f"step {step:2d}  p={p:.2f}  params {params / 1e6:6.2f} M  MACs {macs / 1e9:.2f} G")
print("\n".join(lines))
assert [f"{loop[p][0] / 1e6:.2f}" for p in rc.RATIOS] == [f"{v:.2f}" for v in rc.PARAMS_M]
assert [f"{loop[p][1] / 1e9:.2f}" for p in rc.RATIOS] == [f"{v:.2f}" for v in rc.MACS_G]
print(f"steps {', '.join(str(round(p * rc.ITERATIVE_STEPS)) for p in rc.RATIOS)} print the README's params and MACs")

# %% [markdown]
# Each step raises the channel ratio by `pruning_ratio / iterative_steps`, relative to the original
# widths. From here on the same loop runs inside `sweep.ratio_sweep` (built on
# `helpers.pruning.prune_steps`, the pruner above and its `step()` calls), which counts parameters and
# MACs (`tp.utils.count_ops_and_params`) at the compared ratios and keeps a copy of the model at each,
# for timing in section 2. This time the ResNet-50 starts from other random weights (seed 1):

# %%
readme_model, x, _ = zoo.build("resnet50", device=device, seed=1)
stem_seed1 = readme_model.conv1.weight.detach().clone()
readme = sweep.ratio_sweep(readme_model, x, RATIOS, ignored_layers=[], round_to=rc.ROUND_TO, macs=True,
                           on_step=lambda net, p: {"net": copy.deepcopy(net)},
                           pruning_ratio=rc.PRUNING_RATIO, iterative_steps=rc.ITERATIVE_STEPS)
with torch.no_grad():
    readme_output = tuple(readme_model(x).shape)
readme_params = (rc.BASE["params_m"], *rc.PARAMS_M)
readme_macs = (rc.BASE["macs_g"], *rc.MACS_G)
readme_ms = (rc.BASE["latency_ms"], *rc.LATENCY_MS)
table = [{"p": r["channel_ratio"], "params": r["params"] / 1e6, "readme_params": readme_params[i],
          "macs": r["macs"] / 1e9, "readme_macs": readme_macs[i]} for i, r in enumerate(readme)]

# %%
# NBVAL_CHECK_OUTPUT
assert all(f"{r['params']:.2f}" == f"{r['readme_params']:.2f}" for r in table)
assert all(f"{r['macs']:.2f}" == f"{r['readme_macs']:.2f}" for r in table)
print(f"all {len(table)} rows equal the README's printed values")
Markdown(format_table(table, [("p", "channel ratio", ".2f"), ("params", "params (M) here", ".2f"),
                              ("readme_params", "README", ".2f"), ("macs", "MACs (G) here", ".2f"),
                              ("readme_macs", "README", ".2f")]))

# %% [markdown]
# Every parameter and MAC count of the README's log compared here, to the printed digit, from random weights.
#
# ## 2. Latency: what these timings support
#
# The README's latency column came from the README's script: it loads pretrained weights, times a
# batch of its own size (the README states 64) in the model mode that script uses, on its author's
# GPU, with its own timer. The run here differs in each: random weights, eval mode under
# `torch.no_grad()` (`latency.time_forward`), its own batch size, this device and
# `torch.utils.benchmark`. Three consequences, each checked below.
#
# **1. Parameter and MAC counts are unaffected.** They depend on how many channels each layer keeps,
# not on the weights' values nor on the mode. The loop of section 1 pruned seed 0's weights, the
# sweep seed 1's; the pruner removed other stem filters from each, and the counts are identical, in
# train mode as in eval mode:

# %%
# NBVAL_CHECK_OUTPUT
def surviving(before, after):
    """Indices of the original filters (rows of the weight before pruning) still in the pruned weight."""
    return [i for i, w in enumerate(before) if any(torch.equal(w, v) for v in after)]


kept0 = surviving(stem_seed0, loop_model.conv1.weight.detach())
kept1 = surviving(stem_seed1, readme_model.conv1.weight.detach())
counted = {mode: tp.utils.count_ops_and_params(copy.deepcopy(readme_model).train(mode == "train"), x)
           for mode in ("train", "eval")}
print(f"stem filters kept at p={rc.RATIOS[-1]:g}: seed 0 {len(kept0)}, seed 1 {len(kept1)}; "
      f"kept by both: {len(set(kept0) & set(kept1))}")
print(f"(params, MACs) at p={rc.RATIOS[-1]:g}: seed 0 {loop[rc.RATIOS[-1]]}, seed 1 "
      f"{(readme[-1]['params'], readme[-1]['macs'])}")
print(f"seed 1 counted in train mode {tuple(map(int, counted['train'][::-1]))}, "
      f"in eval mode {tuple(map(int, counted['eval'][::-1]))}")
assert kept0 != kept1 and len(kept0) == len(kept1)  # other filters, as many of them
assert [(r["params"], r["macs"]) for r in readme[1:]] == [loop[p] for p in rc.RATIOS]  # seed 0 = seed 1
assert counted["train"] == counted["eval"] == (readme[-1]["macs"], readme[-1]["params"])

# %% [markdown]
# **2. The timings are not like for like.** The README's milliseconds and the milliseconds here
# differ in weights, mode, batch, device and timer at once, so no column of one can check a column
# of the other; each can only be read against its own dense row. **3. A difference is a difference
# only outside the noise.** Each model here is timed in `ROUNDS` interleaved runs (so that a slow
# spell of the machine hits every model); a row is faster (slower) than dense only when all its runs
# are faster (slower) than all of dense's. The MAC ratio (dense MACs / pruned MACs) is the speed-up a
# purely compute-bound run would get:

# %%
runs = [[] for _ in readme]  # per model: the median of each run, in ms
for _ in range(ROUNDS):
    for i, r in enumerate(readme):
        # the Timer runs at least two untimed passes before each block: no further warm-up needed
        m = latency.time_forward(r["net"], batch=BATCH, device=device, min_run_time=MIN_RUN_TIME,
                                 warmup=0, min_blocks=1)
        runs[i].append(m.median * 1e3)


def versus_dense(times):
    if max(times) < min(runs[0]):
        return "faster"
    return "slower" if min(times) > max(runs[0]) else "within noise"


dense_ms, dense_macs = statistics.median(runs[0]), readme[0]["macs"]
timing = [{"p": r["channel_ratio"], "readme_ms": readme_ms[i], "readme_speedup": readme_ms[0] / readme_ms[i],
           "ms": statistics.median(runs[i]), "spread": f"{min(runs[i]):.2f} to {max(runs[i]):.2f}",
           "speedup": dense_ms / statistics.median(runs[i]), "mac_ratio": dense_macs / r["macs"],
           "verdict": versus_dense(runs[i]) if i else "reference"} for i, r in enumerate(readme)]
print(f"here: {helpers.env.device_name(device)}, batch {BATCH}, fp32, eval, random weights; "
      f"median of {ROUNDS} runs per model")
Markdown(format_table(timing, [("p", "channel ratio", ".2f"), ("readme_ms", f"README ms (batch {README_BATCH})", ".2f"),
                               ("readme_speedup", "README speed-up", ".2f"), ("ms", "ms here", ".2f"),
                               ("spread", "runs here (ms)", ""), ("speedup", "speed-up here", ".2f"),
                               ("mac_ratio", "MAC ratio", ".2f"), ("verdict", "here vs dense", "")]))

# %%
assert all(1 < t["readme_speedup"] < t["mac_ratio"] for t in timing[1:])  # the README's own log
assert timing[-1]["speedup"] > 1 and timing[-1]["verdict"] != "slower", "the most pruned model should run faster"
kinds = {v: [f"{t['p']:g}" for t in timing[1:] if t["verdict"] == v] for v in ("faster", "within noise", "slower")}
least = min(timing[1:], key=lambda t: t["speedup"])
under = [f"{t['p']:g}" for t in timing[1:] if t["speedup"] < t["mac_ratio"]]
Markdown(f"Here, of {len(timing) - 1} pruned models: faster than dense at p = {', '.join(kinds['faster']) or 'none'}; "
         f"within the noise of the runs at p = {', '.join(kinds['within noise']) or 'none'}; slower at "
         f"p = {', '.join(kinds['slower']) or 'none'}. The speed-up here stays under the MAC ratio at "
         f"p = {', '.join(under) or 'none'}. In the README's log every compared row is faster than "
         f"its dense row and the speed-up stays under the MAC ratio at every ratio (at p={timing[-1]['p']:g}: "
         f"{timing[-1]['readme_speedup']:.2f}x against {timing[-1]['mac_ratio']:.1f}x fewer MACs).")

# %%
fig, ax = plt.subplots()
ps = [t["p"] for t in timing]
ax.plot(ps, [t["mac_ratio"] for t in timing], "k--", label="MAC ratio")
ax.plot(ps, [t["readme_speedup"] for t in timing], "o-", label=f"README speed-up (batch {README_BATCH}, its GPU)")
low = [t["speedup"] - dense_ms / max(r) for t, r in zip(timing, runs)]  # error bars: the runs' spread
high = [dense_ms / min(r) - t["speedup"] for t, r in zip(timing, runs)]
ax.errorbar(ps, [t["speedup"] for t in timing], yerr=[low, high], fmt="s-", capsize=3,
            label=f"speed-up here (batch {BATCH}, {device.type}; bars: runs)")
ax.set_xlabel("channel ratio p")
ax.set_ylabel("dense / pruned")
ax.set_title("ResNet-50, README configuration")
ax.legend()
report.save(fig, "07_readme_latency");

# %% [markdown]
# In the README's log, fewer MACs is not proportionally less time. Where does the time go here?
# `torch.profiler` splits forward passes by operator. It compares dense with the pruned model whose
# speed-up here is the smallest (a slower row, where there is one), each operator's own time summed
# by kind; the ratio column is dense time / pruned time:

# %%
import os

from torch.profiler import ProfilerActivity, profile

os.environ.setdefault("KINETO_LOG_LEVEL", "6")  # the profiler's backend would log each start and stop on stderr


def op_kind(name):
    if "conv" in name:
        return "convolution"
    if "batch_norm" in name:
        return "batch norm"
    return "linear" if name in ("aten::addmm", "aten::linear", "aten::mm") else "other (ReLU, add, pooling, ...)"


def time_by_kind(net, passes=3):
    """Milliseconds per forward pass spent in each kind of operator (its own time, children excluded)."""
    net = copy.deepcopy(net).eval()
    batch = torch.randn(BATCH, 3, 224, 224, device=device)
    cuda = device.type == "cuda"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as latency.time_forward times it
    try:
        with torch.no_grad():
            net(batch)  # warm-up
            with profile(activities=[ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])) as prof:
                for _ in range(passes):
                    net(batch)
                if cuda:
                    torch.cuda.synchronize()
    finally:
        torch.set_num_threads(threads)
    kinds = {}
    for event in prof.key_averages():
        if event.key.startswith("aten::"):
            us = event.self_device_time_total if cuda else event.self_cpu_time_total
            kinds[op_kind(event.key)] = kinds.get(op_kind(event.key), 0.0) + us / 1e3 / passes
    return kinds


target = readme[[t["p"] for t in timing].index(least["p"])]
dense_kinds, target_kinds = time_by_kind(readme[0]["net"]), time_by_kind(target["net"])
where = [{"kind": k, "dense": dense_kinds[k], "pruned": target_kinds.get(k, 0.0),
          "ratio": dense_kinds[k] / target_kinds[k] if target_kinds.get(k) else None}
         for k in sorted(dense_kinds, key=dense_kinds.get, reverse=True)]
where.append({"kind": "all operators", "dense": sum(dense_kinds.values()), "pruned": sum(target_kinds.values()),
              "ratio": sum(dense_kinds.values()) / (sum(target_kinds.values()) or float("nan"))})
conv = next(w for w in where if w["kind"] == "convolution")
assert where[0]["kind"] == "convolution"  # the convolutions hold most of the dense time
display(Markdown(format_table(where, [("kind", "operators", ""), ("dense", "dense ms", ".2f"),
                                      ("pruned", f"p={least['p']:g} ms", ".2f"), ("ratio", "dense / pruned", ".2f")])))
slower_kinds = [w["kind"] for w in where[:-1] if w["ratio"] is not None and w["ratio"] < 1]
Markdown(f"At p={least['p']:g} (MAC ratio {least['mac_ratio']:.2f}) the convolutions take "
         f"{conv['dense'] / sum(dense_kinds.values()):.0%} of dense's operator time and shrink "
         f"{conv['ratio']:.2f}x; all operators together {where[-1]['ratio']:.2f}x. Operators that take longer "
         f"in the pruned model than in dense: {', '.join(slower_kinds) or 'none'}.")

# %% [markdown]
# The profiler's table is this device's account of one row: where a kind of operator shrinks less
# than the MACs, or takes longer than in dense, that is where the expected saving went (notebook 09
# measures how batch size, precision and memory format change it). What the measurements of this
# section support: the README's parameter and MAC counts, exactly; the timings only as this run's,
# each read against its own dense row and its spread.
#
# ## 3. The same, with the classifier protected
#
# The README's benchmark ignores no layer, so its last step leaves a model with fewer than 1000
# outputs. In practice the classifier goes into `ignored_layers`. A sweep with `round_to=2` and the
# classifier ignored; the exact predictor (one-step pruning) is built first, and
# the sweep's steps are checked against it:

# %%
model, x, classifier = zoo.build("resnet50", device=device)
predictor = ParameterModel(model, x, classifier, round_to=rc.ROUND_TO)
protected = sweep.ratio_sweep(model, x, RATIOS, classifier, round_to=rc.ROUND_TO, macs=True)
with torch.no_grad():
    protected_output = tuple(model(x).shape)
params0 = protected[0]["params"]
both = [{"p": a["channel_ratio"], "rule": theory.param_reduction(a["channel_ratio"]),
         "readme": 1 - a["params"] / params0, "protected": 1 - b["params"] / params0,
         "readme_macs": a["macs"] / 1e9, "protected_macs": b["macs"] / 1e9} for a, b in zip(readme, protected)]

# %%
# NBVAL_CHECK_OUTPUT
assert all(r["params"] == predictor.params(r["channel_ratio"]) for r in protected)
assert readme_output[1] < 1000 and protected_output == (1, 1000)
assert all(b["readme"] > b["protected"] for b in both[1:])
assert all(abs(b["readme"] - b["rule"]) < 0.01 for b in both)
assert all(abs(b["readme_macs"] - b["protected_macs"]) < 0.01 * b["protected_macs"] for b in both)
print(f"output shape: README configuration {readme_output}, classifier ignored {protected_output}")
Markdown(format_table(both, [("p", "channel ratio", ".2f"), ("rule", "rule", ".1%"),
                             ("readme", "README config (fc pruned)", ".1%"), ("protected", "fc ignored", ".1%"),
                             ("readme_macs", "MACs (G), fc pruned", ".3f"),
                             ("protected_macs", "MACs (G), fc ignored", ".3f")]))

# %% [markdown]
# Why the numbers move: the fc layer holds a `fc.in_features × 1000` weight. Pruned as the README does, it loses
# rows and columns, `(1-p)²` like the convolutions; protected, it keeps its 1000 outputs and shrinks
# like `(1-p)` only. The two final models have the same body, so their whole difference is the
# classifier's lost outputs:

# %%
fc_in, fc_out = readme_model.fc.in_features, readme_model.fc.out_features
difference = protected[-1]["params"] - readme[-1]["params"]
print(f"p={readme[-1]['channel_ratio']}: both fc layers read {fc_in} features; the README's keeps {fc_out} "
      f"classes: {difference:,} parameters = (fc inputs + 1 bias) x {1000 - fc_out} lost classes")
assert model.fc.in_features == fc_in
assert difference == (fc_in + 1) * (1000 - fc_out)

# %% [markdown]
# The classifier is one matrix-vector product at the end, a small part of ResNet-50's MACs, so the MAC
# columns barely differ; its parameters are a larger share. With the fc pruned, its weight loses
# `(1-p)²` like the convolutions, and the README configuration follows the rule within a point at
# every ratio: that is why the quick-reference table of notebook 02 matches the README's log so
# well. With the classifier protected, as any usable model needs, ResNet-50 falls below the rule
# (notebook 03 takes the tensors that keep `1-p` one by one; 14 · Torch-Pruning pitfalls, section
# "The classifier is pruned unless ignored", shows what an unprotected classifier does to the
# model's outputs). To hit a parameter budget, ask the model, not the rule: notebook 08.

# %% [markdown]
# ## Exercises

# %% [markdown]
# ### Exercise `07-fc-params`: count the classifier's parameters after pruning
#
# Write `fc_params(in_features, classes, p, prune_classes)`: the weight and bias entries of a final
# `Linear(in_features, classes)` after channel ratio `p`. Its inputs keep `int(in_features*(1-p))`;
# its outputs keep `int(classes*(1-p))` only when the classes are pruned (the README's
# configuration), else all of them.

# %%
# NBVAL_CHECK_OUTPUT
def fc_params(in_features, classes, p, prune_classes):
    raise NotImplementedError  # your code here


passed = helpers.checks.check("07-fc-params", fc_params)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("07-fc-params")

# %% [markdown]
# ## Summary
#
# - The README's ResNet-50 log is reproduced exactly: `pruning_ratio=1` over 20 steps, `round_to=2`,
#   no ignored layer and group L2 magnitude give its params and MACs at every compared step. In
#   Torch-Pruning's terms it is one `BasePruner(..., iterative_steps=20)` and a loop of `step()`.
# - Those counts do not depend on the weights (two random initialisations keep different stem filters
#   and give identical counts) nor on train or eval mode; random weights reproduce the README's counts.
# - The timings are not like for like with the README's (weights, mode, batch, device and timer all
#   differ); each is read against its own dense row, and a difference counts only outside the spread
#   of repeated runs. In the README's log the speed-up stays under the MAC ratio at every compared
#   ratio; the profiler table shows how much of the time here is in the convolutions and how much it
#   shrank.
# - Its configuration prunes the classes; that is why it follows `1-(1-p)²` within a point. With the
#   classifier protected, the sweep removes less, and the whole difference is the lost classes.

# %% [markdown]
# ## Questions
#
# 1. Why can the course reproduce the README's parameter and MAC counts to the digit without its
#    pretrained weights, but not its latencies?
#
# <details><summary>Answer</summary>
#
# The counts depend only on how many channels each group keeps, which the pruner's ratio, schedule
# and `round_to` fix; the weights only choose which channels go (the two initialisations above kept
# different stem filters and gave identical counts). A latency depends on the device, the batch, the
# mode, the timer and the rest of the run, and every one of those differs here.
#
# </details>
#
# 2. A pruned row's median time lies above the dense one, but its runs overlap dense's runs. What can
#    you conclude?
#
# <details><summary>Answer</summary>
#
# Nothing about pruning: the difference is within the noise of the measurement. Only a row whose
# runs all lie above (or below) all of dense's runs is slower (or faster) on this device; even then,
# the profiler's table says in which operators the time went before any reason is given.
#
# </details>
#
# 3. Protecting the classifier changes ResNet-50's parameter reduction by more than its MACs. Why?
#
# <details><summary>Answer</summary>
#
# The classifier is one matrix-vector product per image, a tiny part of the MACs, but its
# weight is a visible share of the parameters. Protected, it keeps its 1000 outputs and
# shrinks like `(1-p)` instead of `(1-p)²`: many parameters stay, almost no MACs.
#
# </details>

# %% [markdown]
# ## Further reading
#
# - [Torch-Pruning](https://github.com/VainF/Torch-Pruning): the README whose latency log this
#   notebook reproduces, and its `reproduce/benchmark_latency.py`.
# - Fang et al., [DepGraph: Towards Any Structural Pruning](https://arxiv.org/abs/2301.12900), CVPR
#   2023: the method behind the library.
# - [torch.utils.benchmark](https://pytorch.org/docs/stable/benchmark_utils.html) and
#   [torch.profiler](https://pytorch.org/docs/stable/profiler.html): the timer and profiler used in
#   section 2, with what they synchronise and report.
# - Liu et al., [Rethinking the Value of Network Pruning](https://arxiv.org/abs/1810.05270), ICLR
#   2019: the case that a pruned network's value lies in its widths more than in the weights it inherits.
#
# Next: **08 · Hitting a parameter budget**.
