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
# # Lesson 8 exercises: IS, FID, KID, precision and recall, FID∞
#
# Six functions behind every GAN leaderboard. Write your code where it says
# `# YOUR CODE HERE`, run the cell, then run the check cell below it: it tests your
# function on randomised cases and prints PASS ✅ or FAIL ❌ per case, with a hint when
# something is off (a more specific one each time the check fails again). The cell
# after each check uses your function if it passes and coursekit's reference otherwise
# (it says so), so the notebook always runs to the end.
#
# The demonstrations use the features of the course's MNIST classifier (128-d) and its
# class probabilities, on real digits. Logs are natural.

# %%
import math

import numpy as np
import scipy.linalg
import torch

from coursekit.check import check, solution_or_reference, whose
from coursekit.data import load_mnist
from coursekit.features import mnist_features
from coursekit.runtime import start_lesson

torch.set_num_threads(1)
device = start_lesson(seed=0)

x_train, y_train = load_mnist(train=True)
x_test, y_test = load_mnist(train=False)
x_test, y_test = x_test[:2000], y_test[:2000]  # enough for the demonstrations, fast with the full data set too
f_train, p_train = mnist_features(x_train[:2000], progress=False)
f_test, p_test = mnist_features(x_test, progress=False)
f_train, f_test, p_test = f_train.double(), f_test.double(), p_test.double()
print(f"features: train {tuple(f_train.shape)}, held-out {tuple(f_test.shape)}")

# %% [markdown]
# ## 1. The Inception Score
#
# $\mathrm{IS} = \exp\big(\mathbb E_x\,\mathrm{KL}(p(y\mid x)\,\|\,p(y))\big)$ with
# $p(y) = \mathbb E_x\,p(y\mid x)$ (Salimans et al. 2016, Sec. 4), computed on `splits`
# parts of the samples and reported as mean ± std over the parts.
#
# **Contract.** `inception_score(probs, splits)` takes class probabilities `[N, C]`
# (float64 tensor, rows sum to 1, entries may be exactly 0) and an integer `splits`.
# Split `i` is rows `i*N//splits` to `(i+1)*N//splits`; each split uses its **own**
# marginal $p(y)$ (the mean of its rows). Return `(mean, std)` of the per-split scores as
# Python floats, with the population std (`np.std`). Use $0\log 0 = 0$
# (`torch.xlogy(a, b)` computes $a\log b$ that way).

# %%
def inception_score(probs: torch.Tensor, splits: int = 10) -> tuple[float, float]:
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check("08.inception_score", inception_score)

# %% [markdown]
# On real digits, and on ten sharp digits repeated: IS prefers the second.

# %%
fn = solution_or_reference("08.inception_score", inception_score)
sharpest = [int(torch.nonzero(y_test == c).flatten()[p_test[y_test == c, c].argmax()]) for c in range(10)]
_, p_ten = mnist_features(x_test[sharpest].repeat(100, 1, 1, 1), progress=False)
m, s = fn(p_test, 10)
print(f"real held-out digits ({len(p_test)}):        IS = {m:.3f} ± {s:.3f}")
m, s = fn(p_ten.double(), 10)
print(f"10 sharp digits repeated 100 times: IS = {m:.3f} ± {s:.3f}")

# %% [markdown]
# ## 2. The Fréchet distance between two 1-D Gaussians
#
# FID is the squared Fréchet distance $\lVert\mu_1-\mu_2\rVert^2 + \operatorname{tr}\Sigma_1 +
# \operatorname{tr}\Sigma_2 - 2\operatorname{tr}(\Sigma_1\Sigma_2)^{1/2}$. Write it for
# $d = 1$ first, by hand.
#
# **Contract.** `frechet_distance_1d(mu1, s1, mu2, s2)` takes the means and the
# **standard deviations** of $N(\mu_1, s_1^2)$ and $N(\mu_2, s_2^2)$ (floats) and returns
# the squared Fréchet distance as a float.

# %%
def frechet_distance_1d(mu1: float, s1: float, mu2: float, s2: float) -> float:
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check("08.frechet_distance_1d", frechet_distance_1d)

# %% [markdown]
# Widening one Gaussian costs as much as moving it: $N(0,1)$ vs $N(2,1)$ and $N(0,1)$ vs
# $N(0,3^2)$ are at the same distance.

# %%
fn = solution_or_reference("08.frechet_distance_1d", frechet_distance_1d)
print(f"N(0,1) vs N(2,1):  {fn(0.0, 1.0, 2.0, 1.0):.3f}")
print(f"N(0,1) vs N(0,9):  {fn(0.0, 1.0, 0.0, 3.0):.3f}")

# %% [markdown]
# ## 3. The Fréchet distance in d dimensions
#
# **Contract.** `frechet_distance(mu1, sigma1, mu2, sigma2)` takes NumPy float64 arrays
# `mu [d]` and symmetric positive semi-definite `sigma [d, d]` (possibly singular) and
# returns $\lVert\mu_1-\mu_2\rVert^2 + \operatorname{tr}\Sigma_1 + \operatorname{tr}\Sigma_2
# - 2\operatorname{tr}(\Sigma_1\Sigma_2)^{1/2}$ as a float.
#
# For the last term, `scipy.linalg.sqrtm(sigma1 @ sigma2)` (take the real part of its
# trace) works; so does the faster symmetric route: the eigenvalues of
# $\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2}$ (symmetric, PSD, same eigenvalues as
# $\Sigma_1\Sigma_2$) with `np.linalg.eigh` / `eigvalsh`. Beware: `eigvalsh(sigma1 @ sigma2)`
# is wrong, because the product is not symmetric.

# %%
def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check("08.frechet_distance", frechet_distance)

# %% [markdown]
# Your FID of held-out digits against training digits, beside pytorch-fid's on the same
# statistics:

# %%
import warnings

from pytorch_fid.fid_score import calculate_frechet_distance

fn = solution_or_reference("08.frechet_distance", frechet_distance)
a, b = f_test.numpy(), f_train.numpy()
stats = (a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
yours = fn(*stats)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    theirs = float(calculate_frechet_distance(*stats))
print(f"FID ({len(a)} held-out vs {len(b)} training digits): {whose(fn)} {yours:.10f}, pytorch-fid {theirs:.10f}, "
      f"relative difference {abs(yours - theirs) / theirs:.1e}")

# %% [markdown]
# ## 4. KID
#
# The Kernel Inception Distance (Bińkowski et al. 2018) is the unbiased squared MMD under
# the cubic kernel $k(a, b) = (a^\top b/d + 1)^3$:
#
# $$\mathrm{MMD}^2_u = \frac{\sum_{i\ne j} k(x_i,x_j)}{m(m-1)} + \frac{\sum_{i\ne j} k(y_i,y_j)}{n(n-1)}
#    - \frac{2}{mn}\sum_{i,j} k(x_i,y_j).$$
#
# **Contract.** `kid(x, y)` takes two float64 feature tensors `[m, d]` and `[n, d]` (m and
# n may differ) and returns $\mathrm{MMD}^2_u$ as a float (it may be slightly negative).

# %%
def kid(x: torch.Tensor, y: torch.Tensor) -> float:
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check("08.kid", kid)

# %% [markdown]
# Unbiased: two halves of the real digits give a KID near 0 at any N, unlike FID.

# %%
fn = solution_or_reference("08.kid", kid)
for n in (100, 300, 1000):
    print(f"N = {n:4d}: KID(held-out, train) = {fn(f_test[:n], f_train[:n]):+.4f}")

# %% [markdown]
# ## 5. Precision and recall
#
# Improved precision and recall (Kynkäänniemi et al. 2019): around each sample, a ball
# reaching its k-th nearest **other** sample of the same set. Precision = the fraction of
# fake samples inside at least one real ball (quality); recall = the fraction of real
# samples inside at least one fake ball (coverage).
#
# **Contract.** `precision_recall(real, fake, k=3)` takes float64 feature tensors
# `[m, d]` and `[n, d]` and returns `(precision, recall)` as floats. A point on a ball's
# boundary counts as inside (`<=`). `torch.cdist` gives all pairwise distances;
# `kthvalue(k + 1, dim=1)` the (k+1)-th smallest per row (the smallest is the point itself).

# %%
def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check("08.precision_recall", precision_recall)

# %% [markdown]
# Real held-out digits against training digits, and a "generator" collapsed onto the 1s:

# %%
fn = solution_or_reference("08.precision_recall", precision_recall)
ones = f_test[y_test == 1]
p, r = fn(f_train[:1000], f_test[:1000], 3)
print(f"real held-out digits: precision {p:.3f}, recall {r:.3f}")
p, r = fn(f_train[: len(ones)], ones, 3)
print(f"real 1s only:         precision {p:.3f}, recall {r:.3f}")


# %% [markdown]
# ## 6. FID∞: removing the bias in N
#
# FID computed from N samples is biased upwards, and the bias depends on N: two models
# measured with different N cannot be compared. Chong & Forsyth (2020, *Effectively
# Unbiased FID and Inception Score and where to find them*, Sec. 3.1) show that the
# expected FID from N samples is, to first order, $\mathrm{FID}_N = \mathrm{FID}_\infty + k/N$,
# and estimate $\mathrm{FID}_\infty$, the value with infinitely many samples, from
# measurements at a few sample sizes.
#
# **Contract.** `extrapolate_fid(ns, fids)` takes two float64 tensors `[m]`: sample sizes
# (a size may appear several times, once per random subset) and the FID measured at each,
# and returns `(fid_inf, slope)` as floats, the estimate of $\mathrm{FID}_\infty$ and of
# $k$, from a least-squares fit that uses every measurement.

# %%
def extrapolate_fid(ns: torch.Tensor, fids: torch.Tensor) -> tuple[float, float]:
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check("08.extrapolate_fid", extrapolate_fid)

# %% [markdown]
# Held-out digits against the statistics of the training digits: two samples of one
# distribution, whose FID shrinks as the number N of held-out digits grows. The fit says
# where it is heading with infinitely many held-out digits; what is left there is the
# bias of the other side, the training statistics from a fixed set of digits.

# %%
from coursekit.metrics import fid_from_features

fn = solution_or_reference("08.extrapolate_fid", extrapolate_fid)
gen = torch.Generator().manual_seed(0)
sizes = [n for n in (200, 400, 1000, 2000) if n <= len(f_test)]
ns, fids = [], []
for n in sizes:
    for _ in range(3 if n < len(f_test) else 1):  # the whole set has one subset only
        rows = torch.randperm(len(f_test), generator=gen)[:n]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            fids.append(fid_from_features(f_test[rows], f_train))
        ns.append(n)
ns_t, fids_t = torch.tensor(ns, dtype=torch.float64), torch.tensor(fids, dtype=torch.float64)
print(f"{len(f_test)} held-out digits against the statistics of {len(f_train)} training digits")
for n in sizes:
    print(f"N = {n:4d}: FID = {float(fids_t[ns_t == n].mean()):.3f} (mean of {int((ns_t == n).sum())})")
fid_inf, slope = fn(ns_t, fids_t)
print(f"fit FID_N = FID∞ + k/N: FID∞ = {fid_inf:.3f}, k = {slope:.0f}")
