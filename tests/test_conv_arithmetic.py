"""The shape calculator against real nn.Conv2d / nn.ConvTranspose2d outputs."""
import itertools

import numpy as np
import pytest
import torch
from torch import nn

from coursekit.conv_arithmetic import conv_out, conv_transpose_out, format_trace, trace_shapes
from coursekit.models import DCGANDiscriminator, DCGANGenerator


def _conv_configs():
    rng = np.random.default_rng(0)
    out = []
    while len(out) < 150:
        size, k, s, p, d = (int(rng.integers(1, 40)), int(rng.integers(1, 8)), int(rng.integers(1, 5)),
                            int(rng.integers(0, 4)), int(rng.integers(1, 4)))
        if size + 2 * p >= d * (k - 1) + 1:
            out.append((size, k, s, p, d))
    return out


@pytest.mark.parametrize("size,kernel,stride,padding,dilation", _conv_configs())
def test_conv_out_matches_nn_conv2d(size, kernel, stride, padding, dilation):
    conv = nn.Conv2d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation)
    with torch.no_grad():
        h = conv(torch.zeros(1, 1, size, size + 3)).shape
    assert conv_out(size, kernel, stride, padding, dilation) == h[2]
    assert conv_out(size + 3, kernel, stride, padding, dilation) == h[3]


def _transpose_configs():
    rng = np.random.default_rng(1)
    out = []
    while len(out) < 150:
        size, k, s, p, d = (int(rng.integers(1, 20)), int(rng.integers(1, 8)), int(rng.integers(1, 5)),
                            int(rng.integers(0, 4)), int(rng.integers(1, 3)))
        op = int(rng.integers(0, max(s, d)))
        if (size - 1) * s - 2 * p + d * (k - 1) + op + 1 >= 1:
            out.append((size, k, s, p, op, d))
    return out


@pytest.mark.parametrize("size,kernel,stride,padding,output_padding,dilation", _transpose_configs())
def test_conv_transpose_out_matches_nn_conv_transpose2d(size, kernel, stride, padding, output_padding, dilation):
    conv = nn.ConvTranspose2d(1, 1, kernel, stride=stride, padding=padding, output_padding=output_padding,
                              dilation=dilation)
    with torch.no_grad():
        h = conv(torch.zeros(1, 1, size, size)).shape
    assert conv_transpose_out(size, kernel, stride, padding, output_padding, dilation) == h[2]


def test_transpose_inverts_conv_for_the_dcgan_layers():
    for size in (7, 14, 16, 32):
        assert conv_out(conv_transpose_out(size, 4, 2, 1), 4, 2, 1) == size
        assert conv_transpose_out(conv_out(2 * size, 4, 2, 1), 4, 2, 1) == 2 * size


def test_four_3x3_stride2_convs_on_28_end_at_2():
    sizes = [28]
    for _ in range(4):
        sizes.append(conv_out(sizes[-1], 3, 2, 1))
    assert sizes == [28, 14, 7, 4, 2]


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="smaller than the dilated kernel"):
        conv_out(2, 5)
    with pytest.raises(ValueError, match="output_padding"):
        conv_transpose_out(4, 4, 2, 1, output_padding=2)
    with pytest.raises(ValueError, match="must be an int"):
        conv_out(28.0, 3)
    with pytest.raises(ValueError, match=">= 1"):
        conv_out(28, 3, stride=0)
    for size, k, s, p in itertools.product([1, 3], [1, 3], [1, 2], [0, 1]):
        if size + 2 * p >= k:
            assert conv_out(size, k, s, p) >= 1


def _broken_discriminator() -> nn.Sequential:
    layers, c = [], 1
    for out in (16, 32, 64, 128):
        layers += [nn.Conv2d(c, out, 3, 2, 1), nn.LeakyReLU(0.2)]
        c = out
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(128, 1))


def test_trace_shapes_lists_every_leaf_layer_in_order():
    model = nn.Sequential(nn.Conv2d(1, 8, 4, 2, 1), nn.ReLU(), nn.Sequential(nn.Conv2d(8, 4, 3)), nn.Flatten())
    trace = trace_shapes(model, (2, 1, 28, 28))
    assert [t[0] for t in trace] == ["0", "1", "2.0", "3"]
    assert [t[1] for t in trace] == ["Conv2d", "ReLU", "Conv2d", "Flatten"]
    assert [t[2] for t in trace] == [(2, 8, 14, 14), (2, 8, 14, 14), (2, 4, 12, 12), (2, 4 * 12 * 12)]
    assert "Conv2d" in format_trace(trace, (2, 1, 28, 28))


def test_trace_shapes_matches_the_calculator_and_restores_mode():
    model = _broken_discriminator()[:-2]  # the convolutions only
    model.train()
    trace = trace_shapes(model, (3, 1, 28, 28))
    assert model.training
    assert [t[2][2] for t in trace if t[1] == "Conv2d"] == [14, 7, 4, 2]


def test_trace_shapes_shows_where_the_broken_dcgan_crashes():
    with pytest.raises(RuntimeError) as err:
        trace_shapes(_broken_discriminator(), (2, 1, 28, 28))
    message = str(err.value)
    assert "[2, 512]" in message  # the flattened 128·2·2 features reaching Linear(128, 1)
    assert "[2, 128, 2, 2]" in message


def test_coursekit_dcgan_shapes():
    d = trace_shapes(DCGANDiscriminator(ndf=8), (2, 1, 28, 28))
    convs = [shape for _, kind, shape in d if kind == "Conv2d"]
    assert convs == [(2, 8, 14, 14), (2, 16, 7, 7), (2, 1, 1, 1)]
    g = trace_shapes(DCGANGenerator(nz=10, ngf=8), (2, 10))
    transposed = [shape for _, kind, shape in g if kind == "ConvTranspose2d"]
    assert transposed == [(2, 16, 7, 7), (2, 8, 14, 14), (2, 1, 28, 28)]
