"""Shared helpers of the channel-pruning course: theory, model zoo, pruning, exact prediction."""
from . import checks, counting, data, env, plots, predict, pruning, theory, training, zoo

__all__ = ["checks", "counting", "data", "env", "plots", "predict", "pruning", "theory", "training", "zoo"]
