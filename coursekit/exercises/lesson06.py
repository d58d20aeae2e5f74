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


def _log_ratio(x: Tensor, mu_data: float, sigma_data: float, mu_g: float, sigma_g: float) -> Tensor:
    """r(x) = log p_data(x) − log p_g(x) for two 1-D Gaussians (the unsmoothed D* is sigmoid(r))."""
    return (-0.5 * ((x - mu_data) / sigma_data) ** 2 - math.log(sigma_data)) - (
        -0.5 * ((x - mu_g) / sigma_g) ** 2 - math.log(sigma_g))


def smoothed_generator_gradient(x: Tensor, mu_data: float, sigma_data: float, mu_g: float, sigma_g: float,
                                alpha: float, beta: float) -> Tensor:
    """d/dx of the non-saturating loss −log D*(x) under smoothed labels, by autograd through the smoothed D*.

    D* = (α p_data + β p_g) / (p_data + p_g) for p_data = N(mu_data, sigma_data²), p_g = N(mu_g, sigma_g²),
    held fixed as a function of x while the generator steps; log D* is computed as
    logaddexp(log β, log(α − β) + logsigmoid(r)), which stays finite where p_data underflows.
    """
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        r = _log_ratio(x, mu_data, sigma_data, mu_g, sigma_g)
        log_beta = torch.tensor(math.log(beta) if beta > 0 else -math.inf, dtype=x.dtype)
        log_d = torch.logaddexp(log_beta, math.log(alpha - beta) + F.logsigmoid(r))
        (grad,) = torch.autograd.grad(-log_d.sum(), x)
    return grad


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
        label = f"real {tuple(real.shape)}, fake {tuple(fake.shape)} logits, α = {a}, β = {b}"
        cases.append(Case(label, (real, fake, a, b)))
    a = _labels(rng)[0]
    real, fake = _logits(rng), _logits(rng)
    cases.append(Case(f"one-sided: α = {a}, β = 0", (real, fake, a, 0.0)))
    b = _labels(rng)[1]
    cases.append(Case(f"the fake label only (α = 1, β = {b})", (_logits(rng), _logits(rng), 1.0, b)))
    a, b = _labels(rng)
    cases.append(Case(f"extreme logits ±120, α = {a}, β = {b}", (EXTREME.clone(), EXTREME[:4].clone(), a, b)))
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
    a, b = _labels(rng)
    cases.append(Case(f"N(0,1) vs N({mu:.2f},1) on a grid, α = {a}, β = {b}",
                      (_gauss(x, 0, 1) + 1e-12, _gauss(x, mu, 1) + 1e-12, a, b)))
    n = int(rng.integers(8, 20))
    p, q = (torch.tensor(rng.uniform(0.1, 1.0, n), dtype=torch.float64) for _ in range(2))
    q[::2] = p[::2]  # D* = (α + β)/2 at these points, and nowhere else in general
    a, b = _labels(rng)
    cases.append(Case(f"p_g = p_data at {len(q[::2])} of {n} points (D* = (α + β)/2 there), α = {a}, β = {b}",
                      (p, q, a, b)))
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


def _gradient_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for far in (False, False, True, True):
        mu_data, sigma_data = float(rng.uniform(-1, 1)), float(rng.uniform(0.5, 1.5))
        mu_g, sigma_g = mu_data + float(rng.uniform(3, 5) if far else rng.uniform(-2, 2)), float(rng.uniform(0.5, 1.5))
        alpha, beta = float(rng.uniform(0.7, 1.0)), float(rng.uniform(0.05, 0.3))
        n = int(rng.integers(5, 30))
        x = torch.tensor(rng.normal(mu_g, sigma_g, n), dtype=torch.float64)
        if far:
            x = x + math.copysign(3 * sigma_g, mu_g - mu_data)  # beyond the fakes' mode: p_data ≈ 0 there
        where = "fakes where p_data ≈ 0" if far else "fakes"
        cases.append(Case(f"{where}: α = {alpha:.2f}, β = {beta:.2f}, p_data = N({mu_data:.2f}, {sigma_data:.2f}²), "
                          f"p_g = N({mu_g:.2f}, {sigma_g:.2f}²), {n} points",
                          (x, mu_data, sigma_data, mu_g, sigma_g, alpha, beta), rtol=1e-6, atol=1e-30))
        # relative tolerance only: where p_data ≈ 0 the right gradient is tiny, and so are wrong ones
    return cases


def _smoothed_closed_form(x: Tensor, mu_data: float, sigma_data: float, mu_g: float, sigma_g: float,
                          alpha: float, beta: float, log: bool = True) -> Tensor:
    """The closed form; ``log=False`` is the slip of differentiating −D* instead of −log D*."""
    w = torch.sigmoid(_log_ratio(x, mu_data, sigma_data, mu_g, sigma_g))
    dr_dx = (mu_data - x) / sigma_data**2 - (mu_g - x) / sigma_g**2
    d_star_slope = (alpha - beta) * w * (1 - w) * dr_dx
    return -d_star_slope / (beta + (alpha - beta) * w) if log else -d_star_slope


def _unsmoothed(x: Tensor, mu_d: float, s_d: float, mu_g: float, s_g: float, a: float, b: float) -> Tensor:
    return _smoothed_closed_form(x, mu_d, s_d, mu_g, s_g, 1.0, 0.0)


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
        hint="With a soft target t, one sample's binary cross-entropy is −t·log D − (1 − t)·log(1 − D): real "
        "samples take real_label as their target, fakes take fake_label; one batch mean for each, added.",
        more_hints=("On logits: −log σ(l) = softplus(−l) and −log(1 − σ(l)) = softplus(l), finite for every l.",),
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
        hint="As in lesson 1's Proposition 1, maximise the expected smoothed objective pointwise: "
        "p_data·[α log D + (1 − α) log(1 − D)] + p_g·[β log D + (1 − β) log(1 − D)] at each x.",
        more_hints=("Collect the terms: it is a·log D + b·log(1 − D) again, with a = α·p_data + β·p_g and "
                    "b = (1 − α)·p_data + (1 − β)·p_g; its maximiser solves a/D = b/(1 − D).",),
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
        hint="Instance noise (Sønderby et al. 2017; Arjovsky & Bottou 2017, Sec. 4) adds independent Gaussian "
        "noise of standard deviation std to every element and returns a new tensor (the input stays untouched).",
        more_hints=("Fresh standard-normal draws shaped like x, scaled by the standard deviation (not the "
                    "variance), on x's device and dtype.",),
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
        hint="A linear anneal: the standard deviation is `start` at step 0, falls in a straight line to 0 at step "
        "`total`, and stays at 0 after that.",
        more_hints=("The fraction of the schedule still to go is 1 − step/total (float division), never below 0.",),
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

SMOOTHED_GRADIENT = Exercise(
    key="06.smoothed_generator_gradient",
    function="smoothed_generator_gradient",
    title="Derive the generator's gradient under two-sided smoothing",
    points=3,
    reference=smoothed_generator_gradient,
    cases=_gradient_cases,
    hint="Write the smoothed D* in terms of the unsmoothed one: D* = β + (α − β)·w with w = p_data / (p_data + p_g) "
    "= σ(r), r = log p_data − log p_g (lesson 1); then differentiate −log D* in x by the chain rule.",
    more_hints=(
        "d/dx (−log D*) = −(dD*/dx) / D*, and dw/dx = w(1 − w)·dr/dx.",
        "d/dx log N(x; μ, s²) = (μ − x)/s², and r depends on x through both densities.",
    ),
    mistakes=(
        Mistake("the labels are ignored: that is lesson 1's non-saturating gradient, −(1 − w)·dr/dx. With β > 0, "
                "D* never falls below β, and the loss is −log of the SMOOTHED D*.", _unsmoothed),
        Mistake("that is the derivative of −D*, not of −log D*: divide by D* (d log u = du / u).",
                lambda *a: _smoothed_closed_form(*a, log=False)),
        Mistake("α and β are swapped: α (the real label) weighs p_data, so D* = β + (α − β)·w.",
                lambda x, md, sd, mg, sg, a, b: _smoothed_closed_form(x, md, sd, mg, sg, b, a)),
        Mistake("the fake label weighs p_g with β, not with 1 − β.",
                lambda x, md, sd, mg, sg, a, b: _smoothed_closed_form(x, md, sd, mg, sg, a, 1 - b)),
        Mistake("sign error: where D* grows with x, the loss −log D* falls, so its derivative has the opposite "
                "sign of dD*/dx.", lambda *a: -_smoothed_closed_form(*a)),
    ),
)

EXERCISES = (*EXERCISES, SMOOTHED_GRADIENT)

# What a learner's kernel needs of this module while it is graded (the probes and their helpers);
# coursekit.grading.harness.seal replaces every other function in it there.
KERNEL_SIDE: tuple[str, ...] = ('_call_noise', '_probe_twice')
