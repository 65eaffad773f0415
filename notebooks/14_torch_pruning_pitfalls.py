# %% [markdown]
# # 14 · Torch-Pruning pitfalls
#
# **Learning goals**
# - recognise, by its symptom, each behaviour of Torch-Pruning 1.6.1 that surprises its users: a
#   classifier pruned, a model that will not load, a cap that does not cap, fewer parameters removed
#   than asked, an importance that crashes, a transformer that no longer runs or grows as it is pruned
#   harder, a ratio that removes a channel too many, a rounding that removes far too many;
# - reproduce each with Torch-Pruning's own calls on a torchvision model, held by an `assert`;
# - apply the fix for each: the argument or the call to use, measured to work.
#
# **Prerequisites**: 06 · Pruning real CNNs with Torch-Pruning (the pruner and its arguments); for the
# two transformer sections, 13 · Beyond CNNs: transformers. A reference: each section stands alone.
#
# **Track**: elective
# **Study time**: about 30 min (reading, running the cells and the exercises).
#
# **Run time** (from `figures/notebook_times.csv`): about 11 s in quick mode (2-core CPU); full mode (GPU) not measured yet.

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
import copy
import io
import warnings

import numpy as np
import torch
import torch.nn.functional as F
import torch_pruning as tp
import torchvision
from IPython.display import Markdown
from torch import nn

from helpers.counting import n_params
from helpers.report import format_table

# Parameter counts and kept widths do not depend on the input size (every CNN here pools before its
# classifier): 64x64 images keep the cells quick and give the counts of 224x224 images
IMAGE = torch.randn(1, 3, 64, 64, device=device)
# Torch-Pruning warns about a ViT's class token and position embedding ("unwrapped parameters") and
# prunes their last dimension, which is right for both: silence the warning
warnings.filterwarnings("ignore", message=".*[Uu]nwrapped parameters.*")


def magnitude():
    """The course's importance: the L2 norm of each channel's weights over its group."""
    return tp.importance.GroupMagnitudeImportance(p=2)


def build(name):
    """A torchvision model with random weights, in eval mode (counts do not depend on the weights)."""
    return getattr(torchvision.models, name)(weights=None).eval().to(device)

# %% [markdown]
# Each section below shows one behaviour of Torch-Pruning 1.6.1 on a real model, holds it with an
# `assert` (a release that changes it fails this notebook's test) and gives the fix:
#
# | section | what you see | the fix |
# |---|---|---|
# | The classifier is pruned unless ignored | the model answers fewer classes, without an error | `ignored_layers=[classifier]` |
# | A pruned model does not load into a fresh one | `load_state_dict` raises size mismatches | `tp.state_dict` and `tp.load_state_dict`, or the pruning history |
# | max_pruning_ratio is checked before a step | layers lose more than the cap | the cap as the ratio, or in `pruning_ratio_dict` |
# | Iterative global pruning removes fewer parameters | as many channels as one step, fewer parameters | count after pruning; search `p` on the schedule you use |
# | Taylor importance without gradients | `step()` raises `AttributeError` | a backward pass on a loss, then a new pruner |
# | A ViT told nothing about its heads | the pruned ViT fails at its first forward pass | `out_channel_groups={attention: heads}`, then `hidden_dim` |
# | Global pruning that grows the model (#417) | a higher ratio leaves a larger model | `isomorphic=True` (or local pruning) |
# | A numpy float as the ratio | a channel fewer in some layers | `round(float(p), 6)` |
# | round_to on grouped convolutions | grouped layers lose far more than `p` | `round_to=None` on models with grouped convolutions |
#
# ## The classifier is pruned unless ignored
#
# `BasePruner` prunes every layer it reaches, the last one too: the outputs of a classifier are its
# classes. ResNet-18 at `p = 0.3`, once with nothing ignored and once with its classifier `model.fc`
# in `ignored_layers`:

# %%
# NBVAL_CHECK_OUTPUT
classes = {}
for keep in (False, True):
    model = build("resnet18")
    pruner = tp.pruner.BasePruner(model, IMAGE, importance=magnitude(), pruning_ratio=0.3,
                                  ignored_layers=[model.fc] if keep else [])
    pruner.step()
    with torch.no_grad():
        classes[keep] = model(IMAGE).shape[-1]
    print(f"ignored_layers={'[model.fc]' if keep else '[]':<11} -> {model.fc}: the model answers {classes[keep]} classes")
pruned = model  # ResNet-18 at p = 0.3, its classifier kept: the next section saves it
assert classes == {False: int(1000 * (1 - 0.3)), True: 1000}

# %% [markdown]
# Nothing warns: the pruned model runs and answers fewer classes. **Fix**: put the layer whose outputs
# are the classes in `ignored_layers` (`helpers.zoo.build` returns it with every model it builds; in
# SqueezeNet it is a 1×1 convolution, in a language model the LM head).
#
# ## A pruned model does not load into a fresh one
#
# `model.state_dict()` holds tensors only; the widths live in the layers, and `resnet18()` builds them
# at their original widths:

# %%
fresh = torchvision.models.resnet18(weights=None)
try:
    fresh.load_state_dict(pruned.state_dict())
except RuntimeError as err:
    mismatch = str(err)
print(mismatch.splitlines()[1].strip())
assert "size mismatch" in mismatch

# %% [markdown]
# **Fix**: Torch-Pruning's `tp.state_dict(model)` stores each module's attributes (its widths) with its
# tensors, and `tp.load_state_dict(fresh, state_dict=...)` sets them on a fresh model; or save the whole
# module with `torch.save(model)`. Neither file is plain tensors, so `torch.load` with its default
# (`weights_only=True` in the torch releases the course runs on) refuses both:

# %%
# NBVAL_CHECK_OUTPUT
def saved(obj):
    """A file in memory that torch.save wrote obj into, ready to read."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return buffer


refused = {}
for what, obj in (("tp.state_dict(pruned)", tp.state_dict(pruned)), ("the whole module", pruned)):
    try:
        torch.load(saved(obj))
    except Exception as err:  # pickle.UnpicklingError
        refused[what] = type(err).__name__
    print(f"torch.load of {what}: {refused.get(what, 'loaded')}")
reloaded = tp.load_state_dict(torchvision.models.resnet18(weights=None),  # only files you trust:
                              state_dict=torch.load(saved(tp.state_dict(pruned)), weights_only=False))
whole = torch.load(saved(pruned), weights_only=False)
macs, params = tp.utils.count_ops_and_params(reloaded.eval(), IMAGE)
with torch.no_grad():
    same = [torch.equal(m.eval()(IMAGE), pruned(IMAGE)) for m in (reloaded, whole)]
print(f"with weights_only=False: tp.load_state_dict into a fresh resnet18, {params:,} parameters, same outputs: "
      f"{same[0]}; the whole module, same outputs: {same[1]}")
assert set(refused.values()) == {"UnpicklingError"} and len(refused) == 2
assert params == n_params(pruned) and all(same)

# %% [markdown]
# `weights_only=False` runs whatever the file's pickle asks for: load such a file only from a source you
# trust. A file that `torch.load`'s default accepts holds the plain `model.state_dict()` and the pruning
# history (`pruner.pruning_history()`, the channels each step removed), which Torch-Pruning replays on a
# fresh model before the weights go in: exercise `14-load-pruned` writes it.
#
# ## max_pruning_ratio is checked before a step
#
# `max_pruning_ratio` reads like a cap on each layer. Torch-Pruning 1.6.1
# (`pruner/algorithms/base_pruner.py`) uses it in two places: `get_target_pruning_ratio` returns
# `min(ratio, max_pruning_ratio)` for the ratios of `pruning_ratio_dict`, and before each step
# `_check_pruning_ratio` leaves out a group in which a layer is already narrower than
# `(1 - max_pruning_ratio)` of its initial width. The default `pruning_ratio` passes through neither
# in one step. ResNet-18 at `pruning_ratio=0.5` with `max_pruning_ratio=0.25`:

# %%
# NBVAL_CHECK_OUTPUT
CAP = 0.25
base = build("resnet18")
base_widths = {n: m.out_channels for n, m in base.named_modules() if isinstance(m, nn.Conv2d)}


def lost(model):
    """The fraction of its output channels each convolution lost."""
    return {n: 1 - m.out_channels / base_widths[n] for n, m in model.named_modules() if isinstance(m, nn.Conv2d)}


cap_rows = []
for run, steps, spare in (("one step", 1, False), ("5 steps", 5, False), ("one step, layer4 at 0.8 in the dict", 1, True)):
    model = copy.deepcopy(base)
    pruner = tp.pruner.BasePruner(model, IMAGE, importance=magnitude(), pruning_ratio=0.5, max_pruning_ratio=CAP,
                                  iterative_steps=steps, ignored_layers=[model.fc],
                                  pruning_ratio_dict={model.layer4: 0.8} if spare else None)
    for _ in range(steps):
        pruner.step()
    fractions = lost(model)
    in_layer4 = [f for n, f in fractions.items() if n.startswith("layer4")]
    elsewhere = [f for n, f in fractions.items() if not n.startswith("layer4")]
    cap_rows.append({"run": run, "low": min(elsewhere), "high": max(elsewhere), "layer4": max(in_layer4)})
one, five, spared = cap_rows
past = min(r for r in tp.pruner.algorithms.scheduler.linear_scheduler(0.5, 5) if r > CAP)  # the step past the cap
assert one["low"] == one["high"] == one["layer4"] == 0.5  # one step: the cap did nothing
assert past - 0.01 < five["low"] <= max(five["high"], five["layer4"]) < past + 0.02  # stopped a step past the cap
assert abs(spared["layer4"] - CAP) < 0.01 and spared["low"] == spared["high"] == 0.5  # the dict's ratio capped
Markdown(format_table(cap_rows, [("run", f"pruning_ratio=0.5, max_pruning_ratio={CAP}", "", "left"),
                                 ("low", "other layers lose, from", ".3f"), ("high", "to", ".3f"),
                                 ("layer4", "layer4 loses at most", ".3f")]))

# %% [markdown]
# In one step every layer loses the default ratio whole; in five steps each layer stops after the first
# step that took it past the cap (a little further where whole channels round down); only the ratio
# given in `pruning_ratio_dict` is capped. **Fix**: to keep every layer within a cap, give the cap as
# the ratio itself (`pruning_ratio=min(p, cap)`) or through `pruning_ratio_dict`; read
# `max_pruning_ratio` as a guard between iterative steps, which a layer overshoots by up to one step.
#
# ## Iterative global pruning removes fewer parameters
#
# With `global_pruning=True` and `iterative_steps=n`, step `k` removes the lowest-scored channels of all
# groups until `k·p/n` of them are gone, as one step to that ratio would; but each step scores the
# pruned model afresh. ResNet-18 at `p = 0.5`, in one step and in five, with the channels counted over
# the pruner's groups as Torch-Pruning counts them:

# %%
# NBVAL_CHECK_OUTPUT
def group_channels(pruner):
    """The channels left in the pruner's groups (Torch-Pruning's count: one per index of a group)."""
    groups = pruner.DG.get_all_groups(ignored_layers=pruner.ignored_layers, root_module_types=pruner.root_module_types)
    return sum(len(group[0].idxs) for group in groups)


STAGES = ("layer1", "layer2", "layer3", "layer4")
global_rows = []
for steps in (1, 5):
    model = copy.deepcopy(base)
    pruner = tp.pruner.BasePruner(model, IMAGE, importance=magnitude(), pruning_ratio=0.5, global_pruning=True,
                                  iterative_steps=steps, ignored_layers=[model.fc])
    for _ in range(steps):
        pruner.step()
    fractions = lost(model)
    global_rows.append({"steps": steps, "channels": 1 - group_channels(pruner) / pruner.initial_total_channels,
                        "params": 1 - n_params(model) / n_params(base),
                        **{stage: fractions[f"{stage}.1.conv1"] for stage in STAGES}})
one, five = global_rows
assert one["channels"] == five["channels"] == 0.5  # the schedule fixes how many channels go
assert five["params"] < one["params"]  # but in five steps they cost fewer parameters
assert five["layer1"] > one["layer1"] and five["layer4"] < one["layer4"]  # taken from the early stages
Markdown(format_table(global_rows, [("steps", "global, p = 0.5, steps", "d"), ("channels", "channels removed", ".1%"),
                                    ("params", "parameters removed", ".1%"),
                                    *[(s, f"{s}.1.conv1 loses", ".3f") for s in STAGES]]))

# %% [markdown]
# The same share of the channels, not the same channels: the five steps took more of them from the
# early stages, whose channels carry few parameters (their convolutions are the narrowest), and fewer
# from `layer4`, whose channels carry the most. Local pruning does not drift: each group loses its own
# `p` at every step, so several steps end on the one-step widths (notebook 06). **Fix**: under global
# pruning, count after pruning, and to meet a budget search `p` by pruning and counting with the
# schedule you will use (notebook 08's bisection), not with one step.
#
# ## Taylor importance without gradients
#
# `tp.importance.TaylorImportance` scores a channel by `Σ|w·g|`, its weights times their gradients, and
# reads the gradients from each weight's `.grad`, which stays `None` until a backward pass has run:

# %%
# NBVAL_CHECK_OUTPUT
taylor = copy.deepcopy(base)
pruner = tp.pruner.BasePruner(taylor, IMAGE, importance=tp.importance.TaylorImportance(), pruning_ratio=0.3,
                              ignored_layers=[taylor.fc])
try:
    pruner.step()
except AttributeError as err:
    print(f"step() without gradients: AttributeError: {err}")
print(f"parameters: {n_params(taylor):,}, as before: {n_params(taylor) == n_params(base)}")
assert n_params(taylor) == n_params(base)  # the scores come first: nothing was pruned

# %% [markdown]
# **Fix**: a backward pass on a loss first, over a batch of training images (random stand-ins here);
# then a *new* pruner, because the failed `step()` counted as the pruner's one step:

# %%
# NBVAL_CHECK_OUTPUT
generator = torch.Generator().manual_seed(0)
images = torch.randn(8, 3, 64, 64, generator=generator).to(device)
labels = torch.randint(0, 1000, (8,), generator=generator).to(device)
taylor.zero_grad()  # gradients add up over backward passes: start from none
F.cross_entropy(taylor(images), labels).backward()  # fills each weight's .grad
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    pruner.step()  # the same pruner again
said = next(str(w.message) for w in caught if "iterative steps" in str(w.message))
print(f"the same pruner again: {n_params(taylor):,} parameters; it warns: {said}")
assert n_params(taylor) == n_params(base) and pruner.current_step > pruner.iterative_steps
pruner = tp.pruner.BasePruner(taylor, IMAGE, importance=tp.importance.TaylorImportance(), pruning_ratio=0.3,
                              ignored_layers=[taylor.fc])
pruner.step()
print(f"a new pruner: {n_params(taylor):,} parameters, as many as magnitude pruning leaves at this ratio: "
      f"{n_params(taylor) == n_params(pruned)}")
assert n_params(taylor) == n_params(pruned)  # a local prune's count does not depend on the criterion

# %% [markdown]
# ## A ViT told nothing about its heads
#
# torchvision's `VisionTransformer` uses `nn.MultiheadAttention`, whose embedding size is the hidden
# size and must stay a multiple of its heads. Told nothing about the heads, Torch-Pruning prunes the
# hidden size like any width. A ViT of torchvision's own class, small so that the cell is quick (4
# blocks, hidden size 128 in 4 heads, 64×64 images), pruned at `p = 0.1`:

# %%
def small_vit():
    """torchvision's VisionTransformer, small: 4 blocks, hidden size 128 in 4 heads, 64x64 images."""
    torch.manual_seed(0)
    return torchvision.models.VisionTransformer(image_size=64, patch_size=16, num_layers=4, num_heads=4,
                                                hidden_dim=128, mlp_dim=512).eval().to(device)


vit = small_vit()
width, heads = vit.hidden_dim, vit.encoder.layers[0].num_heads
tp.pruner.BasePruner(vit, IMAGE, importance=magnitude(), pruning_ratio=0.1, ignored_layers=[vit.heads.head]).step()
vit.hidden_dim = vit.conv_proj.out_channels  # the ViT reads its width from here at every call
try:
    with torch.no_grad():
        vit(IMAGE)
    failed = None
except (AssertionError, RuntimeError) as err:  # the fast path of inference raises the latter
    failed = f"{type(err).__name__}: {err}"
print(f"hidden size {width} -> {vit.hidden_dim} for {heads} heads; the forward pass: {failed}")
assert vit.hidden_dim == int(width * 0.9) and vit.hidden_dim % heads and failed

# %% [markdown]
# **Fix**: name each attention with its heads in `out_channel_groups`: the hidden size is then pruned per
# head, the same channels in each head's slice, and stays a multiple of the heads. After `step()`, set
# the ViT's `hidden_dim`, which its forward pass reads. `num_heads`, the argument for separate Q, K and
# V projections, keeps the attention whole here, and the hidden size with it:

# %%
# NBVAL_CHECK_OUTPUT
vit_rows = []
for told in ("out_channel_groups", "num_heads"):
    vit = small_vit()
    attentions = {m: m.num_heads for m in vit.modules() if isinstance(m, nn.MultiheadAttention)}
    tp.pruner.BasePruner(vit, IMAGE, importance=magnitude(), pruning_ratio=0.1, ignored_layers=[vit.heads.head],
                         **{told: attentions}).step()
    try:
        with torch.no_grad():
            vit(IMAGE)
        stale = "runs"
    except RuntimeError:
        stale = "fails"
    vit.hidden_dim = vit.conv_proj.out_channels
    with torch.no_grad():
        classes = vit(IMAGE).shape[-1]
    vit_rows.append({"told": f"{told}={{attention: {heads}}}", "hidden": vit.hidden_dim,
                     "per_head": vit.hidden_dim / heads, "mlp": vit.encoder.layers[0].mlp[0].out_features,
                     "stale": stale, "classes": classes})
grouped_heads, named_heads = vit_rows
assert grouped_heads["hidden"] % heads == 0 and grouped_heads["hidden"] < width and grouped_heads["stale"] == "fails"
assert named_heads["hidden"] == width and named_heads["mlp"] < 512
assert all(r["classes"] == 1000 for r in vit_rows)
Markdown(format_table(vit_rows, [("told", "told (p = 0.1)", "", "left"), ("hidden", "hidden size", "d"),
                                 ("per_head", "per head", "g"), ("mlp", "MLP (block 0)", "d"),
                                 ("stale", "hidden_dim not set", "", "left"), ("classes", "classes", "d")]))

# %% [markdown]
# ## Global pruning that grows the model (#417)
#
# [Torch-Pruning issue #417](https://github.com/VainF/Torch-Pruning/issues/417) prunes a ViT with
# *global* pruning, `round_to` set to the number of heads and the class token and position embedding
# passed as unwrapped parameters, over a range of ratios: at high ratios the model is larger than at
# lower ones. The issue's call, its classifier ignored, on the small ViT, next to Torch-Pruning's own remedy, `isomorphic=True`
# (Isomorphic Pruning, Fang et al.), which ranks globally only among groups of the same structure, and to
# local pruning:

# %%
# NBVAL_CHECK_OUTPUT
def issue_417(p, **scope):
    """The issue's call on the small ViT; returns the pruned model."""
    vit = small_vit()
    tp.pruner.BasePruner(vit, IMAGE, importance=magnitude(), pruning_ratio=p, ignored_layers=[vit.heads.head],
                         round_to=heads, unwrapped_parameters=[(vit.class_token, 2), (vit.encoder.pos_embedding, 2)],
                         **scope).step()
    return vit


vit_params = n_params(small_vit())
growth = []
MODES = {"global": dict(global_pruning=True), "global, isomorphic": dict(global_pruning=True, isomorphic=True),
         "local": dict(global_pruning=False)}
for mode, scope in MODES.items():
    for p in (0.5, 0.7, 0.9):
        vit = issue_417(p, **scope)
        growth.append({"mode": mode, "p": p, "hidden": vit.conv_proj.out_channels,
                       "mlp": vit.encoder.layers[0].mlp[0].out_features, "params": n_params(vit),
                       "removed": 1 - n_params(vit) / vit_params})
by_mode = {mode: {r["p"]: r for r in growth if r["mode"] == mode} for mode in MODES}
plain, iso, local = by_mode["global"], by_mode["global, isomorphic"], by_mode["local"]
assert plain[0.7]["params"] > plain[0.5]["params"] and plain[0.7]["hidden"] == width  # larger at a higher ratio
for shrinking in (iso, local):
    assert shrinking[0.5]["params"] > shrinking[0.7]["params"] > shrinking[0.9]["params"]
assert all(iso[p]["hidden"] == local[p]["hidden"] for p in iso)  # the hidden size ranked alone: as if local
Markdown(format_table(growth, [("mode", "pruning", "", "left"), ("p", "p", ".1f"), ("hidden", "hidden size", "d"),
                               ("mlp", "MLP (block 0)", "d"), ("params", "parameters", ",d"),
                               ("removed", "removed", ".3f")]))

# %% [markdown]
# Why a higher ratio can leave the hidden size whole: global pruning puts the scores of all groups in
# one list and removes every channel scored at or below the threshold that takes away `p` of them all
# (`GroupMagnitudeImportance` divides each group's scores by their mean first). The scores of the
# issue's pruner at `p = 0.7`, per group, against that threshold at each ratio:

# %%
# NBVAL_CHECK_OUTPUT
vit = small_vit()
pruner = tp.pruner.BasePruner(vit, IMAGE, importance=magnitude(), pruning_ratio=0.7, global_pruning=True,
                              ignored_layers=[vit.heads.head], round_to=heads,
                              unwrapped_parameters=[(vit.class_token, 2), (vit.encoder.pos_embedding, 2)])
names = {m: n for n, m in vit.named_modules()}
score_rows, scores = [], []
for group in pruner.DG.get_all_groups(ignored_layers=pruner.ignored_layers, root_module_types=pruner.root_module_types):
    score = pruner.estimate_importance(group)
    hidden = any(dep.target.module is vit.conv_proj for dep, _ in group)
    score_rows.append({"group": "hidden size (every block)" if hidden else names[group[0].dep.target.module],
                       "channels": len(score), "low": score.min().item(), "high": score.max().item(),
                       "spread": score.std().item()})
    scores.append(score)
every = torch.cat(scores)


def threshold(p):
    """Torch-Pruning's global threshold in one step: the n-th lowest score, n the channels to remove."""
    n = len(every) - int(len(every) * (1 - p))
    return torch.topk(every, k=n, largest=False).values[-1].item()


hidden = next(r for r in score_rows if r["group"].startswith("hidden"))
whole = pruner.DG.get_pruning_group(vit.conv_proj, tp.prune_conv_out_channels, list(range(width)))
print("thresholds: " + ", ".join(f"p = {p}: {threshold(p):.4f}" for p in (0.5, 0.7, 0.9)))
print(f"a group that removes every channel of the hidden size is refused: "
      f"DG.check_pruning_group(...) = {pruner.DG.check_pruning_group(whole)}")
assert hidden["low"] < threshold(0.5) < hidden["high"] < threshold(0.7)
assert hidden["spread"] < min(r["spread"] for r in score_rows if r is not hidden)
assert not pruner.DG.check_pruning_group(whole)
Markdown(format_table(score_rows, [("group", "group (root layer)", "", "left"), ("channels", "channels", "d"),
                                   ("low", "lowest score", ".4f"), ("high", "highest", ".4f"),
                                   ("spread", "std", ".4f")]))

# %% [markdown]
# The hidden size is one group that reaches every block, and its scores, averaged over the many
# layers it touches, bunch tightly around their mean of 1; each MLP's spread wider. At `p = 0.5` the
# threshold falls inside the bunch and part of the hidden size goes. At `p = 0.7` it lies above the
# whole bunch: every channel of the hidden size is selected, Torch-Pruning refuses a group that would
# remove all its channels (`DependencyGraph.check_pruning_group`), and the hidden size stays whole
# while only the MLPs shrink, so the model is larger than at `p = 0.5`. **Fix**: `isomorphic=True`
# with `global_pruning=True`: the hidden size, alone of its structure, is ranked alone and shrinks with
# `p` exactly as under local pruning (the table's hidden sizes), while the blocks' MLPs, alike, still
# compete with one another; or prune locally. Count what was removed rather than trust `p`.
#
# ## A numpy float as the ratio
#
# Torch-Pruning keeps `int(C × (1 - p))` of a group's `C` channels, and `int` truncates: a product that
# should be whole but lands a hair below it loses a channel. A ratio that is not exactly the decimal it
# prints as does that: a `numpy.float32`, or a value from `np.linspace`. RegNetX-400MF pruned at each,
# with the width its third stage keeps:

# %%
# NBVAL_CHECK_OUTPUT
regnet = build("regnet_x_400mf")
stage3 = regnet.trunk_output.block3[0].proj[0].out_channels  # the third stage's width
ratios = {"0.6": 0.6, "np.float32(0.6)": np.float32(0.6),
          "0.7": 0.7, "np.linspace(0.1, 0.9, 9)[6]": np.linspace(0.1, 0.9, 9)[6]}
ratio_rows = []
for label, p in ratios.items():
    model = copy.deepcopy(regnet)
    tp.pruner.BasePruner(model, IMAGE, importance=magnitude(), pruning_ratio=p, ignored_layers=[model.fc]).step()
    ratio_rows.append({"ratio": label, "value": repr(float(p)), "product": repr(float(stage3 * (1 - p))),
                       "kept": model.trunk_output.block3[0].proj[0].out_channels, "params": n_params(model),
                       "fixed": repr(round(float(p), 6))})
kept = {r["ratio"]: r["kept"] for r in ratio_rows}
assert kept["0.6"] == stage3 * 4 // 10 and kept["np.float32(0.6)"] == kept["0.6"] - 1
assert kept["0.7"] == stage3 * 3 // 10 and kept["np.linspace(0.1, 0.9, 9)[6]"] == kept["0.7"] - 1
assert [round(float(p), 6) for p in ratios.values()] == [0.6, 0.6, 0.7, 0.7] == [i / 10 for i in (6, 6, 7, 7)]
Markdown(format_table(ratio_rows, [("ratio", "pruning_ratio", "", "left"), ("value", "its value", "", "left"),
                                   ("product", f"{stage3} × (1 - p)", "", "left"), ("kept", "third stage keeps", "d"),
                                   ("params", "parameters", ",d"), ("fixed", "round(float(p), 6)", "", "left")]))

# %% [markdown]
# `np.float32(0.6)` is a little above 0.6, `np.linspace` returns a little above 0.7 as its seventh value,
# and each product falls just below a whole number: a channel fewer in every group whose width makes
# the product whole, and a different count. `float(p)` alone does not help (`float(np.float32(0.6))`
# keeps the float32's value). **Fix**: round the ratio to the decimals you mean before passing it,
# `round(float(p), 6)`, which gives back exactly the values typed as `0.6` and `0.7` (last column), or
# build ratios as `i / 10`.
#
# ## round_to on grouped convolutions
#
# RegNetX's grouped convolutions split their channels into groups of a fixed width, and Torch-Pruning
# prunes the same channels in each group. `round_to=8` should round each kept width down to a multiple of 8;
# at a ratio close to 0 it should change little. RegNetX-400MF at `p = 0.01`, without and with it:

# %%
# NBVAL_CHECK_OUTPUT
grouped = [n for n, m in regnet.named_modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
P_SMALL = 0.01
round_rows = []
for round_to in (None, 8):
    model = copy.deepcopy(regnet)
    pruner = tp.pruner.BasePruner(model, IMAGE, importance=magnitude(), pruning_ratio=P_SMALL, round_to=round_to,
                                  ignored_layers=[model.fc])
    pruner.step()
    layers = dict(model.named_modules())
    kept_share = {layers[n].out_channels / regnet.get_submodule(n).out_channels for n in grouped}
    first = layers[grouped[0]]
    round_rows.append({"round_to": str(round_to), "first": f"{first.out_channels} in {first.groups} groups",
                       "kept": ", ".join(f"{k:.4f}" for k in sorted(kept_share)),
                       "removed": 1 - n_params(model) / n_params(regnet)})
first = regnet.get_submodule(grouped[0])
width_per_group = first.out_channels // first.groups
per_group = width_per_group - int(width_per_group * (1 - P_SMALL))  # channels to remove from each group
rounded = pruner._round_to(per_group, first.out_channels, 8)  # Torch-Pruning's rounding, as step() calls it
print(f"{len(grouped)} grouped convolutions, groups of {width_per_group} channels; the first: "
      f"{first.out_channels} in {first.groups} groups")
print(f"p = {P_SMALL}: {per_group} channel to remove per group; rounded against the layer's {first.out_channels} "
      f"channels: {rounded}; removed from each of its {first.groups} groups: {rounded * first.groups}")
assert {m.out_channels // m.groups for m in map(regnet.get_submodule, grouped)} == {width_per_group}
assert round_rows[0]["kept"] == f"{int(width_per_group * (1 - P_SMALL)) / width_per_group:.4f}"
assert round_rows[1]["kept"] == "0.5000" and rounded * first.groups == first.out_channels // 2
assert round_rows[1]["removed"] > 0.5 > 5 * round_rows[0]["removed"]
Markdown(format_table(round_rows, [("round_to", "round_to", "", "left"), ("first", "first grouped layer after", "", "left"),
                                   ("kept", "share each grouped layer keeps", "", "left"),
                                   ("removed", f"parameters removed at p = {P_SMALL}", ".3f")]))

# %% [markdown]
# With `round_to=8` every grouped convolution keeps exactly half of its channels at `p = 0.01`, and the
# model loses more than half of its parameters. Torch-Pruning 1.6.1 computes the channels to remove
# *per group*, then rounds that number against the width of the *whole layer* (`_round_to`, printed
# above) and removes the result from *each* group. **Fix**: `round_to` applies to every layer of a
# pruner, so leave it at `None` on a model with grouped convolutions (RegNet, ResNeXt): each grouped
# layer then keeps the same whole number of channels in every group, as the first row shows. Where
# widths must be multiples of 8, check every grouped layer's width after `step()`.

# %% [markdown]
# ## Exercises

# %% [markdown]
# ### Exercise `14-load-pruned`: load a pruned model with torch.load's default
#
# A pruned model saved as `torch.save({"history": pruner.pruning_history(), "weights":
# model.state_dict()}, path)` holds only tensors, lists and numbers, which `torch.load` loads with its
# default `weights_only=True`. Write `load_pruned(path, build, example_inputs)` that returns the pruned
# model: build a fresh model with `build()`, replay the pruning history on it (Torch-Pruning's
# `tp.DependencyGraph().build_dependency(model, example_inputs=...)` returns a graph whose
# `load_pruning_history(history)` removes the same channels again), then load the weights. The check
# saves a pruned ResNet-18 and a pruned MobileNetV3-Small and compares what your function returns with
# them, layer by layer and output by output.

# %%
# NBVAL_CHECK_OUTPUT
def load_pruned(path, build, example_inputs):
    raise NotImplementedError  # your code here


passed = helpers.checks.check("14-load-pruned", load_pruned)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("14-load-pruned")

# %% [markdown]
# ### Exercise `14-taylor-pruner`: Taylor importance, with its gradients
#
# Write `taylor_pruner(model, example_inputs, images, labels, classifier, p)` returning Torch-Pruning's
# `BasePruner` with Taylor importance (`tp.importance.TaylorImportance()`), channel ratio `p` and the
# classifier ignored, ready to step: the gradients it reads are those of the cross-entropy loss of
# `model(images)` against `labels`. The check calls your function on a fresh ResNet-18, steps the
# pruner and compares the channels kept with Torch-Pruning's own result.

# %%
# NBVAL_CHECK_OUTPUT
def taylor_pruner(model, example_inputs, images, labels, classifier, p):
    raise NotImplementedError  # your code here


passed = helpers.checks.check("14-taylor-pruner", taylor_pruner)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("14-taylor-pruner")

# %% [markdown]
# ## Summary
#
# - **The classifier is pruned unless ignored**: put the layer whose outputs are the classes in
#   `ignored_layers`; nothing warns otherwise.
# - **A pruned model does not load into a fresh one**: save with `tp.state_dict` and load with
#   `tp.load_state_dict` (the file needs `torch.load(..., weights_only=False)`: trusted files only), or
#   save the plain state dict with `pruner.pruning_history()` and replay it on a fresh model.
# - **max_pruning_ratio is checked before a step**: it caps the ratios of `pruning_ratio_dict` and stops
#   a layer between iterative steps after the step that crossed it; a one-step prune at the default
#   ratio ignores it. Give the cap as the ratio.
# - **Iterative global pruning removes fewer parameters**: the schedule fixes how many channels go, the
#   fresh scores of each step decide which, and here they came from the cheap early layers. Count after
#   pruning; search `p` with the schedule you use.
# - **Taylor importance without gradients**: `step()` raises; run a backward pass on a loss first, and
#   build a new pruner (the failed step counted).
# - **A ViT told nothing about its heads**: its hidden size stops dividing by the heads and the model
#   fails; pass `out_channel_groups={attention: heads}` and set `hidden_dim` after `step()`.
# - **Global pruning that grows the model (#417)**: one threshold over groups whose scores spread
#   differently can select a whole group, which Torch-Pruning then leaves whole; `isomorphic=True` ranks
#   like with like.
# - **A numpy float as the ratio**: `int(C × (1 - p))` truncates, so a ratio a hair off its decimal
#   loses a channel; pass `round(float(p), 6)`.
# - **round_to on grouped convolutions**: Torch-Pruning rounds a per-group count against the whole
#   layer's width and removes it from every group; leave `round_to` at `None` on grouped models.

# %% [markdown]
# ## Questions
#
# 1. Why does `max_pruning_ratio` not cap a prune made in one step, when it does stop iterative pruning?
#
# <details><summary>Answer</summary>
#
# It is read at the start of each step, on the widths reached so far: a group is left out when one of
# its layers is already narrower than `(1 - max_pruning_ratio)` of its initial width. Before a single
# step nothing has been pruned, so every group passes and loses the default ratio whole. In several
# steps a layer passes the check until a step takes it past the cap, and is left out from then on.
#
# </details>
#
# 2. Magnitude importance needs no data, Taylor importance needs a backward pass. Why must that pass run
#    on a loss over real training images, not on any output of the model?
#
# <details><summary>Answer</summary>
#
# `Σ|w·g|` estimates how much the loss would change if the channel went, and `g` is the gradient of the
# loss that is to stay low: the task's loss over data the model is meant for. Gradients of another
# quantity (the sum of the logits, random labels on noise) rank the channels by how much they matter
# to that quantity instead, which says nothing about accuracy.
#
# </details>
#
# 3. With `isomorphic=True`, the hidden size of a ViT shrinks with `p` again. What does global ranking
#    still decide, and what does it no longer decide?
#
# <details><summary>Answer</summary>
#
# Groups of the same structure are still ranked together: the MLPs of all blocks compete, so one block
# can keep more of its MLP than another. What it no longer decides is the trade between groups of
# different structure, here the hidden size against the MLPs: the hidden size's group, alone in its
# scope, loses `p` of its channels as under local pruning, whatever its scores.
#
# </details>
#
# 4. Why does `torch.load` refuse a file written from `tp.state_dict`, and when is
#    `weights_only=False` acceptable?
#
# <details><summary>Answer</summary>
#
# `tp.state_dict` stores a copy of each module's attributes (its `__dict__`: hooks, flags, sizes), which
# are pickled Python objects, not only tensors; `weights_only=True` unpickles tensors and plain
# containers only. `weights_only=False` unpickles anything, and a pickle can run code: acceptable for a
# file you wrote yourself or got from a source you trust, not for a file from elsewhere.
#
# </details>

# %% [markdown]
# ## Further reading
#
# - Torch-Pruning, [github.com/VainF/Torch-Pruning](https://github.com/VainF/Torch-Pruning):
#   `torch_pruning/pruner/algorithms/base_pruner.py` holds every behaviour measured here
#   (`_check_pruning_ratio`, `_round_to`, the ranking scopes of global and isomorphic pruning).
# - Torch-Pruning [issue #417](https://github.com/VainF/Torch-Pruning/issues/417), "Sudden model size
#   increase for high sparsity ratios".
# - Fang et al., "Isomorphic Pruning for Vision Models", ECCV 2024,
#   [arXiv:2407.04616](https://arxiv.org/abs/2407.04616): `isomorphic=True`.
# - Molchanov et al., "Importance Estimation for Neural Network Pruning", CVPR 2019,
#   [arXiv:1906.10771](https://arxiv.org/abs/1906.10771): Taylor importance.
# - PyTorch, [`torch.load`](https://pytorch.org/docs/stable/generated/torch.load.html): `weights_only`
#   and why loading arbitrary pickles is unsafe.
# - Radosavovic et al., "Designing Network Design Spaces", CVPR 2020,
#   [arXiv:2003.13678](https://arxiv.org/abs/2003.13678): RegNet and its grouped convolutions.
# - Python, [Floating Point Arithmetic: Issues and Limitations](https://docs.python.org/3/tutorial/floatingpoint.html).
#
# This is the course's last notebook: back to the [course map](../README.md#course-map).
