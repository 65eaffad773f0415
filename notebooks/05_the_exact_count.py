# %% [markdown]
# # 05 · The exact count
#
# **Learning goals**
# - put it together: every tensor keeps `k^d` of itself (`k = 1-p`, `d` its pruned dimensions), so
#   `params(k) = A k² + B k + C`;
# - read a model's `A`, `B`, `C` shares and see how far below the rule they put it;
# - measure how far rounding to whole channels moves the exact count from that smooth formula;
# - predict Torch-Pruning's count exactly, before pruning, with `helpers.predict.ParameterModel`,
#   and check it against pruning.
#
# **Prerequisites**: 04 · Groups and rounding.
#
# **Study time**: about 35 min (reading, running the cells and the exercises).
#
# **Run time** (from `figures/notebook_times.csv`): about 10 s in quick mode (2-core CPU); full mode (GPU) not measured yet.

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
import numpy as np
from IPython.display import Markdown, display
from tqdm import tqdm

from helpers import counting, theory, zoo
from helpers.predict import ParameterModel
from helpers.report import format_table

# %% [markdown]
# Notebook 03 found that every parameter tensor keeps a power of `k = 1-p`: `k²`, `k` or all of
# itself. Notebook 04 found that Torch-Pruning prunes groups of layers and keeps whole channels. This
# notebook puts the two together: one formula for a model's count, coefficients read from
# Torch-Pruning's dependency graph before anything is pruned, a measurement of how far rounding moves
# real models away from that formula, and a check against Torch-Pruning itself, to the parameter.

# %% [markdown]
# ## The unifying picture: params(k) = A k² + B k + C
#
# Under local pruning every parameter tensor keeps `k^d` with `d` in {0, 1, 2}. Summing per power:
#
# $$ \text{params}(k) = A k^2 + B k + C, \qquad P_0 = A + B + C, $$
#
# where `A` counts the parameters between two pruned layers, `B` those with one pruned dimension
# (stem, classifier weight, depthwise convolutions, BatchNorm, biases) and `C` those never pruned.
# The reduction is then
#
# $$ r = 1 - \frac{\text{params}(k)}{P_0} = (1-k^2) - \frac{B}{P_0}\, k(1-k) - \frac{C}{P_0}\,(1-k^2). $$
#
# The rule is the case `B = C = 0`; the `B` share says how far below it a model lands (at most at
# `k = 0.5`, where `k(1-k)` peaks). Up to rounding of channel counts this is exact.
#
# `helpers.predict.ParameterModel` reads `A`, `B`, `C` from Torch-Pruning's dependency graph, and
# replays Torch-Pruning's rounding on integers to predict the exact count, **without pruning**. On
# ResNet-18 its coefficients are what notebook 03 read tensor by tensor after pruning (here a second
# ResNet-18 is pruned at `p = 0.5` to read them again):

# %%
# NBVAL_CHECK_OUTPUT
fresh, example_inputs, ignored = zoo.build("resnet18", device=device)
predictor = ParameterModel(fresh, example_inputs, ignored)  # reads the graph; prunes nothing

pruned, pruned_inputs, pruned_ignored = zoo.build("resnet18", device=device)
before = counting.snapshot(pruned)
helpers.pruning.prune(pruned, pruned_inputs, 0.5, pruned_ignored)
tensors = counting.scaling(before, pruned, 0.5)  # which power of k each tensor kept
print("A, B, C predicted:", predictor.coefficients())
print("A, B, C measured: ", counting.by_power(tensors))
assert predictor.coefficients() == counting.by_power(tensors)
Markdown(format_table(predictor.breakdown(), [("role", "role", ""), ("power", "d", "d"), ("params", "params", ",d"),
                                              ("share", "share", ".2%")]))

# %% [markdown]
# Now several models (more in full mode), each with its `A`, `B`, `C` shares, the exact reduction at
# `p = 0.5`, the formula above and the rule:

# %%
CHECKED = ["resnet18", "regnet_y_400mf", "efficientnet_b0", "mobilenet_v3_small", "squeezenet1_1"]
models = CHECKED if helpers.env.quick() else [n for n in zoo.names() if n != "mobilenet_v2"]
predictors = {"resnet18": predictor}  # built above
for name in tqdm([n for n in models if n not in predictors], disable=helpers.env.progress_disabled()):
    net, inputs, ignored_layers = zoo.build(name, device=device)
    predictors[name] = ParameterModel(net, inputs, ignored_layers)


# %%
def shares_row(name, p=0.5):
    a, b, c = predictors[name].coefficients()
    total, k = a + b + c, 1 - p
    return {"model": name, "a": a / total, "b": b / total, "c": c / total,
            "exact": predictors[name].reduction(p),
            "formula": (1 - k * k) - (b / total) * k * (1 - k) - (c / total) * (1 - k * k),
            "rule": theory.param_reduction(p)}


SHARE_COLUMNS = [("model", "model", ""), ("a", "A share", ".3f"), ("b", "B share", ".3f"), ("c", "C share", ".4f"),
                 ("exact", "exact, p=0.5", ".4f"), ("formula", "formula", ".4f"), ("rule", "rule", ".2f")]

# %%
# NBVAL_CHECK_OUTPUT
share_rows = [shares_row(name) for name in CHECKED]
assert all(abs(r["exact"] - r["formula"]) < 0.01 for r in share_rows)
assert all(r["exact"] < r["rule"] for r in share_rows)
by_b = sorted(share_rows, key=lambda r: r["b"])
assert all(lo["exact"] > hi["exact"] for lo, hi in zip(by_b, by_b[1:]))  # larger B share, lower reduction
Markdown(format_table(share_rows, SHARE_COLUMNS))

# %% [markdown]
# At `p = 0.5` the formula gives the exact reduction of each of these models, every one of them lies
# below the rule, and the larger its `B` share, the further below. The formula is smooth; the exact
# count is not, because every width is a whole number of channels. How far does rounding move the
# reduction from the formula, over channel ratios from 0.01 to 0.90?

# %%
# NBVAL_CHECK_OUTPUT
grid = np.arange(1, 91) / 100
rounding = {}
for name in CHECKED:
    pm = predictors[name]
    exact = 1 - pm.params_at(grid) / pm.params_before
    smooth = 1 - np.array([pm.approximate_params(q) for q in grid]) / pm.params_before
    gap = 100 * (exact - smooth)  # percentage points
    rounding[name] = (float(gap.min()), float(gap.max()))
    print(f"{name:<20} {gap.min():+6.2f} to {gap.max():+6.2f} points (largest at p={grid[np.abs(gap).argmax()]:.2f})")

# %%
others = max(max(-lo, hi) for n, (lo, hi) in rounding.items() if n != "regnet_y_400mf")
regnet_low, regnet_high = rounding["regnet_y_400mf"]
assert others <= 2 and regnet_low < -5 * others and regnet_high > 5 * others
Markdown(f"On the {len(rounding) - 1} models other than RegNetY, rounding moves the reduction by at most "
         f"{others:.2f} points from the formula. RegNetY, whose grouped convolutions round inside groups of "
         f"a few channels, lands up to {-regnet_low:.2f} points below the formula and up to {regnet_high:.2f} "
         f"points above it.")

# %%
if not helpers.env.quick():  # full mode: the rest of the zoo
    display(Markdown(format_table([shares_row(n) for n in models if n not in CHECKED], SHARE_COLUMNS)))

# %% [markdown]
# The shares as a figure, the largest `B` share at the top:

# %%
fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(models) + 1.2))
rows_sorted = sorted((shares_row(n) for n in models), key=lambda r: r["b"])
labels = [r["model"] for r in rows_sorted]
left = np.zeros(len(rows_sorted))
for key, label, color in (("a", "A: k^2 (between pruned layers)", "C0"), ("b", "B: k^1 (stem, classifier, depthwise, norms, biases)", "C1"),
                          ("c", "C: not pruned", "C7")):
    values = np.array([r[key] for r in rows_sorted])
    ax.barh(labels, values, left=left, color=color, label=label)
    left += values
ax.set_xlim(0, 1)
ax.set_xlabel("share of the model's parameters")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=1)
ax.set_title("Where each model's parameters sit")
helpers.report.save(fig, "05_abc_shares")
plt.show()

# %% [markdown]
# The predictor is cheap to evaluate, so it can scan `p` finely. Its curves (exact: the last section
# checks them against Torch-Pruning) next to the rule:

# %%
grid = np.round(np.arange(0.0, 0.81, 0.01), 2)
fig, ax = plt.subplots()
helpers.report.rule_axes(ax, p_max=0.8)
for name in models:
    ax.plot(grid, [predictors[name].reduction(q) for q in grid], linewidth=1, label=name)
ax.set_title("Exact parameter reduction of real CNNs vs the rule")
ax.legend(ncol=2, fontsize=7)
helpers.report.save(fig, "05_real_vs_rule")
plt.show()

# %% [markdown]
# RegNetY's curve is a staircase: each of its small groups keeps `int(width × (1-p))`
# channels, which drops by one whole channel of the group at a time. Even a tiny `p`
# removes one channel per group:

# %%
# NBVAL_CHECK_OUTPUT
steps = [{"p": q, "exact": predictors["regnet_y_400mf"].reduction(q), "rule": theory.param_reduction(q)}
         for q in (0.01, 0.12, 0.13, 0.25, 0.26, 0.5)]
assert steps[0]["exact"] > 5 * steps[0]["rule"]
assert any(r["exact"] < r["rule"] for r in steps) and any(r["exact"] > r["rule"] for r in steps)
Markdown(format_table(steps, [("p", "p", ".2f"), ("exact", "RegNetY-400MF", ".4f"), ("rule", "rule", ".4f")]))

# %% [markdown]
# ## The predictor agrees with Torch-Pruning to the parameter
#
# The zoo models and settings of notebooks 03 and 04 (and SqueezeNet-1.1), each predicted before
# pruning, then pruned with Torch-Pruning (`helpers.pruning.prune`, the quick start of notebook 00)
# and counted:

# %%
SETTINGS = [("resnet18", 0.5, None), ("mobilenet_v3_small", 0.5, None), ("resnet18", 0.3, None),
            ("resnet18", 0.3, 8), ("regnet_y_400mf", 0.3, None), ("squeezenet1_1", 0.5, None)]
if not helpers.env.quick():
    SETTINGS.append(("densenet121", 0.3, None))
comparison = []
for name, p, round_to in tqdm(SETTINGS, disable=helpers.env.progress_disabled()):
    net, inputs, ignored_layers = zoo.build(name, device=device)
    predicted = ParameterModel(net, inputs, ignored_layers, round_to=round_to).params(p)  # before pruning
    params_after = helpers.pruning.prune(net, inputs, p, ignored_layers, round_to=round_to).params_after
    comparison.append({"model": name, "p": p, "round_to": str(round_to), "predicted": predicted, "measured": params_after,
                       "diff": predicted - params_after})

# %%
# NBVAL_CHECK_OUTPUT
checked_rows = [r for r in comparison if r["model"] != "densenet121"]
Markdown(format_table(checked_rows, [("model", "model", ""), ("p", "p", ".1f"), ("round_to", "round_to", ""),
                                     ("predicted", "predicted", ",d"), ("measured", "Torch-Pruning", ",d"),
                                     ("diff", "difference", "d")]))

# %%
assert all(r["diff"] == 0 for r in comparison)  # every setting, DenseNet-121 included in full mode

# %% [markdown]
# ## Explore: the rule next to the exact count
#
# `helpers.explorer.explore` puts the pieces of this notebook under four controls: the channel
# ratio, the model, the number of classes of its head and `round_to`. The left panel draws the rule
# and the model's exact curve (`ParameterModel.params_at`), the right one its `A k² + B k + C` split
# before and after pruning at `p`. In JupyterLab (`make lab`) the controls redraw both panels; where
# nothing draws widgets (the stored outputs, nbval, `COURSE_WIDGETS=0`) it draws one figure for the
# starting setting. Things to try: a 10-class head on MobileNetV3-Small; `round_to=16` on RegNetY;
# the largest `p` the slider allows.

# %%
start = helpers.explorer.explore("mobilenet_v3_small", p=0.5, classes=1000)

# %%
# NBVAL_CHECK_OUTPUT
print(f"{start['model']}, {start['classes']} classes, p = {start['p']}: {start['params_before']:,} -> "
      f"{start['params_after']:,} parameters, removed {start['reduction']:.4f} (rule {start['rule']:.2f})")
assert start["params_after"] == predictors["mobilenet_v3_small"].params(0.5)  # the predictor of the table above
assert sum(start["split_before"].values()) == start["params_before"]

# %% [markdown]
# ## Exercises

# %% [markdown]
# ### Exercise `05-mobilenetv2-reduction`: predict MobileNetV2's reduction at p = 0.5, before pruning it
#
# Here are MobileNetV2's coefficients, read from its dependency graph (nothing is pruned yet).
# Predict the fraction of its parameters that `p = 0.5` removes, with the formula of the first
# section, then check.

# %%
# NBVAL_CHECK_OUTPUT
mnv2, mnv2_inputs, mnv2_ignored = zoo.build("mobilenet_v2", device=device)
A, B, C = ParameterModel(mnv2, mnv2_inputs, mnv2_ignored).coefficients()
P0 = A + B + C
print(f"A = {A:,}  B = {B:,}  C = {C:,}  P0 = {P0:,}")
print(f"B share: {B / P0:.4f}")

# %%
# NBVAL_CHECK_OUTPUT
mobilenet_v2_prediction = ...  # your predicted reduction at p = 0.5
passed = helpers.checks.check("05-mobilenetv2-reduction", mobilenet_v2_prediction)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("05-mobilenetv2-reduction")

# %% [markdown]
# Now prune it and compare with your prediction:

# %%
# NBVAL_CHECK_OUTPUT
result_mnv2 = helpers.pruning.prune(mnv2, mnv2_inputs, 0.5, mnv2_ignored)
print(f"MobileNetV2, p = 0.5: {result_mnv2.params_before:,} -> {result_mnv2.params_after:,} parameters, "
      f"removed {result_mnv2.param_reduction:.4f} (rule {theory.param_reduction(0.5):.2f})")
assert result_mnv2.param_reduction < theory.param_reduction(0.5) - 0.05

# %% [markdown]
# ## Summary
#
# - Every tensor keeps `k^d`, so a model's count is `params(k) = A k² + B k + C`, and its reduction
#   `(1-k²) - (B/P0) k(1-k) - (C/P0)(1-k²)`. `ParameterModel` reads `A`, `B`, `C` from Torch-Pruning's
#   dependency graph without pruning; on ResNet-18 they equal what pruning and reading each tensor
#   gives.
# - At `p = 0.5` the formula matches the exact reduction of every model checked, all lie below the
#   rule, and the larger the `B` share, the further below.
# - Rounding to whole channels moves most models only slightly off the smooth formula; RegNetY, with
#   its narrow groups, follows a staircase that lands above or below the rule depending on `p`.
# - `ParameterModel` predicts Torch-Pruning's count to the parameter, before pruning, on every
#   setting checked, with and without `round_to`.

# %% [markdown]
# ## Questions
#
# 1. In the reduction formula, why do the `B` and `C` shares, and not the `A` share, decide how far
#    below the rule a model lands?
#
# <details><summary>Answer</summary>
#
# The `A` parameters keep `k²`, exactly as the rule assumes, so they contribute `1-k²` in proportion
# to their share. Only the parameters that keep `k` or everything remove less than the rule: their
# shares appear in the two terms subtracted from `1-k²`.
#
# </details>
#
# 2. For a fixed `B` share, at which channel ratio is the distance below the rule from `B` largest?
#
# <details><summary>Answer</summary>
#
# The `B` term is `(B/P0) k(1-k)`, and `k(1-k)` is largest at `k = 0.5`, that is at `p = 0.5`. Near
# `p = 0` and `p = 1` the `k` and `k²` tensors are both nearly whole or nearly gone, and the gap closes.
#
# </details>
#
# 3. Why does the smooth formula describe ResNet-18 well at any `p`, but RegNetY only at some?
#
# <details><summary>Answer</summary>
#
# The exact count keeps `int(C × (1-p))` channels per group, which loses less than one channel per
# group. ResNet-18's groups are wide, so that is a small fraction; RegNetY's grouped convolutions
# round inside groups of a few channels, so the kept width jumps by a large fraction at each step.
#
# </details>
#
# 4. `ParameterModel` models local pruning only. Why could it not predict the count of global
#    pruning from the graph alone?
#
# <details><summary>Answer</summary>
#
# Global pruning ranks channels of all groups by importance, so how many each group loses depends on
# the weights, not on the architecture and `p`. The graph gives the structure; the per-group widths
# would have to come from the weights, so the count is measured by pruning instead.
#
# </details>

# %% [markdown]
# ## Further reading
#
# - Fang et al., "DepGraph: Towards Any Structural Pruning", CVPR 2023,
#   [arXiv:2301.12900](https://arxiv.org/abs/2301.12900): the dependency graph `ParameterModel`
#   reads its coefficients from.
# - Torch-Pruning, [github.com/VainF/Torch-Pruning](https://github.com/VainF/Torch-Pruning): the
#   pruner whose count is predicted here, and `tp.utils.count_ops_and_params` to count a pruned model.
# - Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018,
#   [arXiv:1801.04381](https://arxiv.org/abs/1801.04381): the model of the exercise, built from
#   inverted residual blocks with depthwise convolutions.
# - Radosavovic et al., "Designing Network Design Spaces", CVPR 2020,
#   [arXiv:2003.13678](https://arxiv.org/abs/2003.13678): RegNet's narrow groups, behind the staircase.
#
# Next: **06 · Pruning real CNNs with Torch-Pruning**.
