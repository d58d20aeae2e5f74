# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 4: DCGAN, and a race against the MLP GAN
#
# Radford, Metz & Chintala (2016) found a family of convolutional GANs that train
# stably: the **DCGAN**. This lesson
#
# 1. states their architecture guidelines and builds a 28×28 DCGAN from them,
# 2. computes every layer's output shape, and shows why a popular 28×28 discriminator
#    (four 3×3 stride-2 convolutions, then `Linear(128, 1)`) crashes,
# 3. initialises the weights as the paper does, N(0, 0.02²),
# 4. trains the DCGAN with coursekit's trainer,
# 5. races it against lesson 2's MLP GAN for the *same number of seconds* and measures
#    both with an MNIST classifier (MNIST-FID and confident share),
# 6. walks through its latent space.

# %%
import time

import numpy as np
import torch
from IPython.display import display
from torch import nn
from tqdm.auto import tqdm

from coursekit.data import load_mnist
from coursekit.features import load_mnist_classifier, mnist_features
from coursekit.layer_shapes import conv_out, conv_transpose_out, format_trace, trace_shapes
from coursekit.metrics import fid_from_features
from coursekit.models import (DCGANDiscriminator, DCGANGenerator, DeepDCGANDiscriminator, MLPDiscriminator, MLPGenerator,
                              count_parameters, dcgan_init)
from coursekit.plots import draw_image_grid, new_figure
from coursekit.runtime import checkpoint_path, is_quick, quick_or_full, runs_dir, start_lesson
from coursekit.train import GANTrainer, TrainConfig
from coursekit.widgets import latent_explorer, training_dashboard

SEED = 0
# Measured on a 2-core CPU shared with other work: one thread per process is faster
# than two for these small models (threads fight over the cores).
torch.set_num_threads(1)
device = start_lesson(seed=SEED)

NGF = NDF = 32  # DCGAN widths: half the paper's 64 (a 2-core CPU budget; see the race below)
NZ = 100
BATCH = 32  # the DCGAN's mini-batch (why 32: section 1)
MLP_BATCH = 64  # lesson 2's, for its MLP GAN in the race
BUDGET = quick_or_full(4.0, 150.0)  # seconds of training for EACH model in the race
CHUNK = quick_or_full(5, 25)  # steps per turn in the race
N_EVAL = quick_or_full(300, 1000)  # samples per model for the metrics
print(f"race: {BUDGET:.0f} s per model, turns of {CHUNK} steps; evaluation on {N_EVAL} samples per model")


# Lesson 2's MLP GAN, raced against the DCGAN in section 5.
def make_mlp() -> tuple[nn.Module, nn.Module]:
    """Lesson 2's MLP GAN, with the same settings."""
    return MLPGenerator(nz=NZ, hidden=(128, 256, 512, 1024), batchnorm=True), MLPDiscriminator(hidden=(512, 256))


# %% [markdown]
# ## 1. The architecture guidelines (Radford et al. 2016, Sec. 3)
#
# > * Replace any pooling layers with strided convolutions (discriminator) and
# >   fractional-strided convolutions (generator).
# > * Use batchnorm in both the generator and the discriminator.
# > * Remove fully connected hidden layers for deeper architectures.
# > * Use ReLU activation in generator for all layers except for the output, which uses Tanh.
# > * Use LeakyReLU activation in the discriminator for all layers.
#
# Plus (Secs. 3 and 4): batchnorm on neither the generator's output nor the
# discriminator's input, weights initialised from N(0, 0.02²), Adam with lr 2·10⁻⁴ and
# β₁ = 0.5, leaky slope 0.2, mini-batches of 128, images scaled to [-1, 1] (tanh's range).
# To fit a 2-core CPU we use half the paper's channel widths, and batches of 32, a
# quarter of the paper's: here a step of 32 images takes about half as long as a step
# of 64, and the smaller batch, though it needs more steps, gets to good digits in fewer
# seconds (measured by `bench/bench_time_to_quality.py`; the numbers are in
# `docs/benchmarks.md`).
#
# The course's `DCGANGenerator` and `DCGANDiscriminator` follow them for 28×28 images:
# 28 = 7·2², so the generator projects $z$ to a 7×7 map and doubles it twice, and the
# discriminator halves 28 → 14 → 7 and ends with a 7×7 convolution to one logit.

# %%
G = DCGANGenerator(nz=NZ, ngf=NGF)
D = DCGANDiscriminator(ndf=NDF)
print(f"DCGAN G: {count_parameters(G):,} parameters, D: {count_parameters(D):,} parameters")
print(f"(lesson 2's MLP GAN, raced below: G {count_parameters(make_mlp()[0]):,}, D {count_parameters(make_mlp()[1]):,})")
print("generator, z [2, 100] ->")
print(format_trace(trace_shapes(G, (2, NZ)), (2, NZ)))
print("\ndiscriminator, images [2, 1, 28, 28] ->")
print(format_trace(trace_shapes(D, (2, 1, 28, 28)), (2, 1, 28, 28)))

# %% [markdown]
# ## 2. Shapes, computed
#
# Along one dimension, `nn.Conv2d` and `nn.ConvTranspose2d` map a size $n$ to
#
# $$\text{conv: } \left\lfloor \frac{n + 2p - d(k-1) - 1}{s} \right\rfloor + 1 \qquad
# \text{transposed: } (n-1)s - 2p + d(k-1) + \text{output\_padding} + 1$$
#
# (`coursekit.layer_shapes.conv_out` / `conv_transpose_out`, tested against the real
# layers; you write them in the exercise notebook). The DCGAN's doubling layer (kernel 4,
# stride 2, padding 1) exactly inverts its halving layer:

# %%
for n in (7, 14):
    print(f"conv k4 s2 p1: {2 * n} -> {conv_out(2 * n, 4, 2, 1)};  "
          f"conv-transpose k4 s2 p1: {n} -> {conv_transpose_out(n, 4, 2, 1)}")
print(f"projection: conv-transpose k7 s1 p0: 1 -> {conv_transpose_out(1, 7, 1, 0)}")

# %% [markdown]
# ### The crash
#
# A 28×28 discriminator seen in many tutorials: four 3×3 convolutions with stride 2 and
# padding 1, then flatten and `Linear(128, 1)`, on the assumption that four halvings take
# 28 to 1. They don't: 28 → 14 → 7 → **4** → **2**, because
# $\lfloor (7 + 2 - 2 - 1)/2 \rfloor + 1 = 4$ (odd sizes round up once the +1 is
# counted) and then $\lfloor (4 + 2 - 2 - 1)/2 \rfloor + 1 = 2$.

# %%
sizes = [28]
for _ in range(4):
    sizes.append(conv_out(sizes[-1], kernel=3, stride=2, padding=1))
print("3×3, stride 2, padding 1:", " -> ".join(map(str, sizes)),
      f"| flattened: 128·{sizes[-1]}·{sizes[-1]} = {128 * sizes[-1] ** 2} features")

broken = nn.Sequential(
    nn.Conv2d(1, 16, 3, 2, 1), nn.LeakyReLU(0.2),  # [B, 16, 14, 14]
    nn.Conv2d(16, 32, 3, 2, 1), nn.LeakyReLU(0.2),  # [B, 32, 7, 7]
    nn.Conv2d(32, 64, 3, 2, 1), nn.LeakyReLU(0.2),  # [B, 64, 4, 4]
    nn.Conv2d(64, 128, 3, 2, 1), nn.LeakyReLU(0.2),  # [B, 128, 2, 2], not [B, 128, 1, 1]
    nn.Flatten(),  # [B, 512]
    nn.Linear(128, 1),  # expects [B, 128]: crashes
)
try:
    trace_shapes(broken, (2, 1, 28, 28))
except RuntimeError as err:
    print(f"RuntimeError: {err}")

# %% [markdown]
# Two fixes: `Linear(128 * 2 * 2, 1)`, which matches the 512 features that actually
# arrive (below), or the pyramid of `DCGANDiscriminator`: 4×4 kernels with stride 2 and
# padding 1 halve 28 → 14 → 7 exactly, and a final 7×7 convolution covers the whole map.

# %%
fixed = nn.Sequential(*list(broken)[:-1], nn.Linear(128 * 2 * 2, 1))
print(format_trace(trace_shapes(fixed, (2, 1, 28, 28))[-2:]))

# %% [markdown]
# The course keeps the first fix too, as `DeepDCGANDiscriminator`: four stride-2 3×3
# convolutions of NDF, 2·NDF, 4·NDF and 4·NDF channels, BatchNorm on all but the first,
# and a 2×2 convolution as its head (the `Linear(128 * 2 * 2, 1)` above, written as a
# convolution). It is the discriminator this lesson's generator trains against. It costs
# more per step than the two-convolution pyramid, and it is worth it: measured by
# `bench/bench_time_to_quality.py` (the numbers are in `docs/benchmarks.md`), the same
# generator trained against the pyramid levelled off at about 75 % classifier-confident
# digits however long it trained (88,500 steps), and against this one it reaches 80 %
# in about half an hour (with batches of 32).

# %%
D_deep = DeepDCGANDiscriminator(ndf=NDF)
print(f"DeepDCGANDiscriminator(ndf={NDF}): {count_parameters(D_deep):,} parameters, images [2, 1, 28, 28] ->")
print(format_trace(trace_shapes(D_deep, (2, 1, 28, 28)), (2, 1, 28, 28)))

# %% [markdown]
# ## 3. Initialisation: N(0, 0.02²)
#
# "All weights were initialized from a zero-centered Normal distribution with standard
# deviation 0.02" (Sec. 4). `dcgan_init` (which you write in the exercise notebook) does
# that for every convolution, transposed convolution and linear layer (biases 0) and
# draws BatchNorm scales from N(1, 0.02²). Both course models call it when built; here
# are the statistics it produces, next to PyTorch's default (Kaiming-uniform, whose
# spread depends on each layer's fan-in):

# %%
torch.manual_seed(SEED)
default_G = DCGANGenerator(nz=NZ, ngf=NGF)
for m in default_G.modules():  # undo the DCGAN init to see PyTorch's default
    if isinstance(m, (nn.ConvTranspose2d, nn.BatchNorm2d)):
        m.reset_parameters()
init_G = dcgan_init(DCGANGenerator(nz=NZ, ngf=NGF))
print(f"{'layer':<8}{'shape':<22}{'default std':>12}{'DCGAN std':>11}{'DCGAN mean':>12}")
for (name, a), (_, b) in zip(default_G.named_modules(), init_G.named_modules()):
    if isinstance(a, (nn.ConvTranspose2d, nn.BatchNorm2d)):
        w = b.weight.detach()
        print(f"{name:<8}{str(tuple(w.shape)):<22}{a.weight.std().item():12.4f}{w.std().item():11.4f}"
              f"{w.mean().item():12.4f}")

# %% [markdown]
# ## 4. Training the DCGAN
#
# The generator is section 1's `DCGANGenerator`, the discriminator section 2's
# `DeepDCGANDiscriminator`. The trainer runs the same step as lesson 2 (discriminator
# on `fake.detach()`, then the generator through the updated discriminator,
# non-saturating loss) with Adam at the paper's settings. We train in turns of `CHUNK`
# steps with a time budget, because the DCGAN's run *is* one half of the race in
# section 5: the MLP GAN gets exactly as many seconds on the same machine, its turns
# interleaved with the DCGAN's so that both see the same load.

# %%
images, labels = load_mnist()
held_out, _ = load_mnist(train=False, offline=len(images) < 10_000)  # same source as `images`

torch.manual_seed(SEED)
dcgan_G, dcgan_D = DCGANGenerator(nz=NZ, ngf=NGF), DeepDCGANDiscriminator(ndf=NDF)
torch.manual_seed(SEED)
mlp_G, mlp_D = make_mlp()
common = dict(lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999), loss="bce", seed=SEED,
              steps=10**9, log_every=quick_or_full(5, 25), progress=False)  # one bar for the race instead
dash = training_dashboard(min_interval=quick_or_full(30.0, 2.0))
display(dash)
dcgan = GANTrainer(dcgan_G, dcgan_D, images, TrainConfig(**common, batch_size=BATCH, n_snapshot=36,
                                                          snapshot_every=quick_or_full(10, 100)), callbacks=[dash])
mlp = GANTrainer(mlp_G, mlp_D, images, TrainConfig(**common, batch_size=MLP_BATCH, n_snapshot=36,
                                                  snapshot_every=quick_or_full(20, 400)))


def race(trainers: dict[str, GANTrainer], budget: float, chunk: int) -> dict[str, float]:
    """Train each trainer for ``budget`` seconds of its own wall-clock, in interleaved turns of ``chunk`` steps."""
    spent = {name: 0.0 for name in trainers}
    with tqdm(total=round(budget * len(trainers)), unit="s", desc="race", disable=is_quick(), leave=False) as bar:
        while min(spent.values()) < budget:
            name = min(spent, key=spent.get)  # whoever is behind goes next
            t0 = time.perf_counter()
            trainers[name].train(steps=chunk)
            seconds = time.perf_counter() - t0
            spent[name] += seconds
            bar.update(min(seconds, max(0.0, bar.total - bar.n)))
    return spent


spent = race({"DCGAN": dcgan, "MLP GAN": mlp}, BUDGET, CHUNK)
for name, trainer in (("DCGAN", dcgan), ("MLP GAN", mlp)):
    print(f"{name:8s}: {trainer.step:5d} steps in {spent[name]:6.1f} s "
          f"({1000 * spent[name] / trainer.step:.0f} ms/step, measured here)")

# %%
dash.figure()

# %% [markdown]
# The DCGAN's samples from the same 36 latents over its run:

# %%
snaps = dcgan.history.snapshots
snaps = [snaps[i] for i in np.unique(np.linspace(0, len(snaps) - 1, 6).round().astype(int))]
fig = new_figure(2.0 * len(snaps), 2.4)
for ax, (step, x) in zip(np.atleast_1d(fig.subplots(1, len(snaps))), snaps):
    draw_image_grid(ax, x, nrow=6, title=f"step {step}")
fig

# %% [markdown]
# ## 5. DCGAN vs MLP GAN at equal wall-clock
#
# Both models had the same seconds of training on this machine. A convolution reuses each
# weight at every position: the DCGAN has fewer parameters than the MLP GAN but does more
# arithmetic per image, so compare the steps and ms/step printed above. Which one used the
# time better? The
# MNIST classifier reads `N_EVAL` fresh samples of each and of the held-out real digits:
# MNIST-FID (Fréchet distance of the classifier's 128-d features, at equal N for all
# sets) and the share of samples classified with confidence ≥ 0.9. Real training digits
# against the same held-out set give the floor a perfect generator would reach at this N.

# %%
classifier = load_mnist_classifier(device)
n_fid = min(N_EVAL, len(held_out))
feats_real, probs_real = mnist_features(held_out, n=n_fid, classifier=classifier)
feats_train, _ = mnist_features(images, n=n_fid, classifier=classifier)
results = {}
for name, trainer in (("DCGAN", dcgan), ("MLP GAN", mlp)):
    G_eval = trainer.generator.eval()
    torch.manual_seed(SEED + 1)
    feats, probs = mnist_features(G_eval, n=n_fid, classifier=classifier)
    counts = torch.bincount(probs.argmax(dim=1), minlength=10)
    results[name] = {
        "steps": trainer.step, "seconds": spent[name],
        "fid": fid_from_features(feats, feats_real),
        "confident": (probs.max(dim=1).values >= 0.9).float().mean().item(),
        "digits": int((counts > 0).sum()), "counts": counts.tolist(),
    }
fid_floor = fid_from_features(feats_train, feats_real)
confident_real = (probs_real.max(dim=1).values >= 0.9).float().mean().item()
print(f"{'model':<10}{'steps':>7}{'seconds':>9}{'MNIST-FID':>11}{'conf>=0.9':>11}{'digits':>8}   (N = {n_fid} each)")
for name, r in results.items():
    print(f"{name:<10}{r['steps']:7d}{r['seconds']:9.0f}{r['fid']:11.1f}{r['confident']:11.1%}{r['digits']:8d}")
print(f"{'real':<10}{'':>7}{'':>9}{fid_floor:11.1f}{confident_real:11.1%}{'':>8}   (training digits vs held-out)")
for name, r in results.items():
    print(f"{name} predicted classes: {r['counts']}")
winner = min(results, key=lambda k: results[k]["fid"])
print(f"\nlower MNIST-FID after {BUDGET:.0f} s each: {winner}")

# %%
fig = new_figure(9, 4.4)
for ax, (name, trainer) in zip(fig.subplots(1, 2), (("DCGAN", dcgan), ("MLP GAN", mlp))):
    draw_image_grid(ax, trainer.sample(), nrow=6,
                    title=f"{name}: {trainer.step} steps, FID {results[name]['fid']:.0f}")
fig

# %% [markdown]
# The numbers above are this run's, and wall-clock depends on the machine and on what
# else runs on it: rerun the race on yours. The convolutional generator's inductive bias
# is the usual reason to expect it to use its seconds better: its filters are local and
# shared across positions, so a stroke learned in one place is drawn everywhere, while
# the MLP must learn each pixel's relation to every other separately. In the run shown
# here that did not settle the race: the MLP GAN, about twice as cheap per step on this
# CPU (the ms/step above), took over twice the steps in the same seconds, and the two
# split the metrics, the DCGAN ahead on MNIST-FID and the MLP GAN on the confident share.
# At this budget the race is close and has gone both ways on the same machine: an earlier
# recorded run (the DCGAN with batches of 64) had the MLP GAN ahead on both. Read both
# metric columns: MNIST-FID compares whole distributions, the confident share only asks
# whether single samples look like some digit. What the deeper discriminator buys shows
# over longer runs (`docs/benchmarks.md`): trained for about half an hour, the DCGAN's
# generator reaches 80 % confident digits, where against the two-convolution
# discriminator it levelled off near 75 %.

# %% [markdown]
# ## 6. The DCGAN's latent space
#
# Interpolation between two seeds (slerp) and a sweep of one latent coordinate; the
# static figure shows the default settings. Radford et al. (Sec. 6.1) used such walks to
# argue that the generator has not memorised its training images: the path moves
# smoothly through plausible digits instead of jumping between stored ones.

# %%
dcgan.generator.eval()
explorer = latent_explorer(dcgan.generator, seed_a=3, seed_b=4, steps=10)
explorer

# %%
explorer.figure()

# %% [markdown]
# ## 7. Keep the generator
#
# Lesson 8's leaderboard loads `runs/04_dcgan.pt` (at the repository's root; `runs/` is
# not committed), a trainer checkpoint; the architecture is `DCGANGenerator(nz=100, ngf=32)`.

# %%
CHECKPOINT = checkpoint_path("04_dcgan.pt")  # runs/quick/ in quick mode: a quick run never replaces a full one
dcgan.save_checkpoint(CHECKPOINT)
print(f"saved {CHECKPOINT.relative_to(runs_dir().parent)} (step {dcgan.step}, mode={'quick' if is_quick() else 'full'})")

# %%
d, m = results["DCGAN"], results["MLP GAN"]
print(f"mode={'quick' if is_quick() else 'full'} | seed={SEED} | {BUDGET:.0f} s each | N = {n_fid} samples per set")
print(f"DCGAN  : {d['steps']} steps, MNIST-FID {d['fid']:.1f}, {d['confident']:.1%} confident, {d['digits']}/10 digits")
print(f"MLP GAN: {m['steps']} steps, MNIST-FID {m['fid']:.1f}, {m['confident']:.1%} confident, {m['digits']}/10 digits")
print(f"real-vs-real floor: {fid_floor:.1f}")
