"""Streaming mean and covariance in float64, and the input checks the metrics share.

``RunningStats`` adds features batch by batch (Chan, Golub & LeVeque's
parallel form of Welford's update), so FID statistics of 50,000 samples never
need all the features in memory, and the sum of squares never loses precision
to a large mean the way ``E[xxᵀ] − μμᵀ`` does.
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["RunningStats", "as_float64_matrix"]


def as_float64(x) -> np.ndarray:
    """``x`` (a tensor on any device, an array or a sequence) as a float64 NumPy array, detached, on the CPU."""
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", torch.float64).numpy()
    return np.asarray(x, dtype=np.float64)


def as_finite_float64(x, name: str) -> np.ndarray:
    """:func:`as_float64`, or a ``ValueError`` naming ``name`` if it holds NaN or inf."""
    arr = as_float64(x)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf: recompute the statistics from finite features")
    return arr


def as_float64_matrix(x, name: str = "features", min_rows: int = 1) -> np.ndarray:
    """``x`` (tensor or array) as a finite float64 ``[N, d]`` array, or a ``ValueError`` saying what to fix."""
    arr = as_float64(x)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D [N, d] array of N samples with d features, got shape {list(arr.shape)}; "
            "flatten each sample (x.reshape(len(x), -1)) or add the sample axis"
        )
    if arr.shape[0] < min_rows:
        raise ValueError(
            f"{name} has {arr.shape[0]} sample(s); at least {min_rows} are needed "
            "(statistics of fewer samples are undefined): pass more samples"
        )
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).any(axis=1).sum())
        raise ValueError(
            f"{name} contains NaN or inf in {bad} of {arr.shape[0]} samples: check the generator output "
            "(a diverged run?) before measuring it"
        )
    return arr


class RunningStats:
    """Mean and (unbiased) covariance of ``d``-dimensional features, accumulated batch by batch in float64.

    >>> stats = RunningStats(128)
    >>> for batch in batches: stats.update(batch)      # batch: [B, 128]
    >>> stats.mean, stats.cov                           # [128], [128, 128] float64
    """

    def __init__(self, dim: int):
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        self.dim = int(dim)
        self.n = 0
        self._mean = np.zeros(self.dim)
        self._m2 = np.zeros((self.dim, self.dim))  # Σ (x - mean)(x - mean)ᵀ

    @classmethod
    def from_features(cls, features, batch_size: int | None = None) -> "RunningStats":
        arr = as_float64_matrix(features)
        stats = cls(arr.shape[1])
        step = batch_size or len(arr)
        for start in range(0, len(arr), step):
            stats.update(arr[start : start + step])
        return stats

    def update(self, batch) -> "RunningStats":
        """Add a batch ``[B, d]`` (tensor or array). Returns ``self``."""
        x = as_float64_matrix(batch, name="batch")
        if x.shape[1] != self.dim:
            raise ValueError(f"batch has {x.shape[1]} features but these statistics have {self.dim}: "
                             "use one feature extractor for all batches")
        nb = len(x)
        mb = x.mean(axis=0)
        xc = x - mb
        m2b = xc.T @ xc
        n = self.n + nb
        delta = mb - self._mean
        self._mean = self._mean + delta * (nb / n)
        self._m2 = self._m2 + m2b + np.outer(delta, delta) * (self.n * nb / n)
        self.n = n
        return self

    def merge(self, other: "RunningStats") -> "RunningStats":
        """Combine with statistics gathered elsewhere (e.g. another process). Returns ``self``."""
        if other.dim != self.dim:
            raise ValueError(f"cannot merge statistics of dimension {other.dim} into {self.dim}")
        if other.n == 0:
            return self
        n = self.n + other.n
        delta = other._mean - self._mean
        self._m2 = self._m2 + other._m2 + np.outer(delta, delta) * (self.n * other.n / n)
        self._mean = self._mean + delta * (other.n / n)
        self.n = n
        return self

    @property
    def mean(self) -> np.ndarray:
        """Mean ``[d]`` (float64)."""
        if self.n < 1:
            raise ValueError("no samples added yet: call update(batch) first")
        return self._mean.copy()

    @property
    def cov(self) -> np.ndarray:
        """Unbiased covariance ``[d, d]`` (float64, divides by n - 1 like ``np.cov``)."""
        if self.n < 2:
            raise ValueError(f"a covariance needs at least 2 samples, got {self.n}: add more samples")
        return self._m2 / (self.n - 1)

    def __repr__(self) -> str:
        return f"RunningStats(dim={self.dim}, n={self.n})"
