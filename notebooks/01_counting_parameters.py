# %% [markdown]
# # 01 · Counting parameters
#
# **Learning goals**
# - say what a parameter is, and why BatchNorm's running statistics are buffers, not parameters;
# - count the parameters of a `Linear`, a `BatchNorm2d` and a `Conv2d` by hand, including grouped and
#   depthwise convolutions: C_out × C_in/groups × K × K (+ C_out for the bias);
# - check those formulas against PyTorch's `numel()`, on single layers and on all of ResNet-18;
# - count a model's parameters and MACs with Torch-Pruning's `tp.utils.count_ops_and_params`;
# - read MACs next to parameters, and see why the two are spread so differently over a network.
#
# **Prerequisites**: 00 · Start here.
#
# **Track**: core
# **Study time**: about 20 min (reading, running the cells and the exercises).
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
import torch_pruning as tp
from IPython.display import Markdown
from torch import nn

from helpers import counting
from helpers.report import format_table

# %% [markdown]
# ## What a parameter is
#
# A parameter is a tensor that training learns: the optimiser receives `model.parameters()` and
# updates each of them from its gradient. The size of a network, as pruning papers and Torch-Pruning
# report it, is the number of scalars in those tensors: `sum(p.numel() for p in model.parameters())`.
# A convolution has two parameter tensors, its weight and its bias:

# %%
# NBVAL_CHECK_OUTPUT
conv = nn.Conv2d(3, 16, kernel_size=3)
for name, tensor in conv.named_parameters():
    print(f"{name:<7} shape {tuple(tensor.shape)!s:<16} numel {tensor.numel():>4}  learnable: {tensor.requires_grad}")
print("total:", sum(t.numel() for t in conv.parameters()))

# %% [markdown]
# ### Linear
#
# A `Linear(in, out)` layer holds an `out × in` weight matrix and `out` biases. ResNet-18's classifier
# maps 512 features to 1000 classes:

# %%
# NBVAL_CHECK_OUTPUT
fc = nn.Linear(512, 1000)
print({name: tuple(t.shape) for name, t in fc.named_parameters()})
print(f"{counting.formula_text(fc)} = {counting.linear_params(512, 1000):,} parameters")
assert counting.linear_params(512, 1000) == sum(t.numel() for t in fc.parameters())

# %% [markdown]
# ### BatchNorm: parameters and buffers
#
# `BatchNorm2d(C)` normalises each channel and then applies a learnt scale γ (`weight`) and shift β
# (`bias`): 2 × C parameters. It also keeps a running mean and variance per channel, plus a counter of
# batches seen. Those are **buffers**: saved with the model (they are in its `state_dict`) but updated
# by forward passes in training mode, not by the optimiser, so they are not parameters and no
# parameter count includes them.

# %%
# NBVAL_CHECK_OUTPUT
bn = nn.BatchNorm2d(64)
print("parameters:", {name: tuple(t.shape) for name, t in bn.named_parameters()})
print("buffers:   ", {name: tuple(t.shape) for name, t in bn.named_buffers()})
print("state_dict:", list(bn.state_dict()))
print(f"{counting.formula_text(bn)} = {counting.norm_params(64)} parameters")
assert counting.norm_params(64) == sum(t.numel() for t in bn.parameters())
assert not any(b.requires_grad for b in bn.buffers())

# %% [markdown]
# A forward pass in training mode moves the running mean, with no optimiser and no gradient involved:

# %%
# NBVAL_CHECK_OUTPUT
before = bn.running_mean.clone()
bn.train()
bn(torch.randn(8, 64, 5, 5) + 3.0)  # a batch whose channels have mean 3
moved = (bn.running_mean - before).abs().mean().item()
print(f"running mean moved by {moved:.1f} on average; batches seen: {int(bn.num_batches_tracked)}")
assert moved > 0.1

# %% [markdown]
# ## The convolution formula
#
# A `Conv2d(C_in, C_out, K, groups=g)` computes each output channel from `C_in / g` input channels
# through a `K × K` kernel each. Its weight has shape `(C_out, C_in/g, K, K)`, and a bias adds one
# number per output channel:
#
# $$\text{params} = C_\text{out} \cdot \frac{C_\text{in}}{g} \cdot K \cdot K \;(+\, C_\text{out}).$$
#
# With `g = 1` that is an ordinary convolution. With `g = C_in = C_out` it is a **depthwise**
# convolution: each output channel looks at one input channel only, so its parameters grow with `C`,
# not with `C²` (MobileNets are built from them; notebook 03 shows what that does to pruning). In
# between, grouped convolutions (ResNeXt, RegNet) split the channels into `g` groups. The table checks
# the formula against `numel()` (the first exercise asks you to write it as a function):

# %%
# NBVAL_CHECK_OUTPUT
convs = {
    "ResNet stem": nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False),
    "3 x 3": nn.Conv2d(64, 64, 3, padding=1, bias=False),
    "1 x 1 with bias": nn.Conv2d(256, 64, 1),
    "grouped, g = 32": nn.Conv2d(128, 128, 3, padding=1, groups=32, bias=False),
    "depthwise": nn.Conv2d(64, 64, 3, padding=1, groups=64, bias=False),
}
rows = [{"conv": name, "shape": str(tuple(layer.weight.shape)), "formula": counting.formula_text(layer),
         "params": counting.formula(layer), "numel": sum(t.numel() for t in layer.parameters())}
        for name, layer in convs.items()]
assert all(r["params"] == r["numel"] for r in rows)
Markdown(format_table(rows, [("conv", "layer", ""), ("shape", "weight shape", ""), ("formula", "formula", ""),
                             ("params", "by formula", ",d"), ("numel", "numel()", ",d")]))

# %% [markdown]
# ## ResNet-18, layer by layer
#
# `counting.layer_table` walks every layer of a model and records its parameters (summed `numel()`),
# the same count from the layer's formula, its buffers, and its MACs (below). The formula agrees with
# `numel()` on every layer of ResNet-18, and the layers add up to Torch-Pruning's own count of the
# model, `tp.utils.count_ops_and_params` (the counter of notebook 00's quick start; it returns the
# MACs first, then the parameters):

# %%
model, example_inputs, _ = helpers.zoo.build("resnet18", device=device)
layers = counting.layer_table(model, example_inputs)

# %%
# NBVAL_CHECK_OUTPUT
macs, params = tp.utils.count_ops_and_params(model, example_inputs)
mismatches = [r["layer"] for r in layers if r["params"] != r["formula"]]
print(f"{len(layers)} layers, formula != numel() on {len(mismatches)} of them")
print(f"sum over layers: {sum(r['params'] for r in layers):,} | Torch-Pruning: {params:,}")
assert not mismatches and sum(r["params"] for r in layers) == params

# %% [markdown]
# By layer type, the convolutions hold almost everything; BatchNorm is a rounding error in the
# parameter count (keep it in mind: notebook 03 shows that it keeps `1-p` of itself, not `(1-p)²`):

# %%
# NBVAL_CHECK_OUTPUT
types = counting.by_type(layers)
share = {t["type"]: t["param_share"] for t in types}
assert share["Conv2d"] > 0.9 and share["BatchNorm2d"] < 0.01
Markdown(format_table(types, [("type", "layer type", ""), ("layers", "layers", "d"), ("params", "params", ",d"),
                              ("param_share", "share of params", ".2%"), ("buffers", "buffers", ",d")]))

# %% [markdown]
# ## MACs alongside parameters
#
# A MAC is one multiply-accumulate. A convolution applies each of its weights once per output
# position, so its MACs are its weights times the output's height × width (plus one add per output
# value for a bias); a `Linear` applies each weight once per sample. The same weight therefore costs
# very different amounts of compute depending on where it sits. Take ResNet-18's stem, which sees the
# whole image:

# %%
# NBVAL_CHECK_OUTPUT
row = {r["layer"]: r for r in layers}
with torch.no_grad():
    stem_out = model.conv1(example_inputs)
h, w = stem_out.shape[-2:]
print(f"input {tuple(example_inputs.shape)} -> stem output {h} x {w} positions")
print(f"stem: {row['conv1']['params']:,} weights x {h} x {w} positions = {row['conv1']['params'] * h * w:,} MACs")
print(f"Torch-Pruning's counter: {row['conv1']['macs']:,} MACs")
assert row["conv1"]["macs"] == row["conv1"]["params"] * h * w
# the BatchNorm and ReLU after the stem: operations per value of its output
print(f"stem output: {stem_out.numel():,} values; bn1: {row['bn1']['macs']:,} operations, "
      f"relu: {row['relu']['macs']:,}")
assert row["bn1"]["macs"] == 2 * stem_out.numel() and row["relu"]["macs"] == stem_out.numel()

# %% [markdown]
# Torch-Pruning's counter (which `layer_table` uses) also counts operations that are not
# multiply-accumulates: two per value for BatchNorm and one for an activation, as the stem's `bn1`
# and `relu` show; next to the convolutions they are small. Per
# ResNet-18 stage, parameters and MACs part ways: each stage doubles the channels (so 4× the weights
# per conv) and halves the resolution (so ¼ the positions), so the MACs per stage stay flat while the
# parameters pile up in the last stage:

# %%
# NBVAL_CHECK_OUTPUT
stages = [s for s in counting.by_stage(layers) if s["params"] or s["mac_share"] > 0.001]
by_name = {s["stage"]: s for s in stages}
assert by_name["layer4"]["param_share"] > 0.7 and by_name["layer4"]["mac_share"] < 0.25
layer_macs = [s["mac_share"] for s in stages if s["stage"].startswith("layer")]
assert 0.2 < min(layer_macs) and max(layer_macs) < 0.3  # flat: each stage holds 20-30% of the MACs
print(f"total: {params:,} parameters, {macs:,.0f} MACs per image")
Markdown(format_table(stages, [("stage", "stage", ""), ("params", "params", ",d"), ("param_share", "share of params", ".1%"),
                               ("macs", "MACs", ",d"), ("mac_share", "share of MACs", ".1%")]))

# %% [markdown]
# Parameters decide a model's size on disk and in memory; MACs are closer to its compute. Pruning a
# fraction `p` of the channels shrinks a convolution's weight and its MACs by the same factor (both
# are proportional to `C_out × C_in`), so both follow the law of the next notebook. How much faster
# the model runs is a third question, answered in notebook 09.

# %% [markdown]
# ## Exercises

# %% [markdown]
# ### Exercise `01-conv2d-params`: the formula as a function
#
# Write `conv2d_params(c_in, c_out, k, groups, bias)`, returning the parameter count of
# `nn.Conv2d(c_in, c_out, k, groups=groups, bias=bias)`. The check compares it with real layers,
# grouped and depthwise ones included.

# %%
# NBVAL_CHECK_OUTPUT
def conv2d_params(c_in, c_out, k, groups=1, bias=True):
    raise NotImplementedError  # your formula here


passed = helpers.checks.check("01-conv2d-params", conv2d_params)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("01-conv2d-params")

# %% [markdown]
# ### Exercise `01-count`: parameters and MACs with Torch-Pruning's counter
#
# Write `count(model, example_inputs)`, returning the model's `(parameters, MACs)` in that order,
# both as Torch-Pruning counts them with `tp.utils.count_ops_and_params`. The check runs it on a fresh
# ResNet-18, a MobileNetV3-Small and a small CNN, and compares with Torch-Pruning's counter.

# %%
# NBVAL_CHECK_OUTPUT
def count(model, example_inputs):
    raise NotImplementedError  # your code here: return (parameters, MACs)


passed = helpers.checks.check("01-count", count)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("01-count")

# %% [markdown]
# ## Summary
#
# - Parameters are the tensors the optimiser learns; BatchNorm's running statistics are buffers, saved
#   with the model but not counted.
# - `Conv2d`: C_out × C_in/groups × K × K (+ C_out); `Linear`: out × in (+ out); `BatchNorm2d`: 2 × C.
#   Depthwise convolutions grow with C, ordinary ones with C².
# - On ResNet-18 the formulas match `numel()` on every layer and add up to Torch-Pruning's count,
#   `tp.utils.count_ops_and_params` (which returns the MACs first, then the parameters); convolutions
#   hold nearly all the parameters, the last stage most of them.
# - MACs weigh each weight by the positions it is applied at, so they spread evenly over the stages
#   while parameters do not.

# %% [markdown]
# ## Questions
#
# 1. BatchNorm's running mean and variance are saved in the `state_dict` and change during training.
#    Why are they not parameters?
#
#    <details><summary>Answer</summary>
#
#    The optimiser never updates them from a gradient: a forward pass in training mode moves them
#    (as the running-mean cell showed), and they have `requires_grad=False`. A parameter count, in
#    papers and in Torch-Pruning, counts only what `model.parameters()` yields.
#
#    </details>
#
# 2. Double the channels of an ordinary 3 × 3 convolution (C → 2C, inputs and outputs) and of a
#    depthwise one. By how much does each one's parameter count grow, and what does that suggest about
#    pruning channels of each kind?
#
#    <details><summary>Answer</summary>
#
#    The ordinary conv has C × C × 9 weights, so it grows 4×; the depthwise one has C × 1 × 9, so it
#    grows 2×. Going the other way, removing a fraction of the channels shrinks an ordinary conv
#    quadratically and a depthwise conv only linearly, which notebooks 02 and 03 measure.
#
#    </details>
#
# 3. ResNet-18's last stage holds most of the parameters but a share of the MACs close to the other
#    stages'. Why?
#
#    <details><summary>Answer</summary>
#
#    Each stage doubles the channels, so each of its convs has 4× the weights of the stage before,
#    and halves the height and width of the feature map, so each weight is applied at ¼ of the
#    positions. Weights grow 4× per stage while MACs per weight shrink 4×.
#
#    </details>

# %% [markdown]
# ## Further reading
#
# - PyTorch's [`nn.Conv2d`](https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html) and
#   [`nn.BatchNorm2d`](https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm2d.html) pages:
#   the weight shapes, `groups`, and the running statistics.
# - Sandler et al., [MobileNetV2: Inverted Residuals and Linear Bottlenecks](https://arxiv.org/abs/1801.04381),
#   CVPR 2018: networks built from depthwise convolutions, and their parameter and MAC counts.
# - [Torch-Pruning](https://github.com/VainF/Torch-Pruning): `tp.utils.count_ops_and_params`, the
#   counter this notebook checks the formulas against.
#
# Next: **02 · The quadratic law**.
