"""The helper package of the channel-pruning course: ``import helpers``.

What a learner uses, one module per subject:

* ``theory``: the quadratic law ``1-(1-p)^2`` and its inverse;
* ``zoo``: real torchvision CNNs and transformers (ViT-B/16, LLaMA-style decoders written out),
  built without downloads;
* ``counting``: parameters and MACs, by formula and by layer, and how each tensor shrinks;
* ``pruning``: Torch-Pruning's ``BasePruner`` as the course uses it, its one loop, and what it
  removed; the heads of a transformer and the widths to set after pruning one;
* ``predict``: ``ParameterModel``, the exact count after pruning, without pruning (and
  ``UnsupportedModel``, raised where the course cannot be exact);
* ``explorer``: the rule next to a real CNN's exact count, with widgets for p, model, head, round_to;
* ``sweep``, ``budget``: sweeps over channel ratios (Torch-Pruning's README log among them); a
  channel ratio for a parameter or MAC budget;
* ``latency``: timing dense against pruned (interleaved, two recordings, a stability rule), eager,
  folded or compiled, and where the time goes (a profiler split, a two-ratio prediction); imported
  on demand: ``from helpers import latency``;
* ``training``: the bundled digits, a small CNN, and its one accuracy pipeline (train, prune,
  refresh batch norm, fine-tune, summarise over seeds);
* ``study``: the accuracy study of notebooks 11-12 (choices on validation, paired intervals,
  the sensitivity scan);
* ``report``, ``results``, ``env``, ``checks``: tables and figures, recorded results, device and
  mode, exercises.

``helpers.tooling`` is the course's own machinery (command line, ``make reproduce``, README and
notebook tooling); learners and the modules above never import it. ``helpers._core`` holds what
the public modules share (argument checks, Torch-Pruning plumbing, tensor classification).
"""
from . import (
    budget,
    checks,
    counting,
    env,
    explorer,
    predict,
    pruning,
    report,
    results,
    study,
    sweep,
    theory,
    training,
    zoo,
)

__all__ = ["budget", "checks", "counting", "env", "explorer", "predict", "pruning", "report", "results", "study",
           "sweep", "theory", "training", "zoo"]
