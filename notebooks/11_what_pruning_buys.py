# %% [markdown]
# # 11 · What pruning buys
#
# **Learning goals**
# - run an accuracy study a reviewer would accept: a train / validation / test split, a dense
#   baseline whose step count and learning rate are chosen on validation, every arm's learning rate
#   chosen on validation, the other budgets fixed in advance in optimiser steps, the test images read
#   once, batch norm refreshed
#   after pruning, and results as a mean with a 95% interval over seeds;
# - compare, at the same parameter budget (50% and 75% removed), the channel ratio of the rule and
#   of the solver, a short and a longer fine-tune, and notebook 10's misreading `p = r`;
# - run the controls that tell what pruning itself buys: the dense model trained for as many more
#   steps, and the pruned architecture trained from scratch for as many steps and for as many
#   multiply-accumulates (Liu et al., 2019: Scratch-E and Scratch-B);
# - read a difference between two arms from the paired interval over seeds, and correct a family of
#   such comparisons for their number (Holm).
#
# **Prerequisites**: 08 · Hitting a parameter budget, 10 · The cost of over-pruning.
#
# **Track**: elective
# **Study time**: about 60 min (reading, running the cells and the exercises).
#
# **Run time** (from `figures/notebook_times.csv`): about 3.0 min in quick mode (2-core CPU); full mode (GPU) not measured yet.

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
          f"training images, {len(s.seeds)} seeds; baseline from {s.first_train_steps} steps, doubled while "
          f"it helps; fine-tunes of {s.finetune_steps} and {s.long_finetune_steps} steps; learning rates "
          f"{', '.join(f'{x:g}' for x in s.lr_grid)} (fine-tune) and {', '.join(f'{x:g}' for x in s.train_lr_grid)} "
          f"(from scratch)")
assert len(study.study("full").seeds) >= 10 and len(S.seeds) >= 2  # an interval needs two seeds at least

# %% [markdown]
# ## 1. The protocol
#
# Notebook 10 made its point on thin evidence: a short fine-tune for every arm, a cut-off read on
# the test set, a trained model so close to 100% on 360 test images that differences hide at the
# ceiling, and no control. This notebook keeps the same tools and changes the method:
#
# - **Three splits.** `training.load(val_fraction=0.2, train_size=...)` draws 20% of the 1,797 digits
#   as test images, 20% as validation images, and keeps `train_size` of the rest for training. Every
#   choice (the baseline's step count, every learning rate) reads validation accuracy; the test
#   images are read once per model, for the tables. The fine-tunes' lengths are fixed in advance.
# - **A task below ceiling.** A narrower DigitsCNN (width 12, not 20) trained on 200 images leaves
#   room between the arms: a difference can show instead of hiding at the ceiling notebook 10 reached.
# - **A converged baseline.** The dense model trains until doubling its steps no longer raises
#   validation accuracy beyond noise; a pruned model that beats an unconverged baseline says nothing
#   about pruning.
# - **Every arm tuned alike.** Each arm, pruned or not, fine-tuned or trained from scratch, runs at
#   every learning rate of its grid and keeps the one with the best mean validation accuracy.
# - **Seeds.** Each seed draws its own split (`split_seed = seed`), its own initial weights and its
#   own batch order, so an interval over seeds covers all three.
# - **Intervals and tests.** Every accuracy is a mean over seeds with a 95% interval (Student's t,
#   `training.mean_ci`); a difference between two arms is read from the per-seed differences
#   (`study.paired`), and a family of such comparisons is tested together (`study.compare`: paired
#   t-tests, Holm's correction).

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
# ## 2. The dense baseline, trained to its plateau
#
# How long should the dense model train? Not a number picked in advance: `study.train_to_plateau`
# trains one DigitsCNN per seed (AdamW, one-cycle schedule, as in notebook 10) for
# `S.first_train_steps` steps at each rate of `S.train_lr_grid`, keeps the rate with the best mean
# validation accuracy, then doubles the steps and does it again. It stops as soon as doubling gains
# nothing beyond noise (the paired interval of the gain includes zero) and keeps the smaller count.

# %%
trained = study.train_to_plateau(datas, S)
T, train_lr, baselines = trained.steps, trained.lr, trained.models
for r in trained.search:
    r["val_text"] = training.percent(r["val_mean"], r["val_low"], r["val_high"])
    r["gain_text"] = f"{study.points(*r['gain'])}, {r['verdict']}" if r["gain"] else "–"
results.write(f"11_baseline_{MODE}", [{k: v for k, v in r.items() if k != "gain"} for r in trained.search],
              results.stamp(device, steps=T, lr=train_lr))
display(Markdown(format_table(trained.search, [("steps", "training steps", "d"), ("lr", "best rate on validation", "g"),
                                               ("val_text", "validation accuracy", ""),
                                               ("gain_text", "gain over half the steps", "")])))
assert trained.search[-1]["verdict"] != "higher" and trained.search[-1]["steps"] == 2 * T  # doubling no longer helps
assert all(r["verdict"] == "higher" for r in trained.search[1:-1])  # and every doubling before it did
print(f"chosen on validation: {T} training steps ({T / training.steps_per_epoch(datas[S.seeds[0]], S.batch_size):g} "
      f"passes over the {S.train_size} images) at peak learning rate {train_lr:g}")

# %%
base_rows = [{"arm": "trained, not pruned", "budget": 0.0, "seed": seed, "params": helpers.counting.n_params(m),
              "param_reduction": 0.0, "pretrain_steps": 0, "steps": T, "total_steps": T, "lr": train_lr,
              "acc_val": training.evaluate(m, datas[seed], "val"), "acc_test": training.evaluate(m, datas[seed])}
             for seed, m in baselines.items()]
base = training.summarise(base_rows, ("acc_val", "acc_test"))[0]
print(f"{base['params']:,} parameters, {T} training steps; validation {base['acc_val_text']}, "
      f"test {base['acc_test_text']} (mean and 95% interval over {base['n']} seeds)")
assert all(r["acc_val"] < 0.995 for r in base_rows) and base["acc_val_mean"] > 0.8  # below ceiling, well above chance

# %% [markdown]
# ## 3. From a parameter budget to a channel ratio
#
# Three readings of each budget `r` (the fraction of parameters to remove), all made before pruning:
# notebook 10's misreading `p = r`, the rule's inverse `1-√(1-r)`, and `ParameterModel.solve(r)`,
# which counts whole channels exactly.

# %%
model0 = baselines[S.seeds[0]]
x0 = datas[S.seeds[0]].example_inputs()
predictor = ParameterModel(model0, x0, ignored_layers=[model0.classifier])
ratios = {(b, "misread"): b for b in S.budgets}
ratios |= {(b, "rule"): theory.channel_ratio_for(b) for b in S.budgets}
ratios |= {(b, "solver"): predictor.solve(b) for b in S.budgets}
readings = [{"budget": b, "reading": {"misread": "p = r", "rule": "rule, 1-√(1-r)", "solver": "ParameterModel.solve(r)"}[k],
             "p": p, "params": predictor.params(p), "removed": predictor.reduction(p),
             "macs_removed": predictor.reduction(p, by="macs")} for (b, k), p in ratios.items()]

# %%
# NBVAL_CHECK_OUTPUT
Markdown(format_table(sorted(readings, key=lambda r: r["budget"]),
                      [("budget", "budget r", ".0%"), ("reading", "reading", "", "left"), ("p", "channel ratio p", "g"),
                       ("params", "parameters left", ",d"), ("removed", "parameters removed", ".1%"),
                       ("macs_removed", "MACs removed", ".1%")]))

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
# same channels and fine-tune them alike, so the rule's arm is not run again there.
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


def unpruned(model, data):
    """The dense control: nothing removed, the same pipeline after it."""
    return model


# %% [markdown]
# ## 5. Every arm's learning rate, chosen on validation
#
# An arm is one way of getting a model (pruned at some `p` and fine-tuned for some steps, or trained
# from scratch) run on every seed. `study.tune` runs an arm at every learning rate of a grid and keeps
# the rate with the best mean **validation** accuracy; the runs at that rate are the arm's result, and
# the test accuracy of the others is never looked at. Here it is for one arm, the solver's `p` at the
# 50% budget with the short fine-tune:

# %%
F, L = S.finetune_steps, S.long_finetune_steps


def pruned_arm(arm, b, p, steps):
    """One pruned (or, for p=None, dense) arm on every seed, its fine-tuning rate chosen on validation."""
    def runs_at(lr):
        return [training.prune_and_fine_tune(baselines[seed], datas[seed], uniform(p) if p is not None else unpruned,
                                             steps, lr=lr, seed=seed, arm=arm, budget=b, pretrain_steps=T)
                for seed in S.seeds]
    return study.tune(S.lr_grid, runs_at)


lr, solver_runs, lr_rows = pruned_arm("solver", 0.5, ratios[0.5, "solver"], F)
for r in lr_rows:
    r["text"] = training.percent(r["val_mean"], r["val_low"], r["val_high"])
Markdown(format_table(lr_rows, [("option", "fine-tuning learning rate", "g"), ("text", "validation accuracy", "")])
         + f"\n\nChosen on validation for this arm: **{lr:g}**. Every other arm below is tuned the same way.")

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
# | `dense`, `dense long` | the trained model, nothing pruned | the short, the longer fine-tune |
# | `scratch` (Scratch-E) | the solver's pruned architecture, initialised afresh | as many steps as `solver long` in all (its fine-tune counted too) |
# | `scratch, same MACs` (Scratch-B) | the same | as many multiply-accumulates as `solver long` in all |
#
# The dense arms answer "what would the same extra steps have done without pruning?"; the
# from-scratch arms "what does starting from the trained weights buy?". A pruned step costs fewer
# multiply-accumulates (MACs) than a dense one, so at equal MACs the from-scratch arm takes more
# steps (`study.compute_matched_steps`, MACs from `tp.utils.count_ops_and_params`):

# %%
# NBVAL_CHECK_OUTPUT
macs_dense = int(tp.utils.count_ops_and_params(model0, x0)[0])
scratch_b = {b: study.compute_matched_steps(T, macs_dense, L, predictor.macs(ratios[b, "solver"])) for b in S.budgets}
plan_rows = [{"arm": a, "pretrain": pre, "steps": n, "total": pre + n} for a, pre, n in
             [("misread, rule, solver, dense", T, F), ("solver long, dense long", T, L), ("scratch", 0, T + L)]
             + [(f"scratch, same MACs ({b:.0%} budget)", 0, scratch_b[b]) for b in S.budgets]]
print(f"{T} training steps: {T / training.steps_per_epoch(datas[S.seeds[0]], S.batch_size):g} passes over the "
      f"{S.train_size} training images; the dense model costs {macs_dense:,} MACs per image")
Markdown(format_table(plan_rows, [("arm", "arm", "", "left"), ("pretrain", "dense training before", "d"),
                                  ("steps", "this arm's steps", "d"), ("total", "total steps", "d")]))

# %%
arms = {(0.5, "solver"): (lr, solver_runs)}
for b in S.budgets:
    for arm, reading, steps in [("misread", "misread", F), ("rule", "rule", F), ("solver", "solver", F),
                                ("solver long", "solver", L)]:
        if (b, arm) in arms or (arm == "rule" and b in same):
            continue
        arms[b, arm] = pruned_arm(arm, b, ratios[b, reading], steps)[:2]
for arm, steps in (("dense", F), ("dense long", L)):
    arms[None, arm] = pruned_arm(arm, None, None, steps)[:2]
for b in S.budgets:
    architecture = {r.seed: r.model for r in arms[b, "solver long"][1]}
    for arm, steps in (("scratch", T + L), ("scratch, same MACs", scratch_b[b])):
        arms[b, arm] = study.tune(S.train_lr_grid, lambda lr, arm=arm, steps=steps: [
            study.train_from_scratch(architecture[seed], datas[seed], steps, seed=seed, params_before=base["params"],
                                     arm=arm, budget=b, lr=lr) for seed in S.seeds])[:2]
runs = [r for _, rs in arms.values() for r in rs]
rows = [r.row() for r in runs]
where = {None: ""} | {b: f" at {b:.0%}" for b in S.budgets}
print("learning rates chosen on validation:", "; ".join(f"{a}{where[b]} {lr_:g}" for (b, a), (lr_, _) in arms.items()))
grids = {a: S.train_lr_grid if a.startswith("scratch") else S.lr_grid for _, a in arms}
at_edge = [f"{a}{where[b]}" for (b, a), (lr_, _) in arms.items() if lr_ in (min(grids[a]), max(grids[a]))]
print("chosen at an end of its grid (a wider grid might suit these arms better):", ", ".join(at_edge) or "none")

# %%
total = {(r.budget, r.arm): {x.total_steps for x in runs if (x.budget, x.arm) == (r.budget, r.arm)} for r in runs}
assert total[None, "dense"] == {T + F} and total[None, "dense long"] == {T + L}
for b in S.budgets:
    assert total[b, "misread"] == total[b, "solver"] == {T + F}
    assert total[b, "solver long"] == total[b, "scratch"] == {T + L}  # equal budgets, step for step
    mp = predictor.macs(ratios[b, "solver"])  # Scratch-B: the fewest steps that cost the pruned arm's MACs
    assert total[b, "scratch, same MACs"] == {scratch_b[b]}
    assert (scratch_b[b] - 1) * mp < T * macs_dense + L * mp <= scratch_b[b] * mp
    assert {r.params for r in runs if r.budget == b and r.arm.startswith(("solver", "scratch"))} == \
        {predictor.params(ratios[b, "solver"])}  # the same architecture, as predicted
print("every compared pair of arms took the same number of optimiser steps (or, for Scratch-B, of MACs), and "
      "the from-scratch arms have the solver's architecture")

# %%
summary = training.summarise(rows, ("acc_test_pruned", "acc_test"))
for s_ in summary:
    s_["budget_text"] = "–" if s_["budget"] is None else f"{s_['budget']:.0%}"
Markdown(format_table(summary, [("budget_text", "budget", ""), ("arm", "arm", "", "left"),
                                ("param_reduction", "removed", ".1%"), ("total_steps", "total steps", "d"),
                                ("acc_test_pruned_text", "test acc., pruned + BN refresh", ""),
                                ("acc_test_text", "test acc., trained", "")])
         + f"\n\nTrained, not pruned ({T} steps): test {base['acc_test_text']}. Mean and 95% interval over "
         f"{len(S.seeds)} seeds."
         + (" At 75% the solver's `p` is the misreading's at 50%: the same pruning and fine-tune, so their rows agree."
            if ratios[0.75, "solver"] == ratios[0.5, "misread"] and arms[0.75, "solver"][0] == arms[0.5, "misread"][0] else ""))

# %%
ARMS = ["misread", "rule", "solver", "solver long", "scratch", "scratch, same MACs"]
fig, ax = plt.subplots(figsize=(9, 4.2))
for i, b in enumerate(S.budgets):
    names = [a for a in ARMS if (b, a) in arms]
    at = [next(s for s in summary if s["budget"] == b and s["arm"] == a) for a in names]
    report.errorbars(ax, at, "acc_test", names, offset=0.15 * (2 * i - 1), label=f"{b:.0%} of the parameters removed")
dense_long = next(s for s in summary if s["arm"] == "dense long")
ax.axhspan(100 * base["acc_test_low"], 100 * base["acc_test_high"], color="grey", alpha=0.25,
           label=f"trained, not pruned, {T} steps (95% interval)")
ax.axhspan(100 * dense_long["acc_test_low"], 100 * dense_long["acc_test_high"], color="tab:green", alpha=0.15,
           label=f"dense, {T + L} steps (95% interval)")
ax.set_ylabel("test accuracy (%)")
ax.set_title(f"Pruned + fine-tuned vs dense and from-scratch controls ({len(S.seeds)} seeds, {MODE} mode)")
ax.legend(loc="lower right", fontsize=8)
report.save(fig, f"11_arms_{MODE}")
csv_path = results.write(f"11_arms_{MODE}", base_rows + rows, results.stamp(device, steps=T, lr=train_lr))
print(f"saved 11_arms_{MODE}.png and {csv_path.name} ({len(base_rows) + len(rows)} rows)")
plt.show()

# %% [markdown]
# ## 7. What the differences say
#
# Each line below is the mean over seeds of one arm's test accuracy minus another's on the same
# seed, with the 95% interval of those differences and the p-value of the paired t-test. The lines
# are one family: the more comparisons, the more likely one of them looks like a difference by chance,
# so each p-value is adjusted with Holm's method (`study.holm`) before the verdict, "higher" or
# "lower" where the adjusted p-value is below 0.05, "within noise" otherwise.

# %%
BASE = {"arm": "trained, not pruned"}
PAIRS = [(None, "dense long", BASE, "the dense model trained for more steps vs the baseline")]
for b in S.budgets:
    PAIRS += [(b, "solver", {"arm": "misread", "budget": b}, "the solver's p vs p = r (notebook 10's point)")]
    PAIRS += [] if b in same else [(b, "solver", {"arm": "rule", "budget": b}, "the solver's p vs the rule's")]
    PAIRS += [(b, "solver long", {"arm": "solver", "budget": b}, "the longer fine-tune vs the short one"),
              (b, "solver long", BASE, "pruned + longer fine-tune vs the baseline"),
              (b, "solver long", {"arm": "dense long"}, "pruned vs dense, same steps"),
              (b, "solver long", {"arm": "scratch", "budget": b}, "pruned vs from scratch, same steps"),
              (b, "solver long", {"arm": "scratch, same MACs", "budget": b}, "pruned vs from scratch, same MACs")]
all_rows = base_rows + rows
family = study.compare(all_rows, "acc_test", [({"arm": a, "budget": b} if b is not None else {"arm": a}, o)
                                              for b, a, o, _ in PAIRS])
for d, (b, a, o, text) in zip(family, PAIRS):
    d.update(budget="–" if b is None else f"{b:.0%}", comparison=text, key=(b, a, o["arm"]),
             text=study.points(d["mean"], d["low"], d["high"]))
Markdown(format_table(family, [("budget", "budget", ""), ("comparison", "comparison", "", "left"),
                               ("text", "difference in test accuracy", ""), ("p", "p", ".3f"),
                               ("p_holm", "p, Holm", ".3f"), ("verdict", "", "", "left")]))

# %%
verdicts = {d["key"]: d["verdict"] for d in family}
for b in S.budgets:
    assert verdicts[b, "solver", "misread"] == "higher"  # reading p as a parameter fraction costs accuracy
    # right after pruning and the batch-norm refresh, far below the trained model on the same seed
    acc_base = {r["seed"]: r["acc_test"] for r in base_rows}
    assert training.mean_ci([r.acc_test_pruned - acc_base[r.seed] for r in runs
                             if (r.budget, r.arm) == (b, "solver")])[2] < -0.05
# the baseline is at its plateau: more dense steps do not lift test accuracy beyond noise either
assert verdicts[None, "dense long", "trained, not pruned"] != "higher"
# no pruned arm beats the dense model that trained as many steps
assert all(v != "higher" for k, v in verdicts.items() if k[2] == "dense long")


def said(b, a, o):
    d = next(x for x in family if x["key"] == (b, a, o))
    return f"**{d['text']}**, {d['verdict']}"


lines = [f"- **The baseline** was trained to its plateau ({T} steps): the dense model trained for {L} more steps "
         f"minus it: {said(None, 'dense long', 'trained, not pruned')}."]
for b in S.budgets:
    lines.append(
        f"- **{b:.0%} removed.** The solver's `p` minus `p = r`: {said(b, 'solver', 'misread')}"
        + ("" if b in same else f"; minus the rule's `p`: {said(b, 'solver', 'rule')}")
        + f". The longer fine-tune minus the short one: {said(b, 'solver long', 'solver')}. Pruned + longer "
        f"fine-tune minus the baseline: {said(b, 'solver long', 'trained, not pruned')}; minus the dense model "
        f"trained as many steps: {said(b, 'solver long', 'dense long')}; minus from scratch, same steps: "
        f"{said(b, 'solver long', 'scratch')}; same MACs: {said(b, 'solver long', 'scratch, same MACs')}.")
Markdown("\n".join(lines))

# %% [markdown]
# How to read this study, and what it does not say:
#
# - **The budget still matters most.** `p = r` removes far more than the budget (section 3) and
#   pays for it in accuracy at both budgets (asserted above): notebook 10's point holds under a sound
#   study.
# - **The baseline and the dense control.** The baseline stopped where doubling its steps no longer
#   helped on validation, and the dense model given the pruned arms' extra steps is the comparison for
#   any pruned arm that seems to beat the baseline: a pruned model ahead of an unconverged or
#   shorter-trained dense model measures the extra training, not pruning. No pruned arm here is
#   ahead of the dense model trained as many steps (asserted).
# - **The controls from scratch.** Only the lines above say whether the pruned + fine-tuned models
#   beat the same architecture trained from scratch, at equal steps and at equal MACs; where the
#   verdict is "within noise", this study cannot tell them apart at its scale, which is Liu et al.'s
#   finding for uniform ratios, not a failure of pruning: a trained model's fine-tune costs far fewer
#   steps than a new training when the trained model already exists.
# - **The grids.** An arm whose rate was chosen at an end of its grid (listed under the learning
#   rates above) might do better with a wider grid; the quick run keeps the grids short, and a
#   comparison with such an arm is as strong as its tuning.
# - **Significance is per family.** A difference whose own interval leaves zero out can still be
#   "within noise" after Holm's correction: with this many comparisons, one such interval in twenty
#   is expected by chance.
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
# - A study a reviewer accepts: three splits, the baseline's step count and every arm's learning
#   rate chosen on validation, the other budgets fixed in advance, the test set read once; a task below ceiling; a baseline trained
#   to its plateau; equal budgets in optimiser steps (and in MACs for Scratch-B); batch norm refreshed
#   after pruning; means with 95% intervals over seeds, paired differences, and Holm's correction over
#   the family of comparisons.
# - Reading `p` as a parameter fraction cost accuracy at both budgets: the solver's `p` (or the
#   rule's, which lands close on this network) is the one to use.
# - A pruned model is compared with the dense model trained as many steps, and with its own
#   architecture trained from scratch at equal steps and at equal MACs; section 7 says, per budget,
#   which of these differences the data support.

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
# 3. At equal steps and at equal MACs, pruned + fine-tuned and from scratch were within noise of each
#    other here. Is pruning then useless?
#
# <details><summary>Answer</summary>
#
# No. Given enough fine-tuning, pruning starts from a model that already works, and when a trained model exists
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
