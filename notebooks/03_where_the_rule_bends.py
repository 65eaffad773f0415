# %% [markdown]
# # 03 · Where the rule bends
#
# **Learning goals**
# - measure, one effect at a time, why real CNNs lose a little less than `1-(1-p)²` of their
#   parameters: the stem, the classifier, BatchNorm and biases, depthwise convolutions;
# - read, tensor by tensor, which power of `k = 1-p` each one keeps.
#
# **Prerequisites**: 02 · The quadratic law.
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
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch_pruning as tp
import torchvision
from IPython.display import Markdown, display
from torch import nn
from tqdm import tqdm

from helpers import counting, theory, zoo
from helpers.predict import ParameterModel
from helpers.tables import format_table

# %% [markdown]
# Notebook 02 pruned a network made almost entirely of weights between two pruned layers, and the
# law held. Real CNNs have more boundary. Throughout, `k = 1-p` is the fraction of channels kept; a
# tensor with `d` pruned dimensions keeps `k^d` of itself. `prune_and_read` prunes a model with
# Torch-Pruning and reads, with `counting.scaling`, which power of `k` each tensor kept:

# %%
def prune_and_read(model, example_inputs, p, ignored_layers=(), **kwargs):
    """Prune with Torch-Pruning; return its result and how every parameter tensor shrank."""
    before = counting.snapshot(model)
    result = helpers.pruning.prune(model, example_inputs, p, ignored_layers, **kwargs)
    return result, counting.scaling(before, model, p)


KIND_COLUMNS = [("kind", "tensor kind", ""), ("power", "d (kept = k^d)", "d"), ("tensors", "tensors", "d"),
                ("before", "params before", ",d"), ("share", "share of model", ".2%")]
measured = {}  # (model, p, round_to) -> params after pruning, compared with the predictor at the end

# %% [markdown]
# ## ResNet-18 at p = 0.5
#
# The model of notebook 00 again, its classifier ignored (the classes stay). At `p = 0.5` every
# channel count of ResNet-18 halves exactly, so each tensor's kept fraction is an exact power of `k`:

# %%
resnet, example_inputs, ignored = zoo.build("resnet18", device=device)
result, tensors = prune_and_read(resnet, example_inputs, 0.5, ignored)
measured[("resnet18", 0.5, None)] = result.params_after

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
# In ResNet-18 the stem is a tiny share of the model (see the first table), so it barely moves the
# total.
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
# When the channels shrink by `k`, so do they: one pruned dimension. In the ResNet-18 table above,
# that is the `normalisation` row (and the classifier's bias in the unguarded model):

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
measured[("mobilenet_v3_small", 0.5, None)] = result_mobile.params_after

# %%
# NBVAL_CHECK_OUTPUT
print(f"removed {result_mobile.param_reduction:.4f}; the rule says {theory.param_reduction(0.5):.4f}")
Markdown(format_table(counting.scaling_by_kind(tensors_mobile), KIND_COLUMNS))

# %%
depthwise = [t for t in tensors_mobile if t["kind"] == "depthwise conv weight"]
assert depthwise and all(t["power"] == 1 for t in depthwise)
assert result_mobile.param_reduction < result.param_reduction - 0.05

# %% [markdown]
# The depthwise weights keep `k`, and so do the biases of the squeeze-and-excitation layers. But the
# biggest `k¹` entry in this table is not a depthwise convolution: it is the last classifier layer,
# whose outputs (the classes) are fixed. Small ImageNet models spend a large share of their parameters on the
# classifier, so it is *the* main reason they fall below the rule; the final section measures that
# share for several models.

# %% [markdown]
# ## Summary
#
# - Under local pruning, each parameter tensor keeps `k^d`, `k = 1-p`, where `d` counts its pruned
#   dimensions: 2 between two pruned layers, 1 for the stem, the classifier's weight, depthwise
#   convolutions, BatchNorm and biases, 0 for what is never pruned.
# - Forgetting to ignore the classifier prunes the classes: the reduction matches the rule, and the
#   model is broken.
#
# Next: **04 · Groups and rounding**.
