# %% [markdown]
# # 02 · The quadratic law
#
# **Learning goals**
# - see what removing a fraction `p` of one layer's output channels does to that layer's weight and to
#   the next layer's;
# - derive the law: a weight between two pruned layers keeps `(1-p)²`, so the parameter reduction is
#   `1-(1-p)²`; and invert it, to find the channel ratio for a parameter budget;
# - regenerate the quick-reference table that turns a channel ratio into a parameter reduction;
# - prune a plain CNN with Torch-Pruning and watch the law hold, up to rounding;
# - see, on one layer of a ResNet-18, which channels Torch-Pruning removes (the lowest group
#   importances) and how its weight loses rows and columns and keeps `(1-p)²` of its area.
#
# **Prerequisites**: 01 · Counting parameters.
#
# **Track**: core
# **Study time**: about 35 min (reading, running the cells and the exercises).
#
# **Run time** (from `figures/notebook_times.csv`): about 8 s in quick mode (2-core CPU); full mode (GPU) not measured yet.

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
import torch
import torch_pruning as tp
import torchvision
from IPython.display import Markdown
from torch import nn

from helpers import counting, theory
from helpers.report import format_table

# %% [markdown]
# ## One pruned layer, two smaller weights
#
# Take two convolutions in a row. Removing an output channel of the first deletes one filter, a row
# of its weight `(C_out, C_in, K, K)`; the second convolution no longer receives that channel, so
# the matching column of *its* weight goes too. Torch-Pruning finds such dependencies by tracing the
# model (its `DependencyGraph`) and removes them together as one *pruning group*. Here we remove a
# quarter of the first layer's channels, the ones with the smallest weights (for counting, which
# ones does not matter; the last section shows which ones a pruner picks):

# %%
# NBVAL_CHECK_OUTPUT
two = nn.Sequential(
    nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.ReLU(),
    nn.Conv2d(32, 64, 3, padding=1, bias=False),
).to(device)
x16 = torch.randn(1, 16, 8, 8, device=device)
shapes_before = [tuple(two[i].weight.shape) for i in (0, 2)]
p = 0.25
n_remove = int(p * two[0].out_channels)
smallest = two[0].weight.detach().flatten(1).norm(dim=1).argsort()[:n_remove].tolist()
graph = tp.DependencyGraph().build_dependency(two, example_inputs=x16)
group = graph.get_pruning_group(two[0], tp.prune_conv_out_channels, idxs=smallest)
names = {module: name for name, module in two.named_modules()}
for dep, idxs in group:
    if dep.target.module in names:  # skip the traced operations between layers (ReLU, ...)
        print(f"{dep.handler.__name__} of layer {names[dep.target.module]}: {len(idxs)} channels")
group.prune()
for i, before in zip((0, 2), shapes_before):
    print(f"layer {i}: weight {before} -> {tuple(two[i].weight.shape)}")
kept = [two[i].weight.numel() / math.prod(s) for i, s in zip((0, 2), shapes_before)]
assert kept == [1 - p, 1 - p]

# %% [markdown]
# Each of the two weights lost a fraction `p`: one its rows, the other its columns. One pruned layer
# alone gives no square yet.
#
# ## A chain: the middle weight loses `p` twice
#
# Now three convolutions, and we prune every layer we are allowed to: the outputs of the last one
# stay fixed, as a classifier's classes would. `helpers.pruning.prune` runs Torch-Pruning's
# `BasePruner`, which removes `p` of the channels of every group, except those of the layers in
# `ignored_layers`. `counting.snapshot` records every parameter tensor before, and
# `counting.scaling` reads after pruning how much of each was kept, as a power of `k = 1-p`:

# %%
chain = nn.Sequential(
    nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.ReLU(),
    nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.ReLU(),
    nn.Conv2d(32, 64, 3, padding=1, bias=False),
).to(device)
before = counting.snapshot(chain)
result = helpers.pruning.prune(chain, x16, p, ignored_layers=[chain[-1]])

# %%
# NBVAL_CHECK_OUTPUT
rows = counting.scaling(before, chain, p)
assert [r["power"] for r in rows] == [1, 2, 1] and all(r["exact"] for r in rows)
Markdown(format_table(rows, [("tensor", "weight", ""), ("before", "before", ",d"), ("after", "after", ",d"),
                             ("kept", "kept", ".4f"), ("power", "kept = k^d, d =", "d")]))

# %% [markdown]
# The middle weight sits between two pruned layers: it lost `p` of its columns *and* `p` of its rows,
# and kept `(1-p)²`. The first weight keeps its input channels (the model's 16 inputs), the last its output
# channels: each of them kept `1-p`.
#
# ## The law
#
# A weight of shape `(C_out, C_in/g, K, K)` between two pruned layers becomes
# `((1-p) C_out, (1-p) C_in/g, K, K)`: it keeps `(1-p)²` of its parameters. If (nearly) every weight
# of a network is of that kind, the whole network keeps `(1-p)²` and loses
#
# $$ r = 1-(1-p)^2 = 2p - p^2 .$$
#
# Turned around, the law gives the channel ratio to ask for when a parameter budget `r` is given;
# the exercise at the end asks you to write that inverse. `helpers.theory.param_reduction` holds the
# law:

# %%
# NBVAL_CHECK_OUTPUT
for p in (0.1, 0.3):
    print(f"p = {p}: removes {theory.param_reduction(p):.1%}")
grid = np.linspace(0, 0.95, 96)
assert all(theory.param_reduction(q) > q for q in grid[1:])  # the law always removes more than p

# %% [markdown]
# ## The quick-reference table
#
# Torch-Pruning's README states the law in a note: `pruning_ratio` counts channels, both the input
# and the output dimensions of a weight shrink, so roughly `1-(1-p)²` of the parameters go.
# Leeroopedia's heuristic page on it (*Pruning Ratio vs Parameter Ratio*, for Torch-Pruning) turns
# that into a quick-reference table, regenerated here from `helpers.theory`:

# %%
# NBVAL_CHECK_OUTPUT
SEED_TABLE = {0.1: 19, 0.2: 36, 0.3: 51, 0.4: 64, 0.5: 75, 0.6: 84}  # percentages as that page prints them
assert {p: round(100 * theory.param_reduction(p)) for p in SEED_TABLE} == SEED_TABLE
Markdown(theory.quick_reference_markdown())

# %% [markdown]
# A learner who wants to remove half of the parameters and sets `pruning_ratio=0.5` removes far more
# than half: look up `0.50` in the quick-reference table above.
#
# ## A plain CNN, pruned with Torch-Pruning
#
# `counting.plain_cnn()` is a VGG-style chain of 3 × 3 convolutions, without BatchNorm and without
# biases, then global pooling and a linear classifier. All its convolution weights but the first sit
# between two pruned layers; the stem (whose inputs are the image's colour channels) and the classifier
# (whose outputs are the classes) are its only boundary:

# %%
# NBVAL_CHECK_OUTPUT
model = counting.plain_cnn().to(device)
image = torch.randn(1, 3, 32, 32, device=device)
print(model)
before = counting.snapshot(model)
helpers.pruning.prune(model, image, 0.5, ignored_layers=[model[-1]])
a, b, c = counting.by_power(counting.scaling(before, model, 0.5))
total = a + b + c
print(f"{total:,} parameters: {a / total:.2%} in weights that keep k^2, "
      f"{b / total:.2%} keep k (stem, classifier weight), {c / total:.3%} keep everything (classifier bias)")
assert a / total > 0.99

# %% [markdown]
# Nearly all of the model follows the law. We prune a fresh copy at each channel ratio and compare
# the measured reduction, of parameters and of MACs, with `1-(1-p)²`:

# %%
ratios = [round(0.1 * i, 1) for i in range(1, 10)]
sweep = []
for p in ratios:
    net = counting.plain_cnn().to(device)
    result = helpers.pruning.prune(net, image, p, ignored_layers=[net[-1]])
    sweep.append({"p": p, "measured": result.param_reduction, "macs": result.mac_reduction,
                  "rule": theory.param_reduction(p)})
for row in sweep:
    row["gap"] = 100 * (row["measured"] - row["rule"])

# %%
# NBVAL_CHECK_OUTPUT
assert all(abs(row["measured"] - row["rule"]) < 0.005 for row in sweep)
assert all(abs(row["macs"] - row["rule"]) < 0.005 for row in sweep)
Markdown(format_table(sweep, [("p", "p", ".1f"), ("rule", "rule 1-(1-p)^2", ".4f"), ("measured", "params removed", ".4f"),
                              ("gap", "gap (points)", "+.2f"), ("macs", "MACs removed", ".4f")]))

# %%
gap = {row["p"]: row["gap"] for row in sweep}
assert gap[0.5] < 0 < min(g for q, g in gap.items() if q != 0.5)
Markdown(f"The law holds to a fraction of a percentage point, for parameters and for MACs alike. At `p = 0.5`, "
         f"where every width of this network halves exactly, only the boundary is left: the stem and the "
         f"classifier keep `1-p` (the split above), and the model loses **{-gap[0.5]:.2f} points less** than "
         f"the law. At every other ratio the gap is positive, up to **{max(gap.values()):+.2f}**: Torch-Pruning "
         f"keeps `int(C × (1-p))` channels, rounding down, so it removes a little more (notebook 04 measures "
         f"how it rounds).")

# %% [markdown]
# ## The picture
#
# The measured points sit on the law's curve, far from the naive line "p removes p":

# %%
fig, ax = plt.subplots()
helpers.report.rule_axes(ax)
ax.set_ylabel("reduction (parameters or MACs)")
ax.plot([r["p"] for r in sweep], [r["measured"] for r in sweep], "o", color="C0", label="plain CNN, params (measured)")
ax.plot([r["p"] for r in sweep], [r["macs"] for r in sweep], "x", color="C1", label="plain CNN, MACs (measured)")
ax.annotate("", xy=(0.5, theory.param_reduction(0.5)), xytext=(0.5, 0.5),
            arrowprops={"arrowstyle": "<->", "color": "C3"})
ax.text(0.52, 0.6, f"p = 0.5: naive {0.5:.0%}, law {theory.param_reduction(0.5):.0%}", color="C3")
ax.set_title("Pruning a fraction p of the channels of a plain CNN")
ax.legend(loc="lower right")
helpers.report.save(fig, "02_quadratic_law")
plt.show()


# %% [markdown]
# ## See the channels go
#
# So far we counted *how many* channels go. Which ones? Torch-Pruning scores every channel of a
# pruning group with an importance and removes the lowest scores. Here is one layer of a torchvision
# ResNet-18, `layer1.0.conv2` (a 3 × 3 convolution, 64 channels in and out), at `p = 0.5`. Its
# weight is pruned along two dimensions, by two groups: its rows are its own output channels, pruned
# with every layer they are added to through the residual connections; its columns are the output
# channels of `layer1.0.conv1`, the layer feeding it, pruned in that layer's own group. The cell
# builds Torch-Pruning's dependency graph, asks it for both groups, and scores them with the
# importance the course uses, `GroupMagnitudeImportance(p=2)` (its `p=2` is the L2 norm, not the
# channel ratio). The model has random weights (`weights=None`): they change which channels go, not
# how many.

# %%
# NBVAL_CHECK_OUTPUT
resnet = torchvision.models.resnet18(weights=None).eval().to(device)
inputs = torch.randn(1, 3, 224, 224, device=device)
conv, feeder = resnet.layer1[0].conv2, resnet.layer1[0].conv1
p = 0.5
graph = tp.DependencyGraph().build_dependency(resnet, example_inputs=inputs)
importance = tp.importance.GroupMagnitudeImportance(p=2)
names = {module: name for name, module in resnet.named_modules()}


def lowest(layer):
    """Scores of the group of ``layer``'s output channels, the channels BasePruner removes, the group's layers."""
    group = graph.get_pruning_group(layer, tp.prune_conv_out_channels, idxs=list(range(layer.out_channels)))
    scores = importance(group)
    n_remove = layer.out_channels - int(layer.out_channels * (1 - p))  # BasePruner keeps int(C x (1-p))
    layers = sorted({names[dep.target.module] for dep, _ in group if dep.target.module in names})
    return scores, scores.argsort()[:n_remove].sort().values.tolist(), layers


row_scores, removed_rows, row_layers = lowest(conv)
col_scores, removed_cols, col_layers = lowest(feeder)
for what, layer, removed, layers in (("rows", conv, removed_rows, row_layers), ("columns", feeder, removed_cols, col_layers)):
    print(f"{what}: {len(removed)} of {layer.out_channels} channels removed, "
          f"in a group of {len(layers)} layers: {', '.join(layers)}")

# %% [markdown]
# Strike the removed rows and columns out of the weight: each 3 × 3 kernel becomes one cell of a
# `C_out × C_in` matrix (its L2 norm), and what survives is the cells struck by neither line:

# %%
# NBVAL_CHECK_OUTPUT
weight = conv.weight.detach().clone()
matrix = weight.flatten(2).norm(dim=2).cpu()  # C_out x C_in: the L2 norm of each 3 x 3 kernel
n_rows, n_cols = matrix.shape
kept_rows = [i for i in range(n_rows) if i not in removed_rows]
kept_cols = [j for j in range(n_cols) if j not in removed_cols]
survives = torch.ones(n_rows, n_cols)
survives[removed_rows, :] = 0
survives[:, removed_cols] = 0
kept_fraction = survives.mean().item()
print(f"{n_rows} x {n_cols} matrix, {len(kept_rows)} rows and {len(kept_cols)} columns kept: "
      f"{kept_fraction:.4f} of its cells survive; (1-p)^2 = {(1 - p) ** 2:.4f}")
assert kept_fraction == len(kept_rows) * len(kept_cols) / (n_rows * n_cols) == (1 - p) ** 2
assert removed_rows != removed_cols  # two groups, two choices

# %%
fig, axes = plt.subplots(2, 2, figsize=(11, 10), layout="constrained")
helpers.report.importance_bars(axes[0, 0], row_scores, removed_rows)
axes[0, 0].set_title(f"rows: layer1.0.conv2's outputs, {len(removed_rows)} of {n_rows} removed")
helpers.report.importance_bars(axes[0, 1], col_scores, removed_cols)
axes[0, 1].set_title(f"columns: layer1.0.conv1's outputs, {len(removed_cols)} of {n_cols} removed")
image = helpers.report.struck_weight(axes[1, 0], matrix, removed_rows, removed_cols)
axes[1, 0].set_title("layer1.0.conv2's weight, removed rows and columns struck")
# the survivors close up into one block; drawn in the original frame, on the same colour scale
block = np.full((n_rows, n_cols), np.nan)
block[:len(kept_rows), :len(kept_cols)] = matrix[kept_rows][:, kept_cols]
helpers.report.struck_weight(axes[1, 1], block, [], [], vmin=image.norm.vmin, vmax=image.norm.vmax)
axes[1, 1].set_title(f"kept: {len(kept_rows)} x {len(kept_cols)} = {kept_fraction:.0%} of the area = (1-p)²")
fig.colorbar(image, ax=axes[1, :], shrink=0.8, label="L2 norm of each 3 x 3 kernel")
helpers.report.save(fig, "02_channels_go")
plt.show()

# %% [markdown]
# In each bar chart every removed channel scores below the dashed line and every kept one above it:
# the pruner keeps the top `int(C × (1-p))` scores of each group. Rows and columns are chosen by
# different groups, so the struck lines fall in different places, yet the survivors always form a
# block of (kept rows) × (kept columns). Now prune the whole network with `BasePruner`, the same
# importance, the same `p` and the classifier ignored, and compare with the prediction:

# %%
# NBVAL_CHECK_OUTPUT
predicted = weight[kept_rows][:, kept_cols]
pruner = tp.pruner.BasePruner(resnet, inputs, importance=tp.importance.GroupMagnitudeImportance(p=2),
                              pruning_ratio=p, ignored_layers=[resnet.fc])
pruner.step()
same = torch.equal(conv.weight.detach(), predicted)
print(f"layer1.0.conv2 after BasePruner.step(): weight {tuple(weight.shape)} -> {tuple(conv.weight.shape)}; "
      f"exactly the predicted rows and columns: {same}")
assert tuple(conv.weight.shape) == (len(kept_rows), len(kept_cols), 3, 3) and same

# %% [markdown]
# ## Exercises

# %% [markdown]
# ### Exercise `02-p-for-reduction`: the channel ratio for a parameter budget
#
# Write `p_for(r)`, returning the channel ratio `p` that removes a fraction `r` of the parameters
# under the law `r = 1-(1-p)²`. Invert the law yourself (with `math.sqrt`), not with
# `theory.channel_ratio_for`. The check calls it for budgets from 25% to 99%; try `p_for(0.5)` once
# it passes: the channel ratio that halves a model.

# %%
# NBVAL_CHECK_OUTPUT
def p_for(r):
    raise NotImplementedError  # your inverse of the law here


passed = helpers.checks.check("02-p-for-reduction", p_for)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("02-p-for-reduction")

# %% [markdown]
# ## Summary
#
# - Removing `p` of a layer's output channels removes rows of its weight and columns of the next
#   layer's weight; Torch-Pruning removes them together, as one group.
# - A weight between two pruned layers keeps `(1-p)²`; a network made of such weights loses
#   `r = 1-(1-p)²` of its parameters. Inverting the law gives the channel ratio for a budget, always
#   smaller than the budget itself.
# - A plain CNN pruned with Torch-Pruning follows the law within a fraction of a point, for parameters
#   and MACs; the rest is rounding to whole channels and the stem and classifier, which shrink by
#   `1-p` only.
# - On ResNet-18's `layer1.0.conv2`, each of the two groups its weight belongs to loses its
#   lowest-scoring channels (group L2 importance); the surviving rows × columns are `(1-p)²` of the
#   weight, and `BasePruner.step()` keeps exactly those.

# %% [markdown]
# ## Questions
#
# 1. Why does the middle weight of a chain keep `(1-p)²`, while the first convolution, whose inputs are
#    the image's colour channels, keeps `1-p`?
#
#    <details><summary>Answer</summary>
#
#    The middle weight's rows are the output channels of its own layer and its columns the output
#    channels of the layer before; both layers are pruned, so it loses `p` of each. The first
#    convolution's columns are the three colour channels of the image, which no pruner removes: only
#    its rows go.
#
#    </details>
#
# 2. Someone wants to remove half of a model's parameters and sets `pruning_ratio=0.5`. What happens,
#    and what should they set instead?
#
#    <details><summary>Answer</summary>
#
#    `pruning_ratio` counts channels, so about `1-(1-0.5)²`, three quarters, of the parameters go
#    (the quick-reference table). To remove a fraction `r`, they should invert the law for `p` (the
#    exercise), which gives a smaller ratio than `r`.
#
#    </details>
#
# 3. The ResNet-18 above had random weights. If it had been trained, what in the picture would change,
#    and what would not?
#
#    <details><summary>Answer</summary>
#
#    The scores, and so which bars are red and which rows and columns are struck, depend on the
#    weights. How many channels each group loses, `C - int(C × (1-p))`, does not, so the kept block
#    would have the same shape and the same `(1-p)²` area.
#
#    </details>
#
# 4. Why can Torch-Pruning not remove one output channel of `layer1.0.conv2` alone?
#
#    <details><summary>Answer</summary>
#
#    Its outputs are added to the residual stream of the first stage; the same channel of every layer
#    added there, and the input channel of every layer reading the sum, must go with it, or the
#    additions would no longer line up. That is the group of the rows, whose layers the cell listed.
#
#    </details>

# %% [markdown]
# ## Further reading
#
# - [Torch-Pruning](https://github.com/VainF/Torch-Pruning): its README notes that `pruning_ratio`
#   counts channels, so about `1-(1-p)²` of the parameters go; `BasePruner` and the importances used here.
# - Fang et al., [DepGraph: Towards Any Structural Pruning](https://arxiv.org/abs/2301.12900), CVPR
#   2023: the dependency graph that builds the pruning groups, and group importance.
# - Li et al., [Pruning Filters for Efficient ConvNets](https://arxiv.org/abs/1608.08710), ICLR 2017:
#   removing the filters (output channels) of smallest norm, with the next layer's matching inputs.
#
# Next: **03 · Where the rule bends**.
