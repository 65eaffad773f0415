# %% [markdown]
# # 05 · The exact count
#
# **Learning goals**
# - put it together: every tensor keeps `k^d` of itself (`k = 1-p`, `d` its pruned dimensions), so
#   `params(k) = A k² + B k + C`;
# - predict Torch-Pruning's count exactly, before pruning, with `helpers.predict.ParameterModel`,
#   and check it against pruning.
#
# **Prerequisites**: 04 · Groups and rounding.
#
# **Run time** (from `figures/notebook_times.csv`): about 7 s in quick mode (2-core CPU); full mode (GPU) not measured yet.

# %%
# Colab only: fetch the course and its pinned packages (does nothing elsewhere)
import sys
if "google.colab" in sys.modules:
    import os, subprocess
    if not os.path.isdir("/content/course"):
        subprocess.run(["git", "clone", "-q", "--depth", "1", "https://github.com/channel-pruning-course/course",
                        "/content/course"], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "/content/course"], check=True)
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
from helpers.tables import format_table

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
Markdown(format_table(share_rows, SHARE_COLUMNS))

# %% [markdown]
# The formula is smooth; the exact count is not, because every width is a whole number of channels.
# How far does rounding move the reduction from the formula, over channel ratios from 0.01 to 0.90?

# %%
# NBVAL_CHECK_OUTPUT
grid = np.arange(1, 91) / 100
rounding = {}
for name in CHECKED:
    pm = predictors[name]
    exact = 1 - pm.params_at(grid) / pm.params_before
    smooth = 1 - np.array([pm.approximate_params(q) for q in grid]) / pm.params_before
    gap = 100 * (exact - smooth)  # percentage points
    rounding[name] = float(np.abs(gap).max())
    print(f"{name:<20} {gap.min():+6.2f} to {gap.max():+6.2f} points (largest at p={grid[np.abs(gap).argmax()]:.2f})")

# %%
assert max(v for n, v in rounding.items() if n != "regnet_y_400mf") <= 2 and rounding["regnet_y_400mf"] >= 10

# %%
assert all(abs(r["exact"] - r["formula"]) < 0.01 for r in share_rows)
assert all(r["exact"] < r["rule"] for r in share_rows)

# %%
if not helpers.env.quick():  # full mode: the rest of the zoo
    display(Markdown(format_table([shares_row(n) for n in models if n not in CHECKED], SHARE_COLUMNS)))

# %% [markdown]
# The larger the `B` share, the further below the rule. The shares as a figure:

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
helpers.plots.save(fig, "03_abc_shares")
plt.show()

# %% [markdown]
# The predictor is cheap to evaluate, so it can scan `p` finely. Its curves (exact: the last section
# checks them against Torch-Pruning) next to the rule:

# %%
grid = np.round(np.arange(0.0, 0.81, 0.01), 2)
fig, ax = plt.subplots()
helpers.plots.rule_axes(ax, p_max=0.8)
for name in models:
    ax.plot(grid, [predictors[name].reduction(q) for q in grid], linewidth=1, label=name)
ax.set_title("Exact parameter reduction of real CNNs vs the rule")
ax.legend(ncol=2, fontsize=7)
helpers.plots.save(fig, "03_real_vs_rule")
plt.show()

# %% [markdown]
# RegNetY's curve is a staircase: each of its small groups keeps `int(width × (1-p))`
# channels, which drops by one whole channel of the group at a time. Even a tiny `p`
# removes one channel per group:

# %%
# NBVAL_CHECK_OUTPUT
steps = [{"p": q, "exact": predictors["regnet_y_400mf"].reduction(q), "rule": theory.param_reduction(q)}
         for q in (0.01, 0.12, 0.13, 0.25, 0.26, 0.5)]
Markdown(format_table(steps, [("p", "p", ".2f"), ("exact", "RegNetY-400MF", ".4f"), ("rule", "rule", ".4f")]))

# %%
assert steps[0]["exact"] > 5 * steps[0]["rule"]
assert any(r["exact"] < r["rule"] for r in steps) and any(r["exact"] > r["rule"] for r in steps)

# %% [markdown]
# ## The predictor agrees with Torch-Pruning to the parameter
#
# The models and settings of notebooks 03 and 04, each predicted before pruning, then pruned with
# Torch-Pruning (`helpers.pruning.prune`, the quick start of notebook 00) and counted:

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
assert all(r["diff"] == 0 for r in comparison)

# %% [markdown]
# ## Exercise: MobileNetV2, before pruning it
#
# Here are MobileNetV2's coefficients, read from its dependency graph (nothing is pruned yet).
# Predict the fraction of its parameters that `p = 0.5` removes, with the formula above, then check.

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
# - Under local pruning, each parameter tensor keeps `k^d`, `k = 1-p`, where `d` counts its pruned
#   dimensions: 2 between two pruned layers, 1 for the stem, the classifier's weight, depthwise
#   convolutions, BatchNorm and biases, 0 for what is never pruned.
# - So `params(k) = A k² + B k + C` and the reduction is `(1-k²) - (B/P0) k(1-k) - (C/P0)(1-k²)`: the
#   larger the `B` share, the further below the rule. On small ImageNet models the classifier is most
#   of `B`.
# - Forgetting to ignore the classifier prunes the classes: the reduction matches the rule, and the
#   model is broken.
# - Residual additions and concatenations couple layers into groups, pruned as units; protecting one
#   layer protects its whole group.
# - Rounding to whole channels (`int`, `round_to`, small group widths) moves the count in either
#   direction: by a couple of points at most on most models, by ten and more on RegNet-Y, whose
#   groups are narrow (measured above); global pruning gives each layer its own ratio.
# - `helpers.predict.ParameterModel` predicts Torch-Pruning's count exactly, before pruning.
#
# ## Exercises
#
# - `04-group-width-kept`: channels RegNetY keeps per group at `p = 0.3`.
# - `05-mobilenetv2-reduction`: MobileNetV2's reduction at `p = 0.5` from its coefficients.
#
# Next: **06 · Pruning real CNNs with Torch-Pruning**.
