"""Transformers: the LLaMA-style decoder, the heads Torch-Pruning is told about, and the predictor
against Torch-Pruning's own count on ViT and decoder configurations (hidden size, head dimensions,
whole heads, the MLP alone), with the model still running and keeping its output size."""
import math

import pytest
import torch
import torchvision
from torch import nn

from helpers import _core, pruning, sweep, zoo
from helpers.predict import ParameterModel, UnsupportedModel
from helpers.tooling import reproduce
from helpers.zoo import Decoder, DecoderConfig

TINY = DecoderConfig(vocab_size=500, hidden_size=64, intermediate_size=160, num_layers=2, num_heads=4)
RATIOS = (0.1, 0.3, 0.5, 0.77)


def _decoder(config=TINY):
    torch.manual_seed(0)
    model = Decoder(config).eval()
    return model, torch.randint(0, config.vocab_size, (1, 8)), [model.lm_head]


def _vit():
    torch.manual_seed(0)
    model = torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=4,
                                                 hidden_dim=64, mlp_dim=128, num_classes=10).eval()
    return model, torch.randn(1, 3, 32, 32), [model.heads]


def _qkv(model):
    return {(b.self_attn.q_proj, b.self_attn.k_proj, b.self_attn.v_proj) for b in model.layers}


def _assert_exact(built, p, ratio_dict=None, **kwargs):
    """Predicted == Torch-Pruning's count; the pruned copy runs and keeps its output size."""
    model, inputs, ignored = built
    ratio_dict = ratio_dict(model) if callable(ratio_dict) else ratio_dict
    predictor_kwargs = {k: v for k, v in kwargs.items() if k not in ("round_to", "iterative_steps")}
    predictor = ParameterModel(model, inputs, ignored, round_to=kwargs.get("round_to"),
                               iterative_steps=kwargs.get("iterative_steps", 1), **predictor_kwargs)
    result = pruning.prune_copy(model, inputs, p, ignored, pruning_ratio_dict=ratio_dict, count_macs=False, **kwargs)
    assert predictor.params(p, pruning_ratio_dict=ratio_dict) == result.params_after, (p, kwargs)
    with torch.no_grad():
        assert result.model(inputs).shape == model(inputs).shape
    return result


def test_decoder_config_and_shapes():
    model, ids, _ = _decoder()
    assert model(ids).shape == (1, 8, TINY.vocab_size)
    assert TINY.head_dim == 16
    with pytest.raises(ValueError, match="multiple of num_heads"):
        DecoderConfig(hidden_size=60, num_heads=8)
    with pytest.raises(ValueError, match="positive integer"):
        DecoderConfig(num_layers=0)
    # a LLaMA's parameters: 2 V d (embedding, head) + L (4 d^2 + 3 d m + 2 d) + d
    d, m, v, n = TINY.hidden_size, TINY.intermediate_size, TINY.vocab_size, TINY.num_layers
    assert sum(p.numel() for p in model.parameters()) == 2 * v * d + n * (4 * d * d + 3 * d * m + 2 * d) + d


def test_heads_are_found_and_passed_under_torch_prunings_names():
    model, _, _ = _decoder()
    heads = _core.find_heads(model)
    assert len(heads) == 3 * TINY.num_layers and set(heads.values()) == {TINY.num_heads}
    assert _core.pruner_kwargs(model)["num_heads"] == heads
    given = {model.layers[0].self_attn.q_proj: 2}
    assert _core.pruner_kwargs(model, {"num_heads": given})["num_heads"] is given  # the caller's win
    vit, _, _ = _vit()
    groups = _core.pruner_kwargs(vit)["out_channel_groups"]
    assert list(groups.values()) == [4, 4] and all(isinstance(m, nn.MultiheadAttention) for m in groups)
    assert _core.pruner_kwargs(nn.Sequential(nn.Linear(2, 2))) == {}


@pytest.mark.parametrize("p", RATIOS)
def test_decoder_hidden_size_is_exact(p):
    result = _assert_exact(_decoder(), p)
    attn = result.model.layers[0].self_attn
    assert attn.num_heads == TINY.num_heads and attn.q_proj.out_features % TINY.num_heads == 0


@pytest.mark.parametrize("p,h", [(0.25, 0.25), (0.25, 0.5), (0.5, 0.6), (0.3, 0.9)])
def test_decoder_heads_with_head_dims_are_exact(p, h):
    result = _assert_exact(_decoder(), p, prune_num_heads=True, head_pruning_ratio=h)
    removed = math.ceil(h * TINY.num_heads)
    # pruning every head would empty the group: Torch-Pruning leaves it whole
    left = TINY.num_heads - removed if removed < TINY.num_heads else TINY.num_heads
    assert result.model.layers[0].self_attn.num_heads == left


def test_heads_alone_dims_alone_and_mlp_alone_are_exact():
    built = _decoder()
    # whole heads only: a ratio for the attention groups alone, head dimensions kept
    heads = _assert_exact(built, 0.0, lambda m: {qkv: 0.5 for qkv in _qkv(m)}, prune_num_heads=True,
                          head_pruning_ratio=0.5, prune_head_dims=False)
    assert heads.model.layers[0].self_attn.num_heads == 2 and heads.model.embed_tokens.embedding_dim == 64
    dims = _assert_exact(built, 0.0, lambda m: {qkv: 0.5 for qkv in _qkv(m)})
    assert dims.model.layers[0].self_attn.q_proj.out_features == 32
    mlp = _assert_exact(built, 0.0, lambda m: {(b.mlp.gate_proj, b.mlp.up_proj): 0.5 for b in m.layers})
    assert mlp.model.layers[0].mlp.up_proj.out_features == 80 and mlp.model.embed_tokens.embedding_dim == 64


@pytest.mark.parametrize("kwargs", [dict(round_to=8), dict(iterative_steps=3),
                                    dict(round_to=8, prune_num_heads=True, head_pruning_ratio=0.5)])
def test_decoder_round_to_and_steps_are_exact(kwargs):
    _assert_exact(_decoder(), 0.3, **kwargs)


@pytest.mark.parametrize("p", RATIOS + (0.35,))
def test_vit_is_exact_and_keeps_whole_heads(p):
    result = _assert_exact(_vit(), p)
    mha = result.model.encoder.layers[0].self_attention
    assert mha.embed_dim % mha.num_heads == 0 and result.model.hidden_dim == mha.embed_dim


def test_split_of_the_decoder_names_embedding_and_head():
    model, ids, ignored = _decoder()
    rows = {(r["role"], r["power"]): r["params"] for r in ParameterModel(model, ids, ignored).breakdown()}
    d, v = TINY.hidden_size, TINY.vocab_size
    assert rows[("embedding", 1)] == v * d and rows[("classifier (outputs fixed)", 1)] == v * d
    assert rows[("normalisation", 1)] == (2 * TINY.num_layers + 1) * d


def test_what_the_predictor_refuses():
    model, ids, ignored = _decoder()
    with pytest.raises(UnsupportedModel, match="iterative steps"):
        ParameterModel(model, ids, ignored, iterative_steps=2, prune_num_heads=True, head_pruning_ratio=0.5)
    vit, image, vit_ignored = _vit()
    mha = vit.encoder.layers[0].self_attention
    with pytest.raises(UnsupportedModel, match="hidden size whole"):
        ParameterModel(vit, image, vit_ignored, num_heads={mha: 4})
    with pytest.raises(ValueError, match="head_pruning_ratio"):
        ParameterModel(model, ids, ignored, head_pruning_ratio=1.0)
    # key-value head sharing (grouped-query attention)
    for block in model.layers:
        block.self_attn.num_key_value_heads = 2
    with pytest.raises(UnsupportedModel, match="key-value head sharing"):
        ParameterModel(model, ids, ignored)
    odd = nn.MultiheadAttention(8, 2, kdim=4, vdim=4, batch_first=True)
    with pytest.raises(UnsupportedModel, match="kdim"):
        ParameterModel(odd, torch.randn(1, 3, 8), ())


def test_zoo_transformers_are_a_family_of_their_own():
    assert zoo.names("transformer") == ["vit_b_16", "llama_small", "llama_large"]
    assert not set(zoo.names()) & set(zoo.names("transformer"))
    assert zoo.names("all") == zoo.names() + zoo.names("transformer")
    assert {zoo.family(n) for n in zoo.names("transformer")} == {"transformer"}
    with pytest.raises(ValueError, match="kind must be one of"):
        zoo.names("rnn")
    small, large = zoo.DECODERS["llama_small"], zoo.DECODERS["llama_large"]
    assert small.vocab_size == large.vocab_size and small.hidden_size < large.hidden_size


# The small decoder pruned for real; ViT-B/16 and the large decoder (86M and 168M parameters, each
# ratio a copy) are pruned by `make reproduce`, whose committed rows tests/test_readme.py holds exact,
# and ViT-B/16 again by notebook 13 under nbval; the tiny ViTs and decoders above cover their layers.
@pytest.mark.slow
@pytest.mark.parametrize("name", ["llama_small"])
def test_zoo_transformers_are_exact(name):
    built = zoo.build(name)
    model, inputs, ignored = built
    predictor = ParameterModel(model, inputs, ignored)
    for p in (0.1, 0.3, 0.6):
        result = pruning.prune_copy(model, inputs, p, ignored, count_macs=False)
        assert predictor.params(p) == result.params_after, (name, p)
        with torch.no_grad():
            assert result.model(inputs).shape == model(inputs).shape
    if name in zoo.DECODERS:
        heads = {qkv: 0.5 for qkv in _qkv(model)}
        kwargs = dict(prune_num_heads=True, head_pruning_ratio=0.5, prune_head_dims=False)
        result = pruning.prune_copy(model, inputs, 0.0, ignored, pruning_ratio_dict=heads, count_macs=False, **kwargs)
        assert ParameterModel(model, inputs, ignored, **kwargs).params(0.0, pruning_ratio_dict=heads) == result.params_after


def test_heads_alone_arguments():
    model, _, _ = _decoder()
    kwargs = sweep.heads_alone(model, 0.5)
    assert kwargs["prune_num_heads"] and not kwargs["prune_head_dims"] and kwargs["head_pruning_ratio"] == 0.5
    assert set(kwargs["pruning_ratio_dict"]) == _qkv(model) and set(kwargs["pruning_ratio_dict"].values()) == {0.5}
    with pytest.raises(ValueError, match="q_proj"):
        sweep.heads_alone(nn.Sequential(nn.Linear(2, 2)), 0.5)
    with pytest.raises(ValueError, match="head ratio"):
        sweep.heads_alone(model, 1.5)


def test_transformer_sweep_rows_and_table():
    rows = sweep.transformer_sweep(["llama_small"], [0.5])
    assert [r["setting"] for r in rows] == ["every width", "heads alone"]
    for r in rows:
        assert r["params_after"] == r["predicted_params_after"] and r["output_kept"]
        assert r["output_shape"][-1] == zoo.DECODERS["llama_small"].vocab_size
    every, heads = rows
    assert heads["param_reduction"] < every["param_reduction"] < every["rule_reduction"]
    table = reproduce.transformer_table(rows, [0.5])
    assert "| llama_small | heads alone |" in table and table.count("| yes |") == 2
    broken = [{**r, "output_kept": False} for r in rows]
    assert "| NO |" in reproduce.transformer_table(broken, [0.5])
    with pytest.raises(ValueError, match="not a transformer"):
        sweep.transformer_sweep(["resnet18"], [0.5])
