# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 6: label smoothing and instance noise, measured
#
# A discriminator trained with hard targets (1 for real, 0 for fake) can become
# arbitrarily confident: nothing stops its logits on real data from growing without
# bound. Salimans et al. (2016, Sec. 3.4) proposed **one-sided label smoothing**:
# train D towards $\alpha = 0.9$ on real samples and keep the fake target at $\beta = 0$.
# "One-sided" matters: they point out that smoothing the fake label too ($\beta > 0$)
# changes the optimal discriminator in a way that hurts the generator. A different
# remedy for a too-sharp D is **instance noise** (Sønderby et al. 2017; Arjovsky & Bottou
# 2017): add Gaussian noise to *both* real and fake inputs of D and anneal it to 0.
#
# This lesson checks each of these claims by computation:
#
# 1. the optimal discriminator under smoothed targets, derived, then checked against a
#    discriminator trained on samples (to 1e-2);
# 2. why $\beta > 0$ is harmful: the generator's gradient where only fakes live, computed;
#    and what instance noise does instead;
# 3. real GAN runs on the 8-Gaussian ring with no smoothing, one-sided (0.9 / 0), two-sided
#    (0.9 / 0.1) and annealed instance noise, over several seeds: D's logits (over-confidence),
#    the generator's gradient norms, and the outcome (modes, sample quality).
#
# Conventions: D outputs a **logit** $l$ and $D = \sigma(l)$; the losses are
# `coursekit.losses.d_loss_bce(real_logits, fake_logits, real_label=α, fake_label=β)` and the
# non-saturating generator loss $-\log D(G(z))$.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn

from coursekit import theory
from coursekit.data import ring_centers, sample_ring
from coursekit.losses import d_loss_bce
from coursekit.metrics import mode_coverage
from coursekit.models import MLP2DDiscriminator, MLP2DGenerator
from coursekit.runtime import quick_or_full, start_lesson
from coursekit.train import GANTrainer, TrainConfig

SEED = 0
# small MLPs: one thread
torch.set_num_threads(1)
device = start_lesson(seed=SEED)

LABELS = {"none (1 / 0)": (1.0, 0.0), "one-sided (0.9 / 0)": (0.9, 0.0), "two-sided (0.9 / 0.1)": (0.9, 0.1)}
D_STEPS = quick_or_full(200, 1500)  # Adam steps of each trained 1-D discriminator
D_BATCH = quick_or_full(256, 1024)  # samples of each density per step
GAN_STEPS = quick_or_full(60, 1200)  # generator updates per GAN run
GAN_SEEDS = quick_or_full([0, 1], [0, 1, 2])
print(f"D* check: {D_STEPS} steps of batch {D_BATCH} per labelling; "
      f"GAN runs: {GAN_STEPS} steps x seeds {GAN_SEEDS} x 4 settings")

# %% [markdown]
# ## 1. The optimal discriminator under smoothed targets
#
# With targets $\alpha$ for real and $\beta$ for fake samples, D minimises the binary
# cross-entropy, i.e. maximises
#
# $$V_{\alpha,\beta}(D) = \int p_{data}(x)\big[\alpha \log D(x) + (1-\alpha)\log(1-D(x))\big]
#   + p_g(x)\big[\beta \log D(x) + (1-\beta)\log(1-D(x))\big]\,dx .$$
#
# Collect the terms at one point $x$: with $a = \alpha p_{data} + \beta p_g$ (the total weight of
# "real" targets there) and $b = (1-\alpha) p_{data} + (1-\beta) p_g$ (that of "fake" targets),
# the integrand is $a \log D + b \log(1 - D)$. Its derivative $a/D - b/(1-D)$ vanishes at
# $D = a/(a+b)$, and $a + b = p_{data} + p_g$, so
#
# $$D^*_{\alpha,\beta}(x) = \frac{\alpha\,p_{data}(x) + \beta\,p_g(x)}{p_{data}(x) + p_g(x)} .$$
#
# With $\alpha = 1, \beta = 0$ this is Goodfellow's $p_{data}/(p_{data}+p_g)$. Three consequences
# to keep in mind:
#
# - $D^*$ now lives in $[\beta, \alpha]$: its logit is bounded by $\mathrm{logit}(\alpha) = \log 9 \approx 2.20$
#   for $\alpha = 0.9$. Hard targets reward ever larger logits; smoothed ones don't.
# - One-sided ($\beta = 0$): $D^* = \alpha \cdot D^*_{1,0}$, the unsmoothed $D^*$ scaled by a
#   constant. The ratio of $D^*$ at any two points is unchanged.
# - Two-sided ($\beta > 0$): where $p_{data} = 0$ and $p_g > 0$, $D^* = \beta$, a *constant*:
#   fakes there are not told which way the data lie (section 3).
#
# ## 2. Checked against a discriminator trained on samples
#
# Two fixed 1-D densities: $p_{data} = \mathcal N(0, 1)$ and a generator that got part of the data
# right and put half of its mass where there is (almost) no data,
# $p_g = \tfrac12 \mathcal N(0.5, 1) + \tfrac12 \mathcal N(4, 1)$. For each labelling, a small MLP
# sees only samples and is trained with `d_loss_bce(D(real), D(fake), real_label=α, fake_label=β)`.
# Big batches and a learning rate decayed to 0 (cosine) average out the sampling noise; tanh
# units give a smooth function, which suits a smooth $D^*$.

# %%
x, dx = theory.grid(-6.0, 8.0, 1401)
G_MUS, G_SIGMAS = [0.5, 4.0], [1.0, 1.0]
p_data = theory.gaussian_pdf(x, 0.0, 1.0)
p_g = theory.mixture_pdf(x, G_MUS, G_SIGMAS)
region = np.maximum(p_data, p_g) > 0.05  # where the densities are non-negligible (samples exist)
x_t = torch.tensor(x, dtype=torch.float32).unsqueeze(1)  # [1401, 1]


def d_star_smoothed(p: np.ndarray, q: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """(α p_data + β p_g) / (p_data + p_g), the closed form derived above."""
    return (alpha * p + beta * q) / (p + q)


def sample_p_g(n: int, generator: torch.Generator) -> torch.Tensor:
    """n samples of the mixture p_g, [n, 1]."""
    component = torch.randint(0, 2, (n,), generator=generator)
    noise = torch.randn(n, generator=generator)
    return (torch.tensor(G_MUS)[component] + torch.tensor(G_SIGMAS)[component] * noise).unsqueeze(1)


def train_discriminator(alpha: float, beta: float, seed: int = SEED) -> nn.Module:
    """An MLP 1 -> 64 -> 64 -> 1 (tanh) trained with d_loss_bce(real_label=α, fake_label=β) on fresh samples."""
    torch.manual_seed(seed)
    rng = torch.Generator().manual_seed(seed)
    disc = nn.Sequential(nn.Linear(1, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))
    opt = torch.optim.Adam(disc.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, D_STEPS)
    for _ in range(D_STEPS):
        real = torch.randn(D_BATCH, 1, generator=rng)  # p_data = N(0, 1)
        fake = sample_p_g(D_BATCH, rng)
        loss = d_loss_bce(disc(real), disc(fake), real_label=alpha, fake_label=beta)
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
    return disc


trained, closed, d_star_errors = {}, {}, {}
print(f"grid: {region.sum()} points where max(p_data, p_g) > 0.05, x in [{x[region].min():.2f}, {x[region].max():.2f}]")
for name, (alpha, beta) in LABELS.items():
    trained[name] = train_discriminator(alpha, beta)
    closed[name] = d_star_smoothed(p_data, p_g, alpha, beta)
    with torch.no_grad():
        d_hat = torch.sigmoid(trained[name](x_t)).squeeze(1).double().numpy()
    err = np.abs(d_hat - closed[name])[region]
    d_star_errors[name] = err.max()
    print(f"{name:22s} max |D_trained - D*| = {err.max():.4f} (at x = {x[region][err.argmax()]:+.2f}), "
          f"mean = {err.mean():.4f}, below 1e-2: {err.max() < 1e-2}")

# %%
fig, axes = plt.subplots(1, 3, figsize=(14, 3.8), sharey=True, layout="constrained")
for ax, (name, (alpha, beta)) in zip(axes, LABELS.items()):
    with torch.no_grad():
        d_hat = torch.sigmoid(trained[name](x_t)).squeeze(1).numpy()
    ax.fill_between(x, p_data / p_data.max(), color="tab:blue", alpha=0.2, label="$p_{data}$ (scaled)")
    ax.fill_between(x, p_g / p_data.max(), color="tab:orange", alpha=0.2, label="$p_g$ (scaled)")
    ax.plot(x, closed[name], "k", lw=2, label=r"$D^*_{\alpha,\beta}$ closed form")
    ax.plot(x, d_hat, "r--", lw=2, label="trained MLP")
    ax.axvspan(x[region].min(), x[region].max(), color="0.93", zorder=-2)
    ax.set_xlim(-4, 7)
    ax.set_title(f"α = {alpha}, β = {beta}")
    ax.set_xlabel("x")
axes[0].legend(fontsize=7, loc="center left")
fig.suptitle(f"Trained on samples ({D_STEPS} steps) vs the closed form (α p_data + β p_g) / (p_data + p_g)")
plt.show()

# %% [markdown]
# In the shaded region (where at least one density is above 0.05, so samples exist) the
# trained network matches the closed form, to the maximum errors printed above. Note where each curve
# ends on the right, in the region where only the generator has mass: near 0 without
# smoothing and with one-sided smoothing, at $\beta = 0.1$ with two-sided smoothing. On the
# left, where only data live, it approaches $\alpha$.
#
# Move the sliders to see $D^*_{\alpha,\beta}$ for other labels (two Gaussians; re-run the cell if
# the sliders don't appear, e.g. in a static view). The readout prints $D^*$ where only one
# density has mass:

# %%
from coursekit.widgets import smoothing_explorer

smoothing_explorer(alpha=0.9, beta=0.1)

# %% [markdown]
# ## 3. Why smoothing the fake label is harmful
#
# The generator moves each fake sample $x = G(z)$ down the gradient of its loss,
# $\partial_x[-\log D(x)] = -D'(x)/D(x)$. Whatever the loss, **if $D$ is flat at $x$, the fake at $x$
# gets no push**. Under two-sided smoothing $D^* = \beta$ on the whole region where
# $p_{data} = 0 < p_g$: flat. (Here $p_{data}$ is a Gaussian, so it is never exactly 0: the second
# column of the table below gives its size where the fakes are, and $D^*$ is flat *almost*
# everywhere there.) With one-sided smoothing $\log D^* = \log\alpha + \log D^*_{1,0}$, so its
# gradient is *exactly* the unsmoothed one.
#
# The generator's gradient at fakes in the region the data don't reach, by autograd, through
# the closed-form $D^*$ (the densities written in torch) and through the three trained
# discriminators of section 2. A positive value means gradient descent moves the sample to the
# left, towards the data at 0.

# %%
def gaussian_t(x: torch.Tensor, mu: float, sigma: float) -> torch.Tensor:
    return torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def generator_gradient(d_of_x, points: torch.Tensor) -> torch.Tensor:
    """d/dx of the non-saturating loss -log D(x), one value per point (D given as a probability)."""
    xs = points.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(-torch.log(d_of_x(xs)).sum(), xs)
    return grad


def closed_form_d(alpha: float, beta: float):
    def d(xs: torch.Tensor) -> torch.Tensor:
        p = gaussian_t(xs, 0.0, 1.0)
        q = 0.5 * gaussian_t(xs, G_MUS[0], G_SIGMAS[0]) + 0.5 * gaussian_t(xs, G_MUS[1], G_SIGMAS[1])
        return (alpha * p + beta * q) / (p + q)
    return d


def trained_d(disc: nn.Module):
    return lambda xs: torch.sigmoid(disc(xs.float().unsqueeze(1)).squeeze(1)).double()


points = torch.tensor([2.5, 3.0, 3.5, 4.0, 4.5, 5.0], dtype=torch.float64)
grads = {}
for name, (alpha, beta) in LABELS.items():
    grads[("closed", name)] = generator_gradient(closed_form_d(alpha, beta), points)
    grads[("trained", name)] = generator_gradient(trained_d(trained[name]), points)
dens = torch.tensor(p_data[np.searchsorted(x, points.numpy())])
print(f"{'x':>4s} {'p_data(x)':>9s} | d/dx[-log D(x)] with D = D*_αβ (closed form)      | with D = the trained MLP")
print(f"{'':14s} | " + " ".join(f"{n.split(' ')[0]:>12s}" for n in LABELS) + "   | "
      + " ".join(f"{n.split(' ')[0]:>10s}" for n in LABELS))
for i, xi in enumerate(points.tolist()):
    row_c = " ".join(f"{float(grads[('closed', n)][i]):12.4f}" for n in LABELS)
    row_t = " ".join(f"{float(grads[('trained', n)][i]):10.4f}" for n in LABELS)
    print(f"{xi:4.1f} {float(dens[i]):9.1e} | {row_c}   | {row_t}")
at4 = {n: float(grads[("closed", n)][points.tolist().index(4.0)]) for n in LABELS}
print(f"at x = 4 (closed form): none {at4['none (1 / 0)']:.3f}, one-sided {at4['one-sided (0.9 / 0)']:.3f}, "
      f"two-sided {at4['two-sided (0.9 / 0.1)']:.2e}: {at4['none (1 / 0)'] / at4['two-sided (0.9 / 0.1)']:.0f}x weaker")
at4_trained = {n: float(grads[("trained", n)][points.tolist().index(4.0)]) for n in LABELS}
print(f"at x = 4 (trained D): none {at4_trained['none (1 / 0)']:.3f}, one-sided {at4_trained['one-sided (0.9 / 0)']:.3f}, "
      f"two-sided {at4_trained['two-sided (0.9 / 0.1)']:.3f}: "
      f"{at4_trained['none (1 / 0)'] / at4_trained['two-sided (0.9 / 0.1)']:.0f}x weaker")

# %%
xs_plot = torch.linspace(-3, 7, 501, dtype=torch.float64)
fig, ax = plt.subplots(figsize=(11, 3.5))
for color, (name, (alpha, beta)) in zip(["tab:blue", "tab:green", "tab:red"], LABELS.items()):
    g = generator_gradient(closed_form_d(alpha, beta), xs_plot)
    one_sided = name.startswith("one")
    ax.plot(xs_plot, g, lw=2 if one_sided else 4, color=color, ls="--" if one_sided else "-",
            alpha=1 if one_sided else 0.5, label=f"{name}, closed form")
    ax.plot(x, generator_gradient(trained_d(trained[name]), torch.tensor(x)).numpy(), lw=1, color=color,
            ls=":" if one_sided else "-", label=f"{name}, trained D")
ax.fill_between(x, 3 * p_g / p_g.max(), color="tab:orange", alpha=0.15, label="$p_g$ (scaled)")
ax.axhline(0, color="k", lw=0.5)
ax.set_xlim(-3, 7)
ax.set_ylim(-1, 5)
ax.set_xlabel("position of a fake sample x")
ax.set_ylabel(r"$\partial_x[-\log D(x)]$")
ax.set_title("The push a fake sample gets towards the data (positive = to the left)")
ax.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the axes: no curve hidden
plt.show()

# %% [markdown]
# The table and the figure show the same thing: the fakes around $x = 4$ are pulled towards the
# data with a gradient of order 1–4 without smoothing, *identically* with one-sided smoothing
# (the dashed curve lies on the solid one), and with a gradient orders of magnitude smaller
# under two-sided smoothing (the ratio at $x = 4$ is printed). Those fakes are exactly the ones
# the generator most needs to move. The trained networks follow the closed form up to
# $x \approx 3$; further right, where $p_{data}$ is tiny (the second column), a network's logit flattens out sooner
# than $\log p_{data} - \log p_g$ does (it would need ever more negative logits, learned from ever
# fewer informative samples), so without smoothing and with one-sided smoothing its gradients
# there are smaller than the closed form's. Under two-sided smoothing it is the other way round
# at $x$ = 3.5–4.5: $D^*$'s logit reaches its floor quickly, the network's approaches it more
# slowly, and the trained gradient is the larger of the two (the last column of the table
# against the closed form's), until both are near 0 at $x = 5$. The ordering is the same, though: the second printed ratio
# compares the trained networks at $x = 4$.
#
# ### Instance noise, at the optimal D, does the opposite
#
# Instance noise adds $\mathcal N(0, \sigma^2)$ to every input of D, real and fake. D then compares
# the *blurred* densities $p_{data} * \mathcal N(0,\sigma^2)$ and $p_g * \mathcal N(0,\sigma^2)$, which overlap
# even when the originals don't, so $D^*$ gets a slope everywhere. The extreme case: disjoint
# supports, $p_{data} = U[-1, 1]$ and $p_g = U[3, 5]$. Without noise $D^* = 0$ on the whole fake
# support (with $\beta = 0.1$: $0.1$), constant, so $D'(x) = 0$ there. With noise, blurring a uniform
# gives $\big[\Phi(\tfrac{x-a}{\sigma}) - \Phi(\tfrac{x-b}{\sigma})\big]/(b-a)$, in closed form:

# %%
def blurred_uniform(xs: torch.Tensor, lo: float, hi: float, sigma: float) -> torch.Tensor:
    """U[lo, hi] convolved with N(0, σ²): [Φ((x-lo)/σ) - Φ((x-hi)/σ)] / (hi - lo).

    Written with erfc, Φ(t) = erfc(-t/√2)/2, for x to the right of the interval, so that the
    far tail (~1e-30) is computed accurately instead of as a difference of two numbers near 1.
    """
    s = sigma * math.sqrt(2)
    return 0.5 * (torch.special.erfc((xs - hi) / s) - torch.special.erfc((xs - lo) / s)) / (hi - lo)


probe = torch.tensor([3.5, 4.0, 4.5], dtype=torch.float64)
print("p_data = U[-1, 1], p_g = U[3, 5]; fakes at x = 3.5, 4, 4.5")
print("without noise: D* = 0 (β = 0) or 0.1 (β = 0.1) on all of [3, 5], so D'(x) = 0 there")
for sigma in [0.25, 0.5, 1.0]:
    xs = probe.clone().requires_grad_(True)
    p, q = blurred_uniform(xs, -1, 1, sigma), blurred_uniform(xs, 3, 5, sigma)
    d = p / (p + q)
    (slope,) = torch.autograd.grad(d.sum(), xs, retain_graph=True)
    (push,) = torch.autograd.grad(-torch.log(d).sum(), xs)
    print(f"σ = {sigma:4.2f}: D*(x) = {', '.join(f'{v:.2e}' for v in d.tolist())};  "
          f"d/dx[-log D*] = {', '.join(f'{v:.2f}' for v in push.tolist())}")

# %% [markdown]
# With noise, every fake at $x \in [3, 5]$ gets a positive push towards the data, where without
# noise it got none. At the optimal $D^*$ the push is even stronger for small $\sigma$ (the printed
# slopes), because a narrow blur leaves the tails of the two densities steep. But look at $D^*$
# itself: with $\sigma = 0.25$ it is at most 7.80e-24 at the fakes. Noisy real samples essentially
# never land there, so a discriminator trained on samples has nothing to learn that slope from.
# With $\sigma = 1$, $D^*$ at the fakes is between 3.72e-04 and 9.84e-03: noisy real samples do
# reach them, and D can learn the slope. The noise does not
# bias the game: it is added to real and fake samples alike, and blurring with a Gaussian is
# one-to-one, so the blurred densities match only when $p_g = p_{data}$ (Sønderby et al. 2017).
# Why anneal it, then? Signal: a wide blur makes the noisy real and fake samples overlap when
# the densities are far apart, but it hides the fine differences D needs once they are close,
# so training starts wide and narrows.
# At the optimal D, two-sided smoothing does the reverse of noise: it flattens D where the
# generator has mass and the data don't.
#
# ## 4. Real GAN runs: four ways to train the discriminator
#
# The 8-Gaussian ring (radius 2, std 0.02), MLP generator and discriminator (`MLP2DGenerator`,
# `MLP2DDiscriminator`, 3 hidden layers of 64), batch 256, Adam 1e-3, the non-saturating
# generator loss, trained with `GANTrainer`. Four settings, same seeds:
#
# | setting | `TrainConfig` |
# |---|---|
# | none | `real_label=1, fake_label=0` |
# | one-sided | `real_label=0.9` |
# | two-sided | `real_label=0.9, fake_label=0.1` |
# | instance noise | `instance_noise=0.3` (std at step 0, annealed linearly to 0 at the last step) |
#
# During training we record the trainer's log (`grad_norm_g`: the norm of the generator's
# gradient) and, ten times per run, D's logits on 2,500 fixed real samples and on 2,500 samples
# of the generator (fixed noise). At the end, `mode_coverage` counts modes and high-quality
# samples (within 3 std of a mode) on those 2,500 samples.
#
# **How we will read the runs, declared before them.** Each setting runs with three seeds,
# and a difference between two settings counts as evidence only when it is larger than the
# seed-to-seed spread (the larger of the two standard deviations). Section 3 predicts what to
# look for: smoothing caps the logits of $D^*$ (one-sided at $\log 9$ on real samples,
# two-sided at $-\log 9$ on fakes), one-sided smoothing leaves the generator's gradient
# unchanged, two-sided smoothing shrinks it.

# %%
SETTINGS = {
    "none": dict(),
    "one-sided": dict(real_label=0.9),
    "two-sided": dict(real_label=0.9, fake_label=0.1),
    "instance noise": dict(instance_noise=0.3),
}
CENTERS, RING_STD = ring_centers(), 0.02
DATA = sample_ring(50_000, generator=torch.Generator().manual_seed(1234))
REAL_EVAL = sample_ring(2500, generator=torch.Generator().manual_seed(4321))
Z_EVAL = torch.randn(2500, 2, generator=torch.Generator().manual_seed(999))
CHECKPOINTS = 10  # logits are recorded this many times per run


@torch.no_grad()
def logits_now(trainer: GANTrainer) -> tuple[np.ndarray, np.ndarray]:
    """D's logits on the fixed real samples and on the generator's samples of the fixed noise."""
    disc = trainer.discriminator
    fake = trainer.sample(z=Z_EVAL)
    return disc(REAL_EVAL).numpy(), disc(fake).numpy()


def run(setting: str, seed: int) -> dict:
    """One GAN run; returns its history, logits over training, final samples and mode coverage."""
    torch.manual_seed(seed)
    G, D = MLP2DGenerator(nz=2, width=64, depth=3), MLP2DDiscriminator(width=64, depth=3)
    config = TrainConfig(steps=GAN_STEPS, batch_size=256, lr_g=1e-3, lr_d=1e-3, seed=seed,
                         log_every=max(GAN_STEPS // 100, 1), progress=False, **SETTINGS[setting])
    trainer = GANTrainer(G, D, DATA, config, device="cpu")
    logit_log = []
    for k in range(CHECKPOINTS):
        trainer.train(steps=GAN_STEPS * (k + 1) // CHECKPOINTS - trainer.step)
        logit_log.append((trainer.step, *logits_now(trainer)))
    samples = trainer.sample(z=Z_EVAL)
    return {"history": trainer.history, "logits": logit_log, "samples": samples,
            "coverage": mode_coverage(samples, CENTERS, RING_STD)}


runs = {}
for setting in SETTINGS:
    for seed in GAN_SEEDS:
        runs[setting, seed] = run(setting, seed)
        cov = runs[setting, seed]["coverage"]
        print(f"  {setting:15s} seed {seed}: modes {cov['modes']}, high quality {cov['high_quality']:.1%}")

# %% [markdown]
# ### The discriminator's over-confidence
#
# Histograms of D's logits at the end of training (all seeds pooled), on real samples (blue) and
# on the generator's samples (orange). The dotted lines mark $\mathrm{logit}(\alpha) = \log 9$, the
# upper bound of $D^*$'s logit under smoothing with $\alpha = 0.9$, and $\mathrm{logit}(\beta) = -\log 9$, its
# lower bound under two-sided smoothing ($\beta = 0.1$). A trained D is not $D^*$, so its logits can
# cross these lines.

# %%
fig, axes = plt.subplots(1, len(SETTINGS), figsize=(15, 3.6), sharey=True, layout="constrained")
final_logits = {}
for ax, setting in zip(axes, SETTINGS):
    real = np.concatenate([runs[setting, s]["logits"][-1][1] for s in GAN_SEEDS])
    fake = np.concatenate([runs[setting, s]["logits"][-1][2] for s in GAN_SEEDS])
    final_logits[setting] = (real, fake)
    lo, hi = np.percentile(np.concatenate([real, fake]), [0.5, 99.5])
    bins = np.linspace(min(lo, -3), max(hi, 3), 60)
    ax.hist(real, bins=bins, color="tab:blue", alpha=0.6, density=True, label="real")
    ax.hist(fake, bins=bins, color="tab:orange", alpha=0.6, density=True, label="generated")
    for v in (math.log(9), -math.log(9)):
        ax.axvline(v, color="k", ls=":", lw=1)
    ax.set_title(setting)
    ax.set_xlabel("D's logit")
axes[0].set_ylabel("density")
axes[0].legend()
fig.suptitle(f"D's logits after {GAN_STEPS} steps ({len(GAN_SEEDS)} seeds pooled)")
plt.show()

print(f"{'setting':15s} {'real: median':>13s} {'p99':>7s} {'max':>7s} | {'fake: median':>13s} {'p1':>7s} {'min':>7s}")
for setting, (real, fake) in final_logits.items():
    print(f"{setting:15s} {np.median(real):13.2f} {np.percentile(real, 99):7.2f} {real.max():7.2f} | "
          f"{np.median(fake):13.2f} {np.percentile(fake, 1):7.2f} {fake.min():7.2f}")

# %% [markdown]
# And over training, mean over seeds at the ten checkpoints: the 99th percentile of D's logit on
# real samples (how far D's confidence goes on data) and the 1st percentile on generated samples
# (how far it goes on fakes).

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 3.5))
for setting in SETTINGS:
    steps = [entry[0] for entry in runs[setting, GAN_SEEDS[0]]["logits"]]
    p99 = np.mean([[np.percentile(e[1], 99) for e in runs[setting, s]["logits"]] for s in GAN_SEEDS], axis=0)
    p01 = np.mean([[np.percentile(e[2], 1) for e in runs[setting, s]["logits"]] for s in GAN_SEEDS], axis=0)
    ax1.plot(steps, p99, marker="o", label=setting)
    ax2.plot(steps, p01, marker="o", label=setting)
for ax, v, title in [(ax1, math.log(9), "99th percentile of D's logit on real samples"),
                     (ax2, -math.log(9), "1st percentile of D's logit on generated samples")]:
    ax.axhline(v, color="k", ls=":", lw=1)
    ax.set_xlabel("generator step")
    ax.set_ylabel("D's logit")
    ax.set_title(title)
ax1.legend(fontsize=8)
plt.show()

# %% [markdown]
# ### The generator's gradient
#
# The norm of the generator's gradient at each logged step (`History.grad_norm_g`), mean over
# seeds, smoothed over a window of 10 log entries.

# %%
def smooth(v: np.ndarray, k: int = 10) -> np.ndarray:
    k = max(1, min(k, len(v)))
    return np.convolve(v, np.ones(k) / k, mode="valid")


fig, ax = plt.subplots(figsize=(8, 3.5))
grad_stats, grad_seeds = {}, {}  # (mean, std) over seeds; the per-seed medians
for setting in SETTINGS:
    hs = [runs[setting, s]["history"] for s in GAN_SEEDS]
    norms = np.mean([np.asarray(h.grad_norm_g) for h in hs], axis=0)
    steps = np.asarray(hs[0].steps)
    ax.semilogy(steps[len(steps) - len(smooth(norms)):], smooth(norms), label=setting)
    grad_seeds[setting] = np.array([np.median(h.grad_norm_g) for h in hs])
    grad_stats[setting] = (grad_seeds[setting].mean(), grad_seeds[setting].std())
ax.set_xlabel("generator step")
ax.set_ylabel("‖∇ generator loss‖")
ax.set_title("Generator gradient norm during training")
ax.legend(fontsize=8)
plt.show()
for setting, (m, s) in grad_stats.items():
    print(f"{setting:15s} median ‖grad G‖ over training: {m:7.3f} ± {s:.3f} (mean ± std over seeds)")

# %% [markdown]
# ### The outcome over seeds
#
# Modes captured (of 8), high-quality samples, and the reverse KL of the mode histogram
# (0 = all modes hit equally), on 2,500 samples per run, as mean ± std over the seeds. Then the
# final samples of the first seed.

# %%
print(f"{len(GAN_SEEDS)} seeds {GAN_SEEDS}, {GAN_STEPS} steps each, ring of 8 (std 0.02), 2,500 samples per run")
print(f"{'setting':15s} {'modes (of 8)':>14s} {'high quality':>16s} {'reverse KL':>14s}")
table = {}
for setting in SETTINGS:
    covs = [runs[setting, s]["coverage"] for s in GAN_SEEDS]
    modes = np.array([c["modes"] for c in covs], dtype=float)
    hq = np.array([c["high_quality"] for c in covs]) * 100
    rkl = np.array([c["reverse_kl"] for c in covs])
    table[setting] = (modes, hq, rkl)
    print(f"{setting:15s} {modes.mean():6.2f} ± {modes.std():4.2f} {hq.mean():8.1f} ± {hq.std():4.1f} % "
          f"{rkl.mean():7.3f} ± {rkl.std():.3f}")

# %%
fig, axes = plt.subplots(1, len(SETTINGS), figsize=(15, 4.2), layout="constrained")
for ax, setting in zip(axes, SETTINGS):
    r = runs[setting, GAN_SEEDS[0]]
    ax.scatter(REAL_EVAL[:, 0], REAL_EVAL[:, 1], s=2, c="tab:blue", alpha=0.3)
    ax.scatter(r["samples"][:, 0], r["samples"][:, 1], s=2, c="tab:orange", alpha=0.4)
    ax.scatter(CENTERS[:, 0], CENTERS[:, 1], marker="x", c="k", s=30)
    ax.set_xlim(-3, 3)
    ax.set_ylim(-3, 3)
    ax.set_aspect("equal")
    ax.set_title(f"{setting}: {r['coverage']['modes']} modes, {r['coverage']['high_quality']:.0%} HQ")
fig.suptitle(f"Generated samples (orange) after {GAN_STEPS} steps, seed {GAN_SEEDS[0]}")
plt.show()

# %% [markdown]
# **Reading the numbers.** The cell below reads this run's tables by the rule declared before
# the runs (a difference counts when it is larger than the seed-to-seed spread, the ± columns)
# and against section 3's predictions.

# %%
def beyond_spread(a: np.ndarray, b: np.ndarray) -> bool:
    """True when the means of two per-seed arrays differ by more than the larger of their stds."""
    return abs(a.mean() - b.mean()) > max(a.std(), b.std())


def per_seed_percentile(setting: str, which: int, q: float) -> np.ndarray:
    """The q-th percentile of D's final logits, per seed (which: 1 real, 2 generated samples)."""
    return np.array([np.percentile(runs[setting, k]["logits"][-1][which], q) for k in GAN_SEEDS])


def compare(a: np.ndarray, b: np.ndarray, lower: str, higher: str) -> str:
    """Which way a differs from b, or 'within the seeds' spread'."""
    return (lower if a.mean() < b.mean() else higher) if beyond_spread(a, b) else "within the seeds' spread"


ms = lambda a: f"{a.mean():.2f} ± {a.std():.2f}"  # noqa: E731
real_p99 = {s: per_seed_percentile(s, 1, 99) for s in SETTINGS}
fake_p1 = {s: per_seed_percentile(s, 2, 1) for s in SETTINGS}
print(f"- Over-confidence on real samples: the 99th percentile of D's logit (per seed) is {ms(real_p99['none'])} "
      f"without smoothing and {ms(real_p99['one-sided'])} with α = 0.9 (log 9 = {math.log(9):.2f}): "
      + compare(real_p99["one-sided"], real_p99["none"], "one-sided smoothing kept D's confidence lower",
                "one-sided smoothing did not lower it")
      + (" (without smoothing every seed's final p99 also stayed below log 9, so this is not the cap at work)."
         if real_p99["none"].max() < math.log(9) else "."))
print(f"- On generated samples, the 1st percentile is {ms(fake_p1['none'])} with hard fake targets and "
      f"{ms(fake_p1['two-sided'])} with β = 0.1 (-log 9 = {-math.log(9):.2f}): "
      + compare(fake_p1["two-sided"], fake_p1["none"], "β = 0.1 did not hold the lower tail up.",
                "β = 0.1 kept the lower tail higher: D is less sure that fakes are fake."))
g = {s: grad_stats[s] for s in SETTINGS}
apart = lambda a, b: beyond_spread(grad_seeds[a], grad_seeds[b])  # noqa: E731
print("- Generator gradient (median norm, mean ± std over seeds): "
      + ", ".join(f"{s} {g[s][0]:.2f} ± {g[s][1]:.2f}" for s in SETTINGS) + ". One-sided vs none: "
      + ("apart by more than the seeds' spread." if apart("one-sided", "none")
         else "within the seeds' spread, as section 3 predicts.")
      + " Two-sided vs none: " + (("lower, as predicted." if g["two-sided"][0] < g["none"][0] else "higher.")
                                  if apart("two-sided", "none") else "within the seeds' spread.")
      + " Instance noise vs none: " + (("lower" if g["instance noise"][0] < g["none"][0] else "higher")
                                       + " (a median over the whole run: it does not isolate the push between "
                                         "disjoint supports that section 3 is about)."
                                       if apart("instance noise", "none") else "within the seeds' spread."))
for setting in ("one-sided", "two-sided", "instance noise"):
    modes, hq = table[setting][0], table[setting][1]
    differs = beyond_spread(modes, table["none"][0]) or beyond_spread(hq, table["none"][1])
    print(f"- Outcome, {setting} vs none: modes {modes.mean():.2f} vs {table['none'][0].mean():.2f}, high quality "
          f"{hq.mean():.1f} % vs {table['none'][1].mean():.1f} %: "
          + ("a difference larger than the seeds' spread." if differs else "within the seeds' spread: no evidence "
             "either way from 3 seeds."))
best_hq = max(table[s][1].mean() for s in SETTINGS)
if best_hq < 50:
    print(f"- The best setting's high-quality share is {best_hq:.1f} % after {GAN_STEPS} steps: on this ring, label "
          f"smoothing and instance noise change D's confidence more than whether the generator finds the modes.")

# %% [markdown]
# The headline numbers:

# %%
print("D* under smoothing, max |trained - closed form| where max(p_data, p_g) > 0.05:")
for name, err in d_star_errors.items():
    print(f"  {name:22s} {err:.4f}")
print(f"generator gradient d/dx[-log D*] at a fake at x = 4: none {at4['none (1 / 0)']:.3f}, "
      f"one-sided {at4['one-sided (0.9 / 0)']:.3f}, two-sided {at4['two-sided (0.9 / 0.1)']:.4f}")
print(f"ring, {len(GAN_SEEDS)} seeds x {GAN_STEPS} steps (mean ± std over seeds):")
for setting in SETTINGS:
    modes, hq, _ = table[setting]
    print(f"  {setting:15s} modes {modes.mean():.2f} ± {modes.std():.2f}, HQ {hq.mean():4.1f} ± {hq.std():4.1f} %, "
          f"median ‖grad G‖ {grad_stats[setting][0]:.2f} ± {grad_stats[setting][1]:.2f}, "
          f"real-logit p99 {ms(real_p99[setting])}, fake-logit p1 {ms(fake_p1[setting])}")

# %% [markdown]
# ## Your model for lesson 8: one-sided smoothing on MNIST
#
# Lesson 8 ranks the course's MNIST generators on one leaderboard. The one-sided recipe of
# Salimans et al. (real target 0.9, fake target 0) goes on it as a DCGAN (`DCGANGenerator` /
# `DCGANDiscriminator`, 32 base channels, Adam at Radford et al.'s learning rate $2\cdot10^{-4}$ and
# β = (0.5, 0.999), batch 64), trained here with `GANTrainer` and saved where lesson 8 looks for it (`runs/`; a
# quick-mode run saves under `runs/quick/` and never replaces a full one). The shipped MNIST
# classifier says how many of its samples it recognises with confidence ≥ 0.9.

# %%
from coursekit.data import load_mnist
from coursekit.features import load_mnist_classifier, mnist_features
from coursekit.models import DCGANDiscriminator, DCGANGenerator
from coursekit.plots import draw_image_grid
from coursekit.runtime import checkpoint_path, is_quick, runs_dir

MNIST_STEPS = quick_or_full(10, 800)
mnist_images, _ = load_mnist(train=True)
torch.manual_seed(SEED)
smoothed = GANTrainer(DCGANGenerator(nz=100, ngf=32), DCGANDiscriminator(ndf=32), mnist_images,
                      TrainConfig(steps=MNIST_STEPS, batch_size=64, lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999),
                                  loss="bce", real_label=0.9, seed=SEED, progress=False, log_every=50),
                      device=device)
smoothed.train()
CHECKPOINT = checkpoint_path("06_one_sided.pt")
smoothed.save_checkpoint(CHECKPOINT)
samples = smoothed.sample(500)
_, probs = mnist_features(samples, classifier=load_mnist_classifier(device), progress=False)
top, label = probs.max(dim=1)
print(f"saved {CHECKPOINT.relative_to(runs_dir().parent)} (step {smoothed.step}, mode={'quick' if is_quick() else 'full'}); "
      f"{(top >= 0.9).float().mean().item():.1%} of 500 samples classified with confidence ≥ 0.9, "
      f"{len(set(label[top >= 0.9].tolist()))} digits among them")
fig, ax = plt.subplots(figsize=(4, 4))
draw_image_grid(ax, samples[:36], nrow=6, title=f"one-sided smoothing, {smoothed.step} steps")
plt.show()

# %% [markdown]
# ## Summary
#
# - Under smoothed targets $D^* = (\alpha p_{data} + \beta p_g)/(p_{data} + p_g)$; a discriminator trained on
#   samples matches it (maximum error printed in section 2).
# - One-sided smoothing scales $D^*$ by $\alpha$: it caps D's confidence on real data and leaves the
#   generator's gradient $-\partial_x \log D^*$ exactly unchanged.
# - Two-sided smoothing sets $D^* = \beta$ where only the generator has mass: fakes there get
#   (almost) no gradient, which is why Salimans et al. smooth one side only.
# - Instance noise blurs both densities so that the optimal D keeps a slope even between
#   disjoint supports (section 4 prints the generator's gradient on the ring, a median over
#   the run, which mixes that region with the rest);
#   it does not move the optimum (the blur is one-to-one), and it is annealed because a wide blur
#   hides the detail D needs once the densities are close.
# - On the ring, section 4 compares the four settings over seeds and says which differences are
#   larger than the seed-to-seed spread: measure over seeds before you believe a trick helps.
#
# The exercises (`exercises/06_label_smoothing.ipynb`) ask you to write the smoothed loss,
# $D^*_{\alpha,\beta}$, instance noise and its annealing schedule.
