"""A layer-shape calculator: output sizes of (transposed) convolutions, and a shape trace of a model.

The formulas are those of the PyTorch documentation of ``nn.Conv2d`` and
``nn.ConvTranspose2d`` (Dumoulin & Visin 2016, "A guide to convolution
arithmetic for deep learning", Relationships 6 and 14), per spatial dimension:

    conv:            out = floor((size + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1
    conv-transpose:  out = (size − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1

A DCGAN is a pyramid of these. The classic bug of lesson 4: four 3×3 stride-2
convolutions with padding 1 take 28×28 to 14, 7, 4 and 2, not to 1, so
``Linear(128, 1)`` after flattening a ``[B, 128, 2, 2]`` map gets 512 inputs and
crashes. :func:`trace_shapes` shows every layer's output shape.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from coursekit.runtime import eval_mode, module_device

__all__ = ["conv_out", "conv_transpose_out", "trace_shapes", "format_trace"]


def _check_ints(**values: int) -> None:
    for name, v in values.items():
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"{name} must be an int, got {v!r} ({type(v).__name__})")


def conv_out(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Output size of ``nn.Conv2d`` along one spatial dimension.

    ``floor((size + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1``
    (Dumoulin & Visin 2016, Relationship 6 with dilation). Raises a
    ``ValueError`` when the (padded) input is smaller than the dilated kernel.
    """
    _check_ints(size=size, kernel=kernel, stride=stride, padding=padding, dilation=dilation)
    if size < 1 or kernel < 1 or stride < 1 or dilation < 1 or padding < 0:
        raise ValueError(
            f"need size, kernel, stride, dilation >= 1 and padding >= 0; got size={size}, kernel={kernel}, "
            f"stride={stride}, padding={padding}, dilation={dilation}"
        )
    span = dilation * (kernel - 1) + 1  # the receptive field of one output
    if size + 2 * padding < span:
        raise ValueError(
            f"the padded input ({size} + 2·{padding} = {size + 2 * padding}) is smaller than the dilated kernel "
            f"({span}): nn.Conv2d would fail. Use a smaller kernel or more padding."
        )
    return (size + 2 * padding - span) // stride + 1


def conv_transpose_out(
    size: int, kernel: int, stride: int = 1, padding: int = 0, output_padding: int = 0, dilation: int = 1
) -> int:
    """Output size of ``nn.ConvTranspose2d`` along one spatial dimension.

    ``(size − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1``
    (Dumoulin & Visin 2016, Relationship 14; the inverse of :func:`conv_out`
    up to the rounding that ``output_padding`` resolves). PyTorch requires
    ``output_padding < stride`` or ``< dilation``; so does this function.
    """
    _check_ints(size=size, kernel=kernel, stride=stride, padding=padding, output_padding=output_padding,
                dilation=dilation)
    if size < 1 or kernel < 1 or stride < 1 or dilation < 1 or padding < 0 or output_padding < 0:
        raise ValueError(
            f"need size, kernel, stride, dilation >= 1 and padding, output_padding >= 0; got size={size}, "
            f"kernel={kernel}, stride={stride}, padding={padding}, output_padding={output_padding}, dilation={dilation}"
        )
    if output_padding >= max(stride, dilation):
        raise ValueError(
            f"output_padding ({output_padding}) must be smaller than stride ({stride}) or dilation ({dilation}), "
            "as nn.ConvTranspose2d requires"
        )
    out = (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    if out < 1:
        raise ValueError(f"the output size would be {out}: too much padding ({padding}) for this input and kernel")
    return out


def trace_shapes(model: nn.Module, input_shape: Sequence[int]) -> list[tuple[str, str, tuple[int, ...]]]:
    """Run ``model`` on zeros of ``input_shape`` and list ``(name, layer type, output shape)`` per leaf layer.

    Uses forward hooks, in call order, under ``torch.no_grad()`` and eval mode
    (the model's train/eval mode is restored afterwards). If the forward pass
    crashes (e.g. a ``Linear`` that gets the wrong number of features), the
    layers that ran are kept and the error is re-raised with the trace so far
    appended to its message, so the shape that broke it is visible.
    ``input_shape`` includes the batch dimension, e.g. ``(2, 1, 28, 28)``.
    """
    shape = tuple(int(s) for s in input_shape)
    if len(shape) < 2 or min(shape) < 1:
        raise ValueError(f"input_shape must include the batch dimension, e.g. (2, 1, 28, 28); got {tuple(input_shape)}")
    trace: list[tuple[str, str, tuple[int, ...]]] = []

    def hook(name: str):
        def record(module: nn.Module, inputs, output) -> None:
            if isinstance(output, torch.Tensor):
                trace.append((name, type(module).__name__, tuple(output.shape)))
        return record

    handles = [m.register_forward_hook(hook(name)) for name, m in model.named_modules()
               if name and not any(True for _ in m.children())]
    x = torch.zeros(shape, device=module_device(model))
    try:
        with eval_mode(model), torch.no_grad():
            model(x)
    except RuntimeError as err:
        raise RuntimeError(f"{err}\nshapes until the crash:\n{format_trace(trace, shape)}") from err
    finally:
        for h in handles:
            h.remove()
    return trace


def format_trace(trace: Sequence[tuple[str, str, tuple[int, ...]]], input_shape: Sequence[int] | None = None) -> str:
    """A table of a :func:`trace_shapes` result, one line per layer."""
    lines = [f"{'input':>10}  {'':<18} {list(input_shape)}"] if input_shape is not None else []
    lines += [f"{name:>10}  {kind:<18} {list(shape)}" for name, kind, shape in trace]
    return "\n".join(lines)
