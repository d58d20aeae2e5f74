# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 2 exercises: the GAN training step, and measuring digits
#
# Write your code where it says `# YOUR CODE HERE`, run the cell, then run the check
# cell below it: it tests your function on randomised cases and prints PASS ✅ or
# FAIL ❌ per case, with a hint when something is off (a more specific one each time
# the check fails again). The cell after each check uses your
# function if it passes and coursekit's reference otherwise (it says so), so the
# notebook always runs to the end.
#
# Conventions: images are `[B, 1, 28, 28]` in [-1, 1]; the discriminator returns raw
# **logits** `[B]` and $D(x) = \sigma(\text{logit})$; the losses of `coursekit.losses`
# take logits.

# %%
import matplotlib.pyplot as plt
import torch

from coursekit.check import check, solution_or_reference
from coursekit.data import load_mnist
from coursekit.features import mnist_features
from coursekit.losses import d_loss_bce, g_loss_nonsaturating
from coursekit.models import MLPDiscriminator, MLPGenerator
from coursekit.plots import samples_figure
from coursekit.runtime import quick_or_full, start_lesson

torch.set_num_threads(1)  # small MLPs: one thread is faster than two on a busy 2-core machine
SEED = 0
device = start_lesson(seed=SEED)

# %% [markdown]
# ## 1. One training step, written out
#
# Algorithm 1 of Goodfellow et al. (2014), with one discriminator step per generator
# step ($k = 1$) and the non-saturating generator loss of their Sec. 3, in pseudo-code:
#
# ```
# fake ← G(z)
# D's update:  loss_D ← BCE(D(real) against 1, D(fake) against 0), the fakes cut from G's graph
#              clear D's gradients; backpropagate loss_D; step D's optimiser
# G's update:  loss_G ← −log D(fake), through the *updated* D
#              clear G's gradients; backpropagate loss_G; step G's optimiser
# ```
#
# Why the fakes are cut from G's graph in D's update (`Tensor.detach`): D's backward
# pass must put gradients into D's parameters only. G's backward pass also leaves
# gradients in D's parameters; they are harmless as long as the next D update clears
# D's gradients before its own backward pass. `coursekit.losses` has both losses on
# logits: `d_loss_bce(real_logits, fake_logits)` and `g_loss_nonsaturating(fake_logits)`.
#
# **Contract.** `train_step(G, D, opt_g, opt_d, real, z)` does exactly one D update then
# one G update, using the same `z` for both, and returns `(d_loss, g_loss)` as Python
# floats, each measured before its own update.
#
# The check builds two identical small GANs, runs your step on one and the reference on
# the other, and compares the parameters afterwards. Every case starts with stale
# gradients in both models (what the previous step's G update leaves in D), and counts
# how many times a gradient reaches G in one step.

# %%
def train_step(G, D, opt_g, opt_d, real, z):
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check("02.train_step", train_step)

# %% [markdown]
# Now train a small MLP GAN on MNIST with *your* step (or the reference, if yours does
# not pass yet). It is short, so expect blurry strokes rather than digits: lesson 2's
# main notebook trains for longer with coursekit's trainer.

# %%
step_fn = solution_or_reference("02.train_step", train_step)
images, _ = load_mnist()
STEPS = quick_or_full(60, 400)
BATCH = 64
torch.manual_seed(SEED)
G = MLPGenerator(nz=64, hidden=(128, 256))
D = MLPDiscriminator(hidden=(256, 128))
opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
d_losses, g_losses = [], []
for step in range(STEPS):
    real = images[torch.randint(len(images), (BATCH,))]  # [64, 1, 28, 28]
    z = torch.randn(BATCH, G.nz)  # [64, 64]
    d_loss, g_loss = step_fn(G, D, opt_g, opt_d, real, z)
    d_losses.append(d_loss)
    g_losses.append(g_loss)
print(f"{STEPS} steps of batch {BATCH}: last D loss {d_losses[-1]:.3f}, last G loss {g_losses[-1]:.3f}")
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.plot(d_losses, label="D loss")
ax.plot(g_losses, label="G loss")
ax.set_xlabel("step")
ax.legend()
plt.show()
with torch.no_grad():
    samples = G(torch.randn(36, G.nz))  # [36, 1, 28, 28]
samples_figure(samples, nrow=6, title=f"samples after {STEPS} steps")


# %% [markdown]
# ## 2. Measuring digits
#
# A classifier trained on real MNIST (shipped with coursekit) reads each generated
# image. Two numbers summarise what it sees: the **share of confident samples**, whose
# top class probability is at least a threshold (a sharp digit is classified
# confidently; a smudge is not), and the **class histogram** of the predicted digits
# (a generator that only draws ones has a histogram with one bar: mode collapse).
#
# **Contract.** `digit_census(probs, threshold=0.9)` takes class probabilities `[N, C]`
# and returns `(share, counts)`: `share` is the fraction (a float in [0, 1]) of rows
# whose largest probability is `>= threshold`, and `counts` is an int64 tensor `[C]`
# with the number of samples whose most probable class is each class, over *all* N
# samples, with zeros for classes never predicted.

# %%
def digit_census(probs, threshold=0.9):
    # YOUR CODE HERE
    raise NotImplementedError()


# %%
check("02.digit_census", digit_census)

# %% [markdown]
# The same census for real held-out digits and for the little GAN trained above. Read
# the two numbers together: a high confident share with a single bar in the histogram
# means the classifier reads every sample as the same digit (a classifier can read early
# blobs all as one digit, with high confidence), which is not success.

# %%
census = solution_or_reference("02.digit_census", digit_census)
held_out, _ = load_mnist(train=False, offline=len(images) < 10_000)  # held-out split, same source as `images`
N = 500
_, probs_real = mnist_features(held_out, n=N)
G.eval()
torch.manual_seed(SEED)
_, probs_fake = mnist_features(G, n=N)
for name, probs in (("real held-out digits", probs_real), (f"GAN after {STEPS} steps", probs_fake)):
    share, counts = census(probs, 0.9)
    print(f"{name:>22} (N = {N}): {share:6.1%} confident >= 0.9, classes {counts.tolist()}")
