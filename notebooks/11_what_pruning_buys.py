# %% [markdown]
# # 11 · What pruning buys
#
# **Learning goals**
# - run an accuracy study a reviewer would accept: a train / validation / test split, every choice
#   made on validation, the test images read once, equal training budgets stated in optimiser steps,
#   batch norm refreshed after pruning, and results as a mean with a 95% interval over seeds;
# - compare, at the same parameter budget (50% and 75% removed), the channel ratio of the rule and
#   of the solver, a short and a longer fine-tune, and notebook 10's misreading `p = r`;
# - run the control that tells what pruning itself buys: the pruned architecture trained from
#   scratch for the same number of steps (Liu et al., 2019);
# - read the difference between two arms from the interval of the per-seed differences.
#
# **Prerequisites**: 08 · Hitting a parameter budget, 10 · The cost of over-pruning.
#
# **Study time**: about 45 min (reading, running the cells and the exercises).
#
# **Run time** (from `figures/notebook_times.csv`): about 66 s in quick mode (2-core CPU); full mode (GPU) not measured yet.

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
import torch_pruning as tp
from IPython.display import Markdown, display

from helpers import report, results, study, theory, training
from helpers.predict import ParameterModel
from helpers.report import format_table

MODE = helpers.env.mode()
S = study.study(MODE)
for mode in ("quick", "full"):
    s = study.study(mode)
    print(f"{mode} mode{' (this run)' if mode == MODE else ''}: DigitsCNN of width {s.width} on {s.train_size} "
          f"training images, {len(s.seeds)} seeds; training {s.train_steps} steps, fine-tunes of "
          f"{s.finetune_steps} and {s.long_finetune_steps} steps")
assert len(study.study("full").seeds) >= 5 and len(S.seeds) >= 2  # an interval needs two seeds at least

# %% [markdown]
# ## 1. The protocol
#
# Notebook 10 made its point on thin evidence: a short fine-tune for every arm, a cut-off read on
# the test set, a trained model so close to 100% on 360 test images that differences hide at the
# ceiling, and no control. This notebook keeps the same tools and changes the method:
#
# - **Three splits.** `training.load(val_fraction=0.2, train_size=...)` draws 20% of the 1,797 digits
#   as test images, 20% as validation images, and keeps `train_size` of the rest for training. Every
#   choice (here: the fine-tuning learning rate) reads validation accuracy; the test images are read
#   once per model, for the tables.
# - **A task below ceiling.** A narrower DigitsCNN (width 12, not 20) trained on 200 images leaves
#   room between the arms: a difference can show instead of hiding at the ceiling notebook 10 reached.
# - **Seeds.** Each seed draws its own split (`split_seed = seed`), its own initial weights and its
#   own batch order, so an interval over seeds covers all three.
# - **Intervals.** Every accuracy is a mean over seeds with a 95% interval (Student's t,
#   `training.mean_ci`); a difference between two arms is read from the interval of the per-seed
#   differences (`study.paired`).

# %%
datas = study.load_splits(S, device)

# %%
# NBVAL_CHECK_OUTPUT
print(datas[S.seeds[0]].describe(), f"(seed {S.seeds[0]}; every seed has its own split of these sizes)")
from sklearn.datasets import load_digits

labels = load_digits().target
for seed in S.seeds:
    train, val, test = training.split_indices(labels, 0.2, S.val_fraction, S.train_size, seed)
    assert not (set(train) & set(val) or set(train) & set(test) or set(val) & set(test))  # disjoint
    assert len(datas[seed].y_train) == len(train) and len(datas[seed].y_val) == len(val)
print(f"train, validation and test are disjoint for each of the {len(S.seeds)} seeds")

# %% [markdown]
# ## 2. The trained models, below ceiling
#
# One DigitsCNN per seed, trained with the recipe of notebook 10 (AdamW, one-cycle schedule) for
# `S.train_steps` optimiser steps. Its validation accuracy says whether the task leaves room; the
# test accuracy is shown beside it and chooses nothing.

# %%
baselines = study.train_baselines(datas, S)
T = S.train_steps
base_rows = [{"arm": "trained, not pruned", "budget": 0.0, "seed": seed, "params": helpers.counting.n_params(m),
              "param_reduction": 0.0, "pretrain_steps": 0, "steps": T, "total_steps": T,
              "acc_val": training.evaluate(m, datas[seed], "val"), "acc_test": training.evaluate(m, datas[seed])}
             for seed, m in baselines.items()]
base = training.summarise(base_rows, ("acc_val", "acc_test"))[0]
print(f"{base['params']:,} parameters, {T} training steps; validation {base['acc_val_text']}, "
      f"test {base['acc_test_text']} (mean and 95% interval over {base['n']} seeds)")
assert all(r["acc_val"] < 0.99 for r in base_rows) and base["acc_val_mean"] > 0.8  # below ceiling, well above chance

# %% [markdown]
# ## 3. From a parameter budget to a channel ratio
#
# Three readings of each budget `r` (the fraction of parameters to remove), all made before pruning:
# notebook 10's misreading `p = r`, the rule's inverse `1-√(1-r)`, and `ParameterModel.solve(r)`,
# which counts whole channels exactly.

# %%
model0 = baselines[S.seeds[0]]
predictor = ParameterModel(model0, datas[S.seeds[0]].example_inputs(), ignored_layers=[model0.classifier])
ratios = {(b, "misread"): b for b in S.budgets}
ratios |= {(b, "rule"): theory.channel_ratio_for(b) for b in S.budgets}
ratios |= {(b, "solver"): predictor.solve(b) for b in S.budgets}
readings = [{"budget": b, "reading": {"misread": "p = r", "rule": "rule, 1-√(1-r)", "solver": "ParameterModel.solve(r)"}[k],
             "p": p, "params": predictor.params(p), "removed": predictor.reduction(p)} for (b, k), p in ratios.items()]

# %%
# NBVAL_CHECK_OUTPUT
Markdown(format_table(sorted(readings, key=lambda r: r["budget"]),
                      [("budget", "budget r", ".0%"), ("reading", "reading", "", "left"), ("p", "channel ratio p", "g"),
                       ("params", "parameters left", ",d"), ("removed", "removed", ".1%")]))

# %%
for b in S.budgets:
    assert abs(predictor.reduction(ratios[b, "solver"]) - b) <= abs(predictor.reduction(ratios[b, "rule"]) - b)
    assert predictor.reduction(ratios[b, "misread"]) > b + 0.15  # the misreading overshoots by far
assert predictor.reduction(ratios[0.5, "rule"]) > 0.5 + 0.02  # whole channels: the rule overshoots at 50%
same = [b for b in S.budgets if predictor.params(ratios[b, "rule"]) == predictor.params(ratios[b, "solver"])]
print("budgets where the rule's p keeps the same channels as the solver's:", [f"{b:.0%}" for b in same] or "none")

# %% [markdown]
# Whole channels make the difference: this DigitsCNN has 12 and 24 channels per layer, so the
# rule's `p` and the solver's `p` can land on different widths (the rule removes more than the
# budget at 50%) or on the same ones. Where they land on the same widths, the two arms prune the
# same channels and fine-tune them alike: their accuracies are the same (on a GPU, up to the last
# bits its kernels may vary by).
#
# ## 4. Pruning, written out
#
# Every arm prunes with Torch-Pruning's `BasePruner` as below: group L2 magnitude importance, one
# channel ratio for every layer, the classifier protected, one `step()`. The pipeline of notebook 10,
# `training.prune_and_fine_tune`, calls this function on a copy of each trained model, then refreshes
# its batch-norm statistics over the training images (`training.recalibrate_bn`) before anything is
# measured.

# %%
def uniform(p):
    """A prune(model, data) function: Torch-Pruning's BasePruner at channel ratio p."""
    def prune(model, data):
        pruner = tp.pruner.BasePruner(model, data.example_inputs(),
                                      importance=tp.importance.GroupMagnitudeImportance(p=2),
                                      pruning_ratio=p, ignored_layers=[model.classifier])
        pruner.step()
        return model
    return prune


# %% [markdown]
# ## 5. One choice, made on validation
#
# The fine-tune after pruning has one setting to choose, its peak learning rate. Each rate of the
# grid fine-tunes every seed's model pruned at the solver's `p` for the 50% budget, for the short
# fine-tune; the rate with the best mean **validation** accuracy is kept for every arm.

# %%
lr, lr_rows = study.choose_finetune_lr(S, baselines, datas, uniform(ratios[0.5, "solver"]), 0.5)
for r in lr_rows:
    r["text"] = training.percent(r["val_mean"], r["val_low"], r["val_high"])
Markdown(format_table(lr_rows, [("option", "fine-tuning learning rate", "g"), ("text", "validation accuracy", "")])
         + f"\n\nChosen on validation: **{lr:g}**.")

# %% [markdown]
# ## 6. The arms, at equal budgets
#
# At each budget, every arm starts from the same trained models (or, from scratch, from the same
# architecture) and is measured on the same seeds:
#
# | arm | starts from | trains |
# |---|---|---|
# | `misread`, `rule`, `solver` | the trained model pruned at that reading's `p` | the short fine-tune |
# | `solver long` | the trained model pruned at the solver's `p` | the longer fine-tune |
# | `scratch`, `scratch long` | the solver's pruned architecture, initialised afresh | as many steps as `solver` and `solver long` in all |
#
# A pruned arm's budget is the baseline's training plus its fine-tune; a from-scratch arm gets the
# same number of optimiser steps, all on the small network, with the baseline's recipe. In steps
# (a batch of 64 images each):

# %%
# NBVAL_CHECK_OUTPUT
F, L = S.finetune_steps, S.long_finetune_steps
plan_rows = [{"arm": a, "pretrain": pre, "steps": n, "total": pre + n} for a, pre, n in
             [("misread, rule, solver", T, F), ("solver long", T, L), ("scratch", 0, T + F), ("scratch long", 0, T + L)]]
per_pass = training.steps_per_epoch(datas[S.seeds[0]], S.batch_size)
print(f"{T} training steps: {T / per_pass:g} passes over the {S.train_size} training images, {per_pass} steps each")
Markdown(format_table(plan_rows, [("arm", "arm", "", "left"), ("pretrain", "training before pruning", "d"),
                                  ("steps", "this arm's steps", "d"), ("total", "total steps", "d")]))

# %%
runs = []
for b in S.budgets:
    for seed in S.seeds:
        args = (baselines[seed], datas[seed])
        for arm, p, steps in [("misread", ratios[b, "misread"], F), ("rule", ratios[b, "rule"], F),
                              ("solver", ratios[b, "solver"], F), ("solver long", ratios[b, "solver"], L)]:
            runs.append(training.prune_and_fine_tune(*args, uniform(p), steps, lr=lr, seed=seed, arm=arm, budget=b,
                                                     pretrain_steps=T))
        architecture = runs[-1].model
        for arm, steps in (("scratch", T + F), ("scratch long", T + L)):
            runs.append(study.train_from_scratch(architecture, datas[seed], steps, seed=seed,
                                                 params_before=base["params"], arm=arm, budget=b, lr=S.train_lr))
rows = [r.row() for r in runs]

# %%
total = {(r.budget, r.arm): {x.total_steps for x in runs if (x.budget, x.arm) == (r.budget, r.arm)} for r in runs}
for b in S.budgets:
    assert total[b, "misread"] == total[b, "rule"] == total[b, "solver"] == total[b, "scratch"] == {T + F}
    assert total[b, "solver long"] == total[b, "scratch long"] == {T + L}  # equal budgets, step for step
    assert {r.params for r in runs if r.budget == b and r.arm.startswith(("solver", "scratch"))} == \
        {predictor.params(ratios[b, "solver"])}  # the same architecture, as predicted
print("every compared pair of arms took the same number of optimiser steps, and the from-scratch arms "
      "have the solver's architecture")

# %%
summary = training.summarise(rows, ("acc_test_pruned", "acc_test"))
Markdown(format_table(summary, [("budget", "budget", ".0%"), ("arm", "arm", "", "left"),
                                ("param_reduction", "removed", ".1%"), ("total_steps", "total steps", "d"),
                                ("acc_test_pruned_text", "test acc., pruned + BN refresh", ""),
                                ("acc_test_text", "test acc., trained", "")])
         + f"\n\nTrained, not pruned: test {base['acc_test_text']}. Mean and 95% interval over {len(S.seeds)} seeds.")

# %%
ARMS = ["misread", "rule", "solver", "scratch", "solver long", "scratch long"]
fig, ax = plt.subplots(figsize=(8, 4.2))
for i, b in enumerate(S.budgets):
    at = [next(s for s in summary if s["budget"] == b and s["arm"] == a) for a in ARMS]
    report.errorbars(ax, at, "acc_test", ARMS, offset=0.15 * (2 * i - 1), label=f"{b:.0%} of the parameters removed")
ax.axhspan(100 * base["acc_test_low"], 100 * base["acc_test_high"], color="grey", alpha=0.25,
           label="trained, not pruned (95% interval)")
ax.axvline(3.5, color="black", linewidth=0.8)
ax.set_ylabel("test accuracy (%)")
ax.set_title(f"Pruned + fine-tuned vs the same architecture from scratch ({len(S.seeds)} seeds, {MODE} mode)")
ax.legend(loc="lower right")
report.save(fig, f"11_arms_{MODE}")
csv_path = results.write(f"11_arms_{MODE}", base_rows + rows, results.stamp(device))
print(f"saved 11_arms_{MODE}.png and {csv_path.name} ({len(base_rows) + len(rows)} rows)")
plt.show()

# %% [markdown]
# ## 7. What the differences say
#
# Each line below is the mean over seeds of one arm's test accuracy minus another's on the same
# seed, with the 95% interval of those differences: "higher" or "lower" where the interval leaves
# zero out, "within noise" where it does not.

# %%
PAIRS = [("solver", "misread", "the solver's p vs p = r (notebook 10's point)"),
         ("solver", "rule", "the solver's p vs the rule's"),
         ("solver long", "solver", "the longer fine-tune vs the short one"),
         ("solver", "scratch", "pruned + short fine-tune vs from scratch, same steps"),
         ("solver long", "scratch long", "pruned + longer fine-tune vs from scratch, same steps")]
diffs = [{"budget": b, "comparison": text, "a": a, "b": o, "d": study.paired(rows, "acc_test", {"arm": a, "budget": b},
                                                                             {"arm": o, "budget": b})}
         for b in S.budgets for a, o, text in PAIRS]
for d in diffs:
    d["text"], d["verdict"] = study.points(*d["d"]), study.verdict(*d["d"][1:])
Markdown(format_table(diffs, [("budget", "budget", ".0%"), ("comparison", "comparison", "", "left"),
                              ("text", "difference in test accuracy", ""), ("verdict", "", "", "left")]))

# %%
verdicts = {(d["budget"], d["a"], d["b"]): d["verdict"] for d in diffs}
for b in S.budgets:
    assert verdicts[b, "solver", "misread"] == "higher"  # reading p as a parameter fraction costs accuracy
    assert verdicts[b, "solver long", "solver"] == "higher"  # the short fine-tune had not finished the job
    # the rule's p and the solver's p, a few channels apart at most: little or no difference in accuracy
    assert abs(study.paired(rows, "acc_test", {"arm": "solver", "budget": b}, {"arm": "rule", "budget": b})[0]) < 0.05
    # against the from-scratch control at equal steps: the longer the fine-tune, the better pruning fares,
    # and with the longer one it is not behind
    gap_short = study.paired(rows, "acc_test", {"arm": "solver", "budget": b}, {"arm": "scratch", "budget": b})
    gap_long = study.paired(rows, "acc_test", {"arm": "solver long", "budget": b}, {"arm": "scratch long", "budget": b})
    assert gap_long[0] > gap_short[0] and verdicts[b, "solver long", "scratch long"] != "lower"
    # right after pruning and the batch-norm refresh, far below the trained model on the same seed
    acc_base = {r["seed"]: r["acc_test"] for r in base_rows}
    assert training.mean_ci([r.acc_test_pruned - acc_base[r.seed] for r in runs
                              if (r.budget, r.arm) == (b, "solver")])[2] < -0.05


def said(b, a, o):
    d = next(x for x in diffs if (x["budget"], x["a"], x["b"]) == (b, a, o))
    return f"**{d['text']}**, {d['verdict']}"


Markdown("\n".join(
    f"- **{b:.0%} removed**, differences in test accuracy on the same seed. The solver's `p` minus `p = r`: "
    f"{said(b, 'solver', 'misread')}; minus the rule's `p`: {said(b, 'solver', 'rule')}"
    f"{' (the same channels)' if b in same else ''}. The longer fine-tune minus the short one: "
    f"{said(b, 'solver long', 'solver')}. Pruned + fine-tuned minus from scratch, same steps: "
    f"{said(b, 'solver', 'scratch')} with the short fine-tune, {said(b, 'solver long', 'scratch long')} with the longer."
    for b in S.budgets))

# %% [markdown]
# How to read this study, and what it does not say:
#
# - **The budget still matters most.** `p = r` removes far more than the budget (section 3) and
#   pays for it in accuracy at both budgets: notebook 10's point holds under a sound study.
# - **The rule and the solver** differ only where whole channels round them apart; on this network
#   the rule is close to exact (nearly every weight sits between two pruned layers), so their
#   accuracies differ by little or not at all. On networks where the rule bends (notebook 08), the
#   difference in parameters is larger.
# - **The short fine-tune is the bottleneck.** Right after pruning and the batch-norm refresh the
#   models are far below the trained ones; the short fine-tune recovers part, the longer one most.
#   A comparison of pruning settings after a fine-tune that has not converged measures the fine-tune.
# - **The control.** The pruned architecture trained from scratch for the same number of steps is
#   the bar pruning has to clear. The longer the fine-tune, the better pruning fared against it, and
#   with the longer fine-tune it was not behind (the lines above say, per budget, whether it was
#   ahead or level, and how the short fine-tune did). A study that compares pruning with nothing, or
#   with a from-scratch arm given fewer steps, cannot tell what pruning a trained model buys. Counted
#   in MACs instead of steps, the from-scratch arms were cheaper still: all their steps ran on the
#   small network.
#
# ## 8. The full-mode tables
#
# On a GPU the same cells run the full study (more seeds, longer budgets, as printed at the top) and
# save `figures/11_arms_full.csv`; on a CPU, this cell shows that record when it exists.

# %%
try:
    stamp, full_rows = results.read("11_arms_full")  # this run's folder first, then the committed figures/
except ValueError:  # not recorded yet
    full_rows = None
if MODE == "quick" and full_rows:
    full = training.summarise([r for r in full_rows if r["arm"] != "trained, not pruned"], ("acc_test",))
    print(f"full mode, {stamp['device']}, {stamp['date']}:")
    display(Markdown(format_table(full, [("budget", "budget", ".0%"), ("arm", "arm", "", "left"),
                                         ("total_steps", "total steps", "d"), ("acc_test_text", "test acc., trained", "")])))
else:
    print(f"this run is the {MODE}-mode study above;",
          "full mode: GPU pending (no figures/11_arms_full.csv yet)" if MODE == "quick" else "")

# %% [markdown]
# ## Exercises
#
# Each exercise is checked by `helpers.checks.check`: replace the `raise NotImplementedError` with
# your code and run the cell.

# %% [markdown]
# ### Exercise `11-paired-interval`: the interval of a difference between two arms
#
# Write `paired_interval(a, b)`: given two arms' accuracies on the same seeds (`a[i]` and `b[i]` come
# from seed `i`), return `(mean, low, high)`, the mean of the per-seed differences `a[i] - b[i]` and
# its 95% interval from Student's t with `n - 1` degrees of freedom (`scipy.stats.t.ppf`).

# %%
# NBVAL_CHECK_OUTPUT
import math

from scipy import stats


def paired_interval(a, b):
    raise NotImplementedError  # your code here


passed = helpers.checks.check("11-paired-interval", paired_interval)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("11-paired-interval")

# %% [markdown]
# ### Exercise `11-scratch-steps`: an equal budget for the from-scratch arm
#
# Write `scratch_steps(train_epochs, n_train, batch_size, finetune_steps)`: the optimiser steps a
# from-scratch arm must take to match a model trained for `train_epochs` epochs on `n_train` images
# in batches of `batch_size` (the last batch may be smaller; none is dropped), then pruned and
# fine-tuned for `finetune_steps` steps.

# %%
# NBVAL_CHECK_OUTPUT
def scratch_steps(train_epochs, n_train, batch_size, finetune_steps):
    raise NotImplementedError  # your code here


passed = helpers.checks.check("11-scratch-steps", scratch_steps)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("11-scratch-steps")

# %% [markdown]
# ## Summary
#
# - A study a reviewer accepts: three splits, choices on validation, the test set read once; a task
#   below ceiling; equal budgets in optimiser steps; batch norm refreshed after pruning; means with
#   95% intervals over seeds, and differences read from paired intervals.
# - Reading `p` as a parameter fraction cost accuracy at both budgets: the solver's `p` (or the
#   rule's, which lands close on this network) is the one to use.
# - A short fine-tune leaves a pruned model far from where a longer one takes it: compare pruning
#   settings after a fine-tune long enough to matter, and say how long it was.
# - The from-scratch control (the pruned architecture, initialised afresh and trained for as many
#   optimiser steps) is what tells what pruning buys: here pruning fared better against it the longer
#   the fine-tune, and with the longer fine-tune it was not behind.

# %% [markdown]
# ## Questions
#
# 1. Why pick the fine-tuning learning rate on validation images rather than on the test images,
#    when both are held out from training?
#
# <details><summary>Answer</summary>
#
# A setting picked for its test accuracy is fitted to those test images: the reported accuracy is
# then the best of several tries on them, biased upwards, and no longer an estimate of accuracy on
# new images. Picked on validation, the test images are read once per model, after every choice.
#
# </details>
#
# 2. Two arms' intervals overlap, yet their paired difference is clearly above zero. How?
#
# <details><summary>Answer</summary>
#
# Each arm's interval includes what varies between seeds for both arms alike: the split, the
# initial weights, the trained model they start from. The per-seed difference cancels that shared
# part, so its interval is narrower than the two arms' own intervals suggest.
#
# </details>
#
# 3. With a short fine-tune, the from-scratch arm can beat pruning at equal steps. Is pruning then
#    useless?
#
# <details><summary>Answer</summary>
#
# No: it says that a fine-tune too short to converge wastes what the trained weights hold. Given
# enough fine-tuning, pruning starts from a model that already works, and when a trained model exists
# its fine-tune costs far fewer steps than training a new one. The control also shows when it does
# not pay: Liu et al. found that for many methods and uniform ratios, training the pruned
# architecture from scratch for long enough matched pruning + fine-tuning.
#
# </details>

# %% [markdown]
# ## Further reading
#
# - Liu et al., "Rethinking the Value of Network Pruning", ICLR 2019
#   ([arXiv:1810.05270](https://arxiv.org/abs/1810.05270)): the from-scratch control, with budgets
#   equal in epochs (Scratch-E) and in computation (Scratch-B).
# - Blalock et al., "What is the State of Neural Network Pruning?", MLSys 2020
#   ([arXiv:2003.03033](https://arxiv.org/abs/2003.03033)): how pruning results should be reported
#   (baselines, budgets, seeds and intervals).
# - Bouthillier et al., "Accounting for Variance in Machine Learning Benchmarks", MLSys 2021
#   ([arXiv:2103.03098](https://arxiv.org/abs/2103.03098)): why seeds, splits and intervals matter.
# - Torch-Pruning ([github.com/VainF/Torch-Pruning](https://github.com/VainF/Torch-Pruning)):
#   `BasePruner` and its importance criteria.
#
# Next: **12 · Criteria and sensitivity**.
