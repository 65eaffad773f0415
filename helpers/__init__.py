"""The helper package of the channel-pruning course: ``import helpers``.

What a learner uses, one module per subject:

* ``theory``: the quadratic law ``1-(1-p)^2`` and its inverse;
* ``zoo``: real torchvision CNNs and transformers (ViT-B/16, LLaMA-style decoders), built without
  downloads;
* ``decoder``, ``attention``: a LLaMA-style decoder written out; the heads Torch-Pruning must be
  told about, and the widths to set after pruning a transformer;
* ``counting``: parameters and MACs, by formula and by layer, and how each tensor shrinks;
* ``pruning``: Torch-Pruning's ``BasePruner`` as the course uses it, and what it removed;
* ``predict``: ``ParameterModel``, the exact count after pruning, without pruning;
* ``explorer``: the rule next to a real CNN's exact count, with widgets for p, model, head, round_to;
* ``unsupported``: ``UnsupportedModel``, raised (naming the layer) where the course cannot be exact;
* ``sweep``, ``budget``: sweeps over channel ratios; a channel ratio for a parameter budget;
* ``latency``: forward-pass timing (imported on demand: ``from helpers import latency``);
* ``data``, ``training``: the bundled digits and a small CNN to train, prune and fine-tune;
* ``protocol``: the accuracy study of notebooks 11-12 (splits per seed, choices on validation, equal
  step budgets, intervals over seeds, the sensitivity scan);
* ``tp_readme``: Torch-Pruning's README latency log and its configuration;
* ``tables``, ``plots``, ``env``, ``checks``: markdown tables, figures, device and mode, exercises.

``helpers.tooling`` is the course's own machinery (command line, ``make reproduce``, README and
notebook tooling, recorded results); learners never need it.
"""
from . import (
    attention,
    budget,
    checks,
    counting,
    data,
    decoder,
    env,
    explorer,
    plots,
    predict,
    protocol,
    pruning,
    sweep,
    tables,
    theory,
    tp_readme,
    training,
    unsupported,
    zoo,
)

__all__ = ["attention", "budget", "checks", "counting", "data", "decoder", "env", "explorer", "plots", "predict", "protocol", "pruning", "sweep", "tables",
           "theory", "tp_readme", "training", "unsupported", "zoo"]
