"""Transformers: the LLaMA-style decoder, the heads Torch-Pruning is told about, and the predictor
against Torch-Pruning's own count on ViT and decoder configurations (hidden size, head dimensions,
whole heads, the MLP alone, Torch-Pruning's LLM recipe), with the model still running and keeping its
output size; what it refuses (heads not named, grouped-query attention, tied embeddings) and why."""
import copy
import math

import pytest
import torch
import torch_pruning as tp
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
    # the heads named as prune_copy names them for BasePruner
    predictor = ParameterModel(model, inputs, ignored, round_to=kwargs.get("round_to"),
                               iterative_steps=kwargs.get("iterative_steps", 1),
                               **pruning.pruner_kwargs(model, predictor_kwargs))
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
    predictor = ParameterModel(model, ids, ignored, num_heads=pruning.find_heads(model))
    rows = {(r["role"], r["power"]): r["params"] for r in predictor.breakdown()}
    d, v = TINY.hidden_size, TINY.vocab_size
    assert rows[("embedding", 1)] == v * d and rows[("classifier (outputs fixed)", 1)] == v * d
    assert rows[("normalisation", 1)] == (2 * TINY.num_layers + 1) * d


def test_what_the_predictor_refuses():
    model, ids, ignored = _decoder()
    heads = pruning.find_heads(model)
    with pytest.raises(UnsupportedModel, match="iterative steps"):
        ParameterModel(model, ids, ignored, iterative_steps=2, num_heads=heads, prune_num_heads=True,
                       head_pruning_ratio=0.5)
    vit, image, vit_ignored = _vit()
    mha = vit.encoder.layers[0].self_attention
    with pytest.raises(UnsupportedModel, match="hidden size whole"):
        ParameterModel(vit, image, vit_ignored, num_heads={mha: 4})
    with pytest.raises(ValueError, match="head_pruning_ratio"):
        ParameterModel(model, ids, ignored, num_heads=heads, head_pruning_ratio=1.0)
    odd = nn.MultiheadAttention(8, 2, kdim=4, vdim=4, batch_first=True)
    with pytest.raises(UnsupportedModel, match="kdim"):
        ParameterModel(odd, torch.randn(1, 3, 8), (), out_channel_groups={odd: 2})


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
    predictor = ParameterModel(model, inputs, ignored, **pruning.pruner_kwargs(model))
    for p in (0.1, 0.3, 0.6):
        result = pruning.prune_copy(model, inputs, p, ignored, count_macs=False)
        assert predictor.params(p) == result.params_after, (name, p)
        with torch.no_grad():
            assert result.model(inputs).shape == model(inputs).shape
    if name in zoo.DECODERS:
        heads = {qkv: 0.5 for qkv in _qkv(model)}
        kwargs = dict(prune_num_heads=True, head_pruning_ratio=0.5, prune_head_dims=False)
        result = pruning.prune_copy(model, inputs, 0.0, ignored, pruning_ratio_dict=heads, count_macs=False, **kwargs)
        predictor = ParameterModel(model, inputs, ignored, **pruning.pruner_kwargs(model, kwargs))
        assert predictor.params(0.0, pruning_ratio_dict=heads) == result.params_after


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


# ---- the arguments as given: nothing added ---------------------------------------------------------
@pytest.mark.filterwarnings("ignore:Unwrapped parameters")
def test_raw_arguments_without_heads_are_refused_with_what_to_pass():
    for model, inputs, ignored in (_vit(), _decoder()):
        pruned = copy.deepcopy(model)
        names = {id(m): n for n, m in model.named_modules()}
        tp.pruner.BasePruner(pruned, inputs, importance=tp.importance.GroupMagnitudeImportance(p=2),
                             pruning_ratio=0.1, ignored_layers=[pruned.get_submodule(names[id(m)]) for m in ignored]
                             ).step()
        pruning.after_pruning(pruned)
        # told nothing, Torch-Pruning prunes the heads' width as plain channels: 64 -> 57, not a multiple
        # of 4 heads, and the pruned model cannot run
        widths = [m.embed_dim for m in pruned.modules() if isinstance(m, nn.MultiheadAttention)] + \
                 [m.q_proj.out_features for m in _core.qkv_attentions(pruned)]
        assert widths and all(w == 57 for w in widths)
        with pytest.raises((RuntimeError, AssertionError)), torch.no_grad():
            pruned(inputs)
        # the same arguments to ParameterModel: refused, saying what to pass
        with pytest.raises(UnsupportedModel, match=r"heads.*pruner_kwargs\(model\)"):
            ParameterModel(model, inputs, ignored)
        # the heads named (as pruner_kwargs names them, for BasePruner and ParameterModel alike): exact
        _assert_exact((model, inputs, ignored), 0.1)
    vit, image, ignored = _vit()
    mha = vit.encoder.layers[0].self_attention
    with pytest.raises(UnsupportedModel, match="out_channel_groups does not name it"):
        ParameterModel(vit, image, ignored, out_channel_groups={mha: 4})  # the second attention missing
    with pytest.raises(UnsupportedModel, match="not a multiple"):
        ParameterModel(vit, image, ignored, out_channel_groups={m: 2 for m in pruning.pruner_kwargs(vit)["out_channel_groups"]})
    model, ids, ignored = _decoder()
    attn = model.layers[1].self_attn
    with pytest.raises(UnsupportedModel, match=r"layers\.1\.self_attn .* does not name its v_proj"):
        ParameterModel(model, ids, ignored, num_heads={k: v for k, v in pruning.find_heads(model).items()
                                                       if k is not attn.v_proj})


# ---- Torch-Pruning's LLM recipe: whole heads, head dimensions kept, round_to ----------------------------
@pytest.mark.parametrize("p,round_to", [(0.1, 4), (0.3, 4), (0.5, 4), (0.6, 8), (0.3, None)])
def test_llm_recipe_is_exact_and_keeps_head_dimensions(p, round_to):
    # examples/LLMs/prune_llm.py: pruning_ratio = head_pruning_ratio = p, num_heads, round_to=4
    result = _assert_exact(_decoder(), p, round_to=round_to, prune_num_heads=True, prune_head_dims=False,
                           head_pruning_ratio=p)
    attn = result.model.layers[0].self_attn
    assert attn.num_heads == TINY.num_heads - math.ceil(p * TINY.num_heads)
    assert attn.q_proj.out_features // attn.num_heads == TINY.head_dim  # every head keeps its dimension
    hidden = result.model.embed_tokens.embedding_dim
    assert hidden < TINY.hidden_size and (round_to is None or hidden % round_to == 0)


# ---- grouped-query attention and tied embeddings ---------------------------------------------------------
GQA = DecoderConfig(vocab_size=500, hidden_size=64, intermediate_size=160, num_layers=2, num_heads=8,
                    num_key_value_heads=2)


@pytest.mark.filterwarnings("ignore:Unwrapped parameters")
def test_grouped_query_attention_runs_and_is_refused_with_the_reason():
    model, ids, ignored = _decoder(GQA)
    attn = model.layers[0].self_attn
    assert (attn.k_proj.out_features, attn.q_proj.out_features) == (16, 64) and model(ids).shape == (1, 8, 500)
    assert pruning.find_heads(model)[attn.k_proj] == 2
    # what Torch-Pruning does with the LLM recipe: query heads go in equal numbers per key-value head
    # (ceil(ceil(0.25 * 8) / 2) = 1 each), the key and value projections stay whole
    pruned = copy.deepcopy(model)
    pruner = tp.pruner.BasePruner(pruned, ids, importance=tp.importance.GroupMagnitudeImportance(p=2),
                                  pruning_ratio=0.25, ignored_layers=[pruned.lm_head],
                                  num_heads=pruning.find_heads(pruned), prune_num_heads=True, prune_head_dims=False,
                                  head_pruning_ratio=0.25, round_to=4)
    pruner.step()
    pruning.after_pruning(pruned, pruner)
    after = pruned.layers[0].self_attn
    assert (after.num_heads, after.q_proj.out_features, after.k_proj.out_features) == (6, 48, 16)
    assert pruned(ids).shape == (1, 8, 500)
    with pytest.raises(UnsupportedModel, match=r"layers\.0\.self_attn\.q_proj .*2 key-value heads for 8 query "
                                               r"heads: grouped-query attention.*prune a copy and count it"):
        ParameterModel(model, ids, ignored, round_to=4, num_heads=pruning.find_heads(model), prune_num_heads=True,
                       prune_head_dims=False, head_pruning_ratio=0.25)
    with pytest.raises(ValueError, match="multiple of num_key_value_heads"):
        DecoderConfig(num_heads=4, num_key_value_heads=3)


def test_tied_embeddings_are_refused_and_untied_predicted_exactly():
    tied_config = DecoderConfig(vocab_size=500, hidden_size=64, intermediate_size=160, num_layers=2, num_heads=4,
                                tie_word_embeddings=True)
    model, ids, ignored = _decoder(tied_config)
    assert model.lm_head.weight is model.embed_tokens.weight
    before = sum(p.numel() for p in model.parameters())
    with pytest.raises(UnsupportedModel, match=r"lm_head \(Linear\) shares its parameter weight with embed_tokens.weight "
                                               r"\(tied embeddings\).*untie them"):
        ParameterModel(model, ids, ignored, num_heads=pruning.find_heads(model))
    # what Torch-Pruning does: each owner's copy pruned on its own, the tie lost
    pruned = pruning.prune_copy(model, ids, 0.1, ignored, count_macs=False).model
    assert pruned.lm_head.weight is not pruned.embed_tokens.weight
    assert sum(p.numel() for p in pruned.parameters()) > before  # two copies of V x d' outgrow one of V x d
    # the way out the message names: untie, predict and prune, tie again
    model.lm_head.weight = nn.Parameter(model.embed_tokens.weight.detach().clone())
    result = _assert_exact((model, ids, ignored), 0.3)
    assert torch.equal(result.model.lm_head.weight, result.model.embed_tokens.weight)
    result.model.lm_head.weight = result.model.embed_tokens.weight
    assert sum(p.numel() for p in result.model.parameters()) == \
        result.params_after - result.model.embed_tokens.weight.numel()


def _recipe_with(**changes):
    """The LLM-recipe pruner of exercise 13-llm-pruner with some of its arguments changed."""
    def build_pruner(model, example_inputs, p):
        kwargs = dict(importance=tp.importance.GroupMagnitudeImportance(p=2), pruning_ratio=p,
                      ignored_layers=[model.lm_head], num_heads=pruning.find_heads(model), prune_num_heads=True,
                      prune_head_dims=False, head_pruning_ratio=p, round_to=4)
        kwargs.update(changes)
        if kwargs["ignored_layers"] is None:
            kwargs["ignored_layers"] = []
        return tp.pruner.BasePruner(model, example_inputs, **{k: v for k, v in kwargs.items() if v != "drop"})
    return build_pruner


@pytest.mark.filterwarnings("ignore:Unwrapped parameters")
@pytest.mark.parametrize("changes,hint", [
    (dict(prune_head_dims=True), "dimensions"),  # heads and their dimensions both cut
    (dict(prune_num_heads=False, prune_head_dims=True), "dimensions"),  # Torch-Pruning's default
    (dict(prune_num_heads=False), "heads are left"),  # neither: the attention keeps every head
    (dict(num_heads={}), "num_heads"),  # heads not named: plain channels
    (dict(round_to=None), "multiple of 4"),
    (dict(ignored_layers=None), "LM head"),
    (dict(head_pruning_ratio=0.6), "heads are left"),
])
def test_llm_pruner_exercise_rejects_each_mistake(changes, hint, capsys):
    from helpers import checks

    assert checks.check("13-llm-pruner", _recipe_with())  # the recipe itself passes
    assert not checks.check("13-llm-pruner", _recipe_with(**changes))
    assert hint in capsys.readouterr().out


def _vit_pruner_with(heads="out_channel_groups", set_hidden_dim=True):
    """The ViT pruner of exercise 13-vit-pruner with the heads passed as ``heads`` (None: not at all)."""
    def prune_vit(model, example_inputs, ratio):
        named = {m: m.num_heads for m in model.modules() if isinstance(m, nn.MultiheadAttention)}
        tp.pruner.BasePruner(model, example_inputs, importance=tp.importance.GroupMagnitudeImportance(p=2),
                             pruning_ratio=ratio, ignored_layers=[model.heads.head],
                             **({heads: named} if heads else {})).step()
        if set_hidden_dim:
            model.hidden_dim = model.conv_proj.out_channels
        return model
    return prune_vit


@pytest.mark.parametrize("changes,hint", [
    ({}, None),
    (dict(heads=None), "multiple of the 4 heads"),  # told nothing: the hidden size as plain channels
    (dict(heads="num_heads"), "still 64"),  # named in num_heads: the hidden size kept whole
    (dict(set_hidden_dim=False), "hidden_dim"),
])
def test_vit_pruner_exercise_rejects_each_mistake(changes, hint, capsys):
    from helpers import checks

    assert checks.check("13-vit-pruner", _vit_pruner_with(**changes)) == (hint is None)
    if hint:
        assert hint in capsys.readouterr().out


@pytest.mark.parametrize("slip,hint", [("norms", "RMSNorms"), ("mlp", "three matrices"), ("tied", "two V x d"),
                                       ("rule", "the rule")])
def test_decoder_params_exercise_names_each_slip(slip, hint, capsys):
    from helpers import checks

    def decoder_params(cfg, p):
        d, m, v, n, k = cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size, cfg.num_layers, 1 - p
        a = n * (4 * d * d + (2 if slip == "mlp" else 3) * d * m)
        b = (1 if slip == "tied" else 2) * v * d + (0 if slip == "norms" else (2 * n + 1) * d)
        return (a + b) * k * k if slip == "rule" else a * k * k + b * k

    assert not checks.check("13-decoder-params", decoder_params)
    assert hint in capsys.readouterr().out
