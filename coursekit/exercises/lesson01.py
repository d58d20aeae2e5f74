"""Lesson 1 exercises: the minimax game of Goodfellow et al. 2014 in small functions.

Densities are float64 tensors tabulated on a uniform grid; discriminator
outputs are raw logits ``[B]`` or ``[B, 1]`` (D(x) = sigmoid(logit)).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from coursekit.check import Case, Exercise, Mistake

Tensor = torch.Tensor

# --------------------------------------------------------------- references


def optimal_discriminator(p_data: Tensor, p_g: Tensor) -> Tensor:
    """D*_G(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al. 2014, Proposition 1)."""
    return p_data / (p_data + p_g)


def jensen_shannon(p: Tensor, q: Tensor, dx: float) -> Tensor:
    """JSD(p || q) = ½ KL(p || m) + ½ KL(q || m), m = (p + q)/2, in nats, by a Riemann sum."""
    m = 0.5 * (p + q)
    return 0.5 * (torch.xlogy(p, p) - torch.xlogy(p, m)).sum() * dx + 0.5 * (
        torch.xlogy(q, q) - torch.xlogy(q, m)
    ).sum() * dx


def g_loss_saturating(fake_logits: Tensor) -> Tensor:
    """mean log(1 - D(G(z))) = mean -softplus(logit) (Eq. 1, the generator's side)."""
    return -F.softplus(fake_logits).mean()


def g_loss_nonsaturating(fake_logits: Tensor) -> Tensor:
    """mean -log D(G(z)) = mean softplus(-logit) (Sec. 3, the 'non-saturating' heuristic)."""
    return F.softplus(-fake_logits).mean()


def value_function(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """V(D, G) = E_x log D(x) + E_z log(1 - D(G(z))) (Eq. 1), estimated by batch means."""
    return -F.softplus(-real_logits).mean() - F.softplus(fake_logits).mean()


def _log_normal(x: Tensor, mu: float, sigma: float) -> Tensor:
    return -0.5 * ((x - mu) / sigma) ** 2 - math.log(sigma * math.sqrt(2 * math.pi))


def _log_ratio(x: Tensor, mu_data: float, sigma_data: float, mu_g: float, sigma_g: float) -> Tensor:
    """r(x) = log p_data(x) − log p_g(x) for two 1-D Gaussians, so that D*(x) = sigmoid(r(x))."""
    return _log_normal(x, mu_data, sigma_data) - _log_normal(x, mu_g, sigma_g)


def generator_gradients(x: Tensor, mu_data: float, sigma_data: float, mu_g: float,
                        sigma_g: float) -> tuple[Tensor, Tensor]:
    """d/dx of log(1 − D*(x)) and of −log D*(x) at fakes x, by autograd through D* (the check's reference).

    p_data = N(mu_data, sigma_data²), p_g = N(mu_g, sigma_g²), D* = p_data / (p_data + p_g) held as a
    function of x (the discriminator is fixed while the generator steps).
    """
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        r = _log_ratio(x, mu_data, sigma_data, mu_g, sigma_g)
        (saturating,) = torch.autograd.grad(-F.softplus(r).sum(), x, retain_graph=True)  # log(1 − σ(r))
        (nonsaturating,) = torch.autograd.grad(F.softplus(-r).sum(), x)  # −log σ(r)
    return saturating, nonsaturating


# ------------------------------------------------------------------- cases


def _logits(rng: np.random.Generator, scale: float = 3.0) -> Tensor:
    b = int(rng.integers(5, 40))
    shape = (b,) if rng.random() < 0.5 else (b, 1)
    return torch.tensor(rng.normal(0.0, scale, size=shape), dtype=torch.float32)


EXTREME = torch.tensor([-120.0, -80.0, -30.0, 0.0, 30.0, 80.0, 120.0])


def _grid(rng: np.random.Generator) -> tuple[Tensor, float]:
    lo = float(rng.uniform(-12, -8))
    n = int(rng.integers(800, 1500))
    x = torch.linspace(lo, -lo, n, dtype=torch.float64)
    return x, float(x[1] - x[0])


def _gauss(x: Tensor, mu: float, sigma: float) -> Tensor:
    return torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def _density_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        n = int(rng.integers(5, 50))
        p = torch.tensor(rng.uniform(0.01, 2.0, n), dtype=torch.float64)
        q = torch.tensor(rng.uniform(0.01, 2.0, n), dtype=torch.float64)
        cases.append(Case(f"{n} random positive density values", (p, q)))
    x, _ = _grid(rng)
    mu = float(rng.uniform(0.5, 3))
    cases.append(Case(f"N(0,1) vs N({mu:.2f},1) on a grid", (_gauss(x, 0, 1) + 1e-12, _gauss(x, mu, 1) + 1e-12)))
    n = int(rng.integers(8, 20))
    p = torch.tensor(rng.uniform(0.1, 1.0, n), dtype=torch.float64)
    q = torch.tensor(rng.uniform(0.1, 1.0, n), dtype=torch.float64)
    q[::2] = p[::2]  # D* = ½ at these points, and nowhere else in general
    cases.append(Case(f"p_g = p_data at {len(q[::2])} of {n} points (D* = ½ there)", (p, q)))
    return cases


def _jsd_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        x, dx = _grid(rng)
        mu, sigma = float(rng.uniform(-3, 3)), float(rng.uniform(0.5, 2.0))
        cases.append(Case(f"N(0,1) vs N({mu:.2f},{sigma:.2f}²)", (_gauss(x, 0, 1), _gauss(x, mu, sigma), dx)))
    x, dx = _grid(rng)
    lo = float(rng.uniform(1, 4))
    p = ((x >= -1) & (x <= 0)).double()
    q = ((x >= lo) & (x <= lo + 1)).double()
    cases.append(Case(f"disjoint supports U[-1,0] vs U[{lo:.2f},{lo + 1:.2f}] (zeros in p and q)", (p, q, dx)))
    return cases


def _g_loss_cases(rng: np.random.Generator) -> list[Case]:
    cases = [Case(f"{tuple(t.shape)} random logits", (t,), differentiable=True)
             for t in (_logits(rng) for _ in range(3))]
    cases.append(Case(f"extreme logits {EXTREME.tolist()}", (EXTREME.clone(),), differentiable=True))
    return cases


def _value_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        real = _logits(rng) + float(rng.uniform(-2, 2))
        fake = _logits(rng) + float(rng.uniform(-2, 2))
        cases.append(Case(f"real {tuple(real.shape)}, fake {tuple(fake.shape)} random logits", (real, fake),
                          differentiable=True))
    cases.append(Case("extreme logits", (EXTREME.clone(), EXTREME[:4].clone()), differentiable=True))
    n = int(rng.integers(5, 20))
    cases.append(Case("D sure of the real data (logit 8), D = ½ on the fakes",
                      (torch.full((n,), 8.0), torch.zeros(n + 3)), differentiable=True))
    return cases


def _gradient_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for far in (False, False, False, True):
        mu_data, sigma_data = float(rng.uniform(-1, 1)), float(rng.uniform(0.5, 2.0))
        shift = float(rng.uniform(4, 6)) if far else float(rng.uniform(-2, 2))
        mu_g, sigma_g = mu_data + shift, float(rng.uniform(0.5, 2.0))
        n = int(rng.integers(5, 30))
        x = torch.tensor(rng.normal(mu_g, sigma_g, n), dtype=torch.float64)  # fakes, drawn from p_g
        where = "fakes far from the data, D* ≈ 0 on most" if far else "fakes"
        cases.append(Case(f"{where}: p_data = N({mu_data:.2f}, {sigma_data:.2f}²), p_g = N({mu_g:.2f}, "
                          f"{sigma_g:.2f}²), {n} points", (x, mu_data, sigma_data, mu_g, sigma_g),
                          rtol=1e-6, atol=1e-30))  # relative: where D* ≈ 0 the saturating gradient is tiny
    return cases


def _closed_form(x: Tensor, mu_data: float, sigma_data: float, mu_g: float, sigma_g: float,
                 score_power: int = 2, with_p_g: bool = True) -> tuple[Tensor, Tensor]:
    """The closed form and, through its options, two typical slips in deriving it."""
    d_star = torch.sigmoid(_log_ratio(x, mu_data, sigma_data, mu_g, sigma_g))
    slope = (mu_data - x) / sigma_data**score_power
    if with_p_g:
        slope = slope - (mu_g - x) / sigma_g**score_power
    return -d_star * slope, -(1 - d_star) * slope


def _swapped(*args: float) -> tuple[Tensor, Tensor]:
    saturating, nonsaturating = _closed_form(*args)
    return nonsaturating, saturating


def _d_star_logit_only(x: Tensor, *params: float) -> tuple[Tensor, Tensor]:
    d_star = torch.sigmoid(_log_ratio(x, *params))
    return -d_star, -(1 - d_star)


# ---------------------------------------------------------------- mistakes

_NAIVE = (
    "you took sigmoid and then log: in float32, 1 - sigmoid(l) is exactly 0 for l ≳ 17 and "
    "sigmoid(l) is exactly 0 for l ≲ -88, so the log becomes -inf. "
    "Write it with F.softplus: log σ(l) = -softplus(-l), log(1 - σ(l)) = -softplus(l)."
)


def _xlogy_naive(a: Tensor, b: Tensor) -> Tensor:
    return a * torch.log(a / b)


EXERCISES = (
    Exercise(
        key="01.optimal_discriminator",
        equivalents=('coursekit.theory:optimal_discriminator',),
        function="optimal_discriminator",
        title="The optimal discriminator D*",
        points=1,
        reference=optimal_discriminator,
        cases=_density_cases,
        hint="D* maximises p_data(x)·log D + p_g(x)·log(1 − D) separately at each x (Goodfellow et al. 2014, "
        "Proposition 1): it is the probability that a point at x came from the data rather than from G.",
        more_hints=("At one x, with a = p_data(x) and b = p_g(x), the derivative of a·log D + b·log(1 − D) in D is "
                    "zero where a/D = b/(1 − D). Solve that for D; the result lies in [0, 1] and is ½ where the two "
                    "densities are equal.",),
        mistakes=(
            Mistake("you returned p_g / (p_data + p_g): that is 1 - D*, the probability of 'fake'.",
                    lambda p, q: q / (p + q)),
            Mistake("the denominator is p_data + p_g, not p_g alone (D* must lie in [0, 1]).", lambda p, q: p / q),
        ),
    ),
    Exercise(
        key="01.jensen_shannon",
        equivalents=('coursekit.theory:jsd',),
        function="jensen_shannon",
        title="Jensen-Shannon divergence by quadrature",
        points=2,
        reference=jensen_shannon,
        cases=_jsd_cases,
        hint="The JSD averages two KL divergences, each taken against the mixture m = (p + q)/2, not against "
        "the other density (Lin 1991; Goodfellow et al. 2014, Theorem 1); each KL is an integral, here a Riemann sum.",
        more_hints=("Densities can be exactly 0: the convention 0·log 0 = 0 must hold, and torch.xlogy(a, b) is "
                    "a·log b with that convention (a·log(a/m) = a·log a − a·log m).",
                    "Check yourself: JSD(p ‖ p) = 0, and two densities with disjoint supports give log 2 ≈ 0.6931 "
                    "(natural log)."),
        mistakes=(
            Mistake(
                "where p = 0 you computed 0·log 0 = nan; the convention is 0·log 0 = 0. Use torch.xlogy, "
                "or only sum where p > 0.",
                lambda p, q, dx: 0.5 * (_xlogy_naive(p, 0.5 * (p + q)).sum()
                                        + _xlogy_naive(q, 0.5 * (p + q)).sum()) * dx,
            ),
            Mistake(
                "you forgot the mixture m = (p+q)/2: ½KL(p||q) + ½KL(q||p) is the symmetrised KL, which is "
                "unbounded; JSD compares each density with the mixture and never exceeds log 2.",
                lambda p, q, dx: 0.5 * (_xlogy_naive(p, q).sum() + _xlogy_naive(q, p).sum()) * dx,
            ),
            Mistake(
                "this is the JSD in bits (log base 2); the course uses the natural log, so that C(G) = -log 4 + 2·JSD.",
                lambda p, q, dx: jensen_shannon(p, q, dx) / math.log(2),
            ),
            Mistake("you forgot to multiply the sums by dx (a Riemann sum approximates ∫ f dx ≈ Σ f·dx).",
                    lambda p, q, dx: jensen_shannon(p, q, dx) / dx),
            Mistake("you forgot the factor ½ in front of each KL term.", lambda p, q, dx: 2 * jensen_shannon(p, q, dx)),
        ),
    ),
    Exercise(
        key="01.g_loss_saturating",
        equivalents=('coursekit.losses:g_loss_saturating',),
        function="g_loss_saturating",
        title="Saturating (minimax) generator loss on logits",
        points=1,
        reference=g_loss_saturating,
        cases=_g_loss_cases,
        hint="The saturating loss is the generator's term of V(D, G) (Goodfellow et al. 2014, Eq. 1): the batch "
        "mean of log(1 − D(G(z))), which G minimises. Work on the logits l, with D = σ(l).",
        more_hints=("1 − σ(l) = σ(−l), and log σ(t) = −softplus(−t) stays finite for every t (F.softplus).",),
        mistakes=(
            Mistake("sign error: log(1 - D) = -softplus(l), so the loss is -softplus(l).mean(); G *minimises* it.",
                    lambda l: F.softplus(l).mean()),
            Mistake("that is the non-saturating loss -log D(G(z)); the saturating one is log(1 - D(G(z))).",
                    lambda l: F.softplus(-l).mean()),
            Mistake(_NAIVE, lambda l: torch.log(1 - torch.sigmoid(l)).mean()),
            Mistake("average over the batch (.mean()), don't sum: the loss must not grow with the batch size.",
                    lambda l: -F.softplus(l).sum()),
        ),
    ),
    Exercise(
        key="01.g_loss_nonsaturating",
        equivalents=('coursekit.losses:g_loss_nonsaturating',),
        function="g_loss_nonsaturating",
        title="Non-saturating generator loss on logits",
        points=1,
        reference=g_loss_nonsaturating,
        cases=_g_loss_cases,
        hint="The non-saturating loss (Goodfellow et al. 2014, Sec. 3) is the batch mean of −log D(G(z)), which "
        "G minimises. Work on the logits l, with D = σ(l).",
        more_hints=("−log σ(t) = softplus(−t) stays finite for every t (F.softplus), where log(sigmoid) does not.",),
        mistakes=(
            Mistake("sign error: -log D = +softplus(-l); the loss is positive and G *minimises* it.",
                    lambda l: -F.softplus(-l).mean()),
            Mistake("that is the saturating loss log(1 - D(G(z))); the non-saturating one is -log D(G(z)).",
                    lambda l: -F.softplus(l).mean()),
            Mistake(_NAIVE, lambda l: -torch.log(torch.sigmoid(l)).mean()),
            Mistake("average over the batch (.mean()), don't sum: the loss must not grow with the batch size.",
                    lambda l: F.softplus(-l).sum()),
        ),
    ),
    Exercise(
        key="01.value_function",
        function="value_function",
        title="The value function V(D, G)",
        points=2,
        reference=value_function,
        cases=_value_cases,
        hint="V(D, G) (Goodfellow et al. 2014, Eq. 1) has one expectation over real data and one over fakes: "
        "estimate each by its own batch mean. D maximises V, and V ≤ 0.",
        more_hints=("On logits: log σ(l) = −softplus(−l) and log(1 − σ(l)) = −softplus(l), finite for every l.",),
        mistakes=(
            Mistake("sign error: you returned the discriminator's BCE loss, which is -V. V itself is ≤ 0.",
                    lambda r, f: -value_function(r, f)),
            Mistake("real and fake are swapped: D wants log D(x) on real data and log(1 - D(G(z))) on fakes.",
                    lambda r, f: -F.softplus(r).mean() - F.softplus(-f).mean()),
            Mistake(_NAIVE, lambda r, f: torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean()),
        ),
    ),
)

GENERATOR_GRADIENTS = Exercise(
    key="01.generator_gradients",
    function="generator_gradients",
    title="Derive the generator's gradients at D*",
    points=3,
    reference=generator_gradients,
    cases=_gradient_cases,
    hint="Write D* as a sigmoid of the log density ratio, D*(x) = σ(r(x)) with r = log p_data − log p_g (the "
    "logistic form of section 1), and differentiate each loss in x by the chain rule: loss → D* → r → x.",
    more_hints=(
        "σ'(r) = σ(r)·(1 − σ(r)), so d/dr log(1 − σ(r)) and d/dr (−log σ(r)) are each minus one of σ(r), 1 − σ(r). "
        "Then multiply by dr/dx.",
        "d/dx log N(x; μ, s²) = (μ − x)/s², and r depends on x through BOTH densities.",
    ),
    mistakes=(
        Mistake("the two factors are swapped: the saturating loss log(1 − D*) has d/dr = −D*, which vanishes "
                "where D* → 0; the non-saturating −log D* has d/dr = −(1 − D*).", _swapped),
        Mistake("sign error: raising D*'s logit r lowers both losses, so d/dr log(1 − σ(r)) and "
                "d/dr (−log σ(r)) are both negative.",
                lambda *a: tuple(-g for g in _closed_form(*a))),
        Mistake("that is the gradient with respect to the logit r, not with respect to x: multiply by dr/dx "
                "(the chain rule's last link).", _d_star_logit_only),
        Mistake("the derivative of log N(x; μ, s²) in x is (μ − x)/s², with the variance s², not s.",
                lambda *a: _closed_form(*a, score_power=1)),
        Mistake("r = log p_data − log p_g depends on x through p_g too: the fake's own density is part of D*.",
                lambda *a: _closed_form(*a, with_p_g=False)),
    ),
)

EXERCISES = (*EXERCISES, GENERATOR_GRADIENTS)

# What a learner's kernel needs of this module while it is graded (the probes and their helpers);
# coursekit.grading.harness.seal replaces every other function in it there.
KERNEL_SIDE: tuple[str, ...] = ()
