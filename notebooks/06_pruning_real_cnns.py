# %% [markdown]
# # 06 · Pruning real CNNs with Torch-Pruning
#
# **Learning goals**
# - write Torch-Pruning's `BasePruner` with every argument that changes the count, step it with
#   `iterative_steps`, and count after each `step()` with `tp.utils.count_ops_and_params`;
# - read what one channel of a pruning group costs, layer by layer, and why a weight between two
#   groups shrinks like `(1-p)²`;
# - prune a dozen torchvision CNNs (four in quick mode) and check every count against
#   `helpers.predict.ParameterModel` and every output against the 1000 classes;
# - see where the prediction refuses instead of guessing (GoogLeNet's auxiliary heads);
# - save a pruned model and load it back.
#
# **Prerequisites**: 04 · Groups and rounding, 05 · The exact count.
#
# **Track**: core
# **Study time**: about 35 min (reading, running the cells and the exercises).
#
# **Run time** (from `figures/notebook_times.csv`): about 12 s in quick mode (2-core CPU); about 65 s in full mode (NVIDIA H100 80GB HBM3).

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
from IPython.display import Markdown, display

from helpers import sweep, theory, zoo
from helpers.report import format_table

QUICK = helpers.env.quick()
# Four families in every mode; the whole zoo in full mode
CORE = ["resnet18", "mobilenet_v3_small", "squeezenet1_1", "regnet_x_400mf"]
MODELS = CORE if QUICK else CORE + [n for n in zoo.names() if n not in CORE]
RATIOS = (0.3, 0.5, 0.6) if QUICK else theory.SEED_RATIOS  # the ratios the table and the checks read, or more
print(f"{len(MODELS)} models: {', '.join(MODELS)}")

# %% [markdown]
# ## 1. The pruner, step by step
#
# Notebook 00 ran Torch-Pruning's quick start: one `step()` at `pruning_ratio=0.5`. Here is the
# same pruner with every argument that changes the parameter count written out:
#
# | argument | what it does |
# |---|---|
# | `pruning_ratio` (our `p`) | fraction of each group's channels removed, once every step has run |
# | `ignored_layers` | layers whose output channels stay (here: the classifier) |
# | `round_to` | kept widths rounded down to a multiple of it (notebook 04) |
# | `iterative_steps` | reach `pruning_ratio` in that many `step()` calls |
# | `global_pruning` | rank channels across all groups instead of within each (notebook 04) |
#
# With `iterative_steps=3` and `pruning_ratio=0.6`, each `step()` goes a third of the way. The loop
# counts after every step and puts the count next to `ParameterModel`'s prediction (notebook 05)
# for pruning the unpruned model in one step to the same ratio:

# %%
# NBVAL_CHECK_OUTPUT
import torch
import torch_pruning as tp
import torchvision

from helpers.predict import ParameterModel

model = torchvision.models.resnet18(weights=None).eval().to(device)
example_inputs = torch.randn(1, 3, 224, 224, device=device)
predictor = ParameterModel(model, example_inputs, [model.fc])  # read once, before anything is pruned
macs, params = tp.utils.count_ops_and_params(model, example_inputs)
print(f"step 0  p=0.00  params {params:>10,}  MACs {macs:>13,.0f}")
pruner = tp.pruner.BasePruner(
    model, example_inputs,
    importance=tp.importance.GroupMagnitudeImportance(p=2),  # a channel's score: the L2 norm of its group's weights
    pruning_ratio=0.6,  # where the last step ends
    ignored_layers=[model.fc],  # keep the 1000 classes
    round_to=None,  # no rounding of the kept widths
    iterative_steps=3,  # three step() calls to reach pruning_ratio
    global_pruning=False,  # each group loses the same fraction
)
steps = []
for step in range(1, pruner.iterative_steps + 1):
    pruner.step()
    macs, params = tp.utils.count_ops_and_params(model, example_inputs)
    ratio = pruner.per_step_pruning_ratio[step]  # the ratio reached so far, from the original widths
    steps.append({"ratio": ratio, "params": params, "predicted": predictor.params(ratio)})
    print(f"step {step}  p={ratio:.2f}  params {params:>10,}  MACs {macs:>13,.0f}  "
          f"one step to p, predicted: {predictor.params(ratio):,}")
with torch.no_grad():
    print("output:", tuple(model(example_inputs).shape))
assert [round(s["ratio"], 6) for s in steps] == [0.2, 0.4, 0.6]
assert all(s["params"] == s["predicted"] for s in steps)  # the path does not matter, only the ratio reached
assert tuple(model(example_inputs).shape) == (1, 1000)

# %% [markdown]
# Each step's ratio is counted from the original widths (`k·p/n` after step `k` of `n`), and after
# every step the model has exactly the count of a single step to that ratio: without `round_to`, a
# local pruner's widths depend on the ratio reached, not on the way there (with it, each step rounds
# against the current width and the path can matter). `helpers.pruning.prune(model, example_inputs,
# p, ignored_layers)` is this pruner with one step and the counts around it (the docstring of
# `helpers.pruning.make_pruner`, which it calls, shows the `BasePruner` call), so the rest of the notebook prunes a model in a line. What goes wrong when `ignored_layers`
# is left out is measured in 14 · Torch-Pruning pitfalls, section "The classifier is pruned unless
# ignored".
#
# ## 2. What one channel costs
#
# Torch-Pruning's `DependencyGraph` couples the layers that must lose the same channels into a
# **pruning group** (notebook 04 listed the stem's). How many parameters does one channel of a group
# take with it? `sweep.group_layers` asks the graph for the group of one output channel of a layer
# (`get_pruning_group`, as in notebook 04), prunes it on a copy of the model (`group.prune()`) and
# lists what each layer lost; exercise `06-channel-cost` asks you to write its total. The group of
# ResNet-18's second stage, rooted at its shortcut convolution:

# %%
# NBVAL_CHECK_OUTPUT
resnet, x, ignored = zoo.build("resnet18", device=device)
stage_group = sweep.group_layers(resnet, x, resnet.layer2[0].downsample[0])
assert len(stage_group) == 9 and {r["pruned"] for r in stage_group} == {"out", "in"}
assert {r["layer"] for r in stage_group if r["pruned"] == "in"} == {"layer2.1.conv1", "layer3.0.conv1",
                                                                    "layer3.0.downsample.0"}
print(f"one channel of layer2's stage group: {sum(r['params_per_channel'] for r in stage_group):,} parameters "
      f"in {len(stage_group)} layers")
Markdown(format_table(stage_group, [("layer", "layer", ""), ("type", "type", ""), ("pruned", "pruned dim", ""),
                                    ("params_per_channel", "parameters removed per channel", ",d")]))

# %% [markdown]
# The outputs of a stage are added together block after block, so the shortcut, every block's last
# convolution and the next stage's inputs share one set of channels. A weight that sits between two
# groups (like `layer2.1.conv1`: its inputs belong to this stage group, its outputs to its block's
# inner group) loses columns with one group and rows with the other: that is the `(1-p)²` of the
# rule. BatchNorm layers (two numbers per channel in the table) belong to one group only and shrink
# like `(1-p)`.
#
# ## 3. A dozen real CNNs
#
# `sweep.zoo_sweep` builds each model, predicts its count at every ratio with `ParameterModel`,
# then prunes a copy of it at each ratio in one step, counts it and runs it forward.

# %%
rows = sweep.zoo_sweep(MODELS, RATIOS, device=device, progress=not helpers.env.progress_disabled())


def table(names, ratios=(0.3, 0.6)):
    """One row per model: parameters, then the measured reduction at each ratio (flagged where it
    differs from the prediction) and the pruned model's number of outputs."""
    out = [{"model": "rule 1-(1-p)²", "params": None, "outputs": "",
            **{f"p{p}": f"{theory.param_reduction(p):.1%}" for p in ratios}}]
    for name in names:
        mine = {r["channel_ratio"]: r for r in rows if r["model"] == name}
        out.append({"model": name, "params": mine[ratios[0]]["params_before"],
                    "outputs": ", ".join(sorted({str(r["output_shape"][1]) for r in mine.values()})),
                    **{f"p{p}": f"{mine[p]['param_reduction']:.1%}" + ("" if mine[p]["params_after"] ==
                       mine[p]["predicted_params_after"] else " (≠ predicted)") for p in ratios}})
    return Markdown(format_table(out, [("model", "model", ""), ("params", "parameters", ",d"),
                                       *[(f"p{p}", f"reduction at p={p}", "") for p in ratios],
                                       ("outputs", "outputs after pruning", "")]))


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
print(f"{len(MODELS)} models x {len(RATIOS)} ratios: every count predicted to the parameter, every "
      f"pruned model outputs 1000 classes, and at p=0.5 every model falls below the rule's "
      f"{theory.param_reduction(0.5):.0%}")

# %% [markdown]
# Every model lands exactly where `ParameterModel` said it would, and below the rule at `p=0.5` for
# the reasons notebook 03 measured one at a time (the stem, the classifier, BatchNorm and depthwise
# weights keep `1-p`); where grouped convolutions round inside small groups, a model can land above
# it at some ratio (notebook 04).
#
# ## 4. Exact, or refused
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
#
# Each exercise is checked by `helpers.checks.check`: replace the `raise NotImplementedError` with
# your code and run the cell. The checks build fresh models of their own.

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
# ### Exercise `06-channel-cost`: what one channel of a group costs
#
# Write `channel_cost(model, example_inputs, layer)`: how many parameters Torch-Pruning removes when
# one output channel of the convolution `layer` goes, with everything its group couples to it
# (section 2's total, for any layer). Build the graph with
# `tp.DependencyGraph().build_dependency(model, example_inputs=example_inputs)`, take the group with
# `get_pruning_group(layer, tp.prune_conv_out_channels, idxs=[0])`, call `group.prune()` and count.
# Leave `model` as it was: do it on `copy.deepcopy(model)`, where the layer is found by its name. The
# check tries three layers of ResNet-18 and MobileNetV3-Small.

# %%
# NBVAL_CHECK_OUTPUT
def channel_cost(model, example_inputs, layer):
    raise NotImplementedError  # your code here


passed = helpers.checks.check("06-channel-cost", channel_cost)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("06-channel-cost")

# %% [markdown]
# ### Exercise `06-save-reload`: save a pruned model and load it back
#
# A pruned model's layers are narrower than the ones its constructor builds, so the usual
# `model.state_dict()` does not load into a fresh `resnet18()` (14 · Torch-Pruning pitfalls, section
# "A pruned model does not load into a fresh one", shows the error). Write
# `save_and_reload(model, path)`: save a pruned torchvision ResNet-18 to the file `path`, load it
# back from that file as a new Python session would (a fresh `resnet18()` and the file, nothing
# else), and return the loaded model. Torch-Pruning's `tp.state_dict(model)` stores each layer's
# widths with its weights, and `tp.load_state_dict(fresh, state_dict=...)` reshapes a fresh model to
# them; saving the whole module with `torch.save` works too. The check prunes a fresh ResNet-18,
# calls your function, and compares the parameter count and the outputs of the model it returns and
# of the file read on its own.

# %%
# NBVAL_CHECK_OUTPUT
def save_and_reload(model, path):
    raise NotImplementedError  # your code here


passed = helpers.checks.check("06-save-reload", save_and_reload)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("06-save-reload")

# %% [markdown]
# ## Summary
#
# - Pruning is Torch-Pruning's `BasePruner(model, example_inputs, importance=..., pruning_ratio=...,
#   ignored_layers=...)` and `step()`; `tp.utils.count_ops_and_params` counts before and after.
#   With `iterative_steps=n`, step `k` reaches `k·p/n` of the original widths, and without
#   `round_to` a local pruner ends each step on the count of one step to that ratio (with it, each
#   step rounds against the current width and the path can matter).
# - A pruning group is the set of layers that must lose the same channels; residual additions make
#   one group of a whole stage. One channel of a group costs the sum of what every layer in it
#   loses; a weight between two groups loses rows with one and columns with the other.
# - On the torchvision CNNs tried, the measured count equals `ParameterModel`'s prediction to the
#   parameter at every ratio, every pruned model still outputs 1000 classes, and at `p=0.5` every
#   one lies below `1-(1-p)²`.
# - Where it cannot be exact, `ParameterModel` refuses with `UnsupportedModel` instead of guessing:
#   GoogLeNet's auxiliary heads, which pruning breaks, are refused; without them it is exact.
# - A pruned model is saved with `tp.state_dict` and loaded with `tp.load_state_dict` into a fresh
#   one, or saved whole.

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
# 2. Three local steps to `p=0.6` end on the count of one step to `0.6`. Why does the path not
#    matter?
#
# <details><summary>Answer</summary>
#
# Each step's ratio is taken from the original widths: after step `k` a group keeps
# `int(C·(1 - k·p/n))` of its `C` channels, whatever the earlier steps kept. The count depends only
# on the kept widths, so it is the count of one step to the ratio reached. (Which channels went may
# differ: each step re-scores the channels left.)
#
# </details>
#
# 3. One channel of ResNet-18's second stage costs far more parameters than one channel of its stem
#    convolution alone. Where do the others come from?
#
# <details><summary>Answer</summary>
#
# From the group: the residual additions tie the shortcut, every block's last convolution, their
# BatchNorms and the next layers' inputs to the same channel, so removing it removes a filter (rows)
# from some layers and an input slice (columns) from others. The count of the root layer alone
# misses all of them.
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
#   sections 3 and 4 and their constructors' options (`aux_logits`).
#
# Next: **07 · Reproducing Torch-Pruning's README** (elective), or on the core track
# **08 · Hitting a parameter budget**.
