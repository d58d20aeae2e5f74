"""Lesson 8 exercises: the Inception Score, the Fréchet distance (1-D and d-D), KID, precision and recall.

Conventions: class probabilities are float64 tensors ``[N, C]`` (rows sum to 1);
Gaussian statistics are NumPy float64 arrays (``mu [d]``, ``sigma [d, d]``);
features are float64 tensors ``[N, d]``. Logs are natural.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import torch

from coursekit.check import Case, Exercise, Mistake

Tensor = torch.Tensor

# --------------------------------------------------------------- references


def _split_bounds(n: int, splits: int) -> list[tuple[int, int]]:
    return [(i * n // splits, (i + 1) * n // splits) for i in range(splits)]


def inception_score(probs: Tensor, splits: int = 10) -> tuple[float, float]:
    """IS = exp(E_x KL(p(y|x) ‖ p(y))) per split, then (mean, population std) over splits (Salimans et al. 2016,
    Sec. 4).

    Split i holds rows ``i*N//splits`` to ``(i+1)*N//splits``; ``p(y)`` is the split's mean row.
    """
    scores = []
    for a, b in _split_bounds(len(probs), splits):
        part = probs[a:b]
        p_y = part.mean(dim=0, keepdim=True)  # [1, C]
        kl = (torch.xlogy(part, part) - torch.xlogy(part, p_y)).sum(dim=1)  # [n_i]
        scores.append(math.exp(float(kl.mean())))
    return float(np.mean(scores)), float(np.std(scores))


def frechet_distance_1d(mu1: float, s1: float, mu2: float, s2: float) -> float:
    """Squared Fréchet (= Wasserstein-2) distance of N(mu1, s1²) and N(mu2, s2²): (mu1 − mu2)² + (s1 − s2)².

    ``s1``, ``s2`` are standard deviations (Dowson & Landau 1982 with d = 1).
    """
    return float((mu1 - mu2) ** 2 + (s1 - s2) ** 2)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """|μ1 − μ2|² + tr Σ1 + tr Σ2 − 2 tr (Σ1^½ Σ2 Σ1^½)^½ (Heusel et al. 2017, Eq. 6), in float64.

    tr (Σ1 Σ2)^½ = Σ √λ of the symmetric PSD matrix Σ1^½ Σ2 Σ1^½ (same eigenvalues as Σ1 Σ2).
    """
    w, v = np.linalg.eigh(sigma1)
    root1 = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T  # Σ1^½, symmetric
    inner = root1 @ sigma2 @ root1
    eig = np.linalg.eigvalsh((inner + inner.T) / 2)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.sqrt(np.clip(eig, 0.0, None)).sum())


def _poly_kernel(a: Tensor, b: Tensor) -> Tensor:
    return (a @ b.T / a.shape[1] + 1.0) ** 3  # (aᵀb / d + 1)³


def kid(x: Tensor, y: Tensor) -> float:
    """Unbiased MMD² of two feature sets ``[m, d]``, ``[n, d]`` under k(a, b) = (aᵀb/d + 1)³ (Bińkowski et al. 2018).

    MMD²_u = Σ_{i≠j} k(x_i, x_j) / (m(m−1)) + Σ_{i≠j} k(y_i, y_j) / (n(n−1)) − 2 Σ_{i,j} k(x_i, y_j) / (mn).
    """
    m, n = len(x), len(y)
    k_xx, k_yy, k_xy = _poly_kernel(x, x), _poly_kernel(y, y), _poly_kernel(x, y)
    xx = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))
    yy = (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
    return float(xx + yy - 2.0 * k_xy.sum() / (m * n))


def _kth_radii(x: Tensor, k: int) -> Tensor:
    return torch.cdist(x, x).kthvalue(k + 1, dim=1).values  # +1: the point itself is its own 0-th neighbour


def precision_recall(real: Tensor, fake: Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019, Eq. 1-2).

    Around each sample, a ball reaching its k-th nearest *other* sample of the same set.
    precision = fraction of fakes inside some real ball; recall = fraction of reals inside some fake ball.
    """
    r_real, r_fake = _kth_radii(real, k), _kth_radii(fake, k)
    precision = (torch.cdist(fake, real) <= r_real[None, :]).any(dim=1).double().mean()
    recall = (torch.cdist(real, fake) <= r_fake[None, :]).any(dim=1).double().mean()
    return float(precision), float(recall)


def extrapolate_fid(ns: Tensor, fids: Tensor) -> tuple[float, float]:
    """``(fid_inf, slope)`` of the least-squares line FID_N = FID∞ + slope/N (Chong & Forsyth 2020, Sec. 3.1).

    ``ns`` and ``fids`` are float64 tensors ``[k]``: one FID measurement per entry, sample sizes may repeat.
    """
    x = 1.0 / ns.double()
    design = torch.stack([torch.ones_like(x), x], dim=1)  # [k, 2]
    coef = torch.linalg.lstsq(design, fids.double()[:, None]).solution[:, 0]
    return float(coef[0]), float(coef[1])


# ------------------------------------------------------------------- cases


def _probs(rng: np.random.Generator, n: int, c: int, sharpness: float) -> Tensor:
    logits = rng.normal(0.0, sharpness, size=(n, c)) + rng.normal(0.0, 1.0, size=(1, c))
    return torch.softmax(torch.tensor(logits, dtype=torch.float64), dim=1)


def _is_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for splits in (1, 5, 10):
        n, c = splits * int(rng.integers(8, 30)), int(rng.integers(3, 12))
        sharp = float(rng.uniform(1.0, 4.0))
        cases.append(Case(f"{n} samples, {c} classes, splits={splits}", (_probs(rng, n, c, sharp), splits)))
    n = int(rng.integers(41, 99)) | 1  # odd: splits of unequal size
    cases.append(Case(f"{n} samples, splits=4 (unequal splits: rows i*N//4 to (i+1)*N//4)",
                      (_probs(rng, n, 10, 3.0), 4)))
    reps = int(rng.integers(3, 9))
    c = int(rng.integers(4, 11))
    eye = torch.eye(c, dtype=torch.float64).repeat(reps, 1)  # every class once per block, one-hot
    cases.append(Case(f"one-hot rows, each of {c} classes {reps} times (exactly 0 entries; IS = {c})", (eye, 1)))
    return cases


def _fd1d_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        mu1, mu2 = rng.normal(0, 3, size=2)
        s1, s2 = rng.uniform(0.2, 4.0, size=2)
        cases.append(Case(f"N({mu1:.2f}, {s1:.2f}²) vs N({mu2:.2f}, {s2:.2f}²)",
                          (float(mu1), float(s1), float(mu2), float(s2)), rtol=1e-9, atol=1e-12))
    mu, s1, s2 = float(rng.normal()), *(float(v) for v in rng.uniform(0.2, 4.0, size=2))
    far = mu + float(rng.choice([-1, 1]) * rng.uniform(8, 12))
    cases.append(Case(f"means far apart: N({mu:.2f}, {s1:.2f}²) vs N({far:.2f}, {s2:.2f}²)", (mu, s1, far, s2),
                      rtol=1e-9, atol=1e-12))
    return cases


def _spd(rng: np.random.Generator, d: int, rank: int | None = None) -> np.ndarray:
    a = rng.normal(size=(d, rank or d)) * rng.uniform(0.3, 2.0, size=(1, rank or d))
    sigma = a @ a.T / (rank or d)
    return sigma if rank else sigma + 0.05 * np.eye(d)


def _fd_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        d = int(rng.integers(2, 12))
        args = (rng.normal(size=d), _spd(rng, d), rng.normal(size=d), _spd(rng, d))
        cases.append(Case(f"d={d}, random full-rank covariances", args, rtol=1e-6, atol=1e-8))
    d = int(rng.integers(3, 8))
    mu, sigma, shift = rng.normal(size=d), _spd(rng, d), rng.normal(0, 2, size=d)
    cases.append(Case(f"d={d}, the same covariance, means apart: FID = |μ1 − μ2|²",
                      (mu, sigma, mu + shift, sigma.copy()), rtol=1e-6, atol=1e-6))
    d = int(rng.integers(6, 10))
    args = (rng.normal(size=d), _spd(rng, d, rank=d // 2), rng.normal(size=d), _spd(rng, d))
    cases.append(Case(f"d={d}, Σ1 of rank {d // 2} (as from too few samples)", args, rtol=1e-5, atol=1e-6))
    return cases


def _feature_pair(rng: np.random.Generator, m: int, n: int, d: int, shift: float, scale: float):
    x = torch.tensor(rng.normal(size=(m, d)), dtype=torch.float64)
    y = torch.tensor(rng.normal(size=(n, d)) * scale + shift, dtype=torch.float64)
    return x, y


def _kid_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        m, n, d = int(rng.integers(10, 60)), int(rng.integers(10, 60)), int(rng.integers(2, 20))
        shift, scale = float(rng.uniform(0, 1)), float(rng.uniform(0.5, 2))
        cases.append(Case(f"m={m}, n={n}, d={d}, y shifted by {shift:.2f}, scaled by {scale:.2f}",
                          _feature_pair(rng, m, n, d, shift, scale), rtol=1e-8, atol=1e-10))
    m, d = int(rng.integers(20, 50)), int(rng.integers(4, 16))
    cases.append(Case(f"m=n={m}, d={d}, same distribution (unbiased: near 0, may be negative)",
                      _feature_pair(rng, m, m, d, 0.0, 1.0), rtol=1e-8, atol=1e-10))
    return cases


def _pr_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for shift, scale, what in ((0.0, 1.0, "same distribution"), (0.0, 0.3, "collapsed fakes (small spread)"),
                               (1.5, 1.0, "shifted fakes"), (0.0, 2.5, "too-diverse fakes")):
        m, n, d = int(rng.integers(40, 120)), int(rng.integers(40, 120)), int(rng.integers(2, 10))
        real, fake = _feature_pair(rng, m, n, d, shift, scale)
        cases.append(Case(f"{what}: {m} real, {n} fake, d={d}", (real, fake), {"k": 3}, rtol=0, atol=1e-12))
    m, d = int(rng.integers(40, 80)), int(rng.integers(2, 6))
    real, fake = _feature_pair(rng, m, m, d, 0.5, 0.7)
    cases.append(Case(f"k=5: {m} real, {m} fake, d={d}", (real, fake), {"k": 5}, rtol=0, atol=1e-12))
    return cases


def _extrapolation_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(4):
        fid_inf, slope = float(rng.uniform(0.5, 40)), float(rng.uniform(200, 20000))
        sizes = np.sort(rng.choice([100, 200, 250, 400, 500, 800, 1000, 2000, 4000, 5000], int(rng.integers(3, 6)),
                                   replace=False))
        repeats = 1 if i == 0 else int(rng.integers(2, 4))
        ns = np.repeat(sizes, repeats)
        noise = rng.normal(0, 0.02 * slope / sizes.max(), len(ns))  # the spread of FID over random subsets
        fids = fid_inf + slope / ns + noise
        label = f"N in {sizes.tolist()}" + (f", {repeats} subsets each" if repeats > 1 else ", one FID each")
        cases.append(Case(label, (torch.tensor(ns, dtype=torch.float64), torch.tensor(fids, dtype=torch.float64)),
                          rtol=1e-6, atol=1e-8))
    return cases


def _line(x: Tensor, y: Tensor) -> tuple[float, float]:
    """Intercept and slope of the least-squares line y = a + b·x."""
    b = float(((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum())
    return float(y.mean()) - b * float(x.mean()), b


def _largest_n(ns: Tensor, fids: Tensor) -> tuple[float, float]:
    return float(fids[ns == ns.max()].mean()), 0.0


# ---------------------------------------------------------------- mistakes


def _is_reverse_kl(probs: Tensor, splits: int = 10) -> tuple[float, float]:
    scores = []
    for a, b in _split_bounds(len(probs), splits):
        part = probs[a:b]
        p_y = part.mean(dim=0, keepdim=True).expand_as(part)
        kl = (torch.xlogy(p_y, p_y) - torch.xlogy(p_y, part)).sum(dim=1)  # KL(p(y) ‖ p(y|x))
        scores.append(math.exp(float(kl.mean())))
    return float(np.mean(scores)), float(np.std(scores))


def _is_mean_of_logs(probs: Tensor, splits: int = 10) -> tuple[float, float]:
    scores = []
    for a, b in _split_bounds(len(probs), splits):
        part = probs[a:b]
        log_p_y = torch.log(part).mean(dim=0, keepdim=True)  # mean of logs instead of log of the mean
        kl = (torch.xlogy(part, part) - part * log_p_y).sum(dim=1)
        scores.append(math.exp(float(kl.mean())))
    return float(np.mean(scores)), float(np.std(scores))


def _is_mean_of_exp(probs: Tensor, splits: int = 10) -> tuple[float, float]:
    scores = []
    for a, b in _split_bounds(len(probs), splits):
        part = probs[a:b]
        p_y = part.mean(dim=0, keepdim=True)
        kl = (torch.xlogy(part, part) - torch.xlogy(part, p_y)).sum(dim=1)
        scores.append(float(torch.exp(kl).mean()))
    return float(np.mean(scores)), float(np.std(scores))


def _is_no_exp(probs: Tensor, splits: int = 10) -> tuple[float, float]:
    scores = [math.log(s) for s in _per_split(probs, splits)]
    return float(np.mean(scores)), float(np.std(scores))


def _per_split(probs: Tensor, splits: int) -> list[float]:
    return [inception_score(probs[a:b], 1)[0] for a, b in _split_bounds(len(probs), splits)]


def _is_global_marginal(probs: Tensor, splits: int = 10) -> tuple[float, float]:
    p_y = probs.mean(dim=0, keepdim=True)  # one marginal for all splits
    scores = []
    for a, b in _split_bounds(len(probs), splits):
        part = probs[a:b]
        scores.append(math.exp(float((torch.xlogy(part, part) - torch.xlogy(part, p_y)).sum(dim=1).mean())))
    return float(np.mean(scores)), float(np.std(scores))


def _is_sample_std(probs: Tensor, splits: int = 10) -> tuple[float, float]:
    scores = _per_split(probs, splits)
    return float(np.mean(scores)), float(np.std(scores, ddof=1)) if len(scores) > 1 else float("nan")


def _is_chunk(probs: Tensor, splits: int = 10) -> tuple[float, float]:
    scores = [inception_score(part, 1)[0] for part in torch.chunk(probs, splits)]
    return float(np.mean(scores)), float(np.std(scores))


def _is_array_split(probs: Tensor, splits: int = 10) -> tuple[float, float]:
    scores = [inception_score(torch.as_tensor(part), 1)[0] for part in np.array_split(probs.numpy(), splits)]
    return float(np.mean(scores)), float(np.std(scores))


def _fd_missing_cross(mu1, sigma1, mu2, sigma2) -> float:
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2))


def _fd_eigvalsh_product(mu1, sigma1, mu2, sigma2) -> float:
    eig = np.linalg.eigvalsh(sigma1 @ sigma2)  # wrong: Σ1 Σ2 is not symmetric, eigvalsh reads one triangle
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.sqrt(np.clip(eig, 0.0, None)).sum())


def _fd_elementwise_sqrt(mu1, sigma1, mu2, sigma2) -> float:
    diff = mu1 - mu2
    with np.errstate(invalid="ignore"):
        return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(np.sqrt(sigma1 @ sigma2)))


def _fd_sqrt_of_trace(mu1, sigma1, mu2, sigma2) -> float:
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.sqrt(np.trace(sigma1 @ sigma2)))


def _fd_no_factor_two(mu1, sigma1, mu2, sigma2) -> float:
    diff = mu1 - mu2
    cross = np.trace(scipy.linalg.sqrtm(sigma1 @ sigma2)).real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - cross)


def _fd_norm_not_squared(mu1, sigma1, mu2, sigma2) -> float:
    diff = mu1 - mu2
    return frechet_distance(mu1, sigma1, mu2, sigma2) - float(diff @ diff) + float(np.linalg.norm(diff))


def _kid_biased(x: Tensor, y: Tensor) -> float:
    return float(_poly_kernel(x, x).mean() + _poly_kernel(y, y).mean() - 2.0 * _poly_kernel(x, y).mean())


def _kid_no_gamma(x: Tensor, y: Tensor) -> float:
    k = lambda a, b: (a @ b.T + 1.0) ** 3
    m, n = len(x), len(y)
    kxx, kyy = k(x, x), k(y, y)
    return float((kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1)) + (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
                 - 2.0 * k(x, y).mean())


def _kid_wrong_denominator(x: Tensor, y: Tensor) -> float:
    m, n = len(x), len(y)
    kxx, kyy = _poly_kernel(x, x), _poly_kernel(y, y)
    return float((kxx.sum() - kxx.diagonal().sum()) / m**2 + (kyy.sum() - kyy.diagonal().sum()) / n**2
                 - 2.0 * _poly_kernel(x, y).mean())


def _kid_sqrt(x: Tensor, y: Tensor) -> float:
    return math.sqrt(kid(x, y)) if kid(x, y) > 0 else float("nan")


def _pr_self_included(real: Tensor, fake: Tensor, k: int = 3) -> tuple[float, float]:
    r_real = torch.cdist(real, real).kthvalue(k, dim=1).values  # counts the point itself as a neighbour
    r_fake = torch.cdist(fake, fake).kthvalue(k, dim=1).values
    precision = (torch.cdist(fake, real) <= r_real[None, :]).any(dim=1).double().mean()
    recall = (torch.cdist(real, fake) <= r_fake[None, :]).any(dim=1).double().mean()
    return float(precision), float(recall)


def _pr_swapped(real: Tensor, fake: Tensor, k: int = 3) -> tuple[float, float]:
    p, r = precision_recall(real, fake, k)
    return r, p


def _pr_other_set_radii(real: Tensor, fake: Tensor, k: int = 3) -> tuple[float, float]:
    # balls around real samples reaching their k-th nearest *fake*, and vice versa
    r_real = torch.cdist(real, fake).kthvalue(min(k, len(fake)), dim=1).values
    r_fake = torch.cdist(fake, real).kthvalue(min(k, len(real)), dim=1).values
    precision = (torch.cdist(fake, real) <= r_real[None, :]).any(dim=1).double().mean()
    recall = (torch.cdist(real, fake) <= r_fake[None, :]).any(dim=1).double().mean()
    return float(precision), float(recall)


_SPLITS = ("split i is rows i*N//splits to (i+1)*N//splits (as the original code and torch-fidelity); "
           "torch.chunk and np.array_split cut unequal splits elsewhere. Loop over i and slice.")

EXERCISES = (
    Exercise(
        key="08.inception_score",
        equivalents=('coursekit.metrics:inception_score',),
        function="inception_score",
        title="The Inception Score",
        points=2,
        reference=inception_score,
        cases=_is_cases,
        hint="The Inception Score (Salimans et al. 2016, Sec. 4) is exp of the average KL divergence between each "
        "sample's class distribution p(y|x) and the marginal p(y) of its split; one score per split.",
        more_hints=("Per split: p(y) is the mean of the split's rows; KL_i = Σ_y p(y|x_i)(log p(y|x_i) − log p(y)) "
                    "with 0·log 0 = 0 (torch.xlogy); score = exp(mean_i KL_i). Return the mean and the population "
                    "standard deviation over the splits.",),
        mistakes=(
            Mistake("the KL is the wrong way round: IS uses KL(p(y|x) ‖ p(y)) = Σ_y p(y|x) log(p(y|x) / p(y)), "
                    "weighted by the sample's own class distribution, not KL(p(y) ‖ p(y|x)).", _is_reverse_kl),
            Mistake("log p(y) is the log of the MEAN probability, log(mean_x p(y|x)); you took the mean of the logs "
                    "(a geometric mean), which is not the marginal.", _is_mean_of_logs),
            Mistake("exp goes outside the mean: IS = exp(mean_x KL), not mean_x exp(KL).", _is_mean_of_exp),
            Mistake("you forgot the exp: IS = exp(E_x KL(p(y|x) ‖ p(y))), between 1 and the number of classes.",
                    _is_no_exp),
            Mistake("each split uses its OWN marginal p(y) (the mean of that split's rows), not the marginal of "
                    "all samples.", _is_global_marginal),
            Mistake("the std over splits is the population std (np.std, ddof=0), as the original code.",
                    _is_sample_std),
            Mistake(_SPLITS, _is_chunk),
            Mistake(_SPLITS, _is_array_split),
        ),
    ),
    Exercise(
        key="08.frechet_distance_1d",
        function="frechet_distance_1d",
        title="Fréchet distance between two 1-D Gaussians",
        points=1,
        reference=frechet_distance_1d,
        cases=_fd1d_cases,
        hint="Specialise d² = |μ1−μ2|² + tr Σ1 + tr Σ2 − 2 tr (Σ1Σ2)^½ (Dowson & Landau 1982) to one dimension: "
        "each covariance is a variance s², and the matrix square root of s1²·s2² is s1·s2.",
        more_hints=("The last three terms form a perfect square in the standard deviations.",),
        mistakes=(
            Mistake("the cross term −2·s1·s2 (the trace of the matrix square root, in 1-D) is missing.",
                    lambda m1, s1, m2, s2: (m1 - m2) ** 2 + s1**2 + s2**2),
            Mistake("FID is the SQUARED Fréchet distance: don't take the square root.",
                    lambda m1, s1, m2, s2: math.sqrt((m1 - m2) ** 2 + (s1 - s2) ** 2)),
            Mistake("square the difference of the means: (μ1−μ2)², not |μ1−μ2|.",
                    lambda m1, s1, m2, s2: abs(m1 - m2) + (s1 - s2) ** 2),
            Mistake("s1 and s2 are standard deviations, not variances: the term is (s1 − s2)².",
                    lambda m1, s1, m2, s2: (m1 - m2) ** 2 + (math.sqrt(s1) - math.sqrt(s2)) ** 2),
        ),
    ),
    Exercise(
        key="08.frechet_distance",
        equivalents=('coursekit.metrics:frechet_distance',),
        function="frechet_distance",
        title="Fréchet distance between two Gaussians (the FID formula)",
        points=3,
        reference=frechet_distance,
        cases=_fd_cases,
        hint="The Fréchet distance between two Gaussians (Dowson & Landau 1982), as FID uses it (Heusel et al. "
        "2017): d² = |μ1−μ2|² + tr Σ1 + tr Σ2 − 2 tr (Σ1Σ2)^½. The care is all in the last term.",
        more_hints=("For tr (Σ1Σ2)^½ either take scipy.linalg.sqrtm of the product and the real part of its trace, "
                    "or (faster, always real) the eigenvalues λ of the symmetric matrix Σ1^½ Σ2 Σ1^½ and Σ √λ "
                    "(clip tiny negatives to 0).",),
        mistakes=(
            Mistake("the trace term −2 tr (Σ1Σ2)^½ is missing: without it two identical Gaussians are at "
                    "distance 2 tr Σ, not 0.", _fd_missing_cross),
            Mistake("np.linalg.eigvalsh assumes a symmetric matrix and reads only one triangle, but Σ1Σ2 is NOT "
                    "symmetric: its result is wrong. Use the eigenvalues of the symmetric Σ1^½ Σ2 Σ1^½ (same "
                    "eigenvalues as Σ1Σ2), or scipy.linalg.sqrtm.", _fd_eigvalsh_product),
            Mistake("np.sqrt is elementwise; the formula needs the MATRIX square root (scipy.linalg.sqrtm, or the "
                    "eigenvalues of Σ1^½ Σ2 Σ1^½).", _fd_elementwise_sqrt),
            Mistake("tr(A^½) is the sum of the square roots of A's eigenvalues, not √tr(A).", _fd_sqrt_of_trace),
            Mistake("the cross term has a factor 2: − 2 tr (Σ1Σ2)^½.", _fd_no_factor_two),
            Mistake("the mean term is the SQUARED norm |μ1−μ2|² (diff @ diff).", _fd_norm_not_squared),
        ),
    ),
    Exercise(
        key="08.kid",
        equivalents=('coursekit.metrics:kid',),
        function="kid",
        title="Kernel Inception Distance: unbiased MMD² with a cubic kernel",
        points=2,
        reference=kid,
        cases=_kid_cases,
        hint="KID (Bińkowski et al. 2018) is the unbiased estimate of the squared MMD with the cubic "
        "polynomial kernel k(a, b) = (aᵀb / d + 1)³, d the feature dimension.",
        more_hints=("Unbiased: the within-set averages leave out the diagonal k(x_i, x_i), so they divide by "
                    "m(m−1) and n(n−1); the cross term is a plain mean over all m·n pairs, counted twice.",),
        mistakes=(
            Mistake("this is the BIASED estimate: drop the diagonal terms k(x_i, x_i) and k(y_j, y_j) and divide "
                    "by m(m−1) and n(n−1). The unbiased one is what makes KID trustworthy at small N.", _kid_biased),
            Mistake("the kernel scales the dot product by 1/d: k(a, b) = (aᵀb / d + 1)³.", _kid_no_gamma),
            Mistake("after removing the diagonal, there are m(m−1) pairs, not m²: divide by m(m−1) and n(n−1).",
                    _kid_wrong_denominator),
            Mistake("KID is MMD² itself (it can be slightly negative), not its square root.", _kid_sqrt),
        ),
    ),
    Exercise(
        key="08.precision_recall",
        equivalents=('coursekit.metrics:precision_recall',),
        function="precision_recall",
        title="Improved precision and recall (k-NN balls)",
        points=2,
        reference=precision_recall,
        cases=_pr_cases,
        hint="Kynkäänniemi et al. (2019): each set's manifold is the union of balls around its samples, "
        "of radius the distance to the k-th nearest OTHER sample of the same set. Precision asks how many fakes lie "
        "in the real manifold; recall, how many reals lie in the fake one.",
        more_hints=("A point's nearest neighbour in its own set is itself, at distance 0: skip it when picking the "
                    "k-th. A point on a ball's boundary counts as inside.",),
        mistakes=(
            Mistake("the point itself is its own nearest neighbour (distance 0): the radius is the (k+1)-th "
                    "smallest distance in its row, kthvalue(k + 1).", _pr_self_included),
            Mistake("precision and recall are swapped: precision asks whether FAKES fall on the real manifold "
                    "(quality), recall whether REALS fall on the fake manifold (coverage).", _pr_swapped),
            Mistake("each ball's radius comes from its OWN set: a real sample's k-th nearest real sample.",
                    _pr_other_set_radii),
        ),
    ),
)

EXTRAPOLATE_FID = Exercise(
    key="08.extrapolate_fid",
    function="extrapolate_fid",
    title="FID∞: extrapolate FID to infinitely many samples",
    points=2,
    reference=extrapolate_fid,
    cases=_extrapolation_cases,
    hint="FID's bias falls like 1/N (Chong & Forsyth 2020, Sec. 3.1): in the variable 1/N the measurements lie "
    "on a line, and infinitely many samples is the point 1/N = 0 on it.",
    more_hints=("Fit that line by least squares through every (1/N, FID) pair, repeats included; FID∞ is its "
                "intercept and the slope is the bias at N = 1.",),
    mistakes=(
        Mistake("you fitted FID against N; the bias is linear in 1/N, and N → ∞ is 1/N → 0, the intercept of "
                "that line.", lambda ns, f: _line(ns.double(), f.double())),
        Mistake("you fitted FID against 1/√N; Chong & Forsyth's bias term is linear in 1/N.",
                lambda ns, f: _line(ns.double() ** -0.5, f.double())),
        Mistake("that is the FID at the largest N, still biased upwards: extrapolate the line to 1/N = 0.",
                _largest_n),
        Mistake("the order is (fid_inf, slope): the intercept first.",
                lambda ns, f: _line(1.0 / ns.double(), f.double())[::-1]),
    ),
)

EXERCISES = (*EXERCISES, EXTRAPOLATE_FID)

# What a learner's kernel needs of this module while it is graded (the probes and their helpers);
# coursekit.grading.harness.seal replaces every other function in it there.
KERNEL_SIDE: tuple[str, ...] = ()
