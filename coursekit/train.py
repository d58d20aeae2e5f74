"""One small GAN trainer for every lesson: the GAN step as a function, and a loop with a NaN guard and checkpoints.

:func:`gan_step` is Algorithm 1 of Goodfellow et al. 2014 (lesson 2's ``train_step``)
with the usual modern options: ``n_critic`` discriminator steps per generator step
(WGAN, Arjovsky et al. 2017), separate learning rates (TTUR, Heusel et al. 2017), the
non-saturating generator loss, label smoothing (Salimans et al. 2016, Sec. 3.4),
instance noise (Sønderby et al. 2017), the gradient penalty (Gulrajani et al. 2017)
and R1 (Mescheder et al. 2018).

Built for a 2-core laptop first: the whole data set is ONE tensor on the
device and batches are random index draws (no DataLoader workers), the
losses take logits, and a step syncs with the host once. On CUDA it uses
bf16 autocast (the penalties stay in fp32).

The generator must map ``z`` of shape ``[B, nz]`` to samples shaped like the
data, and expose ``nz`` as an attribute (or set ``TrainConfig.nz``). The
discriminator returns logits / critic scores of shape ``[B]`` or ``[B, 1]``.

    trainer = GANTrainer(G, D, images, TrainConfig(steps=2000, snapshot_every=200))
    history = trainer.train()

:class:`GANTrainer` runs :func:`gan_step` in a loop: it logs, snapshots, keeps the last good state
in memory (restored on a NaN/inf, reported as :class:`TrainingDiverged`) and writes checkpoints.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import torch
from torch import Tensor, nn
from torch.optim import Optimizer
from tqdm.auto import tqdm

from coursekit import checkpoint, losses
from coursekit.checkpoint import KEYS, History, capture_rng, restore_rng
from coursekit.runtime import eval_mode, get_device, show_progress

__all__ = ["LOSSES", "TrainConfig", "History", "TrainingDiverged", "gan_step", "GANTrainer"]

# loss name -> (discriminator loss, generator loss), both from coursekit.losses
LOSSES: dict[str, tuple[Callable[..., Tensor], Callable[..., Tensor]]] = {
    "bce": (losses.d_loss_bce, losses.g_loss_nonsaturating),  # Goodfellow et al. 2014, Sec. 3
    "saturating": (losses.d_loss_bce, losses.g_loss_saturating),  # the minimax game, Eq. 1
    "lsgan": (losses.d_loss_lsgan, losses.g_loss_lsgan),
    "hinge": (losses.d_loss_hinge, losses.g_loss_hinge),
    "wgan": (losses.d_loss_wgan, losses.g_loss_wgan),
}
_BCE = ("bce", "saturating")  # D's output is a logit of a probability; labels can be smoothed
_SCALARS = ("g_loss", "grad_norm_g", "d_real", "d_fake")  # a step's numbers besides D's per-iteration ones


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs besides the models and the data.

    ``loss`` names a pair of :data:`LOSSES`. ``r1_weight`` is γ in γ/2·E‖∇D(x)‖².
    ``instance_noise`` is the std at step 0, annealed linearly to 0 at ``steps``.
    ``checkpoint_path``: where :meth:`GANTrainer.train` writes a checkpoint at its end.
    """

    steps: int = 1000
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    n_critic: int = 1
    loss: str = "bce"
    gp_weight: float = 0.0
    r1_weight: float = 0.0
    real_label: float = 1.0
    fake_label: float = 0.0
    instance_noise: float = 0.0
    nz: int | None = None
    log_every: int = 10
    snapshot_every: int = 0  # 0 = no snapshots
    n_snapshot: int = 64
    checkpoint_path: str | os.PathLike | None = None
    good_state_every: int = 50  # in-memory copy of the last good state, for the NaN guard
    seed: int = 0
    progress: bool | None = None  # None: tqdm.auto unless quick mode or CI
    channels_last: bool = False
    amp: bool | None = None  # None: bf16 autocast on CUDA only (never on CPU, where it is slower)

    def __post_init__(self) -> None:
        def need(ok: bool, msg: str) -> None:
            if not ok:
                raise ValueError(f"TrainConfig: {msg}")

        need(self.loss in LOSSES, f"loss must be one of {sorted(LOSSES)}, got {self.loss!r}")
        need(self.steps >= 0, f"steps must be >= 0, got {self.steps}")
        need(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        need(self.lr_g > 0 and self.lr_d > 0, f"learning rates must be > 0, got lr_g={self.lr_g}, lr_d={self.lr_d}")
        need(len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas),
             f"betas must be two numbers in [0, 1), got {self.betas}")
        need(self.n_critic >= 1, f"n_critic must be >= 1, got {self.n_critic}")
        need(self.gp_weight >= 0 and self.r1_weight >= 0, "gp_weight and r1_weight must be >= 0")
        need(0 <= self.real_label <= 1 and 0 <= self.fake_label <= 1, "real_label and fake_label must lie in [0, 1]")
        need(self.loss in _BCE or (self.real_label, self.fake_label) == (1.0, 0.0),
             f"label smoothing needs loss='bce' or 'saturating' (loss={self.loss!r} has no labels); "
             "use real_label=1.0, fake_label=0.0")
        need(self.instance_noise >= 0, f"instance_noise must be >= 0, got {self.instance_noise}")
        need(self.nz is None or self.nz >= 1, f"nz must be >= 1, got {self.nz}")
        need(self.log_every >= 1, f"log_every must be >= 1, got {self.log_every}")
        for name in ("snapshot_every", "good_state_every"):
            need(getattr(self, name) >= 0, f"{name} must be >= 0 (0 turns it off)")
        need(self.n_snapshot >= 1, f"n_snapshot must be >= 1, got {self.n_snapshot}")
        need(isinstance(self.seed, int) and self.seed >= 0, f"seed must be a non-negative int, got {self.seed!r}")

    def summary(self) -> dict[str, Any]:
        """The fields as plain values (tuples as lists, paths as strings), as stored in checkpoints."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, os.PathLike):
                v = os.fspath(v)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out


class TrainingDiverged(FloatingPointError):
    """A loss or gradient norm became NaN/inf. Carries the diagnosis as attributes.

    A ``FloatingPointError``, as the vectorised trainer (:mod:`coursekit.ensemble`) raises, so one
    ``except FloatingPointError`` catches a divergence of either trainer.
    """

    def __init__(self, step: int, quantity: str, value: float, last_finite: dict | None,
                 restored_step: int | None, checkpoint: str | None, suggestion: str) -> None:
        self.step, self.quantity, self.value = step, quantity, value
        self.last_finite, self.restored_step = last_finite, restored_step
        self.checkpoint, self.suggestion = checkpoint, suggestion
        if last_finite:
            values = ", ".join(f"{k}={v:.4g}" for k, v in last_finite.items() if k != "step")
            last = f"Last finite values (step {last_finite['step']}): {values}."
        else:
            last = "No step had completed with finite values."
        kept = (f"The models and optimisers were restored to the last good state (step {restored_step})"
                if restored_step is not None else "The models were left as they are (good_state_every=0)")
        kept += f"; the checkpoint {checkpoint} is intact." if checkpoint else "."
        super().__init__(
            f"training diverged at step {step}: {quantity} = {value}. {last} "
            f"{kept} Suggestion: {suggestion}"
        )


def _diagnose(vals: dict[str, float], d_losses: list[float], d_norms: list[float]) -> tuple[str, float]:
    """The first non-finite quantity of a step, and its value."""
    for i, (l, g) in enumerate(zip(d_losses, d_norms)):
        tag = f" (critic iteration {i + 1}/{len(d_losses)})" if len(d_losses) > 1 else ""
        if not math.isfinite(l):
            return "d_loss" + tag, l
        if not math.isfinite(g):
            return "grad_norm_d" + tag, g
    for k in _SCALARS:
        if not math.isfinite(vals[k]):
            return k, vals[k]
    return "?", float("nan")


def _suggest(cfg: TrainConfig, amp: bool) -> str:
    """What to try after a divergence with ``cfg``."""
    lower = lambda lr: lr / 10 if lr <= 1e-2 else 2e-4
    tips = [f"lower the learning rates (lr_d={cfg.lr_d:g}, lr_g={cfg.lr_g:g}; "
            f"try {lower(cfg.lr_d):g} / {lower(cfg.lr_g):g})"]
    if cfg.loss == "wgan" and cfg.gp_weight == 0:
        tips.append("loss='wgan' needs a Lipschitz constraint: set gp_weight=10 (WGAN-GP) or use spectral norm")
    if cfg.loss in _BCE:
        tips.append("make sure D ends in a Linear layer (logits), not a Sigmoid")
    if amp:
        tips.append("try amp=False")
    tips.append("check that the data are finite and scaled to [-1, 1]")
    return "; ".join(tips) + "."


# ---------------------------------------------------------------------- the step
def _autocast(amp: bool, device_type: str):
    return torch.autocast(device_type, dtype=torch.bfloat16) if amp else contextlib.nullcontext()


@contextlib.contextmanager
def _frozen(module: nn.Module):
    """No weight gradients for ``module`` inside: G's step needs none of D's (a third of D's backward saved)."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def _grad_norm(module: nn.Module) -> Tensor:
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads) if grads else torch.zeros(())


def _mean_score(out: Tensor, bce: bool) -> Tensor:
    """The batch mean of σ(D(·)) for the BCE losses (a probability), else of the raw score D(·)."""
    out = out.detach().float()
    return (torch.sigmoid(out) if bce else out).mean()


def _d_loss(cfg: TrainConfig, real_out: Tensor, fake_out: Tensor) -> Tensor:
    d_loss_fn = LOSSES[cfg.loss][0]
    if cfg.loss in _BCE:  # labels 1 and 0, or smoothed ones
        return d_loss_fn(real_out, fake_out, real_label=cfg.real_label, fake_label=cfg.fake_label)
    return d_loss_fn(real_out, fake_out)


def gan_step(G: nn.Module, D: nn.Module, opt_g: Optimizer, opt_d: Optimizer, data: Tensor, rng: torch.Generator,
             cfg: TrainConfig, noise_std: float = 0.0, amp: bool = False) -> dict[str, Tensor]:
    """One generator update after ``cfg.n_critic`` discriminator updates (Goodfellow et al. 2014, Algorithm 1).

    Lesson 2's ``train_step`` with the options the course uses: real batches from ``data`` and noise
    ``[B, nz]`` (``nz``: ``cfg.nz``, else ``G.nz``), both drawn with ``rng``;
    D's loss ``cfg.loss`` on logits (labels ``cfg.real_label``/``cfg.fake_label`` for the BCE losses),
    plus λ·E[(‖∇D(x̂)‖ − 1)²] (Gulrajani et al. 2017, Eq. 3) and γ/2·E[‖∇D(x)‖²] (Mescheder et al. 2018,
    Eq. 9); instance noise N(0, ``noise_std``²) on every input of D (Sønderby et al. 2017); bf16 autocast
    when ``amp``. Returns tensors (no host sync): ``d_losses``/``d_norms`` ``[n_critic]``, ``g_loss``,
    ``grad_norm_g`` and ``d_real``/``d_fake``, the batch means of σ(D(·)) for the BCE losses, else of D(·).
    """
    B, nz, device = cfg.batch_size, int(cfg.nz or G.nz), data.device
    g_loss_fn = LOSSES[cfg.loss][1]
    noisy = lambda x: losses.instance_noise(x, noise_std, generator=rng)
    reuse = cfg.n_critic == 1  # one G forward per step: D trains on fake.detach(), G on fake
    d_losses, d_norms = [], []
    for _ in range(cfg.n_critic):
        real = data[torch.randint(len(data), (B,), device=device, generator=rng)]  # [B, *x]
        z = torch.randn(B, nz, device=device, generator=rng)  # [B, nz]
        with _autocast(amp, device.type), torch.set_grad_enabled(reuse):
            fake = G(z)  # [B, *x]
        real_in, fake_in = noisy(real), noisy(fake.detach())  # fake.detach(): D's loss stays out of G
        with _autocast(amp, device.type):
            real_out, fake_out = D(real_in), D(fake_in)  # [B] or [B, 1]
        d_loss = _d_loss(cfg, real_out.float(), fake_out.float())
        with torch.autocast(device.type, enabled=False):  # the penalties in fp32
            if cfg.gp_weight > 0:
                d_loss = d_loss + cfg.gp_weight * losses.gradient_penalty(D, real_in, fake_in, generator=rng)
            if cfg.r1_weight > 0:
                d_loss = d_loss + 0.5 * cfg.r1_weight * losses.r1_penalty(D, real_in)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        d_losses.append(d_loss.detach())
        d_norms.append(_grad_norm(D))
        opt_d.step()
    if not reuse:  # fresh fakes for G, as in Algorithm 1
        with _autocast(amp, device.type):
            fake = G(torch.randn(B, nz, device=device, generator=rng))
    with _frozen(D):  # G's update through the *updated* D
        with _autocast(amp, device.type):
            fake_out_g = D(noisy(fake))
        g_loss = g_loss_fn(fake_out_g.float())
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
    g_norm = _grad_norm(G)
    opt_g.step()
    bce = cfg.loss in _BCE
    return {"d_losses": torch.stack(d_losses), "d_norms": torch.stack(d_norms), "g_loss": g_loss.detach(),
            "grad_norm_g": g_norm, "d_real": _mean_score(real_out, bce), "d_fake": _mean_score(fake_out, bce)}


# ---------------------------------------------------------------------- the trainer
class GANTrainer:
    """Train ``generator`` against ``discriminator`` on ``data`` (one tensor, samples along dim 0).

    Every ``config.log_every`` steps a record ``{step, d_loss, g_loss, d_real, d_fake, grad_norm_d,
    grad_norm_g, time}`` (plus ``samples`` at snapshot steps) goes to ``history`` and to each
    ``callback(record)``. ``d_real``/``d_fake`` are mean probabilities σ(D(·)) for the BCE losses and
    mean raw scores otherwise. ``step`` counts generator updates.
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, data: Tensor,
                 config: TrainConfig = TrainConfig(), callbacks: Iterable[Callable[[dict], Any]] = (),
                 device: str | torch.device | None = None) -> None:
        self.nz = _check_inputs(generator, data, config)
        self.config, self.callbacks = config, list(callbacks)
        self.device = torch.device(device) if device is not None else get_device()
        fmt = torch.channels_last if config.channels_last and data.dim() == 4 else torch.contiguous_format
        self.generator = generator.to(self.device, memory_format=fmt)
        self.discriminator = discriminator.to(self.device, memory_format=fmt)
        self.data = data.to(self.device).contiguous(memory_format=fmt)
        fused = self.device.type in ("cpu", "cuda") or None  # one Adam kernel per tensor: 5x faster on CPU
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=config.lr_g, betas=config.betas, fused=fused)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=config.lr_d, betas=config.betas, fused=fused)
        cuda_bf16 = self.device.type == "cuda" and torch.cuda.is_bf16_supported()
        self.amp = bool(config.amp if config.amp is not None else cuda_bf16)
        self._rng = torch.Generator(device=self.device).manual_seed(config.seed)
        self.fixed_z = torch.randn(config.n_snapshot, self.nz,
                                   generator=torch.Generator().manual_seed(config.seed + 1)).to(self.device)
        self.history, self.step, self._elapsed = History(), 0, 0.0
        self._last_finite, self._good = None, None  # the last finite record, the last good state
        if config.progress is not False:  # progress=False asks for a quiet trainer: no banner either
            print(f"GANTrainer | seed={config.seed} | device={self.device} | loss={config.loss} | amp={self.amp} "
                  f"| data={tuple(data.shape)} | nz={self.nz}")

    def noise_std(self, step: int) -> float:
        """Instance-noise std at ``step``: linear from ``instance_noise`` to 0 at ``config.steps``."""
        return self.config.instance_noise * max(0.0, 1.0 - step / max(self.config.steps, 1))

    @torch.no_grad()
    def sample(self, n: int | None = None, z: Tensor | None = None) -> Tensor:
        """Generator samples in eval mode, on the CPU: from ``z``, else ``n`` fresh draws, else the fixed noise."""
        if z is None:
            z = self.fixed_z if n is None else torch.randn(n, self.nz, device=self.device)
        with eval_mode(self.generator), _autocast(self.amp, self.device.type):
            x = self.generator(z.to(self.device))
        return x.float().cpu()

    def train(self, steps: int | None = None) -> History:
        """Run ``steps`` more generator updates (default: up to ``config.steps`` in total); return the history.

        Raises :class:`TrainingDiverged` on a NaN/inf loss or gradient, after restoring the last good state.
        """
        cfg = self.config
        n = max(cfg.steps - self.step, 0) if steps is None else int(steps)
        if n < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        self.generator.train()
        self.discriminator.train()
        if cfg.snapshot_every and self.step == 0 and not self.history.snapshots:
            self.history.snapshots.append((0, self.sample()))
        self._good = self._capture() if cfg.good_state_every else None
        end, t0 = self.step + n, time.perf_counter() - self._elapsed
        with tqdm(total=n, disable=not show_progress(cfg.progress), desc="train", unit="step", leave=False) as bar:
            try:
                while self.step < end:
                    self._emit(self._guarded_step(t0), bar)
                    if cfg.good_state_every and self.step % cfg.good_state_every == 0:
                        self._good = self._capture()  # the NaN guard's copy, in memory
                bar.refresh()  # tqdm redraws at most every 0.1 s: draw the final count and record
            except KeyboardInterrupt:
                if self._good is not None:  # the interrupt may have hit mid-step: go back to a consistent state
                    self._restore(self._good)
                print(f"interrupted; trainer state restored to step {self.step}")
                raise
        if cfg.checkpoint_path and n > 0:
            self.save_checkpoint()
        return self.history

    def _guarded_step(self, t0: float) -> dict[str, float]:
        """One :func:`gan_step` and its numbers as floats (one host sync); on NaN/inf restore and raise."""
        cfg, k = self.config, self.config.n_critic
        out = gan_step(self.generator, self.discriminator, self.opt_g, self.opt_d, self.data, self._rng, cfg,
                       self.noise_std(self.step), self.amp)
        # the step's one host sync: [d_losses (n_critic), d_norms (n_critic), g_loss, grad_norm_g, d_real, d_fake]
        flat = torch.cat([out["d_losses"], out["d_norms"], torch.stack([out[q] for q in _SCALARS]).float()]).tolist()
        d_losses, d_norms = flat[:k], flat[k:2 * k]
        vals = {"step": self.step + 1, "d_loss": d_losses[-1], "grad_norm_d": d_norms[-1],
                **dict(zip(_SCALARS, flat[2 * k:]))}
        if not all(map(math.isfinite, flat)):
            if self._good is not None:
                self._restore(self._good)
            restored = self.step if self._good is not None else None
            ckpt = cfg.checkpoint_path if cfg.checkpoint_path and Path(cfg.checkpoint_path).exists() else None
            raise TrainingDiverged(vals["step"], *_diagnose(vals, d_losses, d_norms), self._last_finite, restored,
                                   ckpt, _suggest(cfg, self.amp))
        self.step += 1
        self._elapsed = time.perf_counter() - t0
        vals["time"] = self._elapsed
        self._last_finite = vals
        return vals

    def _emit(self, vals: dict[str, float], bar: tqdm) -> None:
        """Show progress; at logging and snapshot steps record ``vals`` (and samples) and call the callbacks."""
        cfg, s = self.config, self.step
        if s % cfg.log_every == 0:  # before the update, so that the bar's last draw shows the last record
            bar.set_postfix(d_loss=f"{vals['d_loss']:.3f}", g_loss=f"{vals['g_loss']:.3f}", refresh=False)
        bar.update(1)
        snap = cfg.snapshot_every > 0 and s % cfg.snapshot_every == 0
        if s % cfg.log_every and not snap:
            return
        record: dict[str, Any] = {k: vals[k] for k in KEYS}
        self.history.append(record)
        if snap:
            record["samples"] = self.sample()
            self.history.snapshots.append((s, record["samples"]))
        for cb in self.callbacks:
            cb(record)

    # ------------------------------------------------------------------ state: NaN guard and checkpoints
    def _capture(self) -> dict[str, Any]:
        """A deep copy of everything training changes (history by length only)."""
        return {"step": self.step, "elapsed": self._elapsed, "generator": _copy_state(self.generator),
                "discriminator": _copy_state(self.discriminator), "opt_g": copy.deepcopy(self.opt_g.state_dict()),
                "opt_d": copy.deepcopy(self.opt_d.state_dict()), "rng": capture_rng(self._rng),
                "n_records": len(self.history), "n_snapshots": len(self.history.snapshots)}

    def _restore(self, state: dict[str, Any]) -> None:
        """Load models, optimisers, RNG states, step and elapsed time (and cut the history back, if told)."""
        for name in ("generator", "discriminator", "opt_g", "opt_d"):
            getattr(self, name).load_state_dict(state[name])
        restore_rng(state["rng"], self._rng)
        self.step, self._elapsed = int(state["step"]), float(state["elapsed"])
        if "n_records" in state:  # a state :meth:`_capture` took
            self.history.truncate(state["n_records"], state["n_snapshots"])

    def save_checkpoint(self, path: str | os.PathLike | None = None) -> Path:
        """Atomically write G and D (class, constructor arguments, weights), both optimisers, RNG states, step,
        history, fixed noise and config, with :func:`coursekit.checkpoint.save_checkpoint`."""
        path = path or self.config.checkpoint_path
        if path is None:
            raise ValueError("no checkpoint path: pass one or set TrainConfig(checkpoint_path=...)")
        meta = {"step": self.step, "elapsed": self._elapsed, "opt_g": self.opt_g.state_dict(),
                "opt_d": self.opt_d.state_dict(), "rng": capture_rng(self._rng), "history": self.history.state_dict(),
                "fixed_z": self.fixed_z.cpu(), "config": self.config.summary()}
        models = {"generator": self.generator, "discriminator": self.discriminator}
        return checkpoint.save_checkpoint(path, models, meta)

    def load_checkpoint(self, path: str | os.PathLike) -> int:
        """Resume from a :meth:`save_checkpoint` file: weights (strictly), optimisers, RNG states, step, history and
        fixed noise; return the step. Training on from here gives what training straight through would."""
        saved = checkpoint.load_checkpoint(path)
        meta = saved["meta"]
        self._restore({**meta, **{name: saved["models"][name]["state"] for name in ("generator", "discriminator")}})
        self.history = History.from_state_dict(meta["history"])
        self.fixed_z = meta["fixed_z"].to(self.device)
        return self.step


def _copy_state(module: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _check_inputs(generator: nn.Module, data: Tensor, config: TrainConfig) -> int:
    """The noise dimension ``nz``, after checking that ``data`` is a finite float tensor of samples."""
    if not isinstance(data, Tensor) or not data.is_floating_point() or data.dim() < 2:
        raise ValueError("data must be a float tensor of samples along dim 0, shaped [N, ...] with at least 2 dims "
                         f"(for 1-D data use data[:, None]); got {getattr(data, 'shape', type(data))}")
    if not torch.isfinite(data).all():
        raise ValueError("data contains NaN or inf; clean it before training")
    nz = getattr(generator, "nz", None)
    if nz is not None and config.nz is not None and int(nz) != config.nz:
        raise ValueError(f"generator.nz={nz} but config.nz={config.nz}; drop one or make them agree")
    if nz is None and config.nz is None:
        raise ValueError("the noise dimension is unknown: give the generator an `nz` attribute "
                         "or set TrainConfig(nz=...)")
    return int(config.nz if config.nz is not None else nz)
