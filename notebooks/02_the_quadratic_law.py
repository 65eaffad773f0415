# %% [markdown]
# # 02 · The quadratic law
#
# **Learning goals**
# - see what removing a fraction `p` of one layer's output channels does to that layer's weight and to
#   the next layer's;
# - derive the law: a weight between two pruned layers keeps `(1-p)²`, so the parameter reduction is
#   `1-(1-p)²`; and its inverse, `p = 1-√(1-r)`;
# - regenerate the quick-reference table that turns a channel ratio into a parameter reduction;
# - prune a plain CNN with Torch-Pruning and watch the law hold, up to rounding.
#
# **Prerequisites**: 01 · Counting parameters.
#
# **Run time** (from `figures/notebook_times.csv`): about 6 s in quick mode (2-core CPU); full mode (GPU) not measured yet.

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
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch_pruning as tp
from IPython.display import Markdown
from torch import nn

from helpers import counting, theory
from helpers.tables import format_table

# %% [markdown]
# ## One pruned layer, two smaller weights
#
# Take two convolutions in a row. Removing an output channel of the first deletes one filter, a row
# of its weight `(C_out, C_in, K, K)`; the second convolution no longer receives that channel, so
# the matching column of *its* weight goes too. Torch-Pruning finds such dependencies by tracing the
# model (its `DependencyGraph`) and removes them together as one *pruning group*. Here we remove a
# quarter of the first layer's channels, the ones with the smallest weights (for counting, which
# ones does not matter):

# %%
two = nn.Sequential(
    nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.ReLU(),
    nn.Conv2d(32, 64, 3, padding=1, bias=False),
).to(device)
x16 = torch.randn(1, 16, 8, 8, device=device)
shapes_before = [tuple(two[i].weight.shape) for i in (0, 2)]

# %%
# NBVAL_CHECK_OUTPUT
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

# %%
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
Markdown(format_table(rows, [("tensor", "weight", ""), ("before", "before", ",d"), ("after", "after", ",d"),
                             ("kept", "kept", ".4f"), ("power", "kept = k^d, d =", "d")]))

# %%
assert [r["power"] for r in rows] == [1, 2, 1] and all(r["exact"] for r in rows)

# %% [markdown]
# The middle weight sits between two pruned layers: it lost `p` of its columns *and* `p` of its rows,
# and kept `(1-p)²`. The first weight keeps its input channels (the image's), the last its output
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
# Turned around, the channel ratio that removes a fraction `r` of the parameters is
# $p = 1-\sqrt{1-r}$. `helpers.theory` holds both:

# %%
# NBVAL_CHECK_OUTPUT
for p in (0.1, 0.3, 0.5):
    r = theory.param_reduction(p)
    print(f"p = {p}: removes {r:.1%}; channel_ratio_for({r:.2f}) = {theory.channel_ratio_for(r):.2f}")

# %%
grid = np.linspace(0, 0.95, 96)
assert np.allclose([theory.channel_ratio_for(theory.param_reduction(q)) for q in grid], grid)
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
Markdown(theory.quick_reference_markdown())

# %%
SEED_TABLE = {0.1: 19, 0.2: 36, 0.3: 51, 0.4: 64, 0.5: 75, 0.6: 84}  # percentages as that page prints them
assert {p: round(100 * theory.param_reduction(p)) for p in SEED_TABLE} == SEED_TABLE

# %% [markdown]
# And the other way round, the channel ratio to ask for when a parameter budget is given:

# %%
# NBVAL_CHECK_OUTPUT
targets = [{"target": r, "p": theory.channel_ratio_for(r)} for r in (0.25, 0.5, 0.75)]
Markdown(format_table(targets, [("target", "parameters to remove", ".0%"), ("p", "channel ratio p", ".3f")]))

# %%
assert all(t["p"] < t["target"] for t in targets)

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
model = counting.plain_cnn().to(device)
image = torch.randn(1, 3, 32, 32, device=device)
print(model)

# %%
# NBVAL_CHECK_OUTPUT
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
    widths = [m.out_channels for m in net if isinstance(m, nn.Conv2d)]
    sweep.append({"p": p, "measured": result.param_reduction, "macs": result.mac_reduction,
                  "rule": theory.param_reduction(p), "widths": widths})
for row in sweep:
    row["gap"] = 100 * (row["measured"] - row["rule"])

# %%
# NBVAL_CHECK_OUTPUT
Markdown(format_table(sweep, [("p", "p", ".1f"), ("rule", "rule 1-(1-p)^2", ".4f"), ("measured", "params removed", ".4f"),
                              ("gap", "gap (points)", "+.2f"), ("macs", "MACs removed", ".4f")]))

# %%
assert all(abs(row["measured"] - row["rule"]) < 0.005 for row in sweep)
assert all(abs(row["macs"] - row["rule"]) < 0.005 for row in sweep)

# %% [markdown]
# The law holds to a fraction of a percentage point, for parameters and for MACs alike. What is
# left comes from two places. The boundary: the stem and the classifier shrink by `1-p` only. And
# rounding: a layer cannot keep a fraction of a channel, so Torch-Pruning keeps `int(C × (1-p))`
# channels, rounding down, and removes slightly more than `p` of them. At `p = 0.3`:

# %%
# NBVAL_CHECK_OUTPUT
p = 0.3
row = next(r for r in sweep if r["p"] == p)
original = [m.out_channels for m in counting.plain_cnn() if isinstance(m, nn.Conv2d)]
for c0, c1 in zip(original, row["widths"]):
    print(f"{c0:>4} channels x (1-p) = {c0 * (1 - p):6.1f} -> kept {c1}")
assert row["widths"] == [int(c0 * (1 - p)) for c0 in original]

# %% [markdown]
# ## The picture
#
# The measured points sit on the law's curve, far from the naive line "p removes p":

# %%
fig, ax = plt.subplots()
helpers.plots.rule_axes(ax)
ax.set_ylabel("reduction (parameters or MACs)")
ax.plot([r["p"] for r in sweep], [r["measured"] for r in sweep], "o", color="C0", label="plain CNN, params (measured)")
ax.plot([r["p"] for r in sweep], [r["macs"] for r in sweep], "x", color="C1", label="plain CNN, MACs (measured)")
ax.annotate("", xy=(0.5, theory.param_reduction(0.5)), xytext=(0.5, 0.5),
            arrowprops={"arrowstyle": "<->", "color": "C3"})
ax.text(0.52, 0.6, f"p = 0.5: naive {0.5:.0%}, law {theory.param_reduction(0.5):.0%}", color="C3")
ax.set_title("Pruning a fraction p of the channels of a plain CNN")
ax.legend(loc="lower right")
helpers.plots.save(fig, "02_quadratic_law")
plt.show()

# %% [markdown]
# ## Exercises: which `p`?
#
# Use the law (by hand or with `math.sqrt`), not `theory.channel_ratio_for`, and check your answers.

# %%
# NBVAL_CHECK_OUTPUT
p_for_half = ...  # the channel ratio that removes 50% of the parameters
passed = helpers.checks.check("02-p-for-half", p_for_half)

# %%
# NBVAL_CHECK_OUTPUT
p_for_90 = ...  # the channel ratio that removes 90% of the parameters
passed = helpers.checks.check("02-p-for-90", p_for_90)

# %%
# NBVAL_CHECK_OUTPUT
middle_kept = ...  # at p = 0.4, the fraction of its parameters a weight between two pruned layers keeps
passed = helpers.checks.check("02-middle-weight-kept", middle_kept)

# %%
# Reference solutions, once you have tried:
# helpers.checks.reveal("02-p-for-half")
# helpers.checks.reveal("02-p-for-90")
# helpers.checks.reveal("02-middle-weight-kept")

# %% [markdown]
# ## Summary
#
# - Removing `p` of a layer's output channels removes rows of its weight and columns of the next
#   layer's weight; Torch-Pruning removes them together, as one group.
# - A weight between two pruned layers keeps `(1-p)²`; a network made of such weights loses
#   `r = 1-(1-p)²` of its parameters, and `p = 1-√(1-r)` removes a chosen fraction `r`.
# - A plain CNN pruned with Torch-Pruning follows the law within a fraction of a point, for parameters
#   and MACs; the rest is rounding to whole channels and the stem and classifier, which shrink by
#   `1-p` only.
#
# ## Exercises
#
# - `02-p-for-half`: the channel ratio that removes 50% of the parameters.
# - `02-p-for-90`: the channel ratio that removes 90%.
# - `02-middle-weight-kept`: what a weight between two pruned layers keeps at `p = 0.4`.
#
# Next: **03 · Where the rule bends**, where real networks have more boundary than this one.
