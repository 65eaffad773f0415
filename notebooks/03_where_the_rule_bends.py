# %% [markdown]
# # 03 · Where the rule bends
#
# **Learning goals**
# - measure, one effect at a time, why real CNNs lose a little less than `1-(1-p)²` of their
#   parameters: the stem, the classifier, BatchNorm and biases, depthwise convolutions;
# - see how Torch-Pruning couples layers (residual additions, concatenations) and how rounding
#   (`round_to`, grouped convolutions) and global pruning move the count;
# - put it together: every tensor keeps `k^d` of itself (`k = 1-p`, `d` its pruned dimensions), so
#   `params(k) = A k² + B k + C`, and `helpers.predict.ParameterModel` predicts the count exactly,
#   before pruning.
#
# **Prerequisites**: 02 · The quadratic law.
#
# **Run time** (from `figures/notebook_times.csv`): about 9 s in quick mode (2-core CPU); full mode (GPU) not measured yet.

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
# (notebook 05 reproduces it).
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

# %%
# NBVAL_CHECK_OUTPUT
groups = list(graph.get_all_groups(ignored_layers=ignored, root_module_types=[nn.Conv2d, nn.Linear]))
n_convs = sum(isinstance(m, nn.Conv2d) for m in resnet_fresh.modules())
print(f"{n_convs} convolutions, {len(groups)} pruning groups")
assert len(groups) < n_convs

# %% [markdown]
# Coupling does not change the count by itself: the group still loses `p` of its channels. It
# changes what a setting means. `ignored_layers` protects a layer's outputs, and a group that
# contains a protected layer is skipped whole. Protect a single convolution of the first stage, and
# the stem and the whole stage keep all their channels:

# %%
coupled, example_inputs, ignored = zoo.build("resnet18", device=device)
result_coupled = helpers.pruning.prune(coupled, example_inputs, 0.5, ignored + [coupled.layer1[0].conv2])

# %%
# NBVAL_CHECK_OUTPUT
print(f"stem outputs: {coupled.conv1.out_channels} (pruned model of the first section: {resnet.conv1.out_channels})")
print(f"layer1.0.conv1 outputs (its own group): {coupled.layer1[0].conv1.out_channels}")
print(f"removed {result_coupled.param_reduction:.4f} instead of {result.param_reduction:.4f}")
assert coupled.conv1.out_channels == resnet_fresh.conv1.out_channels
assert result_coupled.param_reduction < result.param_reduction

# %% [markdown]
# ## Concatenation: DenseNet
#
# A DenseNet layer concatenates its new channels to everything before it, and every later layer of
# the block reads the whole concatenation. Torch-Pruning maps channel indices through the
# concatenations: removing a channel of one layer removes the matching input slice of every later
# reader. We build the first two dense blocks of DenseNet-121 (torchvision's `DenseNet` class with
# DenseNet-121's growth rate and layer counts; the full model takes much longer to trace on a CPU):

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
result_dense = helpers.pruning.prune(dense, example_inputs, 0.3, [dense.classifier])
measured[("densenet_blocks", 0.3, None)] = result_dense.params_after

# %%
# NBVAL_CHECK_OUTPUT
p = 0.3
width = dense.features.transition1.norm.num_features
print(f"block 1 output: parts {parts}, {sum(parts)} channels in all")
print(f"int({sum(parts)} x (1-p)) = {int(sum(parts) * (1 - p))}; sum of int(part x (1-p)) = "
      f"{sum(int(c * (1 - p)) for c in parts)}; pruned model: {width}")
print(f"removed {result_dense.param_reduction:.4f}; the rule says {theory.param_reduction(p):.4f}")
assert width == sum(int(c * (1 - p)) for c in parts) < int(sum(parts) * (1 - p))

# %% [markdown]
# Rounding each layer's part down removes a little more than `p` of the channels, which alone
# would push the reduction *above* the rule. What pulls it below are the tensors that keep `k`: every
# dense layer normalises the whole concatenation it reads, so BatchNorm weighs far more than in
# ResNet-18, and the classifier is large next to these two blocks:

# %%
# NBVAL_CHECK_OUTPUT
def share_of(snapshot, kind):
    return sum(n for k, n in snapshot.values() if k == kind) / sum(n for _, n in snapshot.values())


for kind in ("normalisation", "linear weight"):
    print(f"{kind:<14} DenseNet blocks {share_of(dense_before, kind):6.2%} | "
          f"ResNet-18 {share_of(counting.snapshot(resnet_fresh), kind):6.2%}")
assert share_of(dense_before, "normalisation") > 10 * share_of(counting.snapshot(resnet_fresh), "normalisation")

# %%
if not helpers.env.quick():  # full mode: DenseNet-121 itself
    full_dense, full_inputs, full_ignored = zoo.build("densenet121", device=device)
    full_result = helpers.pruning.prune(full_dense, full_inputs, 0.3, full_ignored)
    print(f"DenseNet-121 at p = 0.3: removed {full_result.param_reduction:.4f}; rule {theory.param_reduction(0.3):.4f}")
    measured[("densenet121", 0.3, None)] = full_result.params_after

# %% [markdown]
# ## Rounding: `round_to` and group widths
#
# Torch-Pruning keeps `int(C × (1-p))` channels of each group: whole channels, rounded down. Its
# `round_to=n` option rounds the kept count further down to a multiple of `n` (some GPU kernels
# prefer channel counts that are multiples of 8; notebook 07 measures whether it matters). At
# `p = 0.3` on ResNet-18:

# %%
rounded = {}
for round_to in (None, 8):
    net, example_inputs, ignored = zoo.build("resnet18", device=device)
    rounded[round_to] = (helpers.pruning.prune(net, example_inputs, 0.3, ignored, round_to=round_to), net)
    measured[("resnet18", 0.3, round_to)] = rounded[round_to][0].params_after

# %%
# NBVAL_CHECK_OUTPUT
for round_to, (res, net) in rounded.items():
    print(f"round_to={round_to}: stem keeps {net.conv1.out_channels} of {resnet_fresh.conv1.out_channels} "
          f"channels, last stage {net.layer4[0].conv2.out_channels} of {resnet_fresh.layer4[0].conv2.out_channels}; "
          f"removed {res.param_reduction:.4f}")
print(f"the rule says {theory.param_reduction(0.3):.4f}")
assert rounded[8][0].param_reduction > rounded[None][0].param_reduction

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

# %% [markdown]
# **Exercise.** Before pruning it: at `p = 0.3`, how many channels of each of these groups does
# Torch-Pruning keep?

# %%
# NBVAL_CHECK_OUTPUT
kept_per_group = ...  # a whole number of channels
passed = helpers.checks.check("03-group-width-kept", kept_per_group)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("03-group-width-kept")

# %% [markdown]
# Now prune it:

# %%
result_regnet = helpers.pruning.prune(regnet, example_inputs, 0.3, ignored)
measured[("regnet_y_400mf", 0.3, None)] = result_regnet.params_after

# %%
# NBVAL_CHECK_OUTPUT
p = 0.3
c1, g1 = grouped.out_channels, grouped.groups
print(f"after p = {p}: {c1} channels in {g1} groups of {c1 // g1}")
print(f"kept {c1 / c0:.3f} of the channels, not {1 - p:.3f}")
print(f"removed {result_regnet.param_reduction:.4f}; the rule says {theory.param_reduction(p):.4f}")
assert g1 == g0 and c1 / c0 < 1 - p and result_regnet.param_reduction > theory.param_reduction(p)

# %% [markdown]
# Rounding inside small groups removes more than asked, and RegNetY lands *above* the rule at this
# ratio. At other ratios it can land below: the kept width moves in steps of one channel per group
# (the figure at the end of this notebook shows the staircase).

# %% [markdown]
# ## Global pruning: per-layer ratios differ
#
# Everything so far was *local* pruning: each group loses `p` of its channels. With
# `global_pruning=True`, Torch-Pruning ranks the channels of all groups together and removes the
# least important `p` of them overall, so each layer ends up with its own ratio, and no closed
# formula gives the count:

# %%
global_net, example_inputs, ignored = zoo.build("resnet18", device=device)
widths_before = {n: m.out_channels for n, m in global_net.named_modules() if isinstance(m, nn.Conv2d)}
result_global = helpers.pruning.prune(global_net, example_inputs, 0.5, ignored, global_pruning=True)
ratios = {n: 1 - m.out_channels / widths_before[n] for n, m in global_net.named_modules() if isinstance(m, nn.Conv2d)}

# %%
for name, ratio in ratios.items():
    print(f"{name:<24} {widths_before[name]:>4} -> {global_net.get_submodule(name).out_channels:>4} channels"
          f"  (removed {ratio:.2f})")
print(f"removed {result_global.param_reduction:.4f} of the parameters (local pruning: {result.param_reduction:.4f})")

# %%
assert max(ratios.values()) - min(ratios.values()) > 0.02  # the layers no longer share one ratio

# %% [markdown]
# With random weights, as here, channels differ little in importance and the ratios stay near `p`;
# with trained weights the ranking follows what the network learned, and layers can end up much
# further apart. Either
# way, the count has to be measured (or predicted per layer), not read off `1-(1-p)²`.
#
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
# ResNet-18 its coefficients are the ones measured in the first section:

# %%
# NBVAL_CHECK_OUTPUT
fresh, example_inputs, ignored = zoo.build("resnet18", device=device)
predictor = ParameterModel(fresh, example_inputs, ignored)
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
# Every model this notebook pruned, predicted before pruning and measured after:

# %%
def predictor_for(name, round_to):
    if round_to is None and name in predictors:  # built for the figures above
        return predictors[name]
    if name == "densenet_blocks":
        net = dense_blocks()
        return ParameterModel(net, example_inputs, [net.classifier], round_to=round_to)
    net, inputs, ignored_layers = zoo.build(name, device=device)
    return ParameterModel(net, inputs, ignored_layers, round_to=round_to)


comparison = []
for (name, p, round_to), params_after in measured.items():
    predicted = predictor_for(name, round_to).params(p)
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
passed = helpers.checks.check("03-mobilenetv2-reduction", mobilenet_v2_prediction)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("03-mobilenetv2-reduction")

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
# - `03-group-width-kept`: channels RegNetY keeps per group at `p = 0.3`.
# - `03-mobilenetv2-reduction`: MobileNetV2's reduction at `p = 0.5` from its coefficients.
#
# Next: **04 · Pruning real CNNs**.
