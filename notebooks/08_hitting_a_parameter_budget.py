# %% [markdown]
# # 08 · Hitting a parameter budget
#
# **Learning goals**
# - turn a target parameter reduction into a channel ratio three ways: the rule's inverse, the exact
#   solver `ParameterModel.solve`, and a bisection that prunes at every step;
# - measure how far the rule's answer misses on real CNNs, and how long each method takes;
# - use `pruning_ratio_dict` and `max_pruning_ratio`, and know what they do and do not guarantee;
# - meet a budget under global and iterative pruning, which the solver does not model, and see in
#   Torch-Pruning's schedule why iterative global pruning removes fewer parameters at the same ratio.
#
# **Prerequisites**: 06 · Pruning real CNNs, 07 · Reproducing the README.
#
# **Study time**: about 45 min (reading, running the cells and the exercises).
#
# **Run time** (from `figures/notebook_times.csv`): about 12 s in quick mode (2-core CPU); full mode (GPU) not measured yet.

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
import time

import matplotlib.pyplot as plt
import numpy as np
import torch_pruning as tp
from IPython.display import Markdown

from helpers import budget, pruning, report, theory, zoo
from helpers.counting import n_params
from helpers.predict import ParameterModel
from helpers.report import format_table

QUICK = helpers.env.quick()
CORE = ["resnet18", "mobilenet_v3_small", "squeezenet1_1", "regnet_x_400mf"]
MODELS = CORE if QUICK else CORE + [n for n in zoo.names() if n not in CORE]
TARGETS = (0.3, 0.5, 0.7)

# %% [markdown]
# ## 1. The rule's answer
#
# Inverting `r = 1-(1-p)²` gives `p = 1-√(1-r)`: no model needed.

# %%
# NBVAL_CHECK_OUTPUT
for r in TARGETS:
    print(f"to remove {r:.0%} of the parameters, the rule says p = {theory.channel_ratio_for(r):.4f}")

# %% [markdown]
# ## 2. Asking the model
#
# `ParameterModel` (notebook 05) reads the dependency graph once and predicts the exact count after
# local pruning at any `p`, without pruning. Its `solve(target)` tries every count uniform pruning
# can reach (one per plateau of kept widths) and returns the shortest decimal `p` on the closest, so
# that the `p` printed is a `p` to pass; `solve(target, at_least=True)` meets a budget instead (the
# least reduction that reaches it, never one a hair short). On ResNet-18 for 50%:

# %%
# NBVAL_CHECK_OUTPUT
resnet, x, ignored = zoo.build("resnet18", device=device)
predictor = ParameterModel(resnet, x, ignored)
p_rule, p_solve = theory.channel_ratio_for(0.5), predictor.solve(0.5)
result = pruning.prune(resnet, x, p_solve, ignored)
print(f"rule:   p = {p_rule:.4f} removes {predictor.reduction(p_rule):.2%}")
print(f"solver: p = {p_solve} removes {predictor.reduction(p_solve):.2%} "
      f"({predictor.params_before:,} -> {predictor.params(p_solve):,} parameters)")
print(f"pruned for real at the solver's p: {result.params_after:,} parameters")
p_budget = predictor.solve(0.5, at_least=True)
print(f"at least 50%: p = {p_budget} removes {predictor.reduction(p_budget):.2%}")
assert result.params_after == predictor.params(p_solve)
assert predictor.reduction(p_budget) >= 0.5 and predictor.params(p_budget) <= predictor.params(p_solve)
assert predictor.reduction(p_rule) < 0.5
assert abs(predictor.reduction(p_solve) - 0.5) < abs(predictor.reduction(p_rule) - 0.5)

# %% [markdown]
# The rule over-promises: at its `p`, ResNet-18 loses less than half its parameters, because some
# tensors shrink like `(1-p)` only. The smooth polynomial `A k² + B k + C` (`k = 1-p`, notebook 05)
# already explains most of the gap; exercise `08-p-for-budget` inverts it. The solver works on the
# exact integer counts, so it also knows the rounding.
#
# ## 3. The zoo at 30%, 50% and 70%
#
# For every model and target: the reduction the rule's `p` really achieves, and the solver's. The
# miss is achieved minus target, in percentage points (negative: fewer parameters removed than
# asked). `budget.budget_table` computes both exactly with `ParameterModel`, and for the models in
# `verify` also prunes at both ratios to check.

# %%
VERIFY = ["mobilenet_v3_small"] if QUICK else MODELS
rows = budget.budget_table(MODELS, TARGETS, device=device, verify=VERIFY)
COLUMNS = [("model", "model", ""), ("target", "target", ".0%"), ("p_rule", "p (rule)", ".4f"),
           ("reduction_rule", "achieved", ".2%"), ("miss_rule_pp", "miss (pp)", "+.2f"),
           ("p_solve", "p (solver)", "g"), ("reduction_solve", "achieved", ".2%"),
           ("miss_solve_pp", "miss (pp)", "+.2f")]

# %%
# NBVAL_CHECK_OUTPUT
Markdown(format_table([r for r in rows if r["model"] in CORE], COLUMNS))

# %%
if not QUICK:
    display(Markdown(format_table([r for r in rows if r["model"] not in CORE], COLUMNS)))
verified = [r for r in rows if "measured_solve" in r]
assert verified and all(r["measured_rule"] == r["reduction_rule"] and r["measured_solve"] == r["reduction_solve"]
                        for r in verified)
assert all(abs(r["miss_solve_pp"]) <= abs(r["miss_rule_pp"]) + 1e-9 for r in rows)
jumps = [r for r in rows if abs(r["miss_solve_pp"]) >= 0.5]
assert all(zoo.family(r["model"]) == "RegNet" for r in jumps)
worst = min(rows, key=lambda r: r["miss_rule_pp"])
assert worst["miss_rule_pp"] < -5
assert worst["model"].startswith(("mobilenet", "mnasnet", "efficientnet", "squeezenet"))
close = [r for r in rows if r not in jumps]
print(f"solver within {max(abs(r['miss_solve_pp']) for r in close):.2f} pp on {len(close)} of {len(rows)} "
      f"budgets; the rule misses by up to {-worst['miss_rule_pp']:.1f} pp ({worst['model']}, target "
      f"{worst['target']:.0%}); verified by pruning: {', '.join(r['model'] for r in verified[::len(TARGETS)])}")
for r in jumps:
    print(f"  {r['model']}, target {r['target']:.0%}: the closest uniform ratio misses by {r['miss_solve_pp']:+.2f} pp")

# %%
fig, axes = plt.subplots(1, len(TARGETS), figsize=(11, 3.6), sharey=True)
pos = np.arange(len(MODELS))
for ax, target in zip(axes, TARGETS):
    mine = {r["model"]: r for r in rows if r["target"] == target}
    ax.barh(pos + 0.2, [mine[n]["miss_rule_pp"] for n in MODELS], 0.4, label="rule's p")
    ax.barh(pos - 0.2, [mine[n]["miss_solve_pp"] for n in MODELS], 0.4, label="solver's p")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_title(f"target {target:.0%}")
    ax.set_xlabel("achieved - target (pp)")
axes[0].set_yticks(pos, MODELS)
axes[0].invert_yaxis()
axes[0].legend()
fig.tight_layout()
report.save(fig, "08_budget_miss");

# %% [markdown]
# The rule's `p` misses most on the models with many `(1-p)` tensors (above all a fixed 1000-class
# classifier that is a large share of a small model, notebook 06); the solver's miss is the rounding
# left by integer channel counts, a small fraction of a point. Where many groups lose a channel at the
# same ratio, the count jumps and no uniform ratio gets closer: RegNet-Y's shared group widths do that
# (listed above in full mode); such a budget needs non-uniform ratios (section 5).
#
# ## 4. Solver vs. a bisection that prunes
#
# Without a predictor, the honest way to meet a budget is to prune and count: bisect on `p`, prune a
# copy of the model at each step, stop when the count is within a tolerance (0.2 points here).
# `budget.bisect_by_pruning` does that. The solver pays once for building its dependency graph, then
# answers every target quickly.

# %%
TIMED = "mobilenet_v3_small" if QUICK else "resnet50"
timed_model = zoo.build(TIMED, device=device)
start = time.perf_counter()
timed_predictor = ParameterModel(*timed_model)
build_seconds = time.perf_counter() - start
solved = [budget.solve(timed_predictor, t) for t in TARGETS]
bisected = [budget.bisect_by_pruning(timed_model, t) for t in ((0.5,) if QUICK else TARGETS)]

# %%
timing = [{"method": "solver", "target": s.target, "p": s.channel_ratio, "reduction": s.reduction,
           "prunes": 0, "seconds": s.seconds} for s in solved]
timing += [{"method": "bisection", "target": b.target, "p": b.channel_ratio, "reduction": b.reduction,
            "prunes": b.evaluations, "seconds": b.seconds} for b in bisected]
print(f"{TIMED} on {device.type}: building the predictor took {build_seconds:.2f} s")
display(Markdown(format_table(timing, [("method", "method", ""), ("target", "target", ".0%"), ("p", "p", "g"),
                                       ("reduction", "achieved", ".2%"), ("prunes", "models pruned", "d"),
                                       ("seconds", "seconds", ".3f")])))
for b in bisected:
    s = next(s for s in solved if s.target == b.target)
    assert abs(b.miss_pp) < 0.5 and b.evaluations >= 3
    assert abs(s.miss_pp) <= abs(b.miss_pp) + 1e-9  # the solver lands at least as close
    assert s.seconds < b.seconds
assert all(s.seconds < 0.5 for s in solved)
print(f"one bisection: {bisected[0].evaluations} prunes in {bisected[0].seconds:.1f} s; "
      f"one solve: {solved[1].seconds * 1e3:.0f} ms after a {build_seconds:.1f} s build")

# %% [markdown]
# The bisection is slower, but it only needs a pruner and a count: it works for every setting the
# solver does not model. The rest of this notebook needs it.
#
# ## 5. `pruning_ratio_dict` and `max_pruning_ratio`
#
# `pruning_ratio_dict={module: ratio}` gives the groups rooted inside `module` their own ratio. In
# local pruning each of those groups still ranks its channels on its own; only `global_pruning=True`
# ranks channels across groups. Protecting ResNet-18's last stage, which holds most of its
# parameters, with a ratio of 0.2 while the rest gets 0.5 is one more argument to Torch-Pruning's
# pruner:

# %%
resnet = zoo.build("resnet18", device=device)
fresh = resnet[0]
layer4_share = n_params(fresh.layer4) / predictor.params_before
print(f"layer4 holds {layer4_share:.0%} of ResNet-18's parameters")
assert layer4_share > 0.5

model, example_inputs = copy.deepcopy(fresh), resnet[1]
pruner = tp.pruner.BasePruner(
    model, example_inputs,
    importance=tp.importance.GroupMagnitudeImportance(p=2),
    pruning_ratio=0.5,  # every group not named below
    pruning_ratio_dict={model.layer4: 0.2},  # the groups rooted inside layer4
    ignored_layers=[model.fc],
)
pruner.step()
direct = 1 - n_params(model) / predictor.params_before
print(f"layer4.1.conv1 keeps {model.layer4[1].conv1.out_channels} of {fresh.layer4[1].conv1.out_channels} "
      f"channels, layer1.1.conv1 {model.layer1[1].conv1.out_channels} of {fresh.layer1[1].conv1.out_channels}; "
      f"parameters removed: {direct:.1%}")

# %% [markdown]
# `budget.prune_measured` makes the same call on a copy and measures every layer's loss:

# %%
spare_layer4 = {fresh.layer4: 0.2}  # each prune works on a copy: the copy's layer4 gets this ratio
spared = budget.prune_measured(resnet, 0.5, pruning_ratio_dict=spare_layer4)
in_layer4 = [f for n, f in spared.fractions.items() if n.startswith("layer4")]
elsewhere = [f for n, f in spared.fractions.items() if not n.startswith("layer4")]
print(f"layer4 layers lose {min(in_layer4):.3f}-{max(in_layer4):.3f} of their channels, the others "
      f"{min(elsewhere):.3f}-{max(elsewhere):.3f}; parameters removed: {spared.reduction:.1%}")
assert max(abs(f - 0.2) for f in in_layer4) < 0.01 and all(f == 0.5 for f in elsewhere)
assert spared.reduction == direct  # the call written out above

# %% [markdown]
# The predictor models uniform ratios only, so to remove 50% in total while layer4 keeps its 0.2,
# bisect on the ratio of the rest:

# %%
spared_search = budget.bisect_by_pruning(resnet, 0.5, tol=0.005, pruning_ratio_dict=spare_layer4)
print(f"p = {spared_search.channel_ratio:.4f} elsewhere (layer4 at 0.2) removes {spared_search.reduction:.2%}, "
      f"found with {spared_search.evaluations} prunes")
assert abs(spared_search.reduction - 0.5) <= 0.005 and spared_search.channel_ratio > predictor.solve(0.5)

# %% [markdown]
# `max_pruning_ratio` sounds like a hard cap per layer. Torch-Pruning's source
# (`pruner/algorithms/base_pruner.py`) uses it in two places only:
#
# - `get_target_pruning_ratio` returns `min(ratio, max_pruning_ratio)` for the ratios given in
#   `pruning_ratio_dict`; the default `pruning_ratio` does not pass through it;
# - before every step, `_check_pruning_ratio` leaves out each group in which a layer is already
#   narrower than `(1 - max_pruning_ratio)` of its initial width. A step that starts below the cap is
#   taken whole.
#
# Measured on ResNet-18 with a cap of 0.25 (iterative steps are scheduled in the next section):

# %%
# NBVAL_CHECK_OUTPUT
CAP = 0.25
capped_dict = budget.prune_measured(resnet, 0.5, max_pruning_ratio=CAP, pruning_ratio_dict={fresh.layer4: 0.8})
capped_once = budget.prune_measured(resnet, 0.5, max_pruning_ratio=CAP)
capped_steps = budget.prune_measured(resnet, 0.5, max_pruning_ratio=CAP, iterative_steps=5)
layer4_capped = max(f for n, f in capped_dict.fractions.items() if n.startswith("layer4"))
schedule = tp.pruner.algorithms.scheduler.linear_scheduler(0.5, 5)[1:]  # the ratio reached after each step
past_cap = min(r for r in schedule if r > CAP)
print(f"max_pruning_ratio={CAP}, pruning_ratio=0.5:")
print(f"  dict asks 0.8 for layer4 -> layer4 loses at most {layer4_capped:.3f}")
print(f"  one step                 -> layers lose at most {max(capped_once.fractions.values()):.3f}, "
      f"{capped_once.reduction:.1%} of the parameters")
print(f"  5 steps, scheduled {', '.join(f'{r:.1f}' for r in schedule)} -> layers lose "
      f"{min(capped_steps.fractions.values()):.3f}-{max(capped_steps.fractions.values()):.3f}, "
      f"{capped_steps.reduction:.1%} of the parameters")
assert abs(layer4_capped - CAP) < 0.01
assert max(capped_once.fractions.values()) == 0.5
# every layer stops after the first step past the cap (a little more where whole channels round down)
assert past_cap - 0.01 < min(capped_steps.fractions.values()) <= max(capped_steps.fractions.values()) < past_cap + 0.02

# %% [markdown]
# So `max_pruning_ratio` caps the ratios of `pruning_ratio_dict` and guards iterative schedules; it
# does not cap a one-step prune at the default ratio, and between steps it stops a layer only after
# the step that crossed it. It is not a budget tool: the count must still be measured (or, for
# uniform local pruning, predicted).
#
# ## 6. Global pruning under a budget
#
# With `global_pruning=True` all groups compete: `p` becomes the fraction of *all* channels removed,
# taken where the importance is lowest, so per-layer ratios vary and the count depends on the
# weights. In Torch-Pruning it is one flag:

# %%
GLOBAL = "mobilenet_v3_small" if QUICK else "resnet50"
global_model = zoo.build(GLOBAL, device=device)
original, example_inputs, (head,) = global_model
model, (head_copy,) = pruning.copy_with_layers(original, [head])  # a copy, and its classifier
pruner = tp.pruner.BasePruner(
    model, example_inputs,
    importance=tp.importance.GroupMagnitudeImportance(p=2),
    pruning_ratio=0.5,
    global_pruning=True,  # rank the channels of every group together
    ignored_layers=[head_copy],
)
pruner.step()
global_direct = 1 - n_params(model) / n_params(original)
print(f"{GLOBAL}, global pruning at p=0.5: {global_direct:.1%} of the parameters removed")
assert global_direct == budget.pruned_reduction(global_model, 0.5, global_pruning=True)  # the helper's call

# %% [markdown]
# Only pruning tells the count, so to meet a budget, bisect (each step of the search is the call
# above, on a copy):

# %%
global_search = budget.bisect_by_pruning(global_model, 0.5, tol=0.005, global_pruning=True)
global_pruned = budget.prune_measured(global_model, global_search.channel_ratio, global_pruning=True)
local_p = ParameterModel(*global_model).solve(0.5)
local_pruned = budget.prune_measured(global_model, local_p)
print(f"{GLOBAL}, 50% of the parameters: local p = {local_p}; global p = {global_search.channel_ratio:.4f} "
      f"({global_search.evaluations} prunes, {global_pruned.reduction:.2%} removed)")

# %%
fig, ax = plt.subplots()
bins = np.linspace(0, 1, 21)
ax.hist(list(local_pruned.fractions.values()), bins=bins, alpha=0.6, label=f"local, p={local_p}")
ax.hist(list(global_pruned.fractions.values()), bins=bins, alpha=0.6,
        label=f"global, p={global_search.channel_ratio:.3f}")
ax.set_xlabel("fraction of a layer's output channels removed")
ax.set_ylabel("layers")
ax.set_title(f"{GLOBAL}: two ways to remove 50% of the parameters")
ax.legend()
report.save(fig, "08_global_layer_fractions")
plt.show()
spread_local = statistics.pstdev(local_pruned.fractions.values())
spread_global = statistics.pstdev(global_pruned.fractions.values())
print(f"spread of per-layer ratios: local {spread_local:.3f}, global {spread_global:.3f}")
assert abs(global_pruned.reduction - 0.5) <= 0.005
assert spread_global > spread_local

# %% [markdown]
# These weights are random, so this ranking is not the one a trained model would give; the method
# is the same for a trained model, and only its numbers change. Bisect on the model you will deploy.
#
# ## 7. Iterative pruning under a budget
#
# Without `round_to`, local pruning in several steps ends here on the one-step widths (notebook 06;
# where the path matters, `ParameterModel(..., iterative_steps=n)` replays the schedule), so the
# solver's `p` holds for several steps too. Global pruning does not, and Torch-Pruning's `BasePruner`
# (`pruner/algorithms/base_pruner.py`) shows why:
#
# - **The schedule.** With `iterative_steps=n`, step `k` gets the ratio `k·p/n` (`linear_scheduler`,
#   kept in `pruner.per_step_pruning_ratio`): the ratio reached so far, not an increment.
# - **The threshold.** At each step, global pruning puts the importance scores of all remaining
#   channels in one list and removes the `remaining - int(initial·(1 - ratio))` lowest, so after
#   every step the channel count is the schedule's, whatever the weights.
# - **The scores.** Each step scores the pruned model afresh, and `GroupMagnitudeImportance` divides
#   each group's scores by their mean (its default `normalizer="mean"`): a group's average channel
#   scores 1 at every step, however many channels the group has lost.
#
# The cell below writes global pruning out with `pruner.step(interactive=True)`, which yields each
# group with the channels the step chose, so that every step can be counted. Beside each step it
# prunes the unpruned model in one step to that step's ratio.

# %%
STEPS = 5


def prune_global(built, p, steps):
    """Global pruning of a copy in `steps` steps, one group at a time. Returns, per step, the
    scheduled ratio and the fractions of channels and parameters removed so far; and per group
    (named by its root layer) the channels it lost at each step and the parameters in all."""
    original, example_inputs, (head,) = built
    model, (head_copy,) = pruning.copy_with_layers(original, [head])
    names = {m: n for n, m in model.named_modules()}
    pruner = tp.pruner.BasePruner(
        model, example_inputs,
        importance=tp.importance.GroupMagnitudeImportance(p=2),
        pruning_ratio=p, global_pruning=True, iterative_steps=steps, ignored_layers=[head_copy],
    )
    before, removed, per_step, per_group = n_params(original), 0, [], {}
    for step in range(1, steps + 1):
        for group in pruner.step(interactive=True):  # the groups this step prunes, channels chosen
            params = n_params(model)
            group.prune()
            lost = per_group.setdefault(names[group[0].dep.target.module], {"channels": [0] * steps, "params": 0})
            lost["channels"][step - 1] += len(group[0].idxs)
            lost["params"] += params - n_params(model)
            removed += len(group[0].idxs)
        per_step.append({"step": step, "scheduled": pruner.per_step_pruning_ratio[step],
                         "channels": removed / pruner.initial_total_channels,
                         "params": 1 - n_params(model) / before})
    return per_step, per_group


p_global = global_search.channel_ratio
stepwise, groups_steps = prune_global(global_model, p_global, STEPS)
for row in stepwise:  # the unpruned model in one step to the same ratio (the last, p_global, is kept)
    (once,), groups_once = prune_global(global_model, row["scheduled"], 1)
    row.update(channels_once=once["channels"], params_once=once["params"])
print(f"{GLOBAL}, global pruning to p = {p_global:.4f} in {STEPS} steps; beside each step, one step to its ratio:")
Markdown(format_table(stepwise, [("step", "step", "d"), ("scheduled", "scheduled ratio", ".4f"),
                                 ("channels", "channels removed", ".2%"), ("channels_once", "in one step", ".2%"),
                                 ("params", "parameters removed", ".2%"), ("params_once", "in one step", ".2%")]))

# %%
local_steps = budget.pruned_reduction(global_model, local_p, iterative_steps=STEPS)
last = stepwise[-1]
print(f"local  p={local_p}: one step removes {local_pruned.reduction:.2%} of the parameters, "
      f"{STEPS} steps {local_steps:.2%}")
print(f"global p={p_global:.4f}: one step and {STEPS} steps both remove {last['channels']:.2%} of the channels; "
      f"parameters: {last['params_once']:.2%} in one step, {last['params']:.2%} in {STEPS}")
assert local_steps == local_pruned.reduction  # local: several steps end on the one-step widths
assert all(abs(r["scheduled"] - p_global * r["step"] / STEPS) < 1e-12 for r in stepwise)  # k·p/n
assert all(r["channels"] == r["channels_once"] for r in stepwise)  # the schedule fixes the channel count
assert stepwise[0]["params"] == stepwise[0]["params_once"]  # step 1 is a one-step prune at its ratio
assert all(r["params"] < r["params_once"] for r in stepwise[1:])  # then the same count costs fewer parameters
assert last["params_once"] == global_pruned.reduction

# %% [markdown]
# The same number of channels, but not the same channels. Which ones? Per group: how many
# parameters one of its channels costs (measured in the one-step prune), how widely its scores
# spread around their mean of 1 (the standard deviation, on the unpruned model), and what each run
# took from it. The four groups with the costliest channels, and all the others together:

# %%
model, (head_copy,) = pruning.copy_with_layers(original, [head])
names = {m: n for n, m in model.named_modules()}
pruner = tp.pruner.BasePruner(model, example_inputs, importance=tp.importance.GroupMagnitudeImportance(p=2),
                              pruning_ratio=p_global, global_pruning=True, ignored_layers=[head_copy])
scores = {names[g[0].dep.target.module]: pruner.estimate_importance(g)
          for g in pruner.DG.get_all_groups(ignored_layers=pruner.ignored_layers,
                                            root_module_types=pruner.root_module_types)}
assert all(abs(s.mean().item() - 1) < 1e-4 for s in scores.values())  # normalizer="mean"
widths, untouched = budget.out_widths(original), {"channels": [0] * STEPS}
groups = sorted(({"group": n, "channels": widths[n], "spread": scores[n].std().item(),
                  "cost": g["params"] / g["channels"][0], "once": g["channels"][0],
                  "first": groups_steps.get(n, untouched)["channels"][0],
                  "steps": sum(groups_steps.get(n, untouched)["channels"]),
                  "per_step": ", ".join(map(str, groups_steps.get(n, untouched)["channels"]))}
                 for n, g in groups_once.items() if g["channels"][0]), key=lambda r: -r["cost"])
costly, cheap = groups[:4], groups[4:]
others = {"group": f"the other {len(cheap)} groups", **{k: sum(r[k] for r in cheap)
                                                        for k in ("channels", "once", "first", "steps")}}
display(Markdown(format_table(costly + [others], [
    ("group", "group (root layer)", "", "left"), ("channels", "channels", "d"),
    ("cost", "parameters per channel", ".0f"), ("spread", "score spread", ".3f"),
    ("once", "removed in one step", "d"), ("steps", f"removed in {STEPS} steps", "d"),
    ("per_step", "per step", "")])))
median_spread = statistics.median(r["spread"] for r in groups)
print(f"median score spread over all {len(groups)} groups: {median_spread:.3f}")
print(f"step 1 of {STEPS} removes {sum(r['first'] for r in costly) / sum(r['channels'] for r in costly):.1%} of the "
      f"costly groups' channels and {others['first'] / others['channels']:.1%} of the others'")
assert all(r["spread"] < median_spread for r in costly)
assert sum(r["once"] for r in groups) == sum(r["steps"] for r in groups)
assert sum(r["steps"] for r in costly) < sum(r["once"] for r in costly)
assert sum(r["first"] for r in costly) / sum(r["channels"] for r in costly) < others["first"] / others["channels"]

# %% [markdown]
# The groups whose channels cost the most parameters have the narrowest spread of scores: their
# scores crowd around their mean. One step to the full ratio puts its threshold high enough to cut
# deep into them. A step to a fifth of the ratio puts it low, in the tails of the widely spread
# groups, and takes few of the costly channels (the step-1 shares above). The next step divides every
# group's scores by their new mean again, and the groups just pruned show a fresh low tail. Step after
# step the cheap channels go: the channel count follows the schedule, the parameter count lags
# behind it.
#
# A budget search must therefore use the schedule the real run will use: pass the same
# `iterative_steps` (and `global_pruning`) to `bisect_by_pruning`. And as in section 6, these weights
# are random: a trained model spreads its scores differently, and only pruning it tells its count.

# %% [markdown]
# ## Exercises
#
# Each exercise is checked by `helpers.checks.check`: replace the `...` (or the
# `raise NotImplementedError`) with your answer and run the cell.

# %% [markdown]
# ### Exercise `08-p-for-budget`: invert the smooth polynomial
#
# With `params(k) = A k² + B k + C` and `k = 1-p`, write `p_for_budget(A, B, C, target)`: the `p` at
# which the polynomial keeps `(1 - target)` of `A + B + C`. (The rule is the case `B = C = 0`.) Then
# compare it with the solver on ResNet-18: `predictor.coefficients()` gives `(A, B, C)`.

# %%
# NBVAL_CHECK_OUTPUT
def p_for_budget(a, b, c, target):
    raise NotImplementedError  # your code here


passed = helpers.checks.check("08-p-for-budget", p_for_budget)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("08-p-for-budget")

# %% [markdown]
# ### Exercise `08-resnet18-budget`: the channel ratio for a 60% budget
#
# Which channel ratio removes 60% of ResNet-18's parameters (classifier ignored, local pruning),
# within 0.3 percentage points? The rule's answer is not close enough.

# %%
# NBVAL_CHECK_OUTPUT
p_60 = ...  # your answer
passed = helpers.checks.check("08-resnet18-budget", p_60)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("08-resnet18-budget")

# %% [markdown]
# ## Summary
#
# - The rule's inverse `1-√(1-r)` over-promises on real CNNs, by several points on the small ones
#   whose 1000-class classifier holds a large share of the parameters. `ParameterModel.solve` lands
#   within a fraction of a point on every model where the count does not jump, as pruning confirms;
#   where it jumps, no uniform ratio does better.
# - A bisection that prunes at every step gets there too, many times slower; it is the tool for
#   settings the solver does not model.
# - `pruning_ratio_dict`, `max_pruning_ratio` and `global_pruning` are arguments of Torch-Pruning's
#   `BasePruner`. The first sets ratios per module. The second caps those ratios and, between
#   iterative steps, stops a layer after the step that crossed the cap; it leaves a one-step prune at
#   the default ratio alone. The third ranks all channels together and spreads the per-layer ratios.
# - Iterative global pruning follows a schedule of channels: every step ends on `k·p/n` of the initial
#   channels, as one step to that ratio would. But each step re-scores the channels, group by group,
#   and its low threshold takes the cheap channels of widely spread groups: the same channel count
#   removes fewer parameters than in one step. Local pruning ended on the same count either way.
# - Bisect with the exact settings of the real run: steps, global or local, and the trained weights.

# %% [markdown]
# ## Questions
#
# 1. The solver is exact and fast; why keep a bisection that prunes at every step?
#
# <details><summary>Answer</summary>
#
# The solver models uniform local pruning only. With `pruning_ratio_dict`, `max_pruning_ratio`,
# global pruning or a global schedule, the count depends on settings (and weights) it does not
# model; only pruning and counting tells it, and the bisection does exactly that, one prune per try.
#
# </details>
#
# 2. With `max_pruning_ratio=0.25` and five steps to `0.5`, why do the layers end past the cap, and
#    why all at about the same ratio?
#
# <details><summary>Answer</summary>
#
# The cap is checked before each step, against each layer's width at that moment. After the second
# step (ratio 0.2) every layer is within the cap, so the third step runs in full and takes every
# layer to 0.3; before the fourth step every group is past the cap and is left out. One step to 0.5
# passes the check, because before it every layer still has its full width.
#
# </details>
#
# 3. Five global steps and one global step to the same ratio remove the same number of channels.
#    Why does the five-step run remove fewer parameters?
#
# <details><summary>Answer</summary>
#
# Channels are not equally costly. The schedule fixes how many channels go at each step, and each
# small step sets a low threshold over scores that every group re-normalises to a mean of 1. A low
# threshold falls in the tails of the groups whose scores spread widely, whose channels are cheap;
# the costly groups, whose scores crowd around 1, are reached only by a high threshold, such as one
# step to the full ratio sets.
#
# </details>

# %% [markdown]
# ## Further reading
#
# - [Torch-Pruning's `BasePruner`](https://github.com/VainF/Torch-Pruning/blob/master/torch_pruning/pruner/algorithms/base_pruner.py):
#   the schedule, the global threshold and the `max_pruning_ratio` checks read in sections 5 and 7.
# - [Torch-Pruning](https://github.com/VainF/Torch-Pruning): the README's examples of
#   `pruning_ratio_dict`, global and iterative pruning.
# - Fang et al., "DepGraph: Towards Any Structural Pruning", CVPR 2023
#   ([arXiv:2301.12900](https://arxiv.org/abs/2301.12900)): the dependency groups that global pruning
#   ranks, and group-level importance.
# - Liu et al., "Rethinking the Value of Network Pruning", ICLR 2019
#   ([arXiv:1810.05270](https://arxiv.org/abs/1810.05270)): uniform ratios versus per-layer ratios
#   found by global ranking, compared after training.
#
# Next: **09 · MACs and latency**.
