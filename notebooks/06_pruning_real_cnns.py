# %% [markdown]
# # 06 · Pruning real CNNs with Torch-Pruning
#
# **Learning goals**
# - write Torch-Pruning's `BasePruner` with every argument that changes the count
#   (`pruning_ratio`, `ignored_layers`, `round_to`, `iterative_steps`, `global_pruning`), call
#   `step()`, count with `tp.utils.count_ops_and_params`, and save and reload the pruned model;
# - read what each argument does to ResNet-18's count, against the exact prediction of
#   `helpers.predict.ParameterModel`;
# - read Torch-Pruning's pruning groups on ResNet-18: which layers lose parameters when one channel goes;
# - prune a dozen torchvision CNNs (four in quick mode), compare the measured reduction with the rule
#   `1-(1-p)²` and the prediction, and check that every pruned model still outputs 1000 classes;
# - see where the prediction refuses instead of guessing (GoogLeNet's auxiliary heads).
#
# **Prerequisites**: 02 · The quadratic law, 04 · Groups and rounding, 05 · The exact count.
#
# **Study time**: about 45 min (reading, running the cells and the exercises).
#
# **Run time** (from `figures/notebook_times.csv`): about 16 s in quick mode (2-core CPU); about 65 s in full mode (NVIDIA H100 80GB HBM3).

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
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from helpers import report, sweep, theory, zoo
from helpers.report import format_table

QUICK = helpers.env.quick()
# Four families in every mode; the whole zoo in full mode
CORE = ["resnet18", "mobilenet_v3_small", "squeezenet1_1", "regnet_x_400mf"]
MODELS = CORE if QUICK else CORE + [n for n in zoo.names() if n not in CORE]
RATIOS = theory.SEED_RATIOS
print(f"{len(MODELS)} models: {', '.join(MODELS)}")

# %% [markdown]
# ## 1. The pruner and its arguments
#
# Notebook 00 ran Torch-Pruning's README quick start. Here is the same pruner with every argument
# that changes the parameter count written out, at the quick start's values or the library's
# defaults; section 2 changes them one at a time:
#
# | argument | what it does |
# |---|---|
# | `pruning_ratio` (our `p`) | fraction of each group's channels removed |
# | `ignored_layers` | layers whose output channels stay (here: the classifier) |
# | `round_to` | kept widths rounded down to a multiple of it |
# | `iterative_steps` | reach `p` in several `step()` calls, each relative to the original width |
# | `global_pruning` | rank channels across all groups instead of within each |

# %%
# NBVAL_CHECK_OUTPUT
import torch
import torch_pruning as tp
import torchvision

model = torchvision.models.resnet18(weights=None).eval().to(device)
example_inputs = torch.randn(1, 3, 224, 224, device=device)
macs_before, params_before = tp.utils.count_ops_and_params(model, example_inputs)
pruner = tp.pruner.BasePruner(
    model, example_inputs,
    importance=tp.importance.GroupMagnitudeImportance(p=2),  # a channel's score: the L2 norm of its group's weights
    pruning_ratio=0.5,  # remove half of every group's channels
    ignored_layers=[model.fc],  # keep the 1000 classes
    round_to=None,  # no rounding of the kept widths
    iterative_steps=1,  # one step() reaches pruning_ratio
    global_pruning=False,  # each group loses the same fraction
)
pruner.step()
macs_after, params_after = tp.utils.count_ops_and_params(model, example_inputs)
print(f"parameters: {params_before:,} -> {params_after:,} ({1 - params_after / params_before:.1%} removed)")
print(f"MACs:       {macs_before:,.0f} -> {macs_after:,.0f} ({1 - macs_after / macs_before:.1%} removed)")
print("output:", tuple(model(example_inputs).shape))
assert (params_before, params_after) == (11_689_512, 3_055_880)  # the numbers Torch-Pruning's README prints
assert 0.7 < 1 - params_after / params_before < 0.8 and tuple(model(example_inputs).shape) == (1, 1000)

# %% [markdown]
# Half of the channels took about three quarters of the parameters with them: the quadratic law of
# notebook 02, on a real network. `helpers.pruning.prune` is these lines with the counts around
# them (its docstring shows the call), so the rest of the notebook can prune many models in a line.
#
# A pruned model no longer matches its architecture's constructor: `resnet18()` builds layers wider
# than the pruned ones, so the usual `load_state_dict` into a freshly built model fails. Two ways
# work: Torch-Pruning's `tp.state_dict`, which stores each layer's widths with its weights, or saving
# the whole module:

# %%
import io

try:
    torchvision.models.resnet18(weights=None).load_state_dict(model.state_dict())
except RuntimeError as err:
    mismatch = err
print("load_state_dict into a fresh resnet18:", str(mismatch).splitlines()[1].strip())


def round_trip(obj):  # torch.save then torch.load, in memory
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=False)


reloaded = torchvision.models.resnet18(weights=None)
tp.load_state_dict(reloaded, state_dict=round_trip(tp.state_dict(model)))
whole = round_trip(model)
with torch.no_grad():
    expected = model(example_inputs)
    same = [torch.equal(m.eval()(example_inputs), expected) for m in (reloaded, whole)]
print(f"tp.state_dict / tp.load_state_dict: {helpers.counting.n_params(reloaded):,} parameters, same outputs: "
      f"{same[0]}; torch.save of the whole model: {helpers.counting.n_params(whole):,}, same outputs: {same[1]}")
assert all(same) and helpers.counting.n_params(reloaded) == params_after

# %% [markdown]
# ## 2. What each argument does to the count
#
# `sweep.settings_table` prunes a fresh ResNet-18 under each setting with the pruner above (through
# `helpers.pruning.prune`), predicts the count first with `ParameterModel` (local pruning only) and
# runs the pruned model once:

# %%
# NBVAL_CHECK_OUTPUT
SETTINGS = [
    {"label": "p=0.5", "channel_ratio": 0.5},
    {"label": "p=0.5, nothing ignored", "channel_ratio": 0.5, "ignore_classifier": False},
    {"label": "p=0.5, round_to=8", "channel_ratio": 0.5, "round_to": 8},
    {"label": "p=0.5, iterative_steps=5", "channel_ratio": 0.5, "iterative_steps": 5},
    {"label": "p=0.5, global_pruning=True", "channel_ratio": 0.5, "global_pruning": True},
    {"label": "p=0.3", "channel_ratio": 0.3},
    {"label": "p=0.3, round_to=8", "channel_ratio": 0.3, "round_to": 8},
    {"label": "p=0.3, round_to=16", "channel_ratio": 0.3, "round_to": 16},
]
settings = sweep.settings_table("resnet18", SETTINGS, device=device)
by_label = {r["label"]: r for r in settings}
local = [r for r in settings if r["label"] != "p=0.5, global_pruning=True"]
assert all(r["params_after"] == r["predicted_params_after"] for r in local)
assert by_label["p=0.5"]["params_after"] == params_after  # the pruner of section 1
assert by_label["p=0.5, nothing ignored"]["output_shape"] == (1, 500)
assert abs(by_label["p=0.5, nothing ignored"]["param_reduction"] - theory.param_reduction(0.5)) < abs(
    by_label["p=0.5"]["param_reduction"] - theory.param_reduction(0.5))
assert by_label["p=0.5, round_to=8"]["params_after"] == by_label["p=0.5"]["params_after"]
assert by_label["p=0.5, iterative_steps=5"]["params_after"] == by_label["p=0.5"]["params_after"]
assert (by_label["p=0.3, round_to=16"]["param_reduction"] > by_label["p=0.3, round_to=8"]["param_reduction"]
        > by_label["p=0.3"]["param_reduction"])
global_row = by_label["p=0.5, global_pruning=True"]
assert global_row["params_after"] != by_label["p=0.5"]["params_after"] and global_row["output_shape"] == (1, 1000)
Markdown(format_table(settings, [("label", "setting", ""), ("params_after", "parameters after", ",d"),
                                 ("predicted_params_after", "predicted", ",d"), ("param_reduction", "reduction", ".1%"),
                                 ("output_shape", "output", "")]))

# %% [markdown]
# What the table says:
#
# - **ignored_layers**: forget the classifier and the pruner shrinks it too: the model now predicts
#   500 classes. The parameter count even lands closer to the rule, but the model is broken.
# - **round_to**: at `p=0.5` every ResNet-18 width (64 ... 512) halves to a multiple of 8, so
#   `round_to=8` changes nothing. At `p=0.3` the kept widths are not all multiples of 8, and
#   `round_to` lowers them to the multiple below: the larger `round_to`, the more is removed, never less.
# - **iterative_steps**: local pruning in 5 steps ends on exactly the one-step count, because each
#   step's ratio is taken relative to the original width.
# - **global_pruning**: channels compete across groups by importance, so how many each group loses
#   depends on the weights (notebook 04 showed its per-layer ratios); the count differs from the
#   local one and `ParameterModel` does not predict it (n/a).
# - Every local setting is predicted to the parameter by `ParameterModel`. These models carry random
#   weights: a local prune's count depends on how many channels each group keeps, not on which
#   (notebook 07 checks it on two initialisations).
#
# ## 3. Pruning groups
#
# Torch-Pruning runs the model once with autograd switched on (so never under `torch.no_grad()`)
# and records which layer feeds which: its `DependencyGraph`. Layers that must lose the same channels
# form a **pruning group** (notebook 04); a local pruner removes `p` of each group's channels. The
# groups of ResNet-18 (the classifier ignored): each group's root layer, its width and how many layers
# with parameters it couples:

# %%
# NBVAL_CHECK_OUTPUT
resnet, x, ignored = zoo.build("resnet18", device=device)
resnet_groups = sweep.groups(resnet, x, ignored)
n_stage_groups = sum(g["layers"] > 3 for g in resnet_groups)
assert len(resnet_groups) == 12 and n_stage_groups == 4
assert all(g["layers"] == 3 for g in resnet_groups if g["layers"] <= 3)
print(f"{len(resnet_groups)} groups: {n_stage_groups} span a whole stage, the others couple 3 layers")
Markdown(format_table(resnet_groups, [("root", "root layer", ""), ("channels", "channels", "d"),
                                      ("layers", "coupled layers", "d")]))

# %% [markdown]
# Two kinds of group. Inside a residual block, `conv1`'s outputs feed only `bn1` and `conv2`: three
# layers. But the outputs of a stage are added together block after block, so the stem (or the
# downsampling shortcut), every block's last convolution and the next stage's inputs share one set of
# channels: one group per stage. `sweep.group_layers` prunes one channel of a group on a copy of the
# model and lists what each layer loses. The group of the second stage, rooted at its shortcut:

# %%
# NBVAL_CHECK_OUTPUT
stage_group = sweep.group_layers(resnet, x, resnet.layer2[0].downsample[0])
assert len(stage_group) == 9 and {r["pruned"] for r in stage_group} == {"out", "in"}
assert {r["layer"] for r in stage_group if r["pruned"] == "in"} == {"layer2.1.conv1", "layer3.0.conv1",
                                                                    "layer3.0.downsample.0"}
print(f"one channel of layer2's stage group: {sum(r['params_per_channel'] for r in stage_group):,} parameters "
      f"in {len(stage_group)} layers")
Markdown(format_table(stage_group, [("layer", "layer", ""), ("type", "type", ""), ("pruned", "pruned dim", ""),
                                    ("params_per_channel", "parameters removed per channel", ",d")]))

# %% [markdown]
# A weight that sits between two groups (like `layer2.1.conv1`: its inputs belong to the stage's
# group, its outputs to its block's internal group) loses columns with one group and rows with the
# other: that is the `(1-p)²` of the rule. BatchNorm layers (two numbers per channel in the table)
# belong to one group only and shrink like `(1-p)`.
#
# ## 4. A dozen real CNNs
#
# `sweep.zoo_sweep` builds each model, predicts its count at every ratio with `ParameterModel`,
# then prunes a copy of it at each ratio in one step, counts it and runs it forward.

# %%
rows = sweep.zoo_sweep(MODELS, RATIOS, device=device, progress=not helpers.env.progress_disabled())


def table(names, ratios=(0.3, 0.5)):
    """One row per model: parameters, then measured (and predicted) reduction at each ratio."""
    out = [{"model": "rule 1-(1-p)²", "params": None,
            **{f"p{p}": f"{theory.param_reduction(p):.1%}" for p in ratios}}]
    for name in names:
        mine = {r["channel_ratio"]: r for r in rows if r["model"] == name}
        out.append({"model": name, "params": mine[ratios[0]]["params_before"],
                    **{f"p{p}": f"{mine[p]['param_reduction']:.1%}" + ("" if mine[p]["params_after"] ==
                       mine[p]["predicted_params_after"] else " (≠ predicted)") for p in ratios}})
    return Markdown(format_table(out, [("model", "model", ""), ("params", "parameters", ",d"),
                                       *[(f"p{p}", f"reduction at p={p}", "") for p in ratios]]))


# %%
# NBVAL_CHECK_OUTPUT
table(CORE)

# %%
if not QUICK:
    display(table(MODELS))
assert all(r["params_after"] == r["predicted_params_after"] for r in rows), "a prediction missed"
assert all(r["output_shape"] == (1, 1000) for r in rows)
assert all(r["param_reduction"] < r["rule_reduction"] for r in rows if r["channel_ratio"] == 0.5)
assert QUICK or len(MODELS) >= 12
worst = min((r for r in rows if r["channel_ratio"] == 0.5), key=lambda r: r["param_reduction"])
print(f"{len(MODELS)} models x {len(RATIOS)} ratios: every count predicted to the parameter, every "
      f"pruned model outputs 1000 classes; at p=0.5 all fall below the rule's "
      f"{theory.param_reduction(0.5):.0%}, {worst['model']} lowest at {worst['param_reduction']:.1%}")

# %%
fig, ax = plt.subplots()
report.rule_axes(ax, p_max=0.65)
for name in MODELS:
    mine = [r for r in rows if r["model"] == name]
    ax.plot([0] + [r["channel_ratio"] for r in mine], [0] + [r["param_reduction"] for r in mine], marker="o",
            markersize=3, linewidth=1, label=name)
ax.set_title("Measured on real CNNs (classifier ignored)")
ax.legend(ncol=2, fontsize=7)
report.save(fig, "06_zoo_reduction");

# %% [markdown]
# The measured points are the predictions, and each family's distance below the rule is its share of
# tensors that shrink like `(1-p)` instead of `(1-p)²` (notebook 03). The furthest below are the
# small mobile models (MobileNet, MnasNet, EfficientNet) and SqueezeNet; the next cells say why.
# Models whose widths force rounding (grouped convolutions in RegNet and ResNeXt, DenseNet's many
# narrow layers) can land *above* the rule at some ratios:

# %%
at_half = sorted((r for r in rows if r["channel_ratio"] == 0.5), key=lambda r: r["param_reduction"])
low = [r for r in at_half if r["model"].startswith(("mobilenet", "mnasnet", "efficientnet", "squeezenet"))]
print("at p=0.5, lowest first:", ", ".join(f"{r['model']} {r['param_reduction']:.1%}" for r in at_half))
assert at_half[:len(low)] == low  # those models are the lowest
above = sorted({r["model"] for r in rows if r["param_reduction"] > r["rule_reduction"]})
print("above the rule at some ratio (rounding):", ", ".join(above) or "none")
assert all(zoo.family(n) in ("RegNet", "ResNeXt", "DenseNet") for n in above)

# %% [markdown]
# Which tensors hold those models up? `ParameterModel.breakdown()` splits a model's parameters by
# role. Next to each model's share in its fixed 1000-class classifier and in depthwise weights, the
# same architecture built with a 10-class head:

# %%
from helpers.predict import ParameterModel


def shares(name, classes):
    model, inputs, ignored = zoo.build(name, num_classes=classes)
    predictor = ParameterModel(model, inputs, ignored)
    roles = {r["role"]: r["share"] for r in predictor.breakdown()}
    return roles.get("classifier (outputs fixed)", 0.0), roles.get("depthwise", 0.0), predictor.reduction(0.5)


heads = []
for name in MODELS:
    classifier_1000, depthwise_1000, at_half_1000 = shares(name, 1000)
    heads.append({"model": name, "classifier": classifier_1000, "depthwise": depthwise_1000,
                  "p05": at_half_1000, "p05_10": shares(name, 10)[2]})

# %%
# NBVAL_CHECK_OUTPUT
lowest = [h for h in heads if h["model"] in {r["model"] for r in low}]
assert all(h["classifier"] > 5 * h["depthwise"] for h in lowest)  # the classifier, not depthwise weights
assert all(h["p05_10"] > h["p05"] for h in heads)
assert max(theory.param_reduction(0.5) - h["p05_10"] for h in heads) < min(
    theory.param_reduction(0.5) - h["p05"] for h in lowest)
print(f"with a 10-class head every model removes between {min(h['p05_10'] for h in heads):.1%} and "
      f"{max(h['p05_10'] for h in heads):.1%} at p=0.5 (the rule: {theory.param_reduction(0.5):.0%})")
Markdown(format_table(heads, [("model", "model", ""), ("classifier", "classifier (1000 classes)", ".1%"),
                              ("depthwise", "depthwise weights", ".1%"), ("p05", "removed at p=0.5", ".1%"),
                              ("p05_10", "with a 10-class head", ".1%")]))

# %% [markdown]
# What keeps the small models furthest below the rule is their 1000-class classifier: its outputs
# are fixed, so it shrinks like `(1-p)`, and in a small network it holds a large share of the
# parameters, many times their depthwise weights. With 10 classes the same networks come close to
# the rule, as the last column shows.
#
# ## 5. Exact, or refused
#
# `ParameterModel` either agrees with Torch-Pruning to the parameter or raises
# `helpers.predict.UnsupportedModel`, naming the layer and what to do; it never guesses. GoogLeNet
# built with its auxiliary heads is such a case: in eval mode the forward pass never reaches them.
# The cell shows what Torch-Pruning does to it, what the predictor says, and that the same network
# built without the heads (`aux_logits=False`) is predicted to the parameter:

# %%
from helpers.pruning import prune_copy
from helpers.predict import UnsupportedModel

example = torch.randn(1, 3, 224, 224)
with_aux = torchvision.models.googlenet(weights=None, init_weights=False).eval()
pruned = prune_copy(with_aux, example, 0.5, [with_aux.fc, with_aux.aux1.fc2, with_aux.aux2.fc2]).model
received = {}


def record_input(module, args):  # a forward pre-hook: note the channels reaching aux1
    received["channels"] = args[0].shape[1]


pruned.aux1.register_forward_pre_hook(record_input)
try:
    pruned.train()(example)  # training mode runs the auxiliary heads
except RuntimeError as err:
    broken = str(err).splitlines()[0]
print(f"after pruning, aux1 expects {pruned.aux1.conv.conv.in_channels} input channels and receives "
      f"{received['channels']}; the training-mode forward pass fails: {broken}")
try:
    ParameterModel(with_aux, example, [with_aux.fc, with_aux.aux1.fc2, with_aux.aux2.fc2])
except UnsupportedModel as err:
    refusal = str(err)
    print(refusal)
assert received["channels"] < pruned.aux1.conv.conv.in_channels and "never reaches it" in refusal

without_aux = torchvision.models.googlenet(weights=None, init_weights=False, aux_logits=False).eval()
predicted = ParameterModel(without_aux, example, [without_aux.fc]).params(0.5)
measured = prune_copy(without_aux, example, 0.5, [without_aux.fc], count_macs=False).params_after
print(f"googlenet without auxiliary heads, p=0.5: predicted {predicted:,}, measured {measured:,}")
assert predicted == measured

# %% [markdown]
# ## Exercises

# %% [markdown]
# ### Exercise `06-kept-channels`: write how many channels a local pruner keeps
#
# Write `kept_channels(channels, p, round_to)`: the number of channels a local pruner keeps in a
# group of `channels` at ratio `p`, rounded down to a multiple of `round_to` when it is given (the
# `round_to` rows of section 2 show its effect on the count).

# %%
# NBVAL_CHECK_OUTPUT
def kept_channels(channels, p, round_to=None):
    raise NotImplementedError  # your code here


passed = helpers.checks.check("06-kept-channels", kept_channels)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("06-kept-channels")

# %% [markdown]
# ### Exercise `06-resnet18-stem-group`: count what one stem channel costs
#
# How many parameters does ResNet-18 lose when one output channel of its stem `conv1` is removed,
# together with everything coupled to it? `sweep.group_layers` answers it, as section 3 did for the
# second stage (`resnet` and `x` are the ResNet-18 and input built there).

# %%
# NBVAL_CHECK_OUTPUT
stem_answer = ...  # your answer (a whole number)
passed = helpers.checks.check("06-resnet18-stem-group", stem_answer)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("06-resnet18-stem-group")

# %% [markdown]
# ### Exercise `06-resnet18-pruner`: write the pruner for a given configuration
#
# Write `build_pruner(model, example_inputs)`, returning Torch-Pruning's `BasePruner` for ResNet-18
# with group L2 magnitude importance, channel ratio 0.4, the classifier `model.fc` ignored and kept
# widths rounded down to multiples of 16 (section 1 names every argument). The check builds a fresh
# ResNet-18, calls `step()` on your pruner and compares the parameter count and the number of classes.

# %%
# NBVAL_CHECK_OUTPUT
def build_pruner(model, example_inputs):
    raise NotImplementedError  # your code here


passed = helpers.checks.check("06-resnet18-pruner", build_pruner)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("06-resnet18-pruner")

# %% [markdown]
# ## Summary
#
# - Pruning is Torch-Pruning's `BasePruner(model, example_inputs, importance=..., pruning_ratio=...,
#   ignored_layers=...)` and `step()`; `tp.utils.count_ops_and_params` counts before and after.
#   A pruned model reloads with `tp.load_state_dict` (or as a whole module), not into a fresh one.
# - On ResNet-18: forgetting `ignored_layers` leaves 500 classes while the count looks closer to the
#   rule; `round_to` only ever removes more; local `iterative_steps` end on the one-step count; global
#   pruning's count differs from the local one and is not predicted. Every local setting is predicted
#   to the parameter.
# - A pruning group is the set of layers that must lose the same channels; residual additions make
#   one group of a whole stage, and a weight between two groups loses rows and columns.
# - On the torchvision CNNs tried, the measured reduction equals `ParameterModel`'s prediction to the
#   parameter and lies below `1-(1-p)²` at `p=0.5`; every pruned model still outputs 1000 classes. The
#   small models lie furthest below because of their fixed 1000-class classifier, not their
#   depthwise weights: with a 10-class head they come close to the rule.
# - Where it cannot be exact, `ParameterModel` refuses with `UnsupportedModel` instead of guessing:
#   GoogLeNet's auxiliary heads, which pruning breaks, are refused; without them it is exact.

# %% [markdown]
# ## Questions
#
# 1. A local prune gives the same parameter count whatever the model's weights (random or trained).
#    Why, and why does that stop holding with `global_pruning=True`?
#
# <details><summary>Answer</summary>
#
# A local pruner keeps the same number of channels in every group whatever their scores: the
# importance only chooses *which* channels go, and the count depends only on how many. A global pruner
# ranks the channels of all groups together, so the importance decides how many each group loses,
# and the count follows the weights.
#
# </details>
#
# 2. Without `ignored_layers=[model.fc]` the reduction lands closer to `1-(1-p)²`. Why is that not a
#    better result?
#
# <details><summary>Answer</summary>
#
# The classifier's outputs are then pruned like any other layer's, so its weight loses rows and
# columns, `(1-p)²`, like the convolutions: that brings the count to the rule. But its outputs are the
# classes: the model now predicts fewer than 1000 of them and is no longer the same classifier.
#
# </details>
#
# 3. Why do MobileNet and SqueezeNet sit further below the rule than ResNet-18, and what would bring
#    them close to it?
#
# <details><summary>Answer</summary>
#
# A protected classifier keeps its outputs and shrinks only like `(1-p)`. In these small networks the
# 1000-class classifier holds a large share of all parameters, much more than their depthwise
# weights, so a large share of the model shrinks like `(1-p)`. With a 10-class head that share
# almost vanishes and the reduction comes close to the rule.
#
# </details>
#
# 4. Why does `ParameterModel` refuse GoogLeNet with its auxiliary heads rather than give its best
#    estimate?
#
# <details><summary>Answer</summary>
#
# Torch-Pruning only sees the layers that the example forward pass reaches; in eval mode that pass
# skips the auxiliary heads, so the library shrinks the layers feeding them and leaves the heads at
# full width. The pruned model breaks in training mode. Any count given for it would describe a model
# that does not run; the course refuses instead of printing a number that may be wrong.
#
# </details>

# %% [markdown]
# ## Further reading
#
# - [Torch-Pruning](https://github.com/VainF/Torch-Pruning): the library, its README quick start
#   and the documentation of `BasePruner`'s arguments.
# - Fang et al., [DepGraph: Towards Any Structural Pruning](https://arxiv.org/abs/2301.12900), CVPR
#   2023: the dependency graph and pruning groups behind Torch-Pruning.
# - Li et al., [Pruning Filters for Efficient ConvNets](https://arxiv.org/abs/1608.08710), ICLR 2017:
#   filter (output-channel) pruning by weight norm, the criterion `GroupMagnitudeImportance` extends
#   to whole groups.
# - [torchvision models](https://pytorch.org/vision/stable/models.html): the architectures pruned in
#   section 4 and their constructors' options (`num_classes`, `aux_logits`).
#
# Next: **07 · Reproducing Torch-Pruning's README**.
