"""Lesson 3 exercises: measuring mode collapse, and two ways to let D see a whole batch.

- ``count_modes``: the VEEGAN / PacGAN mode-collapse measures (Srivastava et al.
  2017, Sec. 5.1; Lin et al. 2018, Sec. 5), the same contract as
  ``coursekit.metrics.mode_coverage``.
- ``pack``: PacGAN's packing (Lin et al. 2018, Sec. 3), as ``coursekit.packing.pack``.
- ``minibatch_std``: the minibatch standard deviation feature (Karras et al.
  2018, Sec. 3), as ``coursekit.packing.MinibatchStdDev()`` with one group.
"""
from __future__ import annotations

import math
from functools import partial

import numpy as np
import torch

from coursekit.check import Case, Exercise, Mistake

Tensor = torch.Tensor

# --------------------------------------------------------------- references


def count_modes(samples: Tensor, centers: Tensor, std: float, threshold: float = 3.0) -> dict:
    """Modes captured, fraction of high-quality samples and reverse KL (VEEGAN, Sec. 5.1).

    A sample is high quality when its distance to the nearest centre is below
    ``threshold * std``; a mode is captured when it is the nearest centre of at
    least one high-quality sample; ``reverse_kl`` = KL(q ‖ uniform) = Σ q log(M q)
    over the M modes, q the histogram of the high-quality samples over modes
    (log M when there is no high-quality sample).
    """
    x, c = samples.double(), centers.double()
    dist = torch.cdist(x, c)                                   # [N, M]
    nearest_dist, nearest = dist.min(dim=1)                    # [N], [N]
    good = nearest_dist < threshold * std                      # [N] bool
    counts = torch.bincount(nearest[good], minlength=len(c)).double()  # [M]
    n_good = counts.sum()
    if n_good == 0:
        kl = math.log(len(c))
    else:
        q = counts / n_good
        kl = float(torch.xlogy(q, q * len(c)).sum())
    return {"modes": int((counts > 0).sum()), "high_quality": float(n_good) / len(x), "reverse_kl": kl}


def pack(x: Tensor, m: int) -> Tensor:
    """PacGAN packing: ``[B, F] -> [B/m, m·F]`` (and ``[B, C, H, W] -> [B/m, m·C, H, W]``).

    Packed row i holds samples ``i·m, …, i·m + m - 1`` one after the other along dim 1.
    Raises ``ValueError`` when B is not a multiple of m.
    """
    if x.shape[0] % m:
        raise ValueError(f"batch size {x.shape[0]} is not a multiple of the pack size {m}")
    return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])


def minibatch_std(x: Tensor) -> Tensor:
    """Append the minibatch standard deviation as one extra feature (Karras et al. 2018, Sec. 3).

    For every feature (every channel and pixel) the std over the batch,
    ``sqrt(Var_biased + 1e-8)``, averaged into one number s; s is appended to
    every sample: ``[B, F] -> [B, F+1]`` or ``[B, C, H, W] -> [B, C+1, H, W]``.
    """
    std = (x.var(dim=0, correction=0) + 1e-8).sqrt()          # [F] or [C, H, W]
    s = std.mean()                                             # scalar
    feature = s.expand(x.shape[0], 1, *x.shape[2:])            # [B, 1, ...]
    return torch.cat([x, feature], dim=1)


# ------------------------------------------------------------------- cases


def _ring(rng: np.random.Generator) -> tuple[Tensor, float]:
    modes = int(rng.integers(5, 11))
    radius = float(rng.uniform(1.0, 3.0))
    angles = 2 * math.pi * torch.arange(modes, dtype=torch.float64) / modes
    return radius * torch.stack([angles.cos(), angles.sin()], dim=1), float(rng.uniform(0.01, 0.05))


def _grid(rng: np.random.Generator) -> tuple[Tensor, float]:
    side = int(rng.integers(3, 6))
    spacing = float(rng.uniform(1.0, 3.0))
    coords = spacing * (torch.arange(side, dtype=torch.float64) - (side - 1) / 2)
    xs, ys = torch.meshgrid(coords, coords, indexing="ij")
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1), float(rng.uniform(0.02, 0.08))


def _draw(rng: np.random.Generator, centers: Tensor, std: float, n: int, modes: np.ndarray,
          spread: float, far: int) -> Tensor:
    """n samples around a subset of modes with noise of ``spread·std``, plus ``far`` points off every mode."""
    idx = torch.as_tensor(rng.choice(modes, size=n, p=rng.dirichlet(np.ones(len(modes)))))
    near = centers[idx] + spread * std * torch.as_tensor(rng.standard_normal((n, 2)))
    off = torch.as_tensor(rng.uniform(-1, 1, (far, 2))) * centers.abs().max() * 1.2
    return torch.cat([near, off]).float()


def _count_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for make, name in ((_ring, "ring"), (_grid, "grid")):
        centers, std = make(rng)
        m = len(centers)
        some = rng.choice(m, size=int(rng.integers(2, m)), replace=False)
        x = _draw(rng, centers, std, int(rng.integers(200, 600)), some, spread=2.0, far=int(rng.integers(20, 200)))
        cases.append(Case(f"{name} of {m}, samples near {len(some)} modes (noise 2 std) + far points",
                          (x, centers.float(), std)))
    centers, std = _ring(rng)
    x = _draw(rng, centers, std, int(rng.integers(300, 600)), np.arange(len(centers)), spread=1.5, far=0)
    cases.append(Case(f"ring of {len(centers)}, samples near every mode (noise 1.5 std)", (x, centers.float(), std)))
    centers, std = _grid(rng)
    x = _draw(rng, centers, std, int(rng.integers(300, 600)), np.arange(len(centers)), spread=2.5, far=50)
    thr = float(rng.uniform(2.0, 4.0))
    cases.append(Case(f"grid of {len(centers)}, every mode, threshold={thr:.2f}", (x, centers.float(), std),
                      {"threshold": thr}))
    centers, std = _ring(rng)
    x = _draw(rng, centers, std, int(rng.integers(300, 600)), np.array([0]), spread=1.0, far=0)
    x = x + torch.tensor([10 * std * 1.0, 0.0])  # 10 std off the only mode used: no high-quality sample
    cases.append(Case(f"ring of {len(centers)}, no sample within 3 std of a mode", (x, centers.float(), std)))
    return cases


def _pack_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(2):
        m = int(rng.integers(2, 5))
        b, f = m * int(rng.integers(2, 7)), int(rng.integers(2, 6))
        x = torch.as_tensor(rng.normal(size=(b, f)), dtype=torch.float32)
        cases.append(Case(f"[{b}, {f}] random samples, m={m}", (x, m)))
    m, b = 2, 8
    x = (10 * torch.arange(b, dtype=torch.float32)[:, None] + torch.arange(2)).float()  # sample i = [10i, 10i+1]
    cases.append(Case("[8, 2] labelled samples (sample i = [10i, 10i + 1]), m=2", (x, m)))
    m = int(rng.integers(2, 4))
    b, c, h = m * int(rng.integers(2, 4)), int(rng.integers(1, 4)), int(rng.integers(3, 6))
    x = torch.as_tensor(rng.normal(size=(b, c, h, h)), dtype=torch.float32)
    cases.append(Case(f"images [{b}, {c}, {h}, {h}], m={m}", (x, m)))
    x = torch.as_tensor(rng.normal(size=(6, 2)), dtype=torch.float32)
    cases.append(Case("m=1 leaves the batch as it is", (x, 1)))

    b = 3 * int(rng.integers(2, 5)) + 1
    cases.append(Case("a batch that is not a multiple of m raises ValueError", probe=partial(_probe_raises, b),
                      judge=partial(_judge_raises, b)))
    return cases


def _probe_raises(b: int, fn) -> str:
    """Call ``fn`` on a batch of ``b`` (not a multiple of 3) with m = 3: "ValueError" if it raised one."""
    try:
        fn(torch.zeros(b, 2), 3)
    except ValueError:
        return "ValueError"
    return "no ValueError"


def _judge_raises(b: int, got, expected) -> str | None:
    if got == "ValueError":
        return None
    return f"a batch of {b} cannot be split into packs of 3: raise a ValueError that says so."


def _mbstd_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(2):
        b, f = int(rng.integers(3, 9)), int(rng.integers(2, 7))
        scale = torch.as_tensor(rng.uniform(0.1, 3.0, f), dtype=torch.float32)
        x = torch.as_tensor(rng.normal(size=(b, f)), dtype=torch.float32) * scale + float(rng.normal(0, 2))
        cases.append(Case(f"[{b}, {f}] features with different scales", (x,)))
    b = int(rng.integers(3, 6))
    x = torch.as_tensor(rng.normal(size=(b, 2, 3, 3)), dtype=torch.float32)
    cases.append(Case(f"feature maps [{b}, 2, 3, 3] -> [{b}, 3, 3, 3]", (x,)))
    row = torch.as_tensor(rng.normal(size=(1, 4)), dtype=torch.float32)
    cases.append(Case("a collapsed batch (every sample the same) gives sqrt(1e-8) = 1e-4", (row.repeat(5, 1),),
                      atol=1e-6))
    return cases


# ---------------------------------------------------------------- mistakes


def _count_all_samples(samples, centers, std, threshold=3.0):
    out = count_modes(samples, centers, std, threshold)
    nearest = torch.cdist(samples.double(), centers.double()).argmin(dim=1)
    counts = torch.bincount(nearest, minlength=len(centers)).double()
    q = counts / counts.sum()
    out["modes"] = int((counts > 0).sum())
    out["reverse_kl"] = float(torch.xlogy(q, q * len(centers)).sum())
    return out


def _kl_wrong_direction(samples, centers, std, threshold=3.0):
    out = count_modes(samples, centers, std, threshold)
    dist, nearest = torch.cdist(samples.double(), centers.double()).min(dim=1)
    counts = torch.bincount(nearest[dist < threshold * std], minlength=len(centers)).double()
    if counts.sum() > 0:
        q, u = counts / counts.sum(), 1.0 / len(centers)
        out["reverse_kl"] = float((u * torch.log(u / q)).sum())  # KL(uniform ‖ q): inf when a mode is missing
    return out


def _squared_distance(samples, centers, std, threshold=3.0):
    return count_modes(samples, centers, std ** 2, threshold)  # d² < (t·std)² would be right; d < t·std² is not


def _hq_as_count(samples, centers, std, threshold=3.0):
    out = count_modes(samples, centers, std, threshold)
    out["high_quality"] = out["high_quality"] * len(samples)
    return out


def _q_over_all_samples(samples, centers, std, threshold=3.0):
    out = count_modes(samples, centers, std, threshold)
    dist, nearest = torch.cdist(samples.double(), centers.double()).min(dim=1)
    counts = torch.bincount(nearest[dist < threshold * std], minlength=len(centers)).double()
    if counts.sum() > 0:
        q = counts / len(samples)
        out["reverse_kl"] = float(torch.xlogy(q, q * len(centers)).sum())
    return out


def _pack_interleaved(x, m):
    b = x.shape[0]
    return x.reshape(b // m, m, *x.shape[1:]).transpose(1, 2).reshape(b // m, m * x.shape[1], *x.shape[2:])


def _pack_strided(x, m):
    return torch.cat(x.chunk(m), dim=1)


def _pack_height(x, m):
    b = x.shape[0]
    y = x.reshape(b // m, m, *x.shape[1:])
    return torch.cat(list(y.unbind(1)), dim=2 if x.dim() > 2 else 1)


def _mbstd_over_features(x):
    std = (x.flatten(1).var(dim=1, correction=0) + 1e-8).sqrt()  # [B]: one per sample, over its own features
    return torch.cat([x, std.reshape(-1, 1, *([1] * (x.dim() - 2))).expand(x.shape[0], 1, *x.shape[2:])], dim=1)


def _mbstd_unbiased(x):
    s = (x.var(dim=0, correction=1) + 1e-8).sqrt().mean()
    return torch.cat([x, s.expand(x.shape[0], 1, *x.shape[2:])], dim=1)


def _mbstd_no_eps(x):
    s = x.var(dim=0, correction=0).sqrt().mean()
    return torch.cat([x, s.expand(x.shape[0], 1, *x.shape[2:])], dim=1)


def _mbstd_pooled(x):
    s = (x.var(correction=0) + 1e-8).sqrt()  # one std of all numbers together
    return torch.cat([x, s.expand(x.shape[0], 1, *x.shape[2:])], dim=1)


EXERCISES = (
    Exercise(
        key="03.count_modes",
        equivalents=('coursekit.metrics:mode_coverage', 'coursekit.metrics:mode_histogram'),
        function="count_modes",
        title="Counting modes: modes captured, % high quality, reverse KL",
        points=3,
        reference=count_modes,
        cases=_count_cases,
        hint="The VEEGAN protocol (Srivastava et al. 2017): assign each sample to its nearest centre; "
        "it is high quality when that distance is below threshold·std, and only high-quality samples count "
        "towards the modes and the histogram q.",
        more_hints=("Reverse KL is KL(q ‖ uniform over the M modes) = Σ q·log(M·q), with 0·log 0 = 0 "
                    "(torch.xlogy), and log M when no sample is high quality.",),
        mistakes=(
            Mistake("you counted every sample: a mode is captured only by a HIGH-QUALITY sample (within "
                    "threshold·std of it), and q is the histogram of the high-quality samples only. A sample "
                    "far from every mode has a nearest centre too, but it does not capture it.", _count_all_samples),
            Mistake("KL in the wrong direction: you computed KL(uniform ‖ q), which is infinite as soon as one "
                    "mode is missing. The reverse KL is KL(q ‖ uniform) = Σ q log(q / (1/M)), with the "
                    "generated histogram q first.", _kl_wrong_direction),
            Mistake("units: compare the distance d with threshold·std (or d² with (threshold·std)²), not d with "
                    "threshold·std².", _squared_distance),
            Mistake("high_quality is a fraction in [0, 1] (high-quality samples / all samples), not a count.",
                    _hq_as_count),
            Mistake("normalise q by the number of HIGH-QUALITY samples, so that it sums to 1; dividing by all "
                    "samples gives a histogram that is not a distribution.", _q_over_all_samples),
        ),
    ),
    Exercise(
        key="03.pack",
        equivalents=('coursekit.packing:pack',),
        function="pack",
        title="PacGAN packing",
        points=2,
        reference=pack,
        cases=_pack_cases,
        hint="PacGAN (Lin et al. 2018) lets the discriminator judge m samples at once: m CONSECUTIVE samples "
        "become one input, their features (for images, their channels) side by side.",
        more_hints=("[B, F] -> [B/m, m·F]: packed row i is sample i·m's features, then sample i·m+1's, …; images "
                    "stack along dim 1. A single reshape of the contiguous batch does it.",),
        mistakes=(
            Mistake("wrong reshape order: your packed row interleaves the features of different samples "
                    "(feature 0 of every sample, then feature 1, …). Row i must be sample i·m's features "
                    "followed by sample i·m+1's: x.reshape(B // m, m * F) keeps each sample's features together.",
                    _pack_interleaved),
            Mistake("you packed samples i, i + B/m, i + 2B/m, … (x.chunk(m) then cat); the contract packs m "
                    "CONSECUTIVE samples: i·m, i·m + 1, …, i·m + m - 1.", _pack_strided),
            Mistake("images are packed along the channel axis (dim 1): [B, C, H, W] -> [B/m, m·C, H, W], "
                    "not along the height.", _pack_height),
        ),
    ),
    Exercise(
        key="03.minibatch_std",
        function="minibatch_std",
        title="Minibatch standard deviation",
        points=2,
        reference=minibatch_std,
        cases=_mbstd_cases,
        hint="Minibatch standard deviation (Karras et al. 2018, Sec. 3) measures how different the samples of a "
        "batch are from each other, and hands that one number to the discriminator as an extra feature of every "
        "sample.",
        more_hints=("The std of every feature over the batch (biased, with 1e-8 added to the variance under the "
                    "root), averaged over the features, appended along dim 1.",),
        mistakes=(
            Mistake("you took the std over the features of each sample (dim 1): that says how varied ONE sample "
                    "is. Minibatch std measures how different the samples are from each other: the std over the "
                    "batch (dim 0) of every feature, then averaged.", _mbstd_over_features),
            Mistake("use the biased variance (divide by B, correction=0), as Karras et al. do; torch's default "
                    "x.var()/x.std() is unbiased (divides by B - 1).", _mbstd_unbiased),
            Mistake("add 1e-8 to the variance before the square root: sqrt(var + 1e-8). Without it a collapsed "
                    "batch gives exactly 0 (and the gradient of sqrt at 0 is infinite).", _mbstd_no_eps),
            Mistake("you took one std of all the numbers pooled together; take the std of EACH feature over the "
                    "batch, then average the stds (features with different means would otherwise look diverse).",
                    _mbstd_pooled),
        ),
    ),
)

# What a learner's kernel needs of this module while it is graded (the probes and their helpers);
# coursekit.grading.harness.seal replaces every other function in it there.
KERNEL_SIDE: tuple[str, ...] = ('_probe_raises',)
