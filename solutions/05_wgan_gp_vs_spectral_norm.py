# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 5 exercises: the earth mover's distance, the gradient penalty, power iteration, weight clipping
#
# Each exercise is a function with a precise contract. Write your code where it
# says `# YOUR CODE HERE`, run the cell, then run the check cell below it: it
# tests your function on randomised cases and prints PASS ✅ or FAIL ❌ per case,
# with a hint when something is off (a more specific one each time the check fails
# again). The cell after each check uses your function if it
# passes and coursekit's reference otherwise (it says so), so the notebook always
# runs to the end.

# %%
import numpy as np
import scipy.stats
import torch

from coursekit.check import check, solution_or_reference, whose
from coursekit.data import sample_grid
from coursekit.losses import d_loss_wgan
from coursekit.models import MLP2DDiscriminator, WGANCritic
from coursekit.runtime import quick_or_full, start_lesson

torch.set_num_threads(1)  # small tensors: one thread is faster
device = start_lesson(seed=0)

# %% [markdown]
# ## 1. The earth mover's distance between two samples
#
# For two 1-D samples $a_1..a_n$ and $b_1..b_n$ of equal size, each point carries mass
# $1/n$. A transport plan pairs every $a_i$ with some $b_j$; the cheapest plan never
# crosses arrows, so it pairs the $i$-th smallest $a$ with the $i$-th smallest $b$:
#
# $$W_1 = \frac1n \sum_i |a_{(i)} - b_{(i)}|.$$
#
# **Contract.** `wasserstein1_1d(samples_a, samples_b)` takes two 1-D tensors of the same
# length and returns $W_1$ as a 0-d tensor.

# %%
def wasserstein1_1d(samples_a: torch.Tensor, samples_b: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION
    return (torch.sort(samples_a).values - torch.sort(samples_b).values).abs().mean()
    ### END SOLUTION


# %%
check("05.wasserstein1_1d", wasserstein1_1d)

# %% [markdown]
# Checked against scipy, and as a function of a shift $\theta$ of the second sample: $W_1$
# grows like $|\theta|$, however far apart the samples are (the JSD would stop at $\log 2$).

# %%
fn = solution_or_reference("05.wasserstein1_1d", wasserstein1_1d)
rng = np.random.default_rng(0)
a, b = rng.normal(0, 1, 2000), rng.exponential(1.0, 2000)
print(f"W1(N(0,1), Exp(1)) from 2,000 samples: {whose(fn)} {float(fn(torch.from_numpy(a), torch.from_numpy(b))):.5f}, "
      f"scipy {scipy.stats.wasserstein_distance(a, b):.5f}")
for theta in [0.0, 1.0, 2.0, 5.0, 10.0]:
    print(f"  shift θ = {theta:4.1f}: W1 = {float(fn(torch.from_numpy(a), torch.from_numpy(a + theta))):.4f}")

# %% [markdown]
# ## 2. The gradient penalty
#
# WGAN-GP (Gulrajani et al. 2017, Eq. 3) adds $\lambda\,\mathbb E_{\hat x}[(\|\nabla_{\hat x} f(\hat x)\|_2 - 1)^2]$
# to the critic's loss, at $\hat x = \varepsilon x + (1-\varepsilon)\tilde x$ with one
# $\varepsilon \sim U[0, 1]$ **per sample**.
#
# **Contract.** `gradient_penalty(critic, real, fake)` takes a critic (a module mapping a batch
# `[B, ...]` to scores `[B]` or `[B, 1]`) and two batches of the same shape, and returns the
# penalty *without* λ as a 0-d tensor that can be backpropagated into the critic's weights.
#
# Three things to get right, in the paper's terms:
# * $\varepsilon$ is drawn once **per sample** and broadcast over that sample's features;
# * the penalty is part of the critic's loss, so its gradient with respect to $\hat x$ must
#   itself be differentiable with respect to the critic's weights (look up what
#   `torch.autograd.grad` needs for a gradient of a gradient); the samples don't interact in
#   a BatchNorm-free critic, so one backward pass can give every sample's own gradient;
# * the norm is taken **per sample**, over all of that sample's dimensions, before
#   $(\cdot - 1)^2$ and the mean over the batch.

# %%
def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    ### BEGIN SOLUTION
    eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
    ### END SOLUTION


# %%
check("05.gradient_penalty", gradient_penalty)

# %% [markdown]
# Your penalty at work: a 2-D critic trained alone to separate the 25-Gaussian grid from a
# N(0, 2²) cloud, with the WGAN loss and λ = 10 · your penalty. The mean gradient norm at
# fresh interpolates is printed as training goes: it settles near 1.

# %%
fn = solution_or_reference("05.gradient_penalty", gradient_penalty)
torch.manual_seed(0)
critic = MLP2DDiscriminator()
opt = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
steps = quick_or_full(60, 400)
for step in range(steps + 1):
    real, fake = sample_grid(256), 2.0 * torch.randn(256, 2)
    if step % (steps // 4) == 0:
        eps = torch.rand(256, 1)
        x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat)
        print(f"step {step:4d}: mean ‖∇f(x̂)‖ = {g.norm(dim=1).mean().item():.3f}")
    loss = d_loss_wgan(critic(real), critic(fake)) + 10.0 * fn(critic, real, fake)
    opt.zero_grad()
    loss.backward()
    opt.step()

# %% [markdown]
# ## 3. Power iteration
#
# Spectral normalisation divides a layer's weight by its largest singular value
# $\sigma_{max}(W)$, estimated by power iteration (Miyato et al. 2018, Algorithm 1): from a
# vector $u$, repeat $v \leftarrow W^\top u/\|W^\top u\|$, $u \leftarrow Wv/\|Wv\|$, and
# estimate $\sigma \approx u^\top W v$. A conv kernel `[out, in, k, k]` is first flattened
# to the matrix `[out, in·k·k]`.
#
# **Contract.** `power_iteration(W, u, n_iter)` takes a weight (2-D or a conv kernel), a start
# vector `u` of length `out`, and a number of iterations ≥ 1, and returns the estimate
# $u^\top W v$ after `n_iter` iterations, a 0-d tensor.
#
# Not to be confused with `torch.norm(W)`: that is the Frobenius norm, $\ge \sigma_{max}$.

# %%
def power_iteration(W: torch.Tensor, u: torch.Tensor, n_iter: int) -> torch.Tensor:
    ### BEGIN SOLUTION
    W = W.flatten(1)
    for _ in range(n_iter):
        v = W.T @ u
        v = v / v.norm()
        u = W @ v
        u = u / u.norm()
    return u @ W @ v
    ### END SOLUTION


# %%
check("05.power_iteration", power_iteration)

# %% [markdown]
# On the kernel of a real layer: the estimate after n iterations against the exact
# $\sigma_{max}$ (an SVD), and the Frobenius norm that is often printed by mistake.

# %%
fn = solution_or_reference("05.power_iteration", power_iteration)
torch.manual_seed(0)
W = WGANCritic(ndf=32).features[2].weight.detach().double()  # [64, 32, 4, 4]
exact = torch.linalg.matrix_norm(W.flatten(1), ord=2).item()
u = torch.randn(W.shape[0], dtype=torch.float64)
print(f"kernel {list(W.shape)}: exact σ_max = {exact:.5f}, Frobenius torch.norm(W) = {torch.norm(W).item():.5f}")
for n in (1, 2, 5, 10, 50):
    print(f"  {n:2d} iterations: σ ≈ {fn(W, u, n).item():.5f}")


# %% [markdown]
# ## 4. What the penalty replaced: weight clipping
#
# The original WGAN (Arjovsky et al. 2017, Algorithm 1) keeps its critic $K$-Lipschitz for
# some $K$ the crude way: after every critic update it clips each parameter to $[-c, c]$
# ($c = 0.01$ in the paper, with RMSProp at learning rate $5\cdot10^{-5}$). One critic
# update, in the paper's order:
#
# 1. the loss $\mathbb E\,f(\tilde x) - \mathbb E\,f(x)$ on a batch of fakes $\tilde x$ and
#    reals $x$ (the critic ascends the gap, so it descends its negative);
# 2. one optimiser step on that loss, from freshly cleared gradients;
# 3. every parameter of the critic, biases included, clipped to $[-c, c]$ in place.
#
# **Contract.** `clipped_critic_step(critic, opt, real, fake, c)` takes the critic (a module
# mapping a batch to scores `[B]` or `[B, 1]`), its optimiser, a batch of real and a batch of
# fake samples (tensors without a graph) and the bound `c > 0`; it makes one such update in
# place and returns the loss measured before the update, as a Python float. The check builds
# critics whose parameters hold stale gradients, as a previous generator step leaves them.

# %%
def clipped_critic_step(critic: torch.nn.Module, opt: torch.optim.Optimizer, real: torch.Tensor,
                        fake: torch.Tensor, c: float) -> float:
    ### BEGIN SOLUTION
    loss = d_loss_wgan(critic(real), critic(fake))
    opt.zero_grad()
    loss.backward()
    opt.step()
    with torch.no_grad():
        for p in critic.parameters():
            p.clamp_(-c, c)
    return loss.item()
    ### END SOLUTION


# %%
check("05.clipped_critic_step", clipped_critic_step)

# %% [markdown]
# The same 2-D critic as in section 2, trained alone to separate the 25-Gaussian grid from a
# N(0, 2²) cloud, now with the paper's clipping instead of the penalty. Two numbers at the
# end: the share of the critic's parameters sitting on the bound $\pm c$, and the mean
# gradient norm at interpolates, which the penalty of section 2 keeps near 1.

# %%
fn = solution_or_reference("05.clipped_critic_step", clipped_critic_step)
steps = quick_or_full(100, 1000)
for c in (0.1, 0.01):
    torch.manual_seed(0)
    critic = MLP2DDiscriminator()
    opt = torch.optim.RMSprop(critic.parameters(), lr=5e-5)
    for _ in range(steps):
        fn(critic, opt, sample_grid(256), 2.0 * torch.randn(256, 2), c)
    flat = torch.cat([p.detach().flatten() for p in critic.parameters()])
    at_bound = (flat.abs() >= c * (1 - 1e-6)).double().mean().item()
    real, fake = sample_grid(1024), 2.0 * torch.randn(1024, 2)
    eps = torch.rand(1024, 1)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat)
    print(f"c = {c:4g}, {steps} steps: {at_bound:6.1%} of {flat.numel()} parameters at ±c; "
          f"mean ‖∇f(x̂)‖ = {g.norm(dim=1).mean().item():.2e}")

# %% [markdown]
# At c = 0.01 a large share of the parameters sits on the bounds ±c, and the critic's
# gradient at interpolates is orders of magnitude below the 1 that the penalty aims for:
# the clipped critic is nearly flat, and a generator trained against it learns little.
# Gulrajani et al. (2017, Fig. 1b) show both effects, and the penalty of section 2 avoids
# them.
