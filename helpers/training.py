"""The accuracy side of the course: handwritten digits, a small CNN, and the one pipeline that every
accuracy notebook (10, 11, 12) runs.

* **The data**: scikit-learn's bundled digits, read from disk (no download): 1,797 grey 8x8 images of
  the digits 0-9, upsampled to 16x16 so that a small CNN has room for two pooling stages (``load``,
  ``Digits``). The splits are stratified and fixed by ``split_seed``: the same images land on the
  same side on every machine. ``load(val_fraction=...)`` also holds out a validation split, for
  choices (the test images are then looked at once, at the end), and ``load(train_size=...)`` keeps
  only that many training images, for a task that is not at ceiling.
* **The model**: ``DigitsCNN`` (``new_model``), with the classifier in ``ignored_layers``.
* **Training**: ``fit`` and ``fine_tune`` for a budget in optimiser steps, ``evaluate``, and
  ``recalibrate_bn``, which re-estimates batch norm's statistics over the training images.
* **The pipeline**: ``prune_and_fine_tune`` prunes a copy of a trained model, refreshes its batch
  norm, measures it, fine-tunes it for a number of steps and measures it again; it returns a
  ``Run``. ``prune_at_ratios`` runs it at several channel ratios on every seed's model.
* **The summary**: ``summarise`` groups runs and gives each accuracy's mean over seeds with its 95%
  interval (Student's t, ``mean_ci``).

Runs are seeded: on a CPU the same seed gives the same weights; on a GPU cuDNN may pick kernels that
differ in the last bits, so accuracies can move by a test image or two between runs, while parameter
counts never do. On a CPU the training and evaluation loops run on one thread: this model's layers
are too small to share between cores, and on a busy machine threads that wait for each other cost
far more than they save (training ran 6 to 10 times slower on 2 threads than on 1 on a busy 2-core
CPU).
"""
from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm import tqdm

from . import env, pruning
from ._core import check_channel_ratio, check_positive_int
from .counting import n_params

__all__ = ["SIZE", "NUM_CLASSES", "SPLITS", "Digits", "split_indices", "load",
           "DigitsCNN", "new_model", "ignored_layers",
           "steps_per_epoch", "fit", "fine_tune", "evaluate", "recalibrate_bn", "train_baseline",
           "Run", "prune_and_fine_tune", "prune_at_ratios",
           "LEVEL", "mean_ci", "percent", "summarise",
           "Plan", "plan"]

SIZE = 16  # images are upsampled from 8x8 to SIZE x SIZE
NUM_CLASSES = 10
SPLITS = ("train", "val", "test")
LEVEL = 0.95  # the level of every interval over seeds

_CPU_THREADS = 1


@contextlib.contextmanager
def _cpu_threads(device: torch.device):
    """Run the block on ``_CPU_THREADS`` thread(s) when ``device`` is a CPU; restore the setting after."""
    if torch.device(device).type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(_CPU_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# ---- the data ----------------------------------------------------------------------------------
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
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    if not 0 <= val_fraction < 1 - test_fraction:
        raise ValueError(f"val_fraction must lie in [0, 1 - test_fraction), got {val_fraction!r}")
    if train_size is not None:  # fewer images than classes cannot be stratified
        train_size = check_positive_int(train_size, "train_size", minimum=len(np.unique(labels)))
    train, test = train_test_split(np.arange(len(labels)), test_size=test_fraction, stratify=labels,
                                   random_state=seed)
    val = None
    n_val = round(val_fraction * len(labels))
    if n_val:
        train, val = train_test_split(train, test_size=n_val, stratify=labels[train], random_state=seed)
    if train_size is not None and train_size != len(train):
        if train_size > len(train):
            raise ValueError(f"train_size={train_size} but only {len(train)} training images are left")
        train, _ = train_test_split(train, train_size=train_size, stratify=labels[train], random_state=seed)
    return train, val, test


def load(size: int = SIZE, test_fraction: float = 0.2, split_seed: int = 0,
         device: torch.device | str | None = None, val_fraction: float = 0.0,
         train_size: int | None = None) -> Digits:
    """Load the digits, upsample them to ``size`` x ``size``, split, normalise and move to ``device``.

    ``split_indices(labels, test_fraction, val_fraction, train_size, split_seed)`` picks the splits
    (stratified, seeded; by default a training and a test split only). Pixels (0-16) are scaled to
    [0, 1], upsampled bilinearly, then standardised with the kept training images' mean and standard
    deviation (the validation and test images never inform the normalisation).
    """
    from sklearn.datasets import load_digits

    size = check_positive_int(size, "size (the images are 8x8)", minimum=8)
    bunch = load_digits()
    train_idx, val_idx, test_idx = split_indices(bunch.target, test_fraction, val_fraction, train_size,
                                                 split_seed)
    images = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    labels = torch.tensor(bunch.target, dtype=torch.long)
    x_train = images[train_idx]
    mean, std = x_train.mean(), x_train.std()
    dev = torch.device(device) if device is not None else env.device()

    def prepare(idx: np.ndarray | None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        if idx is None:
            return None, None
        return (images[idx] - mean).div(std).to(dev), labels[idx].to(dev)

    return Digits(*prepare(train_idx), *prepare(test_idx), *prepare(val_idx))


# ---- the model ---------------------------------------------------------------------------------
class DigitsCNN(nn.Module):
    """Four 3x3 conv-BN-ReLU layers (width, width, 2 width, 2 width) in two pooled stages, global
    average pooling and a linear classifier. With the default width 20 it holds 26,030 parameters."""

    def __init__(self, width: int = 20, num_classes: int = NUM_CLASSES):
        super().__init__()
        w = check_positive_int(width, "width", minimum=2)

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *block(1, w), *block(w, w), nn.MaxPool2d(2),
            *block(w, 2 * w), *block(2 * w, 2 * w), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.classifier = nn.Linear(2 * w, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def ignored_layers(model: DigitsCNN) -> list[nn.Module]:
    """Layers whose outputs must not be pruned: the classifier (its outputs are the 10 classes)."""
    return [model.classifier]


def new_model(seed: int = 0, device: torch.device | str | None = None, width: int = 20) -> DigitsCNN:
    """A freshly initialised DigitsCNN; the weights depend on ``seed`` only."""
    torch.manual_seed(seed)
    return DigitsCNN(width).to(device if device is not None else env.device())


# ---- training and evaluation -------------------------------------------------------------------
def steps_per_epoch(data: Digits, batch_size: int = 64) -> int:
    """Optimiser steps in one pass over the training images: one per batch, the last batch possibly
    smaller (none dropped). Budgets are stated in steps; this converts a number of passes."""
    return math.ceil(len(data.y_train) / check_positive_int(batch_size, "batch_size"))


def fit(model: nn.Module, data: Digits, steps: int, lr: float = 3e-3, seed: int = 0, batch_size: int = 64,
        weight_decay: float = 1e-4, desc: str = "training") -> list[float]:
    """Train ``model`` in place for exactly ``steps`` optimiser steps, with AdamW under a one-cycle
    learning-rate schedule that spans them.

    The batches run on across passes over the training images, reshuffled each pass: two runs given
    the same ``steps`` and ``batch_size`` take the same number of steps, and see the same number of
    images, whatever their training sets' sizes. The optimiser is built here, from the model's
    current parameters: after pruning, an old optimiser would still hold the removed tensors.
    Returns the mean training loss of each pass (the last one may be partial).
    """
    steps = check_positive_int(steps, "steps")
    torch.manual_seed(seed)
    loader = data.train_loader(check_positive_int(batch_size, "batch_size"), seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
    model.train()
    losses, taken = [], 0
    with _cpu_threads(data.device), tqdm(total=steps, desc=desc, disable=env.progress_disabled(),
                                         leave=False) as bar:
        while taken < steps:
            total, n = torch.zeros((), device=data.device), 0
            for x, y in loader:
                loss = F.cross_entropy(model(x), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                taken += 1
                bar.update()
                total += loss.detach() * len(y)
                n += len(y)
                if taken == steps:
                    break
            losses.append(float(total) / n)
    model.eval()
    return losses


def fine_tune(model: nn.Module, data: Digits, steps: int, lr: float = 1e-3, seed: int = 0,
              batch_size: int = 64) -> list[float]:
    """A short, gentler ``fit`` of an already trained (e.g. pruned) model, for exactly ``steps``
    optimiser steps. Its parameter count does not change: fine-tuning only moves the weights that
    pruning kept."""
    return fit(model, data, steps, lr=lr, seed=seed, batch_size=batch_size, desc="fine-tuning")


@torch.no_grad()
def evaluate(model: nn.Module, data: Digits, split: str = "test") -> float:
    """Fraction of correctly classified images of ``split`` ('test', 'val' or 'train'), in eval mode.

    Batch norm uses its running statistics and nothing in the model changes; the model's
    train/eval mode is restored afterwards. 'val' needs digits loaded with ``val_fraction > 0``.
    """
    x, y = data.split(split)
    was_training = model.training
    model.eval()
    with _cpu_threads(x.device):
        correct = sum(int((model(xb).argmax(1) == yb).sum()) for xb, yb in zip(x.split(512), y.split(512)))
    model.train(was_training)
    return correct / len(y)


def recalibrate_bn(model: nn.Module, data: Digits) -> None:
    """Reset every batch-norm layer's running mean and variance and set them to those of the training
    images, then leave ``model`` in eval mode, ready to be evaluated.

    Pruning removes input channels of the next convolution, so its outputs no longer have the
    statistics its batch norm stored during training. ``torch.optim.swa_utils.update_bn`` runs the
    model in train mode under ``no_grad`` on all the training images as one batch: no weight is
    trained, the validation and test images are never used, and the statistics are exactly the
    training images' mean and (unbiased) variance.
    """
    with _cpu_threads(data.device):
        torch.optim.swa_utils.update_bn([data.x_train], model)
    model.eval()  # update_bn restores the mode the model came in; evaluation needs eval mode


def train_baseline(data: Digits, steps: int, seed: int = 0, width: int = 20, lr: float = 3e-3,
                   batch_size: int = 64) -> DigitsCNN:
    """A DigitsCNN of ``width`` trained from scratch for ``steps`` optimiser steps with ``seed``
    (weights and batch order)."""
    model = new_model(seed, data.device, width)
    fit(model, data, steps, lr=lr, seed=seed, batch_size=batch_size, desc=f"training (seed {seed})")
    return model


# ---- the pipeline: prune, refresh batch norm, fine-tune ----------------------------------------
@dataclass
class Run:
    """One model on one seed: pruned from a trained one and fine-tuned (``prune_and_fine_tune``), or
    an architecture trained from scratch (``helpers.study.train_from_scratch``).

    ``pretrain_steps`` is the training the starting point already had (the baseline's, for a pruned
    model; 0 from scratch), ``steps`` the training of this run; ``total_steps`` is their sum, the
    budget runs are compared on. Accuracies are fractions; a validation accuracy is None where the
    digits have no validation split, and the ``_pruned`` ones (and ``acc_test_before_refresh``) are
    None from scratch."""

    arm: str  # what was done, e.g. "solver" or "scratch": runs are grouped by it
    budget: float | None  # the fraction of the parameters the arm meant to remove, if stated
    channel_ratio: float | None  # the uniform channel ratio, if the run was given one
    seed: int
    params: int  # parameters left
    param_reduction: float  # 1 - params / the unpruned model's
    pretrain_steps: int
    steps: int
    acc_test_before_refresh: float | None  # right after pruning, batch norm as trained
    acc_val_pruned: float | None  # after pruning and the batch-norm refresh: the kept weights alone
    acc_test_pruned: float | None
    acc_val: float | None  # at the end: after the fine-tune (or the training from scratch)
    acc_test: float
    model: nn.Module = field(repr=False, compare=False)
    lr: float | None = None  # the peak learning rate of this run's training (None: it trained no step)

    @property
    def total_steps(self) -> int:
        return self.pretrain_steps + self.steps

    def row(self) -> dict:
        """The run as a table row: every field but the model, and ``total_steps``."""
        out = {k: v for k, v in asdict(self).items() if k != "model"}
        out["total_steps"] = self.total_steps
        return out


def _seeded_prune(prune: Callable, model: nn.Module, data: Digits, seed: int) -> nn.Module:
    """``prune(copy, data)`` on a copy of ``model`` after ``torch.manual_seed(seed)`` (random importance
    draws from it); the pruned copy comes back."""
    torch.manual_seed(seed)
    with _cpu_threads(data.device):  # on a busy CPU, threads waiting for each other cost 50x here
        pruned = prune(copy.deepcopy(model), data)
    if not isinstance(pruned, nn.Module):
        raise TypeError(f"prune(model, data) must return the pruned model, got {type(pruned).__name__}")
    return pruned


def _uniform(channel_ratio: float) -> Callable:
    """A ``prune(model, data)`` that removes ``channel_ratio`` of every layer's channels with
    ``helpers.pruning.prune`` (Torch-Pruning's BasePruner), the classifier protected."""
    def prune(model, data):
        pruning.prune(model, data.example_inputs(), channel_ratio, ignored_layers(model), count_macs=False)
        return model
    return prune


def prune_and_fine_tune(trained: nn.Module, data: Digits, prune: float | Callable, steps: int, *,
                        lr: float = 1e-3, seed: int = 0, arm: str = "pruned", budget: float | None = None,
                        pretrain_steps: int = 0, batch_size: int = 64) -> Run:
    """Prune a copy of ``trained``, refresh its batch-norm statistics, fine-tune it for ``steps``
    optimiser steps (none for 0), and measure it along the way. ``trained`` is left untouched.

    ``prune`` is either a channel ratio (every layer loses that fraction of its channels, with
    ``helpers.pruning.prune``, the classifier protected) or a function ``prune(model, data)`` that
    prunes ``model`` in place with Torch-Pruning and returns it. It runs after
    ``torch.manual_seed(seed)``, which also seeds the fine-tune.

    The ``Run`` holds the test accuracy right after pruning (``acc_test_before_refresh``), after the
    batch-norm refresh over the training images (``recalibrate_bn``; ``acc_val_pruned``,
    ``acc_test_pruned``) and after the fine-tune at peak learning rate ``lr`` (``acc_val``,
    ``acc_test``). ``arm``, ``budget`` and ``pretrain_steps`` (the training ``trained`` had) are
    recorded as given.
    """
    steps = check_positive_int(steps, "steps", minimum=0)
    pretrain_steps = check_positive_int(pretrain_steps, "pretrain_steps", minimum=0)
    channel_ratio = None
    if not callable(prune):
        channel_ratio = check_channel_ratio(prune)
        prune = _uniform(channel_ratio)
    before = n_params(trained)
    pruned = _seeded_prune(prune, trained, data, seed)
    acc_before_refresh = evaluate(pruned, data)
    recalibrate_bn(pruned, data)

    def accuracies() -> tuple[float | None, float]:
        return (evaluate(pruned, data, "val") if data.has_val else None), evaluate(pruned, data)

    acc_val_pruned, acc_test_pruned = accuracies()
    if steps:
        fine_tune(pruned, data, steps, lr=lr, seed=seed, batch_size=batch_size)
    acc_val, acc_test = accuracies() if steps else (acc_val_pruned, acc_test_pruned)
    after = n_params(pruned)
    return Run(arm, budget, channel_ratio, seed, after, 1 - after / before, pretrain_steps, steps,
               acc_before_refresh, acc_val_pruned, acc_test_pruned, acc_val, acc_test, pruned, lr if steps else None)


def prune_at_ratios(trained: dict[int, nn.Module], data: Digits, ratios: Sequence[float], steps: int, *,
                    lr: float = 1e-3, arm: str = "uniform", pretrain_steps: int = 0,
                    batch_size: int = 64) -> list[Run]:
    """``prune_and_fine_tune`` at every channel ratio of ``ratios`` on every seed's trained model
    (``trained`` maps a seed to its model); one ``Run`` per (seed, ratio), seed by seed."""
    ratios = [check_channel_ratio(p) for p in ratios]
    jobs = [(seed, p) for seed in trained for p in ratios]
    return [prune_and_fine_tune(trained[seed], data, p, steps, lr=lr, seed=seed, arm=arm,
                                pretrain_steps=pretrain_steps, batch_size=batch_size)
            for seed, p in tqdm(jobs, desc="prune at ratios", disable=env.progress_disabled())]


# ---- the summary over seeds --------------------------------------------------------------------
def mean_ci(values, level: float = LEVEL) -> tuple[float, float, float]:
    """The mean of ``values`` (e.g. one accuracy per seed) and a ``level`` confidence interval for it,
    from Student's t with n - 1 degrees of freedom: ``mean -/+ t((1 + level) / 2, n - 1) * s / sqrt(n)``,
    ``s`` the sample standard deviation. Returns ``(mean, low, high)``.

    It needs at least two values: one run says nothing about the spread between runs, and an
    interval of zero width would claim the opposite, so a single value raises ``ValueError``.
    Identical values give an interval of zero width.
    """
    from scipy import stats

    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    x = np.asarray(values, dtype=float).ravel()
    if len(x) < 2:
        raise ValueError(f"a confidence interval needs at least 2 values, got {len(x)}")
    if not np.isfinite(x).all():
        raise ValueError(f"values must be finite, got {x.tolist()}")
    mean = float(x.mean())
    half = float(stats.t.ppf((1 + level) / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return mean, mean - half, mean + half


def percent(mean: float, low: float, high: float) -> str:
    """An accuracy with its interval, in percent: '92.8% (91.5 to 94.1)'."""
    return f"{100 * mean:.1f}% ({100 * low:.1f} to {100 * high:.1f})"


def summarise(rows: Sequence[dict], keys: Sequence[str], by: Sequence[str] = ("budget", "arm"),
              level: float = LEVEL) -> list[dict]:
    """One row per group of ``by`` (in the order the groups first appear; by default one arm at one
    budget, as ``Run.row`` gives them): ``n`` seeds, and for each key ``{key}_mean``, ``{key}_low``,
    ``{key}_high`` (``mean_ci``; None where a key is None in the group) and ``{key}_text``,
    "92.8% (91.5 to 94.1)"; the other columns of the group's first row come along (e.g. params)."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in by), []).append(r)
    out = []
    for group in groups.values():
        summary = {k: v for k, v in group[0].items() if k not in keys and k != "seed"}
        summary["n"] = len(group)
        for key in keys:
            values = [r[key] for r in group]
            if any(v is None for v in values):
                summary.update({f"{key}_mean": None, f"{key}_low": None, f"{key}_high": None, f"{key}_text": None})
                continue
            mean, low, high = mean_ci(values, level)
            summary.update({f"{key}_mean": mean, f"{key}_low": low, f"{key}_high": high,
                            f"{key}_text": percent(mean, low, high)})
        out.append(summary)
    return out


# ---- notebook 10's run in each mode, and where results go --------------------------------------
@dataclass(frozen=True)
class Plan:
    """Notebook 10's run: budgets in optimiser steps (batches of ``batch_size`` images)."""

    train_steps: int  # the baseline's training
    finetune_steps: int  # the fine-tune after each pruning
    seeds: tuple[int, ...]
    ratios: tuple[float, ...]  # the channel ratios of the curve
    batch_size: int = 64


# 23 steps are one pass over the 1,437 training images: 10 and 30 passes, then a 2-pass fine-tune
_PLANS = {
    "quick": Plan(train_steps=230, finetune_steps=46, seeds=(0, 1, 2),
                  ratios=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)),
    "full": Plan(train_steps=690, finetune_steps=46, seeds=(0, 1, 2, 3, 4),
                 ratios=tuple(round(0.05 * i, 2) for i in range(1, 18))),
}


def plan(mode: str | None = None) -> Plan:
    """The run of notebook 10 for ``mode`` (default: ``helpers.env.mode()``)."""
    return env.for_mode(_PLANS, mode)
