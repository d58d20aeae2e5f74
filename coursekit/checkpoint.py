"""What a training run keeps: its History, and checkpoints that survive a crash.

A checkpoint is written to ``PATH.tmp`` and then renamed onto ``PATH`` with
``os.replace`` (atomic on POSIX and Windows), so a run killed mid-write
leaves the previous checkpoint intact. Files hold only tensors, numbers,
strings, lists and dicts, so they load with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["KEYS", "History", "atomic_save", "load_checkpoint", "load_models", "capture_rng", "restore_rng"]

# the keys of a training record (coursekit.train.GANTrainer's callbacks receive these, plus "samples")
KEYS = ("step", "d_loss", "g_loss", "d_real", "d_fake", "grad_norm_d", "grad_norm_g", "time")


@dataclass
class History:
    """What ``train`` logged: one entry per record (every ``log_every`` steps), plus sample snapshots.

    ``steps`` is also available as ``step`` (the record's key).
    """

    steps: list[int] = field(default_factory=list)
    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    d_real: list[float] = field(default_factory=list)
    d_fake: list[float] = field(default_factory=list)
    grad_norm_d: list[float] = field(default_factory=list)
    grad_norm_g: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    snapshots: list[tuple[int, Tensor]] = field(default_factory=list)

    @property
    def step(self) -> list[int]:
        return self.steps

    def _lists(self) -> list[list]:
        return [self.steps] + [getattr(self, k) for k in KEYS[1:]]

    def append(self, record: dict[str, Any]) -> None:
        for lst, key in zip(self._lists(), KEYS):
            lst.append(record[key])

    def __len__(self) -> int:
        return len(self.steps)

    def last(self) -> dict[str, Any]:
        """The last record as a dict (without samples)."""
        if not self.steps:
            raise IndexError("the history is empty: train for at least log_every steps")
        return {k: lst[-1] for k, lst in zip(KEYS, self._lists())}

    def as_dict(self) -> dict[str, list]:
        """Columns keyed like the records (``step``, ``d_loss``, …), e.g. for ``pandas.DataFrame``."""
        return {k: list(lst) for k, lst in zip(KEYS, self._lists())}

    def truncate(self, n_records: int, n_snapshots: int) -> None:
        for lst in self._lists():
            del lst[n_records:]
        del self.snapshots[n_snapshots:]

    def state_dict(self) -> dict[str, Any]:
        return {**self.as_dict(), "snapshots": [[s, x] for s, x in self.snapshots]}

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> History:
        h = cls(**{("steps" if k == "step" else k): list(state[k]) for k in KEYS})
        h.snapshots = [(int(s), x) for s, x in state["snapshots"]]
        return h



def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj, path)`` via a temporary file and ``os.replace``: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device | None = "cpu") -> dict:
    """Load a checkpoint written by :class:`coursekit.train.GANTrainer` (``weights_only=True``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}; train with checkpoint_every > 0 and checkpoint_path set")
    state = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(state, dict) or "generator" not in state or "discriminator" not in state:
        raise ValueError(f"{path} is not a GANTrainer checkpoint (no 'generator'/'discriminator' entries)")
    return state


def load_models(
    path: str | os.PathLike,
    generator: nn.Module | None = None,
    discriminator: nn.Module | None = None,
    map_location: str | torch.device | None = "cpu",
) -> int:
    """Load only the weights of a trainer checkpoint into the given models; return its step."""
    state = load_checkpoint(path, map_location)
    if generator is not None:
        generator.load_state_dict(state["generator"])
    if discriminator is not None:
        discriminator.load_state_dict(state["discriminator"])
    return int(state["step"])


def capture_rng(generator: torch.Generator) -> dict[str, Any]:
    """The states of a trainer's generator and of PyTorch's global RNGs (CPU, and CUDA if present)."""
    state: dict[str, Any] = {"trainer": generator.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any], generator: torch.Generator) -> None:
    """Inverse of :func:`capture_rng` (states are moved to the CPU first, as PyTorch requires)."""
    generator.set_state(state["trainer"].cpu())
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = [s.cpu() for s in state["cuda"]]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_states)
