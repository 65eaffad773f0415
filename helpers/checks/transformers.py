"""Exercises of notebook 13 (Beyond CNNs: transformers), registered with ``helpers.checks``.

Each reference solution below is what ``helpers.checks.reveal(name)`` prints.
"""
import math

from ..zoo import DECODERS
from . import Wrong, as_number, exercise, expect_close
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
