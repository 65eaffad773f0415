# %% [markdown]
# # 13 · Beyond CNNs: transformers
#
# **Learning goals**
# - derive the law for a transformer block as notebook 02 does for convolutions: attention and MLP
#   weights lose rows *and* columns (`k²`), token embedding, LM head and norms one side only (`k`);
# - tell Torch-Pruning about the heads (`num_heads`, `prune_num_heads`, `prune_head_dims`,
#   `head_pruning_ratio`, `out_channel_groups`), and see what goes wrong when it is not told;
# - prune each width alone and together (hidden size, head dimensions, whole heads, MLP intermediate)
#   and predict each exactly: some remove `p`, some a share of `p`, only all of them `1-(1-p)²`;
# - see why a small language model with a large vocabulary lands far below the rule and a large one
#   close to it;
# - check what Torch-Pruning's users report on ViTs (the model growing at high ratios) in 1.6.1.
#
# **Prerequisites**: 02 · The quadratic law, 05 · The exact count.
#
# **Study time**: about 45 min (reading, running the cells and the exercises).
#
# **Run time** (from `figures/notebook_times.csv`): about 14 s in quick mode (2-core CPU); full mode (GPU) not measured yet.

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
from helpers.predict import ParameterModel
from helpers.pruning import prune_copy
from helpers.sweep import heads_alone, transformer_sweep
from helpers.report import format_table

RATIOS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
# Torch-Pruning warns about parameters held outside the layers it knows (the decoder's RMSNorm weights,
# a ViT's class token and position embedding) and prunes their last dimension, which is right for all
# of them: silence the warning
warnings.filterwarnings("ignore", message=".*[Uu]nwrapped parameters.*")

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
# Torch-Pruning's dependency graph (with the heads found by `helpers.pruning.find_heads`):

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
tiny_predictor = ParameterModel(tiny, ids, [tiny.lm_head])
print(f"d={d}, m={m}, V={V}, L={L}, h={h}: {counting.n_params(tiny):,} parameters")
print("A, B, C by hand:          ", by_hand)
print("A, B, C (ParameterModel): ", tiny_predictor.coefficients())
assert tiny_predictor.coefficients() == by_hand and sum(by_hand) == counting.n_params(tiny)
Markdown(format_table(tiny_predictor.breakdown(), [("role", "role", "", "left"), ("power", "d", "d"),
                                                   ("params", "params", ",d"), ("share", "share", ".2%")]))

# %% [markdown]
# Now Torch-Pruning itself, written out. `BasePruner` learns the heads from `num_heads` (each Q, K and
# V projection with its number of heads): with `prune_head_dims=True` it prunes the same fraction of
# dimensions in every head, with `prune_num_heads=True` whole heads (`head_pruning_ratio` of them).
# After pruning, the attention modules must be told their head count, which the pruner keeps in
# `pruner.num_heads` (that is the first of `helpers.pruning.after_pruning`'s two fixes):

# %%
# NBVAL_CHECK_OUTPUT
p = 0.5
before = counting.snapshot(tiny)
heads = {layer: block.self_attn.num_heads for block in tiny.layers
         for layer in (block.self_attn.q_proj, block.self_attn.k_proj, block.self_attn.v_proj)}
pruner = tp.pruner.BasePruner(
    tiny, ids, importance=tp.importance.GroupMagnitudeImportance(p=2), pruning_ratio=p,
    ignored_layers=[tiny.lm_head], num_heads=heads, prune_num_heads=False, prune_head_dims=True,
    head_pruning_ratio=0.0, out_channel_groups={})
pruner.step()
for block in tiny.layers:  # the attention reads num_heads at every call
    block.self_attn.num_heads = pruner.num_heads[block.self_attn.q_proj]
macs, params = tp.utils.count_ops_and_params(tiny, ids)
with torch.no_grad():
    logits = tiny(ids)
attn = tiny.layers[0].self_attn
print(f"p = {p}: {sum(by_hand):,} -> {int(params):,} parameters (predicted {tiny_predictor.params(p):,}), "
      f"removed {1 - params / sum(by_hand):.4f}; rule {theory.param_reduction(p):.2f}")
print(f"hidden size {d} -> {tiny.embed_tokens.embedding_dim}; {h} heads of {d // h} dimensions -> {attn.num_heads} heads "
      f"of {attn.q_proj.out_features // attn.num_heads}; MLP {m} -> {tiny.layers[0].mlp.up_proj.out_features}; "
      f"logits {tuple(logits.shape)}")
assert int(params) == tiny_predictor.params(p) and logits.shape[-1] == V
kinds = counting.scaling_by_kind(counting.scaling(before, tiny, p))
assert {(r["kind"], r["power"]) for r in kinds} == {("linear weight", 2), ("linear weight", 1), ("embedding", 1),
                                                   ("normalisation", 1)}
Markdown(format_table(kinds, [("kind", "tensors of kind", "", "left"), ("tensors", "tensors", "d"),
                              ("power", "kept = k^d, d =", "d"), ("before", "before", ",d"), ("after", "after", ",d")]))

# %% [markdown]
# Every attention and MLP weight kept `k²`; the one linear weight that kept `k` is the LM head, with
# the embedding and the norms. The count is `ParameterModel`'s, to the parameter, and the logits still
# cover the whole vocabulary.
#
# ## Four widths, each alone and together
#
# `pruning_ratio=p` prunes every width at once. Each can also be pruned alone, with Torch-Pruning's
# `pruning_ratio_dict` (a tuple of layers as key is one group of ranking; a group given 0 loses
# nothing). Per tensor, as above:
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
kinds_rows, heads_left, predictors = [], {}, {}
for name, make in SETTINGS.items():
    for p in MEASURED:
        ratio, ratio_dict, kwargs = make(fresh, p)
        key = (name, kwargs.get("head_pruning_ratio"))
        if key not in predictors:  # before pruning
            predictors[key] = ParameterModel(fresh, ids, [fresh.lm_head], **kwargs)
        predicted = predictors[key].params(ratio, pruning_ratio_dict=ratio_dict)
        result = prune_copy(fresh, ids, ratio, [fresh.lm_head], pruning_ratio_dict=ratio_dict, count_macs=False,
                            **kwargs)
        assert result.params_after == predicted, (name, p)
        with torch.no_grad():
            assert result.model(ids).shape == (1, 16, V)
        if name == "whole heads only":
            heads_left[p] = result.model.layers[0].self_attn.num_heads
        kinds_rows.append({"setting": name, "p": p, "measured": result.param_reduction, "law": LAWS[name](p)})

# %%
# NBVAL_CHECK_OUTPUT
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
         f"norms keeps `k`.")

# %% [markdown]
# Whole heads, written out: Torch-Pruning ranks each attention's heads when its `(q, k, v)` group has
# a ratio (here through `pruning_ratio_dict`; with `pruning_ratio=0` and no entry it touches nothing,
# heads included), and counts the heads left in `pruner.num_heads`. A ratio that would remove every
# head leaves the group whole (`⌈0.9 × 4⌉ = 4`):

# %%
# NBVAL_CHECK_OUTPUT
for head_ratio in (0.5, 0.9):
    model = tiny_decoder()
    pruner = tp.pruner.BasePruner(
        model, ids, importance=tp.importance.GroupMagnitudeImportance(p=2), pruning_ratio=0.0,
        ignored_layers=[model.lm_head], num_heads=pruning.find_heads(model), prune_num_heads=True,
        prune_head_dims=False, head_pruning_ratio=head_ratio,
        pruning_ratio_dict={key: head_ratio for key in qkv(model)})
    pruner.step()
    pruning.after_pruning(model, pruner)  # num_heads from pruner.num_heads, unless it reached 0
    attn = model.layers[0].self_attn
    with torch.no_grad():
        shape = tuple(model(ids).shape)
    print(f"head_pruning_ratio={head_ratio}: pruner counts {pruner.num_heads[attn.q_proj]} heads left; "
          f"q_proj {d} -> {attn.q_proj.out_features} outputs, {attn.num_heads} heads of "
          f"{attn.q_proj.out_features // attn.num_heads}; logits {shape}")
    assert attn.q_proj.out_features == (d if head_ratio == 0.9 else d // 2)

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
# ## Small and large: the vocabulary
#
# `B` holds `2Vd`: the embedding and the LM head grow with the hidden size, the blocks' `A` with its
# square. At the same vocabulary, a narrow model carries a large `B` share and lands far below the
# rule, a wide one close to it. GPT-2 small is the textbook case: its LM head is the token embedding
# matrix itself (shared), and that one matrix holds a large part of the model (counted below from its
# configuration). The course's two decoders (`zoo.DECODERS`) share a 32,000-token vocabulary at two
# widths. Each is predicted, then pruned at `p = 0.5` with the helpers (`helpers.pruning.prune_copy`,
# which adds `num_heads` and applies `after_pruning` itself):

# %%
decoders = {}
for name in ("llama_small", "llama_large"):
    model, inputs, ignored = zoo.build(name, device=device)
    predictor = ParameterModel(model, inputs, ignored)
    result = prune_copy(model, inputs, 0.5, ignored, count_macs=False)
    with torch.no_grad():
        out = result.model(inputs)
    decoders[name] = {"predictor": predictor, "result": result, "logits": tuple(out.shape),
                      "config": zoo.DECODERS[name]}
    del model, result, out

# %%
# NBVAL_CHECK_OUTPUT
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
    assert result.params_after == predictor.params(0.5) and entry["logits"][-1] == cfg.vocab_size
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
# ## ViT: the heads of `nn.MultiheadAttention`
#
# torchvision's ViT-B/16 uses `nn.MultiheadAttention`, which packs Q, K and V into one
# `in_proj_weight` (`3d × d`) and has no inner width of its own: its embedding size *is* the hidden
# size, and it must stay a multiple of the 12 heads. Told nothing about the heads, Torch-Pruning prunes
# the hidden size like any channel width:

# %%
vit, image, vit_ignored = zoo.build("vit_b_16", device=device)
vit_params = counting.n_params(vit)
told_nothing = {}
for p in (0.1, 0.5):
    model = copy.deepcopy(vit)
    tp.pruner.BasePruner(model, image, importance=tp.importance.GroupMagnitudeImportance(p=2), pruning_ratio=p,
                         ignored_layers=[model.heads.head]).step()
    model.hidden_dim = model.conv_proj.out_channels
    width = model.hidden_dim
    try:
        with torch.no_grad():
            told_nothing[p] = f"hidden size {width} = 12 x {width / 12:g}; output {tuple(model(image).shape)}"
    except (AssertionError, RuntimeError) as err:  # the fast path of inference raises the latter
        told_nothing[p] = f"hidden size {width}; the forward pass fails: {type(err).__name__}: {err}"
    print(f"p = {p}: {told_nothing[p]}")
    del model
assert "the forward pass fails" in told_nothing[0.1] and told_nothing[0.5].startswith("hidden size 384")

# %% [markdown]
# At `p = 0.1` Torch-Pruning prunes without complaint to `int(768 × 0.9) = 691`, not a multiple of 12,
# and the pruned model fails at its first forward pass, in `nn.MultiheadAttention`; at `p = 0.5`, 384
# happens to divide. Naming the
# attention in `num_heads`, as one would for separate Q/K/V projections, keeps it whole, and the hidden
# size with it:

# %%
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

# %% [markdown]
# What works is `out_channel_groups={attention: 12}`: the hidden size's group is then pruned per head,
# the same number of channels in each of the 12 slices of 64, so it stays a multiple of 12.
# `helpers.pruning.pruner_kwargs` adds it; here it is written out at `p = 0.1`, with the second fix of
# `after_pruning` (the ViT reads its width from `hidden_dim` at every call):

# %%
# NBVAL_CHECK_OUTPUT
vit_predictor = ParameterModel(vit, image, vit_ignored)  # before pruning
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
# pruning:

# %%
if helpers.env.quick():
    make_vit = lambda: torchvision.models.VisionTransformer(image_size=64, patch_size=16, num_layers=4, num_heads=4,  # noqa: E731
                                                            hidden_dim=128, mlp_dim=512).eval().to(device)
    issue_image = torch.randn(1, 3, 64, 64, device=device)
else:
    make_vit = lambda: torchvision.models.vit_b_16(weights=None).eval().to(device)  # noqa: E731
    issue_image = image
issue_rows = []
for global_pruning in (True, False):
    for p in (0.2, 0.5, 0.6, 0.7, 0.9):
        torch.manual_seed(0)
        model = make_vit()
        n_heads, width = model.encoder.layers[0].num_heads, model.hidden_dim
        total = counting.n_params(model)
        tp.pruner.BasePruner(model, issue_image, importance=tp.importance.GroupMagnitudeImportance(p=2),
                             global_pruning=global_pruning, pruning_ratio=p, ignored_layers=[model.heads.head],
                             round_to=n_heads,
                             unwrapped_parameters=[(model.class_token, 2), (model.encoder.pos_embedding, 2)]).step()
        issue_rows.append({"pruning": "global" if global_pruning else "local", "p": p,
                           "hidden": f"{model.conv_proj.out_channels}", "mlp": model.encoder.layers[0].mlp[0].out_features,
                           "removed": 1 - counting.n_params(model) / total})
by_mode = {mode: [r for r in issue_rows if r["pruning"] == mode] for mode in ("global", "local")}
assert all(x["removed"] < y["removed"] for x, y in zip(by_mode["local"], by_mode["local"][1:]))  # local: monotonic
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
         f"prunes the MLPs alone. Local pruning, one ratio per group, shrinks steadily. For a trade-off curve, prune "
         f"locally (or cap `max_pruning_ratio`), and count what was removed rather than trust `p`.")

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
# `llama_small`'s coefficients (no bias: `C = 0`) are below. Predict the fraction of its parameters
# that `pruning_ratio=0.35` removes (every width), with `params(k) = A k² + B k + C`, `k = 1-p`.

# %%
# NBVAL_CHECK_OUTPUT
A, B, C = decoders["llama_small"]["predictor"].coefficients()
print(f"A = {A:,}  B = {B:,}  C = {C:,}  P0 = {A + B + C:,}")

# %%
# NBVAL_CHECK_OUTPUT
small_reduction = ...  # your predicted reduction at p = 0.35
passed = helpers.checks.check("13-small-decoder-reduction", small_reduction)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("13-small-decoder-reduction")

# %% [markdown]
# ## Summary
#
# - In a transformer every attention and MLP weight sits between two pruned widths and keeps `k²`;
#   the token embedding, the LM head (or a ViT's head and patch embedding) and the norms keep `k`:
#   `params(k) = A k² + B k`, with `A = L (4d² + 3dm)` and `B = 2Vd + (2L+1) d` for a LLaMA-style
#   decoder, as `ParameterModel` reads them.
# - One width alone squares nothing: the hidden size alone removes `p`, head dimensions or whole heads
#   alone `p` (in steps of `⌈p h⌉/h` for heads) of the attention's share, the MLP intermediate alone `p`
#   of the MLP's share. Only all of them together follow `A k² + B k`.
# - The vocabulary decides how far below the rule a decoder lands: a narrow model with a 32,000-token
#   vocabulary carries most of its parameters in `B`; a wide one much less. The LM head, ignored, keeps
#   the vocabulary.
# - Torch-Pruning must be told the heads: `num_heads` for separate Q/K/V projections; for
#   `nn.MultiheadAttention`, `out_channel_groups` (told nothing, it fails where the hidden size stops
#   dividing; named in `num_heads`, it keeps the hidden size whole). After pruning, set the head counts
#   and a ViT's `hidden_dim`.
# - Global pruning of a ViT can leave the hidden size whole at high ratios (issue #417, still so in
#   1.6.1): the model grows with `p`. Count what was removed.

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
# dimensions keeps all the patterns but changes each one. Kernels often also prefer the standard head
# dimension.
#
# </details>

# %% [markdown]
# ## Further reading
#
# - Torch-Pruning, [github.com/VainF/Torch-Pruning](https://github.com/VainF/Torch-Pruning): its
#   examples for ViTs and LLMs (`examples/transformers`, `examples/LLMs`) and the head arguments of
#   `BasePruner`.
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
