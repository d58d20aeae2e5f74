# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 5: WGAN-GP vs spectral normalisation, measured
#
# Lesson 1 showed that the Jensen-Shannon divergence stops at $\log 2$ once the data
# and the generator stop overlapping. Arjovsky et al. (2017) replaced it with the
# **earth mover's distance** (Wasserstein-1), which keeps growing with the distance
# between the two, and which a *critic* $f$ estimates through the Kantorovich-Rubinstein duality
#
# $$W_1(p_{data}, p_g) = \sup_{\|f\|_L \le 1} \; \mathbb E_{x\sim p_{data}} f(x) - \mathbb E_{x \sim p_g} f(x).$$
#
# The whole difficulty is the constraint $\|f\|_L \le 1$. Two ways to impose it are
# compared here:
#
# * the **gradient penalty** (WGAN-GP, Gulrajani et al. 2017): add $\lambda\,\mathbb E[(\|\nabla_{\hat x} f(\hat x)\|_2 - 1)^2]$
#   at random points $\hat x$ between real and generated samples;
# * **spectral normalisation** (SN-GAN, Miyato et al. 2018): divide every layer's weight by
#   its largest singular value, estimated by one power iteration per step.
#
# Everything below is measured in this run: the distances on 1-D densities, the
# gradients of JS and W1, a BatchNorm critic's dependence on its batch, both constraints
# trained on the 25-Gaussian grid and on MNIST over several seeds, what a training step
# costs with each on *this* machine, and whether the Lipschitz claims hold after training.

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import scipy.stats
import torch

from coursekit import theory
from coursekit.data import grid_centers, load_mnist, sample_grid
from coursekit.ensemble import EnsembleConfig, train_ensemble
from coursekit.features import load_mnist_classifier, mnist_features
from coursekit.lipschitz import gradient_norms_at_interpolates, power_iteration, scores_in_batches, time_interleaved
from coursekit.losses import d_loss_wgan, gradient_penalty
from coursekit.metrics import fid_from_features, mode_coverage, mode_histogram
from coursekit.models import (DCGANDiscriminator, DCGANGenerator, MLP2DDiscriminator, MLP2DGenerator,
                              SNDiscriminator, WGANCritic, frobenius_norms, spectral_norms)
from coursekit.plots import draw_image_grid
from coursekit.runtime import quick_or_full, start_lesson
from coursekit.train import GANTrainer, TrainConfig

SEED = 0
# Small models: one thread is faster than two on a 2-core machine (no hand-offs between threads).
torch.set_num_threads(1)
device = start_lesson(seed=SEED)
LESSON_START = time.perf_counter()

SEEDS = 3                                    # every comparison below is over 3 seeds
GRID_STEPS = quick_or_full(60, 1500)         # generator updates on the 25-Gaussian grid
GRID_STEPS_GP5 = quick_or_full(12, 400)      # ... for WGAN-GP with 5 critic updates per generator update
GRID_SNAPSHOT = quick_or_full(30, 250)       # modes are counted every GRID_SNAPSHOT steps
GRID_SNAPSHOT_GP5 = quick_or_full(6, 100)
GRID_SAMPLES = quick_or_full(500, 2500)      # samples per mode count (VEEGAN/PacGAN: 2,500)
MNIST_STEPS = quick_or_full(8, 300)          # generator updates on MNIST
MNIST_SNAPSHOT = quick_or_full(4, 100)
MNIST_SAMPLES = quick_or_full(200, 1000)     # generated images per FID
WIDTH = 32                                   # ngf = ndf of the MNIST models
TIMING = dict(repeats=quick_or_full(2, 7), calls=quick_or_full(1, 2), warmup=1)
print(f"grid: {SEEDS} seeds × {GRID_STEPS} steps ({GRID_STEPS_GP5} for WGAN-GP n_critic=5) | MNIST: {SEEDS} seeds × {MNIST_STEPS} steps, "
      f"FID on {MNIST_SAMPLES} samples | timing: {TIMING}")

# %% [markdown]
# ## 1. The earth mover's intuition
#
# Think of $p$ as a pile of earth and $q$ as a hole of the same volume. A *transport
# plan* says how much earth moves from each $x$ to each $y$; its cost is mass × distance.
# $W_1$ is the cost of the cheapest plan. In one dimension the cheapest plan is simple:
# fill the hole from left to right, in order. The earth at quantile $t$ of $p$ goes to
# quantile $t$ of $q$, i.e. $x = F_p^{-1}(t) \mapsto y = F_q^{-1}(t)$, so
#
# $$W_1(p, q) = \int_0^1 |F_p^{-1}(t) - F_q^{-1}(t)|\,dt = \int |F_p(x) - F_q(x)|\,dx,$$
#
# the area between the two CDFs. We compute it three ways: by quadrature of the CDFs
# (`coursekit.theory.wasserstein1`), with `scipy.stats.wasserstein_distance` on the
# same tabulated densities, and from 20,000 samples of each (sorted samples, paired in order).

# %%
x, dx = theory.grid(-6.0, 6.0, 6001)
p = theory.mixture_pdf(x, [-2.0, 1.0], [0.5, 0.6], [0.4, 0.6])
q = theory.gaussian_pdf(x, 1.5, 1.0)
w1_quadrature = theory.wasserstein1(p, q, dx)
w1_scipy = scipy.stats.wasserstein_distance(x, x, u_weights=p, v_weights=q)

rng = np.random.default_rng(SEED)
n = 20_000
which = rng.random(n) < 0.4
samples_p = np.where(which, rng.normal(-2.0, 0.5, n), rng.normal(1.0, 0.6, n))
samples_q = rng.normal(1.5, 1.0, n)
w1_samples = np.abs(np.sort(samples_p) - np.sort(samples_q)).mean()
print(f"W1 by quadrature of |F_p - F_q|:        {w1_quadrature:.4f}")
print(f"W1 by scipy on the tabulated densities: {w1_scipy:.4f}")
print(f"W1 from {n:,} sorted samples each:      {w1_samples:.4f}  (scipy on the samples: "
      f"{scipy.stats.wasserstein_distance(samples_p, samples_q):.4f})")

# %% [markdown]
# The moving plan, drawn: each arrow carries 1/K of the mass from quantile $t_k$ of $p$
# to quantile $t_k$ of $q$ ($K = 24$). The mean arrow length is a K-point estimate of $W_1$;
# on the right, the same moves are the horizontal gaps between the CDFs, whose area is $W_1$.

# %%
cdf_p, cdf_q = np.cumsum(p) * dx, np.cumsum(q) * dx
K = 24
levels = (np.arange(K) + 0.5) / K
from_x, to_x = np.interp(levels, cdf_p, x), np.interp(levels, cdf_q, x)
print(f"mean arrow length over K = {K} quantiles: {np.abs(to_x - from_x).mean():.4f} (W1 = {w1_quadrature:.4f})")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.6))
ax1.fill_between(x, p, alpha=0.35, color="C0", label="p (earth)")
ax1.fill_between(x, q, alpha=0.35, color="C1", label="q (hole)")
top = max(p.max(), q.max())
for k, (a, b) in enumerate(zip(from_x, to_x)):
    y = -0.04 * top - 0.035 * top * k
    ax1.annotate("", xy=(b, y), xytext=(a, y), arrowprops=dict(arrowstyle="->", color="k", lw=0.8))
ax1.set_ylim(-0.04 * top - 0.035 * top * K, 1.1 * top)
ax1.set_title("moving plan: quantile t of p → quantile t of q")
ax1.set_xlabel("x")
ax1.legend(loc="upper left")
ax2.plot(x, cdf_p, "C0", label="$F_p$")
ax2.plot(x, cdf_q, "C1", label="$F_q$")
ax2.fill_between(x, cdf_p, cdf_q, color="grey", alpha=0.3, label=f"area = W1 = {w1_quadrature:.3f}")
ax2.hlines(levels, np.minimum(from_x, to_x), np.maximum(from_x, to_x), color="k", lw=0.6)
ax2.set_xlabel("x")
ax2.set_title("CDFs; the horizontal segments are the moves")
ax2.legend(loc="upper left")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 2. JS has no gradient when the supports are disjoint; W1 does
#
# Let $p_{data} = U[0, 1]$ and a generator that is a shift, $p_\theta = U[\theta, \theta + 1]$.
# The generator learns through the derivative of the divergence with respect to $\theta$.
# We tabulate both densities, compute $\mathrm{JSD}(\theta)$ and $W_1(\theta)$ by quadrature,
# and their derivatives by central differences ($h = 0.01$).

# %%
dxs = 0.001
xs = -6.0 + dxs * (np.arange(16_000) + 0.5)  # cell midpoints: no grid point falls on an edge θ or θ + 1
p_data = theory.normalize(theory.uniform_pdf(xs, 0.0, 1.0), dxs)  # exactly mass 1 on the grid


def divergences(theta: float) -> tuple[float, float]:
    p_theta = theory.normalize(theory.uniform_pdf(xs, theta, theta + 1.0), dxs)
    return theory.jsd(p_data, p_theta, dxs), theory.wasserstein1(p_data, p_theta, dxs)


h = 0.01
print(f"{'θ':>5} | {'JSD':>8} {'dJSD/dθ':>9} | {'W1':>7} {'dW1/dθ':>8}    (log 2 = {math.log(2):.4f})")
rows = []
for theta in [0.25, 0.5, 0.75, 1.5, 3.0, 6.0]:
    (j_plus, w_plus), (j_minus, w_minus) = divergences(theta + h), divergences(theta - h)
    j, w = divergences(theta)
    rows.append((theta, j, (j_plus - j_minus) / (2 * h), w, (w_plus - w_minus) / (2 * h)))
    print(f"{theta:5.2f} | {j:8.4f} {rows[-1][2]:9.4f} | {w:7.4f} {rows[-1][4]:8.4f}")

# %% [markdown]
# For $\theta \ge 1$ the supports are disjoint: the JSD is stuck at $\log 2$ and its
# derivative is exactly 0, so a generator trained on it gets no signal about which way to
# move. $W_1 = |\theta|$ has derivative 1 everywhere. The same holds on samples, with
# autograd: the sorted-sample estimate of $W_1$ is differentiable in $\theta$ (every fake
# sample $u + \theta$ moves with $\theta$).

# %%
theta = torch.tensor(3.0, requires_grad=True)
real = torch.rand(4096, generator=torch.Generator().manual_seed(SEED))
fake = torch.rand(4096, generator=torch.Generator().manual_seed(SEED + 1)) + theta
w1_hat = (torch.sort(real).values - torch.sort(fake).values).abs().mean()
w1_hat.backward()
print(f"θ = 3: W1 from 4,096 samples = {w1_hat.item():.4f}, autograd dW1/dθ = {theta.grad.item():.4f}")

thetas = np.linspace(-4, 4, 161)
curves = np.array([divergences(t) for t in thetas])
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(thetas, curves[:, 0], label="JSD")
ax.plot(thetas, curves[:, 1], label="$W_1$")
ax.axhline(math.log(2), color="grey", ls=":", label="log 2")
ax.set_xlabel("θ (shift of the generator)")
ax.legend()
plt.show()

# %% [markdown]
# ## 3. The critic: no sigmoid, no BatchNorm
#
# A WGAN **critic** outputs a real-valued score, not a probability: the losses are
# `d_loss_wgan = mean f(fake) − mean f(real)` and `g_loss_wgan = −mean f(fake)`, with
# no sigmoid and no log anywhere. `coursekit.models.WGANCritic` is the DCGAN trunk with no
# BatchNorm (GroupNorm(1, C), i.e. layer norm, by default, as Gulrajani et al. Sec. 4 advise).
#
# Why no BatchNorm? The penalty constrains $\|\nabla_{\hat x} f(\hat x)\|$ *for each*
# $\hat x$. In training mode BatchNorm normalises every sample with the mean and variance of
# its batch, so $f(\hat x_i)$ depends on every other $\hat x_j$: the per-sample gradient is no
# longer a property of the critic at $\hat x_i$. Measured: the same digit scored inside two
# different batches (31 other real digits, or 31 noise images), by a BatchNorm discriminator
# and by `WGANCritic`, both freshly initialised. Then the cross-sample gradient
# $\|\partial f(x_0) / \partial x_{j \neq 0}\|$.

# %%
mnist, mnist_labels = load_mnist(train=True)
mnist_test, _ = load_mnist(train=False)
torch.manual_seed(SEED)
bn_disc, critic = DCGANDiscriminator(ndf=WIDTH), WGANCritic(ndf=WIDTH)
digit = mnist[:1]                                                       # [1, 1, 28, 28]
batch_real = mnist[1:32]                                                # [31, 1, 28, 28]
batch_noise = torch.rand(31, 1, 28, 28, generator=torch.Generator().manual_seed(SEED)) * 2 - 1
for name, model in [("DCGANDiscriminator (BatchNorm)", bn_disc), ("WGANCritic (layer norm)", critic)]:
    a, b = scores_in_batches(model, digit, [batch_real, batch_noise])
    batch = torch.cat([digit, batch_real]).requires_grad_(True)
    model.train()
    (grad,) = torch.autograd.grad(model(batch)[0], batch)              # d f(x_0) / d batch, [32, 1, 28, 28]
    cross = grad[1:].flatten(1).norm(dim=1).sum().item()
    print(f"{name:31s} score of the digit: {a:+.5f} among digits, {b:+.5f} among noise "
          f"(difference {abs(a - b):.2e}); Σ_j≠0 ‖∂f(x_0)/∂x_j‖ = {cross:.2e}")

# %% [markdown]
# ## 4. The gradient penalty
#
# The optimal critic has gradient norm 1 almost everywhere on the lines between coupled
# real and generated points (Gulrajani et al. 2017, Prop. 1). WGAN-GP therefore samples
# $\hat x = \varepsilon x + (1 - \varepsilon)\tilde x$, one $\varepsilon \sim U[0, 1]$ per
# sample, and adds $\lambda\,\mathbb E[(\|\nabla_{\hat x} f(\hat x)\|_2 - 1)^2]$ with
# $\lambda = 10$ to the critic's loss (Eq. 3). Three details matter, and are the exercise of
# this lesson: the norm is **per sample**; the gradient is taken with
# `create_graph=True` so that the penalty itself can be differentiated with respect to the
# critic's weights; and the target is 1, not 0.
#
# A small experiment: a 2-D critic trained *alone* (no generator) to separate the 25-Gaussian
# grid from a fixed N(0, 2²) cloud, with and without the penalty. Without a constraint the
# WGAN objective is unbounded: the critic just scales up.

# %%
def train_critic_alone(gp_weight: float, steps: int, seed: int = SEED) -> tuple[float, float]:
    torch.manual_seed(seed)
    f = MLP2DDiscriminator()
    opt = torch.optim.Adam(f.parameters(), lr=1e-3, betas=(0.5, 0.9))
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        real, fake = sample_grid(256, generator=g), 2.0 * torch.randn(256, 2, generator=g)
        loss = d_loss_wgan(f(real), f(fake))
        if gp_weight:
            loss = loss + gp_weight * gradient_penalty(f, real, fake, generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    real, fake = sample_grid(2048, generator=g), 2.0 * torch.randn(2048, 2, generator=g)
    norms = gradient_norms_at_interpolates(f, real, fake, generator=g)
    with torch.no_grad():
        gap = (f(real).mean() - f(fake).mean()).item()
    return gap, norms.mean().item()


CRITIC_STEPS = quick_or_full(100, 600)
for lam in (0.0, 10.0):
    gap, norm = train_critic_alone(lam, CRITIC_STEPS)
    print(f"λ = {lam:4.1f}, {CRITIC_STEPS} steps: E f(real) − E f(fake) = {gap:10.3f}, "
          f"mean ‖∇f(x̂)‖ at interpolates = {norm:8.3f}")

# %% [markdown]
# ## 5. Spectral normalisation and power iteration
#
# For a layer $x \mapsto Wx$, the Lipschitz constant is $\sigma_{max}(W)$, the largest
# singular value, and for a network of such layers with 1-Lipschitz activations (ReLU,
# LeakyReLU) it is at most the product of the layers' $\sigma_{max}$. SN replaces
# $W$ by $W / \sigma_{max}(W)$. Computing $\sigma_{max}$ exactly (an SVD) every step is
# expensive; SN estimates it by **power iteration** and keeps the vector $u$ from one step
# to the next, so one iteration per step suffices (Miyato et al. 2018, Algorithm 1):
#
# $$v \leftarrow W^\top u / \|W^\top u\|, \qquad u \leftarrow W v / \|W v\|, \qquad \sigma \approx u^\top W v.$$
#
# A common mistake (the chapter this course grew from makes it) is to "check" SN with
# `torch.norm(W)`: that is the **Frobenius** norm $\sqrt{\sum w_{ij}^2} \ge \sigma_{max}$. On
# the second conv of a freshly initialised `WGANCritic`, flattened to `[out, in·k·k]`:

# %%
W = critic.features[2].weight.detach().flatten(1).double()              # [64, 32·4·4]
exact = torch.linalg.matrix_norm(W, ord=2).item()
u = torch.randn(W.shape[0], dtype=torch.float64, generator=torch.Generator().manual_seed(SEED))
print(f"weight {list(W.shape)}: σ_max (SVD) = {exact:.5f}, Frobenius torch.norm(W) = {torch.norm(W).item():.5f} "
      f"({torch.norm(W).item() / exact:.1f}× too large)")
for n_iter in (1, 2, 5, 20, 100):
    sigma, _, _ = power_iteration(W, u, n_iter)
    print(f"  power iteration, {n_iter:3d} steps from a random u: σ ≈ {sigma.item():.5f} "
          f"(relative error {abs(sigma.item() - exact) / exact:.1e})")

sn = SNDiscriminator(ndf=WIDTH)
print("fresh SNDiscriminator, true σ_max of each layer's normalised weight:",
      {k: round(v, 4) for k, v in spectral_norms(sn).items()})

# %% [markdown]
# (`coursekit.models.spectral_norms` computes `torch.linalg.matrix_norm(W.flatten(1), ord=2)`,
# an exact SVD, of the weight each layer actually uses; `frobenius_norms` computes the mistake.)
#
# ## 6. On the 25-Gaussian grid: plain GAN vs WGAN-GP vs SN-GAN
#
# The grid of 25 Gaussians (spacing 2, std 0.05) of the PacGAN and WGAN-GP papers, small
# MLPs (3 hidden layers of 128, `MLP2DGenerator` / `MLP2DDiscriminator`), batch 256,
# Adam lr $10^{-3}$, 3 seeds each:
#
# * **plain**: non-saturating GAN, β = (0.5, 0.999), one D update per G update;
# * **WGAN-GP**: WGAN loss + 10·GP, β = (0.5, 0.9), one critic update per G update (same budget as the others);
# * **WGAN-GP ×5**: the same with the paper's 5 critic updates per G update, for fewer G updates
#   (`GRID_STEPS_GP5`), since each costs about 5 times more;
# * **SN**: non-saturating GAN with spectral normalisation on every layer of D, β = (0.5, 0.999), one D update.
#
# Plain and WGAN-GP seeds are trained together as one vectorised model
# (`coursekit.ensemble`); the SN seeds with `GANTrainer`, one after another (the
# vectorised trainer has no SN). Modes are counted with `coursekit.metrics.mode_coverage`
# on 2,500 samples (high quality = within 3 std of a centre), every few hundred steps.

# %%
centers = grid_centers()


def coverage(samples: torch.Tensor) -> dict:
    return mode_coverage(samples, centers, std=0.05)


def grid_config(**kw) -> EnsembleConfig:
    settings = dict(num_models=SEEDS, seed=SEED, data="grid", steps=GRID_STEPS, batch_size=256,
                    snapshot_every=GRID_SNAPSHOT, snapshot_samples=GRID_SAMPLES)
    return EnsembleConfig(**{**settings, **kw})


grid_runs = {}  # name -> {"snapshots": [(step, [K, N, 2])], "cpu": seconds, "D": [modules], "G": [modules]}
gp = dict(loss="wgan-gp", gp_weight=10.0, betas=(0.5, 0.9))
for name, kw in [("plain", dict(loss="bce")), ("WGAN-GP", gp),
                 ("WGAN-GP ×5", dict(gp, n_critic=5, steps=GRID_STEPS_GP5, snapshot_every=GRID_SNAPSHOT_GP5))]:
    c0 = time.process_time()
    result = train_ensemble(grid_config(**kw))
    grid_runs[name] = {"snapshots": result.snapshots, "cpu": time.process_time() - c0,
                       "D": result.discriminators, "G": result.generators}
    print(f"{name:10s}: {SEEDS} seeds × {result.config.steps} steps in {result.seconds:.1f} s wall "
          f"({grid_runs[name]['cpu']:.1f} s CPU)")

c0, sn_snaps, sn_d, sn_g = time.process_time(), {}, [], []
for k in range(SEEDS):
    torch.manual_seed(SEED + k)
    G, D = MLP2DGenerator(), MLP2DDiscriminator(spectral_norm=True)
    pool = sample_grid(100_000, generator=torch.Generator().manual_seed(SEED + k))  # fresh-enough data
    cfg = TrainConfig(steps=GRID_STEPS, batch_size=256, lr_g=1e-3, lr_d=1e-3, loss="bce", seed=SEED + k,
                      log_every=GRID_SNAPSHOT, snapshot_every=GRID_SNAPSHOT, n_snapshot=GRID_SAMPLES,
                      good_state_every=0, progress=False)
    history = GANTrainer(G, D, pool, cfg).train()
    for step, samples in history.snapshots:
        sn_snaps.setdefault(step, []).append(samples)
    sn_d.append(D)
    sn_g.append(G)
grid_runs["SN"] = {"snapshots": [(s, torch.stack(v)) for s, v in sorted(sn_snaps.items())],
                   "cpu": time.process_time() - c0, "D": sn_d, "G": sn_g}
print(f"SN        : {SEEDS} seeds × {GRID_STEPS} steps ({grid_runs['SN']['cpu']:.1f} s CPU)")

# %%
def mean_std(values, digits: int = 2) -> str:
    values = np.asarray(values, dtype=float)
    spread = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.{digits}f} ± {spread:.{digits}f}"


def captured(samples: torch.Tensor) -> set[int]:
    """Indices of the modes that are the nearest centre of at least one high-quality sample."""
    return set(np.flatnonzero(mode_histogram(samples, centers, std=0.05)).tolist())


grid_table = {}
print(f"at the end of training, mean ± std over {SEEDS} seeds ({GRID_SAMPLES} samples each); 'hops' = modes "
      "lost or found per snapshot interval, averaged over the second half of training (mode hopping)")
print(f"{'method':10s} | {'G steps':>7s} | {'modes (of 25)':>14s} | {'high quality %':>14s} | {'reverse KL':>12s} | "
      f"{'hops':>12s} | {'CPU s':>6s}")
for name, run in grid_runs.items():
    snaps = run["snapshots"]
    late = snaps[len(snaps) // 2:]
    final = [coverage(s) for s in snaps[-1][1]]
    hops = [np.mean([len(captured(a[1][k]) ^ captured(b[1][k])) for a, b in zip(late[:-1], late[1:])])
            for k in range(SEEDS)]
    grid_table[name] = {"modes": [c["modes"] for c in final], "hq": [100 * c["high_quality"] for c in final],
                        "rkl": [c["reverse_kl"] for c in final], "hops": hops}
    t = grid_table[name]
    print(f"{name:10s} | {snaps[-1][0]:7d} | {mean_std(t['modes']):>14s} | {mean_std(t['hq']):>14s} | "
          f"{mean_std(t['rkl']):>12s} | {mean_std(t['hops'], 1):>12s} | {run['cpu']:6.1f}")

# %%
by_modes = sorted(grid_table, key=lambda n: -np.mean(grid_table[n]["modes"]))
by_hops = sorted(grid_table, key=lambda n: np.mean(grid_table[n]["hops"]))
print(f"in this run: most modes captured: {by_modes[0]} ({np.mean(grid_table[by_modes[0]]['modes']):.1f} of 25), "
      f"fewest: {by_modes[-1]} ({np.mean(grid_table[by_modes[-1]]['modes']):.1f}); "
      f"fewest hops: {by_hops[0]}; most mode hopping: {by_hops[-1]} "
      "(few hops with few modes is collapse, not stability)")
print(f"largest high-quality fraction: {max(np.mean(t['hq']) for t in grid_table.values()):.1f} % "
      "(the rest of the samples lie between the modes: the generators are still spreading mass)")

# %% [markdown]
# Read the table with the costs: the WGAN-GP row with one critic update per generator update
# is the cheap setting, and the critic it trains is far from the optimal critic that the
# WGAN argument assumes; the "×5" row pays for 5 critic updates per generator update, as
# Gulrajani et al. do, and so gets fewer generator updates. The CPU column is what each
# row cost in this run (3 seeds together).
#
# Modes captured over training (mean over the seeds, band = min..max), and the last
# snapshot of the first seed of each method:

# %%
fig, axes = plt.subplots(1, 5, figsize=(18, 3.6))
for i, (name, run) in enumerate(grid_runs.items()):
    steps = [s for s, _ in run["snapshots"]]
    modes = np.array([[coverage(x)["modes"] for x in snap] for _, snap in run["snapshots"]])  # [T, K]
    axes[0].plot(steps, modes.mean(1), f"C{i}", label=name)
    axes[0].fill_between(steps, modes.min(1), modes.max(1), color=f"C{i}", alpha=0.2)
    last = run["snapshots"][-1][1][0]
    axes[i + 1].scatter(last[:, 0], last[:, 1], s=2, color=f"C{i}", alpha=0.4)
    axes[i + 1].scatter(centers[:, 0], centers[:, 1], s=12, color="k", marker="x")
    c = coverage(last)
    axes[i + 1].set_title(f"{name}, seed {SEED}: {c['modes']} modes, {100 * c['high_quality']:.1f} % HQ", fontsize=9)
    axes[i + 1].set_xlim(-6, 6)
    axes[i + 1].set_ylim(-6, 6)
    axes[i + 1].set_aspect("equal")
axes[0].set_xlabel("generator step")
axes[0].set_ylabel("modes captured (of 25)")
axes[0].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# For scale, the papers' numbers on the same grid (quoted as theirs; architectures and training
# lengths differ, so they are not directly comparable): PacGAN (Lin et al. 2018, Table 1,
# 10 trials) reports a plain GAN at 17.3 ± 0.8 modes and 94.8 % high-quality samples after
# much longer training with larger networks; VEEGAN (Srivastava et al. 2017, Table 1) reports
# 3.3 modes and 0.5 %. Our short runs are far from converged: their *high-quality*
# fraction is what says so.

# %% [markdown]
# ## 7. On MNIST: FID against wall-clock
#
# DCGAN-style models (`DCGANGenerator`, ngf = 32), batch 64, Adam lr $2\cdot10^{-4}$,
# one critic update per generator update, 3 seeds each, on the training images:
#
# * **plain**: `DCGANDiscriminator` (BatchNorm) + non-saturating loss, β = (0.5, 0.999);
# * **WGAN-GP**: `WGANCritic` (layer norm, no BatchNorm) + WGAN loss + 10·GP, β = (0.5, 0.9);
# * **SN**: `SNDiscriminator` (no normalisation layers, SN on every conv) + non-saturating loss, β = (0.5, 0.999).
#
# Every `MNIST_SNAPSHOT` steps the trainer draws a fixed batch of samples; we score each
# with an MNIST-FID: the Fréchet distance between the 128-d features of the shipped
# MNIST classifier (`coursekit.features`) on those samples and on the held-out images. The
# seeds of the three methods are interleaved, so that a machine busy with other work
# slows them alike. Times are wall-clock seconds *of this run*.

# %%
MNIST_METHODS = {
    "plain": (lambda: DCGANDiscriminator(ndf=WIDTH), dict(loss="bce")),
    "WGAN-GP": (lambda: WGANCritic(ndf=WIDTH), dict(loss="wgan", gp_weight=10.0, betas=(0.5, 0.9))),
    "SN": (lambda: SNDiscriminator(ndf=WIDTH), dict(loss="bce")),
}
classifier = load_mnist_classifier(device)
test_feats, _ = mnist_features(mnist_test, classifier=classifier, device=device, progress=False)
n_ref = min(MNIST_SAMPLES, len(mnist_test))
train_feats, _ = mnist_features(mnist[-n_ref:], classifier=classifier, device=device, progress=False)
fid_floor = fid_from_features(train_feats, test_feats)
print(f"MNIST-FID of {n_ref} *real* training images vs the {len(mnist_test)} held-out ones: {fid_floor:.2f} "
      f"(the floor at this sample size)")


def mnist_fid(samples: torch.Tensor) -> float:
    feats, _ = mnist_features(samples, classifier=classifier, device=device, progress=False)
    return fid_from_features(feats, test_feats)


mnist_runs = {name: [] for name in MNIST_METHODS}
for k in range(SEEDS):
    for name, (make_d, loss_cfg) in MNIST_METHODS.items():
        torch.manual_seed(SEED + k)
        G, D = DCGANGenerator(nz=64, ngf=WIDTH), make_d()
        cfg = TrainConfig(steps=MNIST_STEPS, batch_size=64, lr_g=2e-4, lr_d=2e-4, seed=SEED + k,
                          log_every=MNIST_SNAPSHOT, snapshot_every=MNIST_SNAPSHOT, n_snapshot=MNIST_SAMPLES,
                          good_state_every=0, progress=False, **loss_cfg)
        c0 = time.process_time()
        history = GANTrainer(G, D, mnist, cfg, device=device).train()
        cpu = time.process_time() - c0
        at = dict(zip(history.steps, history.time))
        curve = [(step, at.get(step, 0.0), mnist_fid(samples)) for step, samples in history.snapshots]
        mnist_runs[name].append({"curve": curve, "cpu": cpu, "wall": history.time[-1], "G": G, "D": D,
                                 "samples": history.snapshots[-1][1]})
        print(f"  seed {SEED + k} {name:8s}: FID {curve[-1][2]:7.2f} after {MNIST_STEPS} steps, "
              f"{history.time[-1]:.1f} s wall, {cpu:.1f} s CPU")

# %%
print(f"after {MNIST_STEPS} generator steps, mean ± std over {SEEDS} seeds (FID floor {fid_floor:.2f}):")
print(f"{'method':8s} | {'MNIST-FID':>15s} | {'best FID seen':>15s} | {'wall s / run':>13s} | {'CPU s / run':>13s}")
mnist_table = {}
for name, runs in mnist_runs.items():
    final = [r["curve"][-1][2] for r in runs]
    best = [min(f for _, _, f in r["curve"][1:]) for r in runs]
    mnist_table[name] = {"fid": final, "best": best, "wall": [r["wall"] for r in runs], "cpu": [r["cpu"] for r in runs]}
    t = mnist_table[name]
    print(f"{name:8s} | {mean_std(t['fid']):>15s} | {mean_std(t['best']):>15s} | {mean_std(t['wall'], 1):>13s} | "
          f"{mean_std(t['cpu'], 1):>13s}")

best = min(mnist_table, key=lambda n: np.mean(mnist_table[n]["fid"]))
print(f"in this run: lowest final MNIST-FID: {best} ({np.mean(mnist_table[best]['fid']):.1f}); "
      f"largest spread over seeds: {max(mnist_table, key=lambda n: np.std(mnist_table[n]['fid']))}")
falling = sum(r["curve"][-1][2] == min(f for _, _, f in r["curve"]) for runs in mnist_runs.values() for r in runs)
print(f"the FID was still at its lowest at the last snapshot in {falling} of {SEEDS * len(mnist_runs)} runs "
      f"(a run that has not levelled off is far from converged; the floor is {fid_floor:.1f})")
fig, axes = plt.subplots(1, 4, figsize=(15, 3.8), gridspec_kw=dict(width_ratios=[1.4, 1, 1, 1]))
for i, (name, runs) in enumerate(mnist_runs.items()):
    secs = np.array([[t for _, t, _ in r["curve"]] for r in runs]).mean(0)
    fids = np.array([[f for _, _, f in r["curve"]] for r in runs])            # [seeds, snapshots]
    axes[0].plot(secs, fids.mean(0), f"C{i}o-", label=name)
    axes[0].fill_between(secs, fids.min(0), fids.max(0), color=f"C{i}", alpha=0.2)
    draw_image_grid(axes[i + 1], runs[0]["samples"][:36], nrow=6,
                    title=f"{name}, seed {SEED}: FID {runs[0]['curve'][-1][2]:.1f}")
axes[0].axhline(fid_floor, color="grey", ls=":", label="real vs real")
axes[0].set_xlabel("wall-clock seconds (this run, this machine)")
axes[0].set_ylabel("MNIST-FID (lower is better)")
axes[0].set_yscale("log")
axes[0].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 8. What a step costs: none vs GP vs SN, on this machine
#
# The three critics below share *one* trunk (`WGANCritic(norm="none")`: strided convs,
# LeakyReLU, no normalisation layer), so that the only difference is the constraint:
# **none** (non-saturating loss), **GP** (WGAN loss + 10·GP: a second, double backward
# pass through the critic at the interpolates) and **SN** (`SNDiscriminator`: one power
# iteration per layer per forward). As in SN-GAN's Appendix C, one timed step is one
# generator update after $n_{dis} = 5$ critic updates, batch 64. The variants run
# **round-robin** (none, GP, SN, then GP, SN, none, …) and we report medians over the
# rounds, so background load slows all three alike; the ratios are medians of the per-round
# ratios. CPU time counts only this process's computing and is less affected by other work
# on the machine than wall-clock time.

# %%
def step_functions(make_g, make_critic, make_sn, data: torch.Tensor, batch_size: int) -> dict:
    variants = {
        "none": (make_critic, dict(loss="bce")),
        "GP": (make_critic, dict(loss="wgan", gp_weight=10.0)),
        "SN": (make_sn, dict(loss="bce")),
    }
    fns = {}
    for name, (make_d, loss_cfg) in variants.items():
        torch.manual_seed(SEED)
        cfg = TrainConfig(batch_size=batch_size, n_critic=5, log_every=10**9, good_state_every=0,
                          progress=False, **loss_cfg)
        trainer = GANTrainer(make_g(), make_d(), data, cfg, device=device)
        fns[name] = lambda trainer=trainer: trainer.train(steps=1)
    return fns


timings = {
    "MNIST, DCGAN-style convs (ndf = ngf = 32)": time_interleaved(step_functions(
        lambda: DCGANGenerator(nz=64, ngf=WIDTH), lambda: WGANCritic(ndf=WIDTH, norm="none"),
        lambda: SNDiscriminator(ndf=WIDTH), mnist, 64), **TIMING),
    "25-Gaussian grid, MLPs (3 × 128)": time_interleaved(step_functions(
        MLP2DGenerator, MLP2DDiscriminator, lambda: MLP2DDiscriminator(spectral_norm=True),
        sample_grid(20_000, generator=torch.Generator().manual_seed(SEED)), 256), **TIMING),
}

# %%
for title, t in timings.items():
    print(f"{title}: ms per generator update (5 critic updates + 1 generator update), median of {TIMING['repeats']} rounds")
    print(f"  {'variant':7s} | {'wall ms':>9s} | {'CPU ms':>9s} | {'× none (CPU)':>12s}")
    for row in t.rows("none"):
        print(f"  {row['name']:7s} | {row['wall_ms']:9.1f} | {row['cpu_ms']:9.1f} | {row['cpu_ratio']:12.2f}")
    print(f"  GP / SN = {t.ratio('GP', 'SN', 'cpu'):.2f} (CPU), {t.ratio('GP', 'SN'):.2f} (wall)\n")
print("SN-GAN (Miyato et al. 2018, App. C), CIFAR-10 on a GPU, seconds per 100 generator updates with n_dis = 5,")
print("read off their bar chart (the paper's numbers, not ours): WGAN-GP ≈ 40, SN ≈ 30, plain ≈ 28, i.e. GP ≈ 1.3–1.45 × SN.")

# %% [markdown]
# ## 9. Do the constraints hold? Lipschitz checks with real numbers
#
# **SN.** After training, the true largest singular value (`torch.linalg.matrix_norm(W.flatten(1),
# ord=2)`, an exact SVD) of every layer's normalised weight, and beside it what the Frobenius
# norm `torch.norm(W)` would have "shown":

# %%
sn_models = [("grid", k, D) for k, D in enumerate(grid_runs["SN"]["D"])] + \
            [("MNIST", k, r["D"]) for k, r in enumerate(mnist_runs["SN"])]
sigma_dev = []
for data_name, k, D in sn_models:
    sig, fro = spectral_norms(D), frobenius_norms(D)
    sigma_dev += [abs(v - 1) for v in sig.values()]
    if k == 0:
        print(f"{data_name}, seed {SEED}:")
        for layer in sig:
            print(f"  {layer:18s} σ_max = {sig[layer]:.4f}   torch.norm(W) = {fro[layer]:.3f}  (Frobenius, not σ)")
print(f"all {len(sigma_dev)} SN layers of the {len(sn_models)} trained SN models: max |σ_max − 1| = {max(sigma_dev):.4f}")

# %% [markdown]
# **GP.** The mean gradient norm $\|\nabla_{\hat x} f(\hat x)\|$ of each trained critic at
# random interpolates between held-out real data and its own generator's samples; the plain
# and SN discriminators for contrast (they output logits, so there is no target of 1 for
# them: an SN network is only guaranteed to stay *below* the product of its layers' σ, i.e. 1).
# The penalty is a soft constraint: it holds only as well as the critic is trained, which is
# why the number of critic updates per generator update matters here.

# %%
def interpolate_norms(D, G, real: torch.Tensor, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        fake = G(torch.randn(len(real), G.nz, generator=g))
    D.eval()  # BatchNorm: running statistics; the BN-free critics are unaffected
    return gradient_norms_at_interpolates(D, real, fake, generator=g)


grad_table = {}
grid_real = sample_grid(2048, generator=torch.Generator().manual_seed(SEED + 100))
print(f"{'data':6s} {'method':8s} | mean ‖∇f(x̂)‖ per seed")
for name, run in grid_runs.items():
    grad_table[("grid", name)] = [interpolate_norms(D, G, grid_real, SEED + k).mean().item()
                                  for k, (D, G) in enumerate(zip(run["D"], run["G"]))]
for name, runs in mnist_runs.items():
    grad_table[("MNIST", name)] = [interpolate_norms(r["D"], r["G"], mnist_test[:512], SEED + k).mean().item()
                                   for k, r in enumerate(runs)]
for (data_name, name), values in grad_table.items():
    print(f"{data_name:6s} {name:8s} | " + "  ".join(f"{v:8.3f}" for v in values) + f"   (mean ± std {mean_std(values, 3)})")

# %% [markdown]
# ## 10. Summary of this run
#
# The numbers below are read from the variables above, not typed in.

# %%
def fmt(values, digits: int = 2) -> str:
    return mean_std(values, digits)


mn, gr = timings["MNIST, DCGAN-style convs (ndf = ngf = 32)"], timings["25-Gaussian grid, MLPs (3 × 128)"]
print(f"mode: {'quick' if GRID_STEPS < 1000 else 'full'} | lesson wall-clock so far: {time.perf_counter() - LESSON_START:.0f} s")
print(f"1-D: W1 = {w1_quadrature:.4f} (quadrature) = {w1_scipy:.4f} (scipy); at θ = 3, dJSD/dθ = {rows[4][2]:.4f}, "
      f"dW1/dθ = {rows[4][4]:.4f}")
print("grid, modes of 25 / HQ %: " + "; ".join(f"{n} {fmt(t['modes'], 1)} / {fmt(t['hq'], 1)}" for n, t in grid_table.items()))
print("MNIST-FID: " + "; ".join(f"{n} {fmt(t['fid'], 1)}" for n, t in mnist_table.items()) + f" (floor {fid_floor:.1f})")
print(f"step cost, MNIST convs: GP/SN = {mn.ratio('GP', 'SN', 'cpu'):.2f}, SN/none = {mn.ratio('SN', 'none', 'cpu'):.2f}, "
      f"GP/none = {mn.ratio('GP', 'none', 'cpu'):.2f} (CPU); 2-D MLPs: GP/SN = {gr.ratio('GP', 'SN', 'cpu'):.2f} "
      "(paper: GP ≈ 1.3–1.45 × SN)")
print(f"Lipschitz: max |σ_max − 1| over SN layers = {max(sigma_dev):.4f} (target ≤ 0.05: "
      f"{'met' if max(sigma_dev) <= 0.05 else 'NOT met'})")
for (data_name, name), values in grad_table.items():
    if name.startswith("WGAN-GP"):
        ok = abs(np.mean(values) - 1) <= 0.15
        print(f"  mean ‖∇f(x̂)‖ under GP, {data_name} {name}: {fmt(values, 3)} "
              f"(target 1 ± 0.15: {'met' if ok else 'NOT met'})")
