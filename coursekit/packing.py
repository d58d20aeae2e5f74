"""Two ways to let a discriminator see more than one sample: minibatch std and packing.

- :class:`MinibatchStdDev` (Karras et al. 2018, Sec. 3): the standard deviation
  of every feature over a group of samples, averaged into one number, is
  appended as an extra feature. A collapsed generator (all samples alike) is
  then visible to D in a single statistic.
- :func:`pack` / :class:`PackedDiscriminator` (PacGAN, Lin et al. 2018, Sec. 3):
  D judges m samples at once, concatenated along the feature (channel) axis,
  all real or all fake, so a lack of diversity within a pack is evidence.

Both work under ``torch.func.vmap`` (reshapes and reductions only).
"""
from __future__ import annotations

import torch
from torch import nn

Tensor = torch.Tensor


def pack(x: Tensor, m: int) -> Tensor:
    """Concatenate groups of m consecutive samples along dim 1 (PacGAN, Lin et al. 2018).

    ``[B, F] -> [B/m, m·F]`` and ``[B, C, H, W] -> [B/m, m·C, H, W]``; sample
    ``i·m + j`` fills features ``j·F .. (j+1)·F - 1`` of packed row i.
    """
    if m < 1:
        raise ValueError(f"pack size m must be >= 1, got {m}")
    if x.dim() < 2:
        raise ValueError(f"pack expects a batch [B, features, ...], got shape {list(x.shape)}")
    if m == 1:
        return x
    if x.shape[0] % m:
        raise ValueError(f"batch size {x.shape[0]} is not a multiple of the pack size {m}; "
                         f"use a batch size divisible by {m}")
    return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])  # [B, F, ...] -> [B/m, m·F, ...]


class PackedDiscriminator(nn.Module):
    """Wrap a discriminator built for m-fold inputs: ``x [B, ...] -> logits [B/m]``.

    ``PackedDiscriminator(DCGANDiscriminator(image_shape=(2, 28, 28)), m=2)``
    judges pairs of MNIST digits; ``MLPDiscriminator(pack=m)`` packs by itself.
    """

    def __init__(self, discriminator: nn.Module, m: int):
        super().__init__()
        if m < 1:
            raise ValueError(f"pack size m must be >= 1, got {m}")
        self.discriminator, self.m = discriminator, m

    def forward(self, x: Tensor) -> Tensor:
        return self.discriminator(pack(x, self.m))  # [B, ...] -> [B/m, m·F, ...] -> [B/m]


class MinibatchStdDev(nn.Module):
    """Minibatch standard deviation layer (Karras et al. 2018, Sec. 3).

    For each group of ``group_size`` consecutive samples (default: the whole
    batch): the std of every feature/pixel over the group,
    ``sqrt(Var + 1e-8)`` (biased variance), averaged into one scalar, which is
    appended as one constant feature map: ``[B, C, H, W] -> [B, C+1, H, W]``
    or ``[B, F] -> [B, F+1]``. A constant batch gives ≈ 0 (exactly 1e-4).
    """

    def __init__(self, group_size: int | None = None, eps: float = 1e-8):
        super().__init__()
        if group_size is not None and group_size < 2:
            raise ValueError(f"group_size must be >= 2 (a std needs two samples) or None, got {group_size}")
        self.group_size, self.eps = group_size, eps

    def forward(self, x: Tensor) -> Tensor:
        b = x.shape[0]
        g = b if self.group_size is None else min(self.group_size, b)
        if b % g:
            raise ValueError(f"batch size {b} is not a multiple of the minibatch-std group size {g}")
        y = x.reshape(b // g, g, *x.shape[1:])                              # [B/G, G, C, ...]
        std = (y.var(dim=1, correction=0) + self.eps).sqrt()                 # [B/G, C, ...]
        s = std.flatten(1).mean(dim=1)                                       # [B/G]
        s = s[:, None].expand(b // g, g).reshape(b)                          # [B]: one value per sample
        feature = s.reshape(b, 1, *([1] * (x.dim() - 2))).expand(b, 1, *x.shape[2:])  # [B, 1, ...]
        return torch.cat([x, feature.to(x.dtype)], dim=1)                    # [B, C+1, ...]

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}"
