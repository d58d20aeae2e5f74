"""GAN losses and penalties as small pure functions on logits (or critic scores).

Every loss takes the raw outputs of a discriminator (``[B]`` or ``[B, 1]``) and
returns a scalar tensor that the corresponding player *minimises*. Nothing
here applies a sigmoid and then a log: ``log σ(x) = -softplus(-x)`` and
``log(1 - σ(x)) = -softplus(x)`` stay finite for any logit.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


def _flat(logits: Tensor) -> Tensor:
    return logits.reshape(logits.shape[0], -1).mean(dim=1) if logits.dim() > 1 else logits


def d_loss_bce(real_logits: Tensor, fake_logits: Tensor, real_label: float = 1.0, fake_label: float = 0.0) -> Tensor:
    """Discriminator loss of Goodfellow et al. 2014, Eq. 1, with optional label smoothing.

    ``-[t_r log D(x) + (1-t_r) log(1-D(x))] - [t_f log D(G(z)) + (1-t_f) log(1-D(G(z)))]``,
    averaged over each batch; ``real_label=0.9`` is one-sided smoothing
    (Salimans et al. 2016, Sec. 3.4), ``fake_label=0.1`` the two-sided variant.
    """
    real_logits, fake_logits = _flat(real_logits), _flat(fake_logits)
    real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_label))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.full_like(fake_logits, fake_label))
    return real + fake


def g_loss_saturating(fake_logits: Tensor) -> Tensor:
    """Minimax generator loss ``E[log(1 - D(G(z)))]`` (Goodfellow et al. 2014, Eq. 1).

    Its gradient vanishes when D confidently rejects fakes (D(G(z)) → 0).
    """
    return -F.softplus(_flat(fake_logits)).mean()


def g_loss_nonsaturating(fake_logits: Tensor) -> Tensor:
    """Non-saturating generator loss ``-E[log D(G(z))]`` (Goodfellow et al. 2014, Sec. 3)."""
    return F.softplus(-_flat(fake_logits)).mean()


def d_loss_lsgan(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Least-squares discriminator loss (Mao et al. 2017, Eq. 9 with a=0, b=1), halved."""
    return 0.5 * ((_flat(real_logits) - 1) ** 2).mean() + 0.5 * (_flat(fake_logits) ** 2).mean()


def g_loss_lsgan(fake_logits: Tensor) -> Tensor:
    """Least-squares generator loss (Mao et al. 2017, Eq. 9 with c=1), halved."""
    return 0.5 * ((_flat(fake_logits) - 1) ** 2).mean()


def d_loss_hinge(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Hinge discriminator loss ``E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]`` (Miyato et al. 2018)."""
    return F.relu(1 - _flat(real_logits)).mean() + F.relu(1 + _flat(fake_logits)).mean()


def g_loss_hinge(fake_logits: Tensor) -> Tensor:
    """Hinge generator loss ``-E[D(G(z))]``."""
    return -_flat(fake_logits).mean()


def d_loss_wgan(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Critic loss of WGAN (Arjovsky et al. 2017): ``E[f(G(z))] - E[f(x)]``, an estimate of -W1."""
    return _flat(fake_scores).mean() - _flat(real_scores).mean()


def g_loss_wgan(fake_scores: Tensor) -> Tensor:
    """Generator loss of WGAN: ``-E[f(G(z))]``."""
    return -_flat(fake_scores).mean()


def random_interpolates(real: Tensor, fake: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """``x̂ = εx + (1-ε)x̃`` with one ε ~ U[0, 1] per sample (Gulrajani et al. 2017, Algorithm 1, line 6), detached."""
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, got {tuple(real.shape)} and {tuple(fake.shape)}")
    eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device, generator=generator)
    return eps * real.detach() + (1 - eps) * fake.detach()


def gradient_penalty(
    critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, generator: torch.Generator | None = None
) -> Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017, Eq. 3), without the factor λ.

    ``E[(‖∇_x̂ f(x̂)‖₂ - 1)²]`` at ``x̂ = εx + (1-ε)x̃``, one ε ~ U[0,1] per
    sample. The norm is taken *per sample*, and the graph is kept
    (``create_graph=True``) so the penalty trains the critic. Computed in fp32.
    """
    x_hat = random_interpolates(real.float(), fake.float(), generator).requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def r1_penalty(discriminator: Callable[[Tensor], Tensor], real: Tensor) -> Tensor:
    """R1 regulariser (Mescheder et al. 2018, Eq. 9) without γ/2: ``E[‖∇_x D(x)‖²]`` on real data."""
    x = real.detach().float().requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminator(x).sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(dim=1).mean()


def instance_noise(x: Tensor, std: float, generator: torch.Generator | None = None) -> Tensor:
    """Add N(0, std²) noise to a batch (Sønderby et al. 2017; anneal ``std`` towards 0 during training)."""
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std}")
    if std == 0:
        return x
    return x + std * torch.randn(x.shape, device=x.device, dtype=x.dtype, generator=generator)
