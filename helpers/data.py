"""The course's training data: scikit-learn's bundled handwritten digits, read from disk (no download).

1,797 grey 8x8 images of the digits 0-9 (``sklearn.datasets.load_digits``), upsampled to 16x16 so
that a small CNN has room for two pooling stages. The train/test split is stratified and fixed by
``split_seed``: the same images land on the same side on every machine.

``load(val_fraction=...)`` also holds out a validation split (for choices such as a learning rate or
a stopping point, so that the test images are looked at once, at the end), and
``load(train_size=...)`` keeps only that many training images, for a task that is not at ceiling.
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


SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Digits:
    """Normalised image tensors (N, 1, SIZE, SIZE) and integer labels, already on ``device``.

    ``x_val`` and ``y_val`` are ``None`` unless ``load`` was asked for a validation split; they come
    last so that the two-split ``Digits(x_train, y_train, x_test, y_test)`` still works.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None

    @property
    def has_val(self) -> bool:
        return self.y_val is not None

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Images and labels of split ``name``: 'train', 'val' or 'test'."""
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {name!r}")
        if name == "val" and not self.has_val:
            raise ValueError("these digits have no validation split: load them with val_fraction > 0")
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")

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
        val = f", {len(self.y_val)} validation" if self.has_val else ""
        return (f"{n_train} training{val} and {n_test} test images of shape {shape}, "
                f"{self.num_classes} classes")


def split_indices(labels: np.ndarray, test_fraction: float = 0.2, val_fraction: float = 0.0,
                  train_size: int | None = None, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Positions of the training, validation and test items of ``labels``, stratified and fixed by ``seed``.

    The splits are drawn in this order, so that each choice leaves the earlier splits alone:

    1. ``test_fraction`` of all items go to the test split (the same items whatever the other two
       arguments are);
    2. ``val_fraction`` of all items (rounded to whole items) go to the validation split; with the
       default 0 there is none and ``None`` is returned in its place;
    3. of the rest, ``train_size`` items (default: all of them) are kept for training; the others
       are left out of every split.

    Returns ``(train, val, test)``, three disjoint index arrays.
    """
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    n_classes = len(np.unique(labels))
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    if not 0 <= val_fraction < 1 - test_fraction:
        raise ValueError(f"val_fraction must lie in [0, 1 - test_fraction), got {val_fraction!r}")
    if train_size is not None and (int(train_size) != train_size or train_size < n_classes):
        # fewer images than classes cannot be stratified
        raise ValueError(f"train_size must be an integer of at least {n_classes}, got {train_size!r}")
    train, test = train_test_split(np.arange(len(labels)), test_size=test_fraction, stratify=labels,
                                   random_state=seed)
    val = None
    n_val = round(val_fraction * len(labels))
    if n_val:
        train, val = train_test_split(train, test_size=n_val, stratify=labels[train], random_state=seed)
    if train_size is not None and train_size != len(train):
        if train_size > len(train):
            raise ValueError(f"train_size={train_size} but only {len(train)} training images are left")
        train, _ = train_test_split(train, train_size=int(train_size), stratify=labels[train],
                                    random_state=seed)
    return train, val, test


def load(size: int = SIZE, test_fraction: float = 0.2, split_seed: int = 0,
         device: torch.device | str | None = None, val_fraction: float = 0.0,
         train_size: int | None = None) -> Digits:
    """Load the digits, upsample them to ``size`` x ``size``, split, normalise and move to ``device``.

    ``split_indices(labels, test_fraction, val_fraction, train_size, split_seed)`` picks the splits
    (stratified, seeded; by default a training and a test split only, as before). Pixels (0-16) are
    scaled to [0, 1], upsampled bilinearly, then standardised with the kept training images' mean
    and standard deviation (the validation and test images never inform the normalisation).
    """
    from sklearn.datasets import load_digits

    if int(size) != size or size < 8:
        raise ValueError(f"size must be an integer of at least 8 (the images are 8x8), got {size!r}")
    bunch = load_digits()
    train_idx, val_idx, test_idx = split_indices(bunch.target, test_fraction, val_fraction, train_size,
                                                 split_seed)
    images = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    images = F.interpolate(images, size=(int(size), int(size)), mode="bilinear", align_corners=False)
    labels = torch.tensor(bunch.target, dtype=torch.long)
    x_train = images[train_idx]
    mean, std = x_train.mean(), x_train.std()
    dev = torch.device(device) if device is not None else env.device()

    def prepare(idx: np.ndarray | None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        if idx is None:
            return None, None
        return (images[idx] - mean).div(std).to(dev), labels[idx].to(dev)

    return Digits(*prepare(train_idx), *prepare(test_idx), *prepare(val_idx))
