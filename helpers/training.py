"""Train, evaluate, prune and fine-tune the course's small digits CNN, on CPU or GPU.

Everything runs on the device the tensors of ``helpers.data.Digits`` live on. Runs are seeded:
on a CPU the same seed gives the same weights; on a GPU cuDNN may pick kernels that differ in the
last bits, so accuracies can move by a test image or two between runs, while parameter counts never do.

On a CPU the training and evaluation loops run on ``CPU_THREADS`` thread(s): this model's layers are
too small to share between cores, and on a busy machine threads that wait for each other cost far
more than they save (training ran 6 to 10 times slower on 2 threads than on 1 on a busy 2-core CPU).
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from . import env, pruning
from .data import NUM_CLASSES, Digits
from .theory import check_channel_ratio

CPU_THREADS = 1


@contextlib.contextmanager
def _cpu_threads(device: torch.device):
    """Run the block on ``CPU_THREADS`` threads when ``device`` is a CPU; restore the setting after."""
    if torch.device(device).type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(CPU_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class DigitsCNN(nn.Module):
    """Four 3x3 conv-BN-ReLU layers (width, width, 2 width, 2 width) in two pooled stages, global
    average pooling and a linear classifier. With the default width 20 it holds 26,030 parameters."""

    def __init__(self, width: int = 20, num_classes: int = NUM_CLASSES):
        super().__init__()
        if int(width) != width or width < 2:
            raise ValueError(f"width must be an integer of at least 2, got {width!r}")

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]

        w = int(width)
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


# ---- training and evaluation ---------------------------------------------------------------
class Losses(list):
    """What ``fit`` returns: the mean training loss of each pass over the training images (a plain
    list, as before), plus ``steps``, the number of optimiser steps taken. Under a ``steps`` budget
    the last pass may be partial."""

    steps: int = 0


def steps_per_epoch(data: Digits, batch_size: int = 64) -> int:
    """Optimiser steps in one epoch: one per batch, the last batch possibly smaller (none dropped)."""
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return math.ceil(len(data.y_train) / int(batch_size))


def _budget(data: Digits, epochs: int | None, steps: int | None, batch_size: int) -> int:
    """The number of optimiser steps asked for by exactly one of ``epochs`` and ``steps``."""
    if (epochs is None) == (steps is None):
        raise ValueError(f"give exactly one of epochs and steps, got epochs={epochs!r}, steps={steps!r}")
    name, value = ("epochs", epochs) if steps is None else ("steps", steps)
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value) * steps_per_epoch(data, batch_size) if steps is None else int(value)


def fit(model: nn.Module, data: Digits, epochs: int | None = None, lr: float = 3e-3, seed: int = 0,
        batch_size: int = 64, weight_decay: float = 1e-4, desc: str = "training", *,
        steps: int | None = None) -> Losses:
    """Train ``model`` in place with AdamW under a one-cycle learning-rate schedule.

    The budget is ``epochs`` passes over the training images or, instead, exactly ``steps``
    optimiser steps (the batches run on across passes, reshuffled each pass): two runs given the
    same ``steps`` and ``batch_size`` take the same number of steps, and see the same number of
    images, whatever their training sets' sizes. The one-cycle schedule spans the whole budget.

    The optimiser is built here, from the model's current parameters: after pruning, the old
    optimiser would still hold the removed tensors. Returns the mean training loss of each pass,
    with the number of steps taken as ``.steps``.
    """
    total_steps = _budget(data, epochs, steps, batch_size)
    torch.manual_seed(seed)
    loader = data.train_loader(batch_size, seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps)
    model.train()
    losses, taken = Losses(), 0
    with _cpu_threads(data.device), tqdm(total=total_steps, desc=desc, disable=env.progress_disabled(),
                                         leave=False) as bar:
        while taken < total_steps:
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
                if taken == total_steps:
                    break
            losses.append(float(total) / n)
    model.eval()
    losses.steps = taken
    return losses


def fine_tune(model: nn.Module, data: Digits, epochs: int | None = None, lr: float = 1e-3, seed: int = 0, *,
              steps: int | None = None, batch_size: int = 64) -> Losses:
    """A short, gentler training run of an already trained (e.g. pruned) model, for ``epochs`` or
    exactly ``steps`` optimiser steps (see ``fit``). Its parameter count does not change:
    fine-tuning only moves the weights that pruning kept."""
    return fit(model, data, epochs, lr=lr, seed=seed, batch_size=batch_size, desc="fine-tuning", steps=steps)


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


def recalibrate_bn(model: nn.Module, data: Digits, seed: int = 0, batch_size: int | None = 256) -> None:
    """Reset every batch-norm layer's running mean and variance and re-estimate them over the
    training images, then leave ``model`` in eval mode, ready to be evaluated.

    Pruning removes input channels of the next convolution, so its outputs no longer have the
    statistics its batch norm stored during training. ``update_bn`` runs the model in train mode
    under ``no_grad``: no weight is trained, and the validation and test images are never used.
    ``update_bn`` averages the statistics of its batches with equal weights whatever their sizes;
    ``batch_size=None`` passes the training images as one batch, so the statistics are exactly their
    mean and (unbiased) variance. The default, 256, is what the recorded accuracy studies used.
    ``seed`` orders the images.
    """
    size = len(data.y_train) if batch_size is None else batch_size
    with _cpu_threads(data.device):
        torch.optim.swa_utils.update_bn(data.train_loader(size, seed), model)
    model.eval()  # update_bn restores the mode the model came in; evaluation needs eval mode


def train_baseline(data: Digits, epochs: int, seed: int = 0, width: int = 20) -> DigitsCNN:
    """A DigitsCNN trained from scratch for ``epochs`` epochs with ``seed`` (weights and batch order)."""
    model = new_model(seed, data.device, width)
    fit(model, data, epochs, seed=seed, desc=f"training (seed {seed})")
    return model


# ---- pruning, then fine-tuning -------------------------------------------------------------
@dataclass
class Trial:
    """One channel ratio applied to one trained model: what pruning removed and what it cost."""

    seed: int
    channel_ratio: float
    params_before: int
    params_after: int
    acc_baseline: float  # the trained model before pruning
    acc_pruned: float  # right after pruning
    acc_recalibrated: float  # after refreshing the batch-norm statistics (no weight trained)
    acc_finetuned: float  # after the short fine-tune
    finetune_epochs: int
    model: nn.Module = field(repr=False, compare=False)

    @property
    def param_reduction(self) -> float:
        return 1.0 - self.params_after / self.params_before

    def row(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k != "model"}
        out["param_reduction"] = self.param_reduction
        return out


def prune_and_fine_tune(model: nn.Module, data: Digits, channel_ratio: float, finetune_epochs: int,
                        seed: int = 0, acc_baseline: float | None = None) -> Trial:
    """Prune a copy of ``model`` at ``channel_ratio`` (classifier outputs protected) and measure its
    accuracy three times: right after pruning, after refreshing its batch-norm statistics, and after
    fine-tuning for ``finetune_epochs``. ``model`` itself is left untouched."""
    check_channel_ratio(channel_ratio)
    if acc_baseline is None:
        acc_baseline = evaluate(model, data)
    result = pruning.prune_copy(model, data.example_inputs(), channel_ratio, ignored_layers(model),
                                count_macs=False)
    pruned = result.model
    acc_pruned = evaluate(pruned, data)
    recalibrate_bn(pruned, data, seed=seed)
    acc_recalibrated = evaluate(pruned, data)
    if finetune_epochs:
        fine_tune(pruned, data, finetune_epochs, seed=seed)
    acc_finetuned = evaluate(pruned, data)
    return Trial(seed, float(channel_ratio), result.params_before, result.params_after, acc_baseline,
                 acc_pruned, acc_recalibrated, acc_finetuned, int(finetune_epochs), pruned)


def sweep(baselines: dict[int, nn.Module], data: Digits, ratios, finetune_epochs: int) -> list[dict]:
    """Every channel ratio applied to every seed's trained model; one row per (seed, ratio)."""
    rows = []
    jobs = [(seed, float(p)) for seed in baselines for p in ratios]
    accs = {seed: evaluate(m, data) for seed, m in baselines.items()}
    for seed, p in tqdm(jobs, desc="sweep", disable=env.progress_disabled()):
        trial = prune_and_fine_tune(baselines[seed], data, p, finetune_epochs, seed=seed, acc_baseline=accs[seed])
        rows.append(trial.row())
    return rows


def mean_ci(values, level: float = 0.95) -> tuple[float, float, float]:
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


def summarise(rows: list[dict], keys=("acc_pruned", "acc_recalibrated", "acc_finetuned")) -> list[dict]:
    """Rows grouped by channel ratio: the mean, min and max over seeds of each of ``keys`` (notebook
    10's curve; ``helpers.protocol.summarise`` gives means with their intervals)."""
    ratios = sorted({r["channel_ratio"] for r in rows})
    out = []
    for p in ratios:
        group = [r for r in rows if r["channel_ratio"] == p]
        summary = {"channel_ratio": p, "param_reduction": group[0]["param_reduction"], "seeds": len(group)}
        for k in keys:
            values = np.array([r[k] for r in group], dtype=float)
            summary.update({f"{k}_mean": float(values.mean()), f"{k}_min": float(values.min()),
                            f"{k}_max": float(values.max())})
        out.append(summary)
    return out


# ---- what each mode runs, and where its results go -----------------------------------------
@dataclass(frozen=True)
class Plan:
    train_epochs: int
    finetune_epochs: int
    seeds: tuple[int, ...]
    ratios: tuple[float, ...]


PLANS = {
    "quick": Plan(train_epochs=10, finetune_epochs=2, seeds=(0, 1, 2),
                  ratios=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)),
    "full": Plan(train_epochs=30, finetune_epochs=2, seeds=(0, 1, 2, 3, 4),
                 ratios=tuple(round(0.05 * i, 2) for i in range(1, 18))),
}


def plan(mode: str | None = None) -> Plan:
    """The run of notebook 10 for ``mode`` (default: ``helpers.env.mode()``)."""
    mode = mode or env.mode()
    if mode not in PLANS:
        raise ValueError(f"mode must be one of {sorted(PLANS)}, got {mode!r}")
    return PLANS[mode]


def stamp(device: torch.device | None = None) -> dict[str, str]:
    """Where and with what a result was measured: ``helpers.env.stamp()`` and the mode."""
    return {**env.stamp(device), "mode": env.mode()}


def write_csv(rows: list[dict], name: str, device: torch.device | None = None,
              out: str | Path | None = None) -> Path:
    """Write ``rows`` to figures/``name``.csv (or under ``out``) as a record stamped with ``stamp``."""
    from .plots import figures_dir
    from .tooling import records

    return records.write(figures_dir(out) / (name if name.endswith(".csv") else f"{name}.csv"), rows,
                         stamp(device))
