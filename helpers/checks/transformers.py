"""Exercises of notebook 13 (Beyond CNNs: transformers), registered with ``helpers.checks``.

Each reference solution below is what ``helpers.checks.reveal(name)`` prints.
"""
import math

import torch

from ..zoo import DECODERS, Decoder, DecoderConfig
from . import Wrong, as_number, call, exercise, expect_close, expect_equal
from .theory import _as_fraction

NOTEBOOK = "13_beyond_cnns_transformers"


# ---- one decoder block by hand ------------------------------------------------------------------
_LARGE = DECODERS["llama_large"]


def _check_block_params(answer):
    d, m = _LARGE.hidden_size, _LARGE.intermediate_size
    expected = _block_params()
    value = as_number(answer, "your count")
    hints = {
        4 * d * d + 3 * d * m: "add the two RMSNorms: one weight per hidden dimension each",
        4 * d * d + 2 * d * m + 2 * d: "a SwiGLU MLP has three matrices (gate, up and down), not two",
        4 * d * d + 8 * d * d + 2 * d: "the MLP's width here is m = 2816, not 4d",
        3 * d * d + 3 * d * m + 2 * d: "the attention has four d x d projections: Q, K, V and the output O",
        4 * d * d + 3 * d * m + 4 * d: "RMSNorm has a weight but no bias: d parameters each",
    }
    if value in hints:
        raise Wrong(hints[value])
    if value != expected:
        raise Wrong(f"{answer!r} is not the count; add Q, K, V, O (d x d each), gate, up, down (d x m each) "
                    "and two norms (d each)")


@exercise("13-block-params", NOTEBOOK,
          "How many parameters does one llama_large block hold (d = 1024, m = 2816; Q, K, V, O d x d, a "
          "SwiGLU MLP, two RMSNorms, no biases)?",
          _check_block_params, wrong_example=lambda: 4 * 1024 * 1024 + 3 * 1024 * 2816)
def _block_params():
    d, m = 1024, 2816
    attention = 4 * d * d  # q_proj, k_proj, v_proj, o_proj
    mlp = 3 * d * m  # gate_proj, up_proj (d -> m), down_proj (m -> d)
    norms = 2 * d  # input_layernorm, post_attention_layernorm: one weight per hidden dimension
    return attention + mlp + norms


# ---- whole heads --------------------------------------------------------------------------------
def _check_heads_removed(answer):
    value = _as_fraction(answer, "your fraction")
    heads, ratio = 8, 0.3
    if abs(value - ratio) < 1e-6:
        raise Wrong("heads are whole: 0.3 x 8 = 2.4 heads cannot be removed; how does Torch-Pruning round?")
    if abs(value - math.floor(ratio * heads) / heads) < 1e-6:
        raise Wrong("Torch-Pruning rounds the number of heads removed up (math.ceil), not down")
    if abs(value - (1 - (1 - ratio) ** 2)) < 1e-6:
        raise Wrong("removing heads shrinks Q, K, V and O on one side only: no square here")
    expect_close(value, math.ceil(ratio * heads) / heads, 1e-6, "your fraction")


@exercise("13-heads-removed", NOTEBOOK,
          "With 8 heads and head_pruning_ratio=0.3 (prune_num_heads=True, prune_head_dims=False), what "
          "fraction of the heads does Torch-Pruning remove?",
          _check_heads_removed, wrong_example=lambda: 0.3)
def _heads_removed():
    heads, head_pruning_ratio = 8, 0.3
    return math.ceil(head_pruning_ratio * heads) / heads  # whole heads, rounded up


# ---- the small decoder from A and B -------------------------------------------------------------
_SMALL = DECODERS["llama_small"]


def _small_coefficients():
    d, m, v, n = _SMALL.hidden_size, _SMALL.intermediate_size, _SMALL.vocab_size, _SMALL.num_layers
    return n * (4 * d * d + 3 * d * m), 2 * v * d + (2 * n + 1) * d, 0


def _check_small_reduction(answer):
    value = _as_fraction(answer, "your predicted reduction")
    p = 0.35
    if abs(value - (1 - (1 - p) ** 2)) < 0.002:
        raise Wrong("that is the rule 1-(1-p)^2 alone; most of this model sits in B (embedding and LM head), "
                    "which keeps k, not k^2")
    if abs(value - p) < 0.002:
        raise Wrong("p alone would hold if every tensor kept k; the blocks' A part keeps k^2")
    expected = _small_decoder_reduction()
    if abs(value - expected) > 0.003:
        raise Wrong(f"{value:.4f} is more than 0.003 away; use 1 - (A k^2 + B k + C) / (A + B + C) with k = 1 - p")


@exercise("13-small-decoder-reduction", NOTEBOOK,
          "From llama_small's A, B, C, predict its parameter reduction at pruning_ratio=0.35 (every width).",
          _check_small_reduction, wrong_example=lambda: 1 - (1 - 0.35) ** 2)
def _small_decoder_reduction():
    a, b, c = 3_162_112, 16_386_304, 0  # as the notebook prints them (ParameterModel.coefficients())
    k = 1 - 0.35
    return 1 - (a * k * k + b * k + c) / (a + b + c)


# ---- Torch-Pruning's LLM recipe, written by the learner ---------------------------------------------
_RECIPE = DecoderConfig(vocab_size=500, hidden_size=64, intermediate_size=160, num_layers=2, num_heads=4)
_RECIPE_P = 0.35  # ceil(0.35 x 4) = 2 heads go; the hidden size int(64 x 0.65) = 41 rounds down to 40


def _recipe_decoder():
    torch.manual_seed(0)
    model = Decoder(_RECIPE).eval()
    return model, torch.randint(0, _RECIPE.vocab_size, (1, 8))


def _recipe_params() -> int:
    """What the recipe leaves, predicted exactly on a fresh decoder."""
    from ..predict import ParameterModel
    from ..pruning import find_heads

    model, ids = _recipe_decoder()
    return ParameterModel(model, ids, [model.lm_head], round_to=4, num_heads=find_heads(model),
                          prune_num_heads=True, prune_head_dims=False, head_pruning_ratio=_RECIPE_P).params(_RECIPE_P)


def _check_llm_pruner(fn):
    from ..counting import n_params
    from ..pruning import after_pruning

    model, ids = _recipe_decoder()
    heads, head_dim, vocab = _RECIPE.num_heads, _RECIPE.head_dim, _RECIPE.vocab_size
    pruner = call(fn, "build_pruner", model, ids, _RECIPE_P, label=f"build_pruner(model, example_inputs, {_RECIPE_P})")
    if not hasattr(pruner, "step"):
        raise Wrong(f"return the pruner (a tp.pruner.BasePruner), got {type(pruner).__name__}")
    named = getattr(pruner, "num_heads", None) or {}
    if any(getattr(block.self_attn, n) not in named for block in model.layers for n in ("q_proj", "k_proj", "v_proj")):
        raise Wrong("name every Q, K and V projection with its heads in num_heads (K and V: the attention's "
                    "num_key_value_heads): told nothing, Torch-Pruning prunes their outputs as plain channels")
    call(pruner.step, "pruner.step")
    after_pruning(model, pruner)  # each attention's num_heads from pruner.num_heads
    attn = model.layers[0].self_attn
    try:
        with torch.no_grad():
            logits = model(ids)
    except Exception as err:
        raise Wrong(f"the pruned decoder cannot run ({type(err).__name__}: {err}); its Q, K and V widths must stay "
                    "whole heads: name each projection with its heads in num_heads") from None
    if logits.shape[-1] != vocab:
        raise Wrong(f"the logits cover {logits.shape[-1]} tokens, not {vocab}: leave the LM head alone "
                    "(ignored_layers=[model.lm_head])")
    left, dims = attn.num_heads, attn.q_proj.out_features // attn.num_heads
    if dims != head_dim:
        raise Wrong(f"the heads have {dims} dimensions, not {head_dim}: the recipe keeps every head's dimensions "
                    "(prune_head_dims=False) and removes whole heads (prune_num_heads=True)")
    expected_left = heads - math.ceil(_RECIPE_P * heads)
    if left != expected_left:
        raise Wrong(f"{left} of {heads} heads are left, not {expected_left}: remove whole heads with "
                    "prune_num_heads=True and head_pruning_ratio=p")
    hidden = model.embed_tokens.embedding_dim
    if hidden % 4:
        raise Wrong(f"the hidden size is {hidden}, not a multiple of 4: the recipe rounds the widths (round_to=4)")
    expect_equal(n_params(model), _recipe_params(),
                 f"parameters after pruner.step() (p = {_RECIPE_P}, whole heads, round_to=4, LM head ignored)")


def _head_dims_pruner(model, example_inputs, p):  # the typical mistake: Torch-Pruning's default, head dimensions
    import torch_pruning as tp

    from ..pruning import find_heads

    return tp.pruner.BasePruner(model, example_inputs, importance=tp.importance.GroupMagnitudeImportance(p=2),
                                pruning_ratio=p, ignored_layers=[model.lm_head], num_heads=find_heads(model),
                                round_to=4)


@exercise("13-llm-pruner", NOTEBOOK,
          "Write build_pruner(model, example_inputs, p) returning Torch-Pruning's BasePruner for a "
          "helpers.zoo.Decoder as its LLM example prunes a LLaMA: group L2 magnitude importance, pruning_ratio=p, "
          "the LM head ignored, each Q, K and V projection named in num_heads with its heads, whole heads removed "
          "at head_pruning_ratio=p with every head's dimensions kept, widths rounded to multiples of 4. The "
          "check prunes a fresh 4-head decoder at p = 0.35 and compares heads, head dimensions, widths and count.",
          _check_llm_pruner, wrong_example=lambda: _head_dims_pruner)
def llm_pruner_solution():
    import torch_pruning as tp

    def build_pruner(model, example_inputs, p):
        num_heads = {}  # each Q, K and V projection with its heads (K and V: the key-value heads)
        for block in model.layers:
            attn = block.self_attn
            num_heads.update({attn.q_proj: attn.num_heads, attn.k_proj: attn.num_key_value_heads,
                              attn.v_proj: attn.num_key_value_heads})
        return tp.pruner.BasePruner(model, example_inputs, importance=tp.importance.GroupMagnitudeImportance(p=2),
                                    pruning_ratio=p, ignored_layers=[model.lm_head], num_heads=num_heads,
                                    prune_num_heads=True, prune_head_dims=False, head_pruning_ratio=p, round_to=4)
    return build_pruner
