"""Shared helpers of the channel-pruning course: theory, model zoo, pruning, exact prediction."""
from . import (
           budget,
           checks,
           counting,
           data,
           env,
           latency,
           plots,
           predict,
           pruning,
           sweep,
           theory,
           training,
           zoo,
)

__all__ = ["budget", "checks", "counting", "data", "env", "latency", "plots", "predict", "pruning", "sweep", "theory",
           "training", "zoo"]
