"""Closed forms of GAN theory on a 1-D grid (Goodfellow et al. 2014, Sec. 4).

Densities are numpy arrays tabulated on a *uniform* grid ``x`` with spacing
``dx``; integrals are Riemann sums ``sum(f) * dx``. All logs are natural, so
the Jensen-Shannon divergence lies in ``[0, log 2]``.
"""
from __future__ import annotations

import math

import numpy as np

LOG2 = math.log(2.0)
LOG4 = math.log(4.0)


def _check_pair(p: np.ndarray, q: np.ndarray, dx: float) -> tuple[np.ndarray, np.ndarray]:
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.ndim != 1 or p.shape != q.shape:
        raise ValueError(f"p and q must be 1-D arrays of the same length, got shapes {p.shape} and {q.shape}")
    if not dx > 0:
        raise ValueError(f"dx must be the (positive) grid spacing, got {dx}")
    if (p < 0).any() or (q < 0).any():
        raise ValueError("densities must be non-negative; tabulate a pdf, not a log-pdf")
    return p, q


def grid(lo: float = -10.0, hi: float = 10.0, n: int = 4001) -> tuple[np.ndarray, float]:
    """A uniform grid ``x`` on ``[lo, hi]`` with ``n`` points and its spacing ``dx``."""
    if not hi > lo or n < 2:
        raise ValueError(f"need hi > lo and n >= 2, got lo={lo}, hi={hi}, n={n}")
    x = np.linspace(lo, hi, n)
    return x, float(x[1] - x[0])


def gaussian_pdf(x: np.ndarray, mu: float = 0.0, sigma: float = 1.0) -> np.ndarray:
    """Density of N(mu, sigma^2) at ``x``."""
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def uniform_pdf(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Density of U[lo, hi] at ``x``."""
    if not hi > lo:
        raise ValueError(f"need hi > lo, got lo={lo}, hi={hi}")
    x = np.asarray(x, dtype=np.float64)
    return np.where((x >= lo) & (x <= hi), 1.0 / (hi - lo), 0.0)


def mixture_pdf(x: np.ndarray, mus: list[float], sigmas: list[float], weights: list[float] | None = None) -> np.ndarray:
    """Density of a 1-D Gaussian mixture; ``weights`` default to uniform and are normalised."""
    if len(mus) != len(sigmas):
        raise ValueError(f"mus and sigmas must have the same length, got {len(mus)} and {len(sigmas)}")
    w = np.ones(len(mus)) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    return sum(wi * gaussian_pdf(x, m, s) for wi, m, s in zip(w, mus, sigmas))


def normalize(p: np.ndarray, dx: float) -> np.ndarray:
    """Rescale ``p`` so that ``sum(p) * dx == 1`` (removes the truncation error of a finite grid)."""
    p = np.asarray(p, dtype=np.float64)
    mass = p.sum() * dx
    if not mass > 0:
        raise ValueError("p has no mass on this grid; widen the grid")
    return p / mass


def kl(p: np.ndarray, q: np.ndarray, dx: float) -> float:
    """KL(p || q) = ∫ p log(p/q) dx in nats (``inf`` where p > 0 = q)."""
    p, q = _check_pair(p, q, dx)
    mask = p > 0
    if (q[mask] == 0).any():
        return math.inf
    return float(np.sum(p[mask] * (np.log(p[mask]) - np.log(q[mask]))) * dx)


def jsd(p: np.ndarray, q: np.ndarray, dx: float) -> float:
    """Jensen-Shannon divergence ``½ KL(p||m) + ½ KL(q||m)``, ``m = (p+q)/2``, in nats.

    Bounded by log 2, reached when the supports are disjoint (Goodfellow et al.
    2014, Theorem 1 uses it: C(G) = -log 4 + 2 JSD(p_data || p_g)).
    """
    p, q = _check_pair(p, q, dx)
    total = p + q  # = 2m; forming m = (p+q)/2 would underflow to 0 for subnormal p
    return 0.5 * (_xlog_ratio(p, total) + _xlog_ratio(q, total)) * dx + LOG2 * 0.5 * (p.sum() + q.sum()) * dx


def _xlog_ratio(a: np.ndarray, b: np.ndarray) -> float:
    """sum of a * log(a / b) over a > 0 (0 log 0 = 0); requires b >= a."""
    mask = a > 0
    return float(np.sum(a[mask] * (np.log(a[mask]) - np.log(b[mask]))))


def wasserstein1(p: np.ndarray, q: np.ndarray, dx: float) -> float:
    """Earth mover's distance W1 = ∫ |F_p(x) - F_q(x)| dx between two 1-D densities.

    The CDFs are cumulative Riemann sums; in 1-D this equals the optimal
    transport cost (Arjovsky et al. 2017, Example 1 uses it for parallel lines).
    """
    p, q = _check_pair(p, q, dx)
    cdf_p, cdf_q = np.cumsum(p) * dx, np.cumsum(q) * dx
    return float(np.sum(np.abs(cdf_p - cdf_q)) * dx)


def optimal_discriminator(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
    """D*_G(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al. 2014, Proposition 1).

    Where both densities vanish the value is undefined; we return ½ there.
    """
    p, q = _check_pair(p_data, p_g, 1.0)
    total = p + q
    return np.divide(p, total, out=np.full_like(p, 0.5), where=total > 0)


def value_function(p_data: np.ndarray, p_g: np.ndarray, d: np.ndarray, dx: float) -> float:
    """V(D, G) = ∫ p_data log D + p_g log(1 - D) dx for a tabulated discriminator ``d`` (Eq. 1 / Eq. 3)."""
    p, q = _check_pair(p_data, p_g, dx)
    d = np.asarray(d, dtype=np.float64)
    if d.shape != p.shape or (d < 0).any() or (d > 1).any():
        raise ValueError("d must be probabilities in [0, 1] on the same grid as the densities")
    with np.errstate(divide="ignore", invalid="ignore"):
        real = np.where(p > 0, p * np.log(d), 0.0)
        fake = np.where(q > 0, q * np.log1p(-d), 0.0)
    return float(np.sum(real + fake) * dx)


def virtual_training_criterion(p_data: np.ndarray, p_g: np.ndarray, dx: float) -> float:
    """C(G) = max_D V(G, D) = V(D*_G, G) by quadrature (Goodfellow et al. 2014, Eq. 4).

    Theorem 1: C(G) = -log 4 + 2 JSD(p_data || p_g), minimised (= -log 4) iff p_g = p_data.
    """
    p, q = _check_pair(p_data, p_g, dx)
    total = p + q
    # ∫ p log(p/(p+q)) + q log(q/(p+q)): from the ratios, not a rounded D* (which hits log 0 in the tails).
    return (_xlog_ratio(p, total) + _xlog_ratio(q, total)) * dx


def w1_gaussians(mu1: float, sigma1: float, mu2: float, sigma2: float) -> float:
    """Closed-form W1 between two 1-D Gaussians with the *same* std: |mu1 - mu2|."""
    if not math.isclose(sigma1, sigma2):
        raise ValueError("the closed form |mu1 - mu2| holds only for equal standard deviations")
    return abs(mu1 - mu2)


def jsd_w1_curves(x: np.ndarray, dx: float, sigma: float, shifts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """JSD and W1 between p_data = N(0, σ²) and p_g = N(shift, σ²) for each shift, on the grid ``x``.

    Uses :func:`jsd` and :func:`wasserstein1`
    (natural log): JSD → log 2 once the supports separate, W1 = |shift|
    (Arjovsky et al. 2017, Example 1).
    """
    p_data = normalize(gaussian_pdf(x, 0.0, sigma), dx)
    jsds, w1s = [], []
    for shift in np.asarray(shifts, dtype=np.float64):
        p_g = normalize(gaussian_pdf(x, float(shift), sigma), dx)
        jsds.append(jsd(p_data, p_g, dx))
        w1s.append(wasserstein1(p_data, p_g, dx))
    return np.array(jsds), np.array(w1s)


def smoothed_optimal_discriminator(
    p_data: np.ndarray, p_g: np.ndarray, alpha: float = 1.0, beta: float = 0.0
) -> np.ndarray:
    """D*(x) = (α p_data + β p_g) / (p_data + p_g) for BCE with real label α and fake label β.

    Pointwise maximiser of p_data[α log D + (1−α) log(1−D)] + p_g[β log D + (1−β) log(1−D)]
    (Salimans et al. 2016, Sec. 3.4). α = 1, β = 0 gives Goodfellow's
    p_data / (p_data + p_g). Where both densities vanish we return ½.
    """
    if not (0.0 <= beta <= 1.0 and 0.0 <= alpha <= 1.0):
        raise ValueError(f"labels must lie in [0, 1], got alpha={alpha}, beta={beta}")
    p = np.asarray(p_data, dtype=np.float64)
    q = np.asarray(p_g, dtype=np.float64)
    if p.shape != q.shape or (p < 0).any() or (q < 0).any():
        raise ValueError("p_data and p_g must be non-negative densities on the same grid")
    total = p + q
    return np.divide(alpha * p + beta * q, total, out=np.full_like(total, 0.5), where=total > 0)
