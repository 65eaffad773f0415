"""Exercises of notebook 13 (Beyond CNNs: transformers), registered with ``helpers.checks``.

Each reference solution below is what ``helpers.checks.reveal(name)`` prints.
"""
import math
import warnings

import torch

from ..zoo import Decoder, DecoderConfig
from . import Wrong, as_number, call, exercise, expect_equal

NOTEBOOK = "13_beyond_cnns_transformers"


# ---- a decoder's count from its configuration --------------------------------------------------------
# (configuration, p): every width divides exactly at these ratios, so Torch-Pruning's count is the law's
_DECODER_CASES = (
    (DecoderConfig(vocab_size=500, hidden_size=64, intermediate_size=160, num_layers=2, num_heads=4), 0.0),
    (DecoderConfig(vocab_size=500, hidden_size=64, intermediate_size=160, num_layers=2, num_heads=4), 0.25),
    (DecoderConfig(vocab_size=500, hidden_size=64, intermediate_size=160, num_layers=2, num_heads=4), 0.5),
    (DecoderConfig(vocab_size=3000, hidden_size=32, intermediate_size=96, num_layers=1, num_heads=2), 0.5),
)


def _pruned_decoder_params(cfg: DecoderConfig, p: float) -> int:
    """Torch-Pruning's own count: a fresh decoder, every width pruned at p, the LM head ignored."""
    import torch_pruning as tp

    from ..counting import n_params
    from ..pruning import find_heads

    torch.manual_seed(0)
    model = Decoder(cfg).eval()
    if p:
        with warnings.catch_warnings():  # the RMSNorm weights, pruned along their one dimension as they should
            warnings.filterwarnings("ignore", message=".*[Uu]nwrapped parameters.*")
            tp.pruner.BasePruner(model, torch.randint(0, cfg.vocab_size, (1, 8)),
                                 importance=tp.importance.GroupMagnitudeImportance(p=2), pruning_ratio=p,
                                 ignored_layers=[model.lm_head], num_heads=find_heads(model)).step()
    return n_params(model)


def _full(cfg: DecoderConfig) -> int:
    """The unpruned count."""
    d, m, v, n = cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size, cfg.num_layers
    return n * (4 * d * d + 3 * d * m) + 2 * v * d + (2 * n + 1) * d


def _decoder_hints(cfg: DecoderConfig, p: float) -> dict[int, str]:
    """The count each typical slip gives, and what to say about it."""
    d, m, v, n, k = cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size, cfg.num_layers, 1 - p
    full = _full(cfg)
    return {
        round(full * k * k): "that is the rule, everything times k^2: the embedding, the LM head and the norms lose "
                             "their hidden side only (k)",
        round(n * (4 * d * d + 3 * d * m) * k * k + 2 * v * d * k): "add the RMSNorms: two per block and a final one, "
                                                                    "d weights each",
        round(n * (4 * d * d + 2 * d * m) * k * k + (2 * v * d + (2 * n + 1) * d) * k): "a SwiGLU MLP has three "
                                                                                       "matrices (gate, up, down)",
        round(n * (4 * d * d + 3 * d * m) * k * k + (v * d + (2 * n + 1) * d) * k): "the embedding and the LM head are "
                                                                                   "two V x d matrices (not tied)",
    }


def _check_decoder_params(fn):
    for cfg, p in _DECODER_CASES:
        label = (f"decoder_params(DecoderConfig(vocab_size={cfg.vocab_size}, hidden_size={cfg.hidden_size}, "
                 f"intermediate_size={cfg.intermediate_size}, num_layers={cfg.num_layers}), {p})")
        value = as_number(call(fn, "decoder_params", cfg, p, label=label), label)
        expected = _pruned_decoder_params(cfg, p)
        if abs(value - expected) < 0.5:
            continue
        hint = _decoder_hints(cfg, p).get(round(value))
        raise Wrong(f"{label} = {value:,.0f}, but Torch-Pruning leaves {expected:,} parameters"
                    + (f": {hint}" if hint else ": sum the table's tensors, each times k^2 or k"))


@exercise("13-decoder-params", NOTEBOOK,
          "Write decoder_params(cfg, p) returning the parameters of a helpers.zoo.Decoder built from the "
          "DecoderConfig cfg (vocab_size, hidden_size, intermediate_size, num_layers; no biases, untied) with every "
          "width pruned at channel ratio p and the LM head ignored, from the tensor table: each tensor keeps k^2 "
          "or k of itself (k = 1-p). The check prunes decoders with Torch-Pruning and compares the counts.",
          _check_decoder_params,
          # the typical mistake: the rule, every tensor keeping k^2
          wrong_example=lambda: (lambda cfg, p: _full(cfg) * (1 - p) ** 2))
def decoder_params_solution():
    def decoder_params(cfg, p):
        d, m, v, n = cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size, cfg.num_layers
        k = 1 - p
        a = n * (4 * d * d + 3 * d * m)  # Q, K, V, O (d x d) and gate, up, down (d x m): both sides pruned
        b = 2 * v * d + (2 * n + 1) * d  # embedding and LM head (V x d), 2n + 1 RMSNorms (d): one side
        return a * k * k + b * k
    return decoder_params


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


# ---- a ViT's heads named ------------------------------------------------------------------------------
def _small_vit():
    """A small torchvision ViT (4 heads of 16 dimensions, 2 blocks), random weights, and an image."""
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=4,
                                                 hidden_dim=64, mlp_dim=128, num_classes=10).eval()
    return model, torch.randn(1, 3, 32, 32)


def _vit_reference(ratio: float) -> tuple[int, int, int]:
    """Torch-Pruning's own result of the reference call on a fresh small ViT: parameters, hidden size and
    the first block's MLP width."""
    from ..counting import n_params

    model, image = _small_vit()
    vit_pruner_solution()(model, image, ratio)
    return n_params(model), model.conv_proj.out_channels, model.encoder.layers[0].mlp[0].out_features


_VIT_RATIOS = (0.1, 0.4)  # the hidden size 64 pruned as plain channels is then 57 and 38: not 4 heads' worth


def _check_vit_pruner(fn):
    from ..counting import n_params

    for ratio in _VIT_RATIOS:
        model, image = _small_vit()
        label = f"prune_vit(model, example_inputs, {ratio})"
        pruned = call(fn, "prune_vit", model, image, ratio, label=label)
        if not isinstance(pruned, torch.nn.Module):
            raise Wrong(f"prune_vit should return the pruned model, got {type(pruned).__name__}")
        width = pruned.conv_proj.out_channels
        if width == 64:
            raise Wrong(f"at ratio {ratio} the hidden size is still 64: the attention's embedding size is the hidden "
                        "size; prune it per head with out_channel_groups={attention: attention.num_heads} (named in "
                        "num_heads, nn.MultiheadAttention keeps it whole)")
        if width % 4:
            raise Wrong(f"at ratio {ratio} the hidden size is {width}, not a multiple of the 4 heads: "
                        "nn.MultiheadAttention cannot split it; tell Torch-Pruning the heads with "
                        "out_channel_groups={attention: attention.num_heads} for every nn.MultiheadAttention")
        if pruned.hidden_dim != width:
            raise Wrong(f"the ViT's hidden_dim still reads {pruned.hidden_dim}, its patch embedding gives {width} "
                        "channels: after pruning set model.hidden_dim = model.conv_proj.out_channels (the forward "
                        "pass reshapes with it)")
        try:
            with torch.no_grad():
                out = pruned(image)
        except Exception as err:
            raise Wrong(f"the pruned ViT cannot run ({type(err).__name__}: {err})") from None
        if out.shape[-1] != 10:
            raise Wrong(f"the pruned ViT predicts {out.shape[-1]} classes instead of 10: put its classifier, "
                        "model.heads.head, in ignored_layers")
        params, hidden, mlp = _vit_reference(ratio)
        if width != hidden:
            raise Wrong(f"at ratio {ratio} the hidden size is {width}; pruned per head (4 heads of 16, each keeping "
                        f"int(16 x {1 - ratio:g}) channels) it is {hidden}: name the heads with out_channel_groups "
                        "rather than rounding the widths")
        if pruned.encoder.layers[0].mlp[0].out_features != mlp:
            raise Wrong(f"the MLP is {pruned.encoder.layers[0].mlp[0].out_features} wide, not {mlp}: prune it at the "
                        "ratio as it is (no round_to)")
        expect_equal(n_params(pruned), params, f"parameters after {label} (Torch-Pruning, heads named with "
                                               "out_channel_groups)")


def _vit_told_nothing(model, example_inputs, ratio):
    """The typical mistake: no head arguments; the ViT's hidden_dim set after pruning."""
    import torch_pruning as tp

    tp.pruner.BasePruner(model, example_inputs, importance=tp.importance.GroupMagnitudeImportance(p=2),
                         pruning_ratio=ratio, ignored_layers=[model.heads.head]).step()
    model.hidden_dim = model.conv_proj.out_channels
    return model


@exercise("13-vit-pruner", NOTEBOOK,
          "Write prune_vit(model, example_inputs, ratio): prune a torchvision VisionTransformer in place with "
          "Torch-Pruning's BasePruner (group L2 magnitude importance, pruning_ratio=ratio, the classifier "
          "model.heads.head ignored), its nn.MultiheadAttention heads named so that the hidden size is pruned per "
          "head, then set what the model reads at run time, and return it. The check prunes a fresh 4-head ViT and "
          "compares the parameter count with Torch-Pruning's result of the same call, and runs it.",
          _check_vit_pruner, wrong_example=lambda: _vit_told_nothing)
def vit_pruner_solution():
    import torch_pruning as tp
    from torch import nn

    def prune_vit(model, example_inputs, ratio):
        # each attention's heads: its embedding size (the hidden size) is pruned by the same number per head
        heads = {m: m.num_heads for m in model.modules() if isinstance(m, nn.MultiheadAttention)}
        pruner = tp.pruner.BasePruner(model, example_inputs, importance=tp.importance.GroupMagnitudeImportance(p=2),
                                      pruning_ratio=ratio, ignored_layers=[model.heads.head],
                                      out_channel_groups=heads)
        pruner.step()
        model.hidden_dim = model.conv_proj.out_channels  # the forward pass reshapes the patches with it
        return model
    return prune_vit
