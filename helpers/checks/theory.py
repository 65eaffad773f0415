"""Exercises of the course's theory notebooks (00-05), registered with ``helpers.checks``.

Each reference solution below is what ``helpers.checks.reveal(name)`` prints.
"""
import math

from torch import nn

from ..counting import n_params
from . import Wrong, as_number, exercise, expect_close, expect_equal, expect_function

# MobileNetV2 (torchvision, 1000 classes) before and after local pruning at p=0.5 with its classifier
# ignored, as Torch-Pruning 1.6.1 counts them; tests/test_counting.py prunes it to check them.
MOBILENET_V2_PARAMS = (3_504_872, 1_221_768)


def _as_fraction(answer, what: str) -> float:
    """Accept 0.75 or 75 (a percentage) for a fraction in [0, 1]."""
    value = as_number(answer, what)
    if 1.0 < value <= 100.0:
        value /= 100.0
    if not 0.0 <= value <= 1.0:
        raise Wrong(f"{what} is a fraction between 0 and 1 (or a percentage), got {answer!r}")
    return value


# ---- 00 · Start here ----------------------------------------------------------------------------
# ResNet-18 before and after Torch-Pruning's README quick start (p=0.5, classifier ignored)
README_QUICKSTART_PARAMS = (11_689_512, 3_055_880)


def _check_rule_at_half(answer):
    value = _as_fraction(answer, "your answer")
    if abs(value - 0.5) < 1e-6:
        raise Wrong("0.5 is the naive reading 'p removes p'; apply 1-(1-p)^2 with p = 0.5")
    before, after = README_QUICKSTART_PARAMS
    if abs(value - (1 - after / before)) < 0.0005:
        raise Wrong("that is what the quick start measured on ResNet-18; the question asks what the "
                    "rule 1-(1-p)^2 predicts at p = 0.5")
    expect_close(value, 1 - (1 - 0.5) ** 2, 0.005, "your answer")


@exercise("00-rule-at-half", "00_start_here",
          "Under the rule 1-(1-p)^2, what fraction of the parameters does p = 0.5 remove (the "
          "channel ratio of the quick start)?",
          _check_rule_at_half, wrong_example=lambda: 0.5)
def _rule_at_half():
    p = 0.5
    return 1 - (1 - p) ** 2


# ---- 01 · Counting parameters -------------------------------------------------------------------
def _check_conv_by_hand(answer):
    layer = nn.Conv2d(128, 256, kernel_size=3, padding=1, bias=False)
    expected = n_params(layer)
    value = as_number(answer, "your count")
    if value == 128 * 256:
        raise Wrong("128 x 256 counts the (output, input) channel pairs; each pair has a 3 x 3 kernel")
    if value == expected + 256:
        raise Wrong("this convolution has bias=False: there is no bias to add")
    if value != expected:
        raise Wrong(f"{answer!r} is not the count; use C_out x C_in/groups x K x K (+ C_out if bias)")


@exercise("01-conv-by-hand", "01_counting_parameters",
          "How many parameters does nn.Conv2d(128, 256, kernel_size=3, padding=1, bias=False) have?",
          _check_conv_by_hand, wrong_example=lambda: 128 * 256)
def _conv_by_hand():
    c_out, c_in, groups, k = 256, 128, 1, 3
    return c_out * (c_in // groups) * k * k  # bias=False: nothing to add


def _check_depthwise_by_hand(answer):
    layer = nn.Conv2d(96, 96, kernel_size=3, padding=1, groups=96)
    expected = n_params(layer)
    value = as_number(answer, "your count")
    if value == 96 * 96 * 9 + 96:
        raise Wrong("that counts an ordinary conv: with groups=96 each output channel sees 96/96 = 1 input")
    if value == expected - 96:
        raise Wrong("nn.Conv2d has a bias unless bias=False: add one per output channel")
    if value != expected:
        raise Wrong(f"{answer!r} is not the count; use C_out x C_in/groups x K x K (+ C_out if bias)")


@exercise("01-depthwise-by-hand", "01_counting_parameters",
          "How many parameters does the depthwise nn.Conv2d(96, 96, kernel_size=3, padding=1, groups=96) "
          "have (it keeps the default bias=True)?",
          _check_depthwise_by_hand, wrong_example=lambda: 96 * 96 * 9 + 96)
def _depthwise_by_hand():
    c_out, c_in, groups, k = 96, 96, 96, 3
    return c_out * (c_in // groups) * k * k + c_out  # default bias=True: one per output channel


# (c_in, c_out, kernel, groups, bias): plain, 1x1, stem, grouped, depthwise, depthwise multiplier
_CONV_CASES = [(64, 64, 3, 1, False), (256, 64, 1, 1, True), (3, 64, 7, 1, False),
               (128, 128, 3, 32, False), (96, 96, 3, 96, True), (32, 64, 5, 32, True)]


def _check_conv2d_params(fn):
    if not callable(fn):
        raise Wrong(f"pass your function itself (no parentheses), got {type(fn).__name__}")
    cases = [(args, n_params(nn.Conv2d(args[0], args[1], args[2], groups=args[3], bias=args[4])))
             for args in _CONV_CASES]
    plain = [c for c in cases if c[0][3] == 1]
    expect_function(fn, plain, "conv2d_params")  # ungrouped first: the simpler mistakes
    try:
        expect_function(fn, cases, "conv2d_params")
    except Wrong as why:
        raise Wrong(f"{why}. Ungrouped convs are right; with groups=g each output channel sees only "
                    "C_in/g input channels") from None


@exercise("01-conv2d-params", "01_counting_parameters",
          "Write conv2d_params(c_in, c_out, k, groups, bias) returning nn.Conv2d's parameter count.",
          _check_conv2d_params,
          wrong_example=lambda: (lambda c_in, c_out, k, groups=1, bias=True:
                                 c_out * c_in * k * k + (c_out if bias else 0)))
def _conv2d_params():
    def conv2d_params(c_in, c_out, k, groups=1, bias=True):
        return c_out * (c_in // groups) * k * k + (c_out if bias else 0)
    return conv2d_params


# ---- 02 · The quadratic law ---------------------------------------------------------------------
def _check_p_for(target: float):
    def check(answer):
        value = as_number(answer, "your channel ratio")
        if abs(value - target) < 1e-6:
            raise Wrong(f"p = {target} is the naive reading; under the law it removes "
                        f"{1 - (1 - target) ** 2:.0%}. Invert r = 1-(1-p)^2 for p")
        if not 0.0 <= value < 1.0:
            raise Wrong(f"a channel ratio lies in [0, 1), got {answer!r}")
        got = 1 - (1 - value) ** 2
        if abs(value - (1 - math.sqrt(1 - target))) > 0.01:  # 0.30 for 50% is fine, as the README rounds
            raise Wrong(f"p = {value:.3f} removes {got:.1%} of the parameters under the law, "
                        f"not {target:.0%}")
    return check


def _p_for(r: float):
    """The reference solution for a budget of ``r`` (``reveal`` prints ``r`` above it)."""
    def solution():
        return 1 - math.sqrt(1 - r)  # invert r = 1 - (1-p)^2
    return solution


for _name, _r in (("02-p-for-half", 0.5), ("02-p-for-90", 0.9)):
    exercise(_name, "02_the_quadratic_law",
             f"Which channel ratio p removes {_r:.0%} of the parameters under the quadratic law?",
             _check_p_for(_r), wrong_example=lambda r=_r: r)(_p_for(_r))


def _check_middle_weight(answer):
    value = _as_fraction(answer, "your fraction")
    p = 0.35  # not a ratio the notebook prints the law for (it prints p = 0.1, 0.2, ..., 0.9 and 0.25)
    if abs(value - (1 - p)) < 1e-6:
        raise Wrong(f"{1 - p:g} = 1-p counts one side only: the middle weight loses rows and columns")
    if abs(value - p) < 1e-6 or abs(value - (1 - (1 - p) ** 2)) < 1e-6:
        raise Wrong("the question asks for the fraction kept, not removed")
    expect_close(value, (1 - p) ** 2, 0.005, "your fraction")


@exercise("02-middle-weight-kept", "02_the_quadratic_law",
          "At p = 0.35, what fraction of its parameters does a weight between two pruned layers keep?",
          _check_middle_weight, wrong_example=lambda: 0.65)
def _middle_weight_kept():
    p = 0.35
    return (1 - p) ** 2  # rows and columns each keep 1-p


# ---- 03 · Where the rule bends ------------------------------------------------------------------
# MobileNetV3-Small's classifier: Linear(576, 1024) -> Hardswish -> Dropout -> Linear(1024, 1000), both
# with biases, 1,615,848 parameters; the notebook prunes the model at p = 0.25 and counts to check.
_HEAD_IN, _HEAD_HIDDEN, _HEAD_CLASSES = 576, 1024, 1000
_HEAD_BEFORE = _HEAD_IN * _HEAD_HIDDEN + _HEAD_HIDDEN + _HEAD_HIDDEN * _HEAD_CLASSES + _HEAD_CLASSES


def _check_classifier_head(answer):
    value = as_number(answer, "your count")
    expected = _classifier_head_kept()
    k = 1 - 0.25
    hidden = int(_HEAD_HIDDEN * k)
    hints = {
        round(k * k * _HEAD_BEFORE): "not every tensor keeps k^2: the last layer's outputs are the classes",
        round(k * _HEAD_BEFORE): "not every tensor keeps k: the first layer's weight loses rows and columns",
        expected - _HEAD_CLASSES + int(_HEAD_CLASSES * k): "the last bias has one number per class: the classes stay",
        expected - hidden - _HEAD_CLASSES: "count the biases too",
        expected + (_HEAD_IN - int(_HEAD_IN * k)) * hidden:
            "the first layer's inputs are the last convolution's channels, which are pruned too",
    }
    if value in hints:
        raise Wrong(hints[value])
    if value != expected:
        raise Wrong(f"{answer!r} is not the count; give each tensor its k^d, with k = 1-p = {k}")


@exercise("03-classifier-head-kept", "03_where_the_rule_bends",
          "MobileNetV3-Small's classifier is Linear(576, 1024) -> Linear(1024, 1000), both with biases. "
          "Pruned at p = 0.25 with its last layer ignored, how many parameters does it keep?",
          _check_classifier_head, wrong_example=lambda: round((1 - 0.25) ** 2 * _HEAD_BEFORE))
def _classifier_head_kept():
    p = 0.25
    c_in, hidden, classes = int(576 * (1 - p)), int(1024 * (1 - p)), 1000  # whole channels; classes stay
    first = c_in * hidden + hidden  # weight k^2 (inputs and outputs pruned), bias k^1
    last = hidden * classes + classes  # weight k^1 (only inputs pruned), bias k^0
    return first + last


# ---- 04 · Groups and rounding -------------------------------------------------------------------
def _check_group_width(answer):
    value = as_number(answer, "your count")
    if value != int(value):
        raise Wrong("channels are whole: Torch-Pruning keeps int(C x (1-p)) channels of each group")
    if value == 5:
        raise Wrong("Torch-Pruning rounds the kept count down, int(C x (1-p)): not to the nearest whole "
                    "number, and not C - int(C x p)")
    if value == 3:
        raise Wrong("that is how many it removes; the question asks how many each group keeps")
    expect_equal(int(value), int(8 * (1 - 0.4)), "channels kept per group")


@exercise("04-group-width-kept", "04_groups_and_rounding",
          "A grouped conv has 8 channels per group. At p = 0.4, how many channels of each group does "
          "Torch-Pruning keep?",
          _check_group_width, wrong_example=lambda: 8 * (1 - 0.4))
def _group_width_kept():
    per_group, p = 8, 0.4
    return int(per_group * (1 - p))  # whole channels, rounded down


# ---- 05 · The exact count ----------------------------------------------------------------------
def _check_mobilenetv2(answer):
    value = _as_fraction(answer, "your predicted reduction")
    before, after = MOBILENET_V2_PARAMS
    measured = 1 - after / before
    if abs(value - 0.75) < 0.002:
        raise Wrong("0.75 is the rule 1-k^2 alone; subtract what MobileNetV2's k^1 tensors keep: (B/P0) k (1-k)")
    if abs(value - measured) > 0.005:
        raise Wrong(f"{value:.4f} is more than 0.005 away from what pruning removes; "
                    "use reduction = (1-k^2) - (B/P0) k (1-k) - (C/P0) (1-k^2) with k = 0.5")


@exercise("05-mobilenetv2-reduction", "05_the_exact_count",
          "From MobileNetV2's A, B, C (ParameterModel.coefficients), predict its parameter reduction at "
          "p = 0.5, before pruning it.",
          _check_mobilenetv2, wrong_example=lambda: 0.75)
def _mobilenetv2_reduction():
    from .. import zoo
    from ..predict import ParameterModel

    model, example_inputs, ignored = zoo.build("mobilenet_v2")
    a, b, c = ParameterModel(model, example_inputs, ignored).coefficients()
    total, k = a + b + c, 1 - 0.5
    return (1 - k ** 2) - (b / total) * k * (1 - k) - (c / total) * (1 - k ** 2)
