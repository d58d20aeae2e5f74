"""Lesson 4 exercises: DCGAN shape arithmetic and initialisation (Radford et al. 2016).

* ``conv_out`` / ``conv_transpose_out``: output sizes of ``nn.Conv2d`` and
  ``nn.ConvTranspose2d`` along one dimension (the PyTorch documentation's
  formulas; Dumoulin & Visin 2016). Checked on randomised sizes against the
  reference, which ``tests/test_conv_arithmetic.py`` checks against real layers.
* ``dcgan_init``: every conv, transposed conv and linear weight ~ N(0, 0.02²),
  BatchNorm scale ~ N(1, 0.02²), all biases 0 (Radford et al. 2016, Sec. 4).
  Checked by statistics on randomly sized models, since random draws cannot be
  compared value by value.
* ``design_28``: a design exercise. ``design_28(nz)`` returns ``(G, D)`` for
  28×28 MNIST following the DCGAN guidelines (Radford et al. 2016, Sec. 3).
  There is no single answer, so the check compares nothing with the
  reference: it runs the learner's networks on random batch sizes and random
  z and checks properties. G: ``[B, nz] -> [B, 1, 28, 28]``, bounded to
  [-1, 1] and reaching both signs even with every parameter multiplied by 100
  (catches a missing tanh, or a sigmoid, whatever the init's scale). D:
  ``[B, 1, 28, 28] -> [B]`` or ``[B, 1]``, logits: no sigmoid among the torch
  functions it calls, and its (varying) outputs not all in [0, 1] both as
  built and with every parameter multiplied by 100, which drives any logit far
  outside [0, 1] (so a hand-written ``1 / (1 + exp(-x))`` is caught too, and a
  logit D never is: 40 seeds of three good designs, no false verdict). Guidelines, from the
  torch functions each network calls (recorded by a ``TorchFunctionMode``, so functional calls count too): no
  pooling; no hidden fully connected layer (a linear layer is allowed only on
  z as G's first layer, and as D's last layer with one output); G upsamples
  with a stride >= 2 transposed convolution and uses BatchNorm and ReLU; D
  downsamples with a stride >= 2 convolution and uses LeakyReLU. Budget:
  G <= 1.5 M and D <= 1 M parameters. A batch of one in eval mode must work
  (``squeeze()`` would drop the batch dimension). coursekit's own models are
  refused.
"""
from __future__ import annotations

import copy
import math
from functools import partial
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from coursekit.check import Case, Exercise, Mistake, with_hint
from coursekit.conv_arithmetic import conv_out, conv_transpose_out
from coursekit.models import dcgan_init

__all__ = ["EXERCISES", "conv_out", "conv_transpose_out", "dcgan_init", "design_28"]

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
    "nn.ConvTranspose2d is not a subclass of nn.Conv2d: "
    "test isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)), "
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
    return (abs(w.mean().item() - mean) < 5 * std / math.sqrt(n)
            and abs(w.std().item() - std) < 5 * std / math.sqrt(2 * n))


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


# ------------------------------------------------------------- design_28

G_BUDGET, D_BUDGET = 1_500_000, 1_000_000  # parameters; the exercise text states them
STRESS = 100.0  # every parameter multiplied by this (in float64) to test what bounds the outputs
POOLING = "pool"  # in the name of every pooling function: max_pool2d, avg_pool2d, adaptive_avg_pool2d, …
WEIGHT_OPS = ("conv2d", "conv_transpose2d", "linear")
MAX_OPS = 2_000  # torch calls recorded per forward pass

PAIR_HINT = "design_28(nz) must return a pair (G, D) of nn.Module instances, built for that nz."
COURSEKIT_HINT = ("build the layers yourself from torch.nn: coursekit's DCGANGenerator and discriminators are "
                  "the lesson's answer, not yours.")
DESIGN_HINT = (
    "Radford et al. (2016, Sec. 3): strided convolutions instead of pooling (transposed ones in G), BatchNorm in G, "
    "no fully connected hidden layers, ReLU in G with tanh at its output, LeakyReLU in D, and D returns logits. "
    "Plan the sizes on paper first, layer by layer, with conv_out and conv_transpose_out."
)
DESIGN_MORE_HINTS = (
    "28 = 7·2·2: G can project z to a 7×7 map (on a 1×1 input, a transposed convolution whose kernel is 7 does it) "
    "and double it twice; D can halve 28 twice and cover the last 7×7 map with one valid convolution (its kernel "
    "the map's size), then flatten to one logit per image. Build G for the nz that design_28 receives.",
    "A transposed convolution with stride 2, kernel 4 and padding 1 doubles a size exactly (kernel 3 with padding 1 "
    "gives 2n − 1, and a 4×4 start ends at 32, not 28); trace_shapes(G, (2, nz)) and trace_shapes(D, (2, 1, 28, 28)) "
    "from coursekit.conv_arithmetic print every layer's output shape, up to the one that fails.",
)
TANH_HINT = ("the training images are scaled to [-1, 1], so G's last layer must map into [-1, 1] whatever its "
             "weights: Radford et al. end G with tanh (Sec. 3). Small outputs at initialisation are not enough.")
ZERO_ONE_HINT = ("G's outputs stay in [0, 1] (a sigmoid, or a ReLU before the final squashing): the images are "
                 "scaled to [-1, 1], so G must reach negative values: tanh, and nothing after it.")
SIGMOID_HINT = ("return logits, not probabilities: leave out the final sigmoid. The losses of this course "
                "(binary_cross_entropy_with_logits) apply it themselves, more stably.")
POOL_HINT = ("no pooling layers: Radford et al. (Sec. 3) replace pooling with strided convolutions, so that the "
             "network learns its own downsampling.")
HIDDEN_LINEAR_HINT = ("no fully connected hidden layers (Radford et al., Sec. 3): a linear layer is allowed only as "
                      "G's first layer (on z, reshaped into a map) and as D's last layer (one output). Use "
                      "convolutions in between.")
STRIDED_D_HINT = ("D must downsample with convolutions of stride 2 (Radford et al., Sec. 3: strided "
                  "convolutions instead of pooling).")
TRANSPOSED_G_HINT = ("G must upsample with transposed convolutions of stride 2 (nn.ConvTranspose2d, the "
                     "'fractionally-strided convolutions' of Radford et al., Sec. 3).")
BN_G_HINT = "use BatchNorm in G (Radford et al., Sec. 3), after each transposed convolution except the output layer."
RELU_G_HINT = "use ReLU in G for every layer except the output, which uses tanh (Radford et al., Sec. 3)."
LEAKY_D_HINT = "use LeakyReLU (slope 0.2) in D for every layer (Radford et al., Sec. 3)."
BUDGET_HINT = (f"stay within the budget (G ≤ {G_BUDGET:,} and D ≤ {D_BUDGET:,} parameters): a (transposed) "
               "convolution has in·out·k·k weights, so the layer that projects z and the widest layers dominate; "
               "narrow the channels (coursekit.models.count_parameters counts them).")
BATCH_OF_ONE_HINT = ("with a batch of one, squeeze() also drops the batch dimension: flatten the logits with "
                     "view(-1) or flatten(), which keep it.")


class _Calls(TorchFunctionMode):
    """Records the torch functions a forward pass calls (outermost calls only), with the shapes of weight layers."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: list[str] = []
        self.layers: list[dict] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = str(getattr(func, "__name__", func))
        if len(self.ops) < MAX_OPS:
            self.ops.append(name)
            if name in WEIGHT_OPS and len(args) > 1 and isinstance(args[1], torch.Tensor):
                stride = args[3] if len(args) > 3 else kwargs.get("stride", 1)
                stride = max(stride) if isinstance(stride, (tuple, list)) else stride
                w = args[1]
                if name == "linear":
                    fan_in, fan_out = int(w.shape[-1]), int(w.shape[0])
                else:
                    fan_in, fan_out = int(args[0].shape[1]), -1
                self.layers.append({"op": name, "stride": int(stride) if isinstance(stride, int) else 1,
                                    "in": fan_in, "out": fan_out})
        return func(*args, **kwargs)


def _kernel_classes(model: nn.Module) -> list[str]:
    """The names of coursekit classes among ``model``'s modules (or their base classes)."""
    found = []
    for m in model.modules():
        for klass in type(m).__mro__:
            where = klass.__module__ or ""
            if where.split(".")[0] == "coursekit" and not where.startswith("coursekit.exercises") \
                    and klass.__name__ not in found:
                found.append(klass.__name__)
    return found


def _forward(net: nn.Module, inputs: torch.Tensor, stress: bool) -> dict:
    """Run ``net`` on ``inputs`` recording its torch calls; its output's shape and range (and, when ``stress``,
    the range of a float64 copy's output with every parameter multiplied by :data:`STRESS`)."""
    calls = _Calls()
    try:
        with calls:
            out = net(inputs)
    except Exception as err:  # the learner's network failed: a finding, not a crash of the check
        return {"error": f"{type(err).__name__}: {err}"[:300], "ops": calls.ops, "layers": calls.layers}
    found = {"ops": calls.ops, "layers": calls.layers, "type": type(out).__name__}
    if not isinstance(out, torch.Tensor) or not out.is_floating_point() or out.numel() == 0:
        return found
    out = out.detach()
    found.update(shape=list(out.shape), finite=bool(torch.isfinite(out).all()),
                 min=float(out.min()), max=float(out.max()))
    if stress:
        try:
            heavy = copy.deepcopy(net).double()
            with torch.no_grad():
                for p in heavy.parameters():
                    p.mul_(STRESS)
                big = heavy(inputs.double())
            found["stressed"] = [float(big.min()), float(big.max())]
        except Exception as err:
            found["stressed_error"] = f"{type(err).__name__}: {err}"[:300]
    return found


def _d_inputs(batch: int) -> torch.Tensor:
    """Varied images in [-1, 1]: uniform noise, a blank page, a bright square on a blank page."""
    x = torch.rand(batch, 1, 28, 28) * 2 - 1
    x[0] = -1.0
    if batch > 2:
        x[1] = -1.0
        x[1, :, 8:20, 8:20] = 1.0
    return x


def _probe_design(nz: int, batch: int, seed: int, part: str, fn: Callable) -> dict:
    """Build ``(G, D) = fn(nz)`` and observe what ``part`` of the check needs, as plain data.

    ``part``: ``"budget"`` (parameter counts only), ``"G"`` / ``"D"`` (a training-mode forward pass of that
    network on ``batch`` inputs, with the stress test), ``"eval"`` (both networks in eval mode, batch 1).
    A probe: it runs where the function lives (the learner's kernel when grading) and returns plain data.
    """
    built = fn(nz)
    if not (isinstance(built, (tuple, list)) and len(built) == 2 and all(isinstance(m, nn.Module) for m in built)):
        return {"pair": False, "returned": type(built).__name__}
    G, D = built
    found = {"pair": True, "coursekit": _kernel_classes(G) + _kernel_classes(D),
             "params": [sum(p.numel() for p in G.parameters()), sum(p.numel() for p in D.parameters())]}
    if part == "budget":
        return found
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if part == "eval":
            with torch.no_grad():  # a few training-mode batches first, so that BatchNorm has running statistics
                for net, inputs in ((G.train(), torch.randn(8, nz)), (D.train(), _d_inputs(8))):
                    try:
                        net(inputs)
                    except Exception:
                        pass  # the eval-mode pass below reports it
            G.eval(), D.eval()
            with torch.no_grad():
                found["G"] = _forward(G, torch.randn(1, nz), stress=False)
                found["D"] = _forward(D, _d_inputs(1), stress=False)
        elif part == "G":
            G.train()
            found["G"] = _forward(G, torch.randn(batch, nz), stress=True)
        else:
            D.train()
            found["D"] = _forward(D, _d_inputs(batch), stress=True)
    return found


def _built_problem(got: dict) -> str | None:
    if not isinstance(got, dict) or got.get("pair") is not True:
        kind = got.get("returned", "?") if isinstance(got, dict) else "?"
        return with_hint(f"design_28 returned {kind}, not a pair (G, D) of modules", PAIR_HINT)
    if got.get("coursekit"):
        return with_hint(f"your networks use coursekit's {', '.join(got['coursekit'])}", COURSEKIT_HINT)
    return None


def _ran(got: dict, net: str) -> tuple[dict, str | None]:
    """The observation of ``net`` ("G" or "D"), or the message saying why there is none to judge."""
    problem = _built_problem(got)
    if problem:
        return {}, problem
    seen = got.get(net)
    if not isinstance(seen, dict):
        return {}, "no forward pass was observed"
    if "error" in seen:
        return seen, with_hint(f"{net} raised {seen['error']}", DESIGN_HINT)
    if "shape" not in seen:
        return seen, with_hint(f"{net} returned {seen.get('type', '?')}, not a floating-point tensor",
                               DESIGN_HINT)
    if seen.get("finite") is not True:
        return seen, with_hint(f"{net}'s output has NaN or infinite values", DESIGN_HINT)
    return seen, None


def _judge_g(batch: int, got: dict, expected: dict) -> str | None:
    g, problem = _ran(got, "G")
    if problem:
        return problem
    if g["shape"] != [batch, 1, 28, 28]:
        return with_hint(f"G(z) has shape {g['shape']}, expected {[batch, 1, 28, 28]}", DESIGN_HINT)
    if g["min"] < -1 - 1e-6 or g["max"] > 1 + 1e-6:
        return with_hint(f"G's outputs span [{g['min']:.3g}, {g['max']:.3g}], outside [-1, 1]", TANH_HINT)
    if "stressed" not in g:
        return with_hint(f"G failed with every parameter ×{STRESS:g} ({g.get('stressed_error', '?')})", TANH_HINT)
    low, high = g["stressed"]
    if not (-1 - 1e-6 <= low and high <= 1 + 1e-6):
        return with_hint(f"with every parameter ×{STRESS:g}, G's outputs span [{low:.3g}, {high:.3g}]: nothing "
                         "keeps them in [-1, 1]", TANH_HINT)
    if low > -0.5:
        return with_hint(f"with every parameter ×{STRESS:g}, G's outputs never go below {low:.3g}", ZERO_ONE_HINT)
    return None


def _logit_shape(shape: list, batch: int) -> bool:
    return shape in ([batch], [batch, 1])


def _judge_d(batch: int, got: dict, expected: dict) -> str | None:
    d, problem = _ran(got, "D")
    if problem:
        return problem
    if not _logit_shape(d["shape"], batch):
        return with_hint(f"D(x) has shape {d['shape']} for x of shape {[batch, 1, 28, 28]}, expected {[batch]} or "
                         f"{[batch, 1]}", DESIGN_HINT)
    sigmoids = sorted({op for op in d["ops"] if "sigmoid" in op})
    if sigmoids:
        return with_hint(f"D calls {', '.join(sigmoids)}: its outputs are probabilities", SIGMOID_HINT)
    low, high = d.get("stressed", [-1.0, 2.0])
    if 0.0 <= min(low, d["min"]) and max(high, d["max"]) <= 1.0 and d["max"] > d["min"]:
        return with_hint(f"D's outputs lie in [{d['min']:.3g}, {d['max']:.3g}], and still in [{low:.3g}, {high:.3g}] "
                         f"with every parameter ×{STRESS:g}: never outside [0, 1], like probabilities", SIGMOID_HINT)
    return None


def _guideline_problem(seen: dict, net: str, nz: int) -> str | None:
    ops, layers = seen.get("ops", []), seen.get("layers", [])
    pools = sorted({op for op in ops if POOLING in op})
    if pools:
        return with_hint(f"{net} calls {', '.join(pools)}", POOL_HINT)
    for i, layer in enumerate(layers):
        if layer["op"] != "linear":
            continue
        allowed = (i == 0 and layer["in"] == nz) if net == "G" else (i == len(layers) - 1 and layer["out"] == 1)
        if not allowed:
            return with_hint(f"{net} has a hidden linear layer ({layer['in']} -> {layer['out']} features)",
                             HIDDEN_LINEAR_HINT)
    if net == "G":
        if not any(la["op"] == "conv_transpose2d" and la["stride"] >= 2 for la in layers):
            return with_hint("G has no transposed convolution of stride 2 or more", TRANSPOSED_G_HINT)
        if "batch_norm" not in ops:
            return with_hint("G has no BatchNorm", BN_G_HINT)
        if not {"relu", "relu_"} & set(ops):
            return with_hint("G has no ReLU", RELU_G_HINT)
    else:
        if not any(la["op"] == "conv2d" and la["stride"] >= 2 for la in layers):
            return with_hint("D has no convolution of stride 2 or more", STRIDED_D_HINT)
        if not {"leaky_relu", "leaky_relu_"} & set(ops):
            return with_hint("D has no LeakyReLU", LEAKY_D_HINT)
    return None


def _judge_guidelines(net: str, nz: int, got: dict, expected: dict) -> str | None:
    seen, problem = _ran(got, net)
    if problem and "error" not in seen:
        return problem
    return _guideline_problem(seen, net, nz) or problem


def _judge_budget(got: dict, expected: dict) -> str | None:
    problem = _built_problem(got)
    if problem:
        return problem
    g, d = got["params"]
    over = [f"{name} has {n:,} parameters (budget {budget:,})"
            for name, n, budget in (("G", g, G_BUDGET), ("D", d, D_BUDGET)) if n > budget]
    return with_hint("; ".join(over), BUDGET_HINT) if over else None


def _judge_eval(got: dict, expected: dict) -> str | None:
    g, problem = _ran(got, "G")
    if problem:
        return problem
    if g["shape"] != [1, 1, 28, 28]:
        return with_hint(f"in eval mode, G(z) has shape {g['shape']} for one z, expected [1, 1, 28, 28]", DESIGN_HINT)
    d, problem = _ran(got, "D")
    if problem:
        return problem
    if not _logit_shape(d["shape"], 1):
        return with_hint(f"in eval mode, D(x) has shape {d['shape']} for one image, expected [1] or [1, 1]",
                         BATCH_OF_ONE_HINT)
    return None


def _design_cases(rng: np.random.Generator) -> list[Case]:
    draw = lambda: (int(rng.integers(16, 129)), int(rng.integers(2, 17)), int(rng.integers(0, 2**31 - 1)))
    cases = []
    for _ in range(2):
        nz, batch, seed = draw()
        cases.append(Case(f"G: z [{batch}, {nz}] -> [{batch}, 1, 28, 28] in [-1, 1] (nz = {nz})",
                          probe=partial(_probe_design, nz, batch, seed, "G"), judge=partial(_judge_g, batch)))
    nz, batch, seed = draw()
    cases.append(Case(f"D: x [{batch}, 1, 28, 28] -> logits [{batch}] or [{batch}, 1]",
                      probe=partial(_probe_design, nz, batch, seed, "D"), judge=partial(_judge_d, batch)))
    nz, batch, seed = draw()
    cases.append(Case(f"G follows the DCGAN guidelines (nz = {nz})",
                      probe=partial(_probe_design, nz, batch, seed, "G"), judge=partial(_judge_guidelines, "G", nz)))
    nz, batch, seed = draw()
    cases.append(Case("D follows the DCGAN guidelines",
                      probe=partial(_probe_design, nz, batch, seed, "D"), judge=partial(_judge_guidelines, "D", nz)))
    nz, batch, seed = draw()
    cases.append(Case(f"parameter budget: G ≤ {G_BUDGET / 1e6:g} M, D ≤ {D_BUDGET / 1e6:g} M (nz = {nz})",
                      probe=partial(_probe_design, nz, batch, seed, "budget"), judge=_judge_budget))
    nz, batch, seed = draw()
    cases.append(Case(f"eval mode, one image: G(z [1, {nz}]) and D of it (nz = {nz})",
                      probe=partial(_probe_design, nz, batch, seed, "eval"), judge=_judge_eval))
    return cases


def design_28(nz: int = 100) -> tuple[nn.Module, nn.Module]:
    """A DCGAN pair for 1×28×28 images (the reference design; 0.9 M and 0.14 M parameters at nz = 128)."""
    return _design(nz)


def _design(nz: int, ngf: int = 64, ndf: int = 64, *, start: int = 7, last_kernel: int = 4, tanh: bool = True,
            pool: bool = False, hidden_linear: bool = False, sigmoid: bool = False,
            squeeze: bool = False) -> tuple[nn.Module, nn.Module]:
    """The reference pair and, through its switches, the typical mistakes."""
    g_layers: list[nn.Module] = [
        nn.Unflatten(1, (nz, 1, 1)),  # [B, nz] -> [B, nz, 1, 1]
        nn.ConvTranspose2d(nz, 2 * ngf, start, 1, 0, bias=False),  # -> [B, 2ngf, start, start]
        nn.BatchNorm2d(2 * ngf), nn.ReLU(),
        nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False),  # -> [B, ngf, 2start, 2start]
        nn.BatchNorm2d(ngf), nn.ReLU(),
        nn.ConvTranspose2d(ngf, 1, last_kernel, 2, 1),  # kernel 4: -> [B, 1, 4start, 4start]
    ]
    if start == 4:  # the 32×32 mistake: one doubling more
        g_layers[-1:-1] = [nn.ConvTranspose2d(ngf, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU()]
    if tanh:
        g_layers.append(nn.Tanh())
    if pool:  # stride-1 convolutions, each followed by 2×2 pooling
        trunk = [nn.Conv2d(1, ndf, 3, 1, 1), nn.LeakyReLU(0.2), nn.AvgPool2d(2),  # -> [B, ndf, 14, 14]
                 nn.Conv2d(ndf, 2 * ndf, 3, 1, 1, bias=False), nn.BatchNorm2d(2 * ndf), nn.LeakyReLU(0.2),
                 nn.MaxPool2d(2)]  # -> [B, 2ndf, 7, 7]
    else:
        trunk = [nn.Conv2d(1, ndf, 4, 2, 1), nn.LeakyReLU(0.2),  # -> [B, ndf, 14, 14]
                 nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * ndf), nn.LeakyReLU(0.2)]
    if hidden_linear:  # flatten, a hidden fully connected layer, then the logit
        head = [nn.Flatten(), nn.Linear(2 * ndf * 49, 128), nn.LeakyReLU(0.2), nn.Linear(128, 1)]
    else:
        head = [nn.Conv2d(2 * ndf, 1, 7, 1, 0), nn.Flatten()]  # -> [B, 1, 1, 1] -> [B, 1]
    if sigmoid:
        head.append(nn.Sigmoid())
    if squeeze:
        head.append(_Squeeze())
    return nn.Sequential(*g_layers), nn.Sequential(*trunk, *head)


class _Squeeze(nn.Module):
    """``x.squeeze()``: the batch-of-one mistake (it drops every dimension of size 1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.squeeze()


DESIGN_MISTAKES = (
    Mistake(POOL_HINT, partial(_design, pool=True)),
    Mistake(DESIGN_HINT, partial(_design, start=4)),  # 4 -> 8 -> 16 -> 32
    Mistake(DESIGN_HINT, partial(_design, last_kernel=3)),  # 7 -> 14 -> 27
    Mistake(TANH_HINT, partial(_design, tanh=False)),
    Mistake(HIDDEN_LINEAR_HINT, partial(_design, hidden_linear=True)),
    Mistake(SIGMOID_HINT, partial(_design, sigmoid=True)),
    Mistake(BUDGET_HINT, partial(_design, ngf=256, ndf=256)),
    Mistake(BATCH_OF_ONE_HINT, partial(_design, squeeze=True)),
)


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
    Exercise(
        key="04.design_28",
        function="design_28",
        title="Design a DCGAN for 28×28",
        points=3,
        reference=design_28,
        cases=_design_cases,
        hint=DESIGN_HINT,
        more_hints=DESIGN_MORE_HINTS,
        mistakes=DESIGN_MISTAKES,
    ),
)

# What a learner's kernel needs of this module while it is graded (the probes and their helpers);
# coursekit.grading.harness.seal replaces every other function in it there.
KERNEL_SIDE: tuple[str, ...] = ('_probe_init', '_layers', '_probe_design', '_kernel_classes', '_forward',
                                 '_d_inputs')
