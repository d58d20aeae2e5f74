"""Measuring Lipschitz constraints and what they cost (lesson 5).

* :func:`power_iteration`: the estimate of a matrix's largest singular value
  that spectral normalisation runs once per training step (Miyato et al. 2018,
  Algorithm 1): ``v ← Wᵀu/‖Wᵀu‖``, ``u ← Wv/‖Wv‖``, ``σ ≈ uᵀWv``.
* :func:`interpolate` and :func:`gradient_norms_at_interpolates`: the per-sample
  norms ``‖∇_x̂ f(x̂)‖₂`` at ``x̂ = εx + (1-ε)x̃`` that the WGAN-GP penalty
  (Gulrajani et al. 2017, Eq. 3) pushes towards 1.
* :func:`scores_in_batches`: the score one sample gets inside different
  batches; a BatchNorm discriminator's depends on the batch, a critic without
  batch statistics does not.
* :func:`time_interleaved`: wall-clock and CPU time per call of several step
  functions, measured round-robin so that a busy machine slows all of them alike.
* :func:`clip_weights_` and :func:`weight_gradient_norms`: the weight clipping of
  the original WGAN (Arjovsky et al. 2017, Algorithm 1, line 7) and the per-layer
  gradient norms with which Gulrajani et al. 2017 (Fig. 1a) show it failing.
* :func:`conv_operator_norm`: the largest singular value of a convolution as a
  linear map on images (power iteration with autograd's transpose), which SN's
  reshaped-kernel σ does not bound.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import nn

from coursekit.losses import random_interpolates
from coursekit.runtime import module_mode

Tensor = torch.Tensor

__all__ = ["power_iteration", "gradient_norms_at_interpolates", "scores_in_batches",
           "StepTimes", "time_interleaved", "clip_weights_", "weight_gradient_norms", "conv_operator_norm"]


def power_iteration(W: Tensor, u: Tensor | None = None, n_iter: int = 1,
                    eps: float = 1e-12) -> tuple[Tensor, Tensor, Tensor]:
    """Estimate σ_max(W) by ``n_iter`` power iterations (Miyato et al. 2018, Algorithm 1).

    ``W``: ``[out, ...]`` (a conv kernel is flattened to ``[out, in·k·k]``);
    ``u``: ``[out]`` start vector (default: a random normal one). Returns
    ``(sigma, u, v)`` with ``sigma = uᵀ W v`` (0-d), the updated ``u [out]`` and
    ``v [in·k·k]``, both unit vectors. SN-GAN keeps ``u`` between training steps
    and runs one iteration per step: the weights change slowly, so σ stays tracked.
    """
    if W.dim() < 2:
        raise ValueError(f"W must have at least 2 dimensions ([out, in, ...]), got shape {list(W.shape)}")
    if n_iter < 1:
        raise ValueError(f"n_iter must be >= 1, got {n_iter}")
    W = W.detach().flatten(1)  # [out, in·k·k]
    if u is None:
        u = torch.randn(W.shape[0], dtype=W.dtype, device=W.device)
    if u.shape != (W.shape[0],):
        raise ValueError(f"u must have shape [{W.shape[0]}] (one entry per output unit), got {list(u.shape)}")
    u = u / u.norm().clamp_min(eps)
    for _ in range(n_iter):
        v = W.T @ u                       # [in·k·k]
        v = v / v.norm().clamp_min(eps)
        u = W @ v                         # [out]
        u = u / u.norm().clamp_min(eps)
    return u @ W @ v, u, v


def gradient_norms_at_interpolates(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor,
                                   generator: torch.Generator | None = None) -> Tensor:
    """Per-sample ``‖∇_x̂ f(x̂)‖₂`` at random interpolates of ``real`` and ``fake``: ``[B]``, detached.

    Under WGAN-GP these concentrate near 1 (the penalty's target); an
    unconstrained critic's drift far from it. Measured in whatever mode the
    critic is in (use ``critic.eval()`` for a BatchNorm-free critic it makes no difference).
    """
    x_hat = random_interpolates(real, fake, generator).float().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat)
    return grad.flatten(1).norm(dim=1).detach()  # [B]


@torch.no_grad()
def scores_in_batches(model: nn.Module, sample: Tensor, batches: Sequence[Tensor]) -> list[float]:
    """The score ``model`` gives ``sample`` (one item, ``[1, ...]``) when it is the first item of each batch.

    The model runs in *training* mode, as it does during a training step
    (BatchNorm then normalises with the statistics of the batch at hand), and is
    left in the mode it was in. Equal numbers mean one sample's score does not
    depend on the rest of the batch.
    """
    if sample.dim() < 1 or sample.shape[0] != 1:
        raise ValueError(f"sample must be a single item with a leading batch dimension of 1, got {list(sample.shape)}")
    with module_mode(model, training=True):
        return [float(model(torch.cat([sample, others]))[0]) for others in batches]


@dataclass(frozen=True)
class StepTimes:
    """Interleaved timings: ``wall_ms[name]`` and ``cpu_ms[name]``, one entry per round, in ms per call.

    CPU time (``time.process_time``) counts only the time this process computed,
    so it is less inflated than wall time on a machine shared with other work.
    """

    names: tuple[str, ...]
    wall_ms: Mapping[str, tuple[float, ...]]
    cpu_ms: Mapping[str, tuple[float, ...]]

    def median(self, name: str, clock: str = "wall") -> float:
        """Median ms per call of ``name`` over the rounds."""
        return statistics.median(self._series(clock)[name])

    def ratio(self, a: str, b: str, clock: str = "wall") -> float:
        """Median over rounds of time(a) / time(b): both were measured in the same round, under the same load."""
        s = self._series(clock)
        return statistics.median(x / y for x, y in zip(s[a], s[b]))

    def _series(self, clock: str) -> Mapping[str, tuple[float, ...]]:
        if clock not in ("wall", "cpu"):
            raise ValueError(f"clock must be 'wall' or 'cpu', got {clock!r}")
        return self.wall_ms if clock == "wall" else self.cpu_ms

    def rows(self, reference: str | None = None) -> list[dict[str, Any]]:
        """One dict per name: median wall and CPU ms, and the ratios to ``reference`` (default: the first name)."""
        reference = reference or self.names[0]
        return [{"name": n, "wall_ms": self.median(n), "cpu_ms": self.median(n, "cpu"),
                 "wall_ratio": self.ratio(n, reference), "cpu_ratio": self.ratio(n, reference, "cpu")}
                for n in self.names]


def time_interleaved(steps: Mapping[str, Callable[[], Any]], repeats: int = 5, calls: int = 10,
                     warmup: int = 2) -> StepTimes:
    """Time several step functions round-robin: ``repeats`` rounds, each running every function ``calls`` times.

    Every function is first called ``warmup`` times (allocations, caches). The
    order inside a round rotates, so no function always runs first or last. A
    function that leaves work on an accelerator should synchronise before it returns.
    """
    if not steps:
        raise ValueError("give at least one step function, e.g. {'plain': step_plain}")
    if repeats < 1 or calls < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1, calls >= 1, warmup >= 0; got {repeats}, {calls}, {warmup}")
    names = tuple(steps)
    for name in names:
        for _ in range(warmup):
            steps[name]()
    wall: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            fn = steps[name]
            w0, c0 = time.perf_counter(), time.process_time()
            for _ in range(calls):
                fn()
            wall[name].append(1000 * (time.perf_counter() - w0) / calls)
            cpu[name].append(1000 * (time.process_time() - c0) / calls)
    return StepTimes(names, {n: tuple(v) for n, v in wall.items()}, {n: tuple(v) for n, v in cpu.items()})


@torch.no_grad()
def clip_weights_(module: nn.Module, c: float) -> nn.Module:
    """Clamp every parameter of ``module`` to [-c, c], in place (WGAN, Arjovsky et al. 2017, Algorithm 1, line 7)."""
    if not c > 0:
        raise ValueError(f"the clipping bound c must be > 0, got {c}")
    for p in module.parameters():
        p.clamp_(-c, c)
    return module


def weight_gradient_norms(module: nn.Module, loss: Tensor) -> list[float]:
    """``‖∂loss/∂W_l‖₂`` (Frobenius) for every Linear / Conv weight of ``module``, input layer first.

    The measure of Gulrajani et al. 2017, Fig. 1a: with weight clipping the norms
    grow or shrink geometrically through a deep critic; under the gradient penalty they do not.
    """
    weights = [m.weight for m in module.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not weights:
        raise ValueError("the module has no Linear or Conv2d layers")
    grads = torch.autograd.grad(loss, weights, retain_graph=True, allow_unused=True)
    return [0.0 if g is None else g.norm().item() for g in grads]


def conv_operator_norm(conv: nn.Conv2d, input_shape: Sequence[int], n_iter: int = 50, seed: int = 0) -> float:
    """σ_max of the linear map ``x [C, H, W] ↦ conv(x)`` (bias left out), by ``n_iter`` power iterations.

    ``v ← Aᵀ(Av)/‖·‖`` with ``Aᵀ`` from autograd (the vector-Jacobian product of a
    linear map is its transpose), starting from a seeded random image. This is
    the Lipschitz constant of the layer on images of that size. Spectral
    normalisation divides by σ_max of the kernel reshaped to ``[out, in·k·k]``
    instead, and the two differ: every input pixel feeds up to ⌈k/s⌉² output
    positions, so the operator norm can exceed the reshaped one (Miyato et al.
    2018, Sec. 2.1 and App. A; Gouk et al. 2021).
    """
    if len(input_shape) != 3:
        raise ValueError(f"input_shape is one image's [C, H, W], got {list(input_shape)}")
    weight = conv.weight.detach()

    def A(x: Tensor) -> Tensor:  # [1, C, H, W] -> [1, C', H', W'], linear (no bias)
        return torch.nn.functional.conv2d(x, weight, None, conv.stride, conv.padding, conv.dilation, conv.groups)

    g = torch.Generator(device="cpu").manual_seed(seed)
    v = torch.randn(1, *input_shape, generator=g).to(weight)
    v = v / v.norm()
    for _ in range(n_iter):
        x = v.detach().requires_grad_(True)
        with torch.enable_grad():
            y = A(x)
            (w,) = torch.autograd.grad(y, x, grad_outputs=y)  # Aᵀ A v
        v = w / w.norm().clamp_min(1e-12)
    with torch.no_grad():
        return A(v).norm().item()  # ‖A v‖ with ‖v‖ = 1
