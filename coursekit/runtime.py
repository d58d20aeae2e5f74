"""Where and how a lesson runs: device, seeds, quick mode, and a header line.

Environment variables (all optional):
    COURSEKIT_DEVICE   force a device, e.g. "cpu", "cuda", "cuda:1", "mps"
    COURSEKIT_QUICK    "1" runs every lesson in quick mode (what CI uses)
    COURSEKIT_OFFLINE  "1" never touches the network (offline MNIST subset)
    COURSEKIT_DATA     where downloaded data sets are kept (default ~/.cache/coursekit)
"""
from __future__ import annotations

import itertools
import os
import platform
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch

T = TypeVar("T")
_TRUE = {"1", "true", "yes", "on"}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def is_quick() -> bool:
    """True when ``COURSEKIT_QUICK=1``: lessons shrink to prove the code runs."""
    return _flag("COURSEKIT_QUICK")


def is_offline() -> bool:
    """True when ``COURSEKIT_OFFLINE=1``: nothing is downloaded."""
    return _flag("COURSEKIT_OFFLINE")


def quick_or_full(quick: T, full: T) -> T:
    """Return ``quick`` in quick mode and ``full`` otherwise."""
    return quick if is_quick() else full


def data_dir() -> Path:
    """Folder for downloaded data sets (``COURSEKIT_DATA`` overrides)."""
    root = os.environ.get("COURSEKIT_DATA") or Path.home() / ".cache" / "coursekit"
    return Path(root)


def runs_dir() -> Path:
    """Where lessons save what later lessons load: ``COURSEKIT_RUNS``, else ``runs/`` at the repository's root.

    The root is the first of the working directory and its parents that holds
    ``coursekit/`` (a notebook's kernel starts in ``notebooks/``), else the working directory.
    """
    if os.environ.get("COURSEKIT_RUNS"):
        return Path(os.environ["COURSEKIT_RUNS"])
    cwd = Path.cwd()
    root = next((p for p in [cwd, *cwd.parents] if (p / "coursekit").is_dir()), cwd)
    return root / "runs"


def checkpoint_path(name: str) -> Path:
    """``runs_dir() / name`` in full mode; ``runs_dir() / "quick" / name`` in quick mode,
    so a quick run never replaces a full run's checkpoint."""
    return runs_dir() / "quick" / name if is_quick() else runs_dir() / name


def get_device(prefer: str | torch.device | None = None) -> torch.device:
    """Pick the device: ``COURSEKIT_DEVICE``, else ``prefer``, else CUDA, then MPS, then CPU.

    A device that is asked for but absent raises a ``RuntimeError`` that says
    what is available, rather than failing later inside a kernel.
    """
    choice = os.environ.get("COURSEKIT_DEVICE") or prefer
    if choice is not None:
        device = torch.device(choice)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                f"device {device} was asked for (COURSEKIT_DEVICE or prefer=) but CUDA is not "
                "available here; unset COURSEKIT_DEVICE or use 'cpu'."
            )
        if device.type == "mps" and not _mps_available():
            raise RuntimeError(f"device {device} was asked for but Apple MPS is not available; use 'cpu'.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def show_progress(progress: bool | None = None) -> bool:
    """Whether to draw a progress bar: ``progress`` if given, else yes unless in quick mode or on CI (``CI`` set)."""
    if progress is not None:
        return bool(progress)
    return not (is_quick() or os.environ.get("CI"))


def module_device(module: torch.nn.Module, default: str | torch.device = "cpu") -> torch.device:
    """The device of ``module``'s first parameter (else its first buffer, else ``default``)."""
    for tensor in itertools.chain(module.parameters(), module.buffers()):
        return tensor.device
    return torch.device(default)


@contextmanager
def module_mode(module: torch.nn.Module, training: bool = False) -> Iterator[torch.nn.Module]:
    """Put ``module`` in training (``True``) or eval mode for a ``with`` block, then back in the mode it was in."""
    was_training = module.training
    module.train(training)
    try:
        yield module
    finally:
        module.train(was_training)


def eval_mode(module: torch.nn.Module):
    """``with eval_mode(G):`` runs the block with ``G`` in eval mode (BatchNorm's running statistics, no
    dropout) and restores its mode afterwards, even if the block raises."""
    return module_mode(module, training=False)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (all devices) with ``seed``."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    torch.manual_seed(int(seed))
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(int(seed))


def header(seed: int | None = None, device: torch.device | None = None) -> str:
    """One line for the top of a lesson: mode, device, versions and seed."""
    from coursekit import __version__

    device = device if device is not None else get_device()
    parts = [
        f"mode={'quick' if is_quick() else 'full'}",
        f"device={device}",
        f"python={platform.python_version()}",
        # the build tag (+cu130, +cpu) only matters on a GPU, where it names the CUDA version
        f"torch={torch.__version__ if device.type == 'cuda' else torch.__version__.split('+')[0]}",
        f"coursekit={__version__}",
    ]
    if seed is not None:
        parts.append(f"seed={seed}")
    return " | ".join(parts)


def start_lesson(seed: int = 0) -> torch.device:
    """Seed everything, print the run header, and return the device to use."""
    seed_everything(seed)
    device = get_device()
    print(header(seed, device))
    return device
