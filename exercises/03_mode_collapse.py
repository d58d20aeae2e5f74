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
# # Lesson 3 exercises: measuring mode collapse, packing, minibatch std
#
# Three small functions that lesson 3 relies on. Write your code where it says
# `# YOUR CODE HERE`, run the cell, then run the check cell below it: it tests your
# function on randomised cases and prints ✅ or ❌ per case, with a hint when
# something is off. The cell after each check uses your function if it passes and
# coursekit's reference otherwise (it says so), so the notebook always runs to the end.
#
# 1. `count_modes`: the mode-collapse measures of VEEGAN (Srivastava et al. 2017) and
#    PacGAN (Lin et al. 2018): modes captured, % high-quality samples, reverse KL.
# 2. `pack`: PacGAN's packing, so that the discriminator judges m samples at once.
# 3. `minibatch_std`: the minibatch standard deviation feature of Karras et al. (2018).

# %%
import math

import torch

from coursekit.check import check, solution_or_reference
from coursekit.data import (
    grid_centers,
    ring_centers,
    sample_grid,
    sample_mixture,
    sample_ring,
)
from coursekit.runtime import start_lesson

torch.set_num_threads(1)  # tiny tensors: one thread is faster than several
device = start_lesson(seed=0)
g = torch.Generator().manual_seed(0)  # every sample below comes from this stream

# %% [markdown]
# ## 1. Counting modes
#
# A mixture of M Gaussians with centres $c_1..c_M$ and component std $\sigma$. Following
# VEEGAN (Sec. 5.1) and PacGAN (Sec. 5), from N generated samples:
#
# - a sample is **high quality** when its distance to the *nearest* centre is below
#   $3\sigma$ (`threshold * std`);
# - a mode is **captured** when it is the nearest centre of at least one high-quality sample
#   (the papers' count; lesson 3 shows why it misleads and counts a mode only when it holds
#   a fifth of its fair share, `coursekit.metrics.mode_coverage(..., min_fraction=0.2)`:
#   one more comparison once you have the histogram);
# - $q$ is the histogram over the M modes of the *high-quality* samples (it sums to 1), and the
#   **reverse KL** is $\mathrm{KL}(q\,\|\,u) = \sum_j q_j \log(q_j / (1/M)) = \sum_j q_j \log(M q_j)$,
#   with the generated distribution first and $0 \log 0 = 0$: 0 when the modes are hit
#   equally, $\log M$ when one mode gets everything. With no high-quality sample at all,
#   return $\log M$.
#
# **Contract.** `count_modes(samples [N, 2], centers [M, 2], std, threshold=3.0)` returns
# `{"modes": int, "high_quality": float in [0, 1], "reverse_kl": float}`.

# %%
def count_modes(samples: torch.Tensor, centers: torch.Tensor, std: float, threshold: float = 3.0) -> dict:
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check("03.count_modes", count_modes)

# %% [markdown]
# Before measuring a GAN, measure the data itself, where the answers are known in closed
# form. For one 2-D Gaussian the distance to its centre in units of $\sigma$ follows a
# Rayleigh law, so $P(\text{distance} < 3\sigma) = 1 - e^{-9/2} \approx 98.9\,\%$: even real
# data is not 100 % "high quality". The modes are equally likely, so the reverse KL is
# only sampling noise, about $(M-1)/(2N)$.
#
# Then the same data with some modes removed (a check of the measure on inputs whose
# answer we know; lesson 3 trains real GANs).

# %%
fn = solution_or_reference("03.count_modes", count_modes)
N = 2500
print(f"closed form: high quality of real data = 1 - exp(-4.5) = {1 - math.exp(-4.5):.4f}")
for name, centers, std, x in [("ring of 8", ring_centers(), 0.02, sample_ring(N, generator=g)),
                              ("grid of 25", grid_centers(), 0.05, sample_grid(N, generator=g))]:
    out = fn(x, centers, std)
    print(f"real {name:<10}: modes {out['modes']:2d}, high quality {out['high_quality']:.4f}, "
          f"reverse KL {out['reverse_kl']:.4f} (noise level (M-1)/(2N) = {(len(centers) - 1) / (2 * N):.4f})")
for kept in (6, 3, 1):
    x = sample_mixture(N, ring_centers()[:kept], 0.02, generator=g)
    out = fn(x, ring_centers(), 0.02)
    print(f"ring data from only {kept} of its 8 modes: modes {out['modes']}, reverse KL {out['reverse_kl']:.3f} "
          f"(log(8/{kept}) = {math.log(8 / kept):.3f})")


# %% [markdown]
# With $k$ of the $M$ modes hit equally, $q = 1/k$ on $k$ modes and the reverse KL is
# $\log(M/k)$: the printout should agree up to sampling noise.
#
# ## 2. PacGAN packing
#
# PacGAN (Lin et al. 2018, Sec. 3) keeps the discriminator and changes only its input:
# D judges $m$ samples at once, concatenated, all real or all generated. A generator that
# produces the same point again and again then gives packs of near-identical points,
# which real packs almost never are: lack of diversity becomes visible to D.
#
# **Contract.** `pack(x, m)` turns a batch `[B, F]` into `[B/m, m·F]`: packed row $i$ holds
# sample $i m$'s features, then sample $i m + 1$'s, …, then sample $i m + m - 1$'s. Images
# `[B, C, H, W]` become `[B/m, m·C, H, W]` (stacked along the channels). `m = 1` changes
# nothing; a batch size that is not a multiple of $m$ raises a `ValueError`.

# %%
def pack(x: torch.Tensor, m: int) -> torch.Tensor:
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check("03.pack", pack)

# %% [markdown]
# Label the samples so that the packing can be read off: sample $i$ is the point $(10i, 10i+1)$.

# %%
fn = solution_or_reference("03.pack", pack)
x = torch.stack([10 * torch.arange(6.0), 10 * torch.arange(6.0) + 1], dim=1)  # [6, 2]
print("batch [6, 2]:\n", x)
print("pack(x, 2) -> [3, 4]:\n", fn(x, 2))
print("pack(x, 3) -> [2, 6]:\n", fn(x, 3))

# %% [markdown]
# In a packed batch of real data the $m$ points of a pack come from independent modes:
# with 8 equally likely modes, a pack of 2 repeats a mode with probability $1/8$. Measured
# on packs of real ring data (the nearest centre of each point):

# %%
x = sample_ring(4000, generator=g)
mode = torch.cdist(x, ring_centers()).argmin(dim=1).float()[:, None]  # [N, 1]: each sample's mode
pairs = fn(mode, 2)                                                     # [N/2, 2]
print(f"packs of 2 real points from the same mode: {float((pairs[:, 0] == pairs[:, 1]).float().mean()):.3f} "
      f"(1/8 = {1 / 8:.3f})")


# %% [markdown]
# ## 3. Minibatch standard deviation
#
# Karras et al. (2018, Sec. 3) give D one extra feature that describes the whole batch:
# the standard deviation of every feature over the batch, averaged into one number $s$,
# appended to every sample. A generator that collapses makes $s$ small, and D can use it.
#
# **Contract.** `minibatch_std(x)` takes `[B, F]` (or `[B, C, H, W]`) and returns `[B, F+1]`
# (or `[B, C+1, H, W]`): for each feature the std **over the batch**, with the *biased*
# variance (divide by $B$) and $\sqrt{\mathrm{Var} + 10^{-8}}$; $s$ is the mean of those stds,
# appended as the last feature (a constant map for images).

# %%
def minibatch_std(x: torch.Tensor) -> torch.Tensor:
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check("03.minibatch_std", minibatch_std)

# %% [markdown]
# On the ring, the feature has a closed form for a large batch: with the angle uniform
# over 8 symmetric points, each coordinate has variance $r^2/2 + \sigma^2$, so
# $s \to \sqrt{2 + 0.02^2} \approx 1.414$ for $r = 2$. A batch from a single mode gives
# $s \approx \sigma = 0.02$: two numbers a discriminator can tell apart at a glance.

# %%
fn = solution_or_reference("03.minibatch_std", minibatch_std)
for batch in (8, 64, 4096):
    print(f"batch {batch:5d}: s(real ring) = {float(fn(sample_ring(batch, generator=g))[0, -1]):.4f}, "
          f"s(one mode) = {float(fn(sample_mixture(batch, ring_centers()[:1], 0.02, generator=g))[0, -1]):.4f}")
print(f"closed form for a large batch: sqrt(2 + 0.02²) = {math.sqrt(2 + 0.02 ** 2):.4f} and 0.02")

# %% [markdown]
# With a small batch the biased estimate is a little low on average (the factor
# $\sqrt{(B-1)/B}$ on each variance), which does not matter to D: what matters is that real
# batches and collapsed batches give very different numbers.
#
# Lesson 3 trains discriminators with `pack` (`MLP2DDiscriminator(pack=m)`) and with
# minibatch std (`minibatch_std=True`) and measures the generators with `count_modes`'s
# twin, `coursekit.metrics.mode_coverage`, whose `"modes_any"` is your `"modes"` and whose
# `"modes"` asks each mode for at least 20 % of its fair share of high-quality samples.
