"""Exact or refused, on small synthetic models: each construct is checked against Torch-Pruning's own
count, and each construct the replay cannot follow must raise ``UnsupportedModel``."""
import numpy as np
import pytest
import torch
import torch_pruning as tp
import torchvision.models as tvm
from test_predict import assert_solves
from torch import nn

from helpers import pruning, zoo
from helpers.predict import ParameterModel, UnsupportedModel

RATIOS = [0.05, 0.3, 0.5, 0.55, 0.8, 0.97]
ROUND_TOS = [None, 3, 8]


def _image(channels=3, size=8):
    torch.manual_seed(0)
    return torch.randn(1, channels, size, size)


def _assert_exact(model, inputs, ignored=(), round_tos=ROUND_TOS, ratios=RATIOS, steps=(1,)):
    """The predictor equals Torch-Pruning's count of a pruned copy at every (round_to, steps, p)."""
    for round_to in round_tos:
        for n in steps:
            predictor = ParameterModel(model, inputs, ignored, round_to=round_to, iterative_steps=n)
            assert predictor.params(0) == sum(p.numel() for p in model.parameters())
            for p in ratios:
                result = pruning.prune_copy(model, inputs, p, ignored, round_to=round_to, iterative_steps=n,
                                            count_macs=False)
                assert predictor.params(p) == result.params_after, f"round_to={round_to} steps={n} p={p}"


class Concat(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 12, 3, padding=1), nn.Conv2d(3, 20, 1)
        self.bn = nn.BatchNorm2d(32)
        self.c = nn.Conv2d(32, 16, 3, padding=1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.bn(torch.cat([self.a(x), self.b(x)], dim=1))
        return self.fc(self.c(x).mean((2, 3)))


class Flatten(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 24, 3, stride=2, padding=1)  # 8x8 -> 4x4: 16 features per channel
        self.fc1, self.fc = nn.Linear(24 * 16, 40), nn.Linear(40, 10)

    def forward(self, x):
        return self.fc(torch.relu(self.fc1(torch.flatten(self.conv(x), 1))))


class Grouped(nn.Module):
    def __init__(self, norm=None):
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, padding=1)
        self.norm = norm or nn.BatchNorm2d(32)
        self.grouped = nn.Conv2d(32, 48, 3, padding=1, groups=4)
        self.depthwise = nn.Conv2d(48, 48, 3, padding=1, groups=48)
        self.act = nn.PReLU(48)
        self.point = nn.Conv2d(48, 24, 1)
        self.fc = nn.Linear(24, 10)

    def forward(self, x):
        x = self.act(self.depthwise(self.grouped(self.norm(self.stem(x)))))
        return self.fc(self.point(x).mean((2, 3)))


class LayerScale(nn.Module):
    """A residual block whose branch is scaled by its own per-channel parameter, as in ConvNeXt."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.conv = nn.Conv2d(16, 16, 3, padding=1)
        self.gamma = nn.Parameter(torch.full((16, 1, 1), 0.1))
        self.norm = nn.InstanceNorm2d(16, affine=True)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stem(x)
        x = self.norm(x + self.gamma * self.conv(x))
        return self.fc(x.mean((2, 3)))


class Stack(nn.Module):
    """conv -> conv -> conv -> linear, the middle layers replaceable."""

    def __init__(self, middle=None, last=None, width=16):
        super().__init__()
        self.c1 = nn.Conv2d(3, width, 3, padding=1)
        self.c2 = middle or nn.Conv2d(width, width, 3, padding=1)
        self.c3 = last or nn.Conv2d(width, width, 3, padding=1)
        self.fc = nn.Linear(width, 10)

    def forward(self, x):
        return self.fc(self.c3(torch.relu(self.c2(torch.relu(self.c1(x))))).mean((2, 3)))


class ScaledConv(nn.Conv2d):
    """A conv that multiplies its output by a per-channel parameter of its own."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.scale = nn.Parameter(torch.ones(self.out_channels, 1, 1))

    def forward(self, x):
        return super().forward(x) * self.scale


class WithUnused(Stack):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(16, 5)  # never called by forward (an auxiliary head, say)


@pytest.mark.parametrize("make", [Concat, Flatten, Grouped, lambda: Grouped(nn.GroupNorm(4, 32)), LayerScale],
                         ids=["concat", "flatten", "grouped-depthwise-prelu", "groupnorm", "layer-scale"])
def test_exact_on_synthetic_constructs(make):
    model = make().eval()
    _assert_exact(model, _image(), [model.fc], steps=(1, 3))


def test_exact_without_ignoring_the_classifier():
    model = Concat().eval()
    _assert_exact(model, _image(), [], round_tos=[None])


def test_a_parameter_in_ignored_layers_is_accepted_where_it_breaks_nothing():
    model = LayerScale().eval()
    # Torch-Pruning prunes gamma's group anyway and leaves gamma at full width: a broken model
    pruned = pruning.prune_copy(model, _image(), 0.3, [model.fc, model.gamma], count_macs=False).model
    with pytest.raises(RuntimeError):
        pruned(_image())
    with pytest.raises(UnsupportedModel, match=r"gamma \(Parameter\) is in ignored_layers.*breaks the model"):
        ParameterModel(model, _image(), [model.fc, model.gamma])
    _assert_exact(model, _image(), [model.fc, model.gamma, model.stem, model.conv], round_tos=[None])


def test_an_unused_layer_is_refused_unless_ignored():
    model = WithUnused().eval()
    with pytest.raises(UnsupportedModel, match=r"head \(Linear\).*never reaches it.*ignored_layers"):
        ParameterModel(model, _image(), [model.fc])
    _assert_exact(model, _image(), [model.fc, model.head], round_tos=[None])


def test_tied_weights_are_refused():
    model = Stack().eval()
    model.c3.weight = model.c2.weight
    assert sum(p.numel() for p in model.parameters()) < sum(
        p.numel() for m in model.modules() for p in m.parameters(recurse=False))
    with pytest.raises(UnsupportedModel, match=r"c3 \(Conv2d\) shares its parameter weight with c2.weight"):
        ParameterModel(model, _image(), [model.fc])


def test_an_extra_tensor_on_a_known_layer_is_refused():
    model = Stack(middle=ScaledConv(16, 16, 3, padding=1)).eval()
    # the refusal is right: Torch-Pruning shrinks the conv and leaves the scale, which breaks the model
    pruned = pruning.prune_copy(model, _image(), 0.5, [model.fc], count_macs=False).model
    with pytest.raises(RuntimeError):
        pruned(_image())
    with pytest.raises(UnsupportedModel, match=r"c2 \(ScaledConv\) holds scale besides weight and bias"):
        ParameterModel(model, _image(), [model.fc])


@pytest.mark.filterwarnings("ignore:.*weight_norm.*is deprecated:FutureWarning")
def test_weight_norm_is_refused():
    old = Stack(middle=torch.nn.utils.weight_norm(nn.Conv2d(16, 16, 3, padding=1))).eval()
    with pytest.raises(UnsupportedModel, match=r"c2 \(Conv2d\) holds weight_g, weight_v"):
        ParameterModel(old, _image(), [old.fc])
    new = Stack(middle=nn.utils.parametrizations.weight_norm(nn.Conv2d(16, 16, 3, padding=1))).eval()
    with pytest.raises(UnsupportedModel, match=r"c2 \(ParametrizedConv2d\) has a parametrized weight"):
        ParameterModel(new, _image(), [new.fc])


def test_transposed_layers_are_refused_and_attention_followed():
    up = Stack(last=nn.ConvTranspose2d(16, 16, 2, stride=2)).eval()
    with pytest.raises(UnsupportedModel, match=r"c3 \(ConvTranspose2d\) is a transposed convolution"):
        ParameterModel(up, _image(), [up.fc])

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(8, 32)
            self.attn = nn.MultiheadAttention(32, 4, batch_first=True)
            self.fc = nn.Linear(32, 10)

        def forward(self, x):
            x = self.embed(x)
            return self.fc(self.attn(x, x, x)[0].mean(1))

    # nn.MultiheadAttention is followed (its heads named as pruner_kwargs names them, kept whole): exact
    model = Attention().eval()
    inputs = torch.randn(1, 5, 8)
    predictor = ParameterModel(model, inputs, [model.fc], out_channel_groups={model.attn: 4})
    for p in (0.3, 0.5):
        assert predictor.params(p) == pruning.prune_copy(model, inputs, p, [model.fc], count_macs=False).params_after
    with pytest.raises(UnsupportedModel, match=r"attn \(MultiheadAttention\) .*MACs"):
        predictor.macs(0.5)


class FreeWeight(nn.Module):
    """A conv weight held as a bare parameter and used through F.conv2d."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, padding=1)
        self.w = nn.Parameter(torch.randn(24, 16, 3, 3))
        self.fc = nn.Linear(24, 10)

    def forward(self, x):
        return self.fc(nn.functional.conv2d(self.c1(x), self.w, padding=1).mean((2, 3)))


class Multiplier(nn.Module):
    """A depthwise conv with channel multiplier 2 (groups=16, 32 outputs): Torch-Pruning fails on it."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, padding=1)
        self.dw = nn.Conv2d(16, 32, 3, padding=1, groups=16)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc(self.dw(self.c1(x)).mean((2, 3)))


def test_a_bare_multi_dimensional_parameter_is_refused():
    model = FreeWeight().eval()
    # Torch-Pruning prunes its last dimension (the kernel's width): the pruned model breaks
    pruned = pruning.prune_copy(model, _image(), 0.1, [model.fc], count_macs=False).model
    with pytest.raises(RuntimeError):
        pruned(_image())
    with pytest.raises(UnsupportedModel, match=r"w \(Parameter\) of shape \(24, 16, 3, 3\).*Wrap it in a layer"):
        ParameterModel(model, _image(), [model.fc])


def test_a_model_torch_pruning_fails_on_is_refused_with_its_error():
    model = Multiplier().eval()
    with pytest.raises(IndexError):
        pruning.prune_copy(model, _image(), 0.3, [model.fc], count_macs=False)
    with pytest.raises(UnsupportedModel, match=r"c1 \(Conv2d\) roots a group .*IndexError"):
        ParameterModel(model, _image(), [model.fc])
    with pytest.raises(UnsupportedModel, match=r"cannot trace this model.*check that model\(example_inputs\) runs"):
        ParameterModel(model, _image(channels=5), [model.fc])


def test_auxiliary_heads_are_refused_and_accepted_without_them():
    for build, size in ((tvm.googlenet, 224), (tvm.inception_v3, 299)):
        with_aux = build(weights=None, init_weights=False).eval()
        inputs = torch.randn(1, 3, size, size)
        with pytest.raises(UnsupportedModel, match=r"(?i)aux.*never reaches it.*aux_logits=False"):
            ParameterModel(with_aux, inputs, [with_aux.fc])
    model = tvm.googlenet(weights=None, init_weights=False, aux_logits=False).eval()
    inputs = torch.randn(1, 3, 224, 224)
    _assert_exact(model, inputs, [model.fc], round_tos=[None, 8], ratios=[0.3, 0.7])


def test_swin_is_refused_at_once_by_pruning_and_prediction(monkeypatch):
    def no_tracing(*args, **kwargs):  # tracing Swin takes minutes and gigabytes: it must not start
        raise AssertionError("Torch-Pruning's tracer was called")

    monkeypatch.setattr(tp.DependencyGraph, "build_dependency", no_tracing)
    model = tvm.swin_t(weights=None).eval()
    inputs = torch.randn(1, 3, 224, 224)
    for build in (lambda: ParameterModel(model, inputs, [model.head]),
                  lambda: pruning.prune_copy(model, inputs, 0.5, [model.head])):
        with pytest.raises(UnsupportedModel, match="ShiftedWindowAttention.*Swin"):
            build()
    with pytest.raises(UnsupportedModel, match="swin_t cannot be pruned"):
        zoo.build("swin_t")
    maxvit = tvm.maxvit_t(weights=None).eval()
    with pytest.raises(UnsupportedModel, match="PartitionAttentionLayer.*MaxViT"):
        ParameterModel(maxvit, inputs, [maxvit.classifier[-1]])
    with pytest.raises(ValueError, match="unknown model"):
        zoo.build("resnet9000")


# ---- the exact solver ------------------------------------------------------------------------------
class Tiny(nn.Module):
    """Two groups, 16 and 40 channels: with round_to=8 the 16-channel group keeps 8 for p <= 0.5 and
    is skipped beyond (its rounded width would be 0), so the reduction falls as p passes 0.5."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, padding=1)
        self.c2 = nn.Conv2d(16, 40, 3, padding=1)
        self.fc = nn.Linear(40, 10)

    def forward(self, x):
        return self.fc(self.c2(torch.relu(self.c1(x))).mean((2, 3)))


def test_reduction_is_not_monotone_with_round_to_and_solve_finds_the_best_ratio():
    model = Tiny().eval()
    predictor = ParameterModel(model, _image(), [model.fc], round_to=8)
    r = {p: pruning.prune_copy(model, _image(), p, [model.fc], round_to=8, count_macs=False).param_reduction
         for p in (0.5, 0.6)}
    assert r[0.5] > r[0.6]  # Torch-Pruning itself: more channels asked, fewer parameters removed
    assert predictor.reduction(0.5) == r[0.5] and predictor.reduction(0.6) == r[0.6]
    p_max, r_max = predictor.max_reduction()
    ps = np.arange(10_000) / 10_000
    assert r_max == pytest.approx(1.0 - predictor.params_at(ps).min() / predictor.params_before, abs=0)
    assert predictor.reduction(p_max) == r_max
    assert_solves(predictor, [0.1, r[0.5], r[0.6], 0.5 * (r[0.5] + r[0.6]), r_max])
    # the target r[0.5] lies on the plateau that ends at p = 0.5, not beyond
    assert predictor.solve(r[0.5]) <= 0.5


def test_max_reduction_is_exact_on_a_fine_grid():
    model = Grouped().eval()
    predictor = ParameterModel(model, _image(), [model.fc], round_to=3)
    p_max, r_max = predictor.max_reduction()
    ps = np.arange(100_000) / 100_000
    assert r_max >= 1.0 - predictor.params_at(ps).min() / predictor.params_before
    assert predictor.reduction(p_max) == r_max
