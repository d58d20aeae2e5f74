"""Lesson 6 exercises: label smoothing and instance noise in small functions.

Discriminator outputs are raw logits ``[B]`` or ``[B, 1]`` (D(x) = sigmoid(logit));
densities are float64 tensors tabulated at the same points. The smoothed
targets are α for real samples (``real_label``) and β for fakes (``fake_label``):
one-sided smoothing is α = 0.9, β = 0 (Salimans et al. 2016, Sec. 3.4).
"""
from __future__ import annotations

import math
from functools import partial
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from coursekit.check import Case, Exercise, Mistake

Tensor = torch.Tensor

# --------------------------------------------------------------- references


def smoothed_bce(real_logits: Tensor, fake_logits: Tensor, real_label: float, fake_label: float) -> Tensor:
    """Discriminator BCE with smoothed targets, on logits (Salimans et al. 2016, Sec. 3.4).

    ``mean_x[-t_r log D(x) - (1-t_r) log(1-D(x))] + mean_z[-t_f log D(G(z)) - (1-t_f) log(1-D(G(z)))]``
    with t_r = ``real_label``, t_f = ``fake_label``, using ``-log σ(l) = softplus(-l)`` and
    ``-log(1-σ(l)) = softplus(l)``.
    """
    real = real_label * F.softplus(-real_logits) + (1 - real_label) * F.softplus(real_logits)
    fake = fake_label * F.softplus(-fake_logits) + (1 - fake_label) * F.softplus(fake_logits)
    return real.mean() + fake.mean()


def optimal_discriminator_smoothed(p_data: Tensor, p_g: Tensor, alpha: float, beta: float) -> Tensor:
    """D*(x) = (α p_data(x) + β p_g(x)) / (p_data(x) + p_g(x)): the pointwise maximiser under smoothed targets."""
    return (alpha * p_data + beta * p_g) / (p_data + p_g)


def add_instance_noise(x: Tensor, std: float) -> Tensor:
    """x + ε with ε ~ N(0, std²) drawn independently for every element (Sønderby et al. 2017); a new tensor."""
    return x + std * torch.randn_like(x)


def noise_std(step: int, total: int, start: float) -> float:
    """Instance-noise std annealed linearly from ``start`` at step 0 to 0 at step ``total``, and 0 after."""
    return start * max(0.0, 1.0 - step / total)


# ------------------------------------------------------------------- cases


def _logits(rng: np.random.Generator, scale: float = 3.0) -> Tensor:
    b = int(rng.integers(5, 40))
    shape = (b,) if rng.random() < 0.5 else (b, 1)
    return torch.tensor(rng.normal(0.0, scale, size=shape), dtype=torch.float32)


EXTREME = torch.tensor([-120.0, -80.0, -30.0, 0.0, 30.0, 80.0, 120.0])


def _labels(rng: np.random.Generator) -> tuple[float, float]:
    """A real label in [0.7, 0.95] and a fake label in [0.05, 0.25], so that no two conventions coincide."""
    return round(float(rng.uniform(0.7, 0.95)), 3), round(float(rng.uniform(0.05, 0.25)), 3)


def _bce_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        real, fake = _logits(rng) + float(rng.uniform(0, 2)), _logits(rng) - float(rng.uniform(0, 2))
        a, b = _labels(rng)
        cases.append(Case(f"real {tuple(real.shape)}, fake {tuple(fake.shape)} logits, α = {a}, β = {b}", (real, fake, a, b)))
    a = _labels(rng)[0]
    real, fake = _logits(rng), _logits(rng)
    cases.append(Case(f"one-sided: α = {a}, β = 0", (real, fake, a, 0.0)))
    cases.append(Case("no smoothing (α = 1, β = 0) is the plain BCE", (_logits(rng), _logits(rng), 1.0, 0.0)))
    a, b = _labels(rng)
    cases.append(Case(f"extreme logits ±120, α = {a}, β = {b}", (EXTREME.clone(), EXTREME.flip(0).clone(), a, b)))
    return cases


def _gauss(x: Tensor, mu: float, sigma: float) -> Tensor:
    return torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def _dstar_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        n = int(rng.integers(5, 50))
        p = torch.tensor(rng.uniform(0.01, 2.0, n), dtype=torch.float64)
        q = torch.tensor(rng.uniform(0.01, 2.0, n), dtype=torch.float64)
        a, b = _labels(rng)
        cases.append(Case(f"{n} random density values, α = {a}, β = {b}", (p, q, a, b)))
    x = torch.linspace(-6, 6, int(rng.integers(200, 600)), dtype=torch.float64)
    mu = float(rng.uniform(1, 3))
    a = _labels(rng)[0]
    cases.append(Case(f"N(0,1) vs N({mu:.2f},1) on a grid, one-sided α = {a}",
                      (_gauss(x, 0, 1) + 1e-12, _gauss(x, mu, 1) + 1e-12, a, 0.0)))
    p = torch.tensor(rng.uniform(0.1, 1.0, 8), dtype=torch.float64)
    a, b = _labels(rng)
    cases.append(Case(f"p_g = p_data gives (α + β)/2, α = {a}, β = {b}", (p, p.clone(), a, b)))
    return cases


def _schedule_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    total = int(rng.integers(200, 5000))
    start = round(float(rng.uniform(0.05, 2.0)), 3)
    for step in sorted(int(s) for s in rng.integers(1, total, 3)):
        cases.append(Case(f"step {step} of {total}, start {start}", (step, total, start)))
    cases.append(Case(f"step 0 of {total}: the full start value {start}", (0, total, start)))
    cases.append(Case(f"step {total} of {total}: annealed to 0", (total, total, start)))
    late = total + int(rng.integers(1, total))
    cases.append(Case(f"step {late} > total {total}: stays at 0", (late, total, start)))
    return cases


# ----------------------------------------------- instance noise: properties

NOISE_VARIANCE = ("the noise has std² instead of std: multiply N(0, 1) draws by std itself "
                  "(torch.randn_like(x) * std has standard deviation std).")
NOISE_UNIFORM = ("the noise is not Gaussian with mean 0: torch.rand draws uniformly from [0, 1); "
                 "use torch.randn_like(x) (standard normal) times std.")
NOISE_INPLACE = ("x was modified in place: return a new tensor (x + noise), don't use x += or x.add_(), "
                 "or the real batch itself changes under the caller's feet.")
NOISE_SHARED = ("every sample got the same noise: draw noise of x's full shape (torch.randn_like(x)), "
                "not one vector broadcast over the batch.")
NOISE_FIXED = ("two calls returned the same noise: draw fresh noise on every call (don't seed inside "
               "the function or reuse a stored tensor).")
NOISE_SHAPE = "keep the shape and dtype of x: the noisy batch goes into the same discriminator."
NOISE_ZERO = "std = 0 must return x unchanged (instance noise annealed to 0 switches itself off)."


def _call_noise(x: Tensor, std: float, fn: Callable) -> Tensor:
    """A probe: ``fn(x, std)`` on a copy of x."""
    return fn(x.clone(), std)


def _judge_stats(x: Tensor, std: float, out, expected) -> str | None:
    if not isinstance(out, Tensor) or out.shape != x.shape or out.dtype != x.dtype:
        return NOISE_SHAPE
    eps = (out - x).double()
    n = eps.numel()
    mean, sd = float(eps.mean()), float(eps.std())
    if abs(sd - std**2) < 0.05 * std**2 and abs(sd - std) > 0.05 * std:
        return NOISE_VARIANCE
    if abs(mean) > 5 * std / math.sqrt(n):
        return NOISE_UNIFORM if mean > 0 else f"the noise has mean {mean:.3g}, not 0. {NOISE_UNIFORM}"
    if abs(sd - std) > 0.05 * std:
        return f"the noise has standard deviation {sd:.4g}, expected std = {std}."
    inside = float((eps.abs() < std).double().mean())  # 0.683 for a Gaussian, 0.577 for a uniform
    if abs(inside - 0.6827) > 0.03:
        return f"{inside:.1%} of the noise lies within one std of 0, a Gaussian has 68.3 %. {NOISE_UNIFORM}"
    return None


def _noise_stats(rng: np.random.Generator) -> Case:
    std = round(float(rng.uniform(0.2, 0.6)), 3)
    shape = (int(rng.integers(3000, 5000)), 2)
    x = torch.tensor(rng.normal(0, 3, size=shape), dtype=torch.float32)
    return Case(f"{shape[0]} points of shape {list(shape[1:])}, std = {std}: mean 0, std {std}, Gaussian",
                probe=partial(_call_noise, x, std), judge=partial(_judge_stats, x, std))


def _probe_twice(x: Tensor, std: float, fn: Callable) -> dict:
    """A probe: two calls, and whether the first changed its input in place."""
    x_in = x.clone()
    a = fn(x_in, std)
    changed = not torch.equal(x_in, x)
    return {"changed": changed, "a": a, "b": None if changed else fn(x.clone(), std)}


def _judge_twice(x: Tensor, got: dict, expected: dict) -> str | None:
    if got.get("changed") is not False:
        return NOISE_INPLACE
    a, b = got.get("a"), got.get("b")
    if not all(isinstance(t, Tensor) and t.shape == x.shape and t.dtype == x.dtype for t in (a, b)):
        return NOISE_SHAPE
    eps_a, eps_b = a - x, b - x
    if torch.allclose(eps_a[0], eps_a[1]):
        return NOISE_SHARED
    if torch.allclose(eps_a, eps_b):
        return NOISE_FIXED
    return None


def _noise_independent(rng: np.random.Generator) -> Case:
    std = round(float(rng.uniform(0.1, 1.0)), 3)
    x = torch.tensor(rng.normal(0, 1, size=(64, 1, 4, 4)), dtype=torch.float32)
    return Case(f"an image batch [64, 1, 4, 4], std = {std}: x unchanged, fresh noise per sample and call",
                probe=partial(_probe_twice, x, std), judge=partial(_judge_twice, x))


def _judge_zero(x: Tensor, out, expected) -> str | None:
    if not isinstance(out, Tensor) or out.shape != x.shape:
        return NOISE_SHAPE
    return None if torch.equal(out, x) else NOISE_ZERO


def _noise_zero(rng: np.random.Generator) -> Case:
    x = torch.tensor(rng.normal(0, 1, size=(int(rng.integers(4, 20)), 3)), dtype=torch.float32)
    return Case("std = 0 returns x", probe=partial(_call_noise, x, 0.0), judge=partial(_judge_zero, x))


def _noise_cases(rng: np.random.Generator) -> list[Case]:
    return [_noise_stats(rng), _noise_stats(rng), _noise_independent(rng), _noise_zero(rng)]


def _noise_inplace(x: Tensor, std: float) -> Tensor:
    return x.add_(std * torch.randn_like(x))


def _noise_fixed(x: Tensor, std: float) -> Tensor:
    g = torch.Generator().manual_seed(0)
    return x + std * torch.randn(x.shape, generator=g)


# ---------------------------------------------------------------- mistakes

_NAIVE = (
    "you took sigmoid and then log: in float32, 1 - sigmoid(l) is exactly 0 for l ≳ 17 and "
    "sigmoid(l) is exactly 0 for l ≲ -88, so the log becomes -inf. With a smoothed target both logs "
    "appear in the loss of every sample: write -log σ(l) = softplus(-l), -log(1 - σ(l)) = softplus(l)."
)


def _bce_terms(logits: Tensor, t: float) -> Tensor:
    return t * F.softplus(-logits) + (1 - t) * F.softplus(logits)


EXERCISES = (
    Exercise(
        key="06.smoothed_bce",
        equivalents=('coursekit.losses:d_loss_bce',),
        function="smoothed_bce",
        title="Discriminator BCE with smoothed labels",
        points=2,
        reference=smoothed_bce,
        cases=_bce_cases,
        hint="loss = mean over real of [t_r·softplus(-l) + (1 - t_r)·softplus(l)] + the same over fakes with t_f, "
        "where t_r = real_label, t_f = fake_label (-log σ(l) = softplus(-l), -log(1 - σ(l)) = softplus(l)).",
        mistakes=(
            Mistake("smoothing on the wrong side: the real samples' target is real_label (α, e.g. 0.9) and the "
                    "fakes' target is fake_label (β, e.g. 0); you swapped them.",
                    lambda r, f, a, b: _bce_terms(r, b).mean() + _bce_terms(f, a).mean()),
            Mistake("the fakes' target is fake_label (β), not 1 - real_label: one-sided smoothing (α = 0.9, β = 0) "
                    "keeps the fake target at 0; setting it to 1 - α smooths the fake side too.",
                    lambda r, f, a, b: _bce_terms(r, a).mean() + _bce_terms(f, 1 - a).mean()),
            Mistake("with a soft target t, each sample's loss has TWO terms: -t·log D - (1 - t)·log(1 - D). "
                    "You kept only the one of the hard label.",
                    lambda r, f, a, b: (a * F.softplus(-r)).mean() + ((1 - b) * F.softplus(f)).mean()),
            Mistake(_NAIVE, lambda r, f, a, b: (
                -(a * torch.log(torch.sigmoid(r)) + (1 - a) * torch.log(1 - torch.sigmoid(r)))).mean()
                + (-(b * torch.log(torch.sigmoid(f)) + (1 - b) * torch.log(1 - torch.sigmoid(f)))).mean()),
            Mistake("average over each batch (.mean()), don't sum: the loss must not grow with the batch size.",
                    lambda r, f, a, b: _bce_terms(r, a).sum() + _bce_terms(f, b).sum()),
        ),
    ),
    Exercise(
        key="06.optimal_discriminator_smoothed",
        equivalents=('coursekit.theory:smoothed_optimal_discriminator',),
        function="optimal_discriminator_smoothed",
        title="The optimal discriminator under smoothed labels",
        points=1,
        reference=optimal_discriminator_smoothed,
        cases=_dstar_cases,
        hint="Maximise p_data[α log D + (1-α) log(1-D)] + p_g[β log D + (1-β) log(1-D)] pointwise: "
        "D* = (α·p_data + β·p_g) / (p_data + p_g).",
        mistakes=(
            Mistake("α and β are swapped: α (the real label) weighs p_data and β (the fake label) weighs p_g.",
                    lambda p, q, a, b: (b * p + a * q) / (p + q)),
            Mistake("you dropped the fake label's term: with β > 0 the fakes pull D* up to β where only p_g has "
                    "mass, so D* = (α p_data + β p_g) / (p_data + p_g).",
                    lambda p, q, a, b: a * p / (p + q)),
            Mistake("the labels are ignored: that is the unsmoothed D* = p_data / (p_data + p_g).",
                    lambda p, q, a, b: p / (p + q)),
            Mistake("the fake label weighs p_g with β, not with 1 - β.",
                    lambda p, q, a, b: (a * p + (1 - b) * q) / (p + q)),
        ),
    ),
    Exercise(
        key="06.add_instance_noise",
        equivalents=('coursekit.losses:instance_noise',),
        function="add_instance_noise",
        title="Instance noise",
        points=1,
        reference=add_instance_noise,
        cases=_noise_cases,
        hint="return x + std * torch.randn_like(x): a new tensor, fresh N(0, std²) noise for every element.",
        mistakes=(
            Mistake(NOISE_VARIANCE, lambda x, s: x + s**2 * torch.randn_like(x)),
            Mistake(NOISE_UNIFORM, lambda x, s: x + s * torch.rand_like(x)),
            Mistake(NOISE_INPLACE, _noise_inplace),
            Mistake(NOISE_SHARED, lambda x, s: x + s * torch.randn_like(x[:1])),
            Mistake(NOISE_FIXED, _noise_fixed),
        ),
    ),
    Exercise(
        key="06.noise_std",
        function="noise_std",
        title="Annealing the instance noise",
        points=1,
        reference=noise_std,
        cases=_schedule_cases,
        hint="linear from start (step 0) to 0 (step total), then 0: start * max(0, 1 - step / total).",
        mistakes=(
            Mistake("after `total` steps the std must stay at 0, not turn negative: clamp with max(0, ...).",
                    lambda s, t, a: a * (1 - s / t)),
            Mistake("the schedule runs backwards: the noise is largest at the START (when the two densities barely "
                    "overlap) and anneals to 0.",
                    lambda s, t, a: a * min(1.0, s / t)),
            Mistake("integer division: step // total is 0 until the end; use step / total.",
                    lambda s, t, a: a * max(0, 1 - s // t)),
        ),
    ),
)

# What a learner's kernel needs of this module while it is graded (the probes and their helpers);
# coursekit.grading.harness.seal replaces every other function in it there.
KERNEL_SIDE: tuple[str, ...] = ('_call_noise', '_probe_twice')
