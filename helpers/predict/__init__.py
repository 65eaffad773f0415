"""Exact parameter counts after channel pruning, predicted without pruning: ``ParameterModel``.

* ``graph``: reads Torch-Pruning's dependency graph once (width counters, groups, tensor shapes);
* ``replay``: Torch-Pruning's local-pruning arithmetic replayed on integers;
* ``model``: ``ParameterModel``, the public face (``params``, ``reduction``, ``coefficients``,
  ``breakdown``, ``solve``).
"""
from .model import ParameterModel

__all__ = ["ParameterModel"]
