# %% [markdown]
# # 10 · The cost of over-pruning
#
# **Learning goals**
# - train a small CNN on real handwritten digits, prune it with Torch-Pruning and fine-tune it;
# - see what reading `p=0.5` as "remove half of the parameters" costs: it removes about three
#   quarters of them, and the accuracy pays for the difference;
# - find the channel ratio for a parameter budget with `ParameterModel.solve` before pruning;
# - read an accuracy-versus-parameter-reduction curve measured over several seeds, and know why
#   accuracy collapses right after pruning and what brings it back.
#
# **Prerequisites**: 02 · The quadratic law, 06 · Pruning real CNNs, 08 · Hitting a parameter budget.
#
# **Study time**: about 40 min (reading, running the cells and the exercises).
#
# **Run time** (from `figures/notebook_times.csv`): about 50 s in quick mode (2-core CPU); about 54 s in full mode (NVIDIA H100 80GB HBM3).

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
import matplotlib.pyplot as plt
from IPython.display import Markdown

from helpers import report, results, theory, training
from helpers.predict import ParameterModel
from helpers.report import format_table

MODE = helpers.env.mode()
PLAN = training.plan(MODE)
for mode in ("quick", "full"):
    plan = training.plan(mode)
    print(f"{mode} mode{' (this run)' if mode == MODE else ''}: {len(plan.seeds)} seeds, {plan.train_steps} "
          f"training steps per seed, {plan.finetune_steps} fine-tuning steps after each pruning, "
          f"{len(plan.ratios)} channel ratios in the sweep")
quick_plan, full_plan = training.plan("quick"), training.plan("full")
assert full_plan.train_steps > quick_plan.train_steps and len(full_plan.seeds) > len(quick_plan.seeds)
assert full_plan.finetune_steps == quick_plan.finetune_steps and len(full_plan.ratios) > len(quick_plan.ratios)

# %% [markdown]
# ## 1. The data: handwritten digits, no download
#
# scikit-learn ships a small set of scanned handwritten digits, 8x8 pixels each, inside the
# package. `helpers.training.load` upsamples them to 16x16, splits them into a training and a test set
# (stratified, with a fixed seed: the same images land on the same side on every machine),
# standardises them with the training images' statistics and moves them to `device`.

# %%
digits = training.load(device=device)

# %%
# NBVAL_CHECK_OUTPUT
print(digits.describe())
print("test images per class:", digits.y_test.bincount().tolist())

# %%
assert digits.x_train.shape[1:] == digits.x_test.shape[1:] == (1, training.SIZE, training.SIZE)
assert set(digits.y_test.tolist()) == set(range(10))

# %%
fig, axes = plt.subplots(1, 10, figsize=(8, 1.2))
for digit, ax in enumerate(axes):
    image = digits.x_test[digits.y_test == digit][0, 0].cpu()
    ax.imshow(image, cmap="gray_r")
    ax.set_title(str(digit))
    ax.axis("off")
report.save(fig, "10_digits")
plt.show()

# %% [markdown]
# ## 2. The model
#
# `helpers.training.DigitsCNN` is a small VGG-style network: four 3x3 convolutions, each followed by
# batch norm and ReLU, in two stages separated by max pooling, then global average pooling and a
# linear classifier with 10 outputs. Almost every weight sits between two prunable layers: the rule
# `1-(1-p)²` should describe it well. The classifier's outputs are the 10 classes, so it goes into
# `ignored_layers` (`training.ignored_layers(model)`).

# %%
reference = training.new_model(seed=0, device=device)
layers = [{"layer": name, "shape": "x".join(map(str, p.shape)), "params": p.numel()}
          for name, p in reference.named_parameters()]

# %%
# NBVAL_CHECK_OUTPUT
Markdown(format_table(layers, [("layer", "parameter", ""), ("shape", "shape", ""), ("params", "count", ",d")]))

# %%
n_params = helpers.counting.n_params(reference)
weights_between = sum(r["params"] for r in layers if r["layer"] in
                      ("features.3.weight", "features.7.weight", "features.10.weight"))
assert n_params == sum(r["params"] for r in layers)
assert weights_between / n_params > 0.9
print(f"{n_params:,} parameters; {weights_between / n_params:.0%} of them in the three convolutions "
      "between two pruned layers")

# %% [markdown]
# ## 3. Training
#
# One model per seed: the seed fixes the initial weights and the order of the training batches.
# `training.train_baseline` trains with AdamW under a one-cycle learning-rate schedule for a budget
# stated in optimiser steps (one step per batch of 64 images); `evaluate` measures the fraction of
# correctly classified test images, in eval mode.

# %%
baselines = {seed: training.train_baseline(digits, PLAN.train_steps, seed=seed) for seed in PLAN.seeds}
acc_baseline = {seed: training.evaluate(m, digits) for seed, m in baselines.items()}

# %%
per_pass = training.steps_per_epoch(digits, PLAN.batch_size)
print(f"{PLAN.train_steps} training steps: {PLAN.train_steps / per_pass:g} passes over the "
      f"{len(digits.y_train)} training images, {per_pass} batches each")
for seed, acc in acc_baseline.items():
    print(f"seed {seed}: test accuracy {acc:.1%}")
assert min(acc_baseline.values()) > 0.95  # chance is 10%

# %% [markdown]
# ## 4. Two readings of "remove 50% of the parameters"
#
# A learner who wants to halve the model reads `pruning_ratio` as a fraction of parameters and sets
# `p = 0.5`. The rule says this removes about `1-(1-0.5)² = 75%`. The rule's inverse,
# `theory.channel_ratio_for(0.5)`, gives `1-√0.5`; `ParameterModel.solve(0.5)` replays Torch-Pruning's
# arithmetic on whole channels and returns the channel ratio whose exact reduction is closest to
# 50%. All three predictions are made before anything is pruned:

# %%
example = digits.example_inputs()
predictor = ParameterModel(baselines[PLAN.seeds[0]], example, training.ignored_layers(baselines[PLAN.seeds[0]]))
TARGET = 0.5
p_learner = 0.5
p_rule = theory.channel_ratio_for(TARGET)
p_solver = predictor.solve(TARGET)
readings = [{"reading": name, "p": p, "params_after": predictor.params(p), "reduction": predictor.reduction(p)}
            for name, p in [("p = 0.5 (the learner)", p_learner), ("rule inverted, 1-√0.5", p_rule),
                            ("ParameterModel.solve(0.5)", p_solver)]]

# %%
# NBVAL_CHECK_OUTPUT
Markdown(format_table(readings, [("reading", "reading", ""), ("p", "channel ratio p", "g"),
                                 ("params_after", "parameters left", ",d"), ("reduction", "removed", ".1%")]))

# %%
assert predictor.reduction(p_learner) > 0.70
assert abs(predictor.reduction(p_learner) - theory.param_reduction(p_learner)) < 0.02  # the rule holds here
assert abs(predictor.reduction(p_solver) - TARGET) < 0.01
assert 0.2 < predictor.reduction(p_learner) - TARGET < 0.3  # about a quarter of the network too much
print(f"p = 0.5 removes {predictor.reduction(p_learner):.1%} of the parameters, "
      f"{100 * (predictor.reduction(p_learner) - TARGET):.1f} percentage points more than intended; "
      f"p = {p_solver} removes "
      f"{predictor.reduction(p_solver):.1%}")

# %% [markdown]
# ## 5. Prune both, then fine-tune
#
# `training.prune_and_fine_tune` prunes a **copy** of a trained model (the trained model stays
# intact for the next ratio) and measures its test accuracy three times:
#
# 1. right after pruning;
# 2. after refreshing the batch-norm statistics over the training images (`training.recalibrate_bn`:
#    `torch.optim.swa_utils.update_bn` over all of them at once), which trains no weight;
# 3. after a short fine-tune of `PLAN.finetune_steps` optimiser steps at a lower learning rate.
#
# It returns a `training.Run`, one per seed; `training.summarise` gives each accuracy's mean over
# the seeds with its 95% interval (Student's t). Both readings start from the same trained models
# and get the same fine-tuning budget. With three seeds (quick mode) Student's t has two degrees of
# freedom and the intervals are wide, wide enough to reach past 0% or 100%: they say how loosely
# three seeds pin a mean down. Notebook 11 runs more seeds and reads differences seed by seed.

# %%
runs = {name: [training.prune_and_fine_tune(baselines[s], digits, p, PLAN.finetune_steps, seed=s, arm=name,
                                            pretrain_steps=PLAN.train_steps) for s in PLAN.seeds]
        for name, p in [("learner", p_learner), ("solver", p_solver)]}
STAGES = ("acc_test_before_refresh", "acc_test_pruned", "acc_test")
comparison = training.summarise([r.row() for rs in runs.values() for r in rs], STAGES, by=("arm",))
trained_text = training.percent(*training.mean_ci(list(acc_baseline.values())))
Markdown(format_table([{**c, "reading": f"{c['arm']}: p = {c['channel_ratio']:g}", "trained": trained_text}
                       for c in comparison],
                      [("reading", "reading", ""), ("param_reduction", "params removed", ".1%"),
                       ("trained", "trained", ""), ("acc_test_before_refresh_text", "pruned", ""),
                       ("acc_test_pruned_text", "BN refreshed", ""),
                       ("acc_test_text", f"fine-tuned ({PLAN.finetune_steps} steps)", "")])
         + f"\n\nTest accuracy, mean and 95% interval over {len(PLAN.seeds)} seeds.")

# %%
def mean(values):
    return sum(values) / len(values)


learner, solver = runs["learner"], runs["solver"]
for rs in runs.values():
    # pruning removed exactly what the predictor said, and fine-tuning removed nothing more
    assert all(r.params == predictor.params(r.channel_ratio) == helpers.counting.n_params(r.model) for r in rs)
    assert mean([r.acc_test_before_refresh for r in rs]) < mean(list(acc_baseline.values())) / 2  # most of it lost
    assert mean([r.acc_test_pruned for r in rs]) > mean([r.acc_test_before_refresh for r in rs])
    assert mean([r.acc_test for r in rs]) > mean([r.acc_test_pruned for r in rs])  # the fine-tune recovers more
gap_refreshed = mean([r.acc_test_pruned for r in solver]) - mean([r.acc_test_pruned for r in learner])
gap_finetuned = mean([r.acc_test for r in solver]) - mean([r.acc_test for r in learner])
drop_learner = mean([acc_baseline[r.seed] - r.acc_test for r in learner])
drop_solver = mean([acc_baseline[r.seed] - r.acc_test for r in solver])
assert gap_refreshed > 0 and gap_finetuned > 0
print(f"after refreshing batch norm, the solver's model is {100 * gap_refreshed:.1f} points more accurate")
print(f"after {PLAN.finetune_steps} fine-tuning steps: the learner's model lost {100 * drop_learner:.1f} points "
      f"of accuracy, the solver's {100 * drop_solver:.1f} (mean over {len(PLAN.seeds)} seeds)")

# %% [markdown]
# Three things to read in this table.
#
# - **Right after pruning**, both models lose most of their accuracy. Pruning removed input channels
#   of every convolution, so each layer's outputs no longer have the mean and variance its batch norm
#   stored during training. The network is damaged less than this number suggests.
# - **Refreshing the batch-norm statistics** (no training) brings back part of the accuracy: how
#   much depends on how many channels went: the model pruned harder recovers less. It is the
#   accuracy the pruned weights themselves give, before any training.
# - **After the same short fine-tune**, the model the learner meant to halve trails the model that
#   was really halved. The learner removed about a quarter of the network more than intended
#   (section 4), and with the same trained weights and the same fine-tune, it ended less accurate.
#
# ## 6. Accuracy versus parameter reduction
#
# The same experiment over a range of channel ratios: `training.prune_at_ratios` runs
# `prune_and_fine_tune` at each ratio on every seed's trained model. The line is the mean over seeds
# and the band its 95% interval. The two readings of section 5 are reused.

# %%
done = {p_learner, p_solver}
rows = [r.row() for rs in runs.values() for r in rs]
rows += [r.row() for r in training.prune_at_ratios(baselines, digits, [p for p in PLAN.ratios if p not in done],
                                                    PLAN.finetune_steps, pretrain_steps=PLAN.train_steps)]
rows.sort(key=lambda r: (r["seed"], r["channel_ratio"]))
summary = sorted(training.summarise(rows, STAGES, by=("channel_ratio",)), key=lambda s: s["channel_ratio"])

# %%
def curve(key):
    x = [100 * s["param_reduction"] for s in summary]
    return x, *([s[f"{key}_{stat}"] for s in summary] for stat in ("mean", "low", "high"))


fig, ax = plt.subplots(figsize=(7, 4.4))
for key, label, style in [("acc_test", f"after a {PLAN.finetune_steps}-step fine-tune", "-o"),
                          ("acc_test_pruned", "pruned, batch norm refreshed", "-s"),
                          ("acc_test_before_refresh", "right after pruning", ":^")]:
    x, m, lo, hi = curve(key)
    line, = ax.plot(x, m, style, markersize=4, label=label)
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
ax.axhline(mean(list(acc_baseline.values())), color="black", linewidth=1, label="trained, not pruned")
ax.axvline(100 * TARGET, color="grey", linestyle="--", linewidth=1, label="the target: 50% removed")
for (name, rs), marker in zip(runs.items(), ["X", "*"]):
    ax.scatter(100 * rs[0].param_reduction, mean([r.acc_test for r in rs]), marker=marker, s=140,
               color="black", zorder=5, label=f"{name}: p = {rs[0].channel_ratio:g}, fine-tuned")
ax.set_xlabel("parameters removed (%)")
ax.set_ylabel("test accuracy")
ax.set_xlim(0, 100)
ax.set_ylim(0, 1.02)
ax.set_title(f"DigitsCNN on 16x16 digits, {len(PLAN.seeds)} seeds (95% intervals), {MODE} mode")
ax.legend(loc="lower left")
tag = results.stamp(device)
fig.text(0.01, -0.03, f"{tag['device']} | torch {tag['torch']} | torch-pruning {tag['torch-pruning']} | {tag['date']}",
         fontsize=7, color="grey")
report.save(fig, f"10_accuracy_{MODE}")
csv_path = results.write(f"10_accuracy_{MODE}", rows, tag)
print(f"saved 10_accuracy_{MODE}.png and {csv_path.name} ({len(rows)} rows) under {csv_path.parent.name}/")
plt.show()

# %%
top = summary[-1]
baseline_mean = mean(list(acc_baseline.values()))
safe = [s for s in summary if s["acc_test_mean"] >= baseline_mean - 0.01]
largest_safe = max(s["param_reduction"] for s in safe) if safe else 0.0
assert safe and top["acc_test_high"] < baseline_mean - 0.2  # holds, then falls
print(f"within 1 point of the trained accuracy after fine-tuning: up to {largest_safe:.1%} of the parameters removed")
print(f"at p = {top['channel_ratio']:.2f} ({top['param_reduction']:.1%} removed) the fine-tuned accuracy is "
      f"{top['acc_test_text']}")

# %% [markdown]
# Read the curve along the horizontal axis, in parameters removed, not in channel ratio: that is the
# axis a budget is stated in. Accuracy after fine-tuning holds up to some reduction and then falls
# off steeply. Where it falls is measured here for this model, this task and this fine-tuning
# budget only. What does not depend on them: a channel ratio `p` removes more than `p` of the
# parameters (`1-(1-p)²` exceeds `p` for every `p` between 0 and 1), so a channel ratio chosen as a
# parameter fraction always lands to the right of where it was meant to, closer to the cliff.
#
# In full mode (on a GPU) the notebook trains each baseline for more steps (the fine-tune after
# pruning stays as short), repeats everything over more seeds and sweeps a finer range of channel
# ratios, as the plans printed at the top say; its results are saved as
# `figures/10_accuracy_full.csv` and `.png`, stamped with the device, the library versions and the
# date.

# %% [markdown]
# ## Exercises
#
# Each exercise is checked by `helpers.checks.check`: replace the `raise NotImplementedError` with
# your code and run the cell.

# %% [markdown]
# ### Exercise `10-accuracy`: measure accuracy without changing the model
#
# Write `accuracy(model, x, y)`: the fraction of images in `x` whose predicted class (the argmax of
# the logits) equals `y`. Measuring must not change the model: think about what batch norm does in
# training mode.

# %%
# NBVAL_CHECK_OUTPUT
import torch


def accuracy(model, x, y):
    raise NotImplementedError  # your code here


passed = helpers.checks.check("10-accuracy", accuracy)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("10-accuracy")

# %% [markdown]
# ### Exercise `10-pruned-copy`: prune a copy, keep the trained model
#
# Write `pruned_copy(model, example_inputs, p)`: a copy of `model` pruned at channel ratio `p` with
# `helpers.pruning.prune`, the classifier's outputs protected, and `model` itself untouched (a sweep
# prunes the same trained model again and again).

# %%
# NBVAL_CHECK_OUTPUT
import copy


def pruned_copy(model, example_inputs, p):
    raise NotImplementedError  # your code here


passed = helpers.checks.check("10-pruned-copy", pruned_copy)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("10-pruned-copy")

# %% [markdown]
# ### Exercise `10-ratio-for-budget`: a channel ratio for a parameter budget
#
# Write `ratio_for(model, example_inputs, target)`: the channel ratio that removes a fraction
# `target` of the model's parameters (classifier protected), as closely as whole channels allow.
# The check tries it on DigitsCNN of two widths.

# %%
# NBVAL_CHECK_OUTPUT
def ratio_for(model, example_inputs, target):
    raise NotImplementedError  # your code here


passed = helpers.checks.check("10-ratio-for-budget", ratio_for)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("10-ratio-for-budget")

# %% [markdown]
# ## Summary
#
# - A channel ratio `p` removes about `1-(1-p)²` of the parameters: `p = 0.5` took away about three
#   quarters of this CNN, not half.
# - Over-pruning costs accuracy: with the same trained models and the same short fine-tune, the model
#   pruned at `p = 0.5` ended less accurate than the one pruned at the solver's `p`, which removed the
#   intended half.
# - Right after pruning, both models lost most of their accuracy; refreshing the batch-norm
#   statistics trained nothing and recovered part of it, the short fine-tune more.
# - Along the sweep, accuracy after fine-tuning held close to the trained model's up to a point and
#   then fell steeply; a ratio chosen as a parameter fraction lands to the right of the intended point.
# - State budgets in parameters removed, turn them into `p` with `ParameterModel.solve` (or the rule's
#   inverse `1-√(1-r)` as a first guess), and read accuracy curves against parameters removed.

# %% [markdown]
# ## Questions
#
# 1. Right after pruning, accuracy collapses even at the solver's ratio. Why does refreshing the
#    batch-norm statistics, which trains no weight, bring much of it back?
#
# <details><summary>Answer</summary>
#
# Each convolution lost some of its input channels, so its outputs no longer have the mean and
# variance that the following batch norm stored during training; the normalisation is off. Running
# the training images through the pruned model re-estimates those statistics, and the remaining
# weights work again. What is still missing after that is what the removed channels computed, which
# only fine-tuning can make up.
#
# </details>
#
# 2. A colleague sets `pruning_ratio=0.5` "to halve the model". What happens, and how should they
#    choose the ratio instead?
#
# <details><summary>Answer</summary>
#
# `pruning_ratio` is a fraction of channels. A weight between two pruned layers keeps `(1-p)²` of
# itself, so about three quarters of the parameters go, and after the same fine-tune the model is
# less accurate than one really halved. State the budget in parameters and turn it into a channel
# ratio with `ParameterModel.solve` (or, as a first guess, `1-√(1-r)`).
#
# </details>
#
# 3. Why plot accuracy against parameters removed rather than against the channel ratio?
#
# <details><summary>Answer</summary>
#
# A budget (memory, model size) is stated in parameters, and the relation between the two axes is
# not linear: `1-(1-p)²` exceeds `p`. Against the channel ratio, a curve hides how much of the model
# a point removed, and a reader who takes the ratio for a parameter fraction places it too far left.
#
# </details>

# %% [markdown]
# ## Further reading
#
# - Liu et al., "Rethinking the Value of Network Pruning", ICLR 2019
#   ([arXiv:1810.05270](https://arxiv.org/abs/1810.05270)): how much fine-tuning, or training the
#   pruned architecture from scratch, recovers.
# - Li et al., "Pruning Filters for Efficient ConvNets", ICLR 2017
#   ([arXiv:1608.08710](https://arxiv.org/abs/1608.08710)): pruning filters by magnitude, each layer's
#   sensitivity, and retraining afterwards.
# - Han et al., "Learning both Weights and Connections for Efficient Neural Networks", NeurIPS 2015
#   ([arXiv:1506.02626](https://arxiv.org/abs/1506.02626)): prune, then retrain, and how much accuracy
#   comes back.
# - PyTorch, [`torch.optim.swa_utils.update_bn`](https://pytorch.org/docs/stable/optim.html#weight-averaging-swa-and-ema):
#   the batch-norm refresh of section 5; and scikit-learn's
#   [`load_digits`](https://scikit-learn.org/stable/modules/generated/sklearn.datasets.load_digits.html),
#   the data set.
#
# This notebook's method is thin (a short fine-tune, a cut-off read on the test set, a model at
# ceiling, no control): notebook 11 repeats the study the way a reviewer would accept it.
#
# Next: **11 · What pruning buys**.
