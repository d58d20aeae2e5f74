"""What a training run keeps: its History, and checkpoints that describe their models and survive a crash.

A checkpoint (:func:`save_checkpoint`) holds ``{"format": 2, "models": {name: {"class", "args",
"state"}}, "meta": {...}}``: for each model its class name, its constructor arguments
(the model's ``init_args``) and its weights, so :func:`load_model` rebuilds it as
``cls(**args)`` with no guessing; ``cls`` comes from ``coursekit.models.MODEL_CLASSES``.
``meta`` holds anything plain: the step, a config summary, optimiser states.

A checkpoint is written to ``PATH.tmp`` and then renamed onto ``PATH`` with
``os.replace`` (atomic on POSIX and Windows), so a run killed mid-write
leaves the previous checkpoint intact. Files hold only tensors, numbers,
strings, lists and dicts, so they load with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import Tensor, nn

__all__ = ["FORMAT", "KEYS", "History", "atomic_save", "describe", "save_checkpoint", "load_checkpoint", "build_model",
           "load_model", "quantize_int8", "dequantize_int8", "capture_rng", "restore_rng"]

# the keys of a training record (coursekit.train.GANTrainer's callbacks receive these, plus "samples")
KEYS = ("step", "d_loss", "g_loss", "d_real", "d_fake", "grad_norm_d", "grad_norm_g", "time")
FORMAT = 2  # the checkpoint layout of this module (1: GANTrainer's undescribed state dicts, before issue 28)


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


def describe(model: nn.Module) -> dict[str, Any]:
    """``{"class", "args", "state"}``: ``model``'s class name, its ``init_args`` and its weights on the CPU.

    A model without ``init_args`` gets ``args = None``: its weights are saved,
    but :func:`build_model` cannot rebuild it.
    """
    args = getattr(model, "init_args", None)
    return {"class": type(model).__name__, "args": None if args is None else dict(args),
            "state": {k: v.detach().cpu() for k, v in model.state_dict().items()}}


def save_checkpoint(path: str | os.PathLike, models: Mapping[str, nn.Module],
                    meta: Mapping[str, Any] | None = None) -> Path:
    """Atomically write each of ``models`` as :func:`describe` gives it, and plain ``meta``."""
    entries = {name: describe(model) for name, model in models.items()}
    return atomic_save({"format": FORMAT, "models": entries, "meta": dict(meta or {})}, path)


def _rerun(path: Path) -> str:
    """What to run again to write ``path`` anew: lesson N for a ``runs/NN_*.pt`` file, else its script."""
    lesson = path.name[:2]
    return f"re-run lesson {int(lesson)}" if lesson.isdigit() else "re-run the script that wrote it"


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device | None = "cpu") -> dict[str, Any]:
    """The contents of a :func:`save_checkpoint` file (``weights_only=True``); ``ValueError`` for an older file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise ValueError(f"{path.name} is not a current coursekit checkpoint (format {FORMAT}): it does not record "
                         f"its models' constructor arguments; {_rerun(path)} to write a current checkpoint")
    return checkpoint


def _model_classes() -> dict[str, type[nn.Module]]:
    from coursekit.models import MODEL_CLASSES  # imported here: coursekit.models imports this module (via stylegan)

    return MODEL_CLASSES


def build_model(entry: Mapping[str, Any]) -> nn.Module:
    """``cls(**args)`` for a :func:`describe` entry, with its weights loaded strictly (in train mode, as built)."""
    classes, name, args = _model_classes(), entry["class"], entry["args"]
    if name not in classes:
        raise ValueError(f"unknown model class {name!r}: a checkpoint rebuilds only the course's models "
                         f"({', '.join(sorted(classes))}); build it yourself and load entry['state'] into it")
    if args is None:
        raise ValueError(f"this {name} was saved without its constructor arguments (no init_args); "
                         "build it yourself and load entry['state'] into it")
    model = classes[name](**args)
    model.load_state_dict(entry["state"])  # strict: a missing or unexpected weight raises
    return model


def load_model(path: str | os.PathLike, name: str = "generator") -> tuple[nn.Module, dict[str, Any]]:
    """The model ``name`` of a checkpoint, rebuilt by :func:`build_model`; and the checkpoint's ``meta``."""
    checkpoint = load_checkpoint(path)
    if name not in checkpoint["models"]:
        raise ValueError(f"{Path(path).name} holds no model {name!r}; it holds {sorted(checkpoint['models'])}")
    return build_model(checkpoint["models"][name]), checkpoint["meta"]


def quantize_int8(state: dict[str, Tensor]) -> dict[str, Any]:
    """Shrink a generator's state dict for shipping (lesson 5's comparison file).

    4-D float weights, read as ConvTranspose2d weights ``[in, out, k, k]``, become
    ``{"q": int8, "scale": float32 per output channel}``; other floats float16; integers are kept.
    """
    out = {}
    for k, v in state.items():
        v = v.detach().cpu()
        if v.is_floating_point() and v.dim() == 4:  # ConvTranspose2d weight [in, out, k, k]: one scale per out channel
            scale = v.abs().amax(dim=(0, 2, 3), keepdim=True).clamp_min(1e-12) / 127
            out[k] = {"q": torch.round(v / scale).to(torch.int8), "scale": scale.float()}
        else:
            out[k] = v.half() if v.is_floating_point() else v
    return out


def dequantize_int8(packed: dict[str, Any]) -> dict[str, Tensor]:
    """The inverse of :func:`quantize_int8`: a float32 state dict (``build_model``'s ``state``)."""
    return {k: (v["q"].float() * v["scale"] if isinstance(v, dict) else v.float() if v.is_floating_point() else v)
            for k, v in packed.items()}


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
