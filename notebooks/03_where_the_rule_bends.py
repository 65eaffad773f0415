# %% [markdown]
# # 03 · Where the rule bends
#
# **Learning goals**
# - measure, one effect at a time, why real CNNs lose a little less than `1-(1-p)²` of their
#   parameters: the stem, the classifier, BatchNorm and biases, depthwise convolutions;
# - read, tensor by tensor, which power of `k = 1-p` each one keeps;
# - see what forgetting to ignore the classifier does to the count and to the model.
#
# **Prerequisites**: 02 · The quadratic law.
#
# **Study time**: about 25 min (reading, running the cells and the exercises).
#
# **Run time** (from `figures/notebook_times.csv`): about 5 s in quick mode (2-core CPU); full mode (GPU) not measured yet.

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
# law `1-(1-p)²` held. Real CNNs have more boundary: an input layer that reads the image, a
# classifier whose outputs are the classes, BatchNorm layers and biases, and in mobile networks
# depthwise convolutions. This notebook prunes ResNet-18 and MobileNetV3-Small with Torch-Pruning and
# looks at every parameter tensor afterwards, to see which of them shrink like `(1-p)²` and which do
# not, one effect per section.
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
# ## ResNet-18 at p = 0.5
#
# The model of notebook 00 again, its classifier ignored (the classes stay). At `p = 0.5` every
# channel count of ResNet-18 halves exactly, so each tensor's kept fraction is an exact power of `k`:

# %%
resnet, example_inputs, ignored = zoo.build("resnet18", device=device)
result, tensors = prune_and_read(resnet, example_inputs, 0.5, ignored)

# %%
# NBVAL_CHECK_OUTPUT
print(f"removed {result.param_reduction:.4f} of the parameters; the rule says {theory.param_reduction(0.5):.4f}")
Markdown(format_table(counting.scaling_by_kind(tensors), KIND_COLUMNS))

# %%
assert all(t["exact"] for t in tensors) and result.param_reduction < theory.param_reduction(0.5)

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
Markdown(format_table([row_of["conv1.weight"], row_of["layer1.0.conv1.weight"]], ROW_COLUMNS))

# %%
assert row_of["conv1.weight"]["power"] == 1 and row_of["layer1.0.conv1.weight"]["power"] == 2

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
Markdown(format_table([row_of["fc.weight"], row_of["fc.bias"]], ROW_COLUMNS))

# %%
assert (row_of["fc.weight"]["power"], row_of["fc.bias"]["power"]) == (1, 0)

# %% [markdown]
# **Forgetting to ignore it.** Without `ignored_layers`, Torch-Pruning treats the classifier's outputs
# like any other channels and prunes the classes themselves. The model still runs, but it no longer
# answers the question it was built for:

# %%
unguarded, example_inputs, _ = zoo.build("resnet18", device=device)
result_unguarded, tensors_unguarded = prune_and_read(unguarded, example_inputs, 0.5, ignored_layers=[])

# %%
# NBVAL_CHECK_OUTPUT
with torch.no_grad():
    print("output shape:", tuple(unguarded(example_inputs).shape), "| with the classifier ignored:",
          tuple(resnet(example_inputs).shape))
print(f"removed {result_unguarded.param_reduction:.4f}; the rule says {theory.param_reduction(0.5):.4f}")
Markdown(format_table(counting.scaling_by_kind(tensors_unguarded), KIND_COLUMNS))

# %%
with torch.no_grad():
    assert unguarded(example_inputs).shape[1] < resnet(example_inputs).shape[1]
assert abs(result_unguarded.param_reduction - theory.param_reduction(0.5)) < 0.001

# %% [markdown]
# With the classifier's weight now between two pruned dimensions, the reduction lands on the rule:
# a broken model that agrees with the formula. Torch-Pruning's README latency log for ResNet-50
# prunes without ignoring anything, which is why its numbers match the quick-reference table so well
# (notebook 07 reproduces it).
#
# ## BatchNorm and biases: one number per channel
#
# A BatchNorm layer holds a scale and a shift per channel, and a bias one number per output channel.
# When the channels shrink by `k`, so do they: one pruned dimension. In ResNet-18's first table, that
# is the `normalisation` row (and, in the unguarded model's table, the classifier's bias):

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
# pruned dimension: it keeps `k`, not `k²`.

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
assert result_mobile.param_reduction < result.param_reduction - 0.05

# %% [markdown]
# MobileNetV3-Small lands much further below the rule than ResNet-18. Its depthwise weights keep
# `k`, and so do the biases of its squeeze-and-excitation layers and of its classifier's first layer;
# BatchNorm weighs more than in ResNet-18. But the biggest `k¹` tensor is not a depthwise
# convolution: it is the last classifier layer, whose outputs (the classes) are fixed, and it holds a
# far larger share of this small model than `fc` holds of ResNet-18. Notebook 06 measures that share
# across the model zoo and rebuilds each model with a 10-class head.

# %% [markdown]
# ## Exercises

# %% [markdown]
# ### Exercise `03-classifier-head-kept`: count what MobileNetV3-Small's classifier keeps at p = 0.25
#
# MobileNetV3-Small's classifier is two `Linear` layers, both with a bias (printed below, before any
# pruning). Prune the model at `p = 0.25` with its last layer ignored, as above: how many parameters
# does the whole classifier keep? Decide, tensor by tensor, how many pruned dimensions it has, and
# remember that channel counts are whole numbers.

# %%
# NBVAL_CHECK_OUTPUT
head = zoo.build("mobilenet_v3_small", device=device)[0].classifier  # a fresh, unpruned copy
print(head)
print(f"{counting.n_params(head):,} parameters before pruning")

# %%
# NBVAL_CHECK_OUTPUT
classifier_kept = ...  # parameters of the classifier after pruning at p = 0.25 (weights and biases)
passed = helpers.checks.check("03-classifier-head-kept", classifier_kept)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("03-classifier-head-kept")

# %% [markdown]
# Once you have answered, let Torch-Pruning settle it:

# %%
check_net, check_inputs, check_ignored = zoo.build("mobilenet_v3_small", device=device)
helpers.pruning.prune(check_net, check_inputs, 0.25, check_ignored)
print(check_net.classifier)
print(f"{counting.n_params(check_net.classifier):,} parameters after pruning at p = 0.25")
assert counting.n_params(check_net.classifier) == helpers.checks.solution("03-classifier-head-kept")

# %% [markdown]
# ## Summary
#
# - Under local pruning, each parameter tensor keeps `k^d`, `k = 1-p`, where `d` counts its pruned
#   dimensions: 2 between two pruned layers, 1 for the stem, the classifier's weight, depthwise
#   convolutions, BatchNorm and biases, 0 for what is never pruned (the classifier's bias). At
#   `p = 0.5` on ResNet-18 every tensor's kept fraction is exactly such a power.
# - These `k¹` and `k⁰` tensors pull a model's reduction below the rule: a little for ResNet-18, where
#   almost all parameters sit between pruned layers, much more for MobileNetV3-Small.
# - In MobileNetV3-Small the largest `k¹` tensor is the classifier's last layer, not the depthwise
#   convolutions.
# - Forgetting to ignore the classifier prunes the classes: the reduction lands on the rule, and the
#   model no longer has one output per class.

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
# 2. Without `ignored_layers`, ResNet-18's reduction matched the rule almost exactly. Why is that not
#    a sign of better pruning?
#
# <details><summary>Answer</summary>
#
# The classifier's weight then lies between two pruned dimensions, so it keeps `k²` like the rest,
# but its pruned outputs were the classes: the model predicts fewer classes than the task has. The
# count agrees with the formula because the model is broken.
#
# </details>
#
# 3. A depthwise convolution loses both input and output channels. Why does its weight keep `k` and
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
# 4. The classifier's bias keeps all of itself, a BatchNorm shift keeps `k`. What decides which?
#
# <details><summary>Answer</summary>
#
# Both hold one number per channel of the layer's output. BatchNorm's channels are pruned with the
# convolution before it; the classifier's outputs are the classes, which `ignored_layers` keeps.
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
# - Li et al., "Pruning Filters for Efficient ConvNets", ICLR 2017,
#   [arXiv:1608.08710](https://arxiv.org/abs/1608.08710): removing a filter also removes the next
#   layer's matching input channels, the origin of the `k²`.
# - Howard et al., "Searching for MobileNetV3", ICCV 2019,
#   [arXiv:1905.02244](https://arxiv.org/abs/1905.02244): the architecture pruned here, with its
#   depthwise convolutions, squeeze-and-excitation layers and two-layer classifier.
# - PyTorch, [`nn.Conv2d`](https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html): the
#   `groups` argument behind depthwise convolutions.
#
# Next: **04 · Groups and rounding**.
