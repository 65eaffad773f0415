"""Shared helpers of the channel-pruning course: theory, model zoo, pruning, exact prediction."""
from . import checks, counting, env, plots, predict, pruning, theory, zoo

__all__ = ["checks", "counting", "env", "plots", "predict", "pruning", "theory", "zoo"]
