# %% [markdown]
# # 12 · Criteria and sensitivity
#
# **Learning goals**
# - prune with Torch-Pruning's own importance criteria (L1 and L2 magnitude, batch-norm scale,
#   Taylor, random) and compare them at one parameter budget, right after pruning and after a
#   fine-tune, under notebook 11's protocol;
# - give Taylor importance what it needs: the gradients of a backward pass on training images;
# - scan each layer's sensitivity (validation accuracy against its channel ratio) with
#   `pruning_ratio_dict`;
# - build non-uniform ratios from the scan that meet the same parameter budget as a uniform `p`,
#   checked with the exact predictor, and measure what they buy.
#
# **Prerequisites**: 05 · The exact count, 11 · What pruning buys.
#
# **Study time**: about 45 min (reading, running the cells and the exercises).
#
# **Run time** (from `figures/notebook_times.csv`): about 50 s in quick mode (2-core CPU); full mode (GPU) not measured yet.

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
# models, the same fine-tuning learning rate chosen again on validation, and the solver's `p` for a
# 50% parameter budget. Every pruned model gets its batch-norm statistics refreshed over the training
# images before it is measured; every fine-tune here is notebook 11's longer one, the one that
# recovered most of the accuracy.

# %%
datas = study.load_splits(S, device)
baselines = study.train_baselines(datas, S)
T = S.train_steps
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


lr, _ = study.choose_finetune_lr(S, baselines, datas, pruner_for(lambda: tp.importance.GroupMagnitudeImportance(p=2)),
                                    BUDGET)
print(f"p = {P} removes {predictor.reduction(P):.1%} of the parameters; fine-tuning learning rate chosen "
      f"on validation: {lr:g}")

# %% [markdown]
# ## 2. Five importance criteria
#
# `BasePruner` removes, in each group, the channels its `importance` scores lowest. Torch-Pruning
# ships the criteria below as classes; each scores a whole group (a convolution's output channels,
# its batch norm and the next convolution's input channels) and they differ in what they read:
#
# | criterion | class | scores a channel by |
# |---|---|---|
# | L1 magnitude | `tp.importance.GroupMagnitudeImportance(p=1)` | the sum of absolute weights in the group |
# | L2 magnitude | `tp.importance.GroupMagnitudeImportance(p=2)` | the sum of squared weights (the course's default) |
# | BN scale | `tp.importance.BNScaleImportance()` | the batch-norm scale γ (network slimming) |
# | Taylor | `tp.importance.TaylorImportance()` | \|weight × gradient\|: the loss's first-order change if the channel went |
# | random | `tp.importance.RandomImportance()` | nothing: the control |
#
# Taylor importance reads the weights' gradients, so a backward pass on training images must run
# before `step()`. Without one there is nothing to read:

# %%
# NBVAL_CHECK_OUTPUT
import copy

d0 = datas[S.seeds[0]]
model = copy.deepcopy(model0)


def taylor_step(model):
    pruner = tp.pruner.BasePruner(model, d0.example_inputs(), importance=tp.importance.TaylorImportance(),
                                  pruning_ratio=P, ignored_layers=[model.classifier])
    pruner.step()


try:
    taylor_step(model)
except AttributeError as err:  # the importance reads weight.grad, which is None
    print(f"no gradients yet: step() raised {type(err).__name__}; the model keeps {n_params(model):,} parameters")
model.zero_grad()
F.cross_entropy(model(d0.x_train), d0.y_train).backward()  # gradients of the loss over the training images
taylor_step(model)
print(f"after a backward pass on the {len(d0.y_train)} training images: {n_params(model):,} parameters left, "
      f"as predicted: {n_params(model) == predictor.params(P)}")


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
runs = [training.prune_and_fine_tune(baselines[seed], datas[seed], prune, S.long_finetune_steps, lr=lr, seed=seed,
                                     arm=name, budget=BUDGET, pretrain_steps=T)
        for name, prune in CRITERIA.items() for seed in S.seeds]
rows = [r.row() for r in runs]
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
versus = [{"criterion": name, **{f"{key}_d": study.paired(rows, key, {"arm": name}, {"arm": "L2"})
                                 for key in ("acc_test_pruned", "acc_test")}} for name in CRITERIA if name != "L2"]
for v in versus:
    for key in ("acc_test_pruned", "acc_test"):
        v[f"{key}_t"] = f"{study.points(*v[f'{key}_d'])}, {study.verdict(*v[f'{key}_d'][1:])}"
spread = {key: max(c[f"{key}_mean"] for c in criteria) - min(c[f"{key}_mean"] for c in criteria)
          for key in ("acc_test_pruned", "acc_test")}
assert spread["acc_test"] < spread["acc_test_pruned"]  # the fine-tune narrows the differences between criteria
print(f"between the best and the worst criterion: {100 * spread['acc_test_pruned']:.1f} points right after "
      f"pruning, {100 * spread['acc_test']:.1f} after the fine-tune (means over seeds)")
Markdown(format_table(versus, [("criterion", "criterion minus L2, same seed", "", "left"),
                               ("acc_test_pruned_t", "pruned + BN refresh", ""), ("acc_test_t", "fine-tuned", "")]))

# %% [markdown]
# Read the differences, not the columns: each line is a criterion's test accuracy minus L2's on the
# same seed, with the interval of those differences. The criteria differ most right after pruning,
# where what they chose to keep is all the model has; the fine-tune then retrains what is left, and
# the spread between the best and the worst criterion narrows (asserted above). A criterion that
# wins right after pruning is worth most where fine-tuning is short or impossible; with the fine-tune
# here, which criterion is used matters less than how many channels each layer keeps, the question
# of the next two sections.
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
# (`9 ×` that layer's outputs for a convolution, 10 for the classifier) and two batch-norm values. The exact predictor counts it, with the same
# `pruning_ratio_dict`:

# %%
# NBVAL_CHECK_OUTPUT
per_channel = []
for name in LAYERS:
    layer = model0.get_submodule(name)
    half = predictor.params(0.0, pruning_ratio_dict={layer: 0.5})
    gone = layer.out_channels - int(layer.out_channels * 0.5)
    per_channel.append({"layer": name, "shape": f"{layer.in_channels} → {layer.out_channels}",
                        "per_channel": (predictor.params_before - half) / gone})
Markdown(format_table(per_channel, [("layer", "layer", "", "left"), ("shape", "channels in → out", ""),
                                    ("per_channel", "parameters removed per output channel", ",.0f")]))

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
# ## 4. Non-uniform ratios for the same parameter budget
#
# The scan ranks what each step of ratio costs in accuracy; the predictor says what it saves in
# parameters. `study.greedy_ratios` starts with nothing pruned and, step by step (0.05 of ratio),
# raises the layer whose next step costs the least scanned accuracy per parameter removed, until the
# exact count is no more than the uniform arm's. Every count is asked of the predictor with the dict
# `BasePruner` will get, before anything is pruned. The last step may overshoot the budget; steps
# that can be given back without exceeding it are given back:

# %%
def params_with(ratios):
    return predictor.params(0.0, pruning_ratio_dict={model0.get_submodule(n): r for n, r in ratios.items() if r > 0})


budget_params = predictor.params(P)  # the uniform arm's exact count
RATIOS = study.greedy_ratios(drops, params_with, budget_params)
assert max(RATIOS.values()) - min(RATIOS.values()) >= 0.2  # far from uniform
assert RATIOS[max(at_half, key=at_half.get)] < max(RATIOS.values())  # the most sensitive layer is spared
Markdown(format_table([{"layer": n, "ratio": r, "scan": at_half[n]} for n, r in RATIOS.items()],
                      [("layer", "layer", "", "left"), ("ratio", "channel ratio (non-uniform)", ".2f"),
                       ("scan", "validation drop at 0.5, alone", ".1%")])
         + f"\n\nPredicted: {params_with(RATIOS):,} parameters left; the uniform p = {P} leaves {budget_params:,}.")

# %%
nonuniform = [training.prune_and_fine_tune(baselines[seed], datas[seed],
                                           pruner_for(lambda: tp.importance.GroupMagnitudeImportance(p=2), 0.0, RATIOS),
                                           S.long_finetune_steps, lr=lr, seed=seed, arm="non-uniform", budget=BUDGET,
                                           pretrain_steps=T) for seed in S.seeds]
assert {r.params for r in nonuniform} == {params_with(RATIOS)}  # the predictor's count, to the parameter
assert params_with(RATIOS) <= budget_params  # the same budget: no more parameters than the uniform arm
rows2 = [r.row() for r in nonuniform] + [{**r, "arm": "uniform"} for r in rows if r["arm"] == "L2"]
compared = training.summarise(rows2, ("acc_test_pruned", "acc_test"))
results.write(f"12_nonuniform_{MODE}", rows2, results.stamp(device))
print(f"non-uniform: {nonuniform[0].params:,} parameters after pruning ({nonuniform[0].param_reduction:.1%} removed), "
      f"as predicted; uniform: {budget_params:,}")
Markdown(format_table(compared, [("arm", "ratios", "", "left"), ("params", "parameters", ",d"),
                                 ("acc_test_pruned_text", "test acc., pruned + BN refresh", ""),
                                 ("acc_test_text", f"test acc., fine-tuned {S.long_finetune_steps} steps", "")]))

# %%
fig, ax = plt.subplots(figsize=(5.5, 4))
report.errorbars(ax, compared, "acc_test_pruned", [c["arm"] for c in compared], offset=-0.08,
                   label="pruned, batch norm refreshed")
report.errorbars(ax, compared, "acc_test", [c["arm"] for c in compared], offset=0.08, fmt="s",
                   label=f"then fine-tuned ({S.long_finetune_steps} steps)")
ax.set_ylabel("test accuracy (%)")
ax.set_title(f"Same parameter budget ({BUDGET:.0%}), {len(S.seeds)} seeds")
ax.legend(loc="center right")
report.save(fig, f"12_nonuniform_{MODE}")
plt.show()

# %%
gain = {key: study.paired(rows2, key, {"arm": "non-uniform"}, {"arm": "uniform"}) for key in ("acc_test_pruned", "acc_test")}
assert study.verdict(*gain["acc_test_pruned"][1:]) == "higher"  # the scan's ratios keep more right after pruning
assert abs(gain["acc_test"][0]) < 0.02  # after the fine-tune, the two are within a couple of points
Markdown(f"Non-uniform minus uniform, same seed, same parameter budget: right after pruning "
         f"**{study.points(*gain['acc_test_pruned'])}** ({study.verdict(*gain['acc_test_pruned'][1:])}); "
         f"after the fine-tune **{study.points(*gain['acc_test'])}** ({study.verdict(*gain['acc_test'][1:])}).")

# %% [markdown]
# The ratios the scan picked are far from uniform: they prune hardest where a channel is cheap in
# accuracy and dear in parameters, and spare the layers that the scan found sensitive. This joins the
# course's law to the budget: a channel between two wide layers carries `9 × (in + out)` weights, so
# the layers with the most `k²` weight buy the most parameters per channel removed; the scan says
# which of them can afford it. At no more parameters than the uniform `p` (checked to the parameter),
# these ratios kept more accuracy right after pruning, where the accuracy is what the kept channels
# give. The fine-tune then brought both close together (the line above gives the difference and its
# interval): with a fine-tune this long, the layout matters less than with none, as the criteria
# did in section 2.
#
# Two cautions. The scan prunes one layer at a time, and layers interact: the greedy ratios are a
# ranking to measure, not a prediction of accuracy. And the scan, the ratios and the learning rate
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
# - Torch-Pruning's criteria are classes passed as `importance=`; Taylor importance needs a backward
#   pass on training images before `step()`.
# - At one parameter budget, the criteria differed most right after pruning; the fine-tune narrowed
#   the spread between them. Read such differences as paired intervals over seeds.
# - A sensitivity scan (one layer pruned at a time, `pruning_ratio_dict`, validation accuracy) ranks
#   the layers; the exact predictor counts each layer's parameters per channel.
# - Non-uniform ratios built from the scan, at no more parameters than the uniform `p` (checked by the
#   predictor before pruning and by counting after), kept more accuracy right after pruning; after
#   the fine-tune, the two were within a couple of points.

# %% [markdown]
# ## Questions
#
# 1. Why does random importance belong in the comparison?
#
# <details><summary>Answer</summary>
#
# It is the control: a criterion is only worth its cost if it beats choosing channels at random, at
# the same budget and with the same fine-tune. Where a fine-tune long enough narrows every
# criterion's accuracy to near random's, the choice of channels matters less than how many each
# layer keeps.
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
#   ([arXiv:1708.06519](https://arxiv.org/abs/1708.06519)): batch-norm scale as importance.
# - Li et al., "Pruning Filters for Efficient ConvNets", ICLR 2017
#   ([arXiv:1608.08710](https://arxiv.org/abs/1608.08710)): L1 filter pruning and per-layer
#   sensitivity scans.
# - MIT 6.5940 TinyML and Efficient Deep Learning ([efficientml.ai](https://efficientml.ai)): its
#   pruning lab scans sensitivity for fine-grained pruning, as section 3 does for channels.
# - Torch-Pruning ([github.com/VainF/Torch-Pruning](https://github.com/VainF/Torch-Pruning)): the
#   importance classes and `pruning_ratio_dict`.
#
# Next: **13 · Beyond CNNs: transformers**.
