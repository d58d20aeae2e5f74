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
    p = torch.tensor(rng.uniform(0.1, 1.0, 8), dtype=torch.float64)
    cases.append(Case("p_g = p_data gives ½ everywhere", (p, p.clone())))
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
    cases = [Case(f"{tuple(t.shape)} random logits", (t,)) for t in (_logits(rng) for _ in range(3))]
    cases.append(Case(f"extreme logits {EXTREME.tolist()}", (EXTREME.clone(),)))
    return cases


def _value_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        real = _logits(rng) + float(rng.uniform(-2, 2))
        fake = _logits(rng) + float(rng.uniform(-2, 2))
        cases.append(Case(f"real {tuple(real.shape)}, fake {tuple(fake.shape)} random logits", (real, fake)))
    cases.append(Case("extreme logits", (EXTREME.clone(), EXTREME.flip(0).clone())))
    zeros = torch.zeros(int(rng.integers(5, 20)))
    cases.append(Case("D(x) = ½ everywhere gives -log 4", (zeros, zeros.clone())))
    return cases


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
        hint="D*(x) = p_data(x) / (p_data(x) + p_g(x)), elementwise on the two density tensors.",
        mistakes=(
            Mistake("you returned p_g / (p_data + p_g): that is 1 - D*, the probability of 'fake'.", lambda p, q: q / (p + q)),
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
        hint="JSD = ½ Σ p log(p/m) dx + ½ Σ q log(q/m) dx with m = (p+q)/2, natural log, and 0·log 0 = 0 "
        "(torch.xlogy(a, b) computes a·log b with that convention).",
        mistakes=(
            Mistake(
                "where p = 0 you computed 0·log 0 = nan; the convention is 0·log 0 = 0. Use torch.xlogy, "
                "or only sum where p > 0.",
                lambda p, q, dx: 0.5 * (_xlogy_naive(p, 0.5 * (p + q)).sum() + _xlogy_naive(q, 0.5 * (p + q)).sum()) * dx,
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
        hint="The generator minimises mean log(1 - D(G(z))), and log(1 - sigmoid(l)) = -softplus(l).",
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
        hint="The generator minimises mean -log D(G(z)), and -log sigmoid(l) = softplus(-l).",
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
        hint="V = mean log D(x) + mean log(1 - D(G(z))) with D = sigmoid(logit): "
        "log σ(l) = -softplus(-l), log(1 - σ(l)) = -softplus(l).",
        mistakes=(
            Mistake("sign error: you returned the discriminator's BCE loss, which is -V. V itself is ≤ 0.",
                    lambda r, f: -value_function(r, f)),
            Mistake("real and fake are swapped: D wants log D(x) on real data and log(1 - D(G(z))) on fakes.",
                    lambda r, f: -F.softplus(r).mean() - F.softplus(-f).mean()),
            Mistake(_NAIVE, lambda r, f: torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean()),
        ),
    ),
)

# What a learner's kernel needs of this module while it is graded (the probes and their helpers);
# coursekit.grading.harness.seal replaces every other function in it there.
KERNEL_SIDE: tuple[str, ...] = ()
