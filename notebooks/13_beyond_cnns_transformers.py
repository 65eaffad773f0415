# %% [markdown]
# # 13 · Beyond CNNs: transformers
#
# **Learning goals**
# - count a transformer block as notebook 02 counts convolutions: attention and MLP weights lose rows
#   *and* columns (`k²`), token embedding, LM head and norms one side only (`k`);
# - prune a LLaMA-style decoder the way Torch-Pruning's own LLM example does (whole heads removed,
#   every head's dimensions kept, `round_to`), and see why rotary position embeddings rule out the
#   alternative, pruning head dimensions (measured, not just told);
# - see why a small language model with a large vocabulary lands far below the rule and a wider one
#   closer to it;
# - know what Torch-Pruning does with grouped-query attention and tied embeddings;
# - name the heads of a ViT's `nn.MultiheadAttention` for Torch-Pruning, and write both pruners
#   yourself.
#
# **Prerequisites**: 02 · The quadratic law, 05 · The exact count, 06 · Pruning real CNNs with Torch-Pruning.
#
# **Track**: core
# **Study time**: about 40 min (reading, running the cells and the exercises).
#
# **Run time** (from `figures/notebook_times.csv`): about 13 s in quick mode (2-core CPU); full mode (GPU) not measured yet.

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

import torch
import torch_pruning as tp
from IPython.display import Markdown, display
from torch import nn

from helpers import counting, pruning, theory, zoo
from helpers.predict import ParameterModel, UnsupportedModel
from helpers.pruning import prune_copy
from helpers.report import format_table
from helpers.zoo import Decoder, DecoderConfig

# Torch-Pruning warns about parameters held outside the layers it knows (the decoder's RMSNorm weights,
# a ViT's class token and position embedding) and prunes their last dimension, which is right for all
# of them: silence the warning
warnings.filterwarnings("ignore", message=".*[Uu]nwrapped parameters.*")


def llm_recipe(p):
    """BasePruner's head arguments as Torch-Pruning's LLM example (examples/LLMs/prune_llm.py) sets them:
    whole heads (head_pruning_ratio=p), every head's dimensions kept, widths in multiples of 4."""
    return dict(prune_num_heads=True, prune_head_dims=False, head_pruning_ratio=p, round_to=4)

# %% [markdown]
# Notebooks 02-05 derived the law on convolutions. A transformer is made of linear layers, so the law
# should carry over; but its widths are of four kinds (the hidden size every block reads and writes, the
# heads, the dimensions inside each head, the MLP's intermediate size), Torch-Pruning must be told
# where the heads are, and a language model keeps a large vocabulary on both ends. This notebook
# prunes a LLaMA-style decoder (`helpers.zoo.Decoder`, built from a configuration, nothing downloaded)
# with Torch-Pruning's own pruner, and predicts every count before pruning.
#
# ## A decoder block, tensor by tensor
#
# `helpers.zoo.Decoder` holds the layers of a LLaMA checkpoint under their names: a token
# embedding `embed_tokens` (`V × d`), then `L` blocks, each with an RMSNorm (`d`), attention with
# `q_proj`, `k_proj`, `v_proj` (`d → d`, split into `h` heads of `d/h` dimensions) and `o_proj`
# (`d → d`), an RMSNorm (`d`) and a SwiGLU MLP with `gate_proj`, `up_proj` (`d → m`) and
# `down_proj` (`m → d`); a final RMSNorm and the LM head `lm_head` (`d → V`), whose outputs are the
# vocabulary and stay. No tensor has a bias. Pruning every width by `p` (`k = 1-p`):
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
# So `params(k) = A k² + B k`: `A` sums the attention and MLP weights, `B` the embedding, the LM head
# and the norms (exercise `13-decoder-params` asks for both from the configuration). A tiny
# configuration, and what `ParameterModel` reads from Torch-Pruning's dependency graph.
# `ParameterModel` takes `BasePruner`'s arguments under their names and adds none: the heads go in as
# `num_heads`, each Q, K and V projection with its heads, here found by `helpers.pruning.find_heads`:

# %%
# NBVAL_CHECK_OUTPUT
TINY = DecoderConfig(vocab_size=1000, hidden_size=128, intermediate_size=352, num_layers=2, num_heads=4)
V, d, m, L, h = TINY.vocab_size, TINY.hidden_size, TINY.intermediate_size, TINY.num_layers, TINY.num_heads


def tiny_decoder():
    torch.manual_seed(0)
    return Decoder(TINY).eval().to(device)


tiny = tiny_decoder()
ids = torch.randint(0, V, (1, 16), device=device)
tiny_predictor = ParameterModel(tiny, ids, [tiny.lm_head], num_heads=pruning.find_heads(tiny))
a, b, c = tiny_predictor.coefficients()
print(f"d={d}, m={m}, V={V}, L={L}, h={h}: {counting.n_params(tiny):,} parameters; A = {a:,}, B = {b:,}, C = {c}")
shares = {r["role"]: r for r in tiny_predictor.breakdown()}
assert a + b + c == counting.n_params(tiny) and c == 0
assert shares["weights between pruned layers"]["params"] == a and shares["weights between pruned layers"]["power"] == 2
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
print(f"p = {p}: {a + b:,} -> {int(params):,} parameters (predicted {recipe_predictor.params(p):,}), "
      f"removed {1 - params / (a + b):.4f}; rule {theory.param_reduction(p):.2f}")
print(f"{h} heads of {d // h} dimensions -> {attn.num_heads} heads of {attn.q_proj.out_features // attn.num_heads}; "
      f"hidden size {d} -> {tiny.embed_tokens.embedding_dim}; MLP {m} -> {tiny.layers[0].mlp.up_proj.out_features}; "
      f"logits {tuple(logits.shape)}")
print(f"every width pruned by p (A k^2 + B k, tiny_predictor): {tiny_predictor.params(p):,}")
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
# with the embedding and the norms. So at `p = 0.5` the recipe lands on `A k² + B k` to the parameter,
# and the logits still cover the whole vocabulary. At other ratios the heads move in steps of `1/h`
# and `round_to` rounds the hidden size and the MLP down to multiples of 4; each ratio below is
# predicted before pruning (`helpers.pruning.prune_copy` runs the same `BasePruner` call, with
# `num_heads` added and `after_pruning` applied).
#
# **The alternative, head dimensions.** Torch-Pruning's default for an attention named in `num_heads`
# is the other way round (`prune_num_heads=False`, `prune_head_dims=True`): every head stays and loses
# the same share of its dimensions. The table's `k²` for Q, K, V and O was written for it
# (`tiny_predictor`); it is pruned last, at `p = 0.5`:

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
assert by_p[0.9]["removed"] < by_p[0.9]["law"]  # no head can go: less than every width pruned by p
display(Markdown(format_table(recipe_rows, [
    ("p", "p", ".1f"), ("heads", "heads left", ""), ("hidden", "hidden size", "d"), ("mlp", "MLP", "d"),
    ("params", "params (Torch-Pruning)", ",d"), ("predicted", "predicted", ",d"), ("removed", "removed", ".3f"),
    ("law", "every width by p", ".3f")])))
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
         f"empties a group, keeps all {h} heads and prunes the hidden size and the MLP, so it removes less "
         f"than every width pruned by `p` ({by_p[0.9]['removed']:.3f} against {by_p[0.9]['law']:.3f}). Every count is `ParameterModel`'s, given "
         f"the same arguments, to the parameter. Head dimensions at `p = 0.5` remove as many parameters as the "
         f"recipe, {dims_params:,} left, from a model of another shape: all {attn.num_heads} heads at "
         f"{attn.q_proj.out_features // attn.num_heads} dimensions instead of {h - math.ceil(0.5 * h)} at {d // h}.")

# %% [markdown]
# ## Why the recipe keeps head dimensions: rotary position embeddings
#
# A LLaMA holds no position embedding tensor; it rotates queries and keys instead (RoPE, the rotary
# position embedding of Su et al.): in a head of `d` dimensions, dimension `i` turns together with
# dimension `i + d/2` by the angle `t · base^(-2i/d)` at token position `t` (the "rotate half" layout),
# so that a query at position `m` and a key at `n` score by `m − n` alone. The pairs and the angles
# are fixed by the head's width: a head that lost dimensions is rotated by the narrower head's rule,
# each kept dimension with another partner at another frequency. No parameter changes with it (the
# counts above stand), but what the kept dimensions compute does. Two copies of the tiny decoder are
# pruned at `0.5` in their attention only, so that a head reads the same input as before
# (`pruning_ratio=0`, and `pruning_ratio_dict` gives each attention's `(q, k, v)` group `0.5`): one
# losing whole heads, one losing head dimensions. On head 0 of the first block: how many of the
# head's dimensions keep their partner and their angle, and how far its attention scores move from
# what the same dimensions scored before pruning, without a position code and with RoPE (the largest
# change, relative to the largest score):

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


fresh = tiny_decoder()
attention_only = {(blk.self_attn.q_proj, blk.self_attn.k_proj, blk.self_attn.v_proj): 0.5 for blk in fresh.layers}
at_half = {
    "whole heads only": prune_copy(fresh, ids, 0.0, [fresh.lm_head], pruning_ratio_dict=attention_only,
                                   count_macs=False, prune_num_heads=True, prune_head_dims=False,
                                   head_pruning_ratio=0.5).model,
    "head dimensions only": prune_copy(fresh, ids, 0.0, [fresh.lm_head], pruning_ratio_dict=attention_only,
                                       count_macs=False).model,
}
assert all(mdl.embed_tokens.embedding_dim == d for mdl in at_half.values())  # the hidden size kept
original = fresh.layers[0].self_attn  # the model both were pruned from
hd = d // h
with torch.no_grad():
    x = fresh.layers[0].input_layernorm(fresh.embed_tokens(ids))[0].double().cpu()  # what the attention reads
rope_rows = []
for name, pruned_model in at_half.items():
    attn = pruned_model.layers[0].self_attn
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
display(Markdown(format_table(rope_rows, [("pruned", "pruned at 0.5", "", "left"), ("kept", "head 0's dimensions", ""),
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
# `B` holds the embedding and the LM head, `V × d` each: they grow with the hidden size, the blocks'
# `A` with its square. At the same vocabulary, a narrow model carries a large `B` share and should
# land far below the rule, a wide one closer to it. The course's two decoders (`zoo.DECODERS`) share a
# 32,000-token vocabulary at two widths. Each is predicted, then pruned at `p = 0.5` with the LLM
# recipe through the helpers (`helpers.pruning.prune_copy`, which adds `num_heads` and applies
# `after_pruning` itself; `helpers.pruning.pruner_kwargs` gives `ParameterModel` the same
# `num_heads`). Both have an even number of heads, so half of them is `p` of the heads, and the
# recipe's count is checked against `A k² + B k` (the predictor of every width pruned by `p`):

# %%
# NBVAL_CHECK_OUTPUT
rows = []
for name in ("llama_small", "llama_large"):
    model, inputs, ignored = zoo.build(name, device=device)
    cfg = zoo.DECODERS[name]
    predictor = ParameterModel(model, inputs, ignored, **pruning.pruner_kwargs(model))  # every width by p
    recipe = ParameterModel(model, inputs, ignored, **pruning.pruner_kwargs(model, llm_recipe(0.5)))
    result = prune_copy(model, inputs, 0.5, ignored, count_macs=False, **llm_recipe(0.5))
    with torch.no_grad():
        out = result.model(inputs)
    A, B, C = predictor.coefficients()
    assert result.params_after == recipe.params(0.5) == predictor.params(0.5) and out.shape[-1] == cfg.vocab_size
    assert result.model.layers[0].self_attn.num_heads == cfg.num_heads // 2
    rows.append({"model": name, "shape": f"d={cfg.hidden_size}, L={cfg.num_layers}, h={cfg.num_heads}, V={cfg.vocab_size:,}",
                 "params": result.params_before, "a": A / (A + B + C), "b": B / (A + B + C),
                 "after": result.params_after, "removed": result.param_reduction, "rule": theory.param_reduction(0.5),
                 "logits": str(tuple(out.shape))})
    del model, result, out
small, large = rows
assert small["removed"] < large["removed"] < small["rule"] and small["b"] > large["b"]
display(Markdown(format_table(rows, [("model", "model", "", "left"), ("shape", "configuration", "", "left"),
                                     ("params", "params", ",d"), ("a", "A share (k^2)", ".3f"),
                                     ("b", "B share (k)", ".3f"), ("after", "after p=0.5", ",d"),
                                     ("removed", "removed", ".3f"), ("rule", "rule", ".2f"), ("logits", "logits after", "")])))
Markdown(f"At `p = 0.5` the small decoder loses {small['removed']:.1%} of its parameters, the large one "
         f"{large['removed']:.1%}, the rule says {small['rule']:.0%}. The difference is the `B` share: "
         f"{small['b']:.1%} of the small one sits in tensors that keep `k` (the embedding and the LM head above "
         f"all), {large['b']:.1%} of the large one. Both still produce logits over all "
         f"{zoo.DECODERS['llama_small'].vocab_size:,} tokens: the LM head was in `ignored_layers`.")

# %% [markdown]
# ## Grouped-query attention and tied embeddings
#
# Two options of LLaMA-family checkpoints, off in the course's decoder by default and on with
# `DecoderConfig(num_key_value_heads=..., tie_word_embeddings=True)`. Grouped-query attention gives K
# and V fewer heads than Q, each key-value head serving several query heads; tied embeddings make the
# LM head's weight the token embedding itself. First 8 query heads sharing 2 key-value heads, pruned
# at `0.25` by the recipe and by the recipe with head dimensions pruned too; then tied embeddings,
# pruned at `0.1`:

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

TIED = DecoderConfig(vocab_size=1000, hidden_size=128, intermediate_size=352, num_layers=2, num_heads=4,
                     tie_word_embeddings=True)
torch.manual_seed(0)
tied = Decoder(TIED).eval().to(device)
tied_before = counting.n_params(tied)  # the shared matrix counted once
model = copy.deepcopy(tied)  # still tied: deepcopy keeps the sharing
pruner = tp.pruner.BasePruner(model, ids, importance=tp.importance.GroupMagnitudeImportance(p=2), pruning_ratio=0.1,
                              ignored_layers=[model.lm_head], num_heads=pruning.find_heads(model))
pruner.step()
tp_tied = counting.n_params(model)
refused = []
for name, mdl, kwargs in (("grouped-query", gqa, llm_recipe(0.25)), ("tied", tied, {})):
    try:
        ParameterModel(mdl, ids, [mdl.lm_head], num_heads=pruning.find_heads(mdl), **kwargs)
    except UnsupportedModel:
        refused.append(name)
print(f"tied, p = 0.1: {tied_before:,} -> {tp_tied:,} parameters; lm_head.weight is embed_tokens.weight: "
      f"{model.lm_head.weight is model.embed_tokens.weight}")
print(f"ParameterModel refuses to predict: {', '.join(refused)}")
assert model.lm_head.weight is not model.embed_tokens.weight and tp_tied > tied_before
assert refused == ["grouped-query", "tied"]
Markdown(f"With grouped-query attention, the recipe removes query heads and keeps both key-value heads (the "
         f"table above); with head dimensions pruned too, the queries and "
         f"the keys no longer agree on a head's width and the model cannot run. A tied embedding is pruned once per "
         f"owner and the tie is lost: at `p = 0.1` the pruned model holds {tp_tied:,} parameters, more than the "
         f"{tied_before:,} it started with. `ParameterModel` refuses both and its message names the way out: prune "
         f"a copy and count; for tied embeddings, untie, prune and tie again.")

# %% [markdown]
# ## ViT: name the heads
#
# torchvision's ViT uses `nn.MultiheadAttention`, which packs Q, K and V into one `in_proj_weight`
# (`3d × d`) and has no inner width of its own: its embedding size *is* the hidden size, and it must
# stay a multiple of the heads. What Torch-Pruning does when told nothing is shown in
# 14 · Torch-Pruning pitfalls, section "A ViT told nothing about its heads". The argument that works
# is `out_channel_groups={attention: attention.num_heads}` for every `nn.MultiheadAttention`: the
# hidden size's group is then pruned per head, the same number of channels in each head's slice.
# After `step()` the ViT must also be told its new width, `model.hidden_dim`, which its forward pass
# reads and the pruner leaves as it was (14 runs both fixes and the forward pass; exercise
# `13-vit-pruner` checks yours): the patch embedding's channels,
# `model.conv_proj.out_channels` (the second fix of `helpers.pruning.after_pruning`). `ParameterModel`
# takes the same argument; ViT-B/16 at `p = 0.1`:

# %%
# NBVAL_CHECK_OUTPUT
vit, image, vit_ignored = zoo.build("vit_b_16", device=device)
vit_groups = {mod: mod.num_heads for mod in vit.modules() if isinstance(mod, nn.MultiheadAttention)}
vit_predictor = ParameterModel(vit, image, vit_ignored, out_channel_groups=vit_groups)
vit_heads, head_width = vit.encoder.layers[0].num_heads, vit.hidden_dim // vit.encoder.layers[0].num_heads
vit_01 = vit_predictor.reduction(0.1)
print(f"ViT-B/16: {vit_heads} heads of {head_width}; each keeps int({head_width} x 0.9) = {int(head_width * 0.9)}, "
      f"the hidden size {vit.hidden_dim} -> {vit_heads * int(head_width * 0.9)}")
print(f"p = 0.1: {vit_predictor.params_before:,} -> {vit_predictor.params(0.1):,} parameters predicted; removed "
      f"{vit_01:.4f}, rule {theory.param_reduction(0.1):.2f}")
assert vit_01 > theory.param_reduction(0.1) and 1 - int(head_width * 0.9) / head_width > 0.1
assert {r["role"]: r for r in vit_predictor.breakdown()}["weights between pruned layers"]["share"] > 0.95
Markdown(format_table(vit_predictor.breakdown(), [("role", "role", "", "left"), ("power", "d", "d"),
                                                  ("params", "params", ",d"), ("share", "share", ".2%")]))

# %% [markdown]
# Per head, whole channels: more than a tenth of each head's channels go at `p = 0.1`, and ViT-B/16,
# with almost all of its parameters between pruned widths (the `k²` row), removes a little *more*
# than the rule. Exercise `13-vit-pruner` asks you to write the pruner. Global pruning of a ViT has
# a trap of its own: 14 · Torch-Pruning pitfalls, section "Global pruning that grows the model
# (#417)".

# %% [markdown]
# ## Exercises
#
# Each exercise is checked by `helpers.checks.check`: replace the `raise NotImplementedError` with
# your code and run the cell.

# %% [markdown]
# ### Exercise `13-decoder-params`: a decoder's count from its configuration
#
# Write `decoder_params(cfg, p)`: the parameters of a `helpers.zoo.Decoder` built from the
# `DecoderConfig` `cfg` (`cfg.vocab_size`, `cfg.hidden_size`, `cfg.intermediate_size`,
# `cfg.num_layers`; no biases, embedding and LM head untied) with every width pruned at channel ratio
# `p` and the LM head ignored, summed from the tensor table of the first section (`k = 1-p`). The
# check prunes decoders of two shapes with Torch-Pruning, at ratios where every width divides
# exactly, and compares the counts.

# %%
# NBVAL_CHECK_OUTPUT
def decoder_params(cfg, p):
    raise NotImplementedError  # your code here


passed = helpers.checks.check("13-decoder-params", decoder_params)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("13-decoder-params")

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
# ### Exercise `13-vit-pruner`: prune a ViT with its heads named
#
# Write `prune_vit(model, example_inputs, ratio)`: prune a torchvision `VisionTransformer` in place
# with Torch-Pruning's `BasePruner` (group L2 magnitude importance, `pruning_ratio=ratio`, its
# classifier `model.heads.head` ignored), every `nn.MultiheadAttention` named so that the hidden size
# is pruned per head, then set the width the model reads at run time, and return the model. The check
# prunes a fresh ViT of 4 heads at two ratios, runs it, and compares its widths and parameter count
# with Torch-Pruning's result of the reference call.

# %%
# NBVAL_CHECK_OUTPUT
def prune_vit(model, example_inputs, ratio):
    raise NotImplementedError  # your code here


passed = helpers.checks.check("13-vit-pruner", prune_vit)

# %%
# Reference solution, once you have tried:
# helpers.checks.reveal("13-vit-pruner")

# %% [markdown]
# ## Summary
#
# - In a transformer every attention and MLP weight sits between two pruned widths and keeps `k²`;
#   the token embedding, the LM head (or a ViT's head and patch embedding) and the norms keep `k`:
#   `params(k) = A k² + B k`, as `ParameterModel` reads it from the dependency graph.
# - Torch-Pruning's LLM recipe prunes whole heads (`num_heads`, `prune_num_heads=True`,
#   `head_pruning_ratio=p`: `⌈p·h⌉` of `h`), keeps every head's dimensions (`prune_head_dims=False`)
#   and rounds the other widths (`round_to=4`); it removes more than every width pruned by `p` where
#   `p·h` is not whole and `⌈p·h⌉ < h`, the same where `p·h` is whole, and less where `⌈p·h⌉ = h` (no
#   head can go: `p = 0.9` above). `ParameterModel` predicts it to the parameter.
# - Pruning head dimensions instead (Torch-Pruning's default) removes the same parameters from another
#   model; under rotary position embeddings the kept dimensions are rotated with other partners at
#   other angles and the attention scores move, which is why the recipe keeps them.
# - The vocabulary decides how far below the rule a decoder lands: a narrow model with a 32,000-token
#   vocabulary carries most of its parameters in `B`; a wide one much less. The LM head, ignored, keeps
#   the vocabulary.
# - Grouped-query attention (Torch-Pruning removes query heads per key-value head, or leaves a model
#   that cannot run when head dimensions go too) and tied embeddings (Torch-Pruning unties them, and a
#   small ratio can leave more parameters than before) are refused by the predictor.
# - A ViT's `nn.MultiheadAttention` is named with `out_channel_groups` (its hidden size pruned per
#   head), and its `hidden_dim` is set after pruning; the traps of a ViT told nothing and of global
#   pruning are in notebook 14.

# %% [markdown]
# ## Questions
#
# 1. A 7B LLaMA (d = 4096, 32 layers, V = 32,000) and a 125M model with the same vocabulary are pruned
#    at `p = 0.5`. Which is closer to 75%, and why?
#
# <details><summary>Answer</summary>
#
# The 7B: its blocks grow as `d²`, its embedding and LM head only as `d`, so the `k` share shrinks as
# the model widens. A small model with a large vocabulary holds a large part of its parameters in the
# embedding and LM head, which lose only `p`.
#
# </details>
#
# 2. Removing half the heads and removing half of every head's dimensions remove the same parameters.
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
# 3. Pruning a grouped-query attention with the recipe, Torch-Pruning removes query heads but keeps the
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
#   written out above) and the head arguments of `BasePruner`; its
#   [issue #101](https://github.com/VainF/Torch-Pruning/issues/101), "How to prune for vit model": the
#   attributes to set after pruning a ViT.
# - Su et al., "RoFormer: Enhanced Transformer with Rotary Position Embedding", 2021,
#   [arXiv:2104.09864](https://arxiv.org/abs/2104.09864): the rotary position embedding.
# - Ainslie et al., "GQA: Training Generalized Multi-Query Transformer Models from Multi-Head
#   Checkpoints", EMNLP 2023, [arXiv:2305.13245](https://arxiv.org/abs/2305.13245): grouped-query attention.
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
# Next: **14 · Torch-Pruning pitfalls**.
