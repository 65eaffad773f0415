# %% [markdown]
# # 12 · Criteria and sensitivity
#
# **Learning goals**
# - prune with Torch-Pruning's own importance criteria (L1 and L2 magnitude, batch-norm scale,
#   Taylor, random), know what each computes, and compare them with the random control at one
#   parameter budget, right after pruning and after a fine-tune, under notebook 11's protocol;
# - give Taylor importance what it needs: the gradients of a backward pass on training images;
# - scan each layer's sensitivity (validation accuracy against its channel ratio) with
#   `pruning_ratio_dict`;
# - build non-uniform ratios from the scan that meet the same parameter budget, or the same MAC
#   budget, as a uniform `p`, checked with the exact predictor, and measure what they buy.
#
# **Prerequisites**: 05 · The exact count, 11 · What pruning buys.
#
# **Track**: elective
# **Study time**: about 50 min (reading, running the cells and the exercises).
#
# **Run time** (from `figures/notebook_times.csv`): about 1.5 min in quick mode (2-core CPU); full mode (GPU) not measured yet.

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
# NBVAL_CHECK_OUTPUT
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
import torch_pruning as tp
from IPython.display import Markdown, display

from helpers import report, results, study, training
from helpers.counting import n_params
from helpers.predict import ParameterModel
from helpers.report import format_table

MODE = helpers.env.mode()
S = study.study(MODE)
BUDGET = 0.5
print(f"{MODE} mode: DigitsCNN of width {S.width} on {S.train_size} training images, {len(S.seeds)} seeds; "
      f"every comparison at a {BUDGET:.0%} parameter budget, fine-tuned for {S.long_finetune_steps} steps")

# %% [markdown]
# ## 1. The protocol of notebook 11, again
#
# The same task (a narrow DigitsCNN on 200 training images, one split per seed), the same trained
# models (the step count and learning rate notebook 11 chose on validation, read from its record),
# every arm's fine-tuning learning rate chosen on validation (`study.tune`), and the solver's `p` for
# a 50% parameter budget. Every pruned model gets its batch-norm statistics refreshed over the
# training images before it is measured; every fine-tune here is notebook 11's longer one. Every
# family of comparisons is tested with Holm's correction (`study.compare`).

# %%
datas = study.load_splits(S, device)
chosen, _ = results.read(f"11_baseline_{MODE}")  # notebook 11's choice: this run's folder, else the committed record
T, train_lr = int(chosen["steps"]), float(chosen["lr"])
baselines = study.train_baselines(datas, S, T, train_lr)
print(f"baselines: {T} training steps at peak learning rate {train_lr:g}, as chosen in notebook 11 ({chosen['date']})")
model0 = baselines[S.seeds[0]]
predictor = ParameterModel(model0, datas[S.seeds[0]].example_inputs(), ignored_layers=[model0.classifier])
P = predictor.solve(BUDGET)


def pruner_for(importance, p=P, ratios=None):
    """A prune(model, data) function: BasePruner with `importance`, channel ratio p, and optionally
    per-layer ratios {layer name: ratio} passed as pruning_ratio_dict."""
    def prune(model, data):
        ratio_dict = {model.get_submodule(name): r for name, r in ratios.items()} if ratios else None
        pruner = tp.pruner.BasePruner(model, data.example_inputs(), importance=importance(), pruning_ratio=p,
                                      pruning_ratio_dict=ratio_dict, ignored_layers=[model.classifier])
        pruner.step()
        return model
    return prune


print(f"p = {P} removes {predictor.reduction(P):.1%} of the parameters and {predictor.reduction(P, by='macs'):.1%} "
      f"of the MACs")


def tuned(arm, prune):
    """One arm on every seed: pruned with `prune`, fine-tuned at the rate of S.lr_grid best on validation."""
    return study.tune(S.lr_grid, lambda lr: [
        training.prune_and_fine_tune(baselines[seed], datas[seed], prune, S.long_finetune_steps, lr=lr, seed=seed,
                                     arm=arm, budget=BUDGET, pretrain_steps=T) for seed in S.seeds])

# %% [markdown]
# ## 2. Five importance criteria
#
# `BasePruner` removes, in each group, the channels its `importance` scores lowest. Torch-Pruning
# ships the criteria below as classes; each scores a whole group (a convolution's output channels,
# its batch norm and the next convolution's input channels) and they differ in what they read:
#
# | criterion | class | scores a channel by |
# |---|---|---|
# | L1 magnitude | `tp.importance.GroupMagnitudeImportance(p=1)` | Σ\|w\| over the channel's weights in each layer |
# | L2 magnitude | `tp.importance.GroupMagnitudeImportance(p=2)` | Σw² over the same weights (the course's default) |
# | BN scale | `tp.importance.BNScaleImportance()` | \|γ\|, the batch-norm scale of the channel |
# | Taylor | `tp.importance.TaylorImportance()` | Σ\|w·g\|, weight times its gradient, each term's size summed |
# | random | `tp.importance.RandomImportance()` | nothing: the control |
#
# Each score is computed per layer of the group, then averaged over the group's layers
# (`group_reduction="mean"`) and divided by its mean over the group's channels (`normalizer="mean"`),
# Torch-Pruning's defaults. Two readings of the table are common and wrong. Taylor's default is not
# the loss's first-order change if the channel went, which is \|Σ w·g\| (the terms may cancel):
# `TaylorImportance(multivariable=True)` computes that one. And BN scale here reads γ of a model
# trained without any penalty on it; the method that made γ a criterion first trains with an L1
# penalty that drives unneeded γ towards zero (Torch-Pruning's `BNScalePruner` adds it through its
# `regularize` step), which this notebook does not run.
#
# Taylor importance reads the weights' gradients, so a backward pass on training images must run
# before `step()` (what happens without one: 14 · Torch-Pruning pitfalls, section "Taylor importance
# without gradients"):

# %%
# NBVAL_CHECK_OUTPUT
import copy

d0 = datas[S.seeds[0]]
model = copy.deepcopy(model0)
model.zero_grad()
F.cross_entropy(model(d0.x_train), d0.y_train).backward()  # gradients of the loss over the training images
tp.pruner.BasePruner(model, d0.example_inputs(), importance=tp.importance.TaylorImportance(),
                     pruning_ratio=P, ignored_layers=[model.classifier]).step()
print(f"after a backward pass on the {len(d0.y_train)} training images: {n_params(model):,} parameters left, "
      f"as predicted: {n_params(model) == predictor.params(P)}")
assert n_params(model) == predictor.params(P)


# %%
def taylor_pruner(p=P):
    """Taylor importance: the backward pass first, then BasePruner."""
    plain = pruner_for(tp.importance.TaylorImportance, p)

    def prune(model, data):
        model.zero_grad()
        F.cross_entropy(model(data.x_train), data.y_train).backward()
        return plain(model, data)
    return prune


CRITERIA = {"L1": pruner_for(lambda: tp.importance.GroupMagnitudeImportance(p=1)),
            "L2": pruner_for(lambda: tp.importance.GroupMagnitudeImportance(p=2)),
            "BN scale": pruner_for(tp.importance.BNScaleImportance),
            "Taylor": taylor_pruner(),
            "random": pruner_for(tp.importance.RandomImportance)}
tuned_criteria = {name: tuned(name, prune) for name, prune in CRITERIA.items()}
runs = [r for _, rs, _ in tuned_criteria.values() for r in rs]
rows = [r.row() for r in runs]
print("fine-tuning learning rates chosen on validation:",
      ", ".join(f"{name} {lr_:g}" for name, (lr_, _, _) in tuned_criteria.items()))
criteria = training.summarise(rows, ("acc_test_pruned", "acc_test"))
assert {r.params for r in runs} == {predictor.params(P)}  # every criterion removes the same count
Markdown(format_table(criteria, [("arm", "criterion", "", "left"), ("params", "parameters", ",d"),
                                 ("acc_test_pruned_text", "test acc., pruned + BN refresh", ""),
                                 ("acc_test_text", f"test acc., fine-tuned {S.long_finetune_steps} steps", "")])
         + f"\n\nMean and 95% interval over {len(S.seeds)} seeds.")

# %%
fig, ax = plt.subplots(figsize=(7, 4))
names = list(CRITERIA)
report.errorbars(ax, criteria, "acc_test_pruned", names, offset=-0.1, label="pruned, batch norm refreshed")
report.errorbars(ax, criteria, "acc_test", names, offset=0.1, fmt="s",
                   label=f"then fine-tuned ({S.long_finetune_steps} steps)")
ax.set_ylabel("test accuracy (%)")
ax.set_title(f"Importance criteria at {BUDGET:.0%} of the parameters removed ({len(S.seeds)} seeds, {MODE} mode)")
ax.legend(loc="center right")
report.save(fig, f"12_criteria_{MODE}")
results.write(f"12_criteria_{MODE}", rows, results.stamp(device))
plt.show()

# %%
STAGES = {"acc_test_pruned": "pruned + BN refresh", "acc_test": "fine-tuned"}
family = study.compare(rows, "acc_test", [({"arm": n}, {"arm": "random"}, key) for key in STAGES
                                          for n in CRITERIA if n != "random"])
for d in family:
    d.update(criterion=d["a"]["arm"], stage=d["key"], stage_text=STAGES[d["key"]],
             text=study.points(d["mean"], d["low"], d["high"]))
Markdown(format_table(family, [("criterion", "criterion minus random, same seed", "", "left"), ("stage_text", "when", ""),
                               ("text", "difference in test accuracy", ""), ("p", "p", ".3f"),
                               ("p_holm", "p, Holm", ".3f"), ("verdict", "", "", "left")]))

# %%
beats = {key: [d["criterion"] for d in family if d["stage"] == key and d["verdict"] == "higher"] for key in STAGES}
assert all(d["low"] > 0 for d in family if d["verdict"] == "higher")  # a Holm verdict implies its interval
print(f"{len(family)} comparisons: tested alone at the 5% level, at least one false difference would turn up with "
      f"probability 1 - 0.95^{len(family)} = {1 - 0.95 ** len(family):.0%} where the criteria do not differ at all")
Markdown(" ".join(
    f"**{STAGES[key][0].upper() + STAGES[key][1:]}**: "
    + (f"{', '.join(beats[key])} beat{'s' if len(beats[key]) == 1 else ''} random after Holm's correction; "
       if beats[key] else "no criterion beats random after Holm's correction; ")
    + (f"{', '.join(n for n in CRITERIA if n not in beats[key] and n != 'random')} within noise of it."
       if len(beats[key]) < len(CRITERIA) - 1 else "every criterion does.")
    for key in STAGES))

# %% [markdown]
# Read the differences, not the columns, and read them as a family: tested alone, the comparisons
# of the table would produce a false "difference" with the probability printed above; Holm's
# correction keeps that chance for the whole table at 5%. The spread between
# the best and the worst mean is not a test: it grows with the noise and with the number of
# criteria, whether or not they differ. What the family supports is in the line above, and only
# that; with more seeds (full mode) a smaller difference can become visible. Random importance is
# the control that matters: a criterion is worth its computation only where it beats choosing
# channels at random, at the same budget and with the same fine-tune.
#
# ## 3. Each layer's sensitivity
#
# Which layers can lose channels cheaply? Prune one layer at a time, at several ratios, refresh
# batch norm and read the **validation** accuracy (no fine-tune: the scan ranks layers, and it reads
# no test image). `pruning_ratio_dict` gives one layer its own ratio; `pruning_ratio=0.0` leaves
# every other layer whole:

# %%
def prune_one(model, data, name, ratio):
    pruner = tp.pruner.BasePruner(model, data.example_inputs(), importance=tp.importance.GroupMagnitudeImportance(p=2),
                                  pruning_ratio=0.0, pruning_ratio_dict={model.get_submodule(name): ratio},
                                  ignored_layers=[model.classifier])
    pruner.step()
    return model


LAYERS = [name for name, m in model0.named_modules() if isinstance(m, torch.nn.Conv2d)]
scan = study.sensitivity(baselines, datas, LAYERS, S.scan_ratios, prune_one)
scan_summary = training.summarise(scan, ("drop",), by=("layer", "ratio"))
results.write(f"12_sensitivity_{MODE}", scan, results.stamp(device))
Markdown(format_table([{"layer": n, **{f"r{r}": next(s["drop_text"] for s in scan_summary if (s["layer"], s["ratio"]) == (n, r))
                                       for r in S.scan_ratios}} for n in LAYERS],
                      [("layer", "layer pruned alone", "", "left")]
                      + [(f"r{r}", f"validation drop at ratio {r:g}", "") for r in S.scan_ratios]))

# %% [markdown]
# What a channel is worth in parameters depends on the layer: removing one output channel of a 3x3
# convolution removes a row of its weight (`9 × in` values), a column of the next layer's weight
# (`9 ×` that layer's outputs for a convolution, 10 for the classifier) and two batch-norm values;
# in MACs, each of those weights counts once per pixel of its layer's output, so a channel of an
# early layer, on a larger feature map, weighs more in MACs than in parameters. The exact predictor
# counts both, with the same `pruning_ratio_dict`:

# %%
# NBVAL_CHECK_OUTPUT
per_channel = []
for name in LAYERS:
    layer = model0.get_submodule(name)
    gone = layer.out_channels - int(layer.out_channels * 0.5)
    per_channel.append({"layer": name, "shape": f"{layer.in_channels} → {layer.out_channels}",
                        "per_channel": (predictor.params_before - predictor.params(0.0, {layer: 0.5})) / gone,
                        "macs_per_channel": (predictor.macs_before - predictor.macs(0.0, {layer: 0.5})) / gone})
Markdown(format_table(per_channel, [("layer", "layer", "", "left"), ("shape", "channels in → out", ""),
                                    ("per_channel", "parameters removed per output channel", ",.0f"),
                                    ("macs_per_channel", "MACs removed per output channel", ",.0f")]))

# %%
fig, ax = plt.subplots(figsize=(6.4, 4))
for name in LAYERS:
    pts = [s for s in scan_summary if s["layer"] == name]
    x = [0] + [s["ratio"] for s in pts]
    line, = ax.plot(x, [0] + [100 * s["drop_mean"] for s in pts], "-o", markersize=4, label=name)
    ax.fill_between(x, [0] + [100 * s["drop_low"] for s in pts], [0] + [100 * s["drop_high"] for s in pts],
                    color=line.get_color(), alpha=0.15, linewidth=0)
ax.set_xlabel("channel ratio of the one layer pruned")
ax.set_ylabel("validation accuracy lost (points)")
ax.set_title(f"Sensitivity scan, no fine-tune ({len(S.seeds)} seeds, {MODE} mode)")
ax.legend(title="layer pruned alone")
report.save(fig, f"12_sensitivity_{MODE}")
plt.show()

# %%
drops = study.mean_drops(scan)
at_half = {name: float(np.interp(0.5, *drops[name])) for name in LAYERS}
for name in LAYERS:
    assert drops[name][1][-1] > drops[name][1][1]  # each layer loses more the more it is pruned
assert max(at_half.values()) - min(at_half.values()) > 0.05  # and the layers differ
print("validation points lost at ratio 0.5, layer alone: "
      + ", ".join(f"{n} {100 * v:.1f}" for n, v in at_half.items()))

# %% [markdown]
# ## 4. Non-uniform ratios for the same budget, in parameters or in MACs
#
# The scan ranks what each step of ratio costs in accuracy; the predictor says what it saves.
# `study.greedy_ratios` starts with nothing pruned and, step by step (0.05 of ratio), raises the
# layer whose next step costs the least scanned accuracy per unit removed, until the exact count is
# no more than the uniform arm's. Every count is asked of the predictor with the dict `BasePruner`
# will get, before anything is pruned. The last step may overshoot the budget; steps that can be
# given back without exceeding it are given back.
#
# A budget is in one unit. Parameters and MACs weigh layers differently: a channel of an early
# layer, on a large feature map, costs few parameters and many MACs. So the ratios are built twice,
# once to keep no more parameters than the uniform `p`, once to keep no more MACs, and each is
# compared with the uniform arm in both units:

# %%
def ratio_dict(ratios):
    return {model0.get_submodule(n): r for n, r in ratios.items() if r > 0}


def params_with(ratios):
    return predictor.params(0.0, pruning_ratio_dict=ratio_dict(ratios))


def macs_with(ratios):
    return predictor.macs(0.0, pruning_ratio_dict=ratio_dict(ratios))


budget_params, budget_macs = predictor.params(P), predictor.macs(P)  # the uniform arm's exact counts
LAYOUTS = {"same parameters": study.greedy_ratios(drops, params_with, budget_params),
           "same MACs": study.greedy_ratios(drops, macs_with, budget_macs)}
layout_rows = [{"arm": "uniform", **{n: P for n in LAYERS}, "params": budget_params, "macs": budget_macs}]
layout_rows += [{"arm": f"non-uniform, {name}", **r, "params": params_with(r), "macs": macs_with(r)}
                for name, r in LAYOUTS.items()]
for r in layout_rows:
    r["params_ratio"], r["macs_ratio"] = r["params"] / budget_params, r["macs"] / budget_macs
assert params_with(LAYOUTS["same parameters"]) <= budget_params and macs_with(LAYOUTS["same MACs"]) <= budget_macs
for name, r in LAYOUTS.items():
    assert max(r.values()) - min(r.values()) >= 0.2  # far from uniform
Markdown(format_table(layout_rows, [("arm", "ratios", "", "left")] + [(n, n, "g") for n in LAYERS]
                      + [("params", "parameters left", ",d"), ("params_ratio", "vs uniform", ".2f"),
                         ("macs", "MACs left", ",d"), ("macs_ratio", "vs uniform", ".2f")]))

# %%
other = {"same parameters": ("macs_ratio", "MACs"), "same MACs": ("params_ratio", "parameters")}
print("\n".join(f"non-uniform, {name}: {next(r[other[name][0]] for r in layout_rows if r['arm'] == f'non-uniform, {name}'):.2f}"
                f" times the uniform arm's {other[name][1]}" for name in LAYOUTS))

# %%
nonuniform = {name: tuned(f"non-uniform, {name}", pruner_for(lambda: tp.importance.GroupMagnitudeImportance(p=2), 0.0, r))
              for name, r in LAYOUTS.items()}
for name, r in LAYOUTS.items():
    assert {x.params for x in nonuniform[name][1]} == {params_with(r)}  # the predictor's count, to the parameter
rows2 = [x.row() for _, xs, _ in nonuniform.values() for x in xs] + [{**r, "arm": "uniform"} for r in rows if r["arm"] == "L2"]
compared = training.summarise(rows2, ("acc_test_pruned", "acc_test"))
results.write(f"12_nonuniform_{MODE}", rows2, results.stamp(device))
print("fine-tuning learning rates chosen on validation:",
      ", ".join(f"{name} {lr_:g}" for name, (lr_, _, _) in nonuniform.items()), f"(uniform: {tuned_criteria['L2'][0]:g})")
Markdown(format_table(compared, [("arm", "ratios", "", "left"), ("params", "parameters", ",d"),
                                 ("acc_test_pruned_text", "test acc., pruned + BN refresh", ""),
                                 ("acc_test_text", f"test acc., fine-tuned {S.long_finetune_steps} steps", "")]))

# %%
fig, ax = plt.subplots(figsize=(6.5, 4))
report.errorbars(ax, compared, "acc_test_pruned", [c["arm"] for c in compared], offset=-0.08,
                   label="pruned, batch norm refreshed")
report.errorbars(ax, compared, "acc_test", [c["arm"] for c in compared], offset=0.08, fmt="s",
                   label=f"then fine-tuned ({S.long_finetune_steps} steps)")
ax.set_ylabel("test accuracy (%)")
ax.set_title(f"Uniform vs non-uniform ratios, {BUDGET:.0%} parameter budget ({len(S.seeds)} seeds)")
ax.legend(loc="center right")
report.save(fig, f"12_nonuniform_{MODE}")
plt.show()

# %%
gains = study.compare(rows2, "acc_test", [({"arm": f"non-uniform, {name}"}, {"arm": "uniform"}, key)
                                           for name in LAYOUTS for key in STAGES])
for d in gains:
    d.update(arm=d["a"]["arm"], stage_text=STAGES[d["key"]], text=study.points(d["mean"], d["low"], d["high"]))
verdict_of = {(d["arm"], d["key"]): d["verdict"] for d in gains}
# the scan's ratios at the same parameter count keep more right after pruning, where the kept channels are all there is
assert verdict_of["non-uniform, same parameters", "acc_test_pruned"] == "higher"
Markdown(format_table(gains, [("arm", "minus uniform, same seed", "", "left"), ("stage_text", "when", ""),
                              ("text", "difference in test accuracy", ""), ("p_holm", "p, Holm", ".3f"),
                              ("verdict", "", "", "left")]))

# %% [markdown]
# The ratios the scan picked are far from uniform: they prune hardest where a channel is cheap in
# accuracy and dear in the budget's unit, and spare the layers that the scan found sensitive. This
# joins the course's law to the budget: a channel between two wide layers carries `9 × (in + out)`
# weights, so the layers with the most `k²` weight buy the most parameters per channel removed,
# while the layers on the largest feature maps buy the most MACs; the scan says which of them can
# afford it. Which layout keeps more accuracy, in which unit and at which stage, is what the table
# above says after Holm's correction, and nothing more; the one verdict asserted is the one the
# layout was built for (more accuracy right after pruning, at no more parameters). A layout "at the
# same parameters" that spends more MACs than uniform (the ratio printed above) is not a free gain
# in speed; check the other unit of every layout (both ratios are printed above).
#
# Two cautions. The scan prunes one layer at a time, and layers interact: the greedy ratios are a
# ranking to measure, not a prediction of accuracy. And the scan, the ratios and the learning rates
# were all chosen on validation images; the test images only report.
#
# ## 5. The full-mode tables
#
# On a GPU the same cells run with more seeds, longer budgets and a finer scan, and save
# `figures/12_*_full.csv`; on a CPU, this cell shows those records when they exist.

# %%
full = {}
for name in ("criteria", "nonuniform"):
    try:
        full[name] = results.read(f"12_{name}_full")  # this run's folder first, then the committed figures/
    except ValueError:  # not recorded yet
        pass
if MODE == "quick" and len(full) == 2:
    for name, (stamp, full_rows) in full.items():
        print(f"full mode, {name}: {stamp['device']}, {stamp['date']}")
        display(Markdown(format_table(training.summarise(full_rows, ("acc_test_pruned", "acc_test")),
                                      [("arm", "arm", "", "left"), ("acc_test_pruned_text", "pruned + BN refresh", ""),
                                       ("acc_test_text", "fine-tuned", "")])))
else:
    print(f"this run is the {MODE}-mode study above;",
          "full mode: GPU pending (no figures/12_criteria_full.csv yet)" if MODE == "quick" else "")

# %% [markdown]
# ## Exercises
#
# Each exercise is checked by `helpers.checks.check`: replace the `raise NotImplementedError` with
# your code and run the cell.

# %% [markdown]
# ### Exercise `12-one-layer`: prune one layer only
#
# Write `prune_one_layer(model, example_inputs, layer, ratio)`: prune, in place, a fraction `ratio` of
# the output channels of `layer` only, with Torch-Pruning's `BasePruner` (every other layer keeps
# its width, the classifier its 10 outputs), and return the model. The check prunes a DigitsCNN's
# convolutions one at a time.

# %%
# NBVAL_CHECK_OUTPUT
def prune_one_layer(model, example_inputs, layer, ratio):
    raise NotImplementedError  # your code here


passed = helpers.checks.check("12-one-layer", prune_one_layer)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("12-one-layer")

# %% [markdown]
# ### Exercise `12-next-layer`: the next step of the non-uniform ratios
#
# Write `next_layer(cost, removed)`: `cost[name]` is the validation accuracy that one more step of
# ratio on layer `name` costs (from the scan), `removed[name]` the parameters that step removes (from
# the predictor). Return the name of the layer `greedy_ratios` raises next: the one whose step costs
# the least accuracy per parameter removed.

# %%
# NBVAL_CHECK_OUTPUT
def next_layer(cost, removed):
    raise NotImplementedError  # your code here


passed = helpers.checks.check("12-next-layer", next_layer)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("12-next-layer")

# %% [markdown]
# ## Summary
#
# - Torch-Pruning's criteria are classes passed as `importance=`; know what each computes (Taylor's
#   default is Σ|w·g|, `multivariable=True` gives |Σ w·g|; BN scale reads γ, without the sparsity
#   training the method that proposed it runs first). Taylor needs a backward pass before `step()`.
# - Compare criteria with the random control as one family of paired tests, corrected for their
#   number (Holm); a range of means is not a test. Section 2 says which differences survive here.
# - A sensitivity scan (one layer pruned at a time, `pruning_ratio_dict`, validation accuracy) ranks
#   the layers; the exact predictor counts each layer's parameters and MACs per channel.
# - Non-uniform ratios are built for one unit: at the same parameters they may spend more MACs, and
#   the reverse. Compare them with uniform at equal parameters and at equal MACs, checked by the
#   predictor before pruning (and the parameters counted after).

# %% [markdown]
# ## Questions
#
# 1. Why does random importance belong in the comparison?
#
# <details><summary>Answer</summary>
#
# It is the control: a criterion is only worth its cost if it beats choosing channels at random, at
# the same budget and with the same fine-tune. Where a fine-tune long enough brings every criterion
# within noise of random, as here, the choice of channels stops mattering at that budget; section 4
# finds the same, after the fine-tune, for how many channels each layer keeps.
#
# </details>
#
# 2. The scan prunes one layer at a time without fine-tuning. Why can its ratios still be wrong for
#    the network as a whole, and how would you find out?
#
# <details><summary>Answer</summary>
#
# Pruning one layer changes what the next layers receive, so two layers pruned together can cost
# more (or less) than the sum of their drops alone, and a fine-tune recovers layers unevenly. The scan
# is a ranking: measure the ratios it suggests, pruned together and fine-tuned, against the uniform
# `p` at the same exact parameter count, on validation for choices and on test to report, as here.
#
# </details>
#
# 3. Why compare the non-uniform ratios with uniform pruning at the same *parameter* count rather
#    than at the same mean channel ratio?
#
# <details><summary>Answer</summary>
#
# A channel's worth in parameters depends on its layer (`9 × (in + out)` weights for a 3x3
# convolution), so the same mean ratio can remove very different parameter counts; a comparison at
# unequal counts measures the budget, not the ratios. The predictor fixes the count before pruning.
#
# </details>

# %% [markdown]
# ## Further reading
#
# - Molchanov et al., "Importance Estimation for Neural Network Pruning", CVPR 2019
#   ([arXiv:1906.10771](https://arxiv.org/abs/1906.10771)): Taylor importance.
# - Liu et al., "Learning Efficient Convolutional Networks through Network Slimming", ICCV 2017
#   ([arXiv:1708.06519](https://arxiv.org/abs/1708.06519)): batch-norm scale as importance, after
#   training with an L1 penalty on it (not run here).
# - Li et al., "Pruning Filters for Efficient ConvNets", ICLR 2017
#   ([arXiv:1608.08710](https://arxiv.org/abs/1608.08710)): L1 filter pruning and per-layer
#   sensitivity scans.
# - MIT 6.5940 TinyML and Efficient Deep Learning ([efficientml.ai](https://efficientml.ai)): its
#   pruning lab scans sensitivity for fine-grained pruning, as section 3 does for channels.
# - Torch-Pruning ([github.com/VainF/Torch-Pruning](https://github.com/VainF/Torch-Pruning)): the
#   importance classes and `pruning_ratio_dict`.
#
# Next: **13 · Beyond CNNs: transformers**.
