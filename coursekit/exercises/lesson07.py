"""Lesson 7 exercises: AdaIN, truncation in W, per-layer style mixing, noise injection, style-mixing
regularisation and the running average w̄ (Karras et al. 2019)."""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from coursekit.check import Case, Exercise, Mistake


def _t(rng: np.random.Generator, *shape: int, scale: float = 1.0, loc: float = 0.0) -> Tensor:
    return torch.from_numpy(loc + scale * rng.normal(size=shape)).float()


def _in(x: Tensor, eps: float = 1e-8) -> Tensor:
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(var + eps)


# --------------------------------------------------------------------- AdaIN


def adain(x: Tensor, gamma: Tensor, beta: Tensor) -> Tensor:
    """AdaIN (StyleGAN, Eq. 1) with the scale starting at 1: ``IN(x) · (1 + γ) + β``.

    ``x`` ``[B, C, H, W]``; ``gamma``, ``beta`` ``[B, C]`` (one style per sample
    and channel). IN normalises each sample's channel over H, W (biased variance, ε = 1e-8).
    """
    return _in(x) * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]


def _adain_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for b, c, h in ((2, 3, 4), (3, 5, 8), (1, 8, 6)):
        x = _t(rng, b, c, h, h, scale=float(rng.uniform(0.5, 3)), loc=float(rng.normal(0, 2)))
        cases.append(Case(f"x {[b, c, h, h]}", (x, _t(rng, b, c, scale=0.5), _t(rng, b, c, scale=0.5)), atol=1e-4))
    x = _t(rng, 2, 4, 5, 5, scale=2.0)
    cases.append(Case("γ = β = 0 gives IN(x): the scale starts at 1", (x, torch.zeros(2, 4), torch.zeros(2, 4)),
                      atol=1e-4))
    return cases


ADAIN = Exercise(
    key="07.adain",
    function="adain",
    title="AdaIN's forward pass",
    points=3,
    reference=adain,
    cases=_adain_cases,
    hint="AdaIN (Huang & Belongie 2017; Karras et al. 2019) is instance normalisation (each sample's channel over "
    "its own H×W, biased variance, 1e-8 inside the root) followed by a per-channel style scale and bias.",
    more_hints=("The style vectors are [B, C]: give them two trailing singleton axes to broadcast over H and W; "
                "the scale starts at 1, so it is 1 + gamma.",),
    mistakes=(
        Mistake("the style scale must start at 1: use IN(x) * (1 + gamma) + beta, not IN(x) * gamma + beta "
                "(with gamma ≈ 0 at initialisation, x·γ would wipe out every feature).",
                lambda x, g, b: _in(x) * g[:, :, None, None] + b[:, :, None, None]),
        Mistake("normalise x first: AdaIN is *instance* normalisation followed by the style.",
                lambda x, g, b: x * (1 + g[:, :, None, None]) + b[:, :, None, None]),
        Mistake("normalise per sample: the mean and variance are over (H, W) only (dims 2, 3), not over the batch.",
                lambda x, g, b: (x - x.mean(dim=(0, 2, 3), keepdim=True))
                / torch.sqrt(x.var(dim=(0, 2, 3), keepdim=True, unbiased=False) + 1e-8)
                * (1 + g[:, :, None, None]) + b[:, :, None, None]),
        Mistake("use the biased variance (unbiased=False), as instance normalisation does.",
                lambda x, g, b: (x - x.mean(dim=(2, 3), keepdim=True)) / x.std(dim=(2, 3), keepdim=True)
                * (1 + g[:, :, None, None]) + b[:, :, None, None]),
    ),
)


# ---------------------------------------------------------------- truncation


def truncate(z: Tensor, mapping: nn.Module, w_avg: Tensor, psi: float) -> Tensor:
    """Truncation in W (StyleGAN, Sec. 5): map ``z`` ``[B, z_dim]`` to w, then return ``w̄ + ψ(w − w̄)``."""
    w = mapping(z)
    return w_avg + psi * (w - w_avg)


def _mapping(rng: np.random.Generator, z_dim: int, w_dim: int) -> nn.Module:
    torch.manual_seed(int(rng.integers(2**31)))
    return nn.Sequential(nn.Linear(z_dim, w_dim), nn.LeakyReLU(0.2), nn.Linear(w_dim, w_dim))


def _truncate_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for psi in (float(rng.uniform(0.2, 0.9)), 0.0, 1.0, float(rng.uniform(0.2, 0.9))):
        z_dim, w_dim = int(rng.integers(3, 9)), int(rng.integers(4, 10))
        args = (_t(rng, 5, z_dim), _mapping(rng, z_dim, w_dim), _t(rng, w_dim, loc=1.0), psi)
        cases.append(Case(f"ψ = {psi:.2f}, z_dim = {z_dim}, w_dim = {w_dim}", args))
    return cases


TRUNCATE = Exercise(
    key="07.truncate",
    function="truncate",
    title="Truncation in W",
    points=2,
    reference=truncate,
    cases=_truncate_cases,
    hint="The truncation trick of StyleGAN (Karras et al. 2019, App. B) works in W: map z first, "
    "then move w part of the way towards the average style w̄; ψ = 1 keeps w, ψ = 0 gives w̄.",
    more_hints=("A linear interpolation between w̄ and w with weight ψ on w.",),
    mistakes=(
        Mistake("truncate in W, not in Z: map z through the mapping network first, then pull w towards w_avg; "
                "shrinking z does not move w towards the average style.",
                lambda z, f, wa, psi: f(psi * z)),
        Mistake("truncate in W, not in Z: mapping ψ·z is not the same as pulling the mapped w towards w_avg.",
                lambda z, f, wa, psi: wa + psi * (f(psi * z) - wa)),
        Mistake("pull towards w_avg, not towards 0: ψ·w shrinks w towards the origin of W, not the average style.",
                lambda z, f, wa, psi: psi * f(z)),
        Mistake("psi is the weight of w: psi = 1 keeps w unchanged and psi = 0 gives w_avg.",
                lambda z, f, wa, psi: wa + (1 - psi) * (f(z) - wa)),
    ),
)


# -------------------------------------------------------------- style mixing


def mix_styles(w_a: Tensor, w_b: Tensor, crossover: int, num_ws: int) -> Tensor:
    """Per-layer style mixing (StyleGAN, Sec. 3.1): ``ws`` ``[B, num_ws, w_dim]`` where
    layers ``< crossover`` take ``w_a`` ``[B, w_dim]`` and layers ``>= crossover`` take ``w_b``.

    ``crossover = 0`` is pure B; ``crossover = num_ws`` is pure A.
    """
    ws = w_b.unsqueeze(1).repeat(1, num_ws, 1)
    ws[:, :crossover] = w_a.unsqueeze(1)
    return ws


def _mix_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    num_ws = int(rng.integers(6, 11))
    for c in (int(rng.integers(1, num_ws)), int(rng.integers(1, num_ws)), 0, num_ws):
        w_dim = int(rng.integers(3, 7))
        args = (_t(rng, 3, w_dim), _t(rng, 3, w_dim), c, num_ws)
        cases.append(Case(f"crossover {c} of num_ws = {num_ws}", args))
    return cases


def _mix_off_by_one(w_a, w_b, c, n):
    return mix_styles(w_a, w_b, min(c + 1, n), n)


MIX = Exercise(
    key="07.mix_styles",
    function="mix_styles",
    title="Per-layer style mixing",
    points=2,
    reference=mix_styles,
    cases=_mix_cases,
    hint="Style mixing (Karras et al. 2019, Sec. 3.1): every synthesis layer gets its own w; the coarse layers "
    "before the crossover take A's, the rest take B's.",
    more_hints=("Build a [B, num_ws, w_dim] tensor from B's w repeated for every layer, then overwrite the first "
                "`crossover` layers with A's w.",),
    mistakes=(
        Mistake("off by one: layers < crossover take A (crossover layers from A), so layer `crossover` itself is B's; "
                "crossover 0 must be pure B.", _mix_off_by_one),
        Mistake("off by one: layers < crossover take A, so exactly `crossover` layers come from A "
                "(crossover = num_ws is pure A).", lambda w_a, w_b, c, n: mix_styles(w_a, w_b, max(c - 1, 0), n)),
        Mistake("A and B are swapped: the first (coarse) layers take A's w, the later (fine) ones B's.",
                lambda w_a, w_b, c, n: mix_styles(w_b, w_a, c, n)),
    ),
)


# ------------------------------------------------------------ noise injection


def inject_noise(x: Tensor, weight: Tensor, noise: Tensor) -> Tensor:
    """StyleGAN's noise input (Sec. 3.2): ``x + weight[c] · noise``.

    ``x`` ``[B, C, H, W]``; ``weight`` ``[C]`` (one learned scale per channel,
    initialised to 0); ``noise`` ``[B, 1, H, W]`` (one value per pixel, shared by all channels).
    """
    return x + weight.view(1, -1, 1, 1) * noise


def _noise_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for b, c, h in ((2, 3, 4), (3, 6, 8), (1, 4, 5)):
        args = (_t(rng, b, c, h, h), _t(rng, c, scale=0.5), _t(rng, b, 1, h, h))
        cases.append(Case(f"x {[b, c, h, h]}", args))
    b, c, h = 2, 5, 4
    cases.append(Case("weights at their initial value 0: the noise changes nothing",
                      (_t(rng, b, c, h, h), torch.zeros(c), _t(rng, b, 1, h, h))))
    return cases


NOISE = Exercise(
    key="07.inject_noise",
    function="inject_noise",
    title="Noise injection",
    points=2,
    reference=inject_noise,
    cases=_noise_cases,
    hint="StyleGAN's noise inputs (Karras et al. 2019, Sec. 3.2): one noise image per sample, shared by all "
    "channels, scaled by a learned per-channel weight and added to the features.",
    more_hints=("The weight is [C]; reshape it so that it broadcasts against the noise [B, 1, H, W].",),
    mistakes=(
        Mistake("scale the noise by the learned per-channel weight (x + weight · noise), not x + noise: "
                "the weights start at 0 so that noise is off until training turns it on.",
                lambda x, wt, n: x + n),
        Mistake("add the noise to x: the result is x + weight · noise, not weight · noise alone.",
                lambda x, wt, n: wt.view(1, -1, 1, 1) * n),
        Mistake("the noise is added, not multiplied: x + weight · noise, not x · (1 + weight · noise).",
                lambda x, wt, n: x * (1 + wt.view(1, -1, 1, 1) * n)),
    ),
)

# ------------------------------------------------ style-mixing regularisation


def mixing_regularisation_ws(w: Tensor, w2: Tensor, crossover: Tensor, num_ws: int) -> Tensor:
    """Training-time styles with mixing regularisation (StyleGAN, Sec. 3.1), one crossover per sample.

    ``w``, ``w2`` ``[B, w_dim]``; ``crossover`` ``[B]`` (integers in ``1..num_ws``; ``num_ws`` means
    no switch). Layer ``i`` of sample ``b`` reads ``w[b]`` if ``i < crossover[b]``, else ``w2[b]``.
    Returns ``[B, num_ws, w_dim]``.
    """
    layer = torch.arange(num_ws).view(1, num_ws, 1)
    return torch.where(layer < crossover.view(-1, 1, 1), w.unsqueeze(1), w2.unsqueeze(1))


def _mixreg_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for b in (4, 7, 5):
        num_ws, w_dim = int(rng.integers(5, 10)), int(rng.integers(3, 7))
        crossover = torch.from_numpy(rng.integers(1, num_ws + 1, size=b))
        crossover[0], crossover[-1] = 1, num_ws  # switch after the first layer; no switch at all
        cases.append(Case(f"{b} samples, num_ws = {num_ws}, crossovers {crossover.tolist()}",
                          (_t(rng, b, w_dim), _t(rng, b, w_dim), crossover, num_ws)))
    return cases


MIXING_REGULARISATION = Exercise(
    key="07.mixing_regularisation_ws",
    function="mixing_regularisation_ws",
    title="Style-mixing regularisation: a crossover per sample",
    points=3,
    reference=mixing_regularisation_ws,
    cases=_mixreg_cases,
    hint="Mixing regularisation (Karras et al. 2019, Sec. 3.1) is per-layer mixing where every sample of the batch "
    "has its own crossover: compare each layer's index with its sample's crossover.",
    more_hints=("A [1, num_ws, 1] tensor of layer indices and a [B, 1, 1] view of the crossovers broadcast to "
                "[B, num_ws, 1]; torch.where then picks w or w2.",),
    mistakes=(
        Mistake("off by one: layer i reads w while i < crossover, so exactly `crossover` layers read w "
                "(a crossover of num_ws means no switch).",
                lambda w, w2, c, n: mixing_regularisation_ws(w, w2, (c + 1).clamp(max=n), n)),
        Mistake("off by one: a crossover of c keeps w in the first c layers (0 … c − 1), so a crossover of 1 "
                "still gives layer 0 the first w.",
                lambda w, w2, c, n: mixing_regularisation_ws(w, w2, c - 1, n)),
        Mistake("w and w2 are swapped: the layers before the crossover read the first w.",
                lambda w, w2, c, n: mixing_regularisation_ws(w2, w, c, n)),
        Mistake("every sample has its own crossover: the batch does not share the first sample's.",
                lambda w, w2, c, n: mixing_regularisation_ws(w, w2, c[:1].expand_as(c), n)),
    ),
)


# ---------------------------------------------------------------- tracking w̄


def update_w_avg(w_avg: Tensor, w: Tensor, beta: float = 0.995) -> Tensor:
    """The running average style (StyleGAN's official code; the centre of truncation, Appendix B):
    ``w̄ ← β·w̄ + (1 − β)·mean_b(w)``, with ``w`` ``[B, w_dim]`` and ``w_avg`` ``[w_dim]``."""
    return beta * w_avg + (1 - beta) * w.mean(dim=0)


def _w_avg_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for b, beta in ((8, 0.995), (5, float(rng.uniform(0.5, 0.95))), (16, float(rng.uniform(0.9, 0.999)))):
        w_dim = int(rng.integers(3, 9))
        cases.append(Case(f"batch {b}, beta = {beta:.3f}", (_t(rng, w_dim), _t(rng, b, w_dim, loc=1.0), beta),
                          atol=1e-5))
    return cases


W_AVG = Exercise(
    key="07.update_w_avg",
    function="update_w_avg",
    title="Tracking the average style w̄",
    points=2,
    reference=update_w_avg,
    cases=_w_avg_cases,
    hint="w̄ is an exponential moving average of the batch's mean w; β is the weight of the old average, so it "
    "moves only a little each step.",
    more_hints=("Average the batch over its first axis, then blend: β on the old w̄, 1 − β on the new mean.",),
    mistakes=(
        Mistake("β is the weight of the *old* average (β = 0.995 moves w̄ by 0.5 % per step), not of the new batch.",
                lambda wa, w, beta: (1 - beta) * wa + beta * w.mean(dim=0)),
        Mistake("average over the batch (dim 0), not over the w dimensions.",
                lambda wa, w, beta: beta * wa + (1 - beta) * w.mean(dim=1, keepdim=True).mean() * torch.ones_like(wa)),
        Mistake("average the whole batch: one sample's w is not the batch mean.",
                lambda wa, w, beta: beta * wa + (1 - beta) * w[0]),
    ),
)


EXERCISES: tuple[Exercise, ...] = (ADAIN, TRUNCATE, MIX, NOISE, MIXING_REGULARISATION, W_AVG)

# What a learner's kernel needs of this module while it is graded (the probes and their helpers);
# coursekit.grading.harness.seal replaces every other function in it there.
KERNEL_SIDE: tuple[str, ...] = ()
