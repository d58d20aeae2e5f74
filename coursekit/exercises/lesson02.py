"""Lesson 2 exercises: one training step of a GAN, written out (Goodfellow et al. 2014, Algorithm 1, k = 1).

``train_step(G, D, opt_g, opt_d, real, z)`` updates D once on a real batch and
on ``G(z)``, then G once, with the losses of :mod:`coursekit.losses`
(BCE on logits for D, the non-saturating loss for G), and returns the two
losses as floats. A check cannot see the parameter updates in the returned
losses, so every case builds two identical small GANs with identical
optimisers, runs the reference on one and the learner's function on the
other, and compares the parameters afterwards. Each case starts with stale
gradients in both models (as a previous step's G update leaves in D), so a
missing ``zero_grad`` shows. A hook on G's parameters counts how often a
gradient reaches G: exactly once per step (the G update); twice means the
D update back-propagated into G (a missing ``detach``).
"""
from __future__ import annotations

from functools import partial
from typing import Callable

import numpy as np
import torch

from coursekit.check import Case, Exercise, Mistake, compare
from coursekit.losses import d_loss_bce, g_loss_nonsaturating
from coursekit.models import MLPDiscriminator, MLPGenerator

Tensor = torch.Tensor

# --------------------------------------------------------------- reference


def train_step(G, D, opt_g, opt_d, real: Tensor, z: Tensor) -> tuple[float, float]:
    """One D update then one G update (Goodfellow et al. 2014, Algorithm 1 with k = 1).

    D descends ``d_loss_bce(D(real), D(G(z).detach()))``; then G descends
    ``g_loss_nonsaturating(D(G(z)))`` through the *updated* D. Returns
    ``(d_loss, g_loss)`` as Python floats (each measured before its own update).
    """
    fake = G(z)  # [B, *image_shape]
    # 1. discriminator: real -> 1, fake -> 0; fake.detach() keeps this loss out of G
    d_loss = d_loss_bce(D(real), D(fake.detach()))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    # 2. generator: make the updated D call the fakes real (non-saturating loss, Sec. 3)
    g_loss = g_loss_nonsaturating(D(fake))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()


# --------------------------------------------------------------- mistakes


def _no_detach_zero_first(G, D, opt_g, opt_d, real, z):
    opt_d.zero_grad()
    opt_g.zero_grad()
    d_loss = d_loss_bce(D(real), D(G(z)))  # no detach: d_loss's gradient lands in G
    d_loss.backward()
    opt_d.step()
    g_loss = g_loss_nonsaturating(D(G(z)))
    g_loss.backward()  # adds to the D-loss gradient already in G's .grad
    opt_g.step()
    return d_loss.item(), g_loss.item()


def _no_detach(G, D, opt_g, opt_d, real, z):
    d_loss = d_loss_bce(D(real), D(G(z)))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = g_loss_nonsaturating(D(G(z)))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()


def _wrong_optimisers(G, D, opt_g, opt_d, real, z):
    fake = G(z)
    d_loss = d_loss_bce(D(real), D(fake.detach()))
    opt_d.zero_grad()
    d_loss.backward()
    opt_g.step()  # steps G with whatever gradient G holds
    g_loss = g_loss_nonsaturating(D(G(z)))
    opt_g.zero_grad()
    g_loss.backward()
    opt_d.step()  # steps D with D's loss *plus* G's loss gradient
    return d_loss.item(), g_loss.item()


def _no_zero_grad(G, D, opt_g, opt_d, real, z):
    fake = G(z)
    d_loss = d_loss_bce(D(real), D(fake.detach()))
    d_loss.backward()
    opt_d.step()
    g_loss = g_loss_nonsaturating(D(fake))
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()


def _g_before_d(G, D, opt_g, opt_d, real, z):
    fake = G(z)
    g_loss = g_loss_nonsaturating(D(fake))  # measured and stepped against the old D
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    d_loss = d_loss_bce(D(real), D(fake.detach()))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    return d_loss.item(), g_loss.item()


def _g_fake_label(G, D, opt_g, opt_d, real, z):
    fake = G(z)
    d_loss = d_loss_bce(D(real), D(fake.detach()))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    logits = D(fake)
    g_loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()


DETACH_HINT = (
    "the discriminator's loss reached G: detach the fakes in D's update (Tensor.detach), so that D's backward "
    "pass stops at the fake images and puts gradients only into D's parameters."
)
WRONG_OPT_HINT = (
    "the wrong optimiser stepped: D's optimiser steps after D's backward pass, G's after G's; each optimiser "
    "only holds its own model's parameters."
)
ZERO_GRAD_HINT = (
    "gradients accumulate in .grad across backward() calls: clear each optimiser's gradients (zero_grad) before "
    "the backward pass of its own loss (the case starts with stale gradients in both models, as the previous "
    "step's G update leaves in D)."
)
ORDER_HINT = (
    "update D first, then compute G's loss with the updated D (Algorithm 1): the generator's step "
    "must see the discriminator after its step."
)
LABEL_HINT = (
    "the generator wants D to call its fakes real: its loss is the non-saturating −log D(G(z)) "
    "(BCE against label 1), not BCE against label 0."
)

MISTAKES = (
    Mistake(DETACH_HINT, _no_detach_zero_first),
    Mistake(DETACH_HINT, _no_detach),
    Mistake(WRONG_OPT_HINT, _wrong_optimisers),
    Mistake(ZERO_GRAD_HINT, _no_zero_grad),
    Mistake(ORDER_HINT, _g_before_d),
    Mistake(LABEL_HINT, _g_fake_label),
)

GENERIC_HINT = (
    "Algorithm 1 of Goodfellow et al. (2014) with k = 1: one discriminator update on a real and a fake batch, "
    "then one generator update through the UPDATED discriminator; each update clears its own model's gradients, "
    "runs backward on its own loss and steps its own optimiser."
)
MORE_TRAIN_STEP_HINTS = (
    "The fakes must not pass D's loss back into G (cut them from G's graph there), but G's loss must reach G. "
    "One G(z) can serve both updates.",
    "Return the two losses as Python floats (d_loss, g_loss), each measured before its own update.",
)

# ------------------------------------------------------------------ cases


class _Setup:
    """Two small MLP GANs on 1×s×s images with optimisers, stale gradients, a batch and noise."""

    def __init__(self, seed: int, optimiser: str, batch: int, nz: int, side: int, width: int, lr: float,
                 momentum: float):
        self.spec = (seed, optimiser, batch, nz, side, width, lr, momentum)
        gen = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.G = MLPGenerator(nz=nz, hidden=(width,), out_shape=(1, side, side))
            self.D = MLPDiscriminator(in_shape=(1, side, side), hidden=(width,))
        if optimiser == "adam":
            self.opt_g = torch.optim.Adam(self.G.parameters(), lr=lr, betas=(0.5, 0.999))
            self.opt_d = torch.optim.Adam(self.D.parameters(), lr=lr, betas=(0.5, 0.999))
        else:
            self.opt_g = torch.optim.SGD(self.G.parameters(), lr=lr, momentum=momentum)
            self.opt_d = torch.optim.SGD(self.D.parameters(), lr=lr, momentum=momentum)
        for p in [*self.G.parameters(), *self.D.parameters()]:  # stale gradients from "the previous step"
            p.grad = 0.5 * torch.randn(p.shape, generator=gen)
        self.real = torch.rand(batch, 1, side, side, generator=gen) * 2 - 1
        self.z = torch.randn(batch, nz, generator=gen)

    def clone(self) -> "_Setup":
        return _Setup(*self.spec)


def _probe_step(spec: tuple, fn: Callable) -> dict:
    """Call ``fn`` on a fresh setup; return its losses, parameters after, and gradients counted in G.

    A probe: it runs where the function lives (the learner's kernel when grading), so it returns plain data.
    """
    s = _Setup(*spec)
    first = next(s.G.parameters())
    calls = []
    handle = first.register_hook(lambda g: calls.append(1))
    try:
        losses = fn(s.G, s.D, s.opt_g, s.opt_d, s.real.clone(), s.z.clone())
    finally:
        handle.remove()
    return {
        "losses": losses,
        "G": [p.detach().clone() for p in s.G.parameters()],
        "D": [p.detach().clone() for p in s.D.parameters()],
        "g_backwards": len(calls),
    }


def _same_params(a: list[Tensor], b: list[Tensor]) -> bool:
    if not isinstance(a, (list, tuple)) or len(a) != len(b):
        return False
    return all(isinstance(x, Tensor) and x.shape == y.shape and torch.allclose(x, y, rtol=1e-4, atol=1e-6)
               for x, y in zip(a, b))


def _losses_problem(got, expected) -> str | None:
    if isinstance(got, torch.Tensor) or not isinstance(got, (tuple, list)) or len(got) != 2:
        return f"train_step must return the pair (d_loss, g_loss), got {_kind(got)}"
    got = tuple(float(v.detach()) if isinstance(v, torch.Tensor) and v.numel() == 1 else v for v in got)
    return compare(got, expected, rtol=1e-4, atol=1e-5)


def _kind(value) -> str:
    if value is None:
        return "NoneType"
    return value[1:-1] if isinstance(value, str) and value.startswith("<") else type(value).__name__


def _diagnose(spec: tuple, got: dict) -> str:
    for mistake in MISTAKES:
        try:
            wrong = _probe_step(spec, mistake.fn)
        except Exception:
            continue
        if _same_params(got["G"], wrong["G"]) and _same_params(got["D"], wrong["D"]):
            return mistake.hint
    return GENERIC_HINT


def _judge(spec: tuple) -> Callable[[dict, dict], str | None]:
    def judge(got: dict, expected: dict) -> str | None:
        if not isinstance(got, dict) or not {"losses", "G", "D", "g_backwards"} <= set(got):
            return f"unexpected output. Hint: {GENERIC_HINT}"
        problem = _losses_problem(got["losses"], expected["losses"])
        if problem is not None and not isinstance(got["losses"], (tuple, list)):
            return f"{problem}. Hint: {GENERIC_HINT}"
        for part, name in (("D", "the discriminator's"), ("G", "the generator's")):
            if not _same_params(got[part], expected[part]):
                return f"{name} parameters after the step differ from the reference. Hint: {_diagnose(spec, got)}"
        if got["g_backwards"] != 1:
            return (f"a gradient reached G's parameters {got['g_backwards']} times in one step (once is right: "
                    f"the G update). Hint: {DETACH_HINT}")
        if problem is not None:
            return (f"the updates are right but the returned losses are not: {problem}. Return (d_loss, g_loss) "
                    "as floats, each computed before its own update.")
        return None

    return judge


def _train_step_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i, optimiser in enumerate(("sgd", "sgd", "sgd", "adam")):
        seed = int(rng.integers(0, 2**31 - 1))
        batch, nz, side, width = int(rng.integers(4, 24)), int(rng.integers(2, 9)), int(rng.integers(3, 6)), \
            int(rng.integers(8, 24))
        lr = float(rng.uniform(0.05, 0.3)) if optimiser == "sgd" else float(rng.uniform(1e-3, 1e-2))
        momentum = float(rng.choice([0.0, 0.5, 0.9])) if optimiser == "sgd" else 0.0
        spec = (seed, optimiser, batch, nz, side, width, lr, momentum)
        what = (f"SGD(lr={lr:.3f}, momentum={momentum:g})" if optimiser == "sgd" else f"Adam(lr={lr:.4f})")
        cases.append(Case(f"{what}, batch {batch}, nz {nz}, {side}×{side} images: losses and both updates",
                          probe=partial(_probe_step, spec), judge=_judge(spec)))
    return cases


# ------------------------------------------------- exercise 2: digit census


def digit_census(probs: Tensor, threshold: float = 0.9) -> tuple[float, Tensor]:
    """Share of samples whose top class probability is ``>= threshold``, and the predicted-class histogram.

    ``probs``: classifier probabilities ``[N, C]``. Returns ``(share, counts)`` with
    ``share`` a float in [0, 1] and ``counts`` an int64 tensor ``[C]`` of argmax
    classes over *all* N samples (zeros included for classes never predicted).
    """
    top, label = probs.max(dim=1)  # [N], [N]
    share = (top >= threshold).float().mean().item()
    counts = torch.bincount(label, minlength=probs.shape[1])  # [C]
    return share, counts


def _random_probs(rng: np.random.Generator, n: int, c: int, missing: int = 0) -> Tensor:
    """Probabilities ``[n, c]``, a mix of confident and unsure rows; ``missing`` classes never win."""
    logits = rng.normal(0.0, 1.0, size=(n, c))
    winners = rng.integers(0, c, size=n)
    logits[np.arange(n), winners] += rng.uniform(0.0, 8.0, size=n)  # some rows sharp, some not
    if missing:
        logits[:, rng.permutation(c)[:missing]] = -30.0
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return torch.tensor(p / p.sum(axis=1, keepdims=True), dtype=torch.float32)


def _census_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(2):
        n, c = int(rng.integers(20, 200)), int(rng.choice([3, 5, 10]))
        t = float(rng.uniform(0.5, 0.99))
        cases.append(Case(f"{n} samples, {c} classes, threshold {t:.3f}", (_random_probs(rng, n, c), t)))
    n = int(rng.integers(30, 100))
    cases.append(Case(f"{n} samples, 10 classes, 3 never predicted", (_random_probs(rng, n, 10, missing=3), 0.9)))
    n = int(rng.integers(8, 30))
    p = torch.full((n, 4), 0.125)
    p[:, 0] = 0.625  # top probability 0.625 exactly, and 0.75 for the second half
    p[n // 2:, 0], p[n // 2:, 1] = 0.75, 0.0
    cases.append(Case(f"{n} samples whose top probability equals the threshold 0.75 (counts as confident)",
                      (p, 0.75)))
    return cases


def _census_gt(probs, threshold=0.9):
    share, counts = digit_census(probs, threshold)
    return (probs.max(dim=1).values > threshold).float().mean().item(), counts


def _census_no_minlength(probs, threshold=0.9):
    share, _ = digit_census(probs, threshold)
    return share, torch.bincount(probs.argmax(dim=1))


def _census_confident_only(probs, threshold=0.9):
    top, label = probs.max(dim=1)
    share, _ = digit_census(probs, threshold)
    return share, torch.bincount(label[top >= threshold], minlength=probs.shape[1])


def _census_count_not_share(probs, threshold=0.9):
    share, counts = digit_census(probs, threshold)
    return share * len(probs), counts


def _census_sum_probs(probs, threshold=0.9):
    share, _ = digit_census(probs, threshold)
    return share, probs.sum(dim=0)


CENSUS_MISTAKES = (
    Mistake("a sample whose top probability equals the threshold counts as confident: use >=, not >.", _census_gt),
    Mistake("classes that are never predicted must appear with count 0: torch.bincount(labels, minlength=C).",
            _census_no_minlength),
    Mistake("the histogram counts the predicted class of *every* sample, not only of the confident ones.",
            _census_confident_only),
    Mistake("the share is a fraction in [0, 1] (mean, not sum).", _census_count_not_share),
    Mistake("counts are the numbers of samples whose argmax is each class (integers), not summed probabilities.",
            _census_sum_probs),
)


EXERCISES = (
    Exercise(
        key="02.train_step",
        function="train_step",
        title="One GAN training step: the two updates",
        points=3,
        reference=train_step,
        cases=_train_step_cases,
        hint=GENERIC_HINT,
        more_hints=MORE_TRAIN_STEP_HINTS,
        mistakes=MISTAKES,
    ),
    Exercise(
        key="02.digit_census",
        function="digit_census",
        title="Measuring digits: confident share and class histogram",
        points=1,
        reference=digit_census,
        cases=_census_cases,
        hint="Two summaries of one set of predictions: each row's largest probability decides whether the sample "
        "is confident; each row's most probable class feeds the histogram, over all N rows.",
        more_hints=("share is a Python float in [0, 1]; counts is an int64 tensor of length C with zeros for "
                    "classes never predicted (torch.bincount has a minlength argument).",),
        mistakes=CENSUS_MISTAKES,
    ),
)

# What a learner's kernel needs of this module while it is graded (the probes and their helpers);
# coursekit.grading.harness.seal replaces every other function in it there.
KERNEL_SIDE: tuple[str, ...] = ('_probe_step',)
