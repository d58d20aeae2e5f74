"""Lesson 5 exercises: the earth mover's distance, the WGAN-GP penalty, power iteration.

- ``wasserstein1_1d``: W1 between two equal-size 1-D samples by sorting
  (in 1-D the optimal plan matches the i-th smallest to the i-th smallest).
- ``gradient_penalty``: Gulrajani et al. 2017, Eq. 3, without λ.
- ``power_iteration``: Miyato et al. 2018, Algorithm 1 (the σ estimate of SN).
- ``clipped_critic_step``: one critic update of the original WGAN (Arjovsky et al.
  2017, Algorithm 1, lines 5-7): the step on the WGAN loss, then every parameter
  clipped to [-c, c]. Checked through a probe that builds a critic with stale
  gradients and compares the parameters after the step with the reference's.

The penalty draws random ε, so a plain output comparison with the reference
cannot work in general. Three kinds of cases get around that: cases with
``fake = real`` (then x̂ = x for every ε, and the output is deterministic);
cases whose critic *records* the x̂ it was given, so that the check can verify
the interpolation and recompute the penalty at exactly those points; and a
case that backpropagates the penalty into the critic's parameters
(which only works with ``create_graph=True``).
"""
from __future__ import annotations

from functools import partial

import numpy as np
import torch
from torch import Tensor, nn

from coursekit.check import Case, Exercise, Mistake, compare, to_plain

# ------------------------------------------------------------ W1 in 1-D


def wasserstein1_1d(samples_a: Tensor, samples_b: Tensor) -> Tensor:
    """W1 between the empirical distributions of two 1-D samples of equal size n.

    In 1-D the optimal transport plan is monotone: sorted a[i] moves to sorted
    b[i], so W1 = mean_i |a_(i) − b_(i)| (Villani 2008; = ∫|F_a − F_b| dx).
    """
    return (torch.sort(samples_a).values - torch.sort(samples_b).values).abs().mean()


def _w1_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        n = int(rng.integers(20, 200))
        a = torch.from_numpy(rng.normal(0.0, 1.0, n))
        b = torch.from_numpy(rng.normal(float(rng.uniform(-3, 3)), float(rng.uniform(0.3, 2.0)), n))
        cases.append(Case(f"N(0,1) vs a random Gaussian, n = {n}", (a, b)))
    n = int(rng.integers(30, 100))
    a = torch.from_numpy(rng.uniform(0, 1, n))
    b = torch.from_numpy(np.concatenate([rng.uniform(-5, -4, n // 2), rng.uniform(6, 7, n - n // 2)]))
    cases.append(Case(f"U[0,1] vs a two-bump sample (equal means are not enough), n = {n}", (a, b)))
    scale, shift = float(rng.uniform(2, 3)), float(rng.uniform(0.5, 1.5))
    a = torch.from_numpy(rng.normal(0, 1, 64))
    b = (scale * a + shift)[torch.from_numpy(rng.permutation(64))]
    cases.append(Case(f"a sample and a shuffled copy scaled by {scale:.2f} and shifted by {shift:.2f}", (a, b)))
    return cases


W1 = Exercise(
    key="05.wasserstein1_1d",
    function="wasserstein1_1d",
    title="Earth mover's distance between two 1-D samples",
    points=2,
    reference=wasserstein1_1d,
    cases=_w1_cases,
    hint="In 1-D the cheapest transport plan never crosses: it matches the two samples in order (the quantile "
    "coupling). W1 is then the average distance that one unit of mass travels.",
    more_hints=("n points each, each of mass 1/n: the i-th smallest of a moves to the i-th smallest of b.",),
    mistakes=(
        Mistake("sort both samples first: pairing a[i] with b[i] in the order they were drawn is a plan, "
                "but not the cheapest one.", lambda a, b: (a - b).abs().mean()),
        Mistake("|mean(a) − mean(b)| is only a lower bound of W1 (it is W1 for a pure shift): "
                "two distributions with the same mean can be far apart.", lambda a, b: (a.mean() - b.mean()).abs()),
        Mistake("W1 uses the distance |x − y|, not its square (that gives W2², another distance).",
                lambda a, b: ((torch.sort(a).values - torch.sort(b).values) ** 2).mean()),
        Mistake("average over the n pairs (.mean()), don't sum: each sample carries mass 1/n.",
                lambda a, b: (torch.sort(a).values - torch.sort(b).values).abs().sum()),
        Mistake("sort both in the same direction: ascending against descending is the most expensive plan.",
                lambda a, b: (torch.sort(a).values - torch.sort(b, descending=True).values).abs().mean()),
    ),
)

# ------------------------------------------------------------ gradient penalty


def gradient_penalty(critic, real: Tensor, fake: Tensor) -> Tensor:
    """WGAN-GP penalty E[(‖∇_x̂ f(x̂)‖₂ − 1)²] at x̂ = εx + (1−ε)x̃, one ε ~ U[0,1] per sample (Eq. 3, no λ)."""
    eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def _grads(critic, x_hat: Tensor, create_graph: bool = True, reduce: str = "sum") -> Tensor:
    x_hat = x_hat.detach().requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores.sum() if reduce == "sum" else scores.mean(), x_hat, create_graph=create_graph)
    return grad.flatten(1)  # [B, D]


# Each wrong formula, evaluated at given interpolates x̂ (so it can be compared at the x̂ a learner used).
_WRONG_AT: dict[str, tuple[str, object]] = {
    "squared": ("the penalty is (‖g‖ − 1)², not ‖g‖²: it pulls each gradient norm towards 1 "
                "(the Lipschitz constant of the optimal critic), not towards 0.",
                lambda c, x: _grads(c, x).norm(dim=1).pow(2).mean()),
    "batch_norm": ("take the norm per sample: grad.flatten(1).norm(dim=1) gives one norm per row; "
                   "grad.norm() is one norm over the whole batch, so the penalty no longer constrains each x̂.",
                   lambda c, x: (_grads(c, x).norm() - 1) ** 2),
    "mean_grad": ("penalise each sample's gradient, not the batch-mean gradient: average the penalties "
                  "(‖g_i‖ − 1)² over i, not the gradients g_i before the norm.",
                  lambda c, x: (_grads(c, x).mean(dim=0).norm() - 1) ** 2),
    "mean_scores": ("differentiate critic(x_hat).sum(), not .mean(): the gradient of the mean w.r.t. "
                    "x̂_i is g_i / B, so every norm comes out B times too small.",
                    lambda c, x: ((_grads(c, x, reduce="mean").norm(dim=1) - 1) ** 2).mean()),
    "no_square": ("square the deviation: (‖g‖ − 1)², as in Eq. 3 of Gulrajani et al.",
                  lambda c, x: (_grads(c, x).norm(dim=1) - 1).mean()),
    "sum": ("average over the batch (.mean()), don't sum: the penalty must not grow with the batch size.",
            lambda c, x: ((_grads(c, x).norm(dim=1) - 1) ** 2).sum()),
}
_RIGHT_AT = lambda c, x: ((_grads(c, x).norm(dim=1) - 1) ** 2).mean()

_CREATE_GRAPH = ("pass create_graph=True to torch.autograd.grad: without it the gradient is a constant, "
                 "the penalty has no path back to the critic's weights, and λ·GP does not train the critic.")
_PER_SAMPLE_EPS = ("draw one ε per sample, shaped [B, 1, ...] so it broadcasts over the features "
                   "(torch.rand(B, 1) for [B, D] data, torch.rand(B, 1, 1, 1) for images).")
_ONE_EPS = "draw one ε per sample, not a single ε for the whole batch: torch.rand(B, 1, ...)."
_INTERPOLATE = "x̂ must lie on the segment between real and fake: x̂ = ε·real + (1 − ε)·fake with ε in [0, 1]."


class _Recorder(nn.Module):
    """Wraps a critic and keeps the input of its last call (detached), so a check can see the learner's x̂."""

    def __init__(self, critic: nn.Module):
        super().__init__()
        self.critic, self.seen = critic, None

    def forward(self, x: Tensor) -> Tensor:
        self.seen = x.detach().clone()
        return self.critic(x)


def _mlp_critic(d: int, width: int = 16) -> nn.Module:
    return nn.Sequential(nn.Linear(d, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh(), nn.Linear(width, 1))


def _conv_critic(c: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(c, 4, 3, 2, 1), nn.Tanh(),          # [B, c, 6, 6] -> [B, 4, 3, 3]
                         nn.Flatten(), nn.Linear(36, 1))                 # [B, 36] -> [B, 1]


def _seeded(rng: np.random.Generator, make):
    torch.manual_seed(int(rng.integers(2**31)))
    return make()


def _make_critic(kind: str, size: int, seed: int) -> nn.Module:
    """The critic of a case, rebuilt identically wherever it is needed (``kind`` "mlp" or "conv")."""
    torch.manual_seed(seed)
    return _mlp_critic(size) if kind == "mlp" else _conv_critic(size)


def _diagnose_at(critic: nn.Module, x_hat: Tensor, got: Tensor) -> str | None:
    """None if ``got`` is the penalty at ``x_hat``; else the hint of the mistake it matches (or a generic one)."""
    expected = _RIGHT_AT(critic, x_hat)
    if compare(got, expected, rtol=1e-4, atol=1e-6) is None:
        return None
    for hint, wrong in _WRONG_AT.values():
        if compare(got, wrong(critic, x_hat), rtol=1e-4, atol=1e-6) is None:
            return hint
    return (f"at the x̂ your function used, the penalty is {float(expected):.6g}, you returned {float(got):.6g}. "
            + GP_HINT)


def _probe_interpolates(critic: tuple, real: Tensor, fake: Tensor, fn) -> dict:
    """Call ``fn`` with a critic that records its input: the learner's x̂ and returned value (a probe)."""
    with torch.random.fork_rng(devices=[]):
        rec = _Recorder(_make_critic(*critic))
    got = fn(rec, real.clone(), fake.clone())
    return {"seen": rec.seen, "value": got}


def _judge_interpolates(critic: tuple, real: Tensor, fake: Tensor, got: dict, expected: dict) -> str | None:
    """Check the learner's x̂ (on the segments, one ε per sample), then the value at that x̂."""
    x_hat, value = got.get("seen"), got.get("value")
    if not isinstance(x_hat, Tensor):
        return "call critic(x_hat) on the interpolates: your function never called the critic."
    if x_hat.shape != real.shape:
        return (f"x̂ has shape {list(x_hat.shape)}, expected {list(real.shape)} (the shape of real and fake). "
                + _PER_SAMPLE_EPS)
    d, r = (x_hat - fake).flatten(1), (real - fake).flatten(1)   # x̂ − x̃ = ε (x − x̃), per row
    eps = (d * r).sum(1) / (r * r).sum(1)                        # [B]
    if (d - eps[:, None] * r).abs().max() > 1e-4:
        return _PER_SAMPLE_EPS
    if eps.min() < -1e-5 or eps.max() > 1 + 1e-5:
        return _INTERPOLATE
    if eps.max() - eps.min() < 1e-6:
        return _ONE_EPS
    if not isinstance(value, Tensor) or value.numel() != 1:
        return f"return a scalar tensor (the mean penalty), got {_kind(value)} " \
               f"{list(value.shape) if isinstance(value, Tensor) else ''}"
    with torch.random.fork_rng(devices=[]):
        return _diagnose_at(_make_critic(*critic), x_hat, value)


def _kind(value) -> str:
    return value[1:-1] if isinstance(value, str) and value.startswith("<") else type(value).__name__


def _probe_trains_critic(critic: tuple, real: Tensor, fn) -> dict:
    """Call ``fn`` with fake = real, backpropagate what it returns: the critic's parameter gradients (a probe)."""
    with torch.random.fork_rng(devices=[]):
        model = _make_critic(*critic)
    got = fn(model, real.clone(), real.clone())  # fake = real: x̂ = x whatever ε
    if not isinstance(got, Tensor) or got.grad_fn is None:
        return {"graph": False}
    got.backward()
    return {"graph": True, "grads": [None if p.grad is None else p.grad.detach().clone() for p in model.parameters()]}


def _judge_trains_critic(critic: tuple, real: Tensor, got: dict, expected: dict) -> str | None:
    """The penalty must backpropagate into the critic's weights, with the reference's gradient."""
    if got.get("graph") is not True:
        return _CREATE_GRAPH
    grads = got.get("grads")
    with torch.random.fork_rng(devices=[]):
        ref_critic = _make_critic(*critic)
    if not isinstance(grads, list) or len(grads) != len(list(ref_critic.parameters())):
        return _CREATE_GRAPH
    if all(g is None or not isinstance(g, Tensor) or float(g.abs().max()) == 0 for g in grads):
        return _CREATE_GRAPH
    _RIGHT_AT(ref_critic, real.clone()).backward()
    for (name, q), g in zip(ref_critic.named_parameters(), grads):
        g = torch.zeros_like(q) if not isinstance(g, Tensor) else g
        h = torch.zeros_like(q) if q.grad is None else q.grad  # e.g. the last bias: no effect on ∇x
        if compare(g, h, rtol=1e-3, atol=1e-6) is not None:
            return (f"the penalty reaches the critic, but its gradient w.r.t. {name} differs from the "
                    f"reference's: check the formula (‖g‖ − 1)², the per-sample norm and the mean. " + GP_HINT)
    return None


def _gp_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    b, d = int(rng.integers(8, 33)), int(rng.integers(2, 6))
    real = torch.from_numpy(rng.normal(0, 1.5, (b, d))).float()
    critic = _seeded(rng, lambda: _mlp_critic(d))
    cases.append(Case(f"MLP critic, [{b}, {d}] data, fake = real (x̂ = x whatever ε)",
                      (critic, real, real.clone()), rtol=1e-4, atol=1e-6))
    b, c = int(rng.integers(4, 17)), int(rng.integers(1, 4))
    img = torch.from_numpy(rng.uniform(-1, 1, (b, c, 6, 6))).float()
    conv = _seeded(rng, lambda: _conv_critic(c))
    cases.append(Case(f"conv critic, [{b}, {c}, 6, 6] images, fake = real", (conv, img, img.clone()),
                      rtol=1e-4, atol=1e-6))
    b, d = int(rng.integers(8, 33)), int(rng.integers(2, 6))
    real = torch.from_numpy(rng.normal(2, 0.5, (b, d))).float()
    fake = torch.from_numpy(rng.normal(-2, 1.0, (b, d))).float()
    spec = ("mlp", d, int(rng.integers(2**31)))
    cases.append(Case(f"MLP critic, [{b}, {d}] real ≠ fake: x̂ on the segments, one ε per sample, value at x̂",
                      probe=partial(_probe_interpolates, spec, real, fake),
                      judge=partial(_judge_interpolates, spec, real, fake)))
    b, c = int(rng.integers(4, 17)), int(rng.integers(1, 4))
    real = torch.from_numpy(rng.uniform(0, 1, (b, c, 6, 6))).float()
    fake = torch.from_numpy(rng.uniform(-1, 0, (b, c, 6, 6))).float()
    spec = ("conv", c, int(rng.integers(2**31)))
    cases.append(Case(f"conv critic, [{b}, {c}, 6, 6] real ≠ fake: ε broadcast per image, value at x̂",
                      probe=partial(_probe_interpolates, spec, real, fake),
                      judge=partial(_judge_interpolates, spec, real, fake)))
    b, d = int(rng.integers(8, 33)), int(rng.integers(2, 6))
    real = torch.from_numpy(rng.normal(0, 1, (b, d))).float()
    spec = ("mlp", d, int(rng.integers(2**31)))
    cases.append(Case("the penalty trains the critic: backward() reaches its weights, with the right gradient",
                      probe=partial(_probe_trains_critic, spec, real), judge=partial(_judge_trains_critic, spec, real)))
    return cases


def _at_interpolates(formula):
    """A wrong implementation: the learner's ε handling done right, then ``formula(critic, x̂)``."""
    def fn(critic, real: Tensor, fake: Tensor) -> Tensor:
        eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1))
        return formula(critic, eps * real + (1 - eps) * fake)
    return fn


def _no_create_graph(critic, real: Tensor, fake: Tensor) -> Tensor:
    eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1))
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def _one_eps(critic, real: Tensor, fake: Tensor) -> Tensor:
    eps = torch.rand(())
    return _RIGHT_AT(critic, eps * real + (1 - eps) * fake)


def _eps_per_element(critic, real: Tensor, fake: Tensor) -> Tensor:
    eps = torch.rand(real.shape)
    return _RIGHT_AT(critic, eps * real + (1 - eps) * fake)


GP_HINT = ("Gulrajani et al. (2017, Sec. 4, Algorithm 1) penalise the critic where its input gradient's norm is "
           "not 1, at random points x̂ on the straight lines between paired real and fake samples (one uniform ε "
           "per sample): the mean over the batch of (‖∇x̂ critic(x̂)‖₂ − 1)².")
MORE_GP_HINTS = (
    "The penalty is part of the critic's loss, so its own gradient must be differentiable: x̂ must require grad, "
    "and the gradient must be taken with a graph that backward can go through again.",
    "Each sample's norm is over all its dimensions but the batch (flatten them first); then (norm − 1)², then "
    "the mean.",
)

GRADIENT_PENALTY = Exercise(
    key="05.gradient_penalty",
    equivalents=('coursekit.losses:gradient_penalty',),
    function="gradient_penalty",
    title="The WGAN-GP gradient penalty",
    points=3,
    reference=gradient_penalty,
    cases=_gp_cases,
    hint=GP_HINT,
    more_hints=MORE_GP_HINTS,
    mistakes=(
        Mistake(_CREATE_GRAPH, _no_create_graph),
        *(Mistake(hint, _at_interpolates(formula)) for hint, formula in _WRONG_AT.values()),
        Mistake(_ONE_EPS, _one_eps),
        Mistake(_PER_SAMPLE_EPS, _eps_per_element),
    ),
)

# ------------------------------------------------------------ power iteration


def power_iteration(W: Tensor, u: Tensor, n_iter: int) -> Tensor:
    """σ_max(W) estimated by ``n_iter`` power iterations from ``u`` (Miyato et al. 2018, Algorithm 1).

    W is first flattened to ``[out, rest]``; each iteration does
    v = Wᵀu / ‖Wᵀu‖, u = Wv / ‖Wv‖; the estimate is σ = uᵀ W v (0-d tensor).
    """
    W = W.flatten(1)
    for _ in range(n_iter):
        v = W.T @ u
        v = v / v.norm()
        u = W @ v
        u = u / u.norm()
    return u @ W @ v


def _pi_unnormalised(W: Tensor, u: Tensor, n_iter: int) -> Tensor:
    W = W.flatten(1)
    for _ in range(n_iter):
        v = W.T @ u
        u = W @ v
    return u @ W @ v


def _pi_only_v(W: Tensor, u: Tensor, n_iter: int) -> Tensor:
    W = W.flatten(1)
    for _ in range(n_iter):
        v = W.T @ u
        v = v / v.norm()
        u = W @ v
    return u @ W @ v


def _pi_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n_iter in (1, 2, 5):
        m, n = int(rng.integers(3, 30)), int(rng.integers(3, 30))
        W = torch.from_numpy(rng.normal(0, float(rng.uniform(0.05, 1.0)), (m, n)))
        u = torch.from_numpy(rng.normal(0, 1, m))
        cases.append(Case(f"W [{m}, {n}], {n_iter} iteration{'s' * (n_iter > 1)}", (W, u, n_iter), rtol=1e-6))
    o, i, k = int(rng.integers(4, 16)), int(rng.integers(2, 8)), 3
    W = torch.from_numpy(rng.normal(0, 0.1, (o, i, k, k)))
    u = torch.from_numpy(rng.normal(0, 1, o))
    cases.append(Case(f"conv kernel [{o}, {i}, {k}, {k}] (flatten to [{o}, {i * k * k}]), 3 iterations",
                      (W, u, 3), rtol=1e-6))
    m, n = int(rng.integers(5, 20)), int(rng.integers(5, 20))
    q1, _ = np.linalg.qr(rng.normal(size=(m, m)))
    q2, _ = np.linalg.qr(rng.normal(size=(n, n)))
    s = np.sort(rng.uniform(0.1, 1.0, min(m, n)))[::-1].copy()
    s[0] = float(rng.uniform(2.0, 4.0))  # a clear gap: σ_1 well above σ_2
    W = torch.from_numpy((q1[:, : len(s)] * s) @ q2[:, : len(s)].T)
    u = torch.from_numpy(rng.normal(0, 1, m))
    cases.append(Case(f"W [{m}, {n}] with σ_max = {s[0]:.3f}, 30 iterations (converged)", (W, u, 30), rtol=1e-6))
    return cases


POWER_ITERATION = Exercise(
    key="05.power_iteration",
    equivalents=('coursekit.lipschitz:power_iteration',),
    function="power_iteration",
    title="Power iteration: the σ estimate of spectral normalisation",
    points=2,
    reference=power_iteration,
    cases=_pi_cases,
    hint="Spectral normalisation (Miyato et al. 2018, Algorithm 1) estimates σ_max of the weight seen as a "
    "matrix [out, everything else] by power iteration: alternately multiply by Wᵀ and by W, normalising each time.",
    more_hints=("After n_iter rounds, u and v are unit vectors close to the top singular vectors, and σ is "
                "read off as the bilinear form uᵀWv.",),
    mistakes=(
        Mistake("torch.norm(W) (= torch.norm(W, p=2) on a matrix) is the Frobenius norm √Σ w², not the "
                "spectral norm; it is ≥ σ_max, with equality only for rank-1 matrices.",
                lambda W, u, n: torch.norm(W)),
        Mistake("normalise u and v after every multiplication: without it their lengths grow or shrink "
                "geometrically and uᵀWv is not σ.", _pi_unnormalised),
        Mistake("normalise u as well as v: σ = uᵀWv needs two unit vectors.", _pi_only_v),
        Mistake("the exercise asks for the power-iteration *estimate* after n_iter steps (what SN computes "
                "each step), not the exact σ_max from an SVD.",
                lambda W, u, n: torch.linalg.matrix_norm(W.flatten(1), ord=2)),
    ),
)

# ------------------------------------------------------------ weight clipping


def clipped_critic_step(critic: nn.Module, opt: torch.optim.Optimizer, real: Tensor, fake: Tensor,
                        c: float) -> float:
    """One WGAN critic update with weight clipping (Arjovsky et al. 2017, Algorithm 1, lines 5-7).

    Loss mean f(fake) − mean f(real) (the critic maximises the gap), one optimiser step, then every
    parameter clamped to [-c, c] in place. Returns the loss before the update, as a float.
    """
    loss = critic(fake).mean() - critic(real).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    with torch.no_grad():
        for p in critic.parameters():
            p.clamp_(-c, c)
    return loss.item()


def _probe_clip_step(spec: tuple, fn) -> dict:
    """Build the case's critic (with stale gradients), optimiser and batches; call ``fn``; the parameters after."""
    seed, d, width, batch, c, lr = spec
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        critic = _mlp_critic(d, width)
        real, fake = torch.randn(batch, d) + 1.0, torch.randn(batch, d)
        critic(torch.randn(4, d)).sum().backward()  # stale gradients, as the previous generator step leaves
        opt = torch.optim.SGD(critic.parameters(), lr=lr)  # plain SGD: stale gradients change the step's size
    loss = fn(critic, opt, real, fake, c)
    return {"loss": loss, "params": [p.detach().clone() for p in critic.parameters()]}


CLIP_HINT = ("The original WGAN (Arjovsky et al. 2017, Algorithm 1, lines 5-7): the critic ascends "
             "E f(real) − E f(fake), so it descends the opposite; one optimiser step; then every parameter is "
             "kept in [−c, c], the crude way that paper enforces a Lipschitz bound.")
MORE_CLIP_HINTS = (
    "Order matters: clip after the step, so that the parameters the next step sees are inside the box; "
    "gradients left over from an earlier backward pass must not leak into this step.",
    "Every parameter tensor of the critic, biases included, is clamped in place, without autograd recording it; "
    "return the loss measured before the update, as a Python float.",
)


def _clip_before_step(critic, opt, real, fake, c):
    with torch.no_grad():
        for p in critic.parameters():
            p.clamp_(-c, c)
    loss = critic(fake).mean() - critic(real).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


def _clip_variant(critic, opt, real, fake, c, sign: float = 1.0, zero: bool = True, biases: bool = True):
    loss = sign * (critic(fake).mean() - critic(real).mean())
    if zero:
        opt.zero_grad()
    loss.backward()
    opt.step()
    with torch.no_grad():
        for name, p in critic.named_parameters():
            if biases or not name.endswith("bias"):
                p.clamp_(-c, c)
    return loss.item()


CLIP_MISTAKES = (
    Mistake("clip AFTER the optimiser step: clipping first and then stepping leaves parameters outside [−c, c].",
            _clip_before_step),
    Mistake("sign error: the critic maximises E f(real) − E f(fake), so the loss it minimises is "
            "E f(fake) − E f(real).", partial(_clip_variant, sign=-1.0)),
    Mistake("gradients accumulate across backward() calls: clear the optimiser's gradients before this "
            "backward pass (the case starts with stale gradients in the critic).", partial(_clip_variant, zero=False)),
    Mistake("the biases are parameters too: Algorithm 1 clips every parameter w of the critic.",
            partial(_clip_variant, biases=False)),
)


def _judge_clip_step(spec: tuple, got: dict, expected: dict) -> str | None:
    if not isinstance(got, dict) or "params" not in got:
        return f"unexpected output. Hint: {CLIP_HINT}"
    problem = compare(got["loss"], expected["loss"], rtol=1e-5, atol=1e-7)
    if problem:
        return f"the returned loss: {problem}. Hint: {_diagnose_clip(spec, got)}"
    problem = compare(got["params"], expected["params"], rtol=1e-5, atol=1e-7)
    if problem:
        return f"the critic's parameters after the step, {problem}. Hint: {_diagnose_clip(spec, got)}"
    return None


def _diagnose_clip(spec: tuple, got: dict) -> str:
    for mistake in CLIP_MISTAKES:
        wrong = to_plain(_probe_clip_step(spec, mistake.fn))
        if compare(got["params"], wrong["params"], rtol=1e-5, atol=1e-7) is None:
            return mistake.hint
    return CLIP_HINT


def _clip_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        d, width, batch = int(rng.integers(2, 6)), int(rng.integers(4, 12)), int(rng.integers(8, 40))
        c, lr = float(rng.choice([0.01, 0.05, 0.1])), float(rng.uniform(1e-3, 1e-2))
        spec = (int(rng.integers(2**31)), d, width, batch, c, lr)
        cases.append(Case(f"{d}-d MLP critic (width {width}), batch {batch}, c = {c:g}, SGD lr = {lr:.1e}",
                          probe=partial(_probe_clip_step, spec), judge=partial(_judge_clip_step, spec)))
    return cases


CLIPPED_CRITIC_STEP = Exercise(
    key="05.clipped_critic_step",
    function="clipped_critic_step",
    title="A WGAN critic step with weight clipping",
    points=2,
    reference=clipped_critic_step,
    cases=_clip_cases,
    hint=CLIP_HINT,
    more_hints=MORE_CLIP_HINTS,
    mistakes=CLIP_MISTAKES,
)

EXERCISES = (W1, GRADIENT_PENALTY, POWER_ITERATION, CLIPPED_CRITIC_STEP)

# What a learner's kernel needs of this module while it is graded (the probes and their helpers);
# coursekit.grading.harness.seal replaces every other function in it there.
KERNEL_SIDE: tuple[str, ...] = ('_probe_interpolates', '_probe_trains_critic', '_make_critic', '_mlp_critic',
                               '_conv_critic', '_probe_clip_step')
