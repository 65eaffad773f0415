"""Where the course runs: device choice, the quick/full switch, and notebook setup."""
from __future__ import annotations

import os
import platform
import random

import torch

__all__ = ["device", "mode", "for_mode", "quick", "under_test", "progress_disabled", "seed_everything", "versions",
           "device_name", "setup"]

MODES = ("quick", "full")


def device(prefer: str | None = None) -> torch.device:
    """CUDA if present, else CPU. ``prefer`` or ``COURSE_DEVICE`` (auto|cpu|cuda) overrides."""
    choice = (prefer or os.environ.get("COURSE_DEVICE") or "auto").lower()
    if choice not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {choice!r}")
    if choice == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no CUDA GPU is visible; use 'auto' or 'cpu'")
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(choice)


def mode() -> str:
    """'quick' on CPU, 'full' on GPU; ``COURSE_MODE=quick|full`` overrides."""
    chosen = os.environ.get("COURSE_MODE", "").strip().lower()
    if not chosen:
        return "full" if torch.cuda.is_available() else "quick"
    if chosen not in MODES:
        raise ValueError(f"COURSE_MODE must be 'quick' or 'full', got {chosen!r}")
    return chosen


def for_mode(choices: dict, which: str | None = None):
    """``choices[which]``, the setting of a mode (default: the current ``mode()``); a ValueError
    names the modes."""
    chosen = which or mode()
    if chosen not in choices:
        raise ValueError(f"mode must be one of {sorted(choices)}, got {chosen!r}")
    return choices[chosen]


def quick() -> bool:
    """True in quick mode (``mode() == "quick"``): the notebooks' one switch for speed."""
    return mode() == "quick"


def under_test() -> bool:
    """True when notebooks run under nbval (``make test`` sets NBVAL=1)."""
    return os.environ.get("NBVAL", "") not in ("", "0")


def progress_disabled() -> bool:
    """tqdm bars are off under nbval, where they would make outputs unstable."""
    return under_test() or os.environ.get("COURSE_NO_PROGRESS", "") not in ("", "0")


def seed_everything(seed: int = 0) -> None:
    """Seed Python's, torch's and numpy's random generators."""
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:  # numpy is a dependency, but seeding must not be why a notebook fails
        pass


def versions() -> dict[str, str]:
    """Versions of Python, torch, torchvision and torch-pruning (the installed release)."""
    from importlib.metadata import version

    import torch_pruning
    import torchvision

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        # torch_pruning.__version__ says 1.6.0 in the 1.6.1 release: ask the installed package instead
        "torch-pruning": version("torch-pruning") if _has_dist("torch-pruning") else torch_pruning.__version__,
    }


def _has_dist(name: str) -> bool:
    from importlib.metadata import PackageNotFoundError, version

    try:
        version(name)
        return True
    except PackageNotFoundError:
        return False


def device_name(dev: torch.device | None = None) -> str:
    """The GPU's name, or "CPU (<processor>, <n> cores)"."""
    dev = dev or device()
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def setup(seed: int = 0, quiet: bool = False) -> torch.device:
    """Start a notebook: fix seeds, set the figure style, print versions, device and mode."""
    from . import report  # matplotlib, only once a notebook starts

    seed_everything(seed)
    report.style()
    dev = device()
    if not quiet:
        v = versions()
        print(" | ".join(f"{k} {val}" for k, val in v.items()))
        print(f"device: {device_name(dev)} | mode: {mode()} (set COURSE_MODE=quick|full to switch)")
    return dev
