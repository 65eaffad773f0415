"""Real torchvision CNNs across families, and transformers, built without pretrained weights.

Parameter counts do not depend on the weights' values, so ``weights=None`` gives the same counts
as the pretrained models without downloading anything. ``names()`` lists the CNNs (the course's
tables and zoo-wide checks); ``names("transformer")`` the transformers: torchvision's ViT-B/16 and
two LLaMA-style decoders (``Decoder``, below) of one family at two sizes, the same 32,000-token
vocabulary on a narrow and a wide hidden size.

``Decoder`` is a LLaMA-style decoder written out in plain PyTorch, built from a configuration (no download).

The layers a LLaMA checkpoint holds, with the same names (``embed_tokens``, ``q_proj`` ... ``o_proj``,
``gate_proj``/``up_proj``/``down_proj``, ``lm_head``): token embedding, then per block an RMSNorm,
causal multi-head self-attention with separate Q, K, V and output projections (no biases), an
RMSNorm and a SwiGLU MLP, each wrapped in a residual connection; a final RMSNorm and the LM head.

Two options of LLaMA-family checkpoints, off by default: grouped-query attention
(``num_key_value_heads`` below ``num_heads``: each key-value head serves several query heads) and tied
embeddings (``tie_word_embeddings``: ``lm_head.weight`` is ``embed_tokens.weight``). Left out: rotary
position embeddings. They hold no parameters, so the counts are a LLaMA's; without them a head's
dimensions can be pruned one by one, the alternative notebook 13 sets against whole heads (with them,
a pruned head's dimensions would be rotated with other partners at other frequencies).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
import torchvision.models as tvm
from torch import nn

from ._core import ARCHITECTURES, UnsupportedModel, check_positive_int

__all__ = ["names", "family", "build", "DECODERS", "TRANSFORMER", "INPUT_SHAPE", "TOKENS", "UnsupportedModel",
           "DecoderConfig", "Decoder"]

# name -> (family, function returning the final classifier layer of a built model)
_MODELS: dict[str, tuple[str, Callable[[nn.Module], nn.Module]]] = {
    "resnet18": ("ResNet", lambda m: m.fc),
    "resnet50": ("ResNet", lambda m: m.fc),
    "resnext50_32x4d": ("ResNeXt", lambda m: m.fc),
    "vgg16_bn": ("VGG-BN", lambda m: m.classifier[-1]),
    "mobilenet_v2": ("MobileNetV2", lambda m: m.classifier[-1]),
    "mobilenet_v3_small": ("MobileNetV3", lambda m: m.classifier[-1]),
    "mobilenet_v3_large": ("MobileNetV3", lambda m: m.classifier[-1]),
    "efficientnet_b0": ("EfficientNet", lambda m: m.classifier[-1]),
    "densenet121": ("DenseNet", lambda m: m.classifier),
    "convnext_tiny": ("ConvNeXt", lambda m: m.classifier[-1]),
    "regnet_x_400mf": ("RegNet", lambda m: m.fc),
    "regnet_y_400mf": ("RegNet", lambda m: m.fc),
    "squeezenet1_1": ("SqueezeNet", lambda m: m.classifier[1]),  # a 1x1 conv makes the 1000 classes
    "mnasnet1_0": ("MnasNet", lambda m: m.classifier[-1]),
}

# ---- a LLaMA-style decoder, written out -------------------------------------------------------------
@dataclass(frozen=True)
class DecoderConfig:
    vocab_size: int = 32000
    hidden_size: int = 256
    intermediate_size: int = 688
    num_layers: int = 2
    num_heads: int = 4
    norm_eps: float = 1e-6
    num_key_value_heads: int | None = None  # grouped-query attention where below num_heads (None: num_heads)
    tie_word_embeddings: bool = False  # lm_head.weight is embed_tokens.weight

    def __post_init__(self):
        for name in ("vocab_size", "hidden_size", "intermediate_size", "num_layers", "num_heads"):
            check_positive_int(getattr(self, name), name)
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size ({self.hidden_size}) must be a multiple of num_heads "
                             f"({self.num_heads}): each head gets hidden_size // num_heads dimensions")
        if self.num_key_value_heads is not None:
            check_positive_int(self.num_key_value_heads, "num_key_value_heads")
            if self.num_heads % self.num_key_value_heads:
                raise ValueError(f"num_heads ({self.num_heads}) must be a multiple of num_key_value_heads "
                                 f"({self.num_key_value_heads}): each key-value head serves as many query heads")

    @property
    def kv_heads(self) -> int:
        """The key-value heads: ``num_key_value_heads``, or ``num_heads`` where it is None."""
        return self.num_heads if self.num_key_value_heads is None else self.num_key_value_heads

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads


class RMSNorm(nn.Module):
    """x / rms(x) * weight, LLaMA's normalisation (one weight per hidden dimension, no bias)."""

    def __init__(self, size: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Attention(nn.Module):
    """Causal self-attention. ``num_heads`` is read at every call: after Torch-Pruning removes heads
    it must be set to the heads left (``helpers.pruning.after_pruning`` does it); the head
    dimension follows from the projections' width, and so does the number of key-value heads
    (``num_key_value_heads``, below ``num_heads`` for grouped-query attention, is what
    ``helpers.pruning.find_heads`` tells Torch-Pruning)."""

    def __init__(self, hidden_size: int, num_heads: int, num_key_value_heads: int | None = None):
        super().__init__()
        self.num_heads = num_heads
        self.num_key_value_heads = num_key_value_heads or num_heads
        head_dim = hidden_size // num_heads
        inner = hidden_size  # num_heads * head_dim
        self.q_proj = nn.Linear(hidden_size, inner, bias=False)
        self.k_proj = nn.Linear(hidden_size, self.num_key_value_heads * head_dim, bias=False)
        self.v_proj = nn.Linear(hidden_size, self.num_key_value_heads * head_dim, bias=False)
        self.o_proj = nn.Linear(inner, hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.num_heads, -1).transpose(1, 2)  # (b, h, t, head_dim)
        head_dim = q.shape[-1]
        k = self.k_proj(x).view(b, t, -1, head_dim).transpose(1, 2)  # (b, key-value heads, t, head_dim)
        v = self.v_proj(x).view(b, t, -1, head_dim).transpose(1, 2)
        if k.shape[1] != self.num_heads:  # grouped-query attention: each key-value head serves several
            k, v = _repeat_kv(k, self.num_heads // k.shape[1]), _repeat_kv(v, self.num_heads // v.shape[1])
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        scores = (q @ k.transpose(-2, -1)) / head_dim ** 0.5
        weights = scores.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(b, t, -1)
        return self.o_proj(out)


def _repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """(b, kv, t, d) -> (b, kv * n_rep, t, d), each key-value head repeated for its query heads, as
    Hugging Face's LLaMA does it (a 5-d expand, which Torch-Pruning's graph maps head by head)."""
    b, kv, t, d = x.shape
    return x[:, :, None, :, :].expand(b, kv, n_rep, t, d).reshape(b, kv * n_rep, t, d)


class MLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) * up(x))."""

    def __init__(self, hidden_size: int, intermediate_size: int):
        super().__init__()
        self.gate_proj = nn.Linear(hidden_size, intermediate_size, bias=False)
        self.up_proj = nn.Linear(hidden_size, intermediate_size, bias=False)
        self.down_proj = nn.Linear(intermediate_size, hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, config: DecoderConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(config.hidden_size, config.norm_eps)
        self.self_attn = Attention(config.hidden_size, config.num_heads, config.kv_heads)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.norm_eps)
        self.mlp = MLP(config.hidden_size, config.intermediate_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.input_layernorm(x))
        return x + self.mlp(self.post_attention_layernorm(x))


class Decoder(nn.Module):
    """Token ids (batch, tokens) in, next-token logits (batch, tokens, vocab_size) out."""

    def __init__(self, config: DecoderConfig):
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(Block(config) for _ in range(config.num_layers))
        self.norm = RMSNorm(config.hidden_size, config.norm_eps)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        if config.tie_word_embeddings:  # one tensor, read by the embedding and the LM head
            self.lm_head.weight = self.embed_tokens.weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x)
        return self.lm_head(self.norm(x))


# name -> configuration of a LLaMA-style decoder (``Decoder``), family "transformer"
DECODERS: dict[str, DecoderConfig] = {
    "llama_small": DecoderConfig(vocab_size=32000, hidden_size=256, intermediate_size=688, num_layers=4,
                                 num_heads=4),
    "llama_large": DecoderConfig(vocab_size=32000, hidden_size=1024, intermediate_size=2816, num_layers=8,
                                 num_heads=16),
}
_TRANSFORMERS = ("vit_b_16", *DECODERS)
TRANSFORMER = "transformer"
KINDS = ("cnn", TRANSFORMER, "all")

INPUT_SHAPE = (1, 3, 224, 224)
TOKENS = 16  # example sequence length of the decoders' inputs


def names(kind: str = "cnn") -> list[str]:
    """Names of the zoo's models, in a fixed order: the CNNs (``kind="cnn"``), the transformers
    (``"transformer"``) or both (``"all"``)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, got {kind!r}")
    return {"cnn": list(_MODELS), TRANSFORMER: list(_TRANSFORMERS), "all": [*_MODELS, *_TRANSFORMERS]}[kind]


def family(name: str) -> str:
    """The architecture family of a zoo model, e.g. "ResNet" (every transformer: "transformer")."""
    _check_name(name)
    return TRANSFORMER if name in _TRANSFORMERS else _MODELS[name][0]


def _check_name(name: str) -> None:
    if name in ARCHITECTURES:  # architectures Torch-Pruning cannot prune (helpers._core.CONSTRUCTS)
        raise UnsupportedModel(f"{name} cannot be pruned with Torch-Pruning: {ARCHITECTURES[name]}. "
                         f"Pick one of: {', '.join(names())}")
    if name not in _MODELS and name not in _TRANSFORMERS:
        raise ValueError(f"unknown model {name!r}; pick one of: {', '.join(names('all'))}")


def build(name: str, device: torch.device | str = "cpu", num_classes: int = 1000,
          seed: int = 0) -> tuple[nn.Module, torch.Tensor, list[nn.Module]]:
    """Build a zoo model with random weights.

    Returns ``(model, example_inputs, ignored_layers)``: the model in eval mode on ``device``, one
    224x224 RGB image, and ``[classifier]`` (the layer whose outputs are the classes, which a pruner
    must not shrink). For a decoder: a sequence of ``TOKENS`` token ids and ``[lm_head]`` (its
    outputs are the vocabulary; ``num_classes`` does not apply).
    """
    _check_name(name)
    torch.manual_seed(seed)
    if name in DECODERS:
        model = Decoder(DECODERS[name]).eval().to(device)
        ids = torch.randint(0, DECODERS[name].vocab_size, (1, TOKENS), device=device)
        return model, ids, [model.lm_head]
    if name == "vit_b_16":
        model = tvm.vit_b_16(weights=None, num_classes=num_classes).eval().to(device)
        return model, torch.randn(*INPUT_SHAPE, device=device), [model.heads.head]
    model = getattr(tvm, name)(weights=None, num_classes=num_classes)
    model.eval().to(device)
    example_inputs = torch.randn(*INPUT_SHAPE, device=device)
    return model, example_inputs, [_MODELS[name][1](model)]
