# %% [markdown]
# # 13 · Beyond CNNs: transformers
#
# **Learning goals**
# - derive the law for a transformer block as notebook 02 does for convolutions: attention and MLP
#   weights lose rows *and* columns (`k²`), token embedding, LM head and norms one side only (`k`);
# - prune a LLaMA-style decoder the way Torch-Pruning's own LLM example does (whole heads removed,
#   every head's dimensions kept, `round_to`), and set it against the alternative, pruning head
#   dimensions, which rotary position embeddings rule out (measured, not just told);
# - tell Torch-Pruning about the heads (`num_heads`, `prune_num_heads`, `prune_head_dims`,
#   `head_pruning_ratio`, `out_channel_groups`), see what goes wrong when it is not told, and why
#   `ParameterModel` then refuses to predict;
# - prune each width alone and together (hidden size, head dimensions, whole heads, MLP intermediate)
#   and predict each exactly: some remove `p`, some a share of `p`, only all of them `1-(1-p)²`;
# - see what Torch-Pruning does with grouped-query attention and tied embeddings, and why the
#   predictor refuses them;
# - see why a small language model with a large vocabulary lands far below the rule and a large one
#   close to it;
# - check what Torch-Pruning's users report on ViTs (the model growing at high ratios) in 1.6.1, and
#   Torch-Pruning's remedy, `isomorphic=True`.
#
# **Prerequisites**: 02 · The quadratic law, 05 · The exact count.
#
# **Study time**: about 55 min (reading, running the cells and the exercises).
#
# **Run time** (from `figures/notebook_times.csv`): about 19 s in quick mode (2-core CPU); full mode (GPU) not measured yet.

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
import math
import textwrap
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch_pruning as tp
import torchvision
from IPython.display import Markdown, display
from torch import nn

from helpers import counting, pruning, theory, zoo
from helpers.zoo import Decoder, DecoderConfig
from helpers.predict import ParameterModel, UnsupportedModel
from helpers.pruning import prune_copy
from helpers.sweep import heads_alone, transformer_sweep
from helpers.report import format_table

RATIOS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
# Torch-Pruning warns about parameters held outside the layers it knows (the decoder's RMSNorm weights,
# a ViT's class token and position embedding) and prunes their last dimension, which is right for all
# of them: silence the warning
warnings.filterwarnings("ignore", message=".*[Uu]nwrapped parameters.*")


def llm_recipe(p):
    """BasePruner's head arguments as Torch-Pruning's LLM example (examples/LLMs/prune_llm.py) sets them:
    whole heads (head_pruning_ratio=p), every head's dimensions kept, widths in multiples of 4."""
    return dict(prune_num_heads=True, prune_head_dims=False, head_pruning_ratio=p, round_to=4)


def say(err):
    """An error message, wrapped for reading."""
    return textwrap.fill(f"{type(err).__name__}: {err}", 110)

# %% [markdown]
# Notebooks 02-05 derived the law on convolutions. A transformer is made of linear layers, so the law
# should carry over; but its widths are of four kinds (the hidden size every block reads and writes, the
# heads, the dimensions inside each head, the MLP's intermediate size), Torch-Pruning must be told
# where the heads are, and a language model keeps a large vocabulary on both ends. This notebook
# prunes a LLaMA-style decoder (`helpers.zoo.Decoder`, built from a configuration, nothing downloaded) and
# torchvision's ViT-B/16 with Torch-Pruning's own pruner, and predicts every count before pruning.
#
# ## A decoder block, tensor by tensor
#
# `helpers.zoo.Decoder` holds the layers of a LLaMA checkpoint under their names: a token
# embedding `embed_tokens` (`V × d`), then `L` blocks, each with an RMSNorm (`d`), attention with
# `q_proj`, `k_proj`, `v_proj` (`d → d`, split into `h` heads of `d/h` dimensions) and `o_proj`
# (`d → d`), an RMSNorm (`d`) and a SwiGLU MLP with `gate_proj`, `up_proj` (`d → m`) and
# `down_proj` (`m → d`); a final RMSNorm and the LM head `lm_head` (`d → V`), whose outputs are the
# vocabulary and stay. Pruning every width by `p` (`k = 1-p`):
#
# | tensor | shape | what shrinks | keeps |
# |---|---|---|---|
# | `q_proj`, `k_proj`, `v_proj` | `d × d` | inputs (hidden size), outputs (head dimensions) | `k²` |
# | `o_proj` | `d × d` | inputs (head dimensions), outputs (hidden size) | `k²` |
# | `gate_proj`, `up_proj`, `down_proj` | `d × m` | hidden size and intermediate size | `k²` |
# | `embed_tokens` | `V × d` | the hidden size; the `V` tokens stay | `k` |
# | `lm_head` | `d × V` | the hidden size; the `V` outputs stay | `k` |
# | RMSNorm weights (`2L + 1` of them) | `d` | the hidden size | `k` |
#
# So, with no bias anywhere,
#
# $$ \text{params}(k) = \underbrace{L\,(4d^2 + 3dm)}_{A}\,k^2 + \underbrace{2Vd + (2L+1)\,d}_{B}\,k . $$
#
# A tiny configuration, its `A` and `B` by that formula, and what `ParameterModel` reads from
# Torch-Pruning's dependency graph. `ParameterModel` takes `BasePruner`'s arguments under their names
# and adds none: the heads go in as `num_heads`, each Q, K and V projection with its heads, here found by
# `helpers.pruning.find_heads`:

# %%
# NBVAL_CHECK_OUTPUT
TINY = DecoderConfig(vocab_size=1000, hidden_size=128, intermediate_size=352, num_layers=2, num_heads=4)
V, d, m, L, h = TINY.vocab_size, TINY.hidden_size, TINY.intermediate_size, TINY.num_layers, TINY.num_heads


def tiny_decoder():
    torch.manual_seed(0)
    return Decoder(TINY).eval().to(device)


tiny = tiny_decoder()
ids = torch.randint(0, V, (1, 16), device=device)
by_hand = (L * (4 * d * d + 3 * d * m), 2 * V * d + (2 * L + 1) * d, 0)
tiny_predictor = ParameterModel(tiny, ids, [tiny.lm_head], num_heads=pruning.find_heads(tiny))
print(f"d={d}, m={m}, V={V}, L={L}, h={h}: {counting.n_params(tiny):,} parameters")
print("A, B, C by hand:          ", by_hand)
print("A, B, C (ParameterModel): ", tiny_predictor.coefficients())
assert tiny_predictor.coefficients() == by_hand and sum(by_hand) == counting.n_params(tiny)
Markdown(format_table(tiny_predictor.breakdown(), [("role", "role", "", "left"), ("power", "d", "d"),
                                                   ("params", "params", ",d"), ("share", "share", ".2%")]))

# %% [markdown]
# ## Torch-Pruning's LLM recipe, written out
#
# Torch-Pruning's own example for large language models (`examples/LLMs/prune_llm.py`, written for
# LLaMA, Qwen and Phi checkpoints) prunes a decoder with one `BasePruner` call: `num_heads` names each
# Q, K and V projection with its heads (K and V with the key-value heads); `prune_num_heads=True` with
# `head_pruning_ratio=p` removes whole heads, `⌈p·h⌉` of each attention's `h`; `prune_head_dims=False`
# keeps every head's dimensions ("so that we don't need to prune the ROPE", its comment says: the
# rotary position embedding, measured below); `pruning_ratio=p` prunes the hidden size and the MLP,
# and `round_to=4` keeps those widths multiples of 4; the LM head is ignored. After pruning, the
# attention modules must be told their head count, which the pruner keeps in `pruner.num_heads` (the
# first of `helpers.pruning.after_pruning`'s two fixes). On the tiny decoder at `p = 0.5`, predicted
# first with the same arguments:

# %%
# NBVAL_CHECK_OUTPUT
p = 0.5
heads = {}
for block in tiny.layers:  # each Q, K and V projection with its heads (K and V: the key-value heads)
    attn = block.self_attn
    heads.update({attn.q_proj: attn.num_heads, attn.k_proj: attn.num_key_value_heads,
                  attn.v_proj: attn.num_key_value_heads})
recipe_predictor = ParameterModel(tiny, ids, [tiny.lm_head], round_to=4, num_heads=heads, prune_num_heads=True,
                                  prune_head_dims=False, head_pruning_ratio=p)  # before pruning
before = counting.snapshot(tiny)
pruner = tp.pruner.BasePruner(
    tiny, ids, importance=tp.importance.GroupMagnitudeImportance(p=2), pruning_ratio=p,
    ignored_layers=[tiny.lm_head], num_heads=heads, prune_num_heads=True, prune_head_dims=False,
    head_pruning_ratio=p, round_to=4)
pruner.step()
for block in tiny.layers:  # the attention reads num_heads at every call
    block.self_attn.num_heads = pruner.num_heads[block.self_attn.q_proj]
macs, params = tp.utils.count_ops_and_params(tiny, ids)
with torch.no_grad():
    logits = tiny(ids)
attn = tiny.layers[0].self_attn
print(f"p = {p}: {sum(by_hand):,} -> {int(params):,} parameters (predicted {recipe_predictor.params(p):,}), "
      f"removed {1 - params / sum(by_hand):.4f}; rule {theory.param_reduction(p):.2f}")
print(f"{h} heads of {d // h} dimensions -> {attn.num_heads} heads of {attn.q_proj.out_features // attn.num_heads}; "
      f"hidden size {d} -> {tiny.embed_tokens.embedding_dim}; MLP {m} -> {tiny.layers[0].mlp.up_proj.out_features}; "
      f"logits {tuple(logits.shape)}")
print(f"every width pruned by p (the law A k^2 + B k, tiny_predictor): {tiny_predictor.params(p):,}")
assert int(params) == recipe_predictor.params(p) == tiny_predictor.params(p) and logits.shape[-1] == V
assert attn.num_heads == h // 2 and attn.q_proj.out_features // attn.num_heads == d // h  # whole heads went
kinds = counting.scaling_by_kind(counting.scaling(before, tiny, p))
assert {(r["kind"], r["power"]) for r in kinds} == {("linear weight", 2), ("linear weight", 1), ("embedding", 1),
                                                   ("normalisation", 1)}
Markdown(format_table(kinds, [("kind", "tensors of kind", "", "left"), ("tensors", "tensors", "d"),
                              ("power", "kept = k^d, d =", "d"), ("before", "before", ",d"), ("after", "after", ",d")]))

# %% [markdown]
# Half the heads went whole, each head left kept its dimensions, and the hidden size and the MLP
# halved: every attention and MLP weight kept `k²`; the one linear weight that kept `k` is the LM head,
# with the embedding and the norms. So at `p = 0.5` the recipe lands on the law's count, `A k² + B k`,
# to the parameter, and the logits still cover the whole vocabulary. At other ratios the heads move in
# steps of `1/h` and `round_to` rounds the hidden size and the MLP down to multiples of 4; each ratio
# below is predicted before pruning (`helpers.pruning.prune_copy` runs the same `BasePruner` call, with
# `num_heads` added and `after_pruning` applied).
#
# **The alternative, head dimensions.** Torch-Pruning's default for an attention named in `num_heads`
# is the other way round (`prune_num_heads=False`, `prune_head_dims=True`): every head stays and loses
# the same share of its dimensions. The law above was written for it (`tiny_predictor`); it is pruned
# last, at `p = 0.5`:

# %%
# NBVAL_CHECK_OUTPUT
recipe_rows = []
for q in (0.1, 0.3, 0.5, 0.9):
    model = tiny_decoder()
    predicted = ParameterModel(model, ids, [model.lm_head], num_heads=pruning.find_heads(model),
                               **llm_recipe(q)).params(q)
    result = prune_copy(model, ids, q, [model.lm_head], count_macs=False, **llm_recipe(q))
    attn = result.model.layers[0].self_attn
    with torch.no_grad():
        assert result.model(ids).shape == (1, 16, V)
    assert result.params_after == predicted and attn.q_proj.out_features // attn.num_heads == d // h
    recipe_rows.append({"p": q, "heads": f"{attn.num_heads} of {h}", "heads_removed": 1 - attn.num_heads / h,
                        "hidden": result.model.embed_tokens.embedding_dim,
                        "mlp": result.model.layers[0].mlp.up_proj.out_features, "params": result.params_after,
                        "predicted": predicted, "removed": result.param_reduction, "law": tiny_predictor.reduction(q)})
by_p = {r["p"]: r for r in recipe_rows}
assert [by_p[q]["heads_removed"] for q in (0.1, 0.3, 0.5)] == [math.ceil(q * h) / h for q in (0.1, 0.3, 0.5)]
assert by_p[0.1]["removed"] > by_p[0.1]["law"] and by_p[0.3]["removed"] > by_p[0.3]["law"]
assert by_p[0.5]["removed"] == by_p[0.5]["law"] and by_p[0.9]["heads"] == f"{h} of {h}" and math.ceil(0.9 * h) == h
display(Markdown(format_table(recipe_rows, [
    ("p", "p", ".1f"), ("heads", "heads left", ""), ("hidden", "hidden size", "d"), ("mlp", "MLP", "d"),
    ("params", "params (Torch-Pruning)", ",d"), ("predicted", "predicted", ",d"), ("removed", "removed", ".3f"),
    ("law", "every width by p (law)", ".3f")])))
# the alternative: every head kept, each losing the same share of its dimensions
model = tiny_decoder()
pruner = tp.pruner.BasePruner(
    model, ids, importance=tp.importance.GroupMagnitudeImportance(p=2), pruning_ratio=0.5,
    ignored_layers=[model.lm_head], num_heads=pruning.find_heads(model), prune_num_heads=False,
    prune_head_dims=True)
pruner.step()
pruning.after_pruning(model, pruner)  # num_heads from pruner.num_heads: unchanged here
attn = model.layers[0].self_attn
dims_params = counting.n_params(model)
print(f"head dimensions, p = 0.5: {attn.num_heads} heads of {attn.q_proj.out_features // attn.num_heads} dimensions, "
      f"{dims_params:,} parameters (predicted {tiny_predictor.params(0.5):,}); the recipe: "
      f"{h - math.ceil(0.5 * h)} heads of {d // h}, {by_p[0.5]['params']:,}")
assert dims_params == tiny_predictor.params(0.5) == by_p[0.5]["params"] and attn.num_heads == h
Markdown(f"At `p = 0.1` the recipe already removes {by_p[0.1]['heads_removed']:.0%} of the heads "
         f"(`⌈0.1 × {h}⌉ = {math.ceil(0.1 * h)}`) and rounds the hidden size to {by_p[0.1]['hidden']}: it removes "
         f"{by_p[0.1]['removed']:.3f} of the parameters, more than the {by_p[0.1]['law']:.3f} of every width pruned "
         f"by `p`; at `p = 0.3` half the heads go already ({by_p[0.3]['removed']:.3f} against {by_p[0.3]['law']:.3f}). "
         f"At `p = 0.9`, `⌈0.9 × {h}⌉ = {math.ceil(0.9 * h)}` would remove every head: Torch-Pruning, which never "
         f"empties a group, leaves the attention whole and prunes the rest. Every count is `ParameterModel`'s, given the same arguments, to the parameter. Head dimensions "
         f"at `p = 0.5` remove as many parameters as the recipe, {dims_params:,} left, from a model of another shape: "
         f"all {attn.num_heads} heads at {attn.q_proj.out_features // attn.num_heads} dimensions instead of "
         f"{h - math.ceil(0.5 * h)} at {d // h}.")

# %% [markdown]
# Which of the two a LLaMA can take is settled by its rotary position embedding, measured after the
# four widths below.
#
# ## Four widths, each alone and together
#
# `pruning_ratio=p` prunes every width at once. Each can also be pruned alone, with Torch-Pruning's
# `pruning_ratio_dict` (a tuple of layers as key gives its layers one ratio, and a group given 0
# loses nothing; only under global pruning is a tuple also one scope of ranking, measured at the end
# of this section; whole heads need a ratio on their `(q, k, v)` group, since Torch-Pruning ranks an
# attention's heads only where that group removes something). Per tensor, as above:
#
# | setting | how it is asked | what shrinks | law |
# |---|---|---|---|
# | hidden size only | `pruning_ratio=p`, the `(q, k, v)` and `(gate, up)` groups at 0 | one side of *every* tensor | `p` |
# | head dimensions only | `pruning_ratio=0`, `(q, k, v)` at `p` | outputs of Q, K, V, inputs of O | `p × attention share` |
# | whole heads only | `heads_alone(model, p)`: `prune_num_heads=True`, `prune_head_dims=False`, `head_pruning_ratio=p` | the same, by whole heads | `⌈p h⌉/h × attention share` |
# | MLP intermediate only | `pruning_ratio=0`, `(gate, up)` at `p` | outputs of gate and up, inputs of down | `p × MLP share` |
# | everything | `pruning_ratio=p` | both sides of attention and MLP, one side of the rest | `1 - (A k² + B k)/P0` |
#
# (`(gate_proj, up_proj)`, not the whole `mlp` block: `down_proj`'s outputs belong to the hidden
# size's group, which the block would then take with it.) No width alone squares anything: only two
# widths pruned together give a weight its `k²`. Each setting on the tiny decoder, measured, predicted
# and against its law:

# %%
# NBVAL_CHECK_OUTPUT
def qkv(model):
    return [(b.self_attn.q_proj, b.self_attn.k_proj, b.self_attn.v_proj) for b in model.layers]


def gate_up(model):
    return [(b.mlp.gate_proj, b.mlp.up_proj) for b in model.layers]


def whole_heads(model, p):
    kwargs = heads_alone(model, p)  # prune_num_heads=True, prune_head_dims=False, head_pruning_ratio=p
    return 0.0, kwargs.pop("pruning_ratio_dict"), kwargs


SETTINGS = {  # name -> p -> (pruning_ratio, pruning_ratio_dict, other BasePruner arguments)
    "hidden size only": lambda model, p: (p, {key: 0.0 for key in qkv(model) + gate_up(model)}, {}),
    "head dimensions only": lambda model, p: (0.0, {key: p for key in qkv(model)}, {}),
    "whole heads only": lambda model, p: whole_heads(model, p),
    "MLP intermediate only": lambda model, p: (0.0, {key: p for key in gate_up(model)}, {}),
    "everything": lambda model, p: (p, None, {}),
}
a, b, _ = by_hand
P0 = sum(by_hand)
attn_share, mlp_share = L * 4 * d * d / P0, L * 3 * d * m / P0
LAWS = {"hidden size only": lambda p: p,
        "head dimensions only": lambda p: p * attn_share,
        "whole heads only": lambda p: (math.ceil(p * h) if math.ceil(p * h) < h else 0) / h * attn_share,
        "MLP intermediate only": lambda p: p * mlp_share,
        "everything": lambda p: 1 - (a * (1 - p) ** 2 + b * (1 - p)) / P0}

fresh = tiny_decoder()
MEASURED = [0.1, 0.3, 0.5]  # pruned and counted; the figure below draws the exact curves in between
kinds_rows, heads_left, predictors, at_half = [], {}, {}, {}
for name, make in SETTINGS.items():
    for p in MEASURED:
        ratio, ratio_dict, kwargs = make(fresh, p)
        key = (name, kwargs.get("head_pruning_ratio"))
        if key not in predictors:  # before pruning
            predictors[key] = ParameterModel(fresh, ids, [fresh.lm_head], num_heads=pruning.find_heads(fresh),
                                             **kwargs)
        predicted = predictors[key].params(ratio, pruning_ratio_dict=ratio_dict)
        result = prune_copy(fresh, ids, ratio, [fresh.lm_head], pruning_ratio_dict=ratio_dict, count_macs=False,
                            **kwargs)
        assert result.params_after == predicted, (name, p)
        with torch.no_grad():
            assert result.model(ids).shape == (1, 16, V)
        if name == "whole heads only":
            heads_left[p] = result.model.layers[0].self_attn.num_heads
        if p == 0.5:  # kept for the rotary embedding below
            at_half[name] = result.model
        kinds_rows.append({"setting": name, "p": p, "measured": result.param_reduction, "law": LAWS[name](p)})

table = []
for name in SETTINGS:
    row = {"setting": name, "gap": max(abs(r["measured"] - r["law"]) for r in kinds_rows if r["setting"] == name)}
    row.update({f"p{p}": r["measured"] for r in kinds_rows if r["setting"] == name for p in [r["p"]]})
    table.append(row)
table.append({"setting": "rule 1-(1-p)^2", **{f"p{p}": theory.param_reduction(p) for p in MEASURED}})
assert all(r["gap"] < 0.015 for r in table[:-1])  # each law holds up to rounding to whole channels
print(f"attention share {attn_share:.4f}, MLP share {mlp_share:.4f}, embedding + head + norms {b / P0:.4f}")
print("whole heads only, heads left of", h, ":", heads_left)
assert all(heads_left[p] == h - math.ceil(p * h) for p in MEASURED)
# a tuple key spanning two groups (both MLPs), at 0.3: one scope of ranking only under global pruning
scope_widths = {}
for global_pruning in (False, True):
    model = tiny_decoder()
    both_mlps = (model.layers[0].mlp.gate_proj, model.layers[1].mlp.gate_proj)
    tp.pruner.BasePruner(model, ids, importance=tp.importance.GroupMagnitudeImportance(p=2), pruning_ratio=0.0,
                         ignored_layers=[model.lm_head], num_heads=pruning.find_heads(model),
                         pruning_ratio_dict={both_mlps: 0.3}, global_pruning=global_pruning).step()
    scope_widths[global_pruning] = [block.mlp.up_proj.out_features for block in model.layers]
    print(f"{'global' if global_pruning else 'local'} pruning, key (block 0's MLP, block 1's MLP) at 0.3: MLP widths "
          f"{m} -> {scope_widths[global_pruning]}")
assert scope_widths[False] == [int(m * (1 - 0.3))] * L and scope_widths[True][0] != scope_widths[True][1]
assert sum(scope_widths[False]) == sum(scope_widths[True])  # the same total, shared out by one threshold
display(Markdown(format_table(table, [("setting", "measured = predicted", "", "left"),
                                      *[(f"p{p}", f"p={p}", ".3f") for p in MEASURED], ("gap", "max gap to law", ".4f")])))
at = {(r["setting"], r["p"]): r["measured"] for r in kinds_rows}
assert abs(at["hidden size only", 0.5] - 0.5) < 0.01 and abs(at["everything", 0.5] - LAWS["everything"](0.5)) < 0.01
assert at["whole heads only", 0.3] == at["whole heads only", 0.5] == at["head dimensions only", 0.5]
Markdown(f"The hidden size alone removes `p` (at `p = 0.5`: {at['hidden size only', 0.5]:.3f}): every tensor "
         f"loses one side, the naive reading \"p removes p\" is right here. Head dimensions alone remove `p` of "
         f"the attention's {attn_share:.1%}; whole heads alone the same share in steps of 1/{h}, since "
         f"Torch-Pruning removes `ceil(head_pruning_ratio × heads)` heads: `p = 0.3` and `p = 0.5` both remove "
         f"2 of {h} heads ({at['whole heads only', 0.3]:.3f} of the parameters), as many as half of every "
         f"head's dimensions do. The MLP alone removes `p` of its {mlp_share:.1%}. Only everything together "
         f"squares the attention and MLP weights, and reaches {at['everything', 0.5]:.3f} at `p = 0.5` "
         f"(rule {theory.param_reduction(0.5):.2f}): the {b / P0:.1%} in the embedding, the LM head and the "
         f"norms keeps `k`. The tuple key of both MLPs keeps {scope_widths[False]} under local pruning, each group "
         f"ranked on its own, and {scope_widths[True]} under global pruning, the same total shared out by one "
         f"threshold.")

# %%
grid = np.round(np.arange(0.0, 0.81, 0.02), 2)
fig, ax = plt.subplots()
helpers.report.rule_axes(ax, p_max=0.8)
for i, name in enumerate(SETTINGS):
    color = f"C{i}"
    if name == "whole heads only":
        curve = [LAWS[name](q) for q in grid]  # exact: whole heads, as many per step as ceil(p h)
        ax.step(grid, curve, where="post", color=color, linewidth=1)
    else:
        predictor = predictors[(name, None)]
        curve = [predictor.reduction(ratio, pruning_ratio_dict=ratio_dict)
                 for ratio, ratio_dict, _ in (SETTINGS[name](fresh, q) for q in grid)]
        ax.plot(grid, curve, color=color, linewidth=1)
    points = [r for r in kinds_rows if r["setting"] == name]
    ax.plot([r["p"] for r in points], [r["measured"] for r in points], "o", color=color, label=name)
ax.set_title("A tiny decoder, each width alone and all of them: exact (lines), pruned (dots)")
ax.legend(fontsize=7)
helpers.report.save(fig, "13_pruning_kinds")
plt.show()

# %% [markdown]
# ## Why the recipe keeps head dimensions: rotary position embeddings
#
# A LLaMA holds no position embedding tensor; it rotates queries and keys instead (RoPE, the rotary
# position embedding of Su et al.): in a head of `d` dimensions, dimension `i` turns together with
# dimension `i + d/2` by the angle `t · base^(-2i/d)` at token position `t` (the "rotate half" layout),
# so that a query at position `m` and a key at `n` score by `m − n` alone. The pairs and the angles
# are fixed by the head's width: a head that lost dimensions is rotated by the narrower head's rule,
# each kept dimension with another partner at another frequency. No parameter changes with it (the
# counts above stand), but what the kept dimensions compute does. Measured on head 0 of the first
# block of the two models pruned at `p = 0.5` above, whole heads only and head dimensions only (the
# hidden size kept in both, so the head reads the same input): how many of the head's dimensions keep
# their partner and their angle, and how far its attention scores move from what the same dimensions
# scored before pruning, without a position code and with RoPE (the largest change, relative to the
# largest score):

# %%
# NBVAL_CHECK_OUTPUT
def rope(x, base=10000.0):
    """LLaMA's rotary position embedding of x (tokens × head dimensions), the token at row t at
    position t: dimension i turns with dimension i + dims/2 by the angle t · base^(-2i/dims)."""
    t, dims = x.shape
    angles = torch.arange(t, dtype=x.dtype)[:, None] * base ** (-2 * torch.arange(dims // 2, dtype=x.dtype) / dims)
    cos, sin = angles.cos().repeat(1, 2), angles.sin().repeat(1, 2)
    return x * cos + torch.cat([-x[:, dims // 2:], x[:, :dims // 2]], dim=1) * sin


def unchanged(z):  # no position code
    return z


original = fresh.layers[0].self_attn  # the model both were pruned from
hd = d // h
with torch.no_grad():
    x = fresh.layers[0].input_layernorm(fresh.embed_tokens(ids))[0].double().cpu()  # what the attention reads
rope_rows = []
for name in ("whole heads only", "head dimensions only"):
    attn = at_half[name].layers[0].self_attn
    width = attn.q_proj.out_features // attn.num_heads  # head 0's dimensions after pruning
    with torch.no_grad():
        # pruning drops rows and leaves the others as they were: find head 0's rows in the original
        found = [int((original.q_proj.weight == row).all(dim=1).nonzero()) for row in attn.q_proj.weight[:width]]
        head, kept = found[0] // hd, [i % hd for i in found]
        q, k = (x @ w[head * hd:(head + 1) * hd].double().cpu().T for w in (original.q_proj.weight, original.k_proj.weight))
        q_after, k_after = (x @ w[:width].double().cpu().T for w in (attn.q_proj.weight, attn.k_proj.weight))
    n = len(kept)
    # kept dimension j was dimension kept[j]: same partner (the other half of its pair) and same angle?
    keeps = sum(kept[(j + n // 2) % n] == (kept[j] + hd // 2) % hd and (kept[j] % (hd // 2)) * n == (j % (n // 2)) * hd
                for j in range(n))
    row = {"pruned": name, "kept": f"{n} of {hd}", "keeps": keeps}
    for label, position in (("plain", unchanged), ("rope", rope)):
        scored_before = position(q)[:, kept] @ position(k)[:, kept].T  # the kept dimensions' share, before
        scored_after = position(q_after) @ position(k_after).T  # what the pruned head computes
        row[label] = ((scored_after - scored_before).abs().max() / scored_before.abs().max()).item()
    rope_rows.append(row)
heads_row, dims_row = rope_rows
assert heads_row["keeps"] == hd and heads_row["plain"] == heads_row["rope"] == 0.0
assert dims_row["keeps"] < hd // 2 and dims_row["plain"] < 1e-12 and dims_row["rope"] > 0.1
display(Markdown(format_table(rope_rows, [("pruned", "pruned at p = 0.5", "", "left"), ("kept", "head 0's dimensions", ""),
                                          ("keeps", "keep partner and angle", "d"),
                                          ("plain", "score change, no position code", ".3f"),
                                          ("rope", "score change, RoPE", ".3f")])))
Markdown(f"Whole heads leave every head that stays as it was: all {hd} of its dimensions keep their partner and "
         f"angle, and its scores do not move, with RoPE or without. Head dimensions leave {dims_row['kept']}, of which "
         f"{dims_row['keeps']} keep both. Without a position code the kept dimensions score exactly as before (the "
         f"head loses only the removed dimensions' terms); with RoPE its scores move by {dims_row['rope']:.0%} of the "
         f"largest one, the removed terms aside: the kept weights meet rotations they were not trained with. Nothing "
         f"in the parameter count shows it. Hence `prune_head_dims=False` in Torch-Pruning's recipe; the course's "
         f"decoder has no RoPE (it holds no parameters), which is why the alternative could be shown on it at all.")

# %% [markdown]
# ## Small and large: the vocabulary
#
# `B` holds `2Vd`: the embedding and the LM head grow with the hidden size, the blocks' `A` with its
# square. At the same vocabulary, a narrow model carries a large `B` share and lands far below the
# rule, a wide one close to it. GPT-2 small is the textbook case: its LM head is the token embedding
# matrix itself (shared), and that one matrix holds a large part of the model (counted below from its
# configuration). The course's two decoders (`zoo.DECODERS`) share a 32,000-token vocabulary at two
# widths. Each is predicted, then pruned at `p = 0.5` with the LLM recipe through the helpers
# (`helpers.pruning.prune_copy`, which adds `num_heads` and applies `after_pruning` itself;
# `helpers.pruning.pruner_kwargs` gives `ParameterModel` the same `num_heads`). Both have an even number
# of heads, so half of them is `p` of the heads, and the recipe's count is checked against the law's,
# `A k² + B k` (the predictor of every width pruned by `p`, whose `A` and `B` the table shows):

# %%
# NBVAL_CHECK_OUTPUT
decoders = {}
for name in ("llama_small", "llama_large"):
    model, inputs, ignored = zoo.build(name, device=device)
    predictor = ParameterModel(model, inputs, ignored, **pruning.pruner_kwargs(model))  # every width by p
    recipe = ParameterModel(model, inputs, ignored, **pruning.pruner_kwargs(model, llm_recipe(0.5)))
    result = prune_copy(model, inputs, 0.5, ignored, count_macs=False, **llm_recipe(0.5))
    with torch.no_grad():
        out = result.model(inputs)
    decoders[name] = {"predictor": predictor, "recipe": recipe.params(0.5), "result": result,
                      "logits": tuple(out.shape), "heads": result.model.layers[0].self_attn.num_heads,
                      "config": zoo.DECODERS[name]}
    del model, result, out

gpt2 = {"vocab": 50257, "context": 1024, "d": 768, "layers": 12}  # GPT-2 small's configuration
g = gpt2["d"]
gpt2_block = (g * 3 * g + 3 * g) + (g * g + g) + (g * 4 * g + 4 * g) + (4 * g * g + g) + 2 * 2 * g  # attn, proj, MLP, 2 norms
token_embedding = gpt2["vocab"] * g
total = token_embedding + gpt2["context"] * g + gpt2["layers"] * gpt2_block + 2 * g
print(f"GPT-2 small: {total:,} parameters, {token_embedding:,} ({token_embedding / total:.1%}) in the token embedding")
assert total == 124_439_808 and round(token_embedding / 1e6, 1) == 38.6
rows = []
for name, entry in decoders.items():
    cfg, predictor, result = entry["config"], entry["predictor"], entry["result"]
    A, B, C = predictor.coefficients()
    assert result.params_after == entry["recipe"] == predictor.params(0.5) and entry["logits"][-1] == cfg.vocab_size
    assert entry["heads"] == cfg.num_heads // 2
    rows.append({"model": name, "shape": f"d={cfg.hidden_size}, L={cfg.num_layers}, h={cfg.num_heads}, V={cfg.vocab_size:,}",
                 "params": result.params_before, "a": A / (A + B + C), "b": B / (A + B + C),
                 "after": result.params_after, "removed": result.param_reduction, "rule": theory.param_reduction(0.5),
                 "logits": str(entry["logits"])})
small, large = rows
assert small["removed"] < large["removed"] < small["rule"] and small["b"] > large["b"]
display(Markdown(format_table(rows, [("model", "model", "", "left"), ("shape", "configuration", "", "left"),
                                     ("params", "params", ",d"), ("a", "A share (k^2)", ".3f"),
                                     ("b", "B share (k)", ".3f"), ("after", "after p=0.5", ",d"),
                                     ("removed", "removed", ".3f"), ("rule", "rule", ".2f"), ("logits", "logits after", "")])))
Markdown(f"At `p = 0.5` the small decoder loses {small['removed']:.1%} of its parameters, the large one "
         f"{large['removed']:.1%}, the rule says {small['rule']:.0%}. The difference is the `B` share: "
         f"{small['b']:.1%} of the small one sits in tensors that keep `k` (the embedding and the LM head, "
         f"{2 * zoo.DECODERS['llama_small'].vocab_size:,} × d between them), {large['b']:.1%} of the large "
         f"one. Both still produce logits over all {zoo.DECODERS['llama_small'].vocab_size:,} tokens: the LM "
         f"head was in `ignored_layers`. (GPT-2 small, {token_embedding / total:.0%} of it in one embedding matrix "
         f"that only loses `p`, lands below the rule for the same reason.)")

# %% [markdown]
# ## Grouped-query attention and tied embeddings
#
# Two options of LLaMA-family checkpoints, off in the course's decoder by default and on with
# `DecoderConfig(num_key_value_heads=..., tie_word_embeddings=True)`. Grouped-query attention gives K
# and V fewer heads than Q, each key-value head serving several query heads; tied embeddings make the
# LM head's weight the token embedding itself (as GPT-2 above). Torch-Pruning prunes the first by
# rules of its own and unties the second; `ParameterModel` refuses both and says why. First 8 query
# heads sharing 2 key-value heads, pruned at `0.25` by the recipe and by the recipe with head
# dimensions pruned too; then tied embeddings, pruned at `0.1`, and the way out the refusal names:

# %%
# NBVAL_CHECK_OUTPUT
GQA = DecoderConfig(vocab_size=1000, hidden_size=128, intermediate_size=352, num_layers=2, num_heads=8,
                    num_key_value_heads=2)
torch.manual_seed(0)
gqa = Decoder(GQA).eval().to(device)
gqa_rows = []
for label, head_dims in (("the recipe (whole heads)", False), ("whole heads and head dimensions", True)):
    model = copy.deepcopy(gqa)
    pruner = tp.pruner.BasePruner(model, ids, importance=tp.importance.GroupMagnitudeImportance(p=2),
                                  pruning_ratio=0.25, ignored_layers=[model.lm_head],
                                  num_heads=pruning.find_heads(model),  # K and V: the key-value heads
                                  prune_num_heads=True, prune_head_dims=head_dims, head_pruning_ratio=0.25, round_to=4)
    pruner.step()
    pruning.after_pruning(model, pruner)  # num_heads and num_key_value_heads from pruner.num_heads
    attn = model.layers[0].self_attn
    try:
        with torch.no_grad():
            runs = f"yes, logits {tuple(model(ids).shape)}"
    except RuntimeError as err:
        runs = f"no ({type(err).__name__})"
    gqa_rows.append({"pruned": label, "q": f"{attn.num_heads} heads, {attn.q_proj.out_features} wide",
                     "kv": f"{attn.num_key_value_heads} heads, {attn.k_proj.out_features} wide", "runs": runs})
recipe_gqa, both_gqa = gqa_rows
assert recipe_gqa["runs"].startswith("yes") and both_gqa["runs"].startswith("no")
assert recipe_gqa["kv"] == f"{GQA.num_key_value_heads} heads, {gqa.layers[0].self_attn.k_proj.out_features} wide"
display(Markdown(format_table(gqa_rows, [("pruned", "pruned at 0.25", "", "left"), ("q", "Q after", ""),
                                         ("kv", "K and V after", ""), ("runs", "runs", "")])))
try:
    ParameterModel(gqa, ids, [gqa.lm_head], num_heads=pruning.find_heads(gqa), **llm_recipe(0.25))
except UnsupportedModel as err:
    print(say(err))

display(Markdown("Torch-Pruning removes query heads, the same number for every key-value head, and keeps the "
                 "key and value projections whole; with head dimensions pruned too, the queries and the keys no "
                 "longer agree on a head's width and the model cannot run. The predictor does not replay that "
                 "arithmetic: it refuses, naming the layer and the way out (prune a copy and count)."))

TIED = DecoderConfig(vocab_size=1000, hidden_size=128, intermediate_size=352, num_layers=2, num_heads=4,
                     tie_word_embeddings=True)
torch.manual_seed(0)
tied = Decoder(TIED).eval().to(device)
tied_before = counting.n_params(tied)  # the shared matrix counted once
try:
    ParameterModel(tied, ids, [tied.lm_head], num_heads=pruning.find_heads(tied))
except UnsupportedModel as err:
    print(say(err))
model = copy.deepcopy(tied)  # still tied: deepcopy keeps the sharing
pruner = tp.pruner.BasePruner(model, ids, importance=tp.importance.GroupMagnitudeImportance(p=2), pruning_ratio=0.1,
                              ignored_layers=[model.lm_head], num_heads=pruning.find_heads(model))
pruner.step()
tp_tied = counting.n_params(model)
print(f"\nTorch-Pruning, p = 0.1: {tied_before:,} -> {tp_tied:,} parameters; "
      f"lm_head.weight is embed_tokens.weight: {model.lm_head.weight is model.embed_tokens.weight}")
# the way out: untie, predict and prune, tie again
untied = copy.deepcopy(tied)
untied.lm_head.weight = nn.Parameter(untied.embed_tokens.weight.detach().clone())
untied_predicted = ParameterModel(untied, ids, [untied.lm_head], num_heads=pruning.find_heads(untied)).params(0.1)
pruner = tp.pruner.BasePruner(untied, ids, importance=tp.importance.GroupMagnitudeImportance(p=2), pruning_ratio=0.1,
                              ignored_layers=[untied.lm_head], num_heads=pruning.find_heads(untied))
pruner.step()
pruning.after_pruning(untied, pruner)
untied_count = counting.n_params(untied)
equal = torch.equal(untied.lm_head.weight, untied.embed_tokens.weight)
untied.lm_head.weight = untied.embed_tokens.weight  # tied again
retied = counting.n_params(untied)
with torch.no_grad():
    retied_logits = tuple(untied(ids).shape)
print(f"untied: {untied_count:,} parameters (predicted {untied_predicted:,}); the two pruned copies equal: {equal}; "
      f"tied again: {retied:,} = {untied_count:,} - {untied.embed_tokens.weight.numel():,}, logits {retied_logits}")
assert model.lm_head.weight is not model.embed_tokens.weight and tp_tied > tied_before
assert tp_tied == untied_count == untied_predicted and equal
assert retied == untied_count - untied.embed_tokens.weight.numel() and retied_logits == (1, 16, V)
Markdown(f"Torch-Pruning prunes each owner of the shared matrix on its own and leaves two copies: at `p = 0.1` the "
         f"pruned model holds {tp_tied:,} parameters, more than the {tied_before:,} it started with. Untied first, "
         f"the model is predicted to the parameter ({untied_predicted:,}); the embedding and the ignored LM head "
         f"lose the same hidden channels, so their pruned copies are equal and can be tied again: "
         f"{retied:,} parameters, the vocabulary whole.")

# %% [markdown]
# ## ViT: the heads of `nn.MultiheadAttention`
#
# torchvision's ViT-B/16 uses `nn.MultiheadAttention`, which packs Q, K and V into one
# `in_proj_weight` (`3d × d`) and has no inner width of its own: its embedding size *is* the hidden
# size, and it must stay a multiple of the 12 heads. Told nothing about the heads, Torch-Pruning prunes
# the hidden size like any channel width; `ParameterModel`, given the same arguments, is asked for the
# count; then the attention is named in `num_heads`, as one would for separate Q/K/V projections:

# %%
vit, image, vit_ignored = zoo.build("vit_b_16", device=device)
vit_params = counting.n_params(vit)
told_nothing, widths = {}, {}
for p in (0.1, 0.5):
    model = copy.deepcopy(vit)
    tp.pruner.BasePruner(model, image, importance=tp.importance.GroupMagnitudeImportance(p=2), pruning_ratio=p,
                         ignored_layers=[model.heads.head]).step()
    model.hidden_dim = model.conv_proj.out_channels
    widths[p] = width = model.hidden_dim
    try:
        with torch.no_grad():
            told_nothing[p] = f"hidden size {width} = 12 x {width / 12:g}; output {tuple(model(image).shape)}"
    except (AssertionError, RuntimeError) as err:  # the fast path of inference raises the latter
        told_nothing[p] = f"hidden size {width}; the forward pass fails: {type(err).__name__}: {err}"
    print(f"p = {p}: {told_nothing[p]}")
    del model
assert "the forward pass fails" in told_nothing[0.1] and told_nothing[0.5].startswith("hidden size 384")
try:
    ParameterModel(vit, image, vit_ignored)  # the same arguments: the heads not named
except UnsupportedModel as err:
    print(say(err))
model = copy.deepcopy(vit)
tp.pruner.BasePruner(model, image, importance=tp.importance.GroupMagnitudeImportance(p=2), pruning_ratio=0.5,
                     ignored_layers=[model.heads.head],
                     num_heads={mod: mod.num_heads for mod in model.modules() if isinstance(mod, nn.MultiheadAttention)}).step()
mlp_width = model.encoder.layers[0].mlp[0].out_features
named_heads = {"hidden": model.conv_proj.out_channels, "mlp": mlp_width, "params": counting.n_params(model)}
print(f"num_heads={{attention: 12}}, p = 0.5: hidden size {named_heads['hidden']}, MLP 3072 -> {mlp_width}, "
      f"{named_heads['params'] / 1e6:.1f}M of {vit_params / 1e6:.1f}M parameters left "
      f"(removed {1 - named_heads['params'] / vit_params:.3f})")
assert named_heads["hidden"] == 768 and mlp_width == 1536
del model
Markdown(f"At `p = 0.1` Torch-Pruning prunes without complaint to `int(768 × 0.9) = {widths[0.1]}`, not a multiple "
         f"of 12, and the pruned model fails at its first forward pass, in `nn.MultiheadAttention`; at `p = 0.5`, "
         f"{widths[0.5]} happens to divide. `ParameterModel`, given the same arguments, does not return a count for a "
         f"model that may not run: it refuses, and says what to pass. Named in `num_heads`, the attention is kept "
         f"whole, and the hidden size with it ({named_heads['hidden']}): only the MLPs lose channels.")

# %% [markdown]
# What works is `out_channel_groups={attention: 12}`: the hidden size's group is then pruned per head,
# the same number of channels in each of the 12 slices of 64, so it stays a multiple of 12.
# `helpers.pruning.pruner_kwargs` adds it; here it is written out at `p = 0.1`, predicted with the same
# argument, with the second fix of `after_pruning` (the ViT reads its width from `hidden_dim` at every call):

# %%
# NBVAL_CHECK_OUTPUT
vit_groups = {mod: mod.num_heads for mod in vit.modules() if isinstance(mod, nn.MultiheadAttention)}
vit_predictor = ParameterModel(vit, image, vit_ignored, out_channel_groups=vit_groups)  # before pruning
model = copy.deepcopy(vit)
groups = {mod: mod.num_heads for mod in model.modules() if isinstance(mod, nn.MultiheadAttention)}
pruner = tp.pruner.BasePruner(model, image, importance=tp.importance.GroupMagnitudeImportance(p=2), pruning_ratio=0.1,
                              ignored_layers=[model.heads.head], out_channel_groups=groups)
pruner.step()
model.hidden_dim = model.conv_proj.out_channels
macs, params = tp.utils.count_ops_and_params(model, image)
with torch.no_grad():
    vit_out = tuple(model(image).shape)
vit_01 = 1 - params / vit_params
print(f"p = 0.1: hidden 768 -> {model.hidden_dim} (12 x {model.hidden_dim // 12}); {vit_params:,} -> {int(params):,} "
      f"parameters (predicted {vit_predictor.params(0.1):,}); removed {vit_01:.4f}, rule {theory.param_reduction(0.1):.2f}; "
      f"output {vit_out}")
assert int(params) == vit_predictor.params(0.1) and vit_out == (1, 1000)
assert round(vit_01, 3) == 0.2 > theory.param_reduction(0.1)
del model
Markdown(format_table(vit_predictor.breakdown(), [("role", "role", "", "left"), ("power", "d", "d"),
                                                  ("params", "params", ",d"), ("share", "share", ".2%")]))

# %% [markdown]
# Each head keeps `int(64 × 0.9) = 57` of its 64 channels: 10.9% of the channels go, not 10%, and
# ViT-B/16, with 98% of its parameters between pruned widths, removes a little *more* than the rule.
# The `k` share (the head, the patch embedding, the class token and position embedding, norms and
# biases) is under 2%.
#
# ## What users report, checked in 1.6.1
#
# [Torch-Pruning issue #417](https://github.com/VainF/Torch-Pruning/issues/417) ("Sudden model size
# increase for high sparsity ratios") prunes torchvision's ViT-B/16 with *global* pruning, `round_to`
# set to the number of heads (which also keeps the hidden size a multiple of them) and the class token
# and position embedding as unwrapped parameters, for a trade-off curve over 0.1 ... 0.9: at high
# ratios the pruned model is larger than at lower ones, because some layers are left out. The same
# call, on a small ViT of the same family in quick mode (ViT-B/16 in full mode), next to local
# pruning and to Torch-Pruning's own remedy, `isomorphic=True` (Isomorphic Pruning, Fang et al.):
# global ranking, but only among groups of the same structure:

# %%
if helpers.env.quick():
    make_vit = lambda: torchvision.models.VisionTransformer(image_size=64, patch_size=16, num_layers=4, num_heads=4,  # noqa: E731
                                                            hidden_dim=128, mlp_dim=512).eval().to(device)
    issue_image = torch.randn(1, 3, 64, 64, device=device)
else:
    make_vit = lambda: torchvision.models.vit_b_16(weights=None).eval().to(device)  # noqa: E731
    issue_image = image
issue_rows = []
MODES = {"global": dict(global_pruning=True), "global, isomorphic": dict(global_pruning=True, isomorphic=True),
         "local": dict(global_pruning=False)}
for mode, scope in MODES.items():
    for p in (0.2, 0.5, 0.6, 0.7, 0.9):
        torch.manual_seed(0)
        model = make_vit()
        n_heads, width = model.encoder.layers[0].num_heads, model.hidden_dim
        total = counting.n_params(model)
        tp.pruner.BasePruner(model, issue_image, importance=tp.importance.GroupMagnitudeImportance(p=2),
                             **scope, pruning_ratio=p, ignored_layers=[model.heads.head],
                             round_to=n_heads,
                             unwrapped_parameters=[(model.class_token, 2), (model.encoder.pos_embedding, 2)]).step()
        issue_rows.append({"pruning": mode, "p": p,
                           "hidden": f"{model.conv_proj.out_channels}", "mlp": model.encoder.layers[0].mlp[0].out_features,
                           "removed": 1 - counting.n_params(model) / total})
by_mode = {mode: [r for r in issue_rows if r["pruning"] == mode] for mode in MODES}
for mode in ("local", "global, isomorphic"):  # both shrink steadily, and cut the hidden size alike
    assert all(x["removed"] < y["removed"] for x, y in zip(by_mode[mode], by_mode[mode][1:]))
assert [r["hidden"] for r in by_mode["local"]] == [r["hidden"] for r in by_mode["global, isomorphic"]]
peak = max(by_mode["global"], key=lambda r: r["removed"])
assert by_mode["global"][-1]["removed"] < peak["removed"] and by_mode["global"][-1]["hidden"] == str(width)
display(Markdown(format_table(issue_rows, [("pruning", "pruning", "", "left"), ("p", "p", ".1f"),
                                           ("hidden", "hidden size", ""), ("mlp", "MLP (block 0)", "d"),
                                           ("removed", "params removed", ".3f")])))
Markdown(f"It still holds in Torch-Pruning 1.6.1: global pruning removes {peak['removed']:.1%} at `p = {peak['p']}`, "
         f"then only {by_mode['global'][-1]['removed']:.1%} at `p = 0.9`, where the hidden size is back to "
         f"{by_mode['global'][-1]['hidden']}. The hidden size is one group spanning every block; under one global "
         f"threshold its (normalised, evenly spread) importances fall below it all together, and Torch-Pruning never "
         f"empties a group (`DependencyGraph.check_pruning_group` refuses it), so it leaves the hidden size whole and "
         f"prunes the MLPs alone. Local pruning, one ratio per group, shrinks steadily. So does `isomorphic=True`, "
         f"Torch-Pruning's answer to such imbalance: it ranks globally only among groups of one structure, so the "
         f"hidden size's group, the only one of its kind, is cut as under local pruning (to "
         f"{by_mode['global, isomorphic'][-1]['hidden']} at `p = 0.9`), while the blocks' MLPs, alike, are still "
         f"ranked against one another; it removes {by_mode['global, isomorphic'][-1]['removed']:.1%} at `p = 0.9`. "
         f"For a trade-off curve, prune locally or with `isomorphic=True` (or cap `max_pruning_ratio`), and count "
         f"what was removed rather than trust `p`.")

# %% [markdown]
# ## The three transformers against the rule
#
# The exact curves of ViT-B/16 and the two decoders, every width at `p` (in full mode each point is
# also pruned and counted, by `helpers.sweep.transformer_sweep`, with whole heads alone for the
# decoders; in quick mode the points pruned above check the predictor):

# %%
models = {"vit_b_16": vit_predictor, **{n: e["predictor"] for n, e in decoders.items()}}
curve_rows = [{"model": "rule 1-(1-p)^2", **{f"p{p}": theory.param_reduction(p) for p in RATIOS}}]
curve_rows += [{"model": n, **{f"p{p}": pm.reduction(p) for p in RATIOS}} for n, pm in models.items()]
if not helpers.env.quick():
    measured = transformer_sweep(zoo.names("transformer"), RATIOS, device=device,
                                 progress=not helpers.env.progress_disabled())
    assert all(r["params_after"] == r["predicted_params_after"] and r["output_kept"] for r in measured)
    display(Markdown(format_table(measured, [("model", "model", "", "left"), ("setting", "setting", "", "left"),
                                             ("channel_ratio", "p", ".1f"), ("param_reduction", "measured", ".4f"),
                                             ("predicted_reduction", "predicted", ".4f"), ("rule_reduction", "rule", ".2f")])))

# %%
# NBVAL_CHECK_OUTPUT
assert abs(curve_rows[1]["p0.1"] - vit_01) < 1e-12 and abs(curve_rows[2]["p0.5"] - small["removed"]) < 1e-12
Markdown(format_table(curve_rows, [("model", "every width at p", "", "left"),
                                   *[(f"p{p}", f"p={p}", ".3f") for p in RATIOS]]))

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2), layout="constrained")
helpers.report.rule_axes(left, p_max=0.8)
grid = np.round(np.arange(0.0, 0.81, 0.01), 2)
for i, (name, pm) in enumerate(models.items()):
    left.plot(grid, 1 - pm.params_at(grid) / pm.params_before, color=f"C{i}", linewidth=1, label=f"{name} (exact)")
left.plot([0.1], [vit_01], "o", color="C0")
left.plot([0.5, 0.5], [small["removed"], large["removed"]], "o", color="C1")
left.plot([0.5], [large["removed"]], "o", color="C2", label="pruned and counted")
left.set_title("Every width pruned at p")
left.legend(fontsize=7)
shares = []
for name, pm in [*models.items(), ("tiny decoder", tiny_predictor)]:
    coefficients = pm.coefficients()
    shares.append((name, [c / sum(coefficients) for c in coefficients]))
shares.sort(key=lambda s: s[1][1])
bottom = np.zeros(len(shares))
for j, (label, color) in enumerate((("A: k^2 (attention, MLP)", "C0"), ("B: k (embedding, LM head, norms, ...)", "C1"),
                                     ("C: not pruned", "C7"))):
    values = np.array([s[1][j] for s in shares])
    right.barh([s[0] for s in shares], values, left=bottom, color=color, label=label)
    bottom += values
right.set_xlim(0, 1)
right.set_xlabel("share of the parameters")
right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, fontsize=7)
right.set_title("Where the parameters sit")
helpers.report.save(fig, "13_transformers_vs_rule")
plt.show()

# %% [markdown]
# ## Exercises

# %% [markdown]
# ### Exercise `13-block-params`: count one decoder block by hand
#
# One block of `llama_large`: hidden size `d = 1024`, MLP intermediate size `m = 2816`, Q, K, V and
# O projections `d → d`, a SwiGLU MLP (gate, up, down), two RMSNorms, no biases anywhere. How many
# parameters does it hold?

# %%
# NBVAL_CHECK_OUTPUT
block_params = ...  # your count for one block
passed = helpers.checks.check("13-block-params", block_params)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("13-block-params")

# %% [markdown]
# ### Exercise `13-heads-removed`: how many heads go?
#
# An attention with 8 heads is pruned with `prune_num_heads=True`, `prune_head_dims=False` and
# `head_pruning_ratio=0.3`. What fraction of its heads does Torch-Pruning remove (and so of its
# Q, K, V and O parameters)?

# %%
# NBVAL_CHECK_OUTPUT
heads_fraction = ...  # a fraction between 0 and 1
passed = helpers.checks.check("13-heads-removed", heads_fraction)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("13-heads-removed")

# %% [markdown]
# ### Exercise `13-small-decoder-reduction`: the small decoder at p = 0.35, from A and B
#
# `llama_small`'s coefficients (no bias: `C = 0`) are printed by the cell below. Predict the fraction of
# its parameters that `pruning_ratio=0.35` removes (every width), with `params(k) = A k² + B k + C`,
# `k = 1-p`.

# %%
# NBVAL_CHECK_OUTPUT
A, B, C = decoders["llama_small"]["predictor"].coefficients()
print(f"A = {A:,}  B = {B:,}  C = {C:,}  P0 = {A + B + C:,}")
small_reduction = ...  # your predicted reduction at p = 0.35
passed = helpers.checks.check("13-small-decoder-reduction", small_reduction)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("13-small-decoder-reduction")

# %% [markdown]
# ### Exercise `13-llm-pruner`: Torch-Pruning's LLM recipe, as a function
#
# Write `build_pruner(model, example_inputs, p)`, returning Torch-Pruning's `BasePruner` for a
# `helpers.zoo.Decoder` as its LLM example prunes a LLaMA: group L2 magnitude importance,
# `pruning_ratio=p`, the LM head ignored, each Q, K and V projection named in `num_heads` with its
# heads (K and V with the attention's `num_key_value_heads`), whole heads removed at
# `head_pruning_ratio=p` with every head's dimensions kept, and widths rounded down to multiples of 4
# (the recipe's section names every argument). The check builds a fresh decoder of 4 heads, calls your
# function at `p = 0.35`, steps the pruner and compares the heads, their dimensions, the widths and the
# parameter count with the recipe's.

# %%
# NBVAL_CHECK_OUTPUT
def build_pruner(model, example_inputs, p):
    raise NotImplementedError  # your code here


passed = helpers.checks.check("13-llm-pruner", build_pruner)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("13-llm-pruner")

# %% [markdown]
# ## Summary
#
# - In a transformer every attention and MLP weight sits between two pruned widths and keeps `k²`;
#   the token embedding, the LM head (or a ViT's head and patch embedding) and the norms keep `k`:
#   `params(k) = A k² + B k`, with `A = L (4d² + 3dm)` and `B = 2Vd + (2L+1) d` for a LLaMA-style
#   decoder, as `ParameterModel` reads them.
# - Torch-Pruning's LLM recipe prunes whole heads (`num_heads`, `prune_num_heads=True`,
#   `head_pruning_ratio=p`: `⌈p·h⌉` of `h`), keeps every head's dimensions (`prune_head_dims=False`)
#   and rounds the other widths (`round_to=4`); it removes more than every width pruned by `p` where
#   `⌈p·h⌉/h > p`, and the same where they are equal. `ParameterModel` predicts it to the parameter.
# - Pruning head dimensions instead (Torch-Pruning's default) removes the same parameters from another
#   model; under rotary position embeddings the kept dimensions are rotated with other partners at
#   other angles and the attention scores move, which is why the recipe keeps them.
# - One width alone squares nothing: the hidden size alone removes `p`, head dimensions or whole heads
#   alone `p` (in steps of `⌈p h⌉/h` for heads) of the attention's share, the MLP intermediate alone `p`
#   of the MLP's share. Only all of them together follow `A k² + B k`. A tuple key of
#   `pruning_ratio_dict` is one scope of ranking only under global pruning.
# - The vocabulary decides how far below the rule a decoder lands: a narrow model with a 32,000-token
#   vocabulary carries most of its parameters in `B`; a wide one much less. The LM head, ignored, keeps
#   the vocabulary.
# - Torch-Pruning must be told the heads: `num_heads` for separate Q/K/V projections; for
#   `nn.MultiheadAttention`, `out_channel_groups` (told nothing, it fails where the hidden size stops
#   dividing; named in `num_heads`, it keeps the hidden size whole). After pruning, set the head counts
#   and a ViT's `hidden_dim`. `ParameterModel` takes the same head arguments and adds none: an attention
#   whose heads are not named is refused, with what to pass.
# - Grouped-query attention (Torch-Pruning removes query heads per key-value head, or leaves a model
#   that cannot run when head dimensions go too) and tied embeddings (Torch-Pruning unties them, and a
#   small ratio can leave more parameters than before) are refused by the predictor; untie, prune and
#   tie again for an exact count.
# - Global pruning of a ViT can leave the hidden size whole at high ratios (issue #417, still so in
#   1.6.1): the model grows with `p`. `isomorphic=True` ranks only groups of one structure together and
#   shrinks steadily, as local pruning does. Count what was removed.

# %% [markdown]
# ## Questions
#
# 1. Why does pruning the hidden size alone remove about `p` of the parameters, not `1-(1-p)²`?
#
# <details><summary>Answer</summary>
#
# Every tensor of the model touches the hidden size on exactly one side: Q, K, V, gate and up read it,
# O and down write it, the embedding and the LM head hold it once, the norms are a vector of it. With the
# heads and the MLP intermediate size kept, no weight loses two sides, so each keeps `k` and the whole
# model keeps `k`.
#
# </details>
#
# 2. A 7B LLaMA (d = 4096, 32 layers, V = 32,000) and a 125M model with the same vocabulary are pruned
#    at `p = 0.5`. Which is closer to 75%, and why?
#
# <details><summary>Answer</summary>
#
# The 7B: its blocks grow as `d²` (`A = L (4d² + 3dm)`), its embedding and LM head only as `d`
# (`2Vd`), so the `k` share shrinks as the model widens. A small model with a large vocabulary holds a
# large part of its parameters in the embedding and LM head, which lose only `p`.
#
# </details>
#
# 3. Removing half the heads and removing half of every head's dimensions remove the same parameters.
#    Why would one still choose one over the other?
#
# <details><summary>Answer</summary>
#
# The count is the same (`p` of Q, K, V and O, one side each), the model is not: whole heads keep each
# remaining head's dimension (and its attention pattern), fewer heads means fewer attention maps to
# compute, and some heads matter far more than others (Michel et al.); shrinking every head's
# dimensions keeps all the patterns but changes each one. With rotary position embeddings (every
# LLaMA) the choice is made: a narrower head is rotated by another rule, its kept dimensions pair with
# other partners at other frequencies, and its scores move, as measured above; whole heads leave every
# remaining head as it was. Kernels often also prefer the standard head dimension.
#
# </details>
#
# 4. Pruning a grouped-query attention with the recipe, Torch-Pruning removes query heads but keeps the
#    key and value projections whole, and removes the same number of query heads for every key-value
#    head. Why both?
#
# <details><summary>Answer</summary>
#
# Each key-value head serves a group of query heads, repeated to them at every call. Removing a
# key-value head would take its whole group of query heads with it, whatever their importance; and
# groups of unequal size could no longer be served by one even repeat. Removing query heads evenly
# across the groups keeps every key-value head serving as many query heads, so the model runs.
#
# </details>

# %% [markdown]
# ## Further reading
#
# - Torch-Pruning, [github.com/VainF/Torch-Pruning](https://github.com/VainF/Torch-Pruning): its
#   examples for ViTs and LLMs (`examples/transformers`, `examples/LLMs/prune_llm.py`, the recipe
#   written out above) and the head arguments of `BasePruner`.
# - Su et al., "RoFormer: Enhanced Transformer with Rotary Position Embedding", 2021,
#   [arXiv:2104.09864](https://arxiv.org/abs/2104.09864): the rotary position embedding.
# - Ainslie et al., "GQA: Training Generalized Multi-Query Transformer Models from Multi-Head
#   Checkpoints", EMNLP 2023, [arXiv:2305.13245](https://arxiv.org/abs/2305.13245): grouped-query attention.
# - Fang et al., "Isomorphic Pruning for Vision Models", ECCV 2024,
#   [arXiv:2407.04616](https://arxiv.org/abs/2407.04616): `isomorphic=True`.
# - Torch-Pruning [issue #417](https://github.com/VainF/Torch-Pruning/issues/417), "Sudden model size
#   increase for high sparsity ratios", and [issue #101](https://github.com/VainF/Torch-Pruning/issues/101),
#   "How to prune for vit model": the attributes to set after pruning a ViT.
# - Ma, Fang and Wang, "LLM-Pruner: On the Structural Pruning of Large Language Models", NeurIPS 2023,
#   [arXiv:2305.11627](https://arxiv.org/abs/2305.11627): structural pruning of LLaMA with
#   dependency groups.
# - Michel, Levy and Neubig, "Are Sixteen Heads Really Better than One?", NeurIPS 2019,
#   [arXiv:1905.10650](https://arxiv.org/abs/1905.10650): how many heads a trained transformer needs.
# - Dosovitskiy et al., "An Image is Worth 16x16 Words", ICLR 2021,
#   [arXiv:2010.11929](https://arxiv.org/abs/2010.11929): the Vision Transformer.
# - Touvron et al., "LLaMA: Open and Efficient Foundation Language Models", 2023,
#   [arXiv:2302.13971](https://arxiv.org/abs/2302.13971): the decoder `helpers.zoo.Decoder` writes out.
#
# This is the course's last notebook: back to the [course map](../README.md#course-map).
