"""Lesson 4 exercises: DCGAN shape arithmetic and initialisation (Radford et al. 2016).

* ``conv_out`` / ``conv_transpose_out``: output sizes of ``nn.Conv2d`` and
  ``nn.ConvTranspose2d`` along one dimension (the PyTorch documentation's
  formulas; Dumoulin & Visin 2016). Checked on randomised sizes against the
  reference, which ``tests/test_layer_shapes.py`` checks against real layers.
* ``dcgan_init``: every conv, transposed conv and linear weight ~ N(0, 0.02²),
  BatchNorm scale ~ N(1, 0.02²), all biases 0 (Radford et al. 2016, Sec. 4).
  Checked by statistics on randomly sized models, since random draws cannot be
  compared value by value.
"""
from __future__ import annotations

import math
from functools import partial
from typing import Callable

import numpy as np
import torch
from torch import nn

from coursekit.check import Case, Exercise, Mistake
from coursekit.layer_shapes import conv_out, conv_transpose_out
from coursekit.models import dcgan_init

__all__ = ["EXERCISES", "conv_out", "conv_transpose_out", "dcgan_init"]

# ------------------------------------------------------------- conv_out


def _conv_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    while len(cases) < 5:
        dilated = len(cases) >= 3
        size, s, p = int(rng.integers(5, 64)), int(rng.integers(1, 4)), int(rng.integers(0, 4))
        k = int(rng.choice([3, 4, 5, 7] if dilated else [1, 3, 4, 5, 7]))
        d = int(rng.choice([2, 3])) if dilated else 1
        if size + 2 * p >= d * (k - 1) + 1:
            cases.append(Case(f"size {size}, kernel {k}, stride {s}, padding {p}, dilation {d}", (size, k, s, p, d)))
    size = int(rng.integers(5, 40))
    cases.append(Case(f"size {size}, kernel 3, stride 1, padding 2 ('full' padding: the output grows)",
                      (size, 3, 1, 2, 1)))
    cases.append(Case("28×28, kernel 3, stride 2, padding 1: the first layer of the DCGAN trap", (28, 3, 2, 1, 1)))
    cases.append(Case("7×7, kernel 3, stride 2, padding 1: the third layer of the trap", (7, 3, 2, 1, 1)))
    return cases


def _conv_no_plus_one(size, kernel, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride


def _conv_one_padding(size, kernel, stride=1, padding=0, dilation=1):
    return (size + padding - dilation * (kernel - 1) - 1) // stride + 1


def _conv_ceil(size, kernel, stride=1, padding=0, dilation=1):
    return math.ceil((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1


def _conv_no_dilation(size, kernel, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - (kernel - 1) - 1) // stride + 1


def _conv_float(size, kernel, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1


CONV_MISTAKES = (
    Mistake("the output has floor(...) + 1 positions: the first window sits at position 0, then one more per stride "
            "(you forgot the + 1).", _conv_no_plus_one),
    Mistake("padding is added on both sides: size + 2·padding.", _conv_one_padding),
    Mistake("PyTorch rounds down (floor), not up: a window that would stick out past the padded input is dropped. "
            "Use integer division //.", _conv_ceil),
    Mistake("a dilated kernel spans dilation·(kernel − 1) + 1 pixels: multiply (kernel − 1) by dilation.",
            _conv_no_dilation),
    Mistake("return an int: use // (floor division), not /.", _conv_float),
)

# ------------------------------------------------------------- conv_transpose_out


def _transpose_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    while len(cases) < 5:
        size, k, s, p = int(rng.integers(2, 32)), int(rng.choice([2, 3, 4, 5])), int(rng.integers(2, 4)), \
            int(rng.integers(0, 3))
        op = int(rng.integers(1, s)) if len(cases) >= 2 else 0
        d = 3 if len(cases) >= 4 else 1
        k = int(rng.choice([4, 5])) if d > 1 else k
        if (size - 1) * s - 2 * p + d * (k - 1) + op + 1 >= 1:
            cases.append(Case(f"size {size}, kernel {k}, stride {s}, padding {p}, output_padding {op}, dilation {d}",
                              (size, k, s, p, op, d)))
    cases.append(Case("7×7, kernel 4, stride 2, padding 1: the DCGAN generator's doubling layer", (7, 4, 2, 1, 0, 1)))
    return cases


def _tr_conv_formula(size, kernel, stride=1, padding=0, output_padding=0, dilation=1):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _tr_no_minus_one(size, kernel, stride=1, padding=0, output_padding=0, dilation=1):
    return size * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def _tr_plus_padding(size, kernel, stride=1, padding=0, output_padding=0, dilation=1):
    return (size - 1) * stride + 2 * padding + dilation * (kernel - 1) + output_padding + 1


def _tr_no_output_padding(size, kernel, stride=1, padding=0, output_padding=0, dilation=1):
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + 1


def _tr_no_dilation(size, kernel, stride=1, padding=0, output_padding=0, dilation=1):
    return (size - 1) * stride - 2 * padding + (kernel - 1) + output_padding + 1


TRANSPOSE_MISTAKES = (
    Mistake("that is the formula of an ordinary convolution, which shrinks; a transposed convolution runs it "
            "backwards: (size − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1.",
            _tr_conv_formula),
    Mistake("the input positions are size − 1 strides apart: (size − 1)·stride, not size·stride.", _tr_no_minus_one),
    Mistake("in a transposed convolution, padding *removes* 2·padding pixels from the output (it undoes the padding "
            "of the convolution it inverts).", _tr_plus_padding),
    Mistake("output_padding adds that many pixels on one side of the output: + output_padding.", _tr_no_output_padding),
    Mistake("a dilated kernel spans dilation·(kernel − 1) + 1 pixels: multiply (kernel − 1) by dilation.",
            _tr_no_dilation),
)

# ------------------------------------------------------------- dcgan_init

WEIGHT_STD_HINT = (
    "conv, transposed-conv and linear weights must be drawn from N(0, 0.02²) (torch.nn.init.normal_ takes the "
    "standard deviation: std is 0.02, the *variance* is 0.0004)."
)
TRANSPOSE_HINT = (
    "nn.ConvTranspose2d is not a subclass of nn.Conv2d: test isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)), "
    "or the generator's layers keep PyTorch's default initialisation."
)
LINEAR_HINT = "nn.Linear layers get the same N(0, 0.02²) weights as the convolutions."
BIAS_HINT = "set every bias to 0 (torch.nn.init.zeros_); layers built with bias=False have no bias (None): skip those."
BN_HINT = (
    "BatchNorm's scale (weight) must be drawn from N(1, 0.02²), mean 1 not 0, and its shift (bias) set to 0."
)
RETURN_HINT = "return the module you initialised (in place), so that dcgan_init(Model()) can be chained."


def _init_loop(module: nn.Module, weight_types: tuple, std: float = 0.02, biases: bool = True,
               batchnorm: bool = True) -> nn.Module:
    for m in module.modules():
        if isinstance(m, weight_types):
            nn.init.normal_(m.weight, 0.0, std)
            if biases and m.bias is not None:
                nn.init.zeros_(m.bias)
        elif batchnorm and isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return module


ALL = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
INIT_MISTAKES = (
    Mistake(WEIGHT_STD_HINT, lambda m: _init_loop(m, ALL, std=0.02**2)),
    Mistake(WEIGHT_STD_HINT, lambda m: _init_loop(m, ALL, std=1.0)),
    Mistake(TRANSPOSE_HINT, lambda m: _init_loop(m, (nn.Conv2d, nn.Linear))),
    Mistake(LINEAR_HINT, lambda m: _init_loop(m, (nn.Conv2d, nn.ConvTranspose2d))),
    Mistake(BIAS_HINT, lambda m: _init_loop(m, ALL, biases=False)),
    Mistake(BN_HINT, lambda m: _init_loop(m, ALL, batchnorm=False)),
    Mistake(RETURN_HINT, lambda m: (_init_loop(m, ALL), None)[1]),
)


class _Toy(nn.Module):
    """A small DCGAN-like model of random widths: Linear, ConvTranspose2d, Conv2d, BatchNorm, with and without bias."""

    def __init__(self, rng: np.random.Generator):
        super().__init__()
        c1, c2, c3 = (int(rng.integers(24, 48)) for _ in range(3))
        nz = int(rng.integers(16, 64))
        self.project = nn.Linear(nz, c1 * 4)  # [B, nz] -> [B, c1·4]
        self.up = nn.ConvTranspose2d(c1, c2, 4, 2, 1, bias=False)  # [B, c1, 2, 2] -> [B, c2, 4, 4]
        self.bn = nn.BatchNorm2d(c2)
        self.down = nn.Conv2d(c2, c3, 3, 1, 1)  # [B, c2, 4, 4] -> [B, c3, 4, 4]
        self.bn1 = nn.BatchNorm1d(c3)
        self.head = nn.Linear(c3, 1)


def _layers(model: nn.Module):
    return [m for m in model.modules() if isinstance(m, (*ALL, nn.BatchNorm1d, nn.BatchNorm2d))]


def _stats_ok(w: torch.Tensor, mean: float, std: float) -> bool:
    """Sample mean and std of ``w`` agree with N(mean, std²) within 5 standard errors."""
    w = w.detach().double().flatten()
    n = w.numel()
    return abs(w.mean().item() - mean) < 5 * std / math.sqrt(n) and abs(w.std().item() - std) < 5 * std / math.sqrt(2 * n)


def _init_problem(model: nn.Module, returned) -> str | None:
    convs_ok = all(_stats_ok(m.weight, 0.0, 0.02) for m in model.modules() if isinstance(m, nn.Conv2d))
    all_convs_ok = convs_ok and all(
        _stats_ok(m.weight, 0.0, 0.02) for m in model.modules() if isinstance(m, nn.ConvTranspose2d))
    for m in model.modules():
        kind = type(m).__name__
        if isinstance(m, ALL):
            if not _stats_ok(m.weight, 0.0, 0.02):
                w = m.weight.detach()
                found = f"{kind} weight has mean {w.mean():.4f}, std {w.std():.4f} (expected 0 and 0.02)"
                if isinstance(m, nn.ConvTranspose2d) and convs_ok:
                    return f"{found}. Hint: {TRANSPOSE_HINT}"
                if isinstance(m, nn.Linear) and all_convs_ok:
                    return f"{found}. Hint: {LINEAR_HINT}"
                return f"{found}. Hint: {WEIGHT_STD_HINT}"
            if m.bias is not None and bool(m.bias.detach().abs().max() > 0):
                return f"{kind} bias is not 0 (max |b| = {m.bias.detach().abs().max():.3g}). Hint: {BIAS_HINT}"
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            w, b = m.weight.detach(), m.bias.detach()
            if not _stats_ok(w, 1.0, 0.02) or bool(b.abs().max() > 0):
                return (f"{kind} weight has mean {w.mean():.4f}, std {w.std():.4f} (expected 1 and 0.02), "
                        f"max |bias| {b.abs().max():.3g}. Hint: {BN_HINT}")
    if returned is not model:
        return f"dcgan_init returned {type(returned).__name__}, not the module. Hint: {RETURN_HINT}"
    return None


def _probe_init(seed: int, widths: int, fn: Callable) -> dict:
    """Call ``fn`` on a fresh random-width model: its parameters after, and whether each weight was re-drawn.

    A probe: it runs where the function lives (the learner's kernel when grading) and returns plain data.
    """
    model = _Toy(np.random.default_rng(widths))
    with torch.no_grad():  # start from something clearly not DCGAN-initialised
        for m in _layers(model):
            m.weight.uniform_(-0.5, 0.5)
            if m.bias is not None:
                m.bias.fill_(0.3)
    before = [m.weight.detach().clone() for m in _layers(model)]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        returned = fn(model)
    return {"state": {k: v.detach().clone() for k, v in model.state_dict().items()},
            "returned_model": returned is model,
            "redrawn": [not torch.equal(b, m.weight) for b, m in zip(before, _layers(model))]}


def _judge_init(widths: int, got: dict, expected: dict) -> str | None:
    """Rebuild the model from the learner's parameters, then check its statistics (in the judging process)."""
    model = _Toy(np.random.default_rng(widths))
    state = got.get("state") if isinstance(got, dict) else None
    try:
        model.load_state_dict(state)
    except Exception:
        return "the model's parameters changed shape or names: initialise them in place. Hint: " + WEIGHT_STD_HINT
    problem = _init_problem(model, model if got.get("returned_model") is True else None)
    if problem is None and not all(v is True for v in got.get("redrawn", [])):
        return "some weights were not re-drawn. Hint: " + WEIGHT_STD_HINT
    return problem


def _init_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        seed, widths = int(rng.integers(0, 2**31 - 1)), int(rng.integers(0, 2**31 - 1))
        w = _Toy(np.random.default_rng(widths))
        desc = ", ".join(f"{type(m).__name__} weight {list(m.weight.shape)}" for m in _layers(w))
        cases.append(Case(f"random-width model: {desc}", probe=partial(_probe_init, seed, widths),
                          judge=partial(_judge_init, widths)))
    return cases


EXERCISES = (
    Exercise(
        key="04.conv_out",
        function="conv_out",
        title="Output size of a convolution",
        points=1,
        reference=conv_out,
        cases=_conv_cases,
        hint="Count the positions of the window: the padded input is size + 2·padding pixels wide, a dilated "
        "kernel spans dilation·(kernel − 1) + 1 of them, and the window moves stride pixels at a time.",
        more_hints=("The first window sits at position 0; count how many whole strides fit after it. PyTorch rounds "
                    "down and returns an int (the Conv2d documentation's shape formula).",),
        mistakes=CONV_MISTAKES,
    ),
    Exercise(
        key="04.conv_transpose_out",
        function="conv_transpose_out",
        title="Output size of a transposed convolution",
        points=1,
        reference=conv_transpose_out,
        cases=_transpose_cases,
        hint="A transposed convolution maps shapes the way a convolution with the same settings maps them "
        "backwards: its output is the input size that convolution would shrink to `size`.",
        more_hints=("Solve the convolution's shape formula for its input (without the floor), then add "
                    "output_padding, which picks one of the sizes that round down to the same output.",),
        mistakes=TRANSPOSE_MISTAKES,
    ),
    Exercise(
        key="04.dcgan_init",
        function="dcgan_init",
        title="DCGAN initialisation",
        points=2,
        reference=dcgan_init,
        cases=_init_cases,
        hint="Radford et al. (2016, Sec. 4): every weight from a zero-centred normal with standard deviation "
        "0.02; visit every submodule of the model (Module.modules()), whatever its nesting.",
        more_hints=("Conv, transposed-conv and linear layers: weights N(0, 0.02²), biases 0. BatchNorm: scale "
                    "N(1, 0.02²), shift 0. Return the module, initialised in place.",),
        mistakes=INIT_MISTAKES,
    ),
)

# What a learner's kernel needs of this module while it is graded (the probes and their helpers);
# coursekit.grading.harness.seal replaces every other function in it there.
KERNEL_SIDE: tuple[str, ...] = ('_probe_init', '_layers')
