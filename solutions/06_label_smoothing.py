# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 6 exercises: label smoothing and instance noise in four small functions and a derivation
#
# Each exercise is a function with a precise contract. Write your code where it
# says `# YOUR CODE HERE`, run the cell, then run the check cell below it: it
# tests your function on randomised cases and prints PASS ✅ or FAIL ❌ per case,
# with a hint when something is off (a more specific one each time the check fails
# again). The cell after each check uses your function if it
# passes and coursekit's reference otherwise (it says so), so the notebook always
# runs to the end.
#
# Conventions: a discriminator returns a raw **logit** `l`, and `D(x) = sigmoid(l)`.
# The smoothed targets are α (`real_label`) for real samples and β (`fake_label`) for
# fakes: one-sided smoothing is α = 0.9, β = 0 (Salimans et al. 2016, Sec. 3.4).

# %%
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from coursekit.check import check, solution_or_reference, whose
from coursekit.losses import d_loss_bce
from coursekit.runtime import start_lesson

device = start_lesson(seed=0)


def gaussian(x: torch.Tensor, mu: float, sigma: float) -> torch.Tensor:
    return torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


# %% [markdown]
# ## 1. The discriminator's loss with smoothed labels
#
# With a soft target $t$, each sample's binary cross-entropy has two terms,
# $-t \log D - (1 - t)\log(1 - D)$. On logits, $-\log\sigma(l) = \mathrm{softplus}(-l)$ and
# $-\log(1 - \sigma(l)) = \mathrm{softplus}(l)$; both stay finite for any logit, while
# `torch.log(torch.sigmoid(l))` is `-inf` as soon as $\sigma(l)$ rounds to 0.
#
# **Contract.** `smoothed_bce(real_logits, fake_logits, real_label, fake_label)` takes D's logits
# on a batch of real samples and on a batch of fakes (each `[B]` or `[B, 1]`, batch sizes may
# differ) and the two targets, and returns a 0-d tensor: the batch mean of the real samples'
# BCE with target `real_label` **plus** the batch mean of the fakes' BCE with target `fake_label`.

# %%
def smoothed_bce(real_logits: torch.Tensor, fake_logits: torch.Tensor,
                 real_label: float, fake_label: float) -> torch.Tensor:
    ### BEGIN SOLUTION
    real = real_label * F.softplus(-real_logits) + (1 - real_label) * F.softplus(real_logits)
    fake = fake_label * F.softplus(-fake_logits) + (1 - fake_label) * F.softplus(fake_logits)
    return real.mean() + fake.mean()
    ### END SOLUTION


# %%
check("06.smoothed_bce", smoothed_bce)

# %% [markdown]
# Your loss against `coursekit.losses.d_loss_bce`, and what the smoothed target does to a
# discriminator that outputs the same logit $l$ on every real sample: the loss on real data,
# $\alpha\,\mathrm{softplus}(-l) + (1-\alpha)\,\mathrm{softplus}(l)$, is smallest at $\sigma(l) = \alpha$,
# i.e. at the logit $\log\frac{\alpha}{1-\alpha}$, instead of decreasing for ever.

# %%
fn = solution_or_reference("06.smoothed_bce", smoothed_bce)
real, fake = 3 * torch.randn(256), 3 * torch.randn(256) - 2
for a, b in [(1.0, 0.0), (0.9, 0.0), (0.9, 0.1)]:
    print(f"α = {a}, β = {b}: {whose(fn)} {float(fn(real, fake, a, b)):.6f}, "
          f"coursekit.losses.d_loss_bce {float(d_loss_bce(real, fake, a, b)):.6f}")
logits = torch.linspace(-4, 10, 561)  # steps of 0.025
no_fakes = torch.full((1,), -50.0)  # a fake D rejects completely adds (almost) nothing
fig, ax = plt.subplots(figsize=(6, 3))
for a in [1.0, 0.95, 0.9, 0.8]:
    losses = torch.stack([fn(l.view(1), no_fakes, a, 0.0) for l in logits])
    best = float(logits[losses.argmin()])
    ax.plot(logits, losses, label=f"α = {a}: minimum at logit {best:.2f}")
    if a < 1:
        print(f"α = {a}: loss minimised at logit {best:.2f}; log(α / (1 - α)) = {math.log(a / (1 - a)):.2f}")
ax.set_xlabel("D's logit on a real sample")
ax.set_ylabel("loss on real data")
ax.legend(fontsize=8)
plt.show()


# %% [markdown]
# ## 2. The optimal discriminator under smoothed labels
#
# For fixed densities, D maximises $p_{data}[\alpha\log D + (1-\alpha)\log(1-D)] + p_g[\beta\log D + (1-\beta)\log(1-D)]$
# at every point $x$. Setting the derivative to zero gives
# $D^*(x) = \dfrac{\alpha\,p_{data}(x) + \beta\,p_g(x)}{p_{data}(x) + p_g(x)}$.
#
# **Contract.** `optimal_discriminator_smoothed(p_data, p_g, alpha, beta)` takes two tensors of the
# same shape with positive entries (density values at the same points) and the two labels, and
# returns $D^*$ at those points, same shape.

# %%
def optimal_discriminator_smoothed(p_data: torch.Tensor, p_g: torch.Tensor,
                                   alpha: float, beta: float) -> torch.Tensor:
    ### BEGIN SOLUTION
    return (alpha * p_data + beta * p_g) / (p_data + p_g)
    ### END SOLUTION


# %%
check("06.optimal_discriminator_smoothed", optimal_discriminator_smoothed)

# %% [markdown]
# Where only the generator has mass ($x \approx 4$ below), $D^*$ is 0 without smoothing and with
# one-sided smoothing, but $\beta$ with two-sided smoothing: flat, so the fakes there get no
# gradient telling them where the data are.

# %%
fn = solution_or_reference("06.optimal_discriminator_smoothed", optimal_discriminator_smoothed)
x = torch.linspace(-4, 7, 1101, dtype=torch.float64)
p_data, p_g = gaussian(x, 0.0, 1.0), 0.5 * gaussian(x, 0.5, 1.0) + 0.5 * gaussian(x, 4.0, 1.0)
fig, ax = plt.subplots(figsize=(7, 3))
ax.fill_between(x, p_data / p_data.max(), alpha=0.2, label="$p_{data}$ (scaled)")
ax.fill_between(x, p_g / p_data.max(), alpha=0.2, label="$p_g$ (scaled)")
i4 = int((x - 4.0).abs().argmin())
for a, b in [(1.0, 0.0), (0.9, 0.0), (0.9, 0.1)]:
    d = fn(p_data, p_g, a, b)
    ax.plot(x, d, label=f"α = {a}, β = {b}")
    print(f"α = {a}, β = {b}: D*(0) = {float(d[int(x.abs().argmin())]):.3f}, D*(4) = {float(d[i4]):.4f}")
ax.set_xlabel("x")
ax.legend(fontsize=8)
plt.show()


# %% [markdown]
# ## 3. Instance noise
#
# Instance noise (Sønderby et al. 2017) adds Gaussian noise to **every** input of the
# discriminator, real and fake alike, so that the two densities D compares overlap.
#
# **Contract.** `add_instance_noise(x, std)` takes a batch `x` (any shape) and a standard
# deviation `std >= 0`, and returns a **new** tensor `x + ε` with $\varepsilon \sim \mathcal N(0, \mathrm{std}^2)$ drawn
# independently for every element, on every call. `x` itself must not change; `std = 0` returns `x`'s values.

# %%
def add_instance_noise(x: torch.Tensor, std: float) -> torch.Tensor:
    ### BEGIN SOLUTION
    return x + std * torch.randn_like(x)
    ### END SOLUTION


# %%
check("06.add_instance_noise", add_instance_noise)

# %% [markdown]
# Two point clouds that don't overlap at all (a "real" one at -1 and a "fake" one at +1): after
# noise of growing std, the fraction of noisy fakes that land closer to the real cloud's centre,
# i.e. the overlap D has to deal with.

# %%
fn = solution_or_reference("06.add_instance_noise", add_instance_noise)
real_pts = -1 + 0.05 * torch.randn(20_000)
fake_pts = 1 + 0.05 * torch.randn(20_000)
for std in [0.0, 0.25, 0.5, 1.0]:
    noisy_fake = fn(fake_pts, std)
    print(f"std = {std:4.2f}: noisy fakes left of 0 = {float((noisy_fake < 0).float().mean()):.3f}, "
          f"noise std measured = {float((noisy_fake - fake_pts).std()):.3f}")


# %% [markdown]
# ## 4. Annealing the noise
#
# The noise is added to real and fake inputs alike, and blurring with a Gaussian is one-to-one:
# two blurred densities are equal only if the originals are, so the noise does not move the
# game's optimum, $p_g = p_{data}$ (Sønderby et al. 2017). What the noise costs is signal: a wide
# blur hides the fine differences D needs once the densities are close. So it starts wide, when
# the densities barely overlap and D needs a slope everywhere, and is annealed so that D sees the
# detail later. The usual schedule is linear:
# $\sigma(\text{step}) = \text{start}\cdot\max(0, 1 - \text{step}/\text{total})$.
#
# **Contract.** `noise_std(step, total, start)` takes the current step (an int, may exceed `total`),
# the number of annealing steps and the std at step 0, and returns the std at `step` as a float:
# `start` at step 0, 0 at step `total` and after.

# %%
def noise_std(step: int, total: int, start: float) -> float:
    ### BEGIN SOLUTION
    return start * max(0.0, 1.0 - step / total)
    ### END SOLUTION


# %%
check("06.noise_std", noise_std)

# %% [markdown]
# Your schedule next to the one `coursekit.train.GANTrainer` uses for
# `TrainConfig(instance_noise=0.3, steps=1000)` (the trainer is built around two tiny linear
# layers, only to ask it for its schedule).

# %%
from coursekit.train import GANTrainer, TrainConfig

fn = solution_or_reference("06.noise_std", noise_std)
trainer = GANTrainer(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1), torch.randn(16, 2),
                     TrainConfig(steps=1000, instance_noise=0.3, nz=2, progress=False), device="cpu")
steps = list(range(0, 1201, 10))
mine = [fn(s, 1000, 0.3) for s in steps]
theirs = [trainer.noise_std(s) for s in steps]
print(f"largest difference from the trainer's schedule: {max(abs(a - b) for a, b in zip(mine, theirs)):.2e}")
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(steps, mine, lw=3, label=f"noise_std ({whose(fn)})")
ax.plot(steps, theirs, "k--", label="GANTrainer.noise_std")
ax.set_xlabel("step")
ax.set_ylabel("instance-noise std")
ax.legend()
plt.show()


# %% [markdown]
# ## 5. Derive: the generator's gradient where the data have no mass
#
# Section 2 showed that with two-sided smoothing $D^*$ is flat at $\beta$ wherever only the
# generator has mass. How flat, for the generator? Take two 1-D Gaussians,
# $p_{data} = \mathcal N(\mu_d, s_d^2)$ and $p_g = \mathcal N(\mu_g, s_g^2)$, the smoothed
# optimal discriminator of section 2 held fixed while the generator steps, and the
# non-saturating generator loss $-\log D^*(x)$ at a fake $x$. Derive, on paper first, its
# derivative $\dfrac{\partial}{\partial x}\bigl(-\log D^*(x)\bigr)$ in closed form. Lesson 1's
# logistic form helps: the unsmoothed optimum is $w(x) = \sigma(r(x))$ with
# $r = \log p_{data} - \log p_g$; write the smoothed one in terms of $w$.
#
# **Contract.** `smoothed_generator_gradient(x, mu_data, sigma_data, mu_g, sigma_g, alpha, beta)`
# takes fake positions `x` (a float64 tensor `[n]`), the two Gaussians' means and standard
# deviations and the two labels (floats, $0 \le \beta < \alpha \le 1$), and returns the derivative
# at each point, a tensor shaped like `x`. Use your closed form, not autograd: the check compares
# it with autograd through the smoothed $D^*$, to a relative tolerance, including fakes where
# $p_{data} \approx 0$.

# %%
def smoothed_generator_gradient(x: torch.Tensor, mu_data: float, sigma_data: float, mu_g: float,
                                sigma_g: float, alpha: float, beta: float) -> torch.Tensor:
    ### BEGIN SOLUTION
    log_p_data = -0.5 * ((x - mu_data) / sigma_data) ** 2 - math.log(sigma_data)
    log_p_g = -0.5 * ((x - mu_g) / sigma_g) ** 2 - math.log(sigma_g)
    w = torch.sigmoid(log_p_data - log_p_g)  # the unsmoothed D*
    dw_dx = w * (1 - w) * ((mu_data - x) / sigma_data**2 - (mu_g - x) / sigma_g**2)
    return -(alpha - beta) * dw_dx / (beta + (alpha - beta) * w)
    ### END SOLUTION


# %%
check("06.smoothed_generator_gradient", smoothed_generator_gradient)

# %% [markdown]
# The data at $\mathcal N(0, 1)$, the generator's fakes at $\mathcal N(4, 1)$: how hard does
# the non-saturating loss push a fake back towards the data, with no smoothing, one-sided
# and two-sided smoothing? The closed form (yours, once it passes its check) against autograd
# first, then the push.

# %%
fn = solution_or_reference("06.smoothed_generator_gradient", smoothed_generator_gradient)
mu_d, s_d, mu_g, s_g = 0.0, 1.0, 4.0, 1.0
points = torch.tensor([2.0, 4.0, 6.0], dtype=torch.float64)
push = {}
for a, b in [(1.0, 0.0), (0.9, 0.0), (0.9, 0.1)]:
    x_grad = points.clone().requires_grad_(True)
    p_d, p_fake = gaussian(x_grad, mu_d, s_d), gaussian(x_grad, mu_g, s_g)
    d_star = (a * p_d + b * p_fake) / (p_d + p_fake)
    (auto,) = torch.autograd.grad(-torch.log(d_star).sum(), x_grad)
    closed = fn(points, mu_d, s_d, mu_g, s_g, a, b)
    print(f"α = {a}, β = {b}: d(-log D*)/dx at x = 2, 4, 6: "
          + ", ".join(f"{float(g):+.2e}" for g in closed)
          + f"   ({whose(fn)}; largest relative difference from autograd "
          f"{float(((closed - auto) / auto).abs().max()):.1e})")
    push[(a, b)] = float(closed[-1])
print(f"at x = 6 (p_data/p_g = {float(gaussian(points[-1], mu_d, s_d) / gaussian(points[-1], mu_g, s_g)):.1e}), "
      f"two-sided / one-sided gradient: {push[(0.9, 0.1)] / push[(0.9, 0.0)]:.1e}")

# %% [markdown]
# One-sided smoothing leaves the generator's gradient exactly as it was: with $\beta = 0$,
# $D^* = \alpha w$ and $-\log D^* = -\log\alpha - \log w$ differ by a constant. With $\beta > 0$,
# $D^*$ cannot fall below $\beta$, so where $p_{data} \approx 0$ it sits at $\beta$ whatever the
# fake does, and the push that the non-saturating loss was chosen for is gone: the generator's
# fakes far from the data are left where they are. That is the reason to smooth only the real
# label (Salimans et al. 2016, Sec. 3.4; Goodfellow's 2016 NIPS tutorial).
