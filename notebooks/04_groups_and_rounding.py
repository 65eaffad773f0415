# %% [markdown]
# # 04 · Groups and rounding
#
# **Learning goals**
# - see how Torch-Pruning couples layers into pruning groups (residual additions, concatenations)
#   and what protecting one layer of a group does;
# - measure how rounding to whole channels (`int`, `round_to`, the small widths of grouped
#   convolutions) moves the count away from the rule;
# - see that global pruning gives every layer its own ratio, so no formula gives its count.
#
# **Prerequisites**: 03 · Where the rule bends.
#
# **Track**: core
# **Study time**: about 30 min (reading, running the cells and the exercises).
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
import torch
import torch_pruning as tp
import torchvision
from IPython.display import Markdown
from torch import nn

from helpers import counting, theory, zoo

# %% [markdown]
# Notebook 03 looked at one tensor at a time. Torch-Pruning does not prune tensors, though, nor even
# layers: it prunes **groups** of layers whose channels must go together, and it keeps a whole
# number of channels in each. This notebook shows how residual additions and concatenations form
# those groups, what protecting one layer of a group does, how rounding to whole channels (`int`,
# `round_to`, the small widths of grouped convolutions) moves the count away from the rule, and what
# changes when Torch-Pruning ranks channels across all groups at once (global pruning).
#
# ## Residual additions: one group across a stage
#
# A residual block adds its input to its output, so both must have the same channels, in the same
# order. Torch-Pruning's dependency graph couples every layer that feeds or reads such an addition
# into one **pruning group**, pruned as a unit. Here is the group of ResNet-18's stem output:

# %%
resnet_fresh, example_inputs, ignored = zoo.build("resnet18", device=device)
graph = tp.DependencyGraph().build_dependency(resnet_fresh, example_inputs=example_inputs)
names = {module: name for name, module in resnet_fresh.named_modules()}

# %%
# NBVAL_CHECK_OUTPUT
group = graph.get_pruning_group(resnet_fresh.conv1, tp.prune_conv_out_channels, idxs=[0])
members = sorted({(names[dep.target.module], dep.handler.__name__) for dep, _ in group
                  if dep.target.module in names})
for name, handler in members:
    print(f"{handler:<20} {name}")

# %% [markdown]
# `get_all_groups` lists every group `BasePruner` will prune: it skips a group in which a layer of
# `ignored_layers` would lose output channels (a group that only prunes an ignored layer's inputs,
# like the last stage's group with `fc`, is still pruned: notebook 03's `fc.weight` kept `k`), and
# roots each group at a convolution or linear layer (`root_module_types`):

# %%
# NBVAL_CHECK_OUTPUT
groups = list(graph.get_all_groups(ignored_layers=ignored, root_module_types=[nn.Conv2d, nn.Linear]))
n_convs = sum(isinstance(m, nn.Conv2d) for m in resnet_fresh.modules())
print(f"{n_convs} convolutions, {len(groups)} pruning groups")
assert len(groups) < n_convs
assert any(dep.target.module is resnet_fresh.fc for g in groups for dep, _ in g)  # fc's inputs: still pruned

# %% [markdown]
# Coupling does not change the count by itself: the group still loses `p` of its channels. It
# changes what a setting means. `ignored_layers` protects a layer's outputs, and a group that
# would prune a protected layer's outputs is skipped whole. Prune ResNet-18 at `p = 0.3` twice, once as usual (the
# reference for the rest of this notebook) and once with a single convolution of the first stage
# protected as well:

# %%
p = 0.3
reference, example_inputs, ignored = zoo.build("resnet18", device=device)
result = helpers.pruning.prune(reference, example_inputs, p, ignored)
coupled, example_inputs, ignored = zoo.build("resnet18", device=device)
result_coupled = helpers.pruning.prune(coupled, example_inputs, p, ignored + [coupled.layer1[0].conv2])

# %%
# NBVAL_CHECK_OUTPUT
stage1 = [coupled.conv1] + [block.conv2 for block in coupled.layer1]
print(f"stem and stage-1 block outputs: {[m.out_channels for m in stage1]} "
      f"(the reference: {reference.conv1.out_channels})")
print(f"layer1.0.conv1 outputs (its own group): {coupled.layer1[0].conv1.out_channels}")
print(f"removed {result_coupled.param_reduction:.4f} instead of {result.param_reduction:.4f}")
assert all(m.out_channels == resnet_fresh.conv1.out_channels for m in stage1)
assert coupled.layer1[0].conv1.out_channels == reference.layer1[0].conv1.out_channels
assert result_coupled.param_reduction < result.param_reduction

# %% [markdown]
# The stem and every block output of the first stage kept all their channels: they are one group.
# The block's inner convolution `layer1.0.conv1` is a group of its own and was pruned as usual.
#
# ## Concatenation: DenseNet
#
# A DenseNet layer concatenates its new channels to everything before it, and every later layer of
# the block reads the whole concatenation. Torch-Pruning maps channel indices through the
# concatenations: removing a channel of one layer removes the matching input slice of every later
# reader. We build the first two dense blocks of DenseNet-121 (torchvision's `DenseNet` class with
# DenseNet-121's growth rate and layer counts) to keep the notebook quick:

# %%
def dense_blocks():
    """DenseNet-121's first two dense blocks (same growth rate 32, 6 and 12 layers), random weights."""
    torch.manual_seed(0)
    return torchvision.models.DenseNet(growth_rate=32, block_config=(6, 12), num_init_features=64).eval().to(device)


dense = dense_blocks()
dense_graph = tp.DependencyGraph().build_dependency(dense, example_inputs=example_inputs)
dense_names = {module: name for name, module in dense.named_modules()}

# %%
# NBVAL_CHECK_OUTPUT
first_layer = dense.features.denseblock1.denselayer1.conv2
group = dense_graph.get_pruning_group(first_layer, tp.prune_conv_out_channels,
                                      idxs=list(range(first_layer.out_channels)))
for dep, idxs in group:
    if dep.target.module in dense_names:  # skip the traced operations (concatenations, ReLU, ...)
        print(f"{dep.handler.__name__:<20} {dense_names[dep.target.module]:<42} "
              f"channels {min(idxs)}..{max(idxs)}")

# %% [markdown]
# The first layer's new channels are a slice of every concatenation that follows, placed after the
# stem's channels. Each part of a concatenation is its own group, pruned and rounded on its own:

# %%
block1 = dense.features.denseblock1
parts = [dense.features.conv0.out_channels] + [layer.conv2.out_channels for layer in block1.children()]
dense_before = counting.snapshot(dense)
result_dense = helpers.pruning.prune(dense, example_inputs, p, [dense.classifier])

# %%
# NBVAL_CHECK_OUTPUT
width = dense.features.transition1.norm.num_features
print(f"block 1 output: parts {parts}, {sum(parts)} channels in all")
print(f"int({sum(parts)} x (1-p)) = {int(sum(parts) * (1 - p))}; sum of int(part x (1-p)) = "
      f"{sum(int(c * (1 - p)) for c in parts)}; pruned model: {width}")
print(f"removed {result_dense.param_reduction:.4f}; the rule says {theory.param_reduction(p):.4f}")
assert width == sum(int(c * (1 - p)) for c in parts) < int(sum(parts) * (1 - p))
assert result_dense.param_reduction < theory.param_reduction(p)

# %% [markdown]
# Rounding each layer's part down removes a little more than `p` of the channels, which alone
# would push the reduction *above* the rule. What pulls it below are the tensors that keep `k`
# instead of `k²`: each keeps `k - k²` of itself more than the rule says. Their shares, and the
# points each costs the reduction:

# %%
# NBVAL_CHECK_OUTPUT
def share_of(snapshot, kind):
    return sum(n for k, n in snapshot.values() if k == kind) / sum(n for _, n in snapshot.values())


for kind in ("normalisation", "linear weight"):
    print(f"{kind:<14} DenseNet blocks {share_of(dense_before, kind):6.2%} | "
          f"ResNet-18 {share_of(counting.snapshot(resnet_fresh), kind):6.2%}")
assert share_of(dense_before, "normalisation") > 10 * share_of(counting.snapshot(resnet_fresh), "normalisation")
k = 1 - p
cost = {kind: 100 * share_of(dense_before, kind) * (k - k * k) for kind in ("normalisation", "linear weight")}
assert cost["linear weight"] > 10 * cost["normalisation"]  # the ignored classifier, not BatchNorm, makes the gap
Markdown(f"In the two DenseNet blocks, the ignored classifier alone keeps **{cost['linear weight']:.1f} points** "
         f"more than the rule; BatchNorm, though ten times its ResNet-18 share, **{cost['normalisation']:.2f}**.")

# %% [markdown]
# ## Rounding: `round_to` and group widths
#
# Torch-Pruning keeps `int(C × (1-p))` channels of each group: whole channels, rounded down. Its
# `round_to=n` option rounds the kept count further down to a multiple of `n` (some GPU kernels
# prefer channel counts that are multiples of 8). The reference above next to the same pruning with
# `round_to=8`:

# %%
# NBVAL_CHECK_OUTPUT
by_8, example_inputs, ignored = zoo.build("resnet18", device=device)
result_8 = helpers.pruning.prune(by_8, example_inputs, p, ignored, round_to=8)
for label, res, net in (("round_to=None", result, reference), ("round_to=8", result_8, by_8)):
    print(f"{label:<13}: stem keeps {net.conv1.out_channels} of {resnet_fresh.conv1.out_channels} channels, "
          f"last stage {net.layer4[0].conv2.out_channels} of {resnet_fresh.layer4[0].conv2.out_channels}; "
          f"removed {res.param_reduction:.4f}")
print(f"the rule says {theory.param_reduction(p):.4f}")
assert reference.conv1.out_channels == int(resnet_fresh.conv1.out_channels * (1 - p))
assert by_8.conv1.out_channels % 8 == 0 and by_8.layer4[0].conv2.out_channels % 8 == 0
assert result_8.param_reduction > result.param_reduction

# %% [markdown]
# **Grouped convolutions.** RegNet and ResNeXt split a convolution's channels into groups of a fixed
# width. Torch-Pruning keeps the number of groups and prunes inside each group, so the rounding
# applies to each group's small width. RegNetY-400MF's first grouped convolution:

# %%
# NBVAL_CHECK_OUTPUT
regnet, example_inputs, ignored = zoo.build("regnet_y_400mf", device=device)
grouped = regnet.trunk_output.block1[0].f.b[0]
c0, g0 = grouped.out_channels, grouped.groups
print(f"{c0} channels in {g0} groups of {c0 // g0}")
assert (c0, g0) == (48, 6)

# %% [markdown]
# At `p = 0.3`, `8 × (1-p)` is not a whole number of channels. Prune the model and look:

# %%
# NBVAL_CHECK_OUTPUT
result_regnet = helpers.pruning.prune(regnet, example_inputs, p, ignored)
c1, g1 = grouped.out_channels, grouped.groups
print(f"after p = {p}: {c1} channels in {g1} groups of {c1 // g1}")
print(f"kept {c1 / c0:.3f} of the channels, not {1 - p:.3f}")
print(f"removed {result_regnet.param_reduction:.4f}; the rule says {theory.param_reduction(p):.4f}")
assert g1 == g0 and c1 / c0 < 1 - p and result_regnet.param_reduction > theory.param_reduction(p)

# %% [markdown]
# Rounding inside small groups removes more than asked, and RegNetY lands *above* the rule at this
# ratio. The kept width moves in steps of one channel per group, so the count follows a staircase in
# `p`; notebook 05 draws it and finds ratios where RegNetY lands below the rule instead. Add
# `round_to` on top and a grouped layer can lose far more than `p`, even at a tiny `p`: see
# **14 · Torch-Pruning pitfalls**, section "round_to on grouped convolutions".
#
# ## Global pruning: per-layer ratios differ
#
# Everything so far was *local* pruning: each group loses `p` of its channels. With
# `global_pruning=True`, Torch-Pruning ranks the channels of all groups together and removes the
# least important `p` of them overall, so each layer ends up with its own ratio. At the same `p` as
# the reference:

# %%
# NBVAL_CHECK_OUTPUT
global_net, example_inputs, ignored = zoo.build("resnet18", device=device)
result_global = helpers.pruning.prune(global_net, example_inputs, p, ignored, global_pruning=True)
ratios = {n: 1 - m.out_channels / resnet_fresh.get_submodule(n).out_channels
          for n, m in global_net.named_modules() if isinstance(m, nn.Conv2d)}
low, high = min(ratios, key=ratios.get), max(ratios, key=ratios.get)
print(f"per-layer ratios from {ratios[low]:.2f} ({low}) to {ratios[high]:.2f} ({high})")
print(f"removed {result_global.param_reduction:.4f} of the parameters (local pruning: {result.param_reduction:.4f})")
assert ratios[low] < p < ratios[high] and ratios[high] - ratios[low] > 0.02  # the layers no longer share one ratio
assert result_global.param_reduction != result.param_reduction

# %% [markdown]
# With these random weights the per-layer ratios spread around `p`, and the model loses a different
# fraction of its parameters than under local pruning. The count then depends on which channels the
# importance ranks lowest, so it has to be measured after pruning (by bisection, as in notebook 03),
# not read off `1-(1-p)²`. Global pruning has surprises of its own; see **14 · Torch-Pruning
# pitfalls**, sections "Iterative global pruning removes fewer parameters" and "Global pruning that
# grows the model (#417)".

# %% [markdown]
# ## Exercises

# %% [markdown]
# ### Exercise `04-protected-convs`: which convolutions does `ignored_layers` protect?
#
# Write `protected_convs(model, example_inputs, ignored_layers)`, returning the set of names (as in
# `model.named_modules()`) of the convolutions whose output channels `BasePruner` leaves whole when
# given `ignored_layers`. Read it from the dependency graph, as above: a convolution is protected
# when no group that `get_all_groups` yields prunes its outputs (`graph.is_out_channel_pruning_fn(
# dep.handler)` tells whether a member of a group loses output channels). The check compares with
# Torch-Pruning itself, pruning ResNet-18 and MobileNetV2 with other layers protected than above.

# %%
# NBVAL_CHECK_OUTPUT
def protected_convs(model, example_inputs, ignored_layers):
    raise NotImplementedError  # your code here: a set of layer names


passed = helpers.checks.check("04-protected-convs", protected_convs)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("04-protected-convs")

# %% [markdown]
# ## Summary
#
# - Residual additions couple every layer that feeds or reads them into one pruning group (ResNet-18
#   has fewer groups than convolutions); protecting one layer with `ignored_layers` protects its
#   whole group, and the model loses less.
# - Concatenations map each part to its own group: DenseNet's concatenated width is the sum of each
#   part rounded down, slightly below `int(C × (1-p))` of the whole, and its ignored classifier, a
#   large share of two blocks, pulls its reduction below the rule.
# - Torch-Pruning keeps `int(C × (1-p))` channels per group; `round_to=8` rounds further down and
#   removes more. Grouped convolutions round inside each small group, and RegNetY landed above the
#   rule at `p = 0.3`.
# - Global pruning gives each layer its own ratio, and the count moves away from local pruning's: it
#   has to be measured.

# %% [markdown]
# ## Questions
#
# 1. Protecting the single convolution `layer1.0.conv2` kept the stem's channels too. Why?
#
# <details><summary>Answer</summary>
#
# Its output is added to the stem's output by the residual connection, so they share channels and
# sit in one pruning group. `ignored_layers` protects a layer's outputs, and a group that would prune
# a protected layer's outputs is skipped whole.
#
# </details>
#
# 2. In the DenseNet blocks, why is the pruned concatenation narrower than `int(C × (1-p))` of its
#    full width?
#
# <details><summary>Answer</summary>
#
# Each part of the concatenation is its own group and is rounded down on its own; the sum of several
# values rounded down is at most, and here below, the whole rounded down once.
#
# </details>
#
# 3. Why does rounding move RegNetY's count much more than ResNet-18's (notebook 05 measures both)?
#
# <details><summary>Answer</summary>
#
# Rounding loses less than one channel per group. In ResNet-18 a group has tens to hundreds of
# channels, so that is a small fraction; in RegNetY's grouped convolutions it is a fraction of a
# group of only 8 channels.
#
# </details>
#
# 4. Why is there no closed formula like `1-(1-p)²` for global pruning?
#
# <details><summary>Answer</summary>
#
# Global pruning ranks the channels of all groups by importance and removes the lowest `p` overall,
# so each layer's ratio depends on the weights. The count follows from those per-layer ratios, which
# only pruning (or a per-layer prediction) gives.
#
# </details>

# %% [markdown]
# ## Further reading
#
# - Fang et al., "DepGraph: Towards Any Structural Pruning", CVPR 2023,
#   [arXiv:2301.12900](https://arxiv.org/abs/2301.12900): the dependency graph that builds the pruning
#   groups shown here.
# - Torch-Pruning, [github.com/VainF/Torch-Pruning](https://github.com/VainF/Torch-Pruning): the
#   pruner's `round_to`, `ignored_layers` and `global_pruning` options.
# - Huang et al., "Densely Connected Convolutional Networks", CVPR 2017,
#   [arXiv:1608.06993](https://arxiv.org/abs/1608.06993): the concatenations of DenseNet.
# - Radosavovic et al., "Designing Network Design Spaces", CVPR 2020,
#   [arXiv:2003.13678](https://arxiv.org/abs/2003.13678): RegNet and its fixed group width.
#
# Next: **05 · The exact count**.
