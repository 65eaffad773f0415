"""Exact parameter and MAC counts after channel pruning, predicted without pruning: ``ParameterModel``.

* ``graph``: reads Torch-Pruning's dependency graph once (width counters, groups, tensor shapes);
* ``replay``: Torch-Pruning's local-pruning arithmetic replayed on integers;
* ``macs``: Torch-Pruning's MAC counter written as terms in the same widths (recorded during the
  tracer's forward pass);
* ``model``: ``ParameterModel``, the public face (``params``, ``params_at``, ``macs``, ``macs_at``,
  ``reduction``, ``coefficients``, ``breakdown``, ``solve``, ``max_reduction``; the last four with
  ``by="params"`` or ``by="macs"``).

It follows CNNs and transformers (``nn.MultiheadAttention``; Q/K/V projections with their heads,
whole heads removed or head dimensions; embeddings), one ratio for every group or a
``pruning_ratio_dict``.

Exact or refused: where its count could differ from Torch-Pruning's (an attention whose heads are not
named, grouped-query attention, tied weights, ...), the build raises ``UnsupportedModel`` naming the
layer and what to do (for MACs, on the first MAC question). It takes ``BasePruner``'s arguments as
given and adds none.
"""
from .._core import UnsupportedModel
from .model import ParameterModel

__all__ = ["ParameterModel", "UnsupportedModel"]
