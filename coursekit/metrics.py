"""Sample-quality metrics of GANs, in float64: FID, IS, KID, precision/recall, mode coverage.

* Fréchet distance (Heusel et al. 2017, Eq. 6; Dowson & Landau 1982):
  ``d² = |μ1 − μ2|² + tr Σ1 + tr Σ2 − 2 tr (Σ1^½ Σ2 Σ1^½)^½``.
  ``tr (Σ1 Σ2)^½`` is the sum of the square roots of the eigenvalues of
  ``Σ1 Σ2``, which has the eigenvalues of the *symmetric* PSD matrix ``Lᵀ Σ2 L``
  (``Σ1 = L Lᵀ``). One Cholesky, two matmuls and one ``eigvalsh`` replace a
  general ``sqrtm``: faster, and never complex.
* Inception Score (Salimans et al. 2016, Sec. 4): ``exp E_x KL(p(y|x) ‖ p(y))``
  per split, mean ± std over splits, as the original code and torch-fidelity.
* KID (Bińkowski et al. 2018, Sec. 3): unbiased MMD² with the kernel
  ``k(x, y) = (xᵀy / d + 1)³``, averaged over random subsets.
* Precision / recall (Kynkäänniemi et al. 2019, Sec. 3): k-NN balls around
  each sample approximate the real and the generated manifolds.
* Mode coverage (Srivastava et al. 2017 VEEGAN, Sec. 5.1; Lin et al. 2018
  PacGAN): modes captured, fraction of high-quality samples, reverse KL.

Every function accepts NumPy arrays or torch tensors and returns Python floats.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.linalg
import torch
from scipy.special import xlogy

from coursekit.stats import RunningStats, as_finite_float64, as_float64_matrix

__all__ = [
    "frechet_distance",
    "fid_from_features",
    "fid_from_stats",
    "inception_score",
    "kid",
    "precision_recall",
    "mode_histogram",
    "mode_coverage",
    "RunningStats",
]


# ------------------------------------------------------------------ FID


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (Heusel et al. 2017, Eq. 6), in float64.

    ``mu*``: ``[d]``; ``sigma*``: ``[d, d]`` symmetric positive semi-definite.
    Computed as ``|Δμ|² + tr Σ1 + tr Σ2 − 2 Σᵢ √λᵢ(Lᵀ Σ2 L)`` with ``Σ1 = L Lᵀ``.
    If ``Σ1`` is singular (e.g. fewer samples than dimensions) the Cholesky
    factor is replaced by the symmetric square root from ``eigh`` (exact, no
    ε added) and a warning says so. Tiny negative eigenvalues from rounding
    are clipped to 0, and so is the result: it is always a finite real ``≥ 0``.
    """
    mu1, mu2 = as_finite_float64(mu1, "mu1"), as_finite_float64(mu2, "mu2")
    sigma1, sigma2 = as_finite_float64(sigma1, "sigma1"), as_finite_float64(sigma2, "sigma2")
    if mu1.ndim != 1 or mu2.ndim != 1:
        raise ValueError(f"mu1 and mu2 must be 1-D [d] mean vectors, "
                         f"got shapes {list(mu1.shape)} and {list(mu2.shape)}")
    d = mu1.shape[0]
    if mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(
            f"shapes do not match: mu1 {list(mu1.shape)}, sigma1 {list(sigma1.shape)}, mu2 {list(mu2.shape)}, "
            f"sigma2 {list(sigma2.shape)}; both Gaussians need the same d: mu [d], sigma [d, d] "
            "(statistics from the same feature extractor)"
        )
    sigma1 = (sigma1 + sigma1.T) / 2  # remove rounding asymmetry: the formula needs symmetric matrices
    sigma2 = (sigma2 + sigma2.T) / 2
    try:
        root1 = scipy.linalg.cholesky(sigma1, lower=True, check_finite=False)  # Σ1 = L Lᵀ
        inner = root1.T @ sigma2 @ root1  # Lᵀ Σ2 L: same eigenvalues as Σ1 Σ2, symmetric PSD
    except np.linalg.LinAlgError:
        warnings.warn(
            f"sigma1 ({d}×{d}) is singular, typically because it was estimated from fewer than {d + 1} samples: "
            "using the eigh square root instead of Cholesky. The value is exact for these matrices, but FID "
            "from so few samples is strongly biased; use more samples than feature dimensions.",
            RuntimeWarning,
            stacklevel=2,
        )
        w, v = scipy.linalg.eigh(sigma1, check_finite=False)
        root1 = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T  # Σ1^½, symmetric
        inner = root1 @ sigma2 @ root1
    inner = (inner + inner.T) / 2
    eigenvalues = scipy.linalg.eigvalsh(inner, check_finite=False)
    tr_covmean = float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())  # tr (Σ1 Σ2)^½
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean)
    return max(value, 0.0)


def _check_pair(f1, f2, min_rows: int) -> tuple[np.ndarray, np.ndarray]:
    a = as_float64_matrix(f1, name="feats1", min_rows=min_rows)
    b = as_float64_matrix(f2, name="feats2", min_rows=min_rows)
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"feats1 has {a.shape[1]} features per sample but feats2 has {b.shape[1]}: "
            "extract both with the same feature extractor (same layer)"
        )
    return a, b


def fid_from_stats(stats1: RunningStats, stats2: RunningStats) -> float:
    """FID between two ``RunningStats`` (features accumulated batch by batch)."""
    if stats1.dim != stats2.dim:
        raise ValueError(f"statistics of dimension {stats1.dim} and {stats2.dim}: use the same feature extractor")
    return frechet_distance(stats1.mean, stats1.cov, stats2.mean, stats2.cov)


def fid_from_features(feats1, feats2) -> float:
    """FID between two feature sets ``[N1, d]`` and ``[N2, d]``: Fréchet distance of their Gaussian fits.

    Covariances are unbiased (``np.cov``), in float64. With ``N ≤ d`` a
    covariance is rank-deficient: the value stays finite and real, but FID is
    biased in N (Chong & Forsyth 2020), so a warning is issued.
    """
    a, b = _check_pair(feats1, feats2, min_rows=2)
    d = a.shape[1]
    if min(len(a), len(b)) <= d:
        warnings.warn(
            f"FID from {len(a)} and {len(b)} samples of {d}-d features: a covariance from N <= d samples is "
            "rank-deficient and FID is strongly biased in N; compare FIDs only at equal N, ideally N >> d.",
            RuntimeWarning,
            stacklevel=2,
        )
    s1, s2 = RunningStats.from_features(a), RunningStats.from_features(b)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="sigma1 .* is singular")  # already said above
        return fid_from_stats(s1, s2)


# ------------------------------------------------------------------ IS


def inception_score(probs, splits: int = 10) -> tuple[float, float]:
    """Inception Score ``exp(E_x KL(p(y|x) ‖ p(y)))`` (Salimans et al. 2016, Sec. 4): ``(mean, std)`` over splits.

    ``probs``: class probabilities ``[N, C]`` (rows sum to 1), e.g. the
    classifier's softmax. The samples are cut in order into ``splits``
    consecutive parts (``i*N//splits`` … ``(i+1)*N//splits``, as the original
    code and torch-fidelity; shuffle beforehand if the order means anything);
    ``p(y)`` is each part's mean; std is the population std (``np.std``).
    Ranges from 1 (every sample the same class distribution) to C.
    """
    p = as_float64_matrix(probs, name="probs", min_rows=1)
    if not isinstance(splits, (int, np.integer)) or splits < 1:
        raise ValueError(f"splits must be a positive integer, got {splits!r}")
    if len(p) < splits:
        raise ValueError(f"{len(p)} samples cannot be cut into splits={splits} parts: "
                         "pass more samples or fewer splits")
    if (p < 0).any() or not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError(
            "probs must be probabilities (non-negative, rows summing to 1); "
            "if you have logits, pass logits.softmax(dim=1)"
        )
    n = len(p)
    scores = []
    for i in range(splits):
        part = p[i * n // splits : (i + 1) * n // splits]
        p_y = part.mean(axis=0, keepdims=True)  # marginal p(y) of this split, [1, C]
        kl = (xlogy(part, part) - xlogy(part, p_y)).sum(axis=1)  # KL(p(y|x) ‖ p(y)), 0·log 0 = 0
        scores.append(math.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


# ------------------------------------------------------------------ KID


def _poly_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3  # (xᵀy / d + 1)³


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² estimate (Bińkowski et al. 2018, Eq. 3 with the diagonals of k_xx, k_yy removed)."""
    m = len(x)
    k_xx, k_yy, k_xy = _poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y)
    sum_xx = k_xx.sum() - np.trace(k_xx)
    sum_yy = k_yy.sum() - np.trace(k_yy)
    return float((sum_xx + sum_yy) / (m * (m - 1)) - 2.0 * k_xy.sum() / (m * m))


def kid(feats1, feats2, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance (Bińkowski et al. 2018): ``(mean, std)`` of unbiased MMD² over random subsets.

    Each of ``subsets`` rounds draws ``subset_size`` samples without replacement
    from each set (NumPy generator seeded by ``seed``) and computes the unbiased
    MMD² under the cubic polynomial kernel ``(xᵀy/d + 1)³``; std is the
    population std, as torchmetrics. KID is unbiased in N, so it can be
    slightly negative for two samples of one distribution. A ``subset_size``
    larger than either set is clipped to the smaller set's size, with a warning.
    """
    a, b = _check_pair(feats1, feats2, min_rows=2)
    if not isinstance(subsets, (int, np.integer)) or subsets < 1:
        raise ValueError(f"subsets must be a positive integer, got {subsets!r}")
    if not isinstance(subset_size, (int, np.integer)) or subset_size < 2:
        raise ValueError(f"subset_size must be an integer >= 2, got {subset_size!r}")
    m = min(subset_size, len(a), len(b))
    if m < subset_size:
        warnings.warn(
            f"subset_size={subset_size} is larger than the sample sets ({len(a)} and {len(b)}): using {m}",
            RuntimeWarning,
            stacklevel=2,
        )
    rng = np.random.default_rng(seed)
    scores = [
        _mmd2_unbiased(a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)])
        for _ in range(subsets)
    ]
    return float(np.mean(scores)), float(np.std(scores))


# ------------------------------------------------------------------ precision / recall


def _knn_radii(x: torch.Tensor, k: int, batch_size: int) -> torch.Tensor:
    """Distance from each row of ``x`` to its k-th nearest other row (the row itself is at distance 0)."""
    radii = [torch.cdist(x[s : s + batch_size], x).kthvalue(k + 1, dim=1).values for s in range(0, len(x), batch_size)]
    return torch.cat(radii)


def _inside_any_ball(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, batch_size: int) -> float:
    """Fraction of ``points`` within ``radii[j]`` of some ``centres[j]``."""
    inside = [
        (torch.cdist(points[s : s + batch_size], centres) <= radii[None, :]).any(dim=1)
        for s in range(0, len(points), batch_size)
    ]
    return float(torch.cat(inside).double().mean())


def precision_recall(real_feats, fake_feats, k: int = 3, batch_size: int = 1000) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019, Eq. 1-2) with k-NN radii.

    Each sample gets a ball reaching its ``k``-th nearest neighbour in its own
    set (itself excluded). Precision: the fraction of fake samples inside some
    real ball (quality); recall: the fraction of real samples inside some fake
    ball (coverage). Distances in float64, in row batches of ``batch_size``.
    """
    a, b = _check_pair(real_feats, fake_feats, min_rows=2)
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if min(len(a), len(b)) <= k:
        raise ValueError(f"k={k} needs more than k samples in each set, got {len(a)} real and {len(b)} fake")
    real, fake = torch.from_numpy(a), torch.from_numpy(b)
    real_radii = _knn_radii(real, k, batch_size)
    fake_radii = _knn_radii(fake, k, batch_size)
    precision = _inside_any_ball(fake, real, real_radii, batch_size)
    recall = _inside_any_ball(real, fake, fake_radii, batch_size)
    return precision, recall


# ------------------------------------------------------------------ mode coverage


def mode_histogram(samples, centers, std: float, threshold: float = 3.0) -> np.ndarray:
    """Counts ``[M]`` of high-quality samples per mode: samples within ``threshold * std`` of their nearest centre."""
    x = as_float64_matrix(samples, name="samples", min_rows=1)
    c = as_float64_matrix(centers, name="centers", min_rows=1)
    if x.shape[1] != c.shape[1]:
        raise ValueError(f"samples are {x.shape[1]}-d but centers are {c.shape[1]}-d: use the mixture's own centers")
    if not (np.isfinite(std) and std > 0) or not (np.isfinite(threshold) and threshold > 0):
        raise ValueError(f"std and threshold must be positive, got std={std}, threshold={threshold}")
    dist = torch.cdist(torch.from_numpy(x), torch.from_numpy(c))  # [N, M]
    nearest_dist, nearest = dist.min(dim=1)
    high_quality = nearest_dist < threshold * std
    return np.bincount(nearest[high_quality].numpy(), minlength=len(c))


def mode_coverage(samples, centers, std: float, threshold: float = 3.0, min_fraction: float = 0.2) -> dict:
    """Mode collapse measures of VEEGAN (Srivastava et al. 2017, Sec. 5.1) / PacGAN (Lin et al. 2018).

    ``samples`` ``[N, D]``, ``centers`` ``[M, D]``, ``std`` of each mixture component. A sample is
    *high quality* when its distance to the nearest centre is below ``threshold * std``.
    Returns
      * ``"modes"``: number of modes *captured*: modes that hold at least ``min_fraction`` of
        their fair share, ``min_fraction * N / M``, of high-quality samples (and at least one).
        With 2,500 samples the default 0.2 asks for 63 samples on a mode of the ring of 8 and
        20 on a mode of the grid of 25, so a smear over the plane, which leaves a few samples
        near every centre, does not count as coverage;
      * ``"modes_any"``: modes with at least one high-quality sample, the count of the papers'
        tables; it rewards smearing, and is kept to show why it misleads;
      * ``"high_quality"``: fraction of samples that are high quality, in [0, 1];
      * ``"reverse_kl"``: KL(q ‖ uniform) = Σ q log(M q), natural log, where q is the
        histogram over modes of the high-quality samples. 0 when all modes are hit
        equally, log M when one mode gets everything. With no high-quality sample at
        all q is undefined; we return log M, the value of total collapse.
    """
    if not (np.isfinite(min_fraction) and 0.0 <= min_fraction <= 1.0):
        raise ValueError(f"min_fraction must be in [0, 1] (a share of N / M samples per mode), got {min_fraction}")
    counts = mode_histogram(samples, centers, std, threshold)
    n_samples = len(samples)
    n_modes = len(counts)
    n_high = int(counts.sum())
    if n_high == 0:
        reverse_kl = math.log(n_modes)
    else:
        q = counts / n_high
        reverse_kl = float(xlogy(q, q * n_modes).sum())
    min_count = max(1.0, min_fraction * n_samples / n_modes)
    return {"modes": int((counts >= min_count).sum()), "modes_any": int((counts > 0).sum()),
            "high_quality": n_high / n_samples, "reverse_kl": max(reverse_kl, 0.0)}
