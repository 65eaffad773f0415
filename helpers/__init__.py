"""Shared helpers of the channel-pruning course: theory, model zoo, pruning, exact prediction."""
from . import checks, env, plots, predict, pruning, theory, zoo  # noqa: F401

__all__ = ["checks", "env", "plots", "predict", "pruning", "theory", "zoo"]
