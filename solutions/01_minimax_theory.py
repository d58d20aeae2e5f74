# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 1 exercises: the minimax game in five small functions and a derivation
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
# Densities are float64 tensors tabulated on a uniform grid with spacing `dx`.
# Logs are natural.

# %%
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from coursekit.check import check, solution_or_reference, whose
from coursekit.runtime import start_lesson

device = start_lesson(seed=0)

x = torch.linspace(-6, 6, 1201, dtype=torch.float64)  # the grid the demonstrations use
dx = float(x[1] - x[0])


def gaussian(x: torch.Tensor, mu: float, sigma: float) -> torch.Tensor:
    return torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


# %% [markdown]
# ## 1. The optimal discriminator
#
# For a fixed generator with density $p_g$, the discriminator that maximises
# $V(D, G)=\int p_{data}\log D + p_g \log(1-D)\,dx$ is, pointwise,
# $D^*(x) = \dfrac{p_{data}(x)}{p_{data}(x) + p_g(x)}$ (Goodfellow et al. 2014, Proposition 1).
#
# **Contract.** `optimal_discriminator(p_data, p_g)` takes two tensors of the same
# shape with positive entries (density values at the same points) and returns
# $D^*$ at those points, same shape.

# %%
def optimal_discriminator(p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION
    return p_data / (p_data + p_g)
    ### END SOLUTION


# %%
check("01.optimal_discriminator", optimal_discriminator)

# %% [markdown]
# Two Gaussians with the same width: $\log\frac{p_{data}}{p_g}$ is linear in $x$,
# so $D^*$ is exactly a logistic curve, equal to ½ halfway between the means.

# %%
fn = solution_or_reference("01.optimal_discriminator", optimal_discriminator)
p_data, p_g = gaussian(x, 0.0, 1.0), gaussian(x, 2.0, 1.0)
d_star = fn(p_data, p_g)
closed_form = torch.sigmoid(2.0 - 2.0 * x)  # log N(x; 0, 1) - log N(x; 2, 1) = 2 - 2x
print(f"D*(1.0) = {float(fn(gaussian(torch.tensor(1.0), 0, 1), gaussian(torch.tensor(1.0), 2, 1))):.4f} (halfway: ½)")
print(f"max |D* - sigmoid(2 - 2x)| = {float((d_star - closed_form).abs().max()):.2e}")
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(x, p_data, label="$p_{data}$ = N(0, 1)")
ax.plot(x, p_g, label="$p_g$ = N(2, 1)")
ax.plot(x, d_star, "k", label="$D^*$")
ax.set_xlabel("x")
ax.legend()
plt.show()


# %% [markdown]
# ## 2. The Jensen-Shannon divergence
#
# $\mathrm{JSD}(p\,\|\,q) = \tfrac12 \mathrm{KL}(p\,\|\,m) + \tfrac12 \mathrm{KL}(q\,\|\,m)$ with
# $m = \tfrac12(p+q)$, so that the value of the game at the optimal discriminator is
# $C(G) = -\log 4 + 2\,\mathrm{JSD}(p_{data}\,\|\,p_g)$ (Theorem 1).
#
# **Contract.** `jensen_shannon(p, q, dx)` takes two density tensors on the same uniform
# grid and its spacing, and returns the JSD in nats as a 0-d tensor, by the Riemann sum
# $\sum_i f(x_i)\,dx$. Densities may be exactly 0 somewhere: use $0 \log 0 = 0$
# (`torch.xlogy(a, b)` computes $a \log b$ with that convention).

# %%
def jensen_shannon(p: torch.Tensor, q: torch.Tensor, dx: float) -> torch.Tensor:
    ### BEGIN SOLUTION
    m = 0.5 * (p + q)
    kl_pm = (torch.xlogy(p, p) - torch.xlogy(p, m)).sum() * dx
    kl_qm = (torch.xlogy(q, q) - torch.xlogy(q, m)).sum() * dx
    return 0.5 * kl_pm + 0.5 * kl_qm
    ### END SOLUTION


# %%
check("01.jensen_shannon", jensen_shannon)

# %% [markdown]
# Slide $p_g$ away from $p_{data}$: the JSD climbs towards $\log 2$ and flattens there, however
# far apart the two densities are (two Gaussians never reach it exactly: their supports
# overlap). That flat ceiling is why a generator far from the
# data gets no useful signal from the JSD (lesson 5 replaces it with Wasserstein-1).

# %%
fn = solution_or_reference("01.jensen_shannon", jensen_shannon)
print(f"log 2 = {math.log(2):.6f}")
for shift in [0.0, 0.5, 1.0, 2.0, 4.0, 8.0]:
    wide = torch.linspace(-12, 20, 6401, dtype=torch.float64)
    value = fn(gaussian(wide, 0.0, 1.0), gaussian(wide, shift, 1.0), float(wide[1] - wide[0]))
    print(f"shift {shift:4.1f}: JSD = {float(value):.6f}")


# %% [markdown]
# ## 3. The saturating generator loss
#
# In the minimax game the generator minimises $\mathbb E_z \log(1 - D(G(z)))$.
# With logits, $\log(1-\sigma(l)) = -\mathrm{softplus}(l)$: this form stays finite for
# every logit, while `torch.log(1 - torch.sigmoid(l))` is `-inf` as soon as
# $\sigma(l)$ rounds to 1.
#
# **Contract.** `g_loss_saturating(fake_logits)` takes the discriminator's logits on a
# batch of fakes (shape `[B]` or `[B, 1]`) and returns the batch mean of
# $\log(1 - D(G(z)))$, a 0-d tensor that the generator *minimises*.

# %%
def g_loss_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION
    return -F.softplus(fake_logits).mean()
    ### END SOLUTION


# %%
check("01.g_loss_saturating", g_loss_saturating)


# %% [markdown]
# ## 4. The non-saturating generator loss
#
# Goodfellow et al. (Sec. 3) suggest that G maximise $\log D(G(z))$ instead, i.e.
# minimise $-\log D(G(z)) = \mathrm{softplus}(-l)$: same fixed point, much stronger
# gradient early in training.
#
# **Contract.** `g_loss_nonsaturating(fake_logits)`: same input as above; returns the batch
# mean of $-\log D(G(z))$, a 0-d tensor that the generator *minimises*.

# %%
def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION
    return F.softplus(-fake_logits).mean()
    ### END SOLUTION


# %%
check("01.g_loss_nonsaturating", g_loss_nonsaturating)

# %% [markdown]
# Where D confidently rejects a fake ($D(G(z)) \to 0$, a very negative logit) the two
# losses behave very differently. Autograd gives the gradient of each loss with
# respect to the logit, one logit per batch element (we multiply the mean by the batch
# size so that each element's gradient is not divided by it).

# %%
sat = solution_or_reference("01.g_loss_saturating", g_loss_saturating)
nonsat = solution_or_reference("01.g_loss_nonsaturating", g_loss_nonsaturating)
logits = torch.linspace(-12, 12, 481, requires_grad=True)
(grad_sat,) = torch.autograd.grad(sat(logits) * logits.numel(), logits)
(grad_nonsat,) = torch.autograd.grad(nonsat(logits) * logits.numel(), logits)
d_fake = torch.sigmoid(logits).detach()
for target in [1e-4, 1e-2, 0.5]:
    i = int((d_fake - target).abs().argmin())
    print(f"D(G(z)) = {float(d_fake[i]):.1e}: |dloss/dlogit| saturating = {abs(float(grad_sat[i])):.1e}, "
          f"non-saturating = {abs(float(grad_nonsat[i])):.1e}")
fig, ax = plt.subplots(figsize=(6, 3))
ax.semilogy(d_fake, grad_sat.abs(), label="saturating: log(1 - D)")
ax.semilogy(d_fake, grad_nonsat.abs(), label="non-saturating: -log D")
ax.set_xlabel("D(G(z))")
ax.set_ylabel("|d loss / d logit|")
ax.legend()
plt.show()


# %% [markdown]
# ## 5. The value function
#
# $V(D, G) = \mathbb E_{x\sim p_{data}} \log D(x) + \mathbb E_{z} \log(1 - D(G(z)))$ (Eq. 1):
# D maximises it, G minimises it. Its negative is the discriminator's binary
# cross-entropy loss.
#
# **Contract.** `value_function(real_logits, fake_logits)` takes D's logits on a batch of
# real samples and on a batch of fakes (each `[B]` or `[B, 1]`, batch sizes may differ)
# and returns the estimate of $V$ from the two batch means, a 0-d tensor.

# %%
def value_function(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION
    return -F.softplus(-real_logits).mean() - F.softplus(fake_logits).mean()
    ### END SOLUTION


# %%
check("01.value_function", value_function)

# %% [markdown]
# At the equilibrium $p_g = p_{data}$ the best D outputs ½ everywhere (logit 0), and
# $V = 2 \log \tfrac12 = -\log 4$. A discriminator that separates real from fake
# pushes $V$ up towards 0.

# %%
fn = solution_or_reference("01.value_function", value_function)
zeros = torch.zeros(1000)
print(f"V at D = ½: {float(fn(zeros, zeros)):.6f}   (-log 4 = {-math.log(4):.6f})")
real_logits = 4.0 + torch.randn(1000)  # a confident D: D(x) ≈ σ(4) on real data
fake_logits = -4.0 + torch.randn(1000)
print(f"V for a confident D (logits ≈ ±4): {float(fn(real_logits, fake_logits)):.4f}")


# %% [markdown]
# ## 6. Derive: the generator's gradient at the optimal discriminator
#
# The losses above are functions of a logit. What the generator feels is their
# gradient with respect to the **fake sample itself**: a fake at position $x$ moves
# against $\partial \ell / \partial x$. Take two 1-D Gaussians,
# $p_{data} = \mathcal N(\mu_d, s_d^2)$ and $p_g = \mathcal N(\mu_g, s_g^2)$, and a
# discriminator at its optimum $D^*$, held fixed while the generator steps. Derive, on
# paper first, in closed form:
#
# $$\frac{\partial}{\partial x}\log\bigl(1 - D^*(x)\bigr) \quad\text{(saturating)}, \qquad
#   \frac{\partial}{\partial x}\bigl(-\log D^*(x)\bigr) \quad\text{(non-saturating)}.$$
#
# Section 1 showed that $D^*$ is a logistic curve of the log density ratio: start from
# $D^*(x) = \sigma(r(x))$ with $r(x) = \log p_{data}(x) - \log p_g(x)$.
#
# **Contract.** `generator_gradients(x, mu_data, sigma_data, mu_g, sigma_g)` takes fake
# positions `x` (a float64 tensor `[n]`) and the two Gaussians' means and standard
# deviations (floats), and returns `(saturating, nonsaturating)`: two tensors shaped like
# `x` with the two derivatives above at each point. Use your closed form, not autograd:
# the check compares it with autograd through $D^*$.

# %%
def generator_gradients(x: torch.Tensor, mu_data: float, sigma_data: float, mu_g: float,
                        sigma_g: float) -> tuple[torch.Tensor, torch.Tensor]:
    ### BEGIN SOLUTION
    def log_normal(t, mu, sigma):
        return -0.5 * ((t - mu) / sigma) ** 2 - math.log(sigma * math.sqrt(2 * math.pi))

    d_star = torch.sigmoid(log_normal(x, mu_data, sigma_data) - log_normal(x, mu_g, sigma_g))
    dr_dx = (mu_data - x) / sigma_data**2 - (mu_g - x) / sigma_g**2
    return -d_star * dr_dx, -(1 - d_star) * dr_dx
    ### END SOLUTION


# %%
check("01.generator_gradients", generator_gradients)

# %% [markdown]
# The closed form (yours, once it passes its check) against autograd through $D^*$, at
# fakes drawn from a generator that sits far from the data. Where $D^*$ rejects a fake with confidence, the
# saturating loss gives it almost no push, while the non-saturating loss pushes it
# towards the data.

# %%
fn = solution_or_reference("01.generator_gradients", generator_gradients)
mu_d, s_d, mu_g, s_g = 0.0, 1.0, 4.0, 1.0
fakes = mu_g + s_g * torch.randn(2000, dtype=torch.float64)
sat_closed, nonsat_closed = fn(fakes, mu_d, s_d, mu_g, s_g)
x_grad = fakes.clone().requires_grad_(True)
log_ratio = (-0.5 * ((x_grad - mu_d) / s_d) ** 2 - math.log(s_d)) - (-0.5 * ((x_grad - mu_g) / s_g) ** 2 - math.log(s_g))
d_star = torch.sigmoid(log_ratio)
(sat_auto,) = torch.autograd.grad(torch.log1p(-d_star).sum(), x_grad, retain_graph=True)
(nonsat_auto,) = torch.autograd.grad(-torch.log(d_star).sum(), x_grad)
print(f"p_data = N({mu_d}, {s_d}²), p_g = N({mu_g}, {s_g}²), {len(fakes)} fakes from p_g")
print(f"max |{whose(fn)} - autograd|: saturating {float((sat_closed - sat_auto).abs().max()):.1e}, "
      f"non-saturating {float((nonsat_closed - nonsat_auto).abs().max()):.1e}")
print(f"median D*(fake) = {float(d_star.detach().median()):.1e}")
print(f"median |d loss / dx| over the fakes: saturating {float(sat_closed.abs().median()):.2e}, "
      f"non-saturating {float(nonsat_closed.abs().median()):.2e}")
