# %% [markdown]
# # 03 · Where the rule bends
#
# **Learning goals**
# - measure, one effect at a time, why real CNNs lose a little less than `1-(1-p)²` of their
#   parameters: the stem, the classifier, BatchNorm and biases, depthwise convolutions;
# - read, tensor by tensor, which power of `k = 1-p` each one keeps;
# - see how much a fixed 1000-class classifier holds a small model below the rule;
# - find the channel ratio for a parameter budget where the rule's inverse misses: prune copies and
#   count, by bisection.
#
# **Prerequisites**: 02 · The quadratic law.
#
# **Track**: core
# **Study time**: about 25 min (reading, running the cells and the exercises).
#
# **Run time** (from `figures/notebook_times.csv`): about 7 s in quick mode (2-core CPU); full mode (GPU) not measured yet.

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
from IPython.display import Markdown

from helpers import counting, theory, zoo
from helpers.report import format_table

# %% [markdown]
# Notebook 02 pruned a network made almost entirely of weights between two pruned layers, and the
# law `1-(1-p)²` held. Notebook 00's ResNet-18 lost a little less than the law says. Real CNNs have
# more boundary: an input layer that reads the image, a classifier whose outputs are the classes,
# BatchNorm layers and biases, and in mobile networks depthwise convolutions. This notebook prunes
# ResNet-18 and MobileNetV3-Small with Torch-Pruning and looks at every parameter tensor afterwards,
# to see which of them shrink like `(1-p)²` and which do not, one effect per section.
#
# Throughout, `k = 1-p` is the fraction of channels kept; a tensor with `d` pruned dimensions keeps
# `k^d` of itself. `prune_and_read` prunes a model with `helpers.pruning.prune` (Torch-Pruning's
# `BasePruner` and `step()`, written out in notebook 00) and reads, with `counting.scaling`, which
# power of `k` each tensor kept:

# %%
def prune_and_read(model, example_inputs, p, ignored_layers=(), **kwargs):
    """Prune with Torch-Pruning; return its result and how every parameter tensor shrank."""
    before = counting.snapshot(model)
    result = helpers.pruning.prune(model, example_inputs, p, ignored_layers, **kwargs)
    return result, counting.scaling(before, model, p)


KIND_COLUMNS = [("kind", "tensor kind", ""), ("power", "d (kept = k^d)", "d"), ("tensors", "tensors", "d"),
                ("before", "params before", ",d"), ("share", "share of model", ".2%")]

# %% [markdown]
# ## ResNet-18, tensor by tensor
#
# ResNet-18 at `p = 0.25`, its classifier ignored (the classes stay). Its channel counts, 64 to 512,
# are all multiples of 4, so each layer keeps exactly three quarters of its channels and each
# tensor's kept fraction is an exact power of `k`:

# %%
resnet, example_inputs, ignored = zoo.build("resnet18", device=device)
p = 0.25
result, tensors = prune_and_read(resnet, example_inputs, p, ignored)

# %%
# NBVAL_CHECK_OUTPUT
assert all(t["exact"] for t in tensors) and result.param_reduction < theory.param_reduction(p)
print(f"p = {p}: removed {result.param_reduction:.4f} of the parameters; the rule says {theory.param_reduction(p):.4f}")
Markdown(format_table(counting.scaling_by_kind(tensors), KIND_COLUMNS))

# %% [markdown]
# Most parameters keep `k²`, as in notebook 02; a few tensors keep only `k` or all of themselves, and
# they pull the reduction below the rule. The next sections take them one by one.
#
# ## The stem: the image's channels stay
#
# The first convolution reads the image. Its input channels are the colours, which no pruning can
# remove; only its output channels go. Its weight has one pruned dimension and keeps `k`:

# %%
# NBVAL_CHECK_OUTPUT
row_of = {t["tensor"]: t for t in tensors}
ROW_COLUMNS = [("tensor", "tensor", ""), ("before", "before", ",d"), ("after", "after", ",d"), ("kept", "kept", ".4f"),
               ("power", "d", "d")]
assert row_of["conv1.weight"]["power"] == 1 and row_of["layer1.0.conv1.weight"]["power"] == 2
Markdown(format_table([row_of["conv1.weight"], row_of["layer1.0.conv1.weight"]], ROW_COLUMNS))

# %% [markdown]
# In ResNet-18 the stem is a tiny share of the model (the `conv weight` row with `d = 1` in the
# first table), so it barely moves the total.
#
# ## The classifier: the classes stay
#
# The final `Linear` maps features to classes. We told Torch-Pruning to ignore it (`zoo.build`
# returns it as `ignored_layers`), so its outputs stay; its inputs are the last stage's channels,
# which are pruned. Its weight keeps `k`, its bias (one per class) keeps everything:

# %%
# NBVAL_CHECK_OUTPUT
assert (row_of["fc.weight"]["power"], row_of["fc.bias"]["power"]) == (1, 0)
Markdown(format_table([row_of["fc.weight"], row_of["fc.bias"]], ROW_COLUMNS))

# %% [markdown]
# Left out of `ignored_layers`, the classifier would lose classes along with its channels; see
# **14 · Torch-Pruning pitfalls**, section "The classifier is pruned unless ignored".
#
# ## BatchNorm and biases: one number per channel
#
# A BatchNorm layer holds a scale and a shift per channel, and a bias one number per output channel.
# When the channels shrink by `k`, so do they: one pruned dimension. In ResNet-18's first table, that
# is the `normalisation` row:

# %%
# NBVAL_CHECK_OUTPUT
norms = [t for t in tensors if t["kind"] == "normalisation"]
share = sum(t["before"] for t in norms) / result.params_before
print(f"{len(norms)} BatchNorm tensors, all kept k^1: {all(t['power'] == 1 for t in norms)}; "
      f"{share:.2%} of ResNet-18")
assert all(t["power"] == 1 for t in norms) and share < 0.01

# %% [markdown]
# In ResNet-18 they are a small share; in slimmer networks they weigh more, as the next model shows.
#
# ## Depthwise convolutions: MobileNetV3-Small
#
# A depthwise convolution has weight `(C, 1, K, K)`: each channel is filtered on its own (notebook
# 01). Pruning `p` of its channels removes `p` of its input and output channels together, which is one
# pruned dimension: it keeps `k`, not `k²`. MobileNetV3-Small at `p = 0.5`:

# %%
mobile, example_inputs, ignored = zoo.build("mobilenet_v3_small", device=device)
result_mobile, tensors_mobile = prune_and_read(mobile, example_inputs, 0.5, ignored)

# %%
# NBVAL_CHECK_OUTPUT
print(f"removed {result_mobile.param_reduction:.4f}; the rule says {theory.param_reduction(0.5):.4f}")
Markdown(format_table(counting.scaling_by_kind(tensors_mobile), KIND_COLUMNS))

# %%
# NBVAL_CHECK_OUTPUT
depthwise = [t for t in tensors_mobile if t["kind"] == "depthwise conv weight"]
biases = [t["tensor"] for t in tensors_mobile if t["kind"] == "bias" and t["power"] == 1]
squeeze_excite = [b for b in biases if b.endswith(("fc1.bias", "fc2.bias"))]
largest_k1 = max((t for t in tensors_mobile if t["power"] == 1), key=lambda t: t["before"])
norm_share = sum(t["before"] for t in tensors_mobile if t["kind"] == "normalisation") / result_mobile.params_before
print(f"{len(depthwise)} depthwise weights, all kept k^1: {all(t['power'] == 1 for t in depthwise)}")
print(f"{len(biases)} biases kept k^1: {len(squeeze_excite)} in squeeze-and-excitation layers, and "
      f"{', '.join(b for b in biases if b not in squeeze_excite)}")
print(f"largest k^1 tensor: {largest_k1['tensor']}, {largest_k1['before'] / result_mobile.params_before:.2%} "
      f"of the model (ResNet-18's fc.weight: {row_of['fc.weight']['before'] / result.params_before:.2%})")
print(f"BatchNorm: {norm_share:.2%} of MobileNetV3-Small, {share:.2%} of ResNet-18")
assert depthwise and all(t["power"] == 1 for t in depthwise)
assert largest_k1["tensor"] == "classifier.3.weight" and norm_share > share
assert largest_k1["before"] / result_mobile.params_before > 5 * row_of["fc.weight"]["before"] / result.params_before

# %% [markdown]
# MobileNetV3-Small lands well below the rule (the "removed" line above). Its depthwise weights keep
# `k`, and so do the biases of its squeeze-and-excitation layers and of its classifier's first layer;
# BatchNorm weighs more than in ResNet-18. But the biggest `k¹` tensor is not a depthwise
# convolution: it is the last classifier layer, whose outputs (the classes) are fixed, and it holds a
# far larger share of this small model than `fc` holds of ResNet-18.
#
# ## The classifier holds small models below the rule
#
# How much of the gap is the classifier's? Build the same network with a 10-class head instead of a
# 1000-class one, prune it alike, and compare:

# %%
# NBVAL_CHECK_OUTPUT
mobile10, example_inputs, ignored10 = zoo.build("mobilenet_v3_small", device=device, num_classes=10)
result_mobile10 = helpers.pruning.prune(mobile10, example_inputs, 0.5, ignored10)
rule = theory.param_reduction(0.5)
for classes, res in ((1000, result_mobile), (10, result_mobile10)):
    print(f"{classes:>4} classes: {res.params_before:>9,} parameters, removed {res.param_reduction:.4f} "
          f"({100 * (rule - res.param_reduction):.1f} points below the rule)")
closed = 1 - (rule - result_mobile10.param_reduction) / (rule - result_mobile.param_reduction)
print(f"the 10-class head closes {closed:.0%} of the 1000-class model's gap to the rule")
assert closed > 0.75

# %% [markdown]
# With 10 classes the same backbone lands close to the rule: most of the 1000-class model's gap came
# from the classes it must keep. A fixed classifier weighs most in a small model,
# and holds it below the rule; the same network built for a task with few classes loses more.
# Notebook 05's explorer lets you switch the head between 10, 100 and 1000 classes.
#
# ## A parameter budget when the rule bends
#
# Say you must remove half of MobileNetV3-Small's parameters. The law's inverse (notebook 02) names a
# channel ratio; on this model it falls short:

# %%
# NBVAL_CHECK_OUTPUT
budget = 0.5
p_law = theory.channel_ratio_for(budget)
budget_net, example_inputs, budget_ignored = zoo.build("mobilenet_v3_small", device=device)
achieved = helpers.pruning.prune(budget_net, example_inputs, p_law, budget_ignored, count_macs=False).param_reduction
print(f"the law's p for a {budget:.0%} budget: {p_law:.4f}; on MobileNetV3-Small it removes {achieved:.2%}")
assert achieved < budget - 0.05

# %% [markdown]
# No formula from this notebook gives the right `p` for every model and every pruner setting. What
# always works is to measure: prune a copy at a trial `p`, count, and narrow `p` down until the count
# meets the budget. The reduction grows with `p` (each group keeps `int(C × (1-p))` channels, which
# never grows as `p` grows), so bisection finds it: your exercise. Notebook 05 predicts the count
# without pruning.

# %% [markdown]
# ## Exercises

# %% [markdown]
# ### Exercise `03-ratio-for-budget`: find `p` for a budget by pruning and counting
#
# Write `ratio_for_budget(model, example_inputs, ignored_layers, target)`, returning a channel ratio
# `p` at which Torch-Pruning's `BasePruner` (group L2 importance, as in notebook 00, with
# `ignored_layers`) removes a fraction `target` of the model's parameters, within half a percentage
# point. Use bisection: keep an interval `[low, high]` of channel ratios whose reductions bracket the
# target, prune a copy at its middle, count, and keep the half that still brackets the target.
#
# Prune a **copy** at each step, never `model` itself. `net, ignored = copy.deepcopy((model,
# ignored_layers))` copies the model and maps the ignored layers onto the copy's own: copying the
# model alone would leave `ignored_layers` naming layers the copy does not contain. The check runs
# your function on a fresh MobileNetV3-Small for a 40% budget (a dozen prunes, some seconds).

# %%
# NBVAL_CHECK_OUTPUT
import copy

import torch_pruning as tp


def ratio_for_budget(model, example_inputs, ignored_layers, target):
    raise NotImplementedError  # your bisection here


passed = helpers.checks.check("03-ratio-for-budget", ratio_for_budget)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("03-ratio-for-budget")

# %% [markdown]
# ## Summary
#
# - Under local pruning, each parameter tensor keeps `k^d`, `k = 1-p`, where `d` counts its pruned
#   dimensions: 2 between two pruned layers, 1 for the stem, the classifier's weight, depthwise
#   convolutions, BatchNorm and biases, 0 for what is never pruned (the classifier's bias).
# - These `k¹` and `k⁰` tensors pull a model's reduction below the rule: a little for ResNet-18, where
#   almost all parameters sit between pruned layers, much more for MobileNetV3-Small.
# - In MobileNetV3-Small the largest `k¹` tensor is the classifier's last layer, not the depthwise
#   convolutions; with a 10-class head the same backbone lands much closer to the rule.
# - Where the rule bends, its inverse misses a parameter budget; pruning copies and counting, by
#   bisection, finds the channel ratio for any model and pruner setting.

# %% [markdown]
# ## Questions
#
# 1. Why does the stem's weight keep `k` of itself and not `k²`, though it is an ordinary convolution?
#
# <details><summary>Answer</summary>
#
# Its input channels are the image's colour channels, which pruning cannot remove; only its output
# channels go. One of its two channel dimensions shrinks, so it keeps `k`.
#
# </details>
#
# 2. A depthwise convolution loses both input and output channels. Why does its weight keep `k` and
#    not `k²`?
#
# <details><summary>Answer</summary>
#
# Its weight `(C, 1, K, K)` holds one filter per channel, not one per (input, output) pair: input
# and output channels are the same channels. Removing a channel removes one filter, a single pruned
# dimension.
#
# </details>
#
# 3. The classifier's bias keeps all of itself, a BatchNorm shift keeps `k`. What decides which?
#
# <details><summary>Answer</summary>
#
# Both hold one number per channel of the layer's output. BatchNorm's channels are pruned with the
# convolution before it; the classifier's outputs are the classes, which `ignored_layers` keeps.
#
# </details>
#
# 4. Why must `ratio_for_budget` prune a copy at every step rather than the model it was given?
#
# <details><summary>Answer</summary>
#
# Pruning is in place: after one step the model has fewer channels, and the next trial would prune
# what is left, a fraction of a fraction, so no trial would measure what `p` does to the original
# model. Each trial needs a fresh copy, with `ignored_layers` naming the copy's own layers.
#
# </details>

# %% [markdown]
# ## Further reading
#
# - Torch-Pruning, [github.com/VainF/Torch-Pruning](https://github.com/VainF/Torch-Pruning): the
#   README's quick start, and `ignored_layers` for the layers whose outputs must stay.
# - Fang et al., "DepGraph: Towards Any Structural Pruning", CVPR 2023,
#   [arXiv:2301.12900](https://arxiv.org/abs/2301.12900): how Torch-Pruning finds which tensors lose
#   which dimension when a layer's channels go.
# - Howard et al., "Searching for MobileNetV3", ICCV 2019,
#   [arXiv:1905.02244](https://arxiv.org/abs/1905.02244): the architecture pruned here, with its
#   depthwise convolutions, squeeze-and-excitation layers and two-layer classifier.
# - Python's [`copy.deepcopy`](https://docs.python.org/3/library/copy.html): one call copies several
#   objects and keeps the references between them, which maps `ignored_layers` onto the copy.
#
# Next: **04 · Groups and rounding**.
