# %% [markdown]
# # 08 · Hitting a parameter budget
#
# **Learning goals**
# - turn a target parameter reduction into a channel ratio three ways: the rule's inverse, the exact
#   solver `ParameterModel.solve`, and a bisection that prunes at every try;
# - tell the closest count from a budget met (`solve(target, at_least=True)`);
# - measure how far the rule's answer misses on real CNNs, and what each method costs in time;
# - give part of a model its own ratio with `pruning_ratio_dict`, and still meet a budget;
# - pick the ratio for a MAC budget, which is not the ratio for the same parameter budget.
#
# **Prerequisites**: 05 · The exact count, 06 · Pruning real CNNs.
#
# **Track**: core
# **Study time**: about 35 min (reading, running the cells and the exercises).
#
# **Run time** (from `figures/notebook_times.csv`): about 14 s in quick mode (2-core CPU); full mode (GPU) not measured yet.

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
import time

import matplotlib.pyplot as plt
import numpy as np
import torch_pruning as tp
from IPython.display import Markdown, display

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
# that the `p` printed is a `p` to pass. A budget ("at most 45% of the parameters left") is another
# question: the closest count may fall a hair short of it. `solve(target, at_least=True)` returns
# the `p` of the least reduction that reaches the target. On ResNet-18, for 50% and for at least 55%:

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
p_close, p_least = predictor.solve(0.55), predictor.solve(0.55, at_least=True)
print(f"a budget of at least 55%: the closest count, p = {p_close}, removes {predictor.reduction(p_close):.2%}; "
      f"at_least=True gives p = {p_least}, which removes {predictor.reduction(p_least):.2%}")
assert result.params_after == predictor.params(p_solve)
assert predictor.reduction(p_rule) < 0.5
assert abs(predictor.reduction(p_solve) - 0.5) < abs(predictor.reduction(p_rule) - 0.5)
assert predictor.reduction(p_close) < 0.55 <= predictor.reduction(p_least)

# %% [markdown]
# The rule over-promises: at its `p`, ResNet-18 loses less than half its parameters, because some
# tensors shrink like `(1-p)` only. The smooth polynomial `A k² + B k + C` (`k = 1-p`, notebook 05)
# accounts for those tensors; exercise `08-p-for-budget` inverts it, and comparing its `p` with the
# solver's shows how much of the gap it closes. The solver works on the
# exact integer counts, so it also knows the rounding; exercise `08-meet-budget` asks for a budget
# met on a model the check builds.
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
# The rule's `p` misses most on the models with many `(1-p)` tensors (notebook 03); the solver's
# miss is the rounding left by integer channel counts, a small fraction of a point. Where many groups
# lose a channel at the same ratio, the count jumps and no uniform ratio gets closer (every miss of
# half a point or more in the table is on a RegNet, asserted above); such a budget needs non-uniform ratios
# (`pruning_ratio_dict`, section 5).
#
# ## 4. Solver vs. a bisection that prunes
#
# Without a predictor, the honest way to find `p` is to prune and count: bisect on `p`, prune a
# copy of the model at each step, stop when the count is within a tolerance (0.2 points here).
# `budget.bisect_by_pruning` does that and returns the closest count it tried, which can fall short
# of the target; to meet a budget, keep the smallest tried `p` whose reduction reaches it. The solver pays once for building its dependency graph, then
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
# solver does not model, such as the next section's.
#
# ## 5. `pruning_ratio_dict`: part of the model at its own ratio
#
# `pruning_ratio_dict={module: ratio}` gives the groups rooted inside `module` their own ratio; every
# other group takes `pruning_ratio`. Protecting ResNet-18's last stage, which holds most of its
# parameters, with a ratio of 0.2 while the rest gets 0.5 is one more argument to Torch-Pruning's
# pruner:

# %%
# NBVAL_CHECK_OUTPUT
fresh = zoo.build("resnet18", device=device)
layer4_share = n_params(fresh[0].layer4) / predictor.params_before
print(f"layer4 holds {layer4_share:.0%} of ResNet-18's parameters")
assert layer4_share > 0.5

model, example_inputs = copy.deepcopy(fresh[0]), fresh[1]
pruner = tp.pruner.BasePruner(
    model, example_inputs,
    importance=tp.importance.GroupMagnitudeImportance(p=2),
    pruning_ratio=0.5,  # every group not named below
    pruning_ratio_dict={model.layer4: 0.2},  # the groups rooted inside layer4
    ignored_layers=[model.fc],
)
pruner.step()
spared = 1 - n_params(model) / predictor.params_before
print(f"layer4.1.conv1 keeps {model.layer4[1].conv1.out_channels} of {fresh[0].layer4[1].conv1.out_channels} "
      f"channels, layer1.1.conv1 {model.layer1[1].conv1.out_channels} of {fresh[0].layer1[1].conv1.out_channels}; "
      f"parameters removed: {spared:.1%}")
assert spared < 0.5
assert spared == budget.pruned_reduction(fresh, 0.5, pruning_ratio_dict={fresh[0].layer4: 0.2})  # the helper's call

# %% [markdown]
# Sparing the stage that holds most of the parameters costs the budget: the model now loses less
# than half of them. `solve` answers for one uniform ratio, so to remove 50% in total while layer4
# keeps its 0.2, bisect on the ratio of the rest; `bisect_by_pruning` passes `pruning_ratio_dict` to
# the pruner at every try:

# %%
# NBVAL_CHECK_OUTPUT
spare_layer4 = {fresh[0].layer4: 0.2}  # each try prunes a copy; the copy's layer4 gets this ratio
spared_search = budget.bisect_by_pruning(fresh, 0.5, tol=0.005, pruning_ratio_dict=spare_layer4)
print(f"p = {spared_search.channel_ratio:.4f} elsewhere (layer4 at 0.2) removes {spared_search.reduction:.2%}, "
      f"found with {spared_search.evaluations} prunes")
assert abs(spared_search.reduction - 0.5) <= 0.005 and spared_search.channel_ratio > predictor.solve(0.5)

# %% [markdown]
# The rest of the model pays for the spared stage with a ratio well above the uniform one. The same
# bisection takes any other pruner argument the solver does not model (`global_pruning=True`,
# `iterative_steps` with global pruning, `max_pruning_ratio`): pass the settings of the real run. Two
# of them count differently from what their names suggest: see 14 · Torch-Pruning pitfalls, sections
# "max_pruning_ratio is checked before a step" and "Iterative global pruning removes fewer
# parameters".
#
# ## 6. A budget in MACs
#
# MACs (notebook 01) are what many budgets are written in ("half the compute").
# `ParameterModel.solve(r, by="macs")` reads the exact MAC count of every reachable width from the
# same dependency graph, with `at_least=True` for a budget. For at least half the MACs, on two
# models: the rule's inverse, the solver's ratio for half the *parameters*, and the MAC solver. Each
# ratio is then pruned for real and counted with `tp.utils.count_ops_and_params`
# (`pruning.prune_copy` counts with it):

# %%
# NBVAL_CHECK_OUTPUT
MAC_TARGET = 0.5
ways, shares = [], {}
for name in ("resnet18", "mobilenet_v3_small"):
    built = zoo.build(name, device=device)
    mac_predictor = ParameterModel(*built)
    shares[name] = {by: {r["role"]: r["share"] for r in mac_predictor.breakdown(by=by)} for by in ("params", "macs")}
    for way, p in (("rule's inverse", theory.channel_ratio_for(MAC_TARGET)),
                   ("solve(0.5): half the parameters", mac_predictor.solve(MAC_TARGET)),
                   ("solve(0.5, by='macs', at_least=True)", mac_predictor.solve(MAC_TARGET, by="macs", at_least=True))):
        pruned = pruning.prune_copy(*built[:2], p, built[2])
        ways.append({"model": name, "way": way, "p": p, "params": pruned.param_reduction, "macs": pruned.mac_reduction})
by_way = {(w["model"], w["way"].split(":")[0]): w for w in ways}
assert all(w["macs"] >= MAC_TARGET for w in ways if "macs" in w["way"])  # the budget is met
assert all(w["macs"] < MAC_TARGET for w in ways if w["way"] == "rule's inverse")  # the rule misses it
mobile_params = by_way[("mobilenet_v3_small", "solve(0.5)")]
mobile_macs = by_way[("mobilenet_v3_small", "solve(0.5, by='macs', at_least=True)")]
assert mobile_macs["p"] < mobile_params["p"] and mobile_params["macs"] > MAC_TARGET + 0.02
Markdown(format_table(ways, [("model", "model", ""), ("way", "ratio from", ""), ("p", "p", "g"),
                             ("params", "parameters removed", ".2%"), ("macs", "MACs removed", ".2%")]))

# %%
# NBVAL_CHECK_OUTPUT
mob, res = shares["mobilenet_v3_small"], shares["resnet18"]
KEEP_K = ("stem (input channels fixed)", "depthwise")  # tensors that keep 1-p, working on large images
assert mob["macs"]["classifier (outputs fixed)"] < mob["params"]["classifier (outputs fixed)"] / 10
assert all(s["macs"]["stem (input channels fixed)"] > 10 * s["params"]["stem (input channels fixed)"] for s in (mob, res))
assert by_way[("resnet18", "solve(0.5)")]["p"] == by_way[("resnet18", "solve(0.5, by='macs', at_least=True)")]["p"]
Markdown(f"On MobileNetV3-Small the ratio for half the parameters removes {mobile_params['macs']:.1%} of the "
         f"MACs: more pruning than a MAC budget needs. The tensors that keep `1-p` weigh differently in MACs: "
         f"its fixed 1000-class classifier holds {mob['params']['classifier (outputs fixed)']:.1%} of its "
         f"parameters but {mob['macs']['classifier (outputs fixed)']:.1%} of its MACs (it computes one output "
         f"per image, not one per position of a feature map), while its stem and depthwise convolutions, which "
         f"slide over large feature maps, hold {sum(mob['params'].get(k, 0) for k in KEEP_K):.1%} of the "
         f"parameters and {sum(mob['macs'].get(k, 0) for k in KEEP_K):.1%} of the MACs. On ResNet-18 the two "
         f"are both small: its classifier holds {res['params']['classifier (outputs fixed)']:.1%} of the "
         f"parameters, its stem {res['macs']['stem (input channels fixed)']:.1%} of the MACs, and here the two "
         f"budgets get one ratio. A MAC budget needs its own: `solve(r, by=\"macs\")`.")

# %% [markdown]
# ## Exercises
#
# Each exercise is checked by `helpers.checks.check`: replace the `raise NotImplementedError` with
# your code and run the cell.

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
# ### Exercise `08-meet-budget`: a channel ratio that meets a budget
#
# Write `meet_budget(model, example_inputs, ignored_layers, target)`: a channel ratio `p` whose local
# pruning (the `ignored_layers` kept) removes **at least** the fraction `target` of the model's
# parameters, with no more pruning than that needs (within half a percentage point). Section 2 shows
# the direct way; a bisection as in section 4 works only if it keeps the smallest `p` that reaches
# the target, not the closest. Leave the model as it was. The check builds fresh models of its own (a ResNet-18
# and a MobileNetV3-Small), prunes a copy at your `p` with Torch-Pruning and counts: the rule's
# inverse, or the closest count, will not do.

# %%
# NBVAL_CHECK_OUTPUT
def meet_budget(model, example_inputs, ignored_layers, target):
    raise NotImplementedError  # your code here


passed = helpers.checks.check("08-meet-budget", meet_budget)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("08-meet-budget")

# %% [markdown]
# ## Summary
#
# - The rule's inverse `1-√(1-r)` misses on real CNNs: short by several points on the small ones
#   (notebook 03 says why), and past the target on some models with grouped convolutions, which round
#   inside small groups (notebook 04). `ParameterModel.solve` lands within a fraction of a point on every model
#   where the count does not jump, as pruning confirms; where it jumps, no uniform ratio does better.
# - The closest count is not a budget met: `solve(target, at_least=True)` gives the least reduction
#   that reaches the target.
# - A bisection that prunes at every try gets within its tolerance too (the closest count, not a
#   budget met unless it keeps the smallest `p` that reaches it), many times slower; it is the tool for
#   settings the solver does not model, such as `pruning_ratio_dict`, which gives the groups of a
#   module their own ratio (sparing a stage makes the rest pay with a higher ratio), or global
#   pruning. Bisect with the settings of the real run.
# - A MAC budget needs its own ratio (`solve(r, by="macs")`): the tensors that keep `1-p` weigh
#   differently in MACs than in parameters (the stem and depthwise layers more, the classifier less).

# %% [markdown]
# ## Questions
#
# 1. The solver is exact and fast; why keep a bisection that prunes at every try?
#
# <details><summary>Answer</summary>
#
# The solver answers for one uniform ratio of local pruning. With `pruning_ratio_dict`,
# `max_pruning_ratio`, global pruning or a global schedule, the count depends on settings (and
# weights) it does not model; only pruning and counting tells it, and the bisection does exactly
# that, one prune per try.
#
# </details>
#
# 2. Why can the closest count miss a budget, and what does `at_least=True` change?
#
# <details><summary>Answer</summary>
#
# Whole channels make the count move in steps: the closest reachable count may lie just above the
# number of parameters allowed (a reduction a hair under the target). `at_least=True` picks, among the
# counts that meet the budget, the one with the least pruning, so the budget holds and no more is
# removed than it needs.
#
# </details>
#
# 3. Why does the same ratio remove more of MobileNetV3-Small's MACs than of its parameters?
#
# <details><summary>Answer</summary>
#
# Its large 1000-class classifier keeps `1-p` of its weights and is a big share of the parameters,
# but it computes one output per image, so it is almost nothing in MACs. In MACs the model is mostly
# weights between pruned layers, which lose `(1-p)²`; the stem and depthwise convolutions, which keep
# `1-p`, weigh more in MACs than in parameters, but less than the classifier weighed in parameters.
#
# </details>

# %% [markdown]
# ## Further reading
#
# - [Torch-Pruning's `BasePruner`](https://github.com/VainF/Torch-Pruning/blob/master/torch_pruning/pruner/algorithms/base_pruner.py):
#   how `pruning_ratio_dict` gives the groups of a module their own ratio.
# - [Torch-Pruning](https://github.com/VainF/Torch-Pruning): the README's examples of
#   `pruning_ratio_dict`, global and iterative pruning, and of counting MACs with
#   `tp.utils.count_ops_and_params`.
# - Fang et al., "DepGraph: Towards Any Structural Pruning", CVPR 2023
#   ([arXiv:2301.12900](https://arxiv.org/abs/2301.12900)): the dependency groups that global pruning
#   ranks, and group-level importance.
# - Liu et al., "Rethinking the Value of Network Pruning", ICLR 2019
#   ([arXiv:1810.05270](https://arxiv.org/abs/1810.05270)): uniform ratios versus per-layer ratios
#   found by global ranking, compared after training.
#
# Next: **09 · MACs and latency** (elective), or on the core track **10 · The cost of over-pruning**.
