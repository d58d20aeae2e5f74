"""Latent-space walks for looking at a generator: seeded latents, interpolation, one-dimension sweeps.

Used by :func:`coursekit.widgets.latent_explorer` (lessons 2 and 4) and
:func:`coursekit.widgets.style_mixer` (lesson 7).
"""
from __future__ import annotations

import torch

__all__ = ["MAX_SEED", "latent_from_seed", "interpolate", "sweep"]

MAX_SEED = 2**31 - 1


def latent_from_seed(seed: int, nz: int) -> torch.Tensor:
    """The latent ``z ~ N(0, I)`` ``[nz]`` drawn from ``torch.Generator().manual_seed(seed)`` (CPU, reproducible)."""
    if not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"seed must be in 0..{MAX_SEED}, got {seed}")
    gen = torch.Generator().manual_seed(int(seed))
    return torch.randn(nz, generator=gen)


def interpolate(z_a: torch.Tensor, z_b: torch.Tensor, steps: int, mode: str = "slerp") -> torch.Tensor:
    """``steps`` latents from ``z_a`` to ``z_b`` (both ends included): ``[steps, nz]``.

    ``"linear"``: (1−t) z_a + t z_b. ``"slerp"``: along the great circle
    (White 2016, "Sampling generative networks"), which keeps the norm that a
    Gaussian latent typically has; linear midpoints are atypically short.
    """
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    if z_a.shape != z_b.shape or z_a.dim() != 1:
        raise ValueError(
            f"z_a and z_b must be [nz] vectors of the same size, got {tuple(z_a.shape)} and {tuple(z_b.shape)}"
        )
    t = torch.linspace(0.0, 1.0, steps, dtype=z_a.dtype).unsqueeze(1)  # [steps, 1]
    if mode == "linear":
        return (1 - t) * z_a + t * z_b
    if mode != "slerp":
        raise ValueError(f"mode must be 'linear' or 'slerp', got {mode!r}")
    cos = torch.dot(z_a, z_b) / (z_a.norm() * z_b.norm())
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if omega.abs() < 1e-6:  # parallel: slerp degenerates to lerp
        return (1 - t) * z_a + t * z_b
    return (torch.sin((1 - t) * omega) * z_a + torch.sin(t * omega) * z_b) / torch.sin(omega)


def sweep(z: torch.Tensor, dim: int, span: float, steps: int) -> torch.Tensor:
    """``steps`` copies of ``z`` ``[nz]`` whose coordinate ``dim`` runs over [−span, span]: ``[steps, nz]``."""
    if not 0 <= dim < z.shape[0]:
        raise ValueError(f"dim must be in 0..{z.shape[0] - 1}, got {dim}")
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    out = z.unsqueeze(0).repeat(steps, 1)  # [steps, nz]
    out[:, dim] = torch.linspace(-span, span, steps, dtype=z.dtype)
    return out
