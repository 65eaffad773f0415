"""Torch-Pruning's README latency log for ResNet-50, and its configuration.

The README's benchmark (``reproduce/benchmark_latency.py``) prunes ResNet-50 with group L2
magnitude, ``pruning_ratio=1`` over ``iterative_steps=20`` and ``round_to=2``, ignoring no layer
(so the 1000-class fc is pruned too), and prints params and MACs after each step.
"""
from __future__ import annotations

import torch

from . import zoo
from .sweep import ratio_sweep

RATIOS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
PARAMS_M = (20.63, 16.27, 12.46, 9.14, 6.41, 4.07)  # as printed in the README
MACS_G = (3.31, 2.63, 2.02, 1.50, 1.07, 0.67)
LATENCY_MS = (43.85, 39.28, 33.38, 29.04, 20.68, 18.12)  # batch 64, the README author's GPU
BASE = {"params_m": 25.56, "macs_g": 4.12, "latency_ms": 45.22}
PRUNING_RATIO, ITERATIVE_STEPS, ROUND_TO = 1.0, 20, 2


def sweep(device: torch.device | str = "cpu", ratios=RATIOS) -> list[dict]:
    """Prune ResNet-50 exactly as the README's benchmark does; measure the steps at ``ratios``.

    Rows (``sweep.ratio_sweep``): channel_ratio, params, macs, starting with the unpruned model at 0.
    """
    model, example_inputs, _ = zoo.build("resnet50", device=device)
    return ratio_sweep(model, example_inputs, [0.0, *ratios], round_to=ROUND_TO, macs=True,
                       pruning_ratio=PRUNING_RATIO, iterative_steps=ITERATIVE_STEPS)
