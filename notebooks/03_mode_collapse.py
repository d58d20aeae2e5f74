# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 3: mode collapse on Gaussian mixtures, measured
#
# A GAN's generator is rewarded for samples the discriminator believes, not for
# covering the data. Nothing in the non-saturating loss $-\log D(G(z))$ asks for
# *diversity*: if one mode fools D best, the cheapest move for G is to put more mass
# there. When that happens we get **mode collapse**; when D then learns that this
# mode is fake and G jumps to another, we get **mode hopping**.
#
# Two toy data sets make this measurable, because every mode is known:
#
# - a **ring of 8** Gaussians, radius 2, std 0.02 (VEEGAN, Srivastava et al. 2017);
# - a **grid of 25** Gaussians at $\{-4,-2,0,2,4\}^2$, std 0.05 (PacGAN, Lin et al. 2018).
#
# The protocol is VEEGAN's, used by PacGAN too: draw **2,500** samples from the
# generator; a sample is **high quality** when it lies within **3 std** of its nearest
# mode; a mode is **captured** when it is the nearest mode of at least one high-quality
# sample; the **reverse KL** is $\mathrm{KL}(q\,\|\,\text{uniform})$ where $q$ is the
# histogram of the high-quality samples over the modes (`coursekit.metrics.mode_coverage`;
# the exercise notebook has you write it).
#
# We train the vanilla GAN, watch it collapse and hop, then train remedies that let
# the discriminator see *several samples at once* (PacGAN packing, minibatch standard
# deviation) or tie the generator's samples in a batch together (BatchNorm in the
# generator). Each method is trained over several seeds
# **at once**: `coursekit.ensemble` stacks the K models' parameters and runs them as
# one vectorised model, so a table of mean ± std over seeds costs minutes.

# %%
import dataclasses
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display

from coursekit import plots
from coursekit.data import sample_grid, sample_ring
from coursekit.ensemble import EnsembleConfig
from coursekit.mixtures import (
    MIXTURES,
    Method,
    coverage,
    coverage_rows,
    coverage_table,
    expected_real_high_quality,
    mode_histories,
    mode_trace,
    run_method,
)
from coursekit.models import MLP2DDiscriminator, MLP2DGenerator, count_parameters
from coursekit.runtime import is_quick, quick_or_full, start_lesson
from coursekit.widgets import mixture_playground

SEED = 0
# Each model has a few thousand parameters: one CPU thread is faster than several.
torch.set_num_threads(1)
device = start_lesson(seed=SEED)
print("this lesson trains on the CPU, 1 thread (tiny models: a GPU would only add launches)")

SEEDS = quick_or_full(2, 5)          # models per method, trained together; seeds SEED .. SEED + SEEDS - 1
STEPS = quick_or_full(150, 2000)     # generator updates per model on the ring ...
GRID_STEPS = quick_or_full(150, 4000)  # ... and on the grid, whose 25 modes take longer to settle on
SEGMENTS = quick_or_full(3, 10)      # snapshots of the vanilla GAN over training
BASE = EnsembleConfig(
    num_models=SEEDS, seed=SEED, steps=STEPS, batch_size=128, nz=2, width=64, depth=3,
    lr_g=2e-4, lr_d=2e-3, betas=(0.5, 0.999), snapshot_samples=2500,
)
BASES = {"ring": BASE, "grid": dataclasses.replace(BASE, steps=GRID_STEPS)}
FINAL_STEPS = {data: base.steps // 4 for data, base in BASES.items()}  # the last quarter at a 10x lower learning rate
print(f"{SEEDS} seeds per method, {STEPS} steps on the ring and {GRID_STEPS} on the grid (the last quarter at "
      f"lr x 0.1), batch {BASE.batch_size}, "
      f"Adam lr_G = {BASE.lr_g:g}, lr_D = {BASE.lr_d:g}, betas = {BASE.betas}, 2,500 samples per seed")

# %% [markdown]
# ## 1. The architecture
#
# Both networks are small MLPs with LeakyReLU(0.2) (`coursekit.models`): the generator
# maps a **2-D** latent $z \sim \mathcal N(0, I)$ through 3 hidden layers of 64 units to a
# point in the plane (no output non-linearity); the discriminator maps a point (or a
# pack of $m$ points) through 3 hidden layers of 64 units to one logit. The same
# networks are used for every method; only what the method changes differs (one remedy
# changes the generator's layers, and says so).
#
# The discriminator learns 10x faster than the generator (Adam lr 2e-3 vs 2e-4, β = (0.5, 0.999)): a strong
# discriminator is the regime where the vanilla GAN gets stuck on a subset of the modes.
# All methods share these settings, so the differences in the table below come from the
# methods.

# %%
G = MLP2DGenerator(nz=BASE.nz, width=BASE.width, depth=BASE.depth)
D = MLP2DDiscriminator(width=BASE.width, depth=BASE.depth)
print(G)
print(D)
print(f"parameters: G {count_parameters(G):,}, D {count_parameters(D):,}")

# %% [markdown]
# ## 2. The measure, on real data first
#
# Real data is not 100 % high quality: for a 2-D Gaussian the distance to the centre in
# units of std follows a Rayleigh law, so $P(\text{distance} < 3\,\text{std}) = 1 - e^{-9/2}$.
# A measure that disagreed with this on real data would be wrong.

# %%
g = torch.Generator().manual_seed(SEED)
real = {"ring": sample_ring(2500, generator=g), "grid": sample_grid(2500, generator=g)}
print(f"closed form, real data: high quality = 1 - exp(-4.5) = {100 * expected_real_high_quality():.2f} %")
for name, x in real.items():
    m = coverage(x[None], MIXTURES[name])[0]
    print(f"real {name} ({MIXTURES[name].modes} modes, std {MIXTURES[name].std}): modes {m['modes']}, "
          f"high quality {100 * m['high_quality']:.2f} %, reverse KL {m['reverse_kl']:.4f}")

fig, axes = plt.subplots(1, 2, figsize=(8, 4))
for ax, (name, x) in zip(axes, real.items()):
    mix = MIXTURES[name]
    plots.draw_scatter(ax, x, centers=mix.centers, title=f"real {name}: 2,500 samples")
    ax.set_xlim(*mix.extent[:2])
    ax.set_ylim(*mix.extent[2:])
plt.show()

# %% [markdown]
# ## 3. The vanilla GAN collapses and hops
#
# Non-saturating GAN (Goodfellow et al. 2014): D minimises the binary cross-entropy on
# logits, G minimises $-\log D(G(z))$. We keep the samples of fixed noise at
# evenly spaced steps, and for seed 0 the discriminator's decision surface
# $D(x) = \sigma(\text{logit})$ on a grid of points (red: D says "real"). Seeds differ:
# below, seed 0 and the seed that ended with the fewest modes. A seed whose count stays
# below 8 for hundreds of steps, while D's surface is flat around the modes it covers,
# is a generator stuck on a subset of the modes; a count that goes up and down is hopping.

# %%
VANILLA = Method("GAN (vanilla)")
t0 = time.perf_counter()
vanilla = {data: run_method(VANILLA, data, BASES[data], final_steps=FINAL_STEPS[data], segments=SEGMENTS,
                            surface_seed=0 if data == "ring" else None)
           for data in ("ring", "grid")}
print(f"vanilla GAN, {SEEDS} seeds x 2 data sets: {time.perf_counter() - t0:.1f} s")

# %%
ring = vanilla["ring"]
mix = MIXTURES["ring"]
picks = sorted({round(i * (len(ring.snapshots) - 1) / 5) for i in range(1, 6)})  # 5 snapshots, the last included
show = [ring.snapshots[i] for i in picks]
worst = int(np.argmin([m["modes"] for m in ring.metrics]))  # the seed with the fewest modes at the end
fig, axes = plt.subplots(2, len(show), figsize=(2.6 * len(show), 5.6), sharex=True, sharey=True,
                         layout="constrained")
for col, (step, samples, surface) in enumerate(show):
    for row, seed in enumerate((0, worst)):
        ax = axes[row, col]
        if row == 0:
            plots.draw_decision_surface(ax, surface, mix.extent)
        plots.draw_scatter(ax, samples[seed], centers=mix.centers)
        m = coverage(samples[seed: seed + 1], mix)[0]
        ax.set_title(f"seed {seed}, step {step}: {m['modes']} modes", fontsize=9)
        ax.set_xlim(*mix.extent[:2])
        ax.set_ylim(*mix.extent[2:])
fig.suptitle(f"vanilla GAN on the ring: seed 0 over D(x) (red = 'real'), and seed {worst}, "
             "the one with the fewest modes at the end")
plt.show()
print(f"seed with the fewest modes at the end: {worst} ({ring.metrics[worst]['modes']} of 8)")

# %% [markdown]
# Scrub through every snapshot (the slider), or press play:

# %%
playground = mixture_playground([(s, x[0], surf) for s, x, surf in ring.snapshots], centers=mix.centers,
                                real=real["ring"], extent=mix.extent)
display(playground)

# %% [markdown]
# Modes captured by every seed at every snapshot, and for seed 0 which modes hold its
# high-quality samples: a mode that lights up, goes dark and lights up again is the
# generator hopping.

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), layout="constrained")
for ax, data in zip(axes[:2], ("ring", "grid")):
    steps, modes = mode_trace(vanilla[data].snapshots, MIXTURES[data])
    ax.plot(steps, modes, marker="o", ms=3)
    ax.axhline(MIXTURES[data].modes, color="k", ls=":", lw=1)
    ax.set(xlabel="step", ylabel="modes captured", title=f"{data}: modes captured, one line per seed")
hist = mode_histories(ring.snapshots, mix, seed=0)
im = axes[2].imshow(hist.T, aspect="auto", origin="lower", cmap="magma",
                    extent=(-0.5, len(hist) - 0.5, -0.5, mix.modes - 0.5))
axes[2].set_xticks(range(len(hist)), [str(s[0]) for s in ring.snapshots], rotation=90, fontsize=7)
axes[2].set(xlabel="step", ylabel="mode", title="ring, seed 0: share of samples per mode")
fig.colorbar(im, ax=axes[2])
plt.show()
for data in ("ring", "grid"):
    steps, modes = mode_trace(vanilla[data].snapshots, MIXTURES[data])
    print(f"{data}: modes captured per snapshot (rows = steps {steps.tolist()}), seeds as columns:")
    print(modes.T)

# %% [markdown]
# ## 4. Remedies
#
# - **PacGAN** (Lin et al. 2018): D judges $m$ samples at once, concatenated
#   (`MLP2DDiscriminator(pack=m)`: input $2m$ instead of 2). A pack of near-identical
#   fakes is evidence of collapse that a single sample cannot carry. Nothing else changes.
# - **Minibatch standard deviation** (Karras et al. 2018, Sec. 3): the std over the batch
#   of each of D's last hidden features, averaged into one number, is appended as an
#   extra feature; a collapsed batch has a small std, and D can use it.
# - **BatchNorm + ReLU in the generator** (`MLP2DGenerator(batchnorm=True)`): every hidden
#   layer of G becomes Linear → BatchNorm → ReLU, the layer of PacGAN's own generator (Lin
#   et al. 2018, Sec. 5), with the BatchNorm on the batch's own statistics. Each hidden
#   unit is then centred and scaled over the batch, so G cannot squeeze a whole batch
#   onto one point without undoing that normalisation at its output layer; Radford et al.
#   (2016, Sec. 3) credit BatchNorm in G with "preventing the generator from collapsing
#   all samples to a single point". This remedy changes G, not D, and two things at once
#   (normalisation and ReLU for LeakyReLU): it is the papers' generator layer, taken whole.
#   It is no guarantee either: PacGAN's own vanilla GAN has this generator and still
#   captured 17.3 of the grid's 25 modes in its much longer training (section 6).
#
# WGAN-GP, the other remedy often quoted, gets its own lesson (5).
#
# Every method: the same networks (but G's layers in BN+ReLU G), the same steps and
# schedule, the same seeds (`seed = 0 .. SEEDS-1`), trained together; the vanilla GAN is
# the run above.

# %%
REMEDIES = [
    Method("PacGAN2", {"pack": 2}),
    Method("minibatch std", {"minibatch_std": True}),
    Method("BN+ReLU G", {"g_batchnorm": True}),
]
results = [vanilla["ring"], vanilla["grid"]]
wall, cpu = time.perf_counter(), time.process_time()
for data in ("ring", "grid"):
    for method in REMEDIES:
        r = run_method(method, data, BASES[data], final_steps=FINAL_STEPS[data])
        results.append(r)
        print(f"{data:<5} {method.name:<16} trained in {r.seconds:6.1f} s wall ({r.cpu_seconds:.1f} s CPU)")
remedy_wall, remedy_cpu = time.perf_counter() - wall, time.process_time() - cpu
results.sort(key=lambda r: (r.mixture.name != "ring", r.method.name != VANILLA.name))
table_wall = remedy_wall + sum(v.seconds for v in vanilla.values())
table_cpu = remedy_cpu + sum(v.cpu_seconds for v in vanilla.values())
print(f"\nthe whole table: {len(results)} runs x {SEEDS} seeds, {table_wall:.0f} s wall, {table_cpu:.0f} s CPU "
      f"(1 thread; on a shared machine the wall clock includes waiting for the CPU)")

# %% [markdown]
# ## 5. The table (this run)
#
# Mean ± std over the seeds, measured on 2,500 samples per seed from the final generators.

# %%
print(coverage_table(results))

# %%
fig, axes = plt.subplots(2, 1 + len(REMEDIES), figsize=(2.6 * (1 + len(REMEDIES)), 5.8), layout="constrained")
for row, data in enumerate(("ring", "grid")):
    mix = MIXTURES[data]
    for ax, r in zip(axes[row], [r for r in results if r.mixture.name == data]):
        plots.draw_scatter(ax, r.samples[0], centers=mix.centers)
        ax.set_xlim(*mix.extent[:2])
        ax.set_ylim(*mix.extent[2:])
        m = r.metrics[0]
        ax.set_title(f"{r.method.name}\n{m['modes']} modes, HQ {100 * m['high_quality']:.0f} %", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
fig.suptitle("final samples of seed 0 (2,500 per panel)")
plt.show()

# %% [markdown]
# ## 6. Beside the published tables
#
# The papers' numbers, quoted as theirs (2,500 samples, high quality = within 3 std):
#
# | paper (their architecture, their training) | ring of 8: modes | ring: % HQ | grid of 25: modes | grid: % HQ |
# |---|---|---|---|---|
# | VEEGAN (Srivastava et al. 2017, Table 1): GAN | 1 | 99.3 | 3.3 | 0.5 |
# | VEEGAN Table 1: ALI | 2.8 | 0.13 | 15.8 | 1.6 |
# | VEEGAN Table 1: Unrolled GAN | 7.6 | 35.6 | 23.6 | 16 |
# | VEEGAN Table 1: VEEGAN | 8 | 52.9 | 24.6 | 40 |
# | PacGAN (Lin et al. 2018, Table 1, mean ± s.e. over 10 trials): GAN | 6.3 ± 0.5 | 98.2 | 17.3 ± 0.8 | 94.8 |
# | PacGAN Table 1: PacGAN2 | 7.9 ± 0.1 | 95.6 | 23.8 ± 0.7 | 91.3 |
#
# PacGAN also reports the reverse KL: GAN 0.45 (ring) and 0.70 (grid), PacGAN2 0.07 and 0.13.
# (PacGAN's ring is the unit circle with std 0.01, the same shape as ours scaled by ½.)

# %%
rows = coverage_rows(results)
ours = {(r["data"].split()[0], r["method"]): r for r in rows}
best = {data: max((r for r in rows if r["data"].startswith(data) and r["method"] != VANILLA.name),
                  key=lambda r: r["modes"][0]) for data in ("ring", "grid")}
for data, total in (("ring", 8), ("grid", 25)):
    v, b = ours[(data, VANILLA.name)], best[data]
    print(f"{data}: vanilla GAN {v['modes'][0]:.1f} ± {v['modes'][1]:.1f} of {total} modes "
          f"({v['high_quality'][0]:.1f} % HQ, reverse KL {v['reverse_kl'][0]:.2f}); best remedy {b['method']} "
          f"{b['modes'][0]:.1f} ± {b['modes'][1]:.1f} ({b['high_quality'][0]:.1f} % HQ, "
          f"reverse KL {b['reverse_kl'][0]:.2f})")
print(f"table compute: {table_wall:.0f} s wall, {table_cpu:.0f} s CPU for {len(results)} x {SEEDS} models")

# %% [markdown]
# **Why our numbers differ from the papers'.** Baselines move a lot between papers
# because they depend on the architecture and the training budget: VEEGAN's vanilla GAN
# captured 1 mode of the ring, PacGAN's 6.3, on rings of the same shape. Ours differ again:
#
# - *Architecture.* The papers' generators and discriminators are larger MLPs than ours,
#   with their own activations and normalisation (see each paper's experimental section;
#   PacGAN's generator has 4 hidden layers of 400 units, each Linear → BatchNorm → ReLU,
#   and its discriminator maxout units). Ours are 3 hidden layers of 64 LeakyReLU units
#   without normalisation, the same networks for every method except BN+ReLU G, which
#   takes the papers' generator layer; compare its row with the vanilla GAN's to see
#   what that layer alone does.
# - *Training budget.* We train for the number of steps printed above, with a 10x lower
#   learning rate in the last quarter, so that five seeds of four methods on two data sets
#   fit in minutes on a laptop CPU. PacGAN's released configuration trains 400 epochs of
#   100,000 samples in batches of 100: 400,000 steps, 100x our grid's 4,000. Short
#   training mainly costs **precision**: a sample
#   is high quality only within 3 std = 0.06 (ring) or 0.15 (grid) of a mode centre, and a
#   generator that is still moving spreads mass between the modes, so our % high quality
#   is far below the papers' 90 %+ (PacGAN).
# - *Optimiser.* We give D a 10x larger learning rate than G, for every method: a strong
#   discriminator.
#
# **Reading the grid.** The grid gets twice the ring's steps. Read its modes together with
# % high quality and reverse KL: where % high quality is low, the generators are still
# spread between the modes rather than sitting on them, and "modes captured" partly counts
# how many modes a cloud of points happens to touch. The grid panels above show it: no
# method draws 25 separate clusters. BN+ReLU G, the best on modes, reaches them with
# lines drawn through the grid (seed 0's panel); its high-quality share is the highest of
# the four here, and still far below the papers'.
# While writing this lesson we also
# trained the grid's vanilla GAN and PacGAN2 under other settings (not rerun here;
# `scripts/sweep_grid.py` reruns them and `docs/mode_collapse_runs.md` keeps its table):
# longer (6,000, 16,000 and 40,000 steps), with a longer low-learning-rate phase, batches
# of 256, wider and deeper networks (4 layers of 128 units, and of 400 as in PacGAN),
# lr 1e-3 for both networks, and PacGAN4. With our LeakyReLU generator none lifted a
# remedy above 22 modes. Longer training did make the generators precise: at 40,000 steps
# 83 % of the vanilla GAN's samples and 58 % of PacGAN2's were high quality, near the
# papers' figures. But they then held fewer modes (14.8 and 16.6): as a generator
# sharpens onto some modes it lets go of others, which the vanilla GAN's mode trace in
# section 3 shows on a smaller scale. The BatchNorm + ReLU generator kept its modes as it
# sharpened (trained 16,000 steps: 23.4 modes, 53 % high quality). In our runs the
# generator's layer mattered more than the training length.
# The numbers in the table are this notebook's, from the cells above; those in this
# paragraph are from the runs in `docs/mode_collapse_runs.md`.
#
# ## 7. What to take away (from this run's numbers)

# %%
v_ring, v_grid = ours[("ring", VANILLA.name)], ours[("grid", VANILLA.name)]
print(f"- vanilla GAN: {v_ring['modes'][0]:.1f} of 8 modes on the ring, {v_grid['modes'][0]:.1f} of 25 on the grid "
      f"(mean over {SEEDS} seeds)")
print(f"- best remedy: {best['ring']['method']} {best['ring']['modes'][0]:.1f} of 8 on the ring, "
      f"{best['grid']['method']} {best['grid']['modes'][0]:.1f} of 25 on the grid")
print(f"- targets (full mode): vanilla <= 6 and <= 20: {v_ring['modes'][0] <= 6} / {v_grid['modes'][0] <= 20}; "
      f"best remedy >= 7.5 and >= 23: {best['ring']['modes'][0] >= 7.5} / {best['grid']['modes'][0] >= 23}"
      + (" (quick mode: too few steps to mean anything)" if is_quick() else ""))
print(f"- the whole table took {table_wall:.0f} s wall clock ({table_cpu:.0f} s CPU)")
