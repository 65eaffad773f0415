# %% [markdown]
# # 06 · Pruning real CNNs with Torch-Pruning
#
# **Learning goals**
# - prune a network with Torch-Pruning's own API: `BasePruner`, an importance, `step()`, and
#   `tp.utils.count_ops_and_params` before and after;
# - read Torch-Pruning's dependency graph: which layers lose parameters when one channel goes;
# - know what each pruner argument (`pruning_ratio`, `ignored_layers`, `round_to`, `iterative_steps`,
#   `global_pruning`) does to the parameter count;
# - prune a dozen torchvision CNNs and compare the measured reduction with the rule `1-(1-p)²` and
#   with the exact prediction of `helpers.predict.ParameterModel`;
# - check that every pruned model still runs and still outputs 1000 classes;
# - save a pruned model and load it back (`tp.state_dict`, `tp.load_state_dict`).
#
# **Prerequisites**: 02 · The quadratic law, 05 · The exact count.
#
# **Run time** (from `figures/notebook_times.csv`): about 14 s in quick mode (2-core CPU); about 65 s in full mode (NVIDIA H100 80GB HBM3).

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
from IPython.display import Markdown

from helpers import plots, sweep, theory, zoo
from helpers.tables import format_table

QUICK = helpers.env.quick()
# Four families in every mode; the whole zoo in full mode
CORE = ["resnet18", "mobilenet_v3_small", "squeezenet1_1", "regnet_x_400mf"]
MODELS = CORE if QUICK else CORE + [n for n in zoo.names() if n not in CORE]
RATIOS = theory.SEED_RATIOS
print(f"{len(MODELS)} models: {', '.join(MODELS)}")

# %% [markdown]
# ## 1. Torch-Pruning's quick start
#
# This is Torch-Pruning's README quick start, whole: build the model, count it, give `BasePruner`
# an importance criterion, the channel ratio and the layers to leave alone, call `step()`, count
# again. Every pruning in this course is this call.

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
)
pruner.step()
macs_after, params_after = tp.utils.count_ops_and_params(model, example_inputs)
print(f"parameters: {params_before:,} -> {params_after:,} ({1 - params_after / params_before:.1%} removed)")
print(f"MACs:       {macs_before:,.0f} -> {macs_after:,.0f} ({1 - macs_after / macs_before:.1%} removed)")
print("output:", tuple(model(example_inputs).shape))

# %% [markdown]
# Half of the channels took about three quarters of the parameters with them: the quadratic law of
# notebook 02, on a real network. `helpers.pruning.prune` is these lines with the counts around
# them (its docstring shows the call), so the rest of the notebook can prune many models in a line.

# %%
assert (params_before, params_after) == (11_689_512, 3_055_880)  # the numbers Torch-Pruning's README prints
assert 0.7 < 1 - params_after / params_before < 0.8 and tuple(model(example_inputs).shape) == (1, 1000)

# %% [markdown]
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
# ## 2. The dependency graph
#
# Torch-Pruning runs the model once with autograd switched on (so never under `torch.no_grad()`)
# and records which layer feeds which: its `DependencyGraph`. Removing an output channel of a
# convolution forces the removal of the matching entries elsewhere: the BatchNorm after it, the input
# channel of every layer that reads it, and, through a residual addition, the channels of every other
# branch added to it. Such a set of coupled layers is a **pruning group**; a pruner removes the same
# channel indices from all its members at once.
#
# `sweep.groups` lists the groups a local pruner uses on ResNet-18 (the classifier `fc` is ignored,
# so that the 1000 classes stay): each group's root layer, its width and how many layers with
# parameters it couples.

# %%
resnet, x, ignored = zoo.build("resnet18", device=device)
resnet_groups = sweep.groups(resnet, x, ignored)

# %%
# NBVAL_CHECK_OUTPUT
Markdown(format_table(resnet_groups, [("root", "root layer", ""), ("channels", "channels", "d"),
                                      ("layers", "coupled layers", "d")]))

# %%
n_stage_groups = sum(g["layers"] > 3 for g in resnet_groups)
assert len(resnet_groups) == 12 and n_stage_groups == 4
assert all(g["layers"] == 3 for g in resnet_groups if g["layers"] <= 3)
print(f"{len(resnet_groups)} groups: {n_stage_groups} span a whole stage, the others couple 3 layers")

# %% [markdown]
# Two kinds of group. Inside a residual block, `conv1`'s outputs feed only `bn1` and `conv2`: three
# layers. But the outputs of a stage are added together block after block, so the stem (or the
# downsampling shortcut), every block's last convolution and the next stage's inputs share one set of
# channels: one group per stage. Here is the stem's group, pruned by one channel on a copy of the
# model, with the parameters each layer loses:

# %%
stem_group = sweep.group_layers(resnet, x, resnet.conv1)

# %%
# NBVAL_CHECK_OUTPUT
Markdown(format_table(stem_group, [("layer", "layer", ""), ("type", "type", ""), ("pruned", "pruned dim", ""),
                                   ("params_per_channel", "parameters removed per channel", ",d")]))

# %%
assert len(stem_group) == 10
assert {r["layer"] for r in stem_group if r["pruned"] == "in"} == {
    "layer1.0.conv1", "layer1.1.conv1", "layer2.0.conv1", "layer2.0.downsample.0"}
print(f"one stem channel: {sum(r['params_per_channel'] for r in stem_group)} parameters in "
      f"{len(stem_group)} layers; conv1 alone holds {stem_group[0]['params_per_channel']} of them")

# %% [markdown]
# A weight that sits between two groups (like `layer1.0.conv1`: its outputs belong to the block's
# internal group, its inputs to the stem's) loses rows with one group and columns with the other:
# that is the `(1-p)²` of the rule. `conv1` has only 3 fixed input channels, and BatchNorm weights
# have a single dimension: they shrink like `(1-p)`.
#
# ## 3. The pruner's arguments
#
# `helpers.pruning.prune` wraps Torch-Pruning's `BasePruner` with group L2-magnitude importance.
# The arguments that change the count:
#
# | argument | what it does |
# |---|---|
# | `pruning_ratio` (our `p`) | fraction of each group's channels removed |
# | `ignored_layers` | layers whose output channels stay (here: the classifier) |
# | `round_to` | kept widths rounded down to a multiple of it |
# | `iterative_steps` | reach `p` in several steps, each relative to the original width |
# | `global_pruning` | rank channels across all groups instead of within each |
#
# `sweep.settings_table` prunes a fresh ResNet-18 under each setting, predicts the count first with
# `ParameterModel` (for local pruning) and runs the pruned model once.

# %%
SETTINGS = [
    {"label": "p=0.5", "channel_ratio": 0.5},
    {"label": "p=0.5, nothing ignored", "channel_ratio": 0.5, "ignore_classifier": False},
    {"label": "p=0.5, round_to=8", "channel_ratio": 0.5, "round_to": 8},
    {"label": "p=0.5, iterative_steps=5", "channel_ratio": 0.5, "iterative_steps": 5},
    {"label": "p=0.3", "channel_ratio": 0.3},
    {"label": "p=0.3, round_to=8", "channel_ratio": 0.3, "round_to": 8},
    {"label": "p=0.3, round_to=16", "channel_ratio": 0.3, "round_to": 16},
]
settings = sweep.settings_table("resnet18", SETTINGS, device=device)
by_label = {r["label"]: r for r in settings}

# %%
# NBVAL_CHECK_OUTPUT
Markdown(format_table(settings, [("label", "setting", ""), ("params_after", "parameters after", ",d"),
                                 ("predicted_params_after", "predicted", ",d"), ("param_reduction", "reduction", ".1%"),
                                 ("output_shape", "output", "")]))

# %%
assert all(r["params_after"] == r["predicted_params_after"] for r in settings)
assert by_label["p=0.5"]["params_after"] == 3_055_880  # Torch-Pruning's README quick start prints the same
assert by_label["p=0.5, nothing ignored"]["output_shape"] == (1, 500)
assert by_label["p=0.5, round_to=8"]["params_after"] == by_label["p=0.5"]["params_after"]
assert by_label["p=0.5, iterative_steps=5"]["params_after"] == by_label["p=0.5"]["params_after"]
assert (by_label["p=0.3, round_to=16"]["param_reduction"] > by_label["p=0.3, round_to=8"]["param_reduction"]
        > by_label["p=0.3"]["param_reduction"])
assert abs(by_label["p=0.5, nothing ignored"]["param_reduction"] - theory.param_reduction(0.5)) < abs(
    by_label["p=0.5"]["param_reduction"] - theory.param_reduction(0.5))
kept = int(64 * (1 - 0.3))
print(f"a 64-channel group at p=0.3 keeps {kept}; round_to=8: {kept - kept % 8}; round_to=16: {kept - kept % 16}")

# %% [markdown]
# What the table says:
#
# - **ignored_layers**: forget the classifier and the pruner shrinks it too: the model now predicts
#   500 classes. The parameter count even lands closer to the rule, but the model is broken.
# - **round_to**: at `p=0.5` every ResNet-18 width (64 ... 512) halves to a multiple of 8, so
#   `round_to=8` changes nothing. At `p=0.3` a 64-channel group keeps `int(64 × 0.7)` channels (printed
#   above), not a multiple of 8, and `round_to` lowers that to the multiple below: rounding only ever
#   removes *more*.
# - **iterative_steps**: local pruning in 5 steps ends on exactly the same widths as one step,
#   because each step's ratio is taken relative to the original width. That holds here; where
#   `round_to` bites or a group would be emptied the path can matter (`tests/test_sweep.py` has two
#   small models where it does), and `ParameterModel(..., iterative_steps=5)` replays the schedule.
# - Every local setting is predicted to the parameter by `ParameterModel`.
#
# **global_pruning** is different: channels compete across groups by importance, so the per-layer
# ratios, and the count, depend on the weights (and, for ties, on the device's arithmetic):

# %%
(global_row,) = sweep.settings_table("resnet18", [{"label": "p=0.5, global", "channel_ratio": 0.5,
                                                   "global_pruning": True}], device=device)
print(f"global pruning, p=0.5: {global_row['params_after']:,} parameters "
      f"({global_row['param_reduction']:.1%} removed; local: {by_label['p=0.5']['param_reduction']:.1%})")
assert global_row["params_after"] != by_label["p=0.5"]["params_after"]
assert global_row["output_shape"] == (1, 1000)

# %% [markdown]
# These models carry random weights: the count of a *local* prune does not depend on which channels
# go, only on how many, so random weights give the counts of the trained models. A global prune's
# count does depend on the weights; notebook 08 comes back to it.
#
# ## 4. A dozen real CNNs
#
# `sweep.zoo_sweep` builds each model, predicts its count at every ratio with `ParameterModel`,
# then prunes a copy of it at each ratio in one step, counts it and runs it forward.

# %%
rows = sweep.zoo_sweep(MODELS, RATIOS, device=device, progress=not helpers.env.progress_disabled())


# %%
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
table(MODELS) if not QUICK else print("full mode adds the rest of the zoo here")

# %%
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
plots.rule_axes(ax, p_max=0.65)
for name in MODELS:
    mine = [r for r in rows if r["model"] == name]
    ax.plot([0] + [r["channel_ratio"] for r in mine], [0] + [r["param_reduction"] for r in mine], marker="o",
            markersize=3, linewidth=1, label=name)
ax.set_title("Measured on real CNNs (classifier ignored)")
ax.legend(ncol=2, fontsize=7)
plots.save(fig, "06_zoo_reduction");

# %% [markdown]
# The measured points are the predictions, and each family's distance below the rule is its share of
# tensors that shrink like `(1-p)` instead of `(1-p)²` (notebook 03). The furthest below are the
# small mobile models (MobileNet, MnasNet, EfficientNet) and SqueezeNet; the next cell says why.
# Models whose widths force rounding (grouped convolutions in RegNet and ResNeXt, DenseNet's many
# narrow layers) can land slightly *above* the rule at some ratios:

# %%
at_half = sorted((r for r in rows if r["channel_ratio"] == 0.5), key=lambda r: r["param_reduction"])
low = [r for r in at_half if r["model"].startswith(("mobilenet", "mnasnet", "efficientnet", "squeezenet"))]
squeeze, _, squeeze_classifier = zoo.build("squeezenet1_1")
classifier_share = squeeze_classifier[0].weight.numel() / helpers.counting.n_params(squeeze)
print("at p=0.5, lowest first:", ", ".join(f"{r['model']} {r['param_reduction']:.1%}" for r in at_half))
print(f"squeezenet1_1: the classifier convolution holds {classifier_share:.0%} of the parameters")
assert at_half[:len(low)] == low  # those models are the lowest
assert classifier_share > 0.4
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
Markdown(format_table(heads, [("model", "model", ""), ("classifier", "classifier (1000 classes)", ".1%"),
                              ("depthwise", "depthwise weights", ".1%"), ("p05", "removed at p=0.5", ".1%"),
                              ("p05_10", "with a 10-class head", ".1%")]))

# %%
lowest = [h for h in heads if h["model"] in {r["model"] for r in low}]
assert all(h["classifier"] > 5 * h["depthwise"] for h in lowest)  # the classifier, not depthwise weights
assert all(h["p05_10"] > h["p05"] for h in heads)
assert max(theory.param_reduction(0.5) - h["p05_10"] for h in heads) < min(
    theory.param_reduction(0.5) - h["p05"] for h in lowest)
print(f"with a 10-class head every model removes between {min(h['p05_10'] for h in heads):.1%} and "
      f"{max(h['p05_10'] for h in heads):.1%} at p=0.5 (the rule: {theory.param_reduction(0.5):.0%})")

# %% [markdown]
# What keeps the small models furthest below the rule is their 1000-class classifier: its outputs
# are fixed, so it shrinks like `(1-p)`, and in a small network it holds a large share of the
# parameters, many times their depthwise weights. With 10 classes the same networks come close to
# the rule, as the last column shows.

# %% [markdown]
# ### Exact, or refused
#
# `ParameterModel` either agrees with Torch-Pruning to the parameter or raises
# `helpers.unsupported.UnsupportedModel`, naming the layer and what to do; it never guesses. GoogLeNet
# built with its auxiliary heads is such a case: in eval mode the forward pass never reaches them.
# See what Torch-Pruning does to it, then what the predictor says:

# %%
from helpers.pruning import prune_copy
from helpers.unsupported import UnsupportedModel

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

# %% [markdown]
# Built without the heads (`aux_logits=False`), the same network is predicted to the parameter:

# %%
without_aux = torchvision.models.googlenet(weights=None, init_weights=False, aux_logits=False).eval()
predicted = ParameterModel(without_aux, example, [without_aux.fc]).params(0.5)
measured = prune_copy(without_aux, example, 0.5, [without_aux.fc], count_macs=False).params_after
print(f"googlenet without auxiliary heads, p=0.5: predicted {predicted:,}, measured {measured:,}")
assert predicted == measured

# %% [markdown]
# ## Exercises
#
# **1. Kept channels.** Write `kept_channels(channels, p, round_to)`: the number of channels a
# local pruner keeps in a group of `channels` at ratio `p`, rounded down to a multiple of `round_to`
# when it is given (see the `round_to` rows above).

# %%
def kept_channels(channels, p, round_to=None):
    raise NotImplementedError  # your code here


helpers.checks.check("06-kept-channels", kept_channels);

# %% [markdown]
# To see the reference solution: `helpers.checks.reveal("06-kept-channels")`.
#
# **2. The stem's group.** How many parameters does ResNet-18 lose when one output channel of its
# stem `conv1` is removed, together with everything coupled to it?

# %%
stem_answer = ...  # your answer (a whole number)
helpers.checks.check("06-resnet18-stem-group", stem_answer);

# %% [markdown]
# To see the reference solution: `helpers.checks.reveal("06-resnet18-stem-group")`.
#
# **3. Your own pruner.** Write `build_pruner(model, example_inputs)`, returning Torch-Pruning's
# `BasePruner` for ResNet-18 with group L2 magnitude importance, channel ratio 0.3, the classifier
# `model.fc` ignored and `round_to=8` (section 1 has every argument but one). The check builds a fresh
# ResNet-18, calls `step()` on your pruner and compares the parameter count and the number of classes.

# %%
def build_pruner(model, example_inputs):
    raise NotImplementedError  # your code here


helpers.checks.check("06-resnet18-pruner", build_pruner);

# %% [markdown]
# To see the reference solution: `helpers.checks.reveal("06-resnet18-pruner")`.
#
# ## Summary
#
# - Pruning is Torch-Pruning's `BasePruner(model, example_inputs, importance=..., pruning_ratio=...,
#   ignored_layers=...)` and one `step()`; `tp.utils.count_ops_and_params` counts before and after.
#   A pruned model reloads with `tp.load_state_dict` (or as a whole module), not into a fresh one.
# - A pruning group is the set of layers that must lose the same channels; residual additions make
#   one group of a whole stage. Torch-Pruning's `DependencyGraph` finds them by tracing the model.
# - `ignored_layers` keeps the classes; forgetting it breaks the model while the count looks fine.
#   `round_to` only ever removes more; on ResNet-18 local `iterative_steps` end on the one-step
#   widths; global pruning's count depends on the weights.
# - On a dozen torchvision CNNs the measured reduction equals `ParameterModel`'s prediction to the
#   parameter, and lies below `1-(1-p)²`; every pruned model still runs with 1000 outputs. The
#   small models lie furthest below because of their fixed 1000-class classifier, not their
#   depthwise weights: with a 10-class head they come close to the rule.
# - Where it cannot be exact, `ParameterModel` refuses with `UnsupportedModel` instead of guessing:
#   GoogLeNet's auxiliary heads, which pruning breaks, are refused; without them it is exact.
#
# **Exercises**: `kept_channels` (how a local pruner rounds), `resnet18_stem_group` (the size of a
# residual group), `resnet18_pruner` (Torch-Pruning's `BasePruner`, written by you).
