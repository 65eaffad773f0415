"""Shared helpers of the channel-pruning course: theory, model zoo, pruning, exact prediction.

``helpers.latency`` is imported on demand (``from helpers import latency``): torch.utils.benchmark,
which it uses, prints a warning at import on machines without CUDA.
"""
from . import budget, checks, counting, data, env, plots, predict, pruning, sweep, theory, training, zoo

__all__ = ["budget", "checks", "counting", "data", "env", "plots", "predict", "pruning", "sweep", "theory",
           "training", "zoo"]
