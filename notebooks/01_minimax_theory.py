# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 1: the minimax game, checked by computation
#
# A GAN is a two-player game (Goodfellow et al. 2014). A generator $G$ maps noise
# $z \sim p_z$ to samples with density $p_g$; a discriminator $D$ outputs the
# probability that its input is real. They play
#
# $$\min_G \max_D V(D, G) = \mathbb E_{x \sim p_{data}}[\log D(x)] + \mathbb E_{z \sim p_z}[\log(1 - D(G(z)))] \qquad \text{(Eq. 1)}$$
#
# The paper proves two facts about this game and gives one practical rule. We won't
# take them on trust: in one dimension every density can be tabulated on a grid, every
# integral is a sum, and every claim below is checked by a computation whose result is
# printed.
#
# 1. For a fixed $G$, the best discriminator is $D^*(x) = \frac{p_{data}(x)}{p_{data}(x) + p_g(x)}$ (Proposition 1).
# 2. At that discriminator the game's value is $C(G) = -\log 4 + 2\,\mathrm{JSD}(p_{data}\,\|\,p_g)$, minimised iff $p_g = p_{data}$ (Theorem 1).
# 3. In practice G should *not* minimise $\log(1 - D(G(z)))$, whose gradient vanishes when
#    D wins; it should minimise $-\log D(G(z))$ instead (Sec. 3).
#
# Then we look at what the JSD does as the two densities move apart, which is
# the reason lesson 5 switches to the Wasserstein distance.
#
# Conventions: logs are natural; a discriminator network outputs a **logit** $l$ and
# $D = \sigma(l)$; losses are the functions of `coursekit.losses`, which take logits.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy.spatial.distance import jensenshannon

from coursekit import theory
from coursekit.losses import d_loss_bce, g_loss_nonsaturating, g_loss_saturating
from coursekit.runtime import quick_or_full, start_lesson

SEED = 0
torch.set_num_threads(1)  # every model here has a few thousand parameters: one thread is enough
device = start_lesson(seed=SEED)

D_STAR_STEPS = quick_or_full(300, 2000)  # Adam steps for the trained discriminator
D_STAR_BATCH = quick_or_full(256, 1024)
GAN_WARMUP = quick_or_full(200, 500)  # discriminator-only steps before the 1-D GAN starts
GAN_STEPS = quick_or_full(300, 1000)
print(f"D* check: {D_STAR_STEPS} steps of batch {D_STAR_BATCH}; 1-D GAN: {GAN_WARMUP} warm-up + {GAN_STEPS} steps")

# %% [markdown]
# ## 1. Two densities on a grid
#
# $p_{data} = \mathcal N(0, 1)$, and a generator that got the data wrong: $p_g$ is a
# two-component mixture, $\tfrac12\mathcal N(-1.5, 0.6^2) + \tfrac12 \mathcal N(2, 0.8^2)$.
# `coursekit.theory` tabulates them on a uniform grid; integrals are Riemann sums
# $\sum_i f(x_i)\,\Delta x$.

# %%
x, dx = theory.grid(-8.0, 8.0, 3201)
p_data = theory.gaussian_pdf(x, 0.0, 1.0)
G_MUS, G_SIGMAS = [-1.5, 2.0], [0.6, 0.8]
p_g = theory.mixture_pdf(x, G_MUS, G_SIGMAS)
print(f"grid: {x.size} points on [{x[0]}, {x[-1]}], dx = {dx:.4f}")
print(f"∫ p_data dx = {p_data.sum() * dx:.6f}, ∫ p_g dx = {p_g.sum() * dx:.6f}")

# %% [markdown]
# ## 2. The optimal discriminator, in closed form and trained
#
# For fixed $G$, $V(D,G) = \int p_{data}(x) \log D(x) + p_g(x) \log(1 - D(x))\,dx$. For each
# $x$ the integrand $a \log y + b \log(1-y)$ is maximised at $y = a/(a+b)$, hence
# $D^*$. First, the value of $V$ at a few discriminators, by quadrature:

# %%
d_star = theory.optimal_discriminator(p_data, p_g)
c_of_g = theory.virtual_training_criterion(p_data, p_g, dx)
candidates = {
    "D = 1/2 everywhere": np.full_like(x, 0.5),
    "D = D* blurred (0.8 D* + 0.1)": 0.8 * d_star + 0.1,
    "D = D*": d_star,
}
for name, d in candidates.items():
    print(f"V({name:31s}) = {theory.value_function(p_data, p_g, d, dx):+.5f}")
print(f"C(G) = max_D V             = {c_of_g:+.5f}   (-log 4 = {-math.log(4):+.5f})")

# %% [markdown]
# $D^*$ gives the largest value. Now the real test: a discriminator that never sees a
# density, only samples. We train a small MLP with the discriminator's loss
# `d_loss_bce` (the negative of $V$ estimated on a batch) on samples from the two
# densities, then compare $\sigma(\text{logit}(x))$ with the closed form.

# %%
def sample_p_g(n: int) -> torch.Tensor:
    """n samples of the mixture p_g, shape [n, 1]."""
    component = torch.randint(0, 2, (n,))
    mus, sigmas = torch.tensor(G_MUS), torch.tensor(G_SIGMAS)
    return (mus[component] + sigmas[component] * torch.randn(n)).unsqueeze(1)


def mlp_discriminator(width: int = 64) -> nn.Module:
    """1 -> width -> width -> 1 logit."""
    return nn.Sequential(
        nn.Linear(1, width), nn.LeakyReLU(0.2), nn.Linear(width, width), nn.LeakyReLU(0.2), nn.Linear(width, 1)
    )


torch.manual_seed(SEED)
disc = mlp_discriminator()
opt = torch.optim.Adam(disc.parameters(), lr=1e-3)
schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, D_STAR_STEPS)  # decay the lr to average out sampling noise
for step in range(D_STAR_STEPS):
    real, fake = torch.randn(D_STAR_BATCH, 1), sample_p_g(D_STAR_BATCH)
    loss = d_loss_bce(disc(real), disc(fake))
    opt.zero_grad()
    loss.backward()
    opt.step()
    schedule.step()

with torch.no_grad():
    d_trained = torch.sigmoid(disc(torch.tensor(x, dtype=torch.float32).unsqueeze(1))).squeeze(1).double().numpy()

region = np.maximum(p_data, p_g) > 0.05  # where at least one density is non-negligible (samples exist)
error = np.abs(d_trained - d_star)
with torch.no_grad():  # -V(D_trained) on fresh samples: E_data[-log D] + E_g[-log(1 - D)], with its standard error
    n_fresh = 200_000
    real_terms, fake_terms = F.softplus(-disc(torch.randn(n_fresh, 1))), F.softplus(disc(sample_p_g(n_fresh)))
    neg_v = (real_terms.mean() + fake_terms.mean()).item()
    neg_v_se = math.sqrt((real_terms.var() / n_fresh + fake_terms.var() / n_fresh).item())
print(f"last training batch ({D_STAR_BATCH} + {D_STAR_BATCH} samples): loss -V = {loss.item():.4f}")
print(f"-V(D_trained) on {n_fresh:,} fresh samples of each = {neg_v:.4f} ± {neg_v_se:.4f} (standard error); "
      f"the minimum over all D, -C(G) = {-c_of_g:.4f}")
print(f"max |D_trained - D*| where max(p_data, p_g) > 0.05 (x in [{x[region].min():.2f}, {x[region].max():.2f}]): "
      f"{error[region].max():.4f}")
print(f"mean |D_trained - D*| weighted by (p_data + p_g)/2: {(error * (p_data + p_g) / 2).sum() * dx:.4f}")
print(f"V(D_trained) by quadrature on that region's grid = "
      f"{theory.value_function(p_data * region, p_g * region, d_trained, dx):+.5f}  vs  "
      f"V(D*) on the same region = {theory.value_function(p_data * region, p_g * region, d_star, dx):+.5f}")

# %%
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.plot(x, p_data, color="tab:blue", label="$p_{data}$ = N(0, 1)")
ax.plot(x, p_g, color="tab:orange", label="$p_g$ (mixture)")
ax.plot(x, d_star, "k", lw=2, label=r"$D^* = p_{data} / (p_{data} + p_g)$")
ax.plot(x, d_trained, "r--", lw=2, label=f"trained MLP, {D_STAR_STEPS} Adam steps")
ax.axvspan(x[region].min(), x[region].max(), color="0.9", zorder=-1, label="max($p_{data}$, $p_g$) > 0.05")
ax.set_xlim(-5, 5)
ax.set_xlabel("x")
ax.legend(loc="upper left", fontsize=8)
ax.set_title("The trained discriminator approaches the closed-form D*")
plt.show()

# %% [markdown]
# Inside the shaded region, where at least one of the two densities puts its samples,
# the trained network follows $D^*$ (the printed maximum error above is measured over
# that region). Outside it the network sees (almost) no data and extrapolates as it
# likes: $D^*$ is a statement about where the densities live.
#
# The loss of the last training batch can come out *below* $-C(G)$, the smallest value
# any discriminator can reach: it is an average over one batch, and sampling noise moves
# it by more than the gap. Estimated on many fresh samples, with its standard error (the
# second printed line), $-V$ of the trained network sits just above the minimum, as it must.
#
# ## 3. $C(G) = -\log 4 + 2\,\mathrm{JSD}$, by quadrature
#
# Plugging $D^*$ into $V$ gives the *virtual training criterion* $C(G)$ (Eq. 4). Theorem 1
# says it equals $-\log 4 + 2\,\mathrm{JSD}(p_{data}\,\|\,p_g)$. Left: $V(D^*, G)$ by
# quadrature (`theory.virtual_training_criterion`). Right: the JSD from an independent
# implementation, `scipy.spatial.distance.jensenshannon` (which returns the square
# root of the JSD). scipy rescales its inputs to sum to 1, so we first rescale every
# tabulated density to $\sum_i p(x_i)\,\Delta x = 1$ (`theory.normalize`): both sides
# then integrate exactly the same densities. Several generators:

# %%
generators = {
    "p_g = p_data": theory.gaussian_pdf(x, 0.0, 1.0),
    "N(0.5, 1)": theory.gaussian_pdf(x, 0.5, 1.0),
    "N(0, 2^2)": theory.gaussian_pdf(x, 0.0, 2.0),
    "N(3, 0.5^2)": theory.gaussian_pdf(x, 3.0, 0.5),
    "mixture (above)": p_g,
    "U[-1, 1]": theory.uniform_pdf(x, -1.0, 1.0),
    "U[4, 6] (almost disjoint)": theory.uniform_pdf(x, 4.0, 6.0),
}
p_data_n = theory.normalize(p_data, dx)
print(f"{'generator':28s} {'C(G) = V(D*,G)':>15s} {'-log4 + 2 JSD':>15s} {'|difference|':>13s}")
worst = 0.0
for name, q in generators.items():
    q = theory.normalize(q, dx)
    left = theory.virtual_training_criterion(p_data_n, q, dx)
    right = -math.log(4) + 2 * jensenshannon(p_data_n, q, base=math.e) ** 2
    worst = max(worst, abs(left - right))
    print(f"{name:28s} {left:15.6f} {right:15.6f} {abs(left - right):13.2e}")
print(f"largest difference: {worst:.2e} (< 1e-3: {worst < 1e-3}); minimum -log 4 = {-math.log(4):.6f} at p_g = p_data")

# %% [markdown]
# The two columns agree to floating-point round-off (the largest difference is
# printed), and $C(G)$ is smallest, $-\log 4$, exactly when $p_g = p_{data}$: so if D is
# always optimal, minimising $C$ over $G$ drives $p_g$ to $p_{data}$.
#
# ## 4. As the densities move apart: JSD flattens at log 2, Wasserstein-1 keeps growing
#
# Take $p_{data} = \mathcal N(0, 0.5^2)$ and slide $p_g = \mathcal N(\theta, 0.5^2)$ away.
# The JSD cannot exceed $\log 2$, which it reaches exactly only when the supports are
# disjoint. Two Gaussians share the whole real line as support, so their JSD only
# *approaches* $\log 2$ as their overlap vanishes, but it gets there fast. The
# Wasserstein-1 (earth mover's) distance, $\int |F_{p}(x) - F_{q}(x)|\,dx$ in one dimension,
# is exactly $|\theta|$ here: it keeps telling the generator how far away it is.

# %%
wide_x, wide_dx = theory.grid(-6.0, 18.0, 9601)
base = theory.gaussian_pdf(wide_x, 0.0, 0.5)
shifts = np.array([0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0])
jsds, w1s = [], []
print(f"{'theta':>6s} {'JSD':>10s} {'log2 - JSD':>11s} {'W1':>8s} {'|theta|':>8s}")
for theta in shifts:
    q = theory.gaussian_pdf(wide_x, theta, 0.5)
    jsds.append(theory.jsd(base, q, wide_dx))
    w1s.append(theory.wasserstein1(base, q, wide_dx))
    print(f"{theta:6.2f} {jsds[-1]:10.6f} {math.log(2) - jsds[-1]:11.2e} {w1s[-1]:8.4f} {abs(theta):8.4f}")

# %%
dense_shifts = np.linspace(0, 12, 121)
dense = [(theory.jsd(base, q, wide_dx), theory.wasserstein1(base, q, wide_dx))
         for q in (theory.gaussian_pdf(wide_x, t, 0.5) for t in dense_shifts)]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
ax1.plot(dense_shifts, [j for j, _ in dense], label="JSD")
ax1.axhline(math.log(2), color="k", ls=":", label="log 2")
ax1.set_xlabel(r"shift $\theta$")
ax1.set_title(r"JSD$(p_{data}\,\|\,p_g)$ flattens at log 2")
ax1.set_ylabel("JSD (nats)")
ax1.legend()
ax2.plot(dense_shifts, [w for _, w in dense], label="W1 (quadrature)")
ax2.plot(dense_shifts, dense_shifts, "k:", label=r"$|\theta|$")
ax2.set_xlabel(r"shift $\theta$")
ax2.set_title("W1 keeps growing")
ax2.set_ylabel("W1")
ax2.legend()
plt.show()
saturated = shifts[np.array(jsds) > math.log(2) - 1e-3]
print(f"JSD is within 1e-3 of log 2 from theta = {saturated.min():g} on; "
      f"W1 at theta = 4, 8, 12: {w1s[list(shifts).index(4.0)]:.3f}, {w1s[list(shifts).index(8.0)]:.3f}, "
      f"{w1s[list(shifts).index(12.0)]:.3f}")

# %% [markdown]
# From the shift printed above on (eight standard deviations), the JSD is within 1e-3
# of $\log 2$, so the minimax criterion $C(G)$ is almost flat; from $\theta = 8$ on,
# $\log 2 - \mathrm{JSD}$ is at the level of floating-point round-off (the tiny negative
# values in the table). A generator there could move a long way without changing $C(G)$:
# that criterion has almost no slope to follow. W1 equals $|\theta|$ throughout. Drag the slider to
# see both densities and both curves (run the cell if no slider shows, e.g. in a static
# view):

# %%
from coursekit.widgets import jsd_w1_explorer

jsd_w1_explorer(sigma=0.5, max_shift=8.0)

# %% [markdown]
# **A flat $C(G)$ does not mean a flat generator loss.** $C(G)$ is what the generator
# faces when it minimises $V$ itself (the *saturating* loss of the next section) against
# the optimal $D^*$. In practice the generator minimises $-\log D(G(z))$ instead (the
# *non-saturating* loss, section 5). Arjovsky & Bottou (2017, Theorem 2.5) show what that
# loss follows at $D^*$: holding $D^*$ fixed at the current $\theta_0$,
# $$\nabla_\theta\, \mathbb E_{x \sim p_{g_\theta}}[-\log D^*_{\theta_0}(x)]\Big|_{\theta_0} =
# \nabla_\theta\big[\mathrm{KL}(p_{g_\theta}\,\|\,p_{data}) - 2\,\mathrm{JSD}(p_{g_\theta}\,\|\,p_{data})\big]\Big|_{\theta_0}.$$
# The KL between our two Gaussians is $\theta^2 / (2\sigma^2)$, which keeps growing. Below, the
# left side by quadrature and a central difference (with $-\log D^* = \log(p_{data} + p_g) - \log p_{data}$
# computed from log-densities, so nothing underflows), the right side from the closed-form
# KL and the quadrature JSD, beside the slope of $C(G)$:

# %%
def log_gauss(x: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    return -0.5 * ((x - mu) / sigma) ** 2 - math.log(sigma * math.sqrt(2 * math.pi))


SIGMA, H = 0.5, 1e-3
log_p_data = log_gauss(wide_x, 0.0, SIGMA)
jsd_at = lambda t: theory.jsd(base, theory.gaussian_pdf(wide_x, t, SIGMA), wide_dx)
kl_at = lambda t: t**2 / (2 * SIGMA**2)  # KL(N(t, s^2) || N(0, s^2))
print(f"{'theta0':>6s} {'dC/dtheta':>10s} {'d/dtheta E[-log D*]':>20s} {'d/dtheta (KL - 2 JSD)':>22s}")
ab_gap = 0.0
for theta0 in [0.5, 1.0, 2.0, 4.0, 8.0, 12.0]:
    minus_log_d_star = np.logaddexp(log_p_data, log_gauss(wide_x, theta0, SIGMA)) - log_p_data  # D* frozen at theta0
    expected = lambda t: float((np.exp(log_gauss(wide_x, t, SIGMA)) * minus_log_d_star).sum() * wide_dx)
    slope_ns = (expected(theta0 + H) - expected(theta0 - H)) / (2 * H)
    slope_ab = ((kl_at(theta0 + H) - 2 * jsd_at(theta0 + H)) - (kl_at(theta0 - H) - 2 * jsd_at(theta0 - H))) / (2 * H)
    slope_c = 2 * (jsd_at(theta0 + H) - jsd_at(theta0 - H)) / (2 * H)
    ab_gap = max(ab_gap, abs(slope_ns - slope_ab))
    print(f"{theta0:6.1f} {slope_c:10.4f} {slope_ns:20.4f} {slope_ab:22.4f}")
print(f"largest |difference| between the two right-hand columns: {ab_gap:.1e}")

# %% [markdown]
# The two right-hand columns agree, and at $\theta = 8$ the non-saturating loss has a
# slope of $4\theta$ while $C(G)$'s is zero: far from the data, the non-saturating
# generator is pushed back, the minimax one is not. Section 6 trains a generator that
# starts in this flat region.
# A trained discriminator is not $D^*$ either: its logit is a smooth function of $x$
# that keeps changing where there are no samples, so it too gives a slope there.
#
# ## 5. Two generator losses and their gradients
#
# In Eq. 1, $G$ minimises $\log(1 - D(G(z)))$: the **saturating** loss
# (`g_loss_saturating`). Goodfellow et al. note that early in training, when D rejects
# fakes confidently, this term saturates, and suggest that $G$ maximise $\log D(G(z))$
# instead: the **non-saturating** loss $-\log D(G(z))$ (`g_loss_nonsaturating`). Both have
# the same fixed point. Their gradients with respect to the logit $l$ of a fake are what
# the generator receives; autograd computes them, one logit per batch element (the mean
# is multiplied by the batch size so each element's gradient is not divided by it).

# %%
logits = torch.linspace(-12.0, 12.0, 961, requires_grad=True)
d_of_fake = torch.sigmoid(logits).detach()
curves = {}
for name, loss_fn in [("saturating  log(1 - D)", g_loss_saturating), ("non-saturating  -log D", g_loss_nonsaturating)]:
    (grad,) = torch.autograd.grad(loss_fn(logits) * logits.numel(), logits)
    with torch.no_grad():
        per_sample = torch.stack([loss_fn(l.view(1)) for l in logits])
    curves[name] = (per_sample, grad)

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
for name, (value, grad) in curves.items():
    ax1.plot(d_of_fake, value, label=name)
    ax2.semilogy(d_of_fake, grad.abs(), label=name)
for ax in (ax1, ax2):
    ax.set_xscale("logit")  # stretches both ends, D -> 0 and D -> 1
ax1.set_xlabel("D(G(z)) (logit scale)")
ax1.set_ylabel("generator loss")
ax1.legend()
ax2.set_xlabel("D(G(z)) (logit scale)")
ax2.set_ylabel("|d loss / d logit|")
ax2.legend()
fig.suptitle("Where D rejects fakes (left end), only the non-saturating loss has a gradient")
plt.show()

print(f"{'D(G(z))':>9s} {'|grad| saturating':>18s} {'|grad| non-sat.':>16s}   (1 - D, D) for comparison")
for target in [1e-5, 1e-3, 1e-1, 0.5, 0.9]:
    i = int((d_of_fake - target).abs().argmin())
    g_sat, g_ns = (abs(float(curves[k][1][i])) for k in curves)
    print(f"{float(d_of_fake[i]):9.1e} {g_sat:18.3e} {g_ns:16.3e}   ({1 - float(d_of_fake[i]):.3e}, {float(d_of_fake[i]):.3e})")

# %% [markdown]
# The table shows the closed forms hiding in the autograd numbers:
# $\partial_l \log(1 - \sigma(l)) = -\sigma(l) = -D$, and $\partial_l\,(-\log\sigma(l)) = -(1 - D)$.
# When D is sure a sample is fake ($D \to 0$) the saturating loss's gradient goes to
# zero with $D$; the non-saturating one goes to 1. Near $D = 1$ it is the other way
# round, but that is where the generator is already winning.
#
# ## 6. A 1-D GAN where the saturating loss stalls
#
# Now a real game. Data: $\mathcal N(0, 1)$. Generator: $G(z) = a z + b$ with
# $z \sim \mathcal N(0,1)$, so $p_g = \mathcal N(b, a^2)$ and the mean of $G(z)$ is $b$.
# It starts at $a = 1,\ b = -8$, eight standard deviations of the data away (where
# section 4 found $C(G)$ almost flat), and the discriminator (the MLP above,
# trained with Adam) is first trained alone for a few hundred steps so that it rejects
# the fakes confidently. Then the usual alternation: one D step, one G step. The
# generator uses SGD with momentum 0.9 (Goodfellow et al. 2014 used momentum), so its
# steps are proportional to its gradient. Both runs use the same seed and settings;
# only the generator loss differs.

# %%
def train_1d_gan(g_loss, g_optimizer: str = "sgd", seed: int = SEED, mu0: float = -8.0,
                 warmup: int = GAN_WARMUP, steps: int = GAN_STEPS, batch: int = 256) -> dict:
    """Train G(z) = a z + b against an MLP discriminator; record per-step statistics."""
    torch.manual_seed(seed)
    gen = nn.Linear(1, 1)
    with torch.no_grad():
        gen.weight.fill_(1.0)
        gen.bias.fill_(mu0)
    disc = mlp_discriminator(32)
    opt_d = torch.optim.Adam(disc.parameters(), lr=1e-3, betas=(0.5, 0.999))
    if g_optimizer == "sgd":
        opt_g = torch.optim.SGD(gen.parameters(), lr=5e-3, momentum=0.9)
    else:
        opt_g = torch.optim.Adam(gen.parameters(), lr=1e-2, betas=(0.5, 0.999))
    log = {"grad_norm_g": [], "mean_g": [], "std_g": [], "d_fake": [], "d_real": [], "d_loss": []}
    for step in range(warmup + steps):
        real = torch.randn(batch, 1)
        fake = gen(torch.randn(batch, 1)).detach()
        real_logits, fake_logits = disc(real), disc(fake)
        d_loss = d_loss_bce(real_logits, fake_logits)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        if step < warmup:
            continue
        fake_logits = disc(gen(torch.randn(batch, 1)))
        g_loss_value = g_loss(fake_logits)
        opt_g.zero_grad()
        g_loss_value.backward()
        grad_norm = torch.cat([p.grad.flatten() for p in gen.parameters()]).norm()
        opt_g.step()
        log["grad_norm_g"].append(grad_norm.item())
        log["mean_g"].append(gen.bias.item())
        log["std_g"].append(abs(gen.weight.item()))
        log["d_fake"].append(torch.sigmoid(fake_logits).mean().item())
        log["d_real"].append(torch.sigmoid(real_logits).mean().item())
        log["d_loss"].append(d_loss.item())
    return {k: np.array(v) for k, v in log.items()}


runs = {"saturating": train_1d_gan(g_loss_saturating), "non-saturating": train_1d_gan(g_loss_nonsaturating)}
print(f"seed = {SEED}; generator starts at mean -8; D warmed up for {GAN_WARMUP} steps; {GAN_STEPS} GAN steps")
print(f"{'loss':15s} {'D(G(z)) step 0':>15s} {'|grad G| step 0':>16s} {'step 50':>10s} "
      f"{'mean G(z) end':>14s} {'std G(z) end':>13s} {'D(G(z)) end':>12s}")
for name, r in runs.items():
    print(f"{name:15s} {r['d_fake'][0]:15.2e} {r['grad_norm_g'][0]:16.2e} {r['grad_norm_g'][50]:10.2e} "
          f"{r['mean_g'][-1]:14.3f} {r['std_g'][-1]:13.3f} {r['d_fake'][-1]:12.2e}")
ratio = runs["non-saturating"]["grad_norm_g"][0] / runs["saturating"]["grad_norm_g"][0]
print(f"at the first step the non-saturating gradient is {ratio:.0f}x larger")

# %%
fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(14, 3.5))
first = min(200, GAN_STEPS)
for name, r in runs.items():
    ax1.semilogy(r["grad_norm_g"][:first], label=name)
    ax2.plot(r["mean_g"], label=name)
    ax3.semilogy(r["d_fake"], label=name)
ax1.set_title(f"|grad of G's loss|, first {first} steps")
ax1.set_ylabel("|dL_G/dθ|")
ax1.set_xlabel("generator step")
ax2.axhline(0.0, color="k", ls=":", label="data mean")
ax2.set_title("mean of G(z)")
ax2.set_ylabel("mean of G(z)")
ax2.set_xlabel("generator step")
ax3.axhline(0.5, color="k", ls=":", label="equilibrium ½")
ax3.set_title("D(G(z)), batch mean")
ax3.set_ylabel("D(G(z))")
ax3.set_xlabel("generator step")
for ax in (ax1, ax2, ax3):
    ax.legend(fontsize=8)
plt.show()

sat, nonsat = runs["saturating"], runs["non-saturating"]
reached = np.flatnonzero(np.abs(nonsat["mean_g"]) < 0.5)
print(f"saturating: mean of G(z) moved from -8 to {sat['mean_g'][-1]:.3f} in {GAN_STEPS} steps; "
      f"D(G(z)) went from {sat['d_fake'][0]:.1e} to {sat['d_fake'][-1]:.1e}")
print(f"non-saturating: mean of G(z) is within 0.5 of the data mean from step "
      f"{reached.min() if reached.size else 'never'} on; ends at {nonsat['mean_g'][-1]:.3f}")

# %% [markdown]
# With the saturating loss the generator barely moves: D rejects the fakes, so
# $D(G(z))$ is tiny, and so is the gradient. Worse, D keeps improving while G waits,
# $D(G(z))$ falls further, and the gradient shrinks further (the printed values of
# $D(G(z))$ at the start and end). The non-saturating loss gets a gradient of order 1
# from the same discriminator, and the mean of $G(z)$ walks to the data. Section 5
# explains the gap: for each sample the two gradients
# are in the ratio $(1-D)/D$ (the batch ratio differs, because D rejects some fakes more
# confidently than others).
#
# **What about Adam?** Adam divides each step by a running RMS of the gradient
# ($\sqrt{v_t}$, with $v_t$ an average of squared gradients over about $1/(1-\beta_2) = 1000$
# steps), so it cares about the gradient's direction more than its size. The same two
# runs with an Adam generator (lr $10^{-2}$, $\beta = (0.5, 0.999)$), run twice as long:

# %%
ADAM_STEPS = 2 * GAN_STEPS
adam_runs = {name: train_1d_gan(fn, g_optimizer="adam", steps=ADAM_STEPS)
             for name, fn in [("saturating", g_loss_saturating), ("non-saturating", g_loss_nonsaturating)]}
late = slice(GAN_STEPS - min(100, GAN_STEPS), GAN_STEPS)  # the 100 steps before GAN_STEPS
print(f"{'Adam':15s} {'|grad G| step 0':>16s} {'max |grad G|':>13s} {'|grad G| late':>14s} "
      f"{'mean G(z) @' + str(GAN_STEPS):>16s} {'mean G(z) @' + str(ADAM_STEPS):>16s} {'step size late':>15s}")
for name, r in adam_runs.items():
    step_size = np.abs(np.diff(r["mean_g"]))[late].mean()
    print(f"{name:15s} {r['grad_norm_g'][0]:16.2e} {r['grad_norm_g'].max():13.2e} {r['grad_norm_g'][late].mean():14.2e} "
          f"{r['mean_g'][GAN_STEPS - 1]:16.3f} {r['mean_g'][-1]:16.3f} {step_size:15.1e}")
print(f"('late': mean over the 100 steps before step {GAN_STEPS}; step size: |change of the mean of G(z)| per step)")

# %% [markdown]
# In this two-parameter toy, Adam's rescaling hides the vanishing gradient: the
# saturating generator, whose first gradient was weaker by the factor printed above,
# reaches the data too.
# At step 1,000 (the SGD runs' length) it is the non-saturating run that is still
# short of the data mean. Its gradients were large on the way (the "max"
# column), and Adam's $\sqrt{v_t}$ remembers them for about a thousand steps, so once its
# gradient has shrunk near the data (the "late" column, over ten times below the "max") its steps are
# about a tenth of the learning rate of 0.01 (the last column). It is approaching slowly,
# not stuck: at the end of the longer run both sit at the data mean. The saturating loss's problem is the
# *size* of its gradient; the non-saturating loss fixes it at the source, whatever
# optimiser follows, and it is the default in every later lesson.
#
# ## 7. The equilibrium values
#
# At the global optimum $p_g = p_{data}$, $D^* = \tfrac12$ everywhere (logit 0). Then each
# term of the discriminator's loss is $-\log \tfrac12 = \log 2$, the loss is $2 \log 2$,
# $V = -\log 4$, and the non-saturating generator loss is $\log 2$. Computed with the
# same loss functions as the training loops, then compared with what the non-saturating
# 1-D GAN above reached (averaged over its last 100 steps):

# %%
zero_logits = torch.zeros(1000)
d_star_eq = theory.optimal_discriminator(p_data, p_data)
print(f"D* when p_g = p_data: min {d_star_eq.min():.3f}, max {d_star_eq.max():.3f}")
print(f"d_loss_bce(0, 0)            = {float(d_loss_bce(zero_logits, zero_logits)):.6f}   2 log 2 = {2 * math.log(2):.6f}")
real_term = F.binary_cross_entropy_with_logits(zero_logits, torch.ones(1000))  # -log D(x)
fake_term = F.binary_cross_entropy_with_logits(zero_logits, torch.zeros(1000))  # -log(1 - D(G(z)))
print(f"  real term, fake term      = {real_term.item():.6f}, {fake_term.item():.6f}   log 2 = {math.log(2):.6f}")
print(f"g_loss_nonsaturating(0)     = {float(g_loss_nonsaturating(zero_logits)):.6f}   log 2 = {math.log(2):.6f}")
print(f"g_loss_saturating(0)        = {float(g_loss_saturating(zero_logits)):.6f}  -log 2 = {-math.log(2):.6f}")
print(f"V(D*, p_data) by quadrature = {theory.virtual_training_criterion(p_data, p_data, dx):.6f}  -log 4 = {-math.log(4):.6f}")
tail = slice(-min(100, GAN_STEPS), None)
print(f"1-D GAN (non-saturating, SGD), last {min(100, GAN_STEPS)} steps: D(x) = {nonsat['d_real'][tail].mean():.3f}, "
      f"D(G(z)) = {nonsat['d_fake'][tail].mean():.3f}, d-loss = {nonsat['d_loss'][tail].mean():.4f} "
      f"(2 log 2 = {2 * math.log(2):.4f}); G(z) ~ N({nonsat['mean_g'][-1]:.3f}, {nonsat['std_g'][-1]:.3f}^2)")

# %% [markdown]
# A discriminator loss near $2\log 2 \approx 1.386$ and $D \approx \tfrac12$ on both real and fake
# samples mean that D can no longer tell them apart. That is what equilibrium looks like,
# and in later lessons it is a *diagnostic*, not a success criterion: a collapsed generator
# can fool a weak discriminator too (lesson 3).
#
# ## Summary
#
# - $D^* = p_{data}/(p_{data}+p_g)$: a trained MLP matches it where the data live.
# - $C(G) = -\log 4 + 2\,\mathrm{JSD}$, checked by quadrature against scipy's JSD.
# - The JSD approaches $\log 2$ as the densities move apart (exactly $\log 2$ only for
#   disjoint supports), and $C(G)$ flattens; W1 keeps growing (lesson 5). At $D^*$, the
#   non-saturating loss follows $\mathrm{KL}(p_g\,\|\,p_{data}) - 2\,\mathrm{JSD}$, which does not go flat.
# - The saturating generator loss has gradient $\propto D(G(z))$ and stalls a generator that
#   D rejects; the non-saturating loss has gradient $\propto 1 - D(G(z))$.
# - At equilibrium $D = \tfrac12$ and the discriminator loss is $2\log 2$.
#
# The exercises (`exercises/01_minimax_theory.ipynb`) ask you to write $D^*$, the JSD,
# both generator losses and $V$ yourself.
