# %% [markdown]
# # 05 · The exact count
#
# **Learning goals**
# - put it together: every tensor keeps `k^d` of itself (`k = 1-p`, `d` its pruned dimensions), so
#   `params(k) = A k² + B k + C`;
# - read, in about thirty lines of code, how Torch-Pruning's groups give every tensor its kept
#   width, and with it `A`, `B`, `C` and the exact count, the core of `helpers.predict.ParameterModel`;
# - read a model's `A`, `B`, `C` shares and see how far below the rule they put it;
# - measure how far rounding to whole channels moves the exact count from that smooth formula;
# - predict Torch-Pruning's count exactly, before pruning, with `helpers.predict.ParameterModel`,
#   and check it against pruning.
#
# **Prerequisites**: 04 · Groups and rounding.
#
# **Track**: core
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
import math

import matplotlib.pyplot as plt
import numpy as np
import torch_pruning as tp
from IPython.display import Markdown, display
from torch import nn
from tqdm import tqdm

from helpers import theory, zoo
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
# ## Opening the predictor
#
# `helpers.predict.ParameterModel` reads `A`, `B`, `C` from Torch-Pruning's dependency graph and
# replays Torch-Pruning's rounding to predict the exact count, **without pruning**. Its core fits in
# about thirty lines, written out here for what ResNet-18 needs. `DG.get_all_groups` yields the
# groups `BasePruner` prunes (as in notebook 04): each is rooted at a layer of `C` channels and lists
# every layer it shrinks, on the output or the input side. `BasePruner` keeps `int(C × (1-p))` of a
# group's channels, so every dimension the group touches keeps that many. A tensor's count after
# pruning is the product of its dimensions, and the number of its pruned dimensions is its power of
# `k`, which sorts it into `A`, `B` or `C`:

# %%
def read_groups(model, example_inputs, ignored_layers):
    """(layer, "out" or "in") -> the channels C of the group that prunes that side of the layer."""
    DG = tp.DependencyGraph().build_dependency(model, example_inputs=example_inputs)
    group_of = {}
    for group in DG.get_all_groups(ignored_layers=ignored_layers, root_module_types=[nn.Conv2d, nn.Linear]):
        channels = len(group[0].idxs)  # the root layer's channels
        for dep, _ in group:
            side = "out" if DG.is_out_channel_pruning_fn(dep.handler) else "in"
            group_of[(dep.target.module, side)] = channels
    return group_of


def tensor_dims(model, group_of):
    """Every parameter tensor as a list of (size, C of the group that shrinks that dimension or None)."""
    tensors = []
    for layer in model.modules():
        for name, param in layer.named_parameters(recurse=False):
            # a BatchNorm's tensors and every bias: one number per output channel;
            # a conv or linear weight: (C_out, C_in, kernel ...)
            sides = ["out"] if isinstance(layer, nn.BatchNorm2d) or name == "bias" else ["out", "in"]
            groups = [group_of.get((layer, side)) for side in sides] + [None] * (param.dim() - len(sides))
            tensors.append(list(zip(param.shape, groups)))
    return tensors


def coefficients(tensors):
    """(A, B, C): the parameters in tensors with 2, 1 and 0 pruned dimensions."""
    abc = [0, 0, 0]
    for dims in tensors:
        abc[2 - sum(channels is not None for _, channels in dims)] += math.prod(n for n, _ in dims)
    return tuple(abc)


def params_at(tensors, p):
    """Each pruned dimension keeps its group's int(C x (1-p)) channels; the others keep their size."""
    return sum(math.prod(n if channels is None else int(channels * (1 - p)) for n, channels in dims)
               for dims in tensors)


# %% [markdown]
# Run on ResNet-18 and compared with `ParameterModel` (the full replay of `helpers.predict`), for
# the coefficients and for the exact count at every `p` from 0.01 to 0.94:

# %%
# NBVAL_CHECK_OUTPUT
resnet, example_inputs, ignored = zoo.build("resnet18", device=device)
tensors = tensor_dims(resnet, read_groups(resnet, example_inputs, ignored))
# what this short version relies on: every pruned dimension is its group's whole width (ResNet-18 has
# no concatenation and no grouped convolution)
assert all(channels in (None, n) for dims in tensors for n, channels in dims)
predictor = ParameterModel(resnet, example_inputs, ignored)  # reads the graph; prunes nothing
print(f"{len(tensors)} tensors; A, B, C = {coefficients(tensors)}; ParameterModel: {predictor.coefficients()}")
for p in (0.2, 0.35, 0.8):
    print(f"p = {p}: {params_at(tensors, p):,} parameters; ParameterModel: {predictor.params(p):,}")
grid = np.round(np.arange(0.01, 0.95, 0.01), 2)
assert coefficients(tensors) == predictor.coefficients()
assert all(params_at(tensors, q) == predictor.params(q) for q in grid)

# %% [markdown]
# The thirty lines agree with `ParameterModel` everywhere on ResNet-18, and their `A`, `B`, `C` are
# what notebook 03 read tensor by tensor after pruning. `ParameterModel` does more: a dimension that
# reads a concatenation belongs to several groups (the exercise of this notebook), a grouped
# convolution is pruned inside each of its groups, `round_to` rounds further, attention heads are
# pruned whole, MACs are counted alike, and a model whose count it could not predict exactly is
# refused rather than answered.
#
# ## A, B, C across models
#
# Now several models (more in full mode), each with its `A`, `B`, `C` shares, the exact reduction at
# `p = 0.5`, the formula above and the rule:

# %%
CHECKED = ["resnet18", "regnet_y_400mf", "efficientnet_b0", "mobilenet_v3_small", "squeezenet1_1"]
models = CHECKED if helpers.env.quick() else list(zoo.names())
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
# The predictor is cheap to evaluate, so it can scan `p` finely. Its curves (exact: the next section
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
SETTINGS = [("resnet18", 0.25, None), ("mobilenet_v3_small", 0.5, None), ("resnet18", 0.3, None),
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
Markdown(format_table(checked_rows, [("model", "model", ""), ("p", "p", ".2f"), ("round_to", "round_to", ""),
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
start = helpers.explorer.explore("mobilenet_v3_small", p=0.7, classes=1000)

# %%
# NBVAL_CHECK_OUTPUT
print(f"{start['model']}, {start['classes']} classes, p = {start['p']}: {start['params_before']:,} -> "
      f"{start['params_after']:,} parameters, removed {start['reduction']:.4f} (rule {start['rule']:.2f})")
assert start["params_after"] == predictors["mobilenet_v3_small"].params(0.7)  # the predictor of the table above
assert sum(start["split_before"].values()) == start["params_before"]

# %% [markdown]
# ## Exercises

# %% [markdown]
# ### Exercise `05-predict-concat`: the exact count through concatenations
#
# The thirty lines above give every pruned dimension one group. In a DenseNet block, a layer's input
# dimension reads a concatenation, and every part of it is a group of its own (notebook 04), which
# keeps `int(C × (1-p))` of its own `C` channels. Write `predict_params(model, example_inputs,
# ignored_layers, p)`, returning the parameters `BasePruner` leaves at channel ratio `p`, without
# pruning, for such models too: start from `read_groups`, `tensor_dims` and `params_at`, collect
# every group that touches a dimension, and let the dimension keep its size minus what each of them
# removes, `C - int(C × (1-p))`. The check compares with Torch-Pruning on DenseNet's first two dense
# blocks (the model of notebook 04), at ratios where rounding each part differs from rounding the sum.

# %%
# NBVAL_CHECK_OUTPUT
def predict_params(model, example_inputs, ignored_layers, p):
    raise NotImplementedError  # your code here


passed = helpers.checks.check("05-predict-concat", predict_params)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("05-predict-concat")

# %% [markdown]
# ## Summary
#
# - Every tensor keeps `k^d`, so a model's count is `params(k) = A k² + B k + C`, and its reduction
#   `(1-k²) - (B/P0) k(1-k) - (C/P0)(1-k²)`.
# - The core of the predictor: every group Torch-Pruning prunes keeps `int(C × (1-p))` channels,
#   every dimension it touches keeps as many, and a tensor's pruned dimensions give its power of `k`.
#   Written out in thirty lines, it equals `ParameterModel` on ResNet-18 at every `p` checked.
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
# - Huang et al., "Densely Connected Convolutional Networks", CVPR 2017,
#   [arXiv:1608.06993](https://arxiv.org/abs/1608.06993): the concatenations of the exercise's model.
# - Radosavovic et al., "Designing Network Design Spaces", CVPR 2020,
#   [arXiv:2003.13678](https://arxiv.org/abs/2003.13678): RegNet's narrow groups, behind the staircase.
#
# Next: **06 · Pruning real CNNs with Torch-Pruning**.
