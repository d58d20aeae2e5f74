# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 2: a vanilla GAN on MNIST, trained for real and measured
#
# Goodfellow et al. (2014) trained a generator $G$ and a discriminator $D$, both
# fully connected networks, on MNIST. This lesson does the same on real MNIST digits:
#
# 1. the training step written out (the exercise of this lesson),
# 2. the same algorithm run by coursekit's `GANTrainer`, watched live,
# 3. what the generator draws over training, and the losses and $D(x)$, $D(G(z))$ curves,
# 4. a walk through the latent space,
# 5. a *measurement* of the digits: an MNIST classifier reads every generated image
#    (share of confident samples, class histogram) and its features give an MNIST
#    version of the FID.
#
# Quick mode (`COURSEKIT_QUICK=1`) only proves that the code runs; the numbers this
# lesson is about come from full mode.

# %%
import numpy as np
import torch
from IPython.display import display
from torch import nn

from coursekit.data import load_mnist
from coursekit.features import load_mnist_classifier, mnist_features
from coursekit.metrics import fid_from_features
from coursekit.models import MLPDiscriminator, MLPGenerator, count_parameters
from coursekit.plots import draw_image_grid, new_figure, samples_figure
from coursekit.runtime import checkpoint_path, is_quick, quick_or_full, runs_dir, start_lesson
from coursekit.train import GANTrainer, TrainConfig
from coursekit.widgets import latent_explorer, training_dashboard

SEED = 0
torch.set_num_threads(1)  # small MLPs: one thread keeps the run reproducible and is enough
device = start_lesson(seed=SEED)

NZ = 100  # latent size
STEPS = quick_or_full(60, 16000)  # generator updates with the trainer
BATCH = 64
N_EVAL = quick_or_full(300, 2000)  # generated samples the classifier reads
print(f"trainer: {STEPS} steps of batch {BATCH}; evaluation on {N_EVAL} samples")

# %% [markdown]
# ## The data
#
# `load_mnist()` gives images in [-1, 1] (the range of the generator's tanh),
# `[N, 1, 28, 28]`. Where the full data set is not on disk and cannot be downloaded
# (offline, CI), it falls back to a 5,000-image subset that ships with a package:
# 4,000 training and 1,000 held-out digits. The first line the cell prints says which
# one this run used; every number in this lesson is for that set. The held-out digits are never trained on;
# they are the reference the generated digits are measured against.

# %%
images, labels = load_mnist()
held_out, held_out_labels = load_mnist(train=False, offline=len(images) < 10_000)  # same source as `images`
print(f"train {tuple(images.shape)}, range [{images.min():.0f}, {images.max():.0f}]; held-out {tuple(held_out.shape)}")
print("training digits per class:", torch.bincount(labels, minlength=10).tolist())
samples_figure(images[:64], nrow=8, title="real training digits")

# %% [markdown]
# ## The two players
#
# Both are multilayer perceptrons, as in the original paper.
#
# * $G$: $z \sim \mathcal N(0, I_{100})$ → 128 → 256 → 512 → 1024 → 784 units, LeakyReLU(0.2)
#   between layers, BatchNorm on every hidden layer but the first, and tanh at the end,
#   reshaped to `[B, 1, 28, 28]`. BatchNorm (Ioffe & Szegedy 2015) was not in the 2014
#   paper; we use it as later GANs do (DCGAN, lesson 4), a departure from the paper.
# * $D$: coursekit's `MLPDiscriminator`, 784 → 512 → 256 → 1 with LeakyReLU(0.2), and
#   *no sigmoid*: $D$ returns a logit $l$ and $D(x) = \sigma(l)$; the losses take logits.
#   Why not a sigmoid followed by `BCELoss`? Once $D$ is confident, $\sigma(l)$ rounds to
#   exactly 1 (or 0) in float32; `BCELoss` then clamps $\log 0$ at $-100$ and the gradient
#   that reaches $l$ is exactly zero. The logit form computes $\log\sigma(l) = -\mathrm{softplus}(-l)$
#   without rounding. A fake that $D$ wrongly calls real with logit 20, both ways:

# %%
logit = torch.tensor([20.0], requires_grad=True)  # D is sure this fake is real: the loss must push hard
for name, loss_of in [("sigmoid + BCELoss", lambda l: nn.BCELoss()(torch.sigmoid(l), torch.zeros(1))),
                      ("logits (d_loss_bce's form)", lambda l: nn.BCEWithLogitsLoss()(l, torch.zeros(1)))]:
    loss = loss_of(logit)
    (grad,) = torch.autograd.grad(loss, logit)
    print(f"{name:27s} loss = {loss.item():8.3f}   d loss / d logit = {grad.item():.3e}")

# %% [markdown]
# The first loss is stuck at the clamp and gives no gradient; the second is exact
# ($-\log(1 - \sigma(20)) \approx 20$) and pushes with its full slope.

# %%
def make_models(seed: int = SEED) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(seed)
    return MLPGenerator(nz=NZ, hidden=(128, 256, 512, 1024), batchnorm=True), MLPDiscriminator(hidden=(512, 256))


G, D = make_models()
print(f"G: {count_parameters(G):,} parameters, D: {count_parameters(D):,} parameters")
print("G(z):", tuple(G(torch.randn(2, NZ)).shape), "D(x):", tuple(D(images[:2]).shape))

# %% [markdown]
# ## 1. The training step, written out
#
# Algorithm 1 of the paper with one discriminator step per generator step ($k = 1$) and
# the non-saturating generator loss of its Sec. 3, in pseudo-code:
#
# ```
# train_step(G, D, opt_g, opt_d, real, z):
#     fake ← G(z)
#     D's update:  loss_D ← BCE(D(real) against 1, D(fake) against 0), the fakes cut from G's graph
#                  clear D's gradients; backpropagate loss_D; step opt_d
#     G's update:  loss_G ← −log D(fake), through the *updated* D
#                  clear G's gradients; backpropagate loss_G; step opt_g
#     return loss_D, loss_G as numbers
# ```
#
# The fakes are cut from G's graph in D's update so that D's loss puts gradients into D's
# parameters only; G's update, in turn, leaves gradients in D's parameters, which is
# harmless because D's next update clears them first. Writing this function is the
# exercise of this lesson; below, coursekit's implementation of it runs.
#
# One departure from Algorithm 1: the paper samples a *fresh* noise minibatch for the
# generator's step; here, as in the PyTorch DCGAN example, G's step reuses the batch of
# fakes that D has just seen. It saves one forward pass of G, at the price of a small
# correlation: D was updated on exactly these fakes.

# %%
from coursekit.exercises.lesson02 import train_step  # noqa: E402  (the step above, as coursekit writes it)


# %% [markdown]
# A couple of hundred steps of it, by hand, with Adam at the DCGAN settings
# (lr 2·10⁻⁴, β₁ = 0.5). Two hundred steps are far too few for digits: the point is
# that this little function is the whole algorithm.

# %%
HAND_STEPS = quick_or_full(20, 200)
opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
gen = torch.Generator().manual_seed(SEED)
log = []
for step in range(HAND_STEPS):
    real = images[torch.randint(len(images), (BATCH,), generator=gen)]  # [64, 1, 28, 28]
    z = torch.randn(BATCH, NZ, generator=gen)  # [64, 100]
    log.append(train_step(G, D, opt_g, opt_d, real, z))
d_hand, g_hand = np.array(log).T
print(f"{HAND_STEPS} hand-written steps; D loss {d_hand[0]:.3f} -> {d_hand[-1]:.3f}, "
      f"G loss {g_hand[0]:.3f} -> {g_hand[-1]:.3f}")
with torch.no_grad():
    G.eval()
    hand_samples = G(torch.randn(36, NZ, generator=gen))  # [36, 1, 28, 28]
    G.train()
fig = new_figure(9, 3)
ax1, ax2 = fig.subplots(1, 2, width_ratios=[2, 1])
ax1.plot(d_hand, label="D loss")
ax1.plot(g_hand, label="G loss")
ax1.set_xlabel("step")
ax1.legend()
draw_image_grid(ax2, hand_samples, nrow=6, title=f"G after {HAND_STEPS} steps")
fig

# %% [markdown]
# ## 2. The same algorithm, with coursekit's trainer
#
# `GANTrainer` runs exactly this step (D on `fake.detach()`, then G through the updated D,
# non-saturating loss), plus what a longer run needs: batches drawn from one tensor with
# its own seeded RNG, a record every `log_every` steps, sample snapshots from a *fixed*
# noise batch (so that the same 36 latents are followed through training), a NaN guard
# and checkpoints. The dashboard redraws as records arrive. We start again from fresh
# models so that the run below is reproducible on its own.

# %%
G, D = make_models()
config = TrainConfig(steps=STEPS, batch_size=BATCH, lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999), loss="bce",
                     log_every=quick_or_full(10, 100), snapshot_every=quick_or_full(20, 2000), n_snapshot=36,
                     seed=SEED)
dash = training_dashboard(min_interval=quick_or_full(30.0, 2.0))
display(dash)
trainer = GANTrainer(G, D, images, config, callbacks=[dash])
history = trainer.train()
dash.refresh()  # draw the last record too (redraws are at most every few seconds)
print(f"{trainer.step} steps; last record: "
      + ", ".join(f"{k} = {v:.3f}" for k, v in history.last().items() if k in ("d_loss", "g_loss", "d_real", "d_fake")))

# %% [markdown]
# The final state of the dashboard, as a static figure. The dashed line is the
# equilibrium of the game, $D = \tfrac12$ everywhere once $p_g = p_{data}$ (lesson 1).
# The last cell of this section reads the records and says where the curves went.

# %%
dash.figure()

# %% [markdown]
# ### Samples over training
#
# The trainer kept a snapshot of $G$ applied to the same 36 latents every
# `snapshot_every` steps (`history.snapshots`). Each cell of a grid is one latent, and the
# same cell in the next grid is the same latent, later in training.

# %%
snaps = history.snapshots
fig = new_figure(2.0 * len(snaps), 2.4)
for ax, (step, x) in zip(np.atleast_1d(fig.subplots(1, len(snaps))), snaps):
    draw_image_grid(ax, x, nrow=6, title=f"step {step}")
fig

# %% [markdown]
# ### Losses and discriminator outputs, smoothed
#
# The raw records are noisy (each is one batch); a running mean over 10 records shows
# the trend.

# %%
def smooth(values, width: int = 10) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    width = max(1, min(width, len(values)))
    return np.convolve(values, np.ones(width) / width, mode="valid")


steps = np.asarray(history.steps)
fig = new_figure(10, 3.2)
ax1, ax2 = fig.subplots(1, 2)
for key, name in (("d_loss", "D loss"), ("g_loss", "G loss")):
    ax1.plot(steps[len(steps) - len(smooth(getattr(history, key))):], smooth(getattr(history, key)), label=name)
ax1.set_xlabel("step")
ax1.set_title("losses (running mean)")
ax1.set_ylabel("loss")
ax1.legend()
for key, name in (("d_real", "D(x)"), ("d_fake", "D(G(z))")):
    ax2.plot(steps[len(steps) - len(smooth(getattr(history, key))):], smooth(getattr(history, key)), label=name)
ax2.axhline(0.5, color="gray", ls="--", lw=0.8)
ax2.set_ylim(0, 1)
ax2.set_xlabel("step")
ax2.set_title("discriminator outputs (running mean)")
ax2.set_ylabel("D output")
ax2.legend()
fig

# %%
fifth = max(1, len(steps) // 5)
first, last = slice(0, fifth), slice(-fifth, None)  # the first and the last fifth of the records
for name, part in (("first", first), ("last", last)):
    print(f"mean over the {name} fifth of training: D(x) = {np.mean(history.d_real[part]):.3f}, "
          f"D(G(z)) = {np.mean(history.d_fake[part]):.3f}, D loss = {np.mean(history.d_loss[part]):.3f}, "
          f"G loss = {np.mean(history.g_loss[part]):.3f}")
print(f"equilibrium: D(x) = D(G(z)) = 0.5, D loss = log 4 = {np.log(4):.3f}, G loss = log 2 = {np.log(2):.3f}")
d_trend = np.mean(history.d_loss[last]) - np.mean(history.d_loss[first])
g_trend = np.mean(history.g_loss[last]) - np.mean(history.g_loss[first])
noise = np.std(np.diff(history.d_loss)) / np.sqrt(2)  # record-to-record noise of D's loss, trend removed
print(f"In this run D's loss moved by {d_trend:+.3f} and G's by {g_trend:+.3f} from the first to the last fifth, "
      f"against a batch-to-batch spread of {noise:.3f}: "
      + ("a drift, D widening its edge while G's loss grows, not an oscillation around the equilibrium."
         if d_trend < -noise / 2 and g_trend > noise / 2 else
         "no clear drift; the curves stay noisy around their level."))

# %% [markdown]
# ## 3. The latent space
#
# The generator is a smooth function of $z$, so nearby latents give similar images. The
# explorer below walks from the latent of one seed to another's (along the great circle,
# `slerp`, which keeps the typical norm $\approx\sqrt{100}$ of a Gaussian latent), and
# sweeps one coordinate of the first latent from −3 to +3. Change the seeds and the
# dimension to look around; the static figure under it shows the default settings.

# %%
G.eval()  # BatchNorm uses its running statistics from here on
explorer = latent_explorer(G, seed_a=1, seed_b=2, steps=10)
explorer

# %%
explorer.figure()

# %% [markdown]
# Does one coordinate of $z$ control something we can name? A sweep of four coordinates
# of the same latent, each from −3 to +3, with the class that lesson 8's MNIST classifier
# (section 4) reads in each image written under it:

# %%
from coursekit.widgets import latent_from_seed, sweep  # noqa: E402

z_a = latent_from_seed(1, NZ)
rows = []
for dim in (0, 1, 2, 3):
    with torch.no_grad():
        rows.append(G(sweep(z_a, dim, span=3.0, steps=10).to(device)).cpu())  # [10, 1, 28, 28]
classifier = load_mnist_classifier(device)
with torch.no_grad():
    sweep_classes = [classifier(x.to(device)).argmax(dim=1).cpu().tolist() for x in rows]
fig = new_figure(8, 4.4)
for ax, dim, x, classes in zip(fig.subplots(4, 1), (0, 1, 2, 3), rows, sweep_classes):
    draw_image_grid(ax, x, nrow=10, title=f"seed 1, z[{dim}] from -3 to +3; classifier: {' '.join(map(str, classes))}")
changed = [dim for dim, classes in zip((0, 1, 2, 3), sweep_classes) if len(set(classes)) > 1]
print(f"coordinates whose sweep changes the predicted class: {changed if changed else 'none'} (of 0, 1, 2, 3)")
fig

# %% [markdown]
# A single coordinate can change the class (the printed list), and in the figure more
# than one coordinate makes the same change of class. Where the class stays, the digit
# changes less: compare the rows. Nothing in the loss asks G to give each coordinate one
# meaning, and it doesn't: the factors of a digit are spread over many coordinates at
# once. Lesson 7's StyleGAN adds a mapping
# network partly to untangle them.

# %% [markdown]
# ## 4. Measuring the digits
#
# Eyes are easily fooled by a grid of 36 samples. A small CNN trained on real MNIST
# (shipped with coursekit; its accuracy on the held-out digits is printed below) reads
# `N_EVAL` fresh samples:
#
# * the **share of confident samples**: top class probability ≥ 0.9;
# * the **class histogram** of the predicted digits: all ten should be there, in
#   roughly equal numbers, if the generator covers the data;
# * **MNIST-FID**: the Fréchet distance between Gaussians fitted to the classifier's
#   128-d penultimate features of generated and of held-out real digits (Heusel et
#   al. 2017's FID with the MNIST classifier in place of Inception-v3). It is biased in
#   the number of samples, so we compare only at equal N and also print the FID of
#   *real training digits* against the held-out ones: the floor a perfect generator
#   would reach at that N.

# %%
n_fid = min(N_EVAL, len(held_out))  # FID: same N for generated and real sets
torch.manual_seed(SEED + 1)
feats_fake, probs_fake = mnist_features(G, n=N_EVAL, classifier=classifier)
feats_real, probs_real = mnist_features(held_out, classifier=classifier)
feats_train, _ = mnist_features(images, n=n_fid, classifier=classifier)

confident = (probs_fake.max(dim=1).values >= 0.9).float().mean().item()
confident_real = (probs_real.max(dim=1).values >= 0.9).float().mean().item()
counts = torch.bincount(probs_fake.argmax(dim=1), minlength=10)
fid = fid_from_features(feats_fake[:n_fid], feats_real[:n_fid])
fid_floor = fid_from_features(feats_train, feats_real[:n_fid])
accuracy = (probs_real.argmax(dim=1) == held_out_labels).float().mean().item()
print(f"classifier accuracy on the {len(held_out)} held-out real digits: {accuracy:.1%}")
print(f"generated: {confident:.1%} of {N_EVAL} samples classified with confidence >= 0.9 "
      f"(real held-out digits: {confident_real:.1%} of {len(held_out)})")
print(f"predicted classes of the {N_EVAL} samples: {counts.tolist()} -> {int((counts > 0).sum())} of 10 digits present, "
      f"smallest class {counts.min().item() / N_EVAL:.1%} of samples")
print(f"MNIST-FID ({feats_fake.shape[1]}-d features), {n_fid} generated vs {n_fid} held-out real: {fid:.1f}; "
      f"{n_fid} real training digits vs the same held-out set: {fid_floor:.1f}")

# %%
fig = new_figure(10, 3.2)
ax1, ax2 = fig.subplots(1, 2)
ax1.bar(range(10), counts.numpy() / N_EVAL, color="tab:orange", label=f"generated (N = {N_EVAL})")
ax1.plot(range(10), torch.bincount(probs_real.argmax(dim=1), minlength=10).numpy() / len(held_out), "o",
         color="tab:blue", label=f"real held-out (N = {len(held_out)})")
ax1.set_xticks(range(10))
ax1.set_xlabel("predicted digit")
ax1.set_ylabel("share of samples")
ax1.legend(fontsize="small")
ax2.hist(probs_fake.max(dim=1).values.numpy(), bins=20, range=(0, 1), alpha=0.7, color="tab:orange",
         density=True, label="generated")
ax2.hist(probs_real.max(dim=1).values.numpy(), bins=20, range=(0, 1), alpha=0.5, color="tab:blue",
         density=True, label="real held-out")
ax2.axvline(0.9, color="gray", ls="--", lw=0.8)
ax2.set_xlabel("top class probability")
ax2.set_title("classifier confidence")
ax2.legend(fontsize="small")
fig

# %% [markdown]
# The training digits are exactly balanced (400 of each class, printed in the data
# section), so a generator that covers the data draws each digit about 10 % of the time.
# How far from 10 % may a share wander by chance? Its standard error is printed below,
# and a chi-square test says whether the generated histogram could be a balanced one:

# %%
from scipy.stats import chisquare  # noqa: E402

shares = counts.numpy() / N_EVAL
chi2 = chisquare(counts.numpy())  # against equal shares
most, least = int(shares.argmax()), int(shares.argmin())
print(f"largest share: digit {most} at {shares[most]:.1%}; smallest: digit {least} at {shares[least]:.1%}; "
      f"standard error of a 10 % share at N = {N_EVAL}: {np.sqrt(0.1 * 0.9 / N_EVAL):.1%}")
print(f"chi-square test against equal shares: statistic {chi2.statistic:.1f}, p = {chi2.pvalue:.1e}")
present = int((counts > 0).sum())
if chi2.pvalue >= 0.01:
    verdict = "consistent with equal shares at this sample size."
elif present == 10:
    verdict = ("not balanced: every digit is drawn, but some far more often than others, a mild form of mode "
               "dropping (lesson 3 measures it on data whose modes are known).")
else:
    verdict = (f"not balanced: {10 - present} of the 10 digits are never drawn, mode collapse (lesson 3 measures it "
               "on data whose modes are known).")
print("The histogram is " + verdict)

# %% [markdown]
# The least and the most confident samples: the classifier's doubts match what the eye
# sees.

# %%
with torch.no_grad():
    torch.manual_seed(SEED + 2)
    x = G(torch.randn(400, NZ, device=device)).cpu()  # [400, 1, 28, 28]
    p = classifier(x.to(device)).softmax(dim=1).cpu()
order = p.max(dim=1).values.argsort()
fig = new_figure(9, 2.6)
ax1, ax2 = fig.subplots(1, 2)
draw_image_grid(ax1, x[order[:24]], nrow=8, title="least confident of 400")
draw_image_grid(ax2, x[order[-24:]], nrow=8, title="most confident of 400")
fig

# %% [markdown]
# ## 5. Keep the generator
#
# Lesson 8 puts this generator on a leaderboard with the others, so we save the trainer's
# checkpoint (generator, discriminator, optimisers, history) to `runs/02_mlp_gan.pt` at
# the repository's root (`runs/` is not committed). The file records each model's class and
# constructor arguments beside its weights, so `G, meta = coursekit.checkpoint.load_model(path)`
# rebuilds the `MLPGenerator` by itself; `trainer.load_checkpoint(path)` resumes training.

# %%
CHECKPOINT = checkpoint_path("02_mlp_gan.pt")  # runs/quick/ in quick mode: a quick run never replaces a full one
trainer.save_checkpoint(CHECKPOINT)
print(f"saved {CHECKPOINT.relative_to(runs_dir().parent)} (step {trainer.step}, mode={'quick' if is_quick() else 'full'})")

# %% [markdown]
# ## What this run measured
#
# The cell below prints the headline numbers of *this* run; compare them with the real
# digits' numbers printed in section 4. Two questions matter: does the generator draw
# all ten digits (the histogram), and how many of its samples would pass for a real digit
# (the confident share, next to the real held-out digits' share printed in section 4)?
# After the full run, expect recognisable digits on speckled backgrounds (look at the
# grids above); the least confident samples are the most malformed ones, and the gap
# between the generator's confident share and the real digits' measures how far it is.
# Lesson 4 races a convolutional GAN against this MLP GAN's recipe, both retrained for the
# same number of seconds with an average of the generator's weights, and reads both with
# the same classifier. Quick mode trains for a few dozen steps only:
# its numbers describe blobs.

# %%
mnist_used = f"offline MNIST subset, {len(images):,} training digits" if len(images) < 10_000 else "full MNIST"
print(f"mode={'quick' if is_quick() else 'full'} | seed={SEED} | {mnist_used} | {trainer.step} steps of batch {BATCH}")
print(f"confident (>= 0.9): {confident:.1%} of {N_EVAL} samples | digits present: {int((counts > 0).sum())}/10 "
      f"| MNIST-FID ({n_fid} vs {n_fid}): {fid:.1f} (real-vs-real floor {fid_floor:.1f})")
