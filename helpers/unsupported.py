"""What the course refuses to prune or predict, and the one error it raises: ``UnsupportedModel``.

One table of constructs that Torch-Pruning 1.6.1 cannot handle, each with the reason a learner
should read. ``zoo`` refuses these architectures by name; ``pruning`` and ``predict`` refuse a
model that contains one of these layers before tracing it (on Swin and MaxViT the tracer would take
minutes and gigabytes before failing).
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import nn
from torchvision.models import maxvit, shufflenetv2, swin_transformer


class UnsupportedModel(ValueError):
    """A model (or a layer in it) that the course cannot prune or predict exactly."""


@dataclass(frozen=True)
class Construct:
    layers: tuple[type, ...]  # the module types that reveal it
    reason: str
    architectures: tuple[str, ...]  # torchvision names built with it


CONSTRUCTS = (
    Construct((shufflenetv2.InvertedResidual,),
              "its channel shuffle (a reshape-transpose-reshape) mixes channels across groups, "
              "which Torch-Pruning's dependency graph cannot trace",
              tuple(f"shufflenet_v2_{w}" for w in ("x0_5", "x1_0", "x1_5", "x2_0"))),
    Construct((swin_transformer.ShiftedWindowAttention, swin_transformer.ShiftedWindowAttentionV2,
               swin_transformer.PatchMerging, swin_transformer.PatchMergingV2),
              "Swin's shifted-window attention uses operations Torch-Pruning's dependency graph does not "
              "support (tracing it takes gigabytes and minutes before failing)",
              tuple(f"swin{v}_{s}" for v in ("", "_v2") for s in ("t", "s", "b"))),
    Construct((maxvit.PartitionAttentionLayer,),
              "MaxViT's window and grid attention (partitioned by reshapes) exhausts Torch-Pruning's "
              "tracer (minutes, then MemoryError past 14 GB)",
              ("maxvit_t",)),
)

# architecture name -> reason, for the zoo
ARCHITECTURES: dict[str, str] = {name: c.reason for c in CONSTRUCTS for name in c.architectures}

def check_layers(model: nn.Module) -> None:
    """Raise ``UnsupportedModel`` at once if ``model`` holds a layer from ``CONSTRUCTS``."""
    for name, module in model.named_modules():
        for construct in CONSTRUCTS:
            if isinstance(module, construct.layers):
                raise UnsupportedModel(
                    f"{name or 'the model'} ({type(module).__name__}) cannot be pruned with Torch-Pruning: "
                    f"{construct.reason}")
