"""An interactive explorer: the rule ``1-(1-p)^2`` next to the exact count of a real CNN.

Four controls (the channel ratio ``p``, the model, the number of classes of its head and
``round_to``) redraw two panels: the parameter reduction against ``p`` (the rule, the exact curve
of ``helpers.predict.ParameterModel``, the chosen ``p`` marked) and the ``A k² + B k + C`` split of
the parameters before and after pruning at ``p``.

``explore()`` shows the controls where a widget front end draws them (JupyterLab, Jupyter
Notebook, VS Code, Colab). Under nbval, when the notebooks are executed without a front end
(``make notebooks``), with ``COURSE_WIDGETS=0``, or without ipywidgets, it draws one static figure
for its starting values instead, and returns that figure's numbers either way.
"""
from __future__ import annotations

import os
from functools import lru_cache

from . import env, theory, zoo
from ._core import check_positive_int, check_round_to
from .predict import ParameterModel

__all__ = ["MODELS", "CLASSES", "ROUND_TO", "explore", "widget", "draw", "numbers", "predictor", "interactive"]

# quick to read (a second or two each on a CPU)
MODELS = ("resnet18", "resnet50", "mobilenet_v3_small", "efficientnet_b0", "regnet_y_400mf", "squeezenet1_1")
CLASSES = (10, 100, 1000)
ROUND_TO = (None, 2, 4, 8, 16)
P_MAX = 0.9  # the slider's end; the curve is drawn on [0, P_MAX]
SPLIT_COLORS = {"A": "C0", "B": "C1", "C": "C7"}


def interactive() -> bool:
    """Whether ``explore`` should show widgets: ipywidgets is installed and something will draw
    them (not nbval, not a batch execution, not ``COURSE_WIDGETS=0``)."""
    if env.under_test() or os.environ.get("COURSE_WIDGETS", "1").strip() in ("0", "false", "no"):
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=32)
def predictor(model: str, classes: int = 1000, round_to: int | None = None) -> ParameterModel:
    """``ParameterModel`` of a zoo model built with a ``classes``-class head (on the CPU: the count
    does not depend on the device), its classifier ignored; cached per setting."""
    if model not in MODELS:
        raise ValueError(f"the explorer offers {', '.join(MODELS)}; got {model!r} "
                         "(any zoo model works with helpers.predict.ParameterModel directly)")
    net, inputs, ignored = zoo.build(model, num_classes=check_positive_int(classes, "classes"))
    return ParameterModel(net, inputs, ignored, round_to=check_round_to(round_to))


def numbers(model: str, p: float, classes: int = 1000, round_to: int | None = None) -> dict:
    """What the panels show, as numbers: the exact count and reduction at ``p``, the rule, and the
    A, B, C parts before and (as ``A k²``, ``B k``, ``C``, k = 1-p) after."""
    p = theory.check_channel_ratio(p)
    pm = predictor(model, classes, round_to)
    a, b, c = pm.coefficients()
    k = 1 - p
    return {"model": model, "p": p, "classes": classes, "round_to": round_to,
            "params_before": pm.params_before, "params_after": pm.params(p), "reduction": pm.reduction(p),
            "rule": theory.param_reduction(p), "split_before": {"A": a, "B": b, "C": c},
            "split_after": {"A": a * k * k, "B": b * k, "C": float(c)}}


def draw(model: str = "resnet18", p: float = 0.3, classes: int = 1000, round_to: int | None = None,
         fig=None) -> dict:
    """Draw both panels for one setting on ``fig`` (a new figure if None); return ``numbers``
    with the figure under ``"figure"``."""
    import matplotlib.pyplot as plt
    import numpy as np

    from .report import rule_axes

    shown = numbers(model, p, classes, round_to)
    if fig is None:
        fig = plt.figure(figsize=(10, 3.8))
    fig.clear()
    curve, split = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1]})

    rule_axes(curve, p_max=P_MAX)
    grid = np.round(np.linspace(0, P_MAX, 181), 4)
    pm = predictor(model, classes, round_to)
    curve.plot(grid, 1 - pm.params_at(grid) / pm.params_before, color="C3", linewidth=1.5,
               label=f"{model}, exact")
    curve.axvline(shown["p"], color="C3", alpha=0.3)
    curve.plot([shown["p"]], [shown["reduction"]], "o", color="C3")
    curve.plot([shown["p"]], [shown["rule"]], "o", color="black", markersize=4)
    curve.set_title(f"p = {shown['p']:.2f}: removes {shown['reduction']:.1%} (rule {shown['rule']:.1%})", fontsize=10)
    curve.legend(loc="lower right")

    labels = ["before", f"after, p = {shown['p']:.2f}"]
    left = np.zeros(2)
    for part, what in (("A", "A k² (between pruned layers)"), ("B", "B k (one pruned dimension)"),
                       ("C", "C (never pruned)")):
        values = np.array([shown["split_before"][part], shown["split_after"][part]]) / shown["params_before"]
        split.barh(labels, values, left=left, color=SPLIT_COLORS[part], label=what)
        left += values
    split.plot([shown["params_after"] / shown["params_before"]], [1], "|", color="black", markersize=22,
               label="exact count (whole channels)")
    split.set_xlim(0, 1)
    split.set_xlabel("share of the parameters before pruning")
    split.set_title(f"{model}, {classes} classes, round_to={round_to}: "
                    f"{shown['params_before']:,} -> {shown['params_after']:,}", fontsize=9)
    split.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize=7)
    split.invert_yaxis()
    fig.tight_layout()
    return {**shown, "figure": fig}


def widget(model: str = "resnet18", p: float = 0.3, classes: int = 1000, round_to: int | None = None):
    """The explorer's widgets, starting at this setting: ``(box, controls, fig)``; changing a
    control redraws ``fig`` inside ``box``."""
    import ipywidgets as w
    import matplotlib.pyplot as plt
    from IPython.display import display

    numbers(model, p, classes, round_to)  # refuses bad starting values before building anything
    controls = {
        "p": w.FloatSlider(value=p, min=0.0, max=P_MAX, step=0.01, description="p",
                           continuous_update=False, readout_format=".2f"),
        "model": w.Dropdown(options=MODELS, value=model, description="model"),
        "classes": w.Dropdown(options=sorted({*CLASSES, classes}), value=classes, description="classes"),
        # labels as values: a Dropdown shows no selection for the value None
        "round_to": w.Dropdown(options=[str(n) for n in ROUND_TO], value=str(round_to), description="round_to"),
    }
    out = w.Output()
    with plt.ioff():
        fig = plt.figure(figsize=(10, 3.8))

    def redraw(round_to, **setting):
        draw(fig=fig, round_to=None if round_to == "None" else int(round_to), **setting)
        with out:
            out.clear_output(wait=True)
            display(fig)

    w.interactive_output(redraw, controls)
    box = w.VBox([w.HBox([controls["p"], controls["model"]]), w.HBox([controls["classes"], controls["round_to"]]), out])
    return box, controls, fig


def explore(model: str = "resnet18", p: float = 0.3, classes: int = 1000, round_to: int | None = None) -> dict:
    """Show the explorer starting at this setting: widgets where a front end draws them, one static
    figure otherwise (see ``interactive``). Returns the starting setting's ``numbers``."""
    import matplotlib.pyplot as plt

    start = numbers(model, p, classes, round_to)  # refuses bad starting values before drawing anything
    if not interactive():
        draw(model, p, classes, round_to)
        plt.show()
        return start
    from IPython.display import display

    display(widget(model, p, classes, round_to)[0])
    return start
