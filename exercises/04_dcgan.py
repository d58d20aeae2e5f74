# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 4 exercises: DCGAN shapes, initialisation and design
#
# Write your code where it says `# YOUR CODE HERE`, run the cell, then run the check
# cell below it: it tests your function on randomised cases and prints ✅ or ❌ per
# case, with a hint when something is off. The cell after each check uses your
# function if it passes and coursekit's reference otherwise (it says so).

# %%
import matplotlib.pyplot as plt
import torch
from torch import nn

from coursekit.check import check, solution_or_reference
from coursekit.conv_arithmetic import format_trace, trace_shapes
from coursekit.models import DCGANDiscriminator, DCGANGenerator, count_parameters
from coursekit.runtime import start_lesson

torch.set_num_threads(1)
SEED = 0
device = start_lesson(seed=SEED)

# %% [markdown]
# ## 1. The output size of a convolution
#
# A convolution with kernel $k$, stride $s$, padding $p$ and dilation $d$ slides a window
# that spans $d(k-1)+1$ pixels over an input padded to $n + 2p$ pixels, one step of $s$
# at a time. The number of positions is
#
# $$n_{out} = \left\lfloor \frac{n + 2p - d(k-1) - 1}{s} \right\rfloor + 1$$
#
# (the formula of PyTorch's `nn.Conv2d` documentation; Dumoulin & Visin 2016).
#
# **Contract.** `conv_out(size, kernel, stride=1, padding=0, dilation=1)` returns the
# output size (an `int`) along one spatial dimension.

# %%
def conv_out(size, kernel, stride=1, padding=0, dilation=1):
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check("04.conv_out", conv_out)

# %% [markdown]
# **The DCGAN trap.** A popular 28×28 discriminator stacks four 3×3 convolutions with
# stride 2 and padding 1, flattens, and ends in `Linear(128, 1)`. Follow the size:

# %%
fn = solution_or_reference("04.conv_out", conv_out)
size, sizes = 28, [28]
for layer in range(4):
    size = fn(size, 3, stride=2, padding=1)
    sizes.append(size)
print(" -> ".join(map(str, sizes)))
print(f"after flattening 128 channels of {size}×{size}: {128 * size * size} features, not 128")

# %% [markdown]
# 7 is odd: $\lfloor (7 + 2 - 2 - 1)/2 \rfloor + 1 = 4$, and $\lfloor(4+2-2-1)/2\rfloor+1 = 2$.
# Halving stops at 2, never 1, so the flattened vector has $128 \cdot 2 \cdot 2 = 512$
# entries and `Linear(128, 1)` raises a shape error. `trace_shapes` (forward hooks on
# every layer) shows where:

# %%
broken = nn.Sequential(
    nn.Conv2d(1, 16, 3, 2, 1), nn.LeakyReLU(0.2),
    nn.Conv2d(16, 32, 3, 2, 1), nn.LeakyReLU(0.2),
    nn.Conv2d(32, 64, 3, 2, 1), nn.LeakyReLU(0.2),
    nn.Conv2d(64, 128, 3, 2, 1), nn.LeakyReLU(0.2),
    nn.Flatten(), nn.Linear(128, 1),
)
try:
    trace_shapes(broken, (2, 1, 28, 28))
except RuntimeError as err:
    print("RuntimeError:", err)

# %% [markdown]
# ## 2. The output size of a transposed convolution
#
# A transposed convolution is the gradient of a convolution with respect to its input:
# it maps an $n_{out}$-sized map back to $n$. Its output size inverts the formula above,
# with `output_padding` choosing among the sizes that the floor made indistinguishable:
#
# $$n_{out} = (n - 1)\,s - 2p + d(k-1) + \text{output\_padding} + 1$$
#
# **Contract.** `conv_transpose_out(size, kernel, stride=1, padding=0, output_padding=0,
# dilation=1)` returns the output size (an `int`) of `nn.ConvTranspose2d` along one
# dimension.

# %%
def conv_transpose_out(size, kernel, stride=1, padding=0, output_padding=0, dilation=1):
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check("04.conv_transpose_out", conv_transpose_out)

# %% [markdown]
# The DCGAN generator of this course: a 1×1 "image" of 100 channels, a transposed
# convolution with kernel 7 (stride 1, no padding) to 7×7, then two doublings with
# kernel 4, stride 2, padding 1. Your function predicts the sizes; `trace_shapes` shows
# the real ones.

# %%
fn = solution_or_reference("04.conv_transpose_out", conv_transpose_out)
predicted = [1]
for kernel, stride, padding in ((7, 1, 0), (4, 2, 1), (4, 2, 1)):
    predicted.append(fn(predicted[-1], kernel, stride, padding))
print("predicted:", " -> ".join(map(str, predicted)))
trace = trace_shapes(DCGANGenerator(nz=100, ngf=64), (2, 100))
print(format_trace([t for t in trace if t[1] == "ConvTranspose2d"], (2, 100)))


# %% [markdown]
# ## 3. DCGAN initialisation
#
# Radford et al. (2016, Sec. 4): "All weights were initialized from a zero-centered
# Normal distribution with standard deviation 0.02." The usual reading (their code and
# PyTorch's DCGAN example): every convolution, transposed convolution and linear weight
# ~ $\mathcal N(0, 0.02^2)$ with zero biases; every BatchNorm scale ~ $\mathcal N(1, 0.02^2)$
# with zero shift.
#
# **Contract.** `dcgan_init(module)` re-initialises, in place, every `nn.Conv2d`,
# `nn.ConvTranspose2d` and `nn.Linear` (weights $\mathcal N(0, 0.02^2)$, biases 0 where
# they exist) and every `nn.BatchNorm1d`/`nn.BatchNorm2d` (weight $\mathcal N(1, 0.02^2)$,
# bias 0) inside `module`, and returns `module`. The check cannot compare random draws,
# so it checks their statistics on randomly sized models.

# %%
def dcgan_init(module):
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check("04.dcgan_init", dcgan_init)

# %% [markdown]
# PyTorch's default initialisation (Kaiming-uniform, scaled by the fan-in) against the
# DCGAN one, on the course's discriminator: the default's spread depends on each layer's
# size; DCGAN's is 0.02 everywhere.

# %%
fn = solution_or_reference("04.dcgan_init", dcgan_init)
torch.manual_seed(SEED)
default = DCGANDiscriminator(ndf=64)
for m in default.modules():  # DCGANDiscriminator initialises itself: undo that to see PyTorch's default
    if isinstance(m, (nn.Conv2d, nn.BatchNorm2d)):
        m.reset_parameters()
dcgan = fn(DCGANDiscriminator(ndf=64))
print(f"{'layer':<10} {'default std':>12} {'DCGAN std':>10}")
for (name, a), (_, b) in zip(default.named_modules(), dcgan.named_modules()):
    if isinstance(a, nn.Conv2d):
        print(f"{name:<10} {a.weight.std().item():12.4f} {b.weight.std().item():10.4f}")


# %% [markdown]
# ## 4. Design: a DCGAN for 28×28
#
# Now put the arithmetic to work: design a generator and a discriminator for 28×28 MNIST
# yourself. The guidelines of Radford et al. (2016, Sec. 3):
#
# - replace pooling layers with strided convolutions in the discriminator and
#   fractionally-strided (transposed) convolutions in the generator;
# - use BatchNorm in the generator;
# - remove fully connected hidden layers (the projection of $z$ that G's first layer makes,
#   and D's single output after flattening its last convolution, are not hidden layers);
# - use ReLU in the generator for every layer except the output, which uses tanh;
# - use LeakyReLU in the discriminator.
#
# **Contract.** `design_28(nz)` returns a pair `(G, D)` of `nn.Module`s built from `torch.nn`
# layers (not coursekit's models):
#
# - `G` maps $z$ of shape `[B, nz]` to images `[B, 1, 28, 28]` in $[-1, 1]$ (the range of the
#   training images);
# - `D` maps images `[B, 1, 28, 28]` to **logits** of shape `[B]` or `[B, 1]`, with no sigmoid
#   (the losses of this course apply it);
# - **parameter budget:** G has at most 1,500,000 parameters and D at most 1,000,000
#   (`count_parameters` counts them);
# - both work for any batch size, also a single image in eval mode.
#
# There are many right answers, so the check compares nothing with a reference: it builds
# your pair for random `nz`, runs it on random batch sizes and random $z$, and checks the
# shapes; that G's outputs stay in $[-1, 1]$ and reach both signs even with every parameter
# multiplied by 100 (small outputs at initialisation are not enough: something must bound
# them); that D's outputs are not confined to $[0, 1]$ like probabilities; the guidelines,
# from the torch functions each forward pass calls (pooling, linear layers other than G's
# first and D's last, strided convolutions, BatchNorm, ReLU, LeakyReLU); and the budget.
# Initialisation is not checked: apply your `dcgan_init` before training.

# %%
def design_28(nz):
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check("04.design_28", design_28)

# %% [markdown]
# The pair layer by layer, its parameter counts against the budget, and one pass of
# 16 samples of the untrained G through D: G's images are in $[-1, 1]$, D gives one
# logit per image.

# %%
fn = solution_or_reference("04.design_28", design_28)
nz = 64
torch.manual_seed(SEED)
G, D = fn(nz)
print(format_trace(trace_shapes(G, (2, nz)), (2, nz)))
print(format_trace(trace_shapes(D, (2, 1, 28, 28)), (2, 1, 28, 28)))
print(f"parameters: G {count_parameters(G):,} (budget 1,500,000), D {count_parameters(D):,} (budget 1,000,000)")
with torch.no_grad():
    images = G(torch.randn(16, nz))
    logits = D(images)
print(f"images {list(images.shape)} in [{images.min():.3f}, {images.max():.3f}]; logits {list(logits.shape)}")
