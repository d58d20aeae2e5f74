# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 4: DCGAN, the balance of its game, and a race against the MLP GAN
#
# Radford, Metz & Chintala (2016) found a family of convolutional GANs that train
# stably: the **DCGAN**. This lesson
#
# 1. states their architecture guidelines and builds a 28×28 DCGAN from them,
# 2. computes every layer's output shape, and shows why a popular 28×28 discriminator
#    (four 3×3 stride-2 convolutions, then `Linear(128, 1)`) crashes,
# 3. initialises the weights as the paper does, N(0, 0.02²),
# 4. trains the DCGAN at the paper's settings and reads the balance of the game off
#    D's outputs and the gradients it sends to the generator, then adjusts four
#    standard levers and reads it again,
# 5. trains the adjusted DCGAN against a quality bar declared in advance: an MNIST
#    classifier must read 80 % of the samples as confident digits, every digit among them,
# 6. races the DCGAN against lesson 2's MLP GAN at equal batch size and equal
#    training seconds, over three seeds,
# 7. walks through its latent space.

# %%
import time
from pathlib import Path

import numpy as np
import torch
from IPython.display import Markdown, display
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import coursekit
from coursekit.checkpoint import save_checkpoint
from coursekit.data import load_mnist
from coursekit.features import load_mnist_classifier, mnist_features
from coursekit.conv_arithmetic import conv_out, conv_transpose_out, format_trace, trace_shapes
from coursekit.losses import g_loss_nonsaturating
from coursekit.models import (DCGANDiscriminator, DCGANGenerator, DeepDCGANDiscriminator, MLPDiscriminator, MLPGenerator,
                              count_parameters, dcgan_init)
from coursekit.plots import draw_image_grid, new_figure
from coursekit.race import QualityBar, ema_generator, from_uint8, meets, probe, race_seeds
from coursekit.runtime import checkpoint_path, is_quick, quick_or_full, runs_dir, start_lesson
from coursekit.train import GANTrainer, TrainConfig
from coursekit.widgets import latent_explorer, training_dashboard

SEED = 0
torch.set_num_threads(1)  # one core per run; the clock below counts that core's seconds
device = start_lesson(seed=SEED)
# Training seconds: the process's CPU time (time.process_time) on the CPU, with one thread; wall-clock on a GPU.
CLOCK = time.process_time if device.type == "cpu" else time.perf_counter

NZ, BATCH = 100, 64  # latent size; one batch size for every run of this lesson, DCGAN and MLP alike
BAR = QualityBar(confidence=0.9, share=0.8, min_digit=0.025)  # "good digits" (section 5)
BUDGET = quick_or_full(6.0, 480.0)  # training seconds for section 5's run, at most
DIAG_BUDGET = quick_or_full(3.0, 30.0)  # training seconds for section 4's diagnosis
PROBE_EVERY = quick_or_full(3.0, 30.0)  # training seconds between quality probes
N_PROBE = quick_or_full(300, 1000)  # fixed latents per probe
print(f"section 5: up to {BUDGET:.0f} s of training, probed every {PROBE_EVERY:.0f} s on {N_PROBE} fixed latents")

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
#
# The paper's generator (its Fig. 1, for 64×64 LSUN bedrooms) projects $z$ to a 4×4 map
# of 1024 channels and halves the channels at each doubling: 1024 → 512 → 256 → 128 → 3.
# The PyTorch DCGAN example writes the same architecture at half the paper's width,
# `ngf = 64` (64·8 = 512 channels at 4×4 against the paper's 1024). MNIST digits are 28×28 and grey: 28 = 7·2², so the
# course's `DCGANGenerator` projects $z$ to a 7×7 map and doubles it twice, and
# `DCGANDiscriminator` halves 28 → 14 → 7 and ends with a 7×7 convolution to one logit.
# With a base width of 32 the generator runs 64 → 32 → 1 channels (the trace below).

# %%
G = DCGANGenerator(nz=NZ, ngf=32)
D = DCGANDiscriminator(ndf=32)
print(f"DCGAN G: {count_parameters(G):,} parameters, D: {count_parameters(D):,} parameters")
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
# (`coursekit.conv_arithmetic.conv_out` / `conv_transpose_out`, tested against the real
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
# convolutions of `ndf`, 2·`ndf`, 4·`ndf` and 4·`ndf` channels, BatchNorm on all but the
# first, LeakyReLU(0.2), and a 2×2 convolution as its head (the `Linear(128 * 2 * 2, 1)`
# above, written as a convolution). It follows the guidelines (strided convolutions, no
# pooling, no hidden fully connected layer) and is deeper than the two-convolution
# pyramid. It is the discriminator this lesson trains against, at two widths:

# %%
for ndf in (32, 16):
    D_deep = DeepDCGANDiscriminator(ndf=ndf)
    print(f"DeepDCGANDiscriminator(ndf={ndf}): {count_parameters(D_deep):,} parameters")
print("images [2, 1, 28, 28] ->")
print(format_trace(trace_shapes(D_deep, (2, 1, 28, 28)), (2, 1, 28, 28)))

# %% [markdown]
# ## 3. Initialisation: N(0, 0.02²)
#
# "All weights were initialized from a zero-centered Normal distribution with standard
# deviation 0.02" (Sec. 4). `dcgan_init` (which you write in the exercise notebook) does
# that for every convolution, transposed convolution and linear layer (biases 0). The
# paper says nothing about BatchNorm's scale; DCGAN's released code and the PyTorch
# DCGAN example draw it from N(1, 0.02²) (shift 0), and so does `dcgan_init`. Both
# course models call it when built; here are the statistics it produces, next to
# PyTorch's default (Kaiming-uniform, whose spread depends on each layer's fan-in;
# BatchNorm scales 1):

# %%
torch.manual_seed(SEED)
default_G = DCGANGenerator(nz=NZ, ngf=32)
for m in default_G.modules():  # undo the DCGAN init to see PyTorch's default
    if isinstance(m, (nn.ConvTranspose2d, nn.BatchNorm2d)):
        m.reset_parameters()
init_G = dcgan_init(DCGANGenerator(nz=NZ, ngf=32))
print(f"{'layer':<8}{'shape':<22}{'default std':>12}{'DCGAN std':>11}{'DCGAN mean':>12}")
for (name, a), (_, b) in zip(default_G.named_modules(), init_G.named_modules()):
    if isinstance(a, (nn.ConvTranspose2d, nn.BatchNorm2d)):
        w = b.weight.detach()
        print(f"{name:<8}{str(tuple(w.shape)):<22}{a.weight.std().item():12.4f}{w.std().item():11.4f}"
              f"{w.mean().item():12.4f}")

# %% [markdown]
# ## 4. The paper's settings, and a diagnosis
#
# First the DCGAN with section 1's architecture and optimiser: `DCGANGenerator(ngf=32)`
# against `DeepDCGANDiscriminator(ndf=32)`, Adam with lr 2·10⁻⁴ and β₁ = 0.5 for both, the
# non-saturating generator loss on D's logits (lesson 2), but batches of `BATCH` (every run
# in this lesson) rather than the paper's 128. Three
# readings show who is winning:
#
# * **D's outputs**: the mean of D(x) = σ(logit) on a real batch and of D(G(z)) on a
#   generated one. At the game's equilibrium both are ½ (Goodfellow et al. 2014,
#   Prop. 1); a discriminator that wins pushes D(x) → 1 and D(G(z)) → 0.
# * **The gradient reaching G**: the norm of $\nabla_\theta$ of G's loss
#   $-\frac1B\sum \log D(G(z))$ over all of G's weights, and layer by layer.
#   Its derivative with respect to each logit is $-(1 - D(G(z)))/B$: when D rejects
#   every fake, every sample pushes with its full weight, and the direction comes from
#   a discriminator that is separating, not comparing.
# * **The logits themselves**, on 512 real and 512 generated images at the end: how
#   far apart D holds them.

# %%
images, labels = load_mnist()
held_out, _ = load_mnist(train=False, offline=len(images) < 10_000)  # same source as `images`
classifier = load_mnist_classifier(device)
probe_z = torch.randn(N_PROBE, NZ, generator=torch.Generator().manual_seed(10_000 + SEED))  # [N_PROBE, nz], fixed

PAPER = TrainConfig(batch_size=BATCH, lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999), loss="bce", seed=SEED,
                    steps=10**9, log_every=10, progress=False)


def make_trainer(config: TrainConfig, ndf: int, seed: int = SEED, callbacks=()) -> GANTrainer:
    """`DCGANGenerator(ngf=32)` against `DeepDCGANDiscriminator(ndf)`, built from ``seed``."""
    torch.manual_seed(seed)
    return GANTrainer(DCGANGenerator(nz=NZ, ngf=32), DeepDCGANDiscriminator(ndf=ndf), images, config,
                      callbacks=callbacks, device=device)


def train_for(trainer: GANTrainer, seconds: float, chunk: int = 25) -> float:
    """Train in chunks of ``chunk`` steps until ``seconds`` of CLOCK have passed; return them."""
    spent = 0.0
    while spent < seconds:
        t0 = CLOCK()
        trainer.train(chunk)
        spent += CLOCK() - t0
    return spent


paper = make_trainer(PAPER, ndf=32)
paper_seconds = train_for(paper, DIAG_BUDGET)
print(f"paper's settings: {paper.step} steps ({paper.step * BATCH:,} images) in {paper_seconds:.0f} s: "
      f"D saw each of the {len(images):,} training images about {paper.step * BATCH / len(images):.0f} times")

# %%
STATE_KEYS = ("generator", "discriminator")


@torch.no_grad()
def d_logits(trainer: GANTrainer, n: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """D's logits on ``n`` real training images and ``n`` samples, each batch on its own as in a training
    step (train mode: BatchNorm on the batch's statistics); the models' state is restored afterwards."""
    G, D = trainer.generator, trainer.discriminator
    saved = [{k: v.clone() for k, v in m.state_dict().items()} for m in (G, D)]
    gen = torch.Generator().manual_seed(1)
    real = images[torch.randint(len(images), (n,), generator=gen)].to(device)
    fake = G(torch.randn(n, NZ, generator=gen).to(device))
    out = D(real).float().cpu(), D(fake).float().cpu()
    for m, state in zip((G, D), saved):
        m.load_state_dict(state)
    return out


def g_gradient_by_layer(trainer: GANTrainer, n: int = 256) -> dict[str, float]:
    """‖∂L_G/∂W‖ for each of G's weight layers, L_G = −mean log D(G(z)) on ``n`` fresh latents.

    Computed in train mode, as in a training step; the models' weights and BatchNorm
    statistics are restored afterwards, so training is not changed.
    """
    G, D = trainer.generator, trainer.discriminator
    saved = [{k: v.clone() for k, v in m.state_dict().items()} for m in (G, D)]
    z = torch.randn(n, NZ, generator=torch.Generator().manual_seed(2)).to(device)
    G.zero_grad(set_to_none=True)
    g_loss_nonsaturating(D(G(z))).backward()
    norms = {f"{name} {type(m).__name__}": m.weight.grad.norm().item()
             for name, m in G.named_modules() if isinstance(m, (nn.ConvTranspose2d, nn.BatchNorm2d))}
    G.zero_grad(set_to_none=True), D.zero_grad(set_to_none=True)
    for m, state in zip((G, D), saved):
        m.load_state_dict(state)
    return norms


def window_means(trainer: GANTrainer, start: int | None = None) -> dict[str, float]:
    """Means of D(x), D(G(z)), ‖∇_θ L_G‖ and L_G over the logged records from index ``start``
    (default: the last quarter of the run)."""
    h = trainer.history
    start = (3 * len(h)) // 4 if start is None else min(start, len(h) - 1)
    return {key: float(np.mean(getattr(h, key)[start:])) for key in ("d_real", "d_fake", "grad_norm_g", "g_loss")}


diag = {"paper's settings": paper}
paper_means = window_means(paper)
print("last quarter of the run: " + ", ".join(f"{k} = {v:.3f}" for k, v in paper_means.items()))
print("gradient reaching each of G's layers (norm):")
for layer, g in g_gradient_by_layer(paper).items():
    print(f"  {layer:<22}{g:9.4f}")
real_logit, fake_logit = d_logits(paper)
print(f"D's logits (mean ± std over 512 images): real {real_logit.mean():.2f} ± {real_logit.std():.2f}, "
      f"generated {fake_logit.mean():.2f} ± {fake_logit.std():.2f}")
paper_probe = probe(paper.generator, classifier, probe_z)
print(f"quality probe: {paper_probe['confident']:.1%} confident, rarest digit {paper_probe['smallest']:.1%}")


# %%
def diagnosis_figure(runs: dict[str, GANTrainer], seconds: float | None = None):
    """D(x) and D(G(z)), and G's gradient norm, against the step, for each run (first ``seconds`` of its log)."""
    fig = new_figure(11, 3.2)
    ax1, ax2, ax3 = fig.subplots(1, 3)
    for (name, t), color in zip(runs.items(), ("tab:red", "tab:blue")):
        h = t.history
        keep = np.asarray(h.time) <= (seconds or np.inf) if seconds else slice(None)
        steps = np.asarray(h.steps)[keep][2:-2]  # the centres of the 5-record windows
        smooth = lambda v: np.convolve(np.asarray(v)[keep], np.ones(5) / 5, mode="valid")  # noqa: E731
        short = name.split()[0].removesuffix("'s")  # "paper", "adjusted"
        ax1.plot(steps, smooth(h.d_real), color=color, label=f"D(x), {short}")
        ax1.plot(steps, smooth(h.d_fake), color=color, ls="--", label=f"D(G(z)), {short}")
        ax2.plot(steps, smooth(h.grad_norm_g), color=color, label=name)
        ax3.plot(steps, smooth(h.g_loss), color=color, label=name)
    ax1.axhline(0.5, color="gray", lw=0.8, ls=":")
    ax1.set(xlabel="step", ylabel="batch mean (5 records)", ylim=(0, 1.35), yticks=np.linspace(0, 1, 6),
            title="D's outputs")
    ax2.set(xlabel="step", ylabel="‖∇θ L_G‖", title="‖∇θ L_G‖ reaching G")
    ax3.set(xlabel="step", ylabel="L_G", title="G's loss −log D(G(z))")
    ax1.legend(fontsize="x-small", loc="upper center", ncol=2)  # above the curves, which stay in [0, 1]
    ax2.legend(fontsize="small")
    return fig


diagnosis_figure(diag)

# %%
def balance_verdict(m: dict[str, float]) -> str:
    """Who is winning, read off the gap between mean D(x) and mean D(G(z))."""
    gap = m["d_real"] - m["d_fake"]
    return ("the discriminator dominates: it tells almost every real digit from every generated one"
            if gap > 0.8 else "the discriminator is ahead" if gap > 0.4 else "the two are near balance")


def balance_text(name: str, m: dict[str, float]) -> str:
    """One sentence on who is winning, from the means over the last quarter of a run."""
    verdict = balance_verdict(m)
    return (f"At {name}, over the last quarter of the run, D(x) averaged **{m['d_real']:.2f}** and D(G(z)) "
            f"**{m['d_fake']:.2f}** (the equilibrium is 0.5 for both), G's loss −log D(G(z)) {m['g_loss']:.2f} "
            f"(log 2 ≈ 0.69 at the equilibrium) and the gradient reaching G {m['grad_norm_g']:.1f}: {verdict}.")


display(Markdown(balance_text("the paper's settings", paper_means)))

# %% [markdown]
# A discriminator that wins sends G gradients that only say "look less like *this* batch
# of fakes", from a function that is steep around every sample it has seen. It can also
# overfit: its training set is the one loaded above (the cell prints its size and how many
# times D saw each image in these few seconds), and the longer runs below show it each image
# many times more. The quality reading of sections 5 and 6 cannot tell memorisation from
# learning: a generator that copied training digits would score as well as one that draws
# new ones. Four standard levers are meant to act on that balance (the readings
# below, and over the longer run of section 5, show how far they do):
#
# * **separate learning rates** for G and D. Heusel et al. (2017) analyse such
#   two-time-scale updates with D as the faster player; here we go the other way, G's
#   twice D's (4·10⁻⁴ against 2·10⁻⁴), because the readings above show D ahead;
# * **D's capacity**: the same four-convolution discriminator at half the width
#   (`ndf = 16`, about a quarter of the parameters, printed in section 2), which also
#   makes every step cheaper, so more images pass in the same seconds;
# * **R1 on real data** (Mescheder et al. 2018, Eq. 9): D's loss gains
#   $\frac{\gamma}{2}\,\mathbb E_{x \sim p_{data}} \|\nabla_x D(x)\|^2$ with γ = 1 (on D's
#   logit), which penalises a discriminator that is steep around the real digits: exactly
#   the "steep around every sample it has seen" above. It costs a second backward pass
#   through D on every D step;
# * **an exponential moving average of G's weights** (Yazıcı et al. 2019; Karras et al.
#   2018): the samples come from an average of recent generators, which smooths over the
#   oscillation that a game out of balance leaves in the last iterate. It changes what
#   we sample from, not the training.
#
# The architecture stays within section 1's guidelines; the departures are G's learning
# rate, twice the paper's 2·10⁻⁴, and the R1 term in D's loss. The next cell trains this
# **adjusted setting** for the same seconds from the same seed and prints the same readings.

# %%
EMA_DECAY = 0.999
FIXED = TrainConfig(batch_size=BATCH, lr_g=4e-4, lr_d=2e-4, betas=(0.5, 0.999), loss="bce", r1_weight=1.0,
                    seed=SEED, steps=10**9, log_every=10, progress=False, snapshot_every=quick_or_full(50, 1000),
                    n_snapshot=36)
NDF = 16
dash = training_dashboard(min_interval=30.0)  # redraws cost time, and the clock is running
display(dash)
dcgan = make_trainer(FIXED, ndf=NDF, callbacks=[dash])
ema = ema_generator(dcgan, EMA_DECAY)  # ema.module: the averaged generator
fixed_seconds = train_for(dcgan, DIAG_BUDGET)
fixed_means = window_means(dcgan)
print(f"adjusted setting: {dcgan.step} steps ({dcgan.step * BATCH:,} images) in {fixed_seconds:.0f} s")
print(f"{'':<18}{'D(x)':>8}{'D(G(z))':>9}{'‖∇G‖':>8}{'L_G':>7}   (means over the last quarter of each run)")
for name, m in (("paper's settings", paper_means), ("adjusted setting", fixed_means)):
    print(f"{name:<18}{m['d_real']:8.3f}{m['d_fake']:9.3f}{m['grad_norm_g']:8.2f}{m['g_loss']:7.2f}")
print("gradient reaching each of G's layers, paper's settings / adjusted setting:")
for (layer, a), b in zip(g_gradient_by_layer(paper).items(), g_gradient_by_layer(dcgan).values()):
    print(f"  {layer:<22}{a:9.4f}{b:9.4f}")

# %%
diag["adjusted setting"] = dcgan
diagnosis_figure(diag)

# %%
display(Markdown(balance_text("the adjusted setting", fixed_means) + " At the paper's settings: "
                 + f"D(x) {paper_means['d_real']:.2f}, D(G(z)) {paper_means['d_fake']:.2f}, "
                 + f"G's loss {paper_means['g_loss']:.2f}, gradient {paper_means['grad_norm_g']:.1f}."))

# %% [markdown]
# ## 5. Training to good digits
#
# **Protocol, fixed before the run.** The adjusted setting trains on, for at most `BUDGET`
# seconds of training in all (the clock stops while we measure). Every `PROBE_EVERY`
# seconds the averaged generator draws the same `N_PROBE` images (fixed latents) and the
# shipped MNIST classifier reads them. **Good digits** means: at least 80 % of the
# images classified with top probability ≥ 0.9, *and* every digit at least 2.5 % of
# the classifier's labels, so that a generator drawing one digit well does not pass.
# Training stops at the first probe that passes. The last iterate is probed too, for
# comparison. Seconds, here and in section 6, are the process's CPU time
# (`time.process_time`, one thread; `CLOCK`), wall-clock on a GPU.

# %%
trace = []


def probe_now(seconds: float) -> dict:
    """Probe the averaged and the last-iterate generators; print and record one row (D's readings since the last)."""
    since = trace[-1]["records"] if trace else 0
    row = {"seconds": seconds, "steps": dcgan.step, "records": len(dcgan.history),
           "ema": probe(ema.module, classifier, probe_z), "last": probe(dcgan.generator, classifier, probe_z),
           **window_means(dcgan, start=since)}
    trace.append(row)
    print(f"{seconds:6.0f} s  step {dcgan.step:6d} | averaged G: {row['ema']['confident']:6.1%} confident, "
          f"rarest digit {row['ema']['smallest']:5.1%} | last iterate {row['last']['confident']:6.1%} | "
          f"D(x) {row['d_real']:.2f}  D(G(z)) {row['d_fake']:.2f}  ‖∇G‖ {row['grad_norm_g']:.1f}")
    return row


spent = fixed_seconds
probe_now(spent)
while spent < BUDGET and not meets(trace[-1]["ema"], BAR):
    spent += train_for(dcgan, min(PROBE_EVERY, BUDGET - spent))
    probe_now(spent)
dash.refresh()  # draw the last record too (redraws are at most every 30 s)
passed = meets(trace[-1]["ema"], BAR)
print(f"\n{'good digits' if passed else 'not good digits yet'} after {spent:.0f} s of training "
      f"({dcgan.step} steps, {dcgan.step * BATCH:,} images): {trace[-1]['ema']['confident']:.1%} confident, "
      f"rarest digit {trace[-1]['ema']['smallest']:.1%}")

# %%
dash.figure()

# %%
fig = new_figure(11, 3.4)
ax1, ax2 = fig.subplots(1, 2)
secs = [r["seconds"] for r in trace]
ax1.plot(secs, [r["ema"]["confident"] for r in trace], "o-", label="averaged G")
ax1.plot(secs, [r["last"]["confident"] for r in trace], ".--", label="last iterate")
ax1.axhline(BAR.share, color="gray", ls=":", label=f"{BAR.share:.0%}")
ax1.set(xlabel="training seconds", ylabel=f"share with confidence ≥ {BAR.confidence}", ylim=(0, 1),
        title="the MNIST classifier's reading")
ax1.legend(fontsize="small")
ax2.plot(secs, [r["d_real"] for r in trace], "o-", color="tab:blue", label="D(x)")
ax2.plot(secs, [r["d_fake"] for r in trace], "o--", color="tab:blue", label="D(G(z))")
ax2.axhline(0.5, color="gray", lw=0.8, ls=":")
ax2.set(xlabel="training seconds", ylim=(0, 1), title="D's outputs at each probe")
ax2.legend(fontsize="small")
fig

# %%
first, final = trace[0], trace[-1]
best = max(trace, key=lambda r: r["ema"]["confident"] if r["ema"]["smallest"] >= BAR.min_digit else 0.0)
display(Markdown(
    f"The averaged generator {'passed' if passed else 'did not pass'} the bar after **{spent:.0f} s** of training "
    f"({dcgan.step:,} steps, {dcgan.step * BATCH:,} images): **{final['ema']['confident']:.1%}** of {N_PROBE} "
    f"samples confident, the rarest digit {final['ema']['smallest']:.1%} of them; the last iterate read "
    f"{final['last']['confident']:.1%} at the same probe. Its best probe read {best['ema']['confident']:.1%} "
    f"at {best['seconds']:.0f} s. Between the first probe and the last, D(x) went from {first['d_real']:.2f} to "
    f"{final['d_real']:.2f}, D(G(z)) from {first['d_fake']:.2f} to {final['d_fake']:.2f}, and the gradient "
    f"reaching G from {first['grad_norm_g']:.1f} to {final['grad_norm_g']:.1f} (means over the steps before "
    f"each probe): at the end, {balance_verdict(final)}."
    + (" The discriminator pulls further ahead as training goes on, and the adjusted setting does not stop it."
       if final["d_real"] - final["d_fake"] > first["d_real"] - first["d_fake"] else
       " The gap between D's two outputs did not widen over the run.")))

# %% [markdown]
# The averaged generator's samples, from its fixed probe latents, and the last
# iterate's samples over the run (the same 36 latents at every snapshot):

# %%
with torch.no_grad():
    ema.module.eval()
    x_ema = ema.module(probe_z[:64].to(device)).float().cpu()
snaps = dcgan.history.snapshots
snaps = [snaps[i] for i in np.unique(np.linspace(0, len(snaps) - 1, 5).round().astype(int))]
fig = new_figure(2.0 * (len(snaps) + 2), 2.6)
axes = fig.subplots(1, len(snaps) + 1, width_ratios=[1] * len(snaps) + [2])
for ax, (step, x) in zip(axes, snaps):
    draw_image_grid(ax, x, nrow=6, title=f"last iterate, step {step}")
draw_image_grid(axes[-1], x_ema, nrow=8, title=f"averaged G, step {dcgan.step}")
fig

# %% [markdown]
# ## 6. DCGAN vs MLP GAN at equal batch size and equal seconds
#
# **Protocol, fixed before the race.** The DCGAN of section 5 (its generator and
# discriminator, learning rates, R1 and weight average) against lesson 2's MLP GAN (a
# BatchNorm MLP generator 100–128–256–512–1024–784, an MLP discriminator 784–512–256–1,
# Adam 2·10⁻⁴ for both). Both with batches of `BATCH` and each with the same average of
# its generator's weights (decay `EMA_DECAY`), for the same training seconds, in
# alternating turns (whichever has used fewer seconds trains next); seeds 0, 1 and 2, each
# model built from the seed. The budget, `RACE_BUDGET` = 240 s per model and seed, is half
# of section 5's. Every `PROBE_EVERY` seconds each averaged generator draws the same fixed
# latents (the same for both models within a seed) and the classifier reads them.
# Reported: mean ± std over the seeds of the confident share at each time, the steps and
# images each model got through, and the seconds each needed to pass the bar.
#
# **Criterion.** The winner is the model with the higher mean confident share at the
# end of the budget, counted only for seeds where every digit is ≥ 2.5 %; if the two
# means are closer than the larger of the two standard deviations, the race is a tie at
# that budget. Time to the bar is reported beside it, as a second reading. A third
# reading compares the two **per image seen**: for each seed, the MLP GAN's confident
# share at the number of images that seed's DCGAN saw in the whole budget (read off its
# probe curve, linearly between probes) against the DCGAN's final share; the same rule
# names a difference only when the means differ by more than the larger standard
# deviation. The race's runs are new runs, probed every `PROBE_EVERY` seconds at their own
# speed, so even the same recipe and seed as section 5 can pass the bar at another probe
# than it did there.
#
# The race below is loaded from `coursekit/weights/dcgan_mlp_race.pt`, made by
# `scripts/race_dcgan_mlp.py` with exactly these settings: the cell checks the file's
# recorded settings against the lesson's and prints the command. The file keeps the probe
# curves and, for each model and seed, the final averaged generator's images of 36 probe
# latents. If the settings differ (quick mode, or settings you change here), the lesson
# races for the shorter budget it prints instead.

# %%
RACE_BUDGET = 240.0  # training seconds per model and seed: half of section 5's budget
RACE_SEEDS = (0, 1, 2)
MLP = TrainConfig(batch_size=BATCH, lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999), loss="bce",
                  steps=10**9, log_every=100, progress=False, good_state_every=0)
RACE_DCGAN = TrainConfig(**{**FIXED.__dict__, "log_every": 100, "good_state_every": 0, "snapshot_every": 0,
                            "n_snapshot": 64})


def make_race_dcgan(seed: int) -> GANTrainer:
    """Section 5's DCGAN, built from ``seed``."""
    torch.manual_seed(seed)
    return GANTrainer(DCGANGenerator(nz=NZ, ngf=32), DeepDCGANDiscriminator(ndf=NDF), images,
                      TrainConfig(**{**RACE_DCGAN.__dict__, "seed": seed}), device=device)


def make_race_mlp(seed: int) -> GANTrainer:
    """Lesson 2's MLP GAN, built from ``seed``."""
    torch.manual_seed(seed)
    G_mlp = MLPGenerator(nz=NZ, hidden=(128, 256, 512, 1024), batchnorm=True)
    return GANTrainer(G_mlp, MLPDiscriminator(hidden=(512, 256)), images,
                      TrainConfig(**{**MLP.__dict__, "seed": seed}), device=device)


def same_settings(saved: dict) -> bool:
    """True when a saved race used this lesson's models, configurations, seeds, budget and probes."""
    mine = {"DCGAN": make_race_dcgan(0).config.summary(), "MLP GAN": make_race_mlp(0).config.summary()}
    same = lambda a, b: all(a.get(k) == v for k, v in b.items() if k != "seed")  # noqa: E731  (b's fields)
    return (not is_quick() and all(same(saved["configs"].get(k, {}), v) for k, v in mine.items())
            and saved["seeds"] == list(RACE_SEEDS) and saved["budget"] == RACE_BUDGET
            and saved["probe_every"] == PROBE_EVERY and saved["n_probe"] == N_PROBE
            and saved["ema_decay"] == EMA_DECAY)


RACE_FILE = Path(coursekit.__file__).parent / "weights" / "dcgan_mlp_race.pt"
saved = torch.load(RACE_FILE, map_location="cpu", weights_only=True)
if same_settings(saved):
    result = saved
    print(f"loaded {RACE_FILE.name}: `{saved['command']}` ({saved['date']}), {len(saved['seeds'])} seeds × "
          f"{saved['budget']:.0f} s of CPU time per model, {saved['n_data']:,} training images; "
          f"the settings recorded in the file equal the lesson's")
else:
    RACE_BUDGET = quick_or_full(2.0, 20.0)
    print(f"the shipped race's settings differ from these: racing here for {RACE_BUDGET:.0f} s per model and seed")
    result = race_seeds({"DCGAN": make_race_dcgan, "MLP GAN": make_race_mlp}, list(RACE_SEEDS), RACE_BUDGET,
                        classifier, probe_every=min(PROBE_EVERY, RACE_BUDGET / 2), n_probe=N_PROBE,
                        ema_decay=EMA_DECAY, clock=CLOCK)

# %% [markdown]
# Each model and seed at the end of the budget (its last probe: 1,000 fixed latents read by
# the classifier), and the averaged generators' last samples:

# %%
final_rows = {name: [curve[-1] for curve in curves] for name, curves in result["curves"].items()}
print(f"{'model':<9}{'seed':>5}{'seconds':>9}{'steps':>8}{'images':>11}{'confident':>11}{'rarest':>8}")
for name, rows in final_rows.items():
    for seed, r in zip(result["seeds"], rows):
        print(f"{name:<9}{seed:5d}{r['seconds']:9.0f}{r['steps']:8d}{r['images']:11,d}{r['confident']:11.1%}"
              f"{r['smallest']:8.1%}")

fig = new_figure(2.0 * len(result["seeds"]) * len(result["samples"]), 2.4)
axes = fig.subplots(1, len(result["seeds"]) * len(result["samples"]))
panels = [(name, seed, x) for name, per_seed in result["samples"].items() for seed, x in zip(result["seeds"], per_seed)]
for ax, (name, seed, x) in zip(axes, panels):
    draw_image_grid(ax, from_uint8(x), nrow=6, title=f"{name}, seed {seed}")
fig


# %%
def first_pass(curve: list[dict]) -> float | None:
    """Training seconds at the first probe that passes the bar, or None."""
    return next((r["seconds"] for r in curve if meets(r, BAR)), None)


def summary(name: str) -> dict:
    """Mean ± std over seeds of the final confident share (seeds with every digit ≥ 2.5 %), and more."""
    rows = final_rows[name]
    ok = [r["confident"] for r in rows if r["smallest"] >= BAR.min_digit]
    passes = [first_pass(c) for c in result["curves"][name]]
    return {"mean": float(np.mean(ok)) if ok else float("nan"), "std": float(np.std(ok)) if ok else float("nan"),
            "counted": len(ok), "images": float(np.mean([r["images"] for r in rows])),
            "steps": float(np.mean([r["steps"] for r in rows])), "passes": passes}


stats = {name: summary(name) for name in final_rows}
print(f"{'model':<9}{'confident at the end':>24}{'seeds counted':>15}{'images seen':>13}{'steps':>9}   seconds to the bar")
for name, s in stats.items():
    to_bar = ", ".join("—" if p is None else f"{p:.0f}" for p in s["passes"])
    print(f"{name:<9}{s['mean']:17.1%} ± {s['std']:.1%}{s['counted']:15d}{s['images']:13,.0f}{s['steps']:9,.0f}   {to_bar}")

# %%
fig = new_figure(11, 3.4)
ax1, ax2 = fig.subplots(1, 2, sharey=True)
for (name, curves), color in zip(result["curves"].items(), ("tab:blue", "tab:orange")):
    n = min(len(c) for c in curves)
    conf = np.array([[r["confident"] for r in c[:n]] for c in curves])  # [seeds, probes]
    secs_r = np.array([[r["seconds"] for r in c[:n]] for c in curves]).mean(0)
    imgs = np.array([[r["images"] for r in c[:n]] for c in curves]).mean(0)
    for ax, x in ((ax1, secs_r), (ax2, imgs)):
        ax.plot(x, conf.mean(0), color=color, label=f"{name} (mean of {len(curves)} seeds)")
        ax.fill_between(x, conf.mean(0) - conf.std(0), conf.mean(0) + conf.std(0), color=color, alpha=0.25)
for ax in (ax1, ax2):
    ax.axhline(BAR.share, color="gray", ls=":")
    ax.set(ylim=(0, 1))
ax1.set(xlabel="training seconds", ylabel="confident share (± std over seeds)", title="against the clock")
ax2.set(xlabel="images seen", title="against the images seen")
ax2.set_xscale("log")
ax1.legend(fontsize="small")
fig


# %%
def race_verdict() -> str:
    """The race's outcome in words, from the numbers above and the criterion declared before it."""
    d, m = stats["DCGAN"], stats["MLP GAN"]
    gap, spread = d["mean"] - m["mean"], max(d["std"], m["std"])
    if not np.isfinite(gap):
        head = "At least one model had no seed with every digit present at the end, so the criterion has no winner."
    elif abs(gap) < spread:
        head = (f"**A tie at {RACE_BUDGET:.0f} s** by the declared criterion: the means differ by "
                f"{abs(gap):.1%}, less than the larger spread over seeds ({spread:.1%}).")
    else:
        win, lose = ("DCGAN", "MLP GAN") if gap > 0 else ("MLP GAN", "DCGAN")
        head = (f"**The {win} wins at {RACE_BUDGET:.0f} s**: {stats[win]['mean']:.1%} ± {stats[win]['std']:.1%} "
                f"confident against the {lose}'s {stats[lose]['mean']:.1%} ± {stats[lose]['std']:.1%}.")
    ratio = m["images"] / d["images"]
    dc, ml = per_image["DCGAN"], per_image["MLP GAN"]
    gap_i, spread_i = np.mean(dc) - np.mean(ml), max(np.std(dc), np.std(ml))
    per_image_text = (f"In the same seconds the MLP GAN got through {ratio:.1f}× as many images as the DCGAN "
                      f"({m['images']:,.0f} against {d['images']:,.0f} on average). Per image seen (the third "
                      f"reading, printed above), the DCGAN stood at {np.mean(dc):.1%} ± {np.std(dc):.1%} and the "
                      f"MLP GAN at {np.mean(ml):.1%} ± {np.std(ml):.1%}: "
                      + (f"per image seen, the {'DCGAN' if gap_i > 0 else 'MLP GAN'} learned more."
                         if abs(gap_i) > spread_i else "within the seeds' spread, no difference per image."))
    passes = {k: sum(p is not None for p in s["passes"]) for k, s in stats.items()}
    bar = (f"Seeds that passed the bar within the budget: DCGAN {passes['DCGAN']} of {len(RACE_SEEDS)}, "
           f"MLP GAN {passes['MLP GAN']} of {len(RACE_SEEDS)}.")
    early = []
    for name, curves in result["curves"].items():
        early.append((np.mean([c[0]["confident"] for c in curves]), name, curves[0][0]["seconds"]))
    lead = max(early)
    early_text = (f"At the first probe ({lead[2]:.0f} s) the {lead[1]} was ahead "
                  f"({lead[0]:.1%} against {min(early)[0]:.1%}).")
    return " ".join([head, per_image_text, bar, early_text])


per_image = {"DCGAN": [], "MLP GAN": []}  # each seed's confident share at that seed's DCGAN's final image count
print("per image seen: each seed's MLP GAN, read at the images its DCGAN saw in the budget")
for seed, dc_curve, mlp_curve in zip(result["seeds"], result["curves"]["DCGAN"], result["curves"]["MLP GAN"]):
    n_images = dc_curve[-1]["images"]
    mlp_at = float(np.interp(n_images, [r["images"] for r in mlp_curve], [r["confident"] for r in mlp_curve]))
    per_image["DCGAN"].append(dc_curve[-1]["confident"])
    per_image["MLP GAN"].append(mlp_at)
    print(f"  seed {seed}: at {n_images:,} images, DCGAN {dc_curve[-1]['confident']:.1%}, MLP GAN {mlp_at:.1%}")
for name, values in per_image.items():
    print(f"  {name:8s} {np.mean(values):.1%} ± {np.std(values):.1%}")
display(Markdown(race_verdict()))

# %%
def forward_cost(generator: nn.Module, discriminator: nn.Module) -> int:
    """Floating-point operations of one image through G and then D (forward pass)."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        discriminator.eval()(generator.eval()(torch.randn(1, NZ)))
    return counter.get_total_flops()


race_models = {"DCGAN": (DCGANGenerator(nz=NZ, ngf=32), DeepDCGANDiscriminator(ndf=NDF)),
               "MLP GAN": (MLPGenerator(nz=NZ, hidden=(128, 256, 512, 1024), batchnorm=True),
                           MLPDiscriminator(hidden=(512, 256)))}
flops = {name: forward_cost(*models) for name, models in race_models.items()}
for name, (g, d) in race_models.items():
    print(f"{name:8s} G + D: {count_parameters(g) + count_parameters(d):>9,} parameters, "
          f"{flops[name] / 1e6:.1f} MFLOP per image (forward), {stats[name]['images'] / RACE_BUDGET:,.0f} images "
          f"per training second in the race")
arithmetic, speed = flops["DCGAN"] / flops["MLP GAN"], stats["MLP GAN"]["images"] / stats["DCGAN"]["images"]
print(f"the DCGAN: {arithmetic:.2f}× the MLP GAN's arithmetic per image, {speed:.2f}× fewer images per second; "
      f"the arithmetic explains {arithmetic:.2f}× of the {speed:.2f}× gap, leaving {speed / arithmetic:.2f}×")

# %% [markdown]
# Why a convolutional generator should use its images better: its filters are local and
# shared across positions, so a stroke learned in one place is drawn everywhere, while
# the MLP must learn each pixel's relation to every other separately. Why it may still
# lose against the clock: a convolution reuses each weight at every position, so the
# DCGAN, with far fewer parameters than the MLP GAN, does more arithmetic per image (the
# cell above counts one forward pass). That count explains part of the gap in images per
# second, and the cell prints how much is left: the rest is the DCGAN's R1 term, a second
# backward pass through D on every D step that the count leaves out, and the cost of
# convolutions on the hardware that runs them, which this lesson does not separate. The
# figure's two panels separate speed from learning: against the images seen, and against
# the seconds. Rerun the race with `scripts/race_dcgan_mlp.py`: how many images fit in the
# budget depends on the hardware; the confident share at a given number of images seen
# should not.

# %% [markdown]
# ## 7. The DCGAN's latent space
#
# Interpolation between two seeds (slerp) and a sweep of one latent coordinate, drawn by
# the averaged generator; the static figure shows the default settings. Radford et al.
# (Sec. 6.1) walked their generator's latent space to argue that it had not memorised
# training images: sharp transitions would suggest memorisation, smooth ones a model of
# the data. Below the figure the classifier reads each image of the path, so you can see
# where the path passes through digits and where through shapes that are no digit.

# %%
explorer = latent_explorer(ema.module, seed_a=3, seed_b=4, steps=10)
explorer

# %%
explorer.figure()

# %%
path, _ = explorer.latents()
with torch.no_grad():
    path_images = ema.module.eval()(path.to(device)).float().cpu()  # [steps, 1, 28, 28]
_, path_probs = mnist_features(path_images, classifier=classifier, progress=False)
top, label = path_probs.max(dim=1)
step_change = (path_images[1:] - path_images[:-1]).flatten(1).norm(dim=1)  # [steps - 1]: pixels moved per step
print("path, seed 3 -> seed 4:  " + "  ".join(f"{int(c)}:{p:.2f}" for c, p in zip(label, top)))
print("pixel change per step:   " + "  ".join(f"{d:.1f}" for d in step_change))
unsure = [i for i, p in enumerate(top.tolist()) if p < BAR.confidence]
changes = [i for i in range(1, len(label)) if label[i] != label[i - 1]]
where = ", ".join(f"{i + 1}" + (" (seed 3 itself)" if i == 0 else " (seed 4 itself)" if i == len(top) - 1 else "")
                  for i in unsure)
at_changes = [step_change[i - 1].item() for i in changes]
elsewhere = [d.item() for i, d in enumerate(step_change, start=1) if i not in changes]
largest = int(step_change.argmax()) + 1  # the step from image `largest` to image `largest + 1`
moves = (f" The steps where the label changes moved the pixels by {np.mean(at_changes):.1f} on average (L2 "
         f"distance), the other steps by {np.mean(elsewhere):.1f}: "
         + ("on average the image changes more where the label changes" if np.mean(at_changes) > np.mean(elsewhere)
            else "the label changes without a larger jump in the image")
         + f"; the largest single step, {step_change.max():.1f}, is from image {largest} to {largest + 1}"
         + (", where the label changes." if largest in changes else ", where the label stays.")
         ) if changes and elsewhere else ""
display(Markdown(
    f"Along this path the classifier's label changes {len(changes)} time(s) "
    f"({' → '.join(str(int(label[i])) for i in [0, *changes])}), and {len(unsure)} of the {len(top)} images read "
    f"below confidence {BAR.confidence}" + (f": image(s) {where}." if unsure else ".") + moves))

# %% [markdown]
# ## 8. Keep the generator
#
# Lesson 8's leaderboard loads `runs/04_dcgan.pt` (at the repository's root; `runs/` is
# not committed): the averaged generator (`DCGANGenerator(nz=100, ngf=32)`), its class and
# constructor arguments beside its weights, with the step. The full trainer state, to resume training, goes
# to `runs/04_dcgan_trainer.pt`.

# %%
CHECKPOINT = checkpoint_path("04_dcgan.pt")  # runs/quick/ in quick mode: a quick run never replaces a full one
save_checkpoint(CHECKPOINT, {"generator": ema.module},
                {"step": dcgan.step, "ema_decay": EMA_DECAY, "config": dcgan.config.summary(), "ndf": NDF})
dcgan.save_checkpoint(checkpoint_path("04_dcgan_trainer.pt"))
print(f"saved {CHECKPOINT.relative_to(runs_dir().parent)} (step {dcgan.step}, mode={'quick' if is_quick() else 'full'})")

# %%
print(f"mode={'quick' if is_quick() else 'full'} | seed={SEED} | batch {BATCH} | probes of {N_PROBE} samples")
print(f"section 4: paper's settings D(x) {paper_means['d_real']:.2f}, D(G(z)) {paper_means['d_fake']:.2f}; "
      f"adjusted setting D(x) {fixed_means['d_real']:.2f}, D(G(z)) {fixed_means['d_fake']:.2f}")
print(f"section 5: {final['ema']['confident']:.1%} confident, rarest digit {final['ema']['smallest']:.1%}, "
      f"after {spent:.0f} s ({dcgan.step} steps)")
for name, s in stats.items():
    print(f"section 6: {name:8s} {s['mean']:.1%} ± {s['std']:.1%} at {RACE_BUDGET:.0f} s, {s['images']:,.0f} images")
