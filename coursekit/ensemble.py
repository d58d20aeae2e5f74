"""K independent 2-D GANs (K seeds) trained as one vectorised model.

Mode-collapse tables need every method over several seeds. Training K small
GANs one after another wastes a CPU on Python overhead; here their parameters
are stacked (``torch.func.stack_module_state``) into tensors ``[K, ...]`` and one
forward pass of the *template* module runs all K at once under
``torch.func.vmap(functional_call(...))``.

Why the result equals K separate runs:
- model k is initialised under ``torch.manual_seed(seed + k)`` and then draws
  its data, noise and interpolation weights from its own ``torch.Generator``,
  which continues that seed's stream; nothing is shared between models;
- one Adam over the stacked parameters, minimising the SUM of the K losses,
  is K independent Adams: model k's slice of the gradient is the gradient of
  its own loss, and Adam's update is element-wise.
:class:`LoopedGANs` is the same training as a plain Python loop over K pairs of
modules; the tests check that both give the same parameters, and
``bench/bench_ensemble.py`` compares their speed.

The WGAN-GP penalty is computed per model inside the vmap with
``torch.func.grad`` (gradient of the critic w.r.t. its input), and ordinary
autograd differentiates through it (the double backward works under vmap).

Spectral normalisation (``spectral_norm=True``, Miyato et al. 2018, Algorithm 1)
is done on the stacked weights ``[K, out, in]``: every forward of D runs one
power iteration per layer on all K models at once (batched ``einsum``), with
the vectors ``u [K, out]`` and ``v [K, in]`` kept between steps as buffers, and
feeds ``W / σ̂`` to the vmapped D, exactly what
``torch.nn.utils.parametrizations.spectral_norm`` does to one model per forward
in training mode (the tests compare the two).
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, stack_module_state, vmap
from tqdm.auto import tqdm

from coursekit import losses
from coursekit.data import sample_grid, sample_ring
from coursekit.models import MLP2DDiscriminator, MLP2DGenerator
from coursekit.runtime import get_device

Tensor = torch.Tensor
Sampler = Callable[[int, torch.Generator], Tensor]  # (n, generator) -> [n, 2] on the CPU

__all__ = ["EnsembleConfig", "EnsembleResult", "GANEnsemble", "LoopedGANs", "make_member",
           "unstack", "train_ensemble", "stacked_spectral_norm"]


@dataclass(frozen=True)
class EnsembleConfig:
    """Settings of K independent 2-D GANs; model k uses seed ``seed + k``.

    ``loss``: ``"bce"`` (D: Goodfellow et al. 2014, Eq. 1 on logits; G: the
    non-saturating loss) or ``"wgan"`` (Gulrajani et al. 2017, Eq. 3, with
    ``gp_weight`` = λ). ``n_critic`` D updates per G update. ``pack`` = m of
    PacGAN; ``minibatch_std`` appends Karras et al.'s std feature in D;
    ``g_batchnorm`` gives G PacGAN's hidden layers (Linear → BatchNorm on the
    batch's statistics → ReLU; see ``MLP2DGenerator``). ``spectral_norm``
    normalises every layer of D (Miyato et al. 2018; one power iteration per
    forward, as ``torch.nn.utils.parametrizations.spectral_norm``; loss "bce" only).
    Snapshots of ``n_snapshot`` samples per model (fixed noise) are taken
    at step 0, every ``snapshot_every`` steps (0: never in between) and at the end.
    ``data`` is ``"ring"`` (8 Gaussians, radius 2, std 0.02) or ``"grid"``
    (25 Gaussians, spacing 2, std 0.05), unless a sampler is passed.
    """

    num_models: int = 16
    seed: int = 0
    steps: int = 2000
    batch_size: int = 256
    nz: int = 2
    width: int = 128
    depth: int = 3
    loss: str = "bce"
    gp_weight: float = 10.0
    n_critic: int = 1
    pack: int = 1
    minibatch_std: bool = False
    g_batchnorm: bool = False
    spectral_norm: bool = False
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    data: str = "ring"
    snapshot_every: int = 0
    n_snapshot: int = 2500

    def __post_init__(self) -> None:
        if self.loss not in ("bce", "wgan"):
            raise ValueError(f"loss must be 'bce' or 'wgan', got {self.loss!r}")
        if self.loss == "wgan" and self.gp_weight <= 0:
            raise ValueError("loss='wgan' needs gp_weight > 0 (WGAN-GP): nothing else keeps these critics Lipschitz")
        if self.data not in ("ring", "grid"):
            raise ValueError(f"data must be 'ring' or 'grid' (or pass sampler=...), got {self.data!r}")
        for name in ("num_models", "batch_size", "nz", "width", "depth", "n_critic", "pack", "n_snapshot"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.steps < 0 or self.snapshot_every < 0 or self.seed < 0:
            raise ValueError("steps, snapshot_every and seed must be >= 0")
        if self.batch_size % self.pack:
            raise ValueError(f"batch_size {self.batch_size} must be a multiple of pack {self.pack}")
        if self.spectral_norm and self.loss != "bce":
            raise ValueError("spectral_norm=True is for loss='bce' (SN-GAN); "
                             "WGAN-GP constrains the critic by its penalty")
        if self.minibatch_std and self.batch_size // self.pack < 2:
            raise ValueError("minibatch_std needs at least 2 (packed) samples per batch")


@dataclass
class EnsembleResult:
    """What training returns. ``snapshots``: ``(step, samples [K, N, 2])`` on the CPU;
    ``d_loss`` / ``g_loss``: ``[steps, K]`` (the last critic update of each step);
    ``generators`` / ``discriminators``: K separate modules (CPU); ``snapshot_seconds``:
    training wall-clock seconds (since this ``train`` call began) at each snapshot."""

    config: EnsembleConfig
    snapshots: list[tuple[int, Tensor]]
    d_loss: Tensor
    g_loss: Tensor
    seconds: float
    generators: list[nn.Module] = field(repr=False)
    discriminators: list[nn.Module] = field(repr=False)
    snapshot_seconds: list[float] = field(default_factory=list)

    @property
    def samples(self) -> Tensor:
        """The last snapshot, ``[K, N, 2]``."""
        return self.snapshots[-1][1]

    @property
    def steps_per_second(self) -> float:
        return len(self.d_loss) / self.seconds if self.seconds > 0 else float("nan")


def _default_sampler(config: EnsembleConfig) -> Sampler:
    if config.data == "ring":
        return lambda n, g: sample_ring(n, generator=g)
    return lambda n, g: sample_grid(n, generator=g)


def make_member(config: EnsembleConfig, k: int) -> tuple[nn.Module, nn.Module, torch.Generator]:
    """Model k: ``(G, D, rng)`` built under ``torch.manual_seed(config.seed + k)`` on the CPU.

    ``rng`` continues the same stream after the initialisation; every random
    draw of model k during training comes from it. The global RNG is left as it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed + k)
        g = MLP2DGenerator(nz=config.nz, width=config.width, depth=config.depth, batchnorm=config.g_batchnorm)
        d = MLP2DDiscriminator(width=config.width, depth=config.depth, pack=config.pack,
                               minibatch_std=config.minibatch_std, spectral_norm=config.spectral_norm)
        rng = torch.Generator()
        rng.set_state(torch.get_rng_state())
    return g, d, rng


def _adam(params, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """Adam; the fused kernel where this PyTorch has it for the device (3x faster on stacked CPU tensors)."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, TypeError, ValueError):  # older PyTorch / unsupported device
        return torch.optim.Adam(params, lr=lr, betas=betas)


def unstack(params: Mapping[str, Tensor], template: nn.Module) -> list[nn.Module]:
    """Split stacked parameters ``{name: [K, ...]}`` into K copies of ``template`` (detached, cloned)."""
    sizes = {p.shape[0] for p in params.values()}
    if len(sizes) != 1:
        raise ValueError(f"stacked parameters must share their first dimension K, got sizes {sorted(sizes)}")
    out = []
    for k in range(sizes.pop()):
        m = copy.deepcopy(template)
        m.load_state_dict({n: p[k].detach().clone() for n, p in params.items()})
        out.append(m)
    return out


def stacked_spectral_norm(weight: Tensor, u: Tensor, v: Tensor,
                          eps: float = 1e-12) -> tuple[Tensor, Tensor, Tensor]:
    """One power iteration on K stacked weights, then ``W / σ̂`` (Miyato et al. 2018, Algorithm 1).

    ``weight [K, out, in]``, ``u [K, out]``, ``v [K, in]`` (unit vectors). In the
    order of ``torch.nn.utils.parametrizations.spectral_norm``:
    ``u ← W v / ‖W v‖``, ``v ← Wᵀ u / ‖Wᵀ u‖`` (no gradient), ``σ̂ = uᵀ W v``
    (gradient flows through W). Returns ``(W / σ̂ [K, out, in], u, v)``.
    """
    if weight.dim() != 3 or u.shape != weight.shape[:2] or v.shape != (weight.shape[0], weight.shape[2]):
        raise ValueError(f"need weight [K, out, in], u [K, out], v [K, in]; got {list(weight.shape)}, "
                         f"{list(u.shape)}, {list(v.shape)}")
    with torch.no_grad():
        w = weight.detach()
        u = F.normalize(torch.einsum("koi,ki->ko", w, v), dim=1, eps=eps)  # [K, out]
        v = F.normalize(torch.einsum("koi,ko->ki", w, u), dim=1, eps=eps)  # [K, in]
    sigma = torch.einsum("ko,koi,ki->k", u, weight, v)                      # [K]
    return weight / sigma[:, None, None], u, v


_SN_KEY = ".parametrizations.weight"


def _strip_spectral_norm(d: nn.Module, plain: nn.Module) -> dict[str, tuple[Tensor, Tensor]]:
    """Load ``d``'s raw weights into ``plain`` (the same module without SN); return ``{"<layer>.weight": (u, v)}``.

    (``parametrize.remove_parametrizations`` on a copy would not do: a deep copy
    shares the parametrized class, whose ``weight`` property the removal deletes.)
    """
    state, uv = {}, {}
    for key, value in d.state_dict().items():
        if f"{_SN_KEY}.0._" in key:  # "<layer>.parametrizations.weight.0._u" / "._v"
            layer, which = key.split(f"{_SN_KEY}.0._")
            u, v = uv.get(f"{layer}.weight", (None, None))
            uv[f"{layer}.weight"] = (value.clone(), v) if which == "u" else (u, value.clone())
        else:
            state[key.replace(f"{_SN_KEY}.original", ".weight")] = value
    plain.load_state_dict(state)  # strict: every weight accounted for
    return uv


class _Base:
    """Shared bookkeeping of the vectorised and the looped trainers: members, random streams, snapshots."""

    _draws_eps = True  # draw the GP's ε with the step's data (False: the trainer draws it itself)

    def __init__(self, config: EnsembleConfig, sampler: Sampler | None, device: torch.device | str | None):
        self.config = config
        self.device = torch.device(device) if device is not None else get_device()
        self.sampler = sampler if sampler is not None else _default_sampler(config)
        members = [make_member(config, k) for k in range(config.num_models)]
        self._gs = [g.to(self.device) for g, _, _ in members]
        self._ds = [d.to(self.device) for _, d, _ in members]
        self.rngs = [rng for _, _, rng in members]
        # fixed noise for snapshots: the first draw of each model's stream
        self.fixed_z = self._stack(lambda r: torch.randn(config.n_snapshot, config.nz, generator=r))
        self.step_count = 0

    def _stack(self, draw: Callable[[torch.Generator], Tensor]) -> Tensor:
        return torch.stack([draw(r) for r in self.rngs]).to(self.device)  # [K, ...]

    def _draw_d(self, with_eps: bool = True) -> tuple[Tensor, Tensor, Tensor | None]:
        """One critic step's randomness, in the same order in every model's stream: real, z, (ε for GP)."""
        c, gp = self.config, self.config.loss == "wgan" and with_eps
        real, z, eps = [], [], []
        for r in self.rngs:
            real.append(self.sampler(c.batch_size, r))
            z.append(torch.randn(c.batch_size, c.nz, generator=r))
            if gp:  # drawn exactly as losses.gradient_penalty draws it
                eps.append(torch.rand(c.batch_size, 1, generator=r))
        real_k, z_k = torch.stack(real).to(self.device), torch.stack(z).to(self.device)  # [K, B, 2], [K, B, nz]
        return real_k, z_k, (torch.stack(eps).to(self.device) if gp else None)           # eps: [K, B, 1]

    def _draw_g(self) -> Tensor:
        return self._stack(lambda r: torch.randn(self.config.batch_size, self.config.nz, generator=r))

    def step(self) -> tuple[Tensor, Tensor]:
        """One training step of all K models: ``n_critic`` D updates, then one G update.

        Returns the per-model losses ``(d_loss [K], g_loss [K])`` (D: the last critic update).
        """
        for _ in range(self.config.n_critic):
            d_loss = self.d_step(*self._draw_d(with_eps=self._draws_eps))
        g_loss = self.g_step(self._draw_g())
        self.step_count += 1
        return d_loss, g_loss

    def train(self, steps: int | None = None, progress: bool = False) -> EnsembleResult:
        """Run ``steps`` (default ``config.steps``) steps of all K models; return an :class:`EnsembleResult`."""
        c = self.config
        steps = c.steps if steps is None else steps
        snapshots = [(self.step_count, self.sample_fixed())]
        d_hist, g_hist = [], []
        start = time.perf_counter()
        snap_times = [0.0]
        for i in tqdm(range(steps), disable=not progress, desc=type(self).__name__):
            d_loss, g_loss = self.step()
            if not (torch.isfinite(d_loss).all() and torch.isfinite(g_loss).all()):
                bad = [k for k in range(c.num_models) if not (d_loss[k].isfinite() and g_loss[k].isfinite())]
                raise FloatingPointError(  # what coursekit.train.TrainingDiverged also is
                    f"non-finite loss at step {self.step_count} for model(s) {bad} (seeds "
                    f"{[c.seed + k for k in bad]}): d_loss={d_loss.tolist()}, g_loss={g_loss.tolist()}. "
                    "Lower lr_d / lr_g, or use loss='wgan' with gp_weight=10.")
            d_hist.append(d_loss)
            g_hist.append(g_loss)
            if c.snapshot_every and self.step_count % c.snapshot_every == 0 and i < steps - 1:
                snap_times.append(time.perf_counter() - start)
                snapshots.append((self.step_count, self.sample_fixed()))
        seconds = time.perf_counter() - start
        if steps > 0:
            snap_times.append(seconds)
            snapshots.append((self.step_count, self.sample_fixed()))
        empty = torch.zeros(0, c.num_models)
        return EnsembleResult(
            config=c, snapshots=snapshots,
            d_loss=torch.stack(d_hist).cpu() if d_hist else empty,
            g_loss=torch.stack(g_hist).cpu() if g_hist else empty,
            seconds=seconds, generators=self.generators(), discriminators=self.discriminators(),
            snapshot_seconds=snap_times,
        )

    def scale_lr(self, factor: float) -> None:
        """Multiply both learning rates by ``factor`` from the next step on (e.g. 0.1 for a final lr drop)."""
        if not factor > 0:
            raise ValueError(f"factor must be > 0, got {factor}")
        for opt in self._optimizers():
            for group in opt.param_groups:
                group["lr"] *= factor


class GANEnsemble(_Base):
    """K 2-D GANs as one vectorised model (``stack_module_state`` + ``functional_call`` under ``vmap``).

    ``GANEnsemble(config).train()`` returns an :class:`EnsembleResult`; ``generate(z [K, N, nz])``
    and ``discriminate(x [K, B, 2])`` run all K models at once.
    """

    def __init__(self, config: EnsembleConfig, sampler: Sampler | None = None,
                 device: torch.device | str | None = None):
        super().__init__(config, sampler, device)
        self._d_template = copy.deepcopy(self._ds[0]).cpu()  # with its SN parametrizations, if any
        # SN: D runs as a plain module on normalised weights; u, v: {"<layer>.weight": [K, out] / [K, in]}
        self.sn_u: dict[str, Tensor] = {}
        self.sn_v: dict[str, Tensor] = {}
        if config.spectral_norm:
            with torch.random.fork_rng(devices=[]):  # building the plain copies must not move the global RNG
                plain = [MLP2DDiscriminator(width=config.width, depth=config.depth, pack=config.pack,
                                            minibatch_std=config.minibatch_std).to(self.device) for _ in self._ds]
            uvs = [_strip_spectral_norm(d, p) for d, p in zip(self._ds, plain)]
            self._ds = plain
            self.sn_u = {n: torch.stack([uv[n][0] for uv in uvs]) for n in uvs[0]}  # [K, out]
            self.sn_v = {n: torch.stack([uv[n][1] for uv in uvs]) for n in uvs[0]}  # [K, in]
        params_g, _ = stack_module_state(self._gs)  # {name: [K, ...]}, leaves with requires_grad
        params_d, _ = stack_module_state(self._ds)
        self.params_g, self.params_d = params_g, params_d
        self._g_template = copy.deepcopy(self._gs[0]).cpu()
        self._g_meta = copy.deepcopy(self._gs[0]).to("meta")
        self._d_meta = copy.deepcopy(self._ds[0]).to("meta")
        del self._gs, self._ds  # the stacked tensors are the state from now on
        self.opt_g = _adam(params_g.values(), config.lr_g, config.betas)
        self.opt_d = _adam(params_d.values(), config.lr_d, config.betas)
        self._vg = vmap(self._g_one)
        self._vd = vmap(self._d_one)
        self._vgp = vmap(self._gp_one)

    # one model's functions; vmap adds the leading K dimension
    def _g_one(self, params: dict, z: Tensor) -> Tensor:
        return functional_call(self._g_meta, params, (z,))  # [B, nz] -> [B, 2]

    def _d_one(self, params: dict, x: Tensor) -> Tensor:
        return functional_call(self._d_meta, params, (x,))  # [B, 2] -> [B/m]

    def _gp_one(self, params: dict, real: Tensor, fake: Tensor, eps: Tensor) -> Tensor:
        x_hat = eps * real + (1 - eps) * fake                                     # [B, 2]
        grad = torch.func.grad(lambda x: self._d_one(params, x).sum())(x_hat)     # [B, 2], kept differentiable
        return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()

    def generate(self, z: Tensor) -> Tensor:
        """``z [K, N, nz] -> samples [K, N, 2]`` (differentiable)."""
        return self._vg(self.params_g, z)

    def _d_params(self, params: dict[str, Tensor]) -> dict[str, Tensor]:
        """The weights D runs on: ``params`` itself, or under SN ``W / σ̂`` after one power iteration (u, v updated)."""
        if not self.sn_u:
            return params
        out = dict(params)
        for name in self.sn_u:
            out[name], self.sn_u[name], self.sn_v[name] = stacked_spectral_norm(
                params[name], self.sn_u[name], self.sn_v[name])
        return out

    def discriminate(self, x: Tensor) -> Tensor:
        """``x [K, B, 2] -> logits [K, B/m]`` (differentiable; under SN one power iteration, as a training forward)."""
        return self._vd(self._d_params(self.params_d), x)

    def d_step(self, real: Tensor, z: Tensor, eps: Tensor | None) -> Tensor:
        with torch.no_grad():
            fake = self.generate(z)                               # [K, B, 2]
        real_logits, fake_logits = self.discriminate(real), self.discriminate(fake)  # [K, B/m]
        if self.config.loss == "bce":
            loss = vmap(losses.d_loss_bce)(real_logits, fake_logits)                  # [K]
        else:
            loss = vmap(losses.d_loss_wgan)(real_logits, fake_logits) \
                + self.config.gp_weight * self._vgp(self.params_d, real, fake, eps)
        self.opt_d.zero_grad(set_to_none=True)
        loss.sum().backward()  # sum: model k's gradient is the gradient of its own loss
        self.opt_d.step()
        return loss.detach()

    def g_step(self, z: Tensor) -> Tensor:
        frozen_d = {n: p.detach() for n, p in self.params_d.items()}  # no gradient into D
        logits = self._vd(self._d_params(frozen_d), self.generate(z))  # [K, B/m]
        g_loss = losses.g_loss_nonsaturating if self.config.loss == "bce" else losses.g_loss_wgan
        loss = vmap(g_loss)(logits)                                    # [K]
        self.opt_g.zero_grad(set_to_none=True)
        loss.sum().backward()
        self.opt_g.step()
        return loss.detach()

    @torch.no_grad()
    def sample_fixed(self) -> Tensor:
        return self.generate(self.fixed_z).cpu()  # [K, N, 2]

    def generators(self) -> list[nn.Module]:
        return unstack({n: p.cpu() for n, p in self.params_g.items()}, self._g_template)

    def discriminators(self) -> list[nn.Module]:
        state = {n: p.cpu() for n, p in self.params_d.items()}
        for name in self.sn_u:  # back to the names of a parametrized module: raw weight, u, v
            layer = name[: -len(".weight")]
            state[f"{layer}{_SN_KEY}.original"] = state.pop(name)
            state[f"{layer}{_SN_KEY}.0._u"] = self.sn_u[name].cpu()
            state[f"{layer}{_SN_KEY}.0._v"] = self.sn_v[name].cpu()
        return unstack(state, self._d_template)

    def _optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.opt_g, self.opt_d]


class LoopedGANs(_Base):
    """The same K GANs trained by a plain Python loop over K (G, D) pairs, each with its own Adams.

    The reference for :class:`GANEnsemble` (equal parameters to float tolerance) and its speed baseline.
    It uses ``coursekit.losses`` as is, including ``gradient_penalty`` with model k's stream as its
    ``generator`` (so ε is drawn right after the step's data and noise, as the vectorised trainer draws it).
    """

    _draws_eps = False

    def __init__(self, config: EnsembleConfig, sampler: Sampler | None = None,
                 device: torch.device | str | None = None):
        super().__init__(config, sampler, device)
        c = config
        if c.loss == "wgan" and self.device.type != "cpu":
            raise ValueError("LoopedGANs with loss='wgan' runs on the CPU only (its ε comes from a CPU "
                             "generator); pass device='cpu', or use GANEnsemble on this device")
        self.opts_g = [_adam(g.parameters(), c.lr_g, c.betas) for g in self._gs]
        self.opts_d = [_adam(d.parameters(), c.lr_d, c.betas) for d in self._ds]

    def d_step(self, real: Tensor, z: Tensor, eps: Tensor | None) -> Tensor:
        out = []
        for k, (g, d, opt) in enumerate(zip(self._gs, self._ds, self.opts_d)):
            with torch.no_grad():
                fake = g(z[k])
            if self.config.loss == "bce":
                loss = losses.d_loss_bce(d(real[k]), d(fake))
            else:
                gp = losses.gradient_penalty(d, real[k], fake, generator=self.rngs[k])
                loss = losses.d_loss_wgan(d(real[k]), d(fake)) + self.config.gp_weight * gp
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            out.append(loss.detach())
        return torch.stack(out)

    def g_step(self, z: Tensor) -> Tensor:
        g_loss = losses.g_loss_nonsaturating if self.config.loss == "bce" else losses.g_loss_wgan
        out = []
        for k, (g, d, opt) in enumerate(zip(self._gs, self._ds, self.opts_g)):
            d.requires_grad_(False)
            loss = g_loss(d(g(z[k])))
            d.requires_grad_(True)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            out.append(loss.detach())
        return torch.stack(out)

    @torch.no_grad()
    def sample_fixed(self) -> Tensor:
        return torch.stack([g(self.fixed_z[k]) for k, g in enumerate(self._gs)]).cpu()

    def generators(self) -> list[nn.Module]:
        return [copy.deepcopy(g).cpu() for g in self._gs]

    def discriminators(self) -> list[nn.Module]:
        return [copy.deepcopy(d).cpu() for d in self._ds]

    def _optimizers(self) -> list[torch.optim.Optimizer]:
        return [*self.opts_g, *self.opts_d]


def train_ensemble(config: EnsembleConfig, sampler: Sampler | None = None,
                   device: torch.device | str | None = None, progress: bool = False) -> EnsembleResult:
    """Train ``config.num_models`` 2-D GANs together (vectorised) and return their result."""
    return GANEnsemble(config, sampler, device).train(progress=progress)
