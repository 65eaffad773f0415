"""The course's training data: scikit-learn's bundled handwritten digits, read from disk (no download).

1,797 grey 8x8 images of the digits 0-9 (``sklearn.datasets.load_digits``), upsampled to 16x16 so
that a small CNN has room for two pooling stages. The train/test split is stratified and fixed by
``split_seed``: the same images land on the same side on every machine.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from . import env

SIZE = 16  # images are upsampled from 8x8 to SIZE x SIZE
NUM_CLASSES = 10


@dataclass(frozen=True)
class Digits:
    """Normalised image tensors (N, 1, SIZE, SIZE) and integer labels, already on ``device``."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def device(self) -> torch.device:
        return self.x_train.device

    @property
    def num_classes(self) -> int:
        return NUM_CLASSES

    def example_inputs(self, batch: int = 1) -> torch.Tensor:
        """A batch of training images, the shape Torch-Pruning traces the model with."""
        return self.x_train[:batch]

    def train_loader(self, batch_size: int = 64, seed: int = 0) -> DataLoader:
        """Shuffled training batches; the order is fixed by ``seed``."""
        return DataLoader(TensorDataset(self.x_train, self.y_train), batch_size=batch_size, shuffle=True,
                          generator=torch.Generator().manual_seed(seed))

    def test_loader(self, batch_size: int = 512) -> DataLoader:
        return DataLoader(TensorDataset(self.x_test, self.y_test), batch_size=batch_size, shuffle=False)

    def describe(self) -> str:
        n_train, n_test = len(self.y_train), len(self.y_test)
        shape = "x".join(str(s) for s in self.x_train.shape[1:])
        return (f"{n_train} training and {n_test} test images of shape {shape}, "
                f"{self.num_classes} classes")


def load(size: int = SIZE, test_fraction: float = 0.2, split_seed: int = 0,
         device: torch.device | str | None = None) -> Digits:
    """Load the digits, upsample them to ``size`` x ``size``, split, normalise and move to ``device``.

    Pixels (0-16) are scaled to [0, 1], upsampled bilinearly, then standardised with the training
    images' mean and standard deviation (the test images never inform the normalisation).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    if int(size) != size or size < 8:
        raise ValueError(f"size must be an integer of at least 8 (the images are 8x8), got {size!r}")
    bunch = load_digits()
    images = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    images = F.interpolate(images, size=(int(size), int(size)), mode="bilinear", align_corners=False)
    labels = torch.tensor(bunch.target, dtype=torch.long)
    train_idx, test_idx = train_test_split(np.arange(len(labels)), test_size=test_fraction,
                                           stratify=bunch.target, random_state=split_seed)
    x_train, x_test = images[train_idx], images[test_idx]
    mean, std = x_train.mean(), x_train.std()
    dev = torch.device(device) if device is not None else env.device()
    return Digits((x_train - mean).div(std).to(dev), labels[train_idx].to(dev),
                  (x_test - mean).div(std).to(dev), labels[test_idx].to(dev))
