"""Exact parameter counts after channel pruning, predicted without pruning: ``ParameterModel``.

* ``graph``: reads Torch-Pruning's dependency graph once (width counters, groups, tensor shapes);
* ``replay``: Torch-Pruning's local-pruning arithmetic replayed on integers;
* ``model``: ``ParameterModel``, the public face (``params``, ``params_at``, ``reduction``,
  ``coefficients``, ``breakdown``, ``solve``, ``max_reduction``).

Exact or refused: where its count could differ from Torch-Pruning's, the build raises
``helpers.unsupported.UnsupportedModel`` naming the layer.
"""
from .model import ParameterModel

__all__ = ["ParameterModel"]
