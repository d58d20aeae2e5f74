# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 7: StyleGAN's style mixing, measured
#
# StyleGAN (Karras et al. 2019, *A Style-Based Generator Architecture for GANs*)
# changes only the generator. Instead of feeding $z$ into the first layer, it
#
# 1. maps $z$ through an 8-layer MLP, the **mapping network**, to $w \in \mathcal W$;
# 2. starts the image from a **learned constant** 4×4 tensor;
# 3. injects $w$ into every layer as a **style**: after each conv, **AdaIN** normalises each channel and
#    rescales it, $\mathrm{AdaIN}(x, w) = \frac{x - \mu(x)}{\sigma(x)}\,(1 + \gamma(w)) + \beta(w)$ (Eq. 1),
#    with the scale written as $1+\gamma$ so that it starts at 1;
# 4. adds per-pixel **noise**, scaled by a learned per-channel weight that starts at 0 (Sec. 3.2).
#
# Because every layer reads its own copy of $w$, two latents can be **mixed**: layers
# before a *crossover* read $w_A$, the others read $w_B$ (Sec. 3.1). The paper shows
# that the early (4²–8²) layers decide pose and shape, the late ones colour and
# micro-structure, and **truncation in W**, $w' = \bar w + \psi (w - \bar w)$, trades
# diversity for quality (Sec. 5).
#
# Pictures of faces make these claims look right; here we *count*. We train a small
# StyleGAN on `coursekit.data.make_shapes`, 32×32 images of one shape whose every
# attribute is known: **coarse** (shape, position, size) and **fine** (colour,
# texture). An analytic measure (`coursekit.shape_attributes`) reads the attributes
# back from any image, so for each crossover we can count how often a mix keeps A's
# coarse attributes and B's fine ones.
#
# The network is `coursekit.stylegan`: a StyleGAN-1 generator (8 mapping layers with
# learning-rate multiplier 0.01, two styled layers per resolution 4→8→16→32, so
# `num_ws = 8`, a final toRGB) and a small residual discriminator.

# %%
import copy
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from tqdm.auto import tqdm

from coursekit import shape_attributes as sa
from coursekit.data import make_shapes
from coursekit.losses import d_loss_bce, g_loss_nonsaturating, r1_penalty
from coursekit.metrics import precision_recall
from coursekit.plots import draw_image_grid
from coursekit.runtime import is_quick, quick_or_full, start_lesson
from coursekit.shapes import COLOURS, SHAPES, TEXTURES
from coursekit.stylegan import (
    AdaIN,
    NoiseInjection,
    StyleGenerator,
    load_stylegan,
    mixing_regularised_ws,
)

NOTEBOOK_START = time.perf_counter()
SEED = 0
# A small model: on a 2-core CPU one thread is faster than two as soon as anything else
# runs (two threads then wait for each other; measured 10x slower fine-tuning).
torch.set_num_threads(1)
device = start_lesson(seed=SEED)
FINE_TUNE_STEPS = quick_or_full(0, 150)  # full mode fine-tunes the shipped checkpoint; quick mode only loads it
N_PAIRS = quick_or_full(32, 1000)  # (A, B) pairs per crossover in the mixing table
N_SAMPLES = quick_or_full(48, 1000)  # samples per ψ in the truncation sweep
N_REAL = quick_or_full(300, 3000)  # real images to verify the attribute measure
print(f"fine-tune steps={FINE_TUNE_STEPS} | mixing pairs={N_PAIRS} | samples per psi={N_SAMPLES}")

# %% [markdown]
# ## 1. The data, and a measure we can trust
#
# Each image is one shape on black. Its attributes are drawn independently:
# shape ∈ {square, circle, triangle}, centre x, y ∈ [0.3, 0.7], half-size ∈ [0.14, 0.26]
# (fractions of the width), one of 6 colours, and a texture ∈ {flat, stripes, checker}
# with a 4-pixel period.

# %%
real, attrs = make_shapes(16, seed=1)
fig, ax = plt.subplots(figsize=(7, 2))
draw_image_grid(ax, real, nrow=8)
plt.show()
for i in range(4):
    print(f"image {i}: {SHAPES[attrs['shape'][i]]}, x={attrs['x'][i]:.2f}, y={attrs['y'][i]:.2f}, "
          f"size={attrs['size'][i]:.2f}, {COLOURS[attrs['colour'][i]]}, {TEXTURES[attrs['texture'][i]]}")

# %% [markdown]
# `coursekit.shape_attributes.measure_shapes` reads every attribute off the pixels
# with rules you can check by hand: the mask is the bright pixels; the **shape**
# is how much of its bounding box the mask fills (square 1, circle π/4, triangle ½);
# **size** comes from the area, **position** from the centroid; **colour** is
# the nearest palette colour to the mask's mean colour; **texture** is the
# brightness contrast between the stripe rows or the checker cells. Before it
# judges a generator, it is checked on real images with known attributes, clean
# and with added noise (positions count as right within ±0.06 of the width,
# sizes within ±0.04).

# %%
real, attrs = make_shapes(N_REAL, seed=123)
noisy = (real + 0.1 * torch.randn(real.shape, generator=torch.Generator().manual_seed(SEED))).clamp(-1, 1)
print(f"{'':>22}" + "".join(f"{k:>9}" for k in ("shape", "x", "y", "size", "colour", "texture")))
for name, images in (("clean real images", real), ("noisy (std 0.1)", noisy)):
    acc = sa.attribute_accuracy(images, attrs)
    print(f"{name:>22}" + "".join(f"{acc[k]:>9.3f}" for k in ("shape", "x", "y", "size", "colour", "texture")))
print(f"mean abs. errors on clean images: x {acc['x_mae']:.4f}, y {acc['y_mae']:.4f}, size {acc['size_mae']:.4f}")

# %% [markdown]
# ## 2. The pieces, one at a time (on a fresh, untrained generator)
#
# ### The mapping network
# $z$ is first normalised by **PixelNorm** (each vector to unit root-mean-square),
# then passes 8 fully connected layers. Their learning rate is multiplied by
# 0.01: the stored weight is $N(0, 1/0.01^2)$ and is multiplied at run time by
# $0.01/\sqrt{\text{fan-in}}$ (the equalised learning rate). Adam moves every stored
# weight by about lr per step, so the *effective* weight moves 100× more slowly than a
# synthesis layer's. We measure both.

# %%
fresh = StyleGenerator().to(device)
z = torch.randn(4, fresh.z_dim, device=device) * torch.tensor([0.1, 1.0, 5.0, 50.0], device=device)[:, None]
print("|z| before PixelNorm:", [f"{v:.2f}" for v in z.norm(dim=1).tolist()])
print("|z| after PixelNorm: ", [f"{v:.2f}" for v in fresh.mapping.norm(z).norm(dim=1).tolist()],
      f"(= sqrt(z_dim) = {fresh.z_dim ** 0.5:.2f})")
print("w = mapping(z):", tuple(fresh.mapping(z).shape), "| mapping layers:", len(fresh.mapping.layers))

layer = fresh.mapping.layers[3]
conv = fresh.synthesis.layers[3].adain.affine  # a synthesis-side layer with lr multiplier 1
x_in = torch.randn(32, fresh.w_dim, device=device)
for name, lin in (("mapping layer (lr_mul 0.01)", layer), ("style affine (lr_mul 1)", conv)):
    before = lin.effective_weight().detach().clone()
    opt = torch.optim.Adam(lin.parameters(), lr=0.002, betas=(0.0, 0.99))
    lin(x_in).pow(2).sum().backward()
    opt.step()
    step = (lin.effective_weight().detach() - before).abs().median().item()
    print(f"{name:28s} stored weight std {lin.weight.std().item():7.2f} | effective std "
          f"{before.std().item():.4f} | median effective change after one Adam step (lr 0.002): {step:.2e}")

# %% [markdown]
# ### AdaIN
# AdaIN makes each channel's mean and standard deviation *equal* to the style's
# $\beta$ and $|1+\gamma|$, whatever the input's statistics were. At initialisation
# the affine map $A$ has zero bias, so the scale $1+\gamma$ averages 1. Written as
# $x\cdot\gamma + \beta$ (a common mistake), the scale would average 0 and every
# layer would start by erasing its input.

# %%
adain = AdaIN(8, fresh.w_dim).to(device)
feat = 3.0 + 5.0 * torch.randn(4, 8, 16, 16, device=device)  # mean 3, std 5
w = fresh.mapping(torch.randn(4, fresh.z_dim, device=device))
out = adain(feat, w)
scale, shift = adain.styles(w)
print("input  per-channel mean:", [f"{v:.3f}" for v in feat[0, :4].mean(dim=(1, 2)).tolist()],
      "| std:", [f"{v:.3f}" for v in feat[0, :4].std(dim=(1, 2)).tolist()])
print("output per-channel mean:", [f"{v:.3f}" for v in out[0, :4].mean(dim=(1, 2)).tolist()],
      "| beta:", [f"{v:.3f}" for v in shift[0, :4].tolist()])
print("output per-channel std: ", [f"{v:.3f}" for v in out[0, :4].std(dim=(1, 2), unbiased=False).tolist()],
      "| |1+gamma|:", [f"{v:.3f}" for v in scale[0, :4].abs().tolist()])
wide = AdaIN(512, fresh.w_dim).to(device)  # many channels, so the average over channels is meaningful
scales = wide.styles(fresh.mapping(torch.randn(256, fresh.z_dim, device=device)))[0]  # [256, 512]
print(f"at initialisation, over 512 channels x 256 styles: style scale 1+gamma has mean {scales.mean().item():.3f}, "
      f"std {scales.std().item():.3f} (written as x*gamma+beta, the mean would be {(scales - 1).mean().item():.3f}); "
      f"at w = 0 it is exactly {wide.styles(torch.zeros(1, fresh.w_dim, device=device))[0].mean().item():.3f}")

# %% [markdown]
# ### Noise
# Each styled layer adds one N(0, 1) value per pixel, shared by all channels and
# scaled per channel by a learned weight. The weights start at 0, so an untrained
# generator ignores its noise; we turn one layer's weights up by hand to see what the
# noise can do.

# %%
ws = fresh.broadcast(fresh.mapping(torch.randn(2, fresh.z_dim, device=device)))
with torch.no_grad():
    a, b = fresh.synthesis(ws, "random"), fresh.synthesis(ws, "random")
    print(f"untrained G, two noise draws: max pixel difference {(a - b).abs().max().item():.1e}")
    noise_layer = fresh.synthesis.layers[6].noise
    noise_layer.weight.fill_(0.5)
    a, b = fresh.synthesis(ws, "random"), fresh.synthesis(ws, "random")
    print(f"32×32 noise weights set to 0.5: mean pixel difference {(a - b).abs().mean().item():.3f}")
    print("noise_mode='const' twice is identical:", torch.equal(fresh.synthesis(ws, "const"), fresh.synthesis(ws, "const")))
    noise_layer.weight.zero_()

# %% [markdown]
# ### The constant input
# Nothing about $z$ enters the first layer's input: every image starts from the same
# learned 4×4 tensor; the styles alone make the images different.

# %%
print("const:", tuple(fresh.synthesis.const.shape), "shared by every sample; num_ws =", fresh.num_ws)
shapes = []
hooks = [layer.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape))) for layer in fresh.synthesis.layers]
with torch.no_grad():
    img = fresh(torch.randn(2, fresh.z_dim, device=device))
for h in hooks:
    h.remove()
for i, s in enumerate(shapes):
    print(f"  styled layer {i} (reads ws[:, {i}]): {s}")
print("  toRGB:", tuple(img.shape))

# %% [markdown]
# ## 3. The trained generator
#
# `scripts/train_stylegan.py` trained the checkpoint shipped in
# `coursekit/weights/stylegan_shapes.pt` (non-saturating loss, lazy R1, Adam
# β = (0, 0.99), style-mixing regularisation p = 0.9, w̄ tracked with β = 0.995, and an
# exponential moving average of G's weights; the record below gives the exact
# commands, including the R1 weight γ, and the training time). A note on γ: the
# paper's γ = 10 was set for 1024×1024 images; R1 sums the squared gradient over all
# pixels, so at 32×32 the same γ is a far stronger constraint (StyleGAN2-ADA's rule of
# thumb, γ ≈ 0.0002·resolution²/batch, gives ≈ 0.006 here). Quick mode only loads
# the checkpoint. Full mode then **fine-tunes** it for `FINE_TUNE_STEPS` more steps
# with the same losses, written out here, and keeps an average of the weights as the
# script does.

# %%
G, D, meta = load_stylegan(device=device, with_discriminator=True)
print("checkpoint:", {k: meta[k] for k in ("command", "seed", "steps", "batch", "train_seconds") if k in meta})


def fine_tune(G, D, steps: int, batch: int = 32, lr: float = 0.002, r1_gamma: float = 0.1, r1_every: int = 16,
              ema_beta: float = 0.995, seed: int = SEED):
    """Continue training (G, D); returns the moving average of G's weights and the losses."""
    G_ema = copy.deepcopy(G).eval()
    G.train()
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.0, 0.99))
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.0, 0.99))
    log = []
    for step in tqdm(range(steps), disable=is_quick() or steps == 0):
        real, _ = make_shapes(batch, seed=10_000_000 + seed * 100_000 + step)
        real = real.to(device)
        z, z2 = torch.randn(2, batch, G.z_dim, device=device)
        with torch.no_grad():
            fake = G.synthesis(mixing_regularised_ws(G, z, z2, 0.9)[0])
        d_loss = d_loss_bce(D(real), D(fake))
        if step % r1_every == 0:
            d_loss = d_loss + 0.5 * r1_gamma * r1_every * r1_penalty(D, real)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        z, z2 = torch.randn(2, batch, G.z_dim, device=device)
        ws, w = mixing_regularised_ws(G, z, z2, 0.9)
        g_loss = g_loss_nonsaturating(D(G.synthesis(ws)))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        G.update_w_avg(w)
        with torch.no_grad():
            for p_ema, p in zip(G_ema.parameters(), G.parameters()):
                p_ema.lerp_(p, 1 - ema_beta)
            G_ema.w_avg.copy_(G.w_avg)
        log.append((d_loss.item(), g_loss.item()))
    return G_ema.eval(), log


torch.manual_seed(SEED)
before = sa.sample_report(G, N_SAMPLES)
t0 = time.perf_counter()
G, ft_log = fine_tune(G, D, FINE_TUNE_STEPS)
ft_seconds = time.perf_counter() - t0
after = sa.sample_report(G, N_SAMPLES)
if ft_log:
    print(f"fine-tuned {FINE_TUNE_STEPS} steps in {ft_seconds:.0f} s; last d_loss {ft_log[-1][0]:.3f}, g_loss {ft_log[-1][1]:.3f}")
print(f"valid samples (one plausible shape found): before {before['valid']:.3f}, after {after['valid']:.3f}")
print("measured shapes:", after["shape"], "\nmeasured colours:", after["colour"], "\nmeasured textures:", after["texture"])

# %%
torch.manual_seed(SEED)
with torch.no_grad():
    samples = G(torch.randn(32, G.z_dim, device=device)).cpu()
fig, axes = plt.subplots(1, 2, figsize=(11, 3))
draw_image_grid(axes[0], samples, nrow=8, title="generated (ψ = 1)")
draw_image_grid(axes[1], make_shapes(32, seed=99)[0], nrow=8, title="real")
plt.show()

# %% [markdown]
# ## 4. Style mixing: a grid
#
# Rows are A, columns are B; each cell takes layers `< crossover` from A and the rest
# from B (all with the same fixed noise). We show three crossovers, named after the
# paper's groups of resolutions: **coarse** (crossover 4: A gives the 4×4–8×8 styles,
# B everything from 16×16 on), **middle** (6: A up to 16×16, B only the 32×32
# styles), **fine** (7: B gives only the last layer).

# %%
CROSSOVERS = {"coarse": 4, "middle": 6, "fine": 7}
gen = torch.Generator().manual_seed(7)
z_a, z_b = torch.randn(4, G.z_dim, generator=gen).to(device), torch.randn(5, G.z_dim, generator=gen).to(device)
with torch.no_grad():
    w_a, w_b = G.mapping(z_a), G.mapping(z_b)
    img_a, img_b = G.synthesis(G.broadcast(w_a), "const").cpu(), G.synthesis(G.broadcast(w_b), "const").cpu()
    grids = {}
    for name, c in CROSSOVERS.items():
        cells = [G.synthesis(G.mix(w_a[i:i + 1].expand(5, -1), w_b, c), "const").cpu() for i in range(4)]
        grids[name] = torch.cat(cells)  # rows A, columns B
blank = torch.ones(1, 3, 32, 32)
fig, axes = plt.subplots(1, 3, figsize=(15, 3.6))
for ax, (name, grid) in zip(axes, grids.items()):
    table = torch.cat([blank, img_b] + [torch.cat([img_a[i:i + 1], grid[5 * i:5 * i + 5]]) for i in range(4)])
    draw_image_grid(ax, table, nrow=6, title=f"{name}: crossover {CROSSOVERS[name]} (top row B, left column A)")
plt.show()

# %% [markdown]
# ## 5. Style mixing, measured
#
# For `N_PAIRS` random pairs (A, B) and every crossover 0…8, we render A, B and the
# mix with the same fixed noise, measure all three, and count (over the pairs where
# all three images are valid) how often the mix has **A's coarse attributes** (same
# shape, position within ±0.06, size within ±0.04) and **B's fine attributes** (same
# colour and texture). The columns "B's coarse" and "A's fine" count agreement with
# the *other* parent, a baseline for chance agreement. Crossover 0 is pure B and 8
# pure A by construction, which checks the bookkeeping.

# %%
t0 = time.perf_counter()
table = sa.mixing_table(G, N_PAIRS, seed=SEED)
print(f"{'crossover':>9} {'A coarse':>9} {'B fine':>7} {'B coarse':>9} {'A fine':>7} {'valid':>6}   "
      + " ".join(f"{k:>7}" for k in sa.COARSE + sa.FINE))
for r in table:
    print(f"{r['crossover']:>9} {r['coarse_from_a']:>9.3f} {r['fine_from_b']:>7.3f} {r['coarse_from_b']:>9.3f} "
          f"{r['fine_from_a']:>7.3f} {r['valid']:>6.3f}   " + " ".join(f"{r['per_attribute'][k]:>7.3f}" for k in sa.COARSE + sa.FINE))
print(f"(the last six columns: fraction of mixes taking that attribute from A, among pairs where A and B differ in it; "
      f"{time.perf_counter() - t0:.1f} s)")
coarse_row = table[CROSSOVERS["coarse"]]
print(f"\nAt the coarse crossover ({CROSSOVERS['coarse']}): A's coarse attributes kept in {coarse_row['coarse_from_a']:.1%}, "
      f"B's fine attributes in {coarse_row['fine_from_b']:.1%} of {N_PAIRS} mixes (target: 80 % each).")

# %%
cs = [r["crossover"] for r in table]
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
axes[0].plot(cs, [r["coarse_from_a"] for r in table], "o-", label="A's coarse kept")
axes[0].plot(cs, [r["fine_from_b"] for r in table], "s-", label="B's fine kept")
axes[0].set(xlabel="crossover (layers < c from A)", ylabel="fraction of mixes", ylim=(-0.02, 1.02))
axes[0].legend()
for k in sa.COARSE + sa.FINE:
    axes[1].plot(cs, [r["per_attribute"][k] for r in table], "o-", label=k)
axes[1].set(xlabel="crossover", ylabel="taken from A (pairs that differ)", ylim=(-0.02, 1.02))
axes[1].legend(fontsize=8, ncol=2)
plt.show()

# %% [markdown]
# Read the right panel from left to right: an attribute switches from B to A at the
# layer that decides it. In this run, the printed per-attribute columns say at which
# crossover each attribute moves; the text of the paper predicts layout first, colour
# and micro-structure last.
#
# Read the `shape` column before crediting "A's coarse kept". This generator draws
# almost only circles (the histogram in section 3), so few pairs differ in shape, and
# in the recorded run most of those mixes did *not* take A's shape even at crossover 4:
# the coarse score is carried by position and size. Here the shape is decided by the
# 16×16–32×32 layers, against the paper's account. `docs/stylegan_runs.md` keeps the
# runs tried to change that (larger shapes, other learning rates and R1 weights): in
# those, too, the mixes often took B's shape at crossover 4 (the numbers are in that file).
#
# Why does colour land where the paper says and shape does not? A style reaches the
# image only through AdaIN, which sets each channel's mean and spread. Colour is nearly
# such a per-channel amount, so the last styles can always set it: in every run in that
# file the mixes at crossover 4 took A's colour in at most 3 % of the pairs that differ.
# An outline or a stripe pattern is drawn by the convolutions; a style can only choose
# among the patterns already in the feature maps, by turning channels up or down. Nothing
# in the losses says at which layer that choice must be made (style-mixing
# regularisation only asks every mix to look real), so training decides, and it decides
# differently from run to run and even within one run: in the longest run in that file
# the mixes at crossover 4 took A's texture in 0.73 of the pairs that differ at 3,000
# steps, 0.29 at 9,000 and 0.70 at 15,000.
#
# ## 6. Truncation in W: quality against diversity
#
# $w' = \bar w + \psi(w - \bar w)$ pulls every style towards the average one. We
# sweep ψ and measure **quality** and **diversity** in two ways:
#
# * improved **precision and recall** (Kynkäänniemi et al. 2019, k = 3, `coursekit.metrics.precision_recall`)
#   in the space of measured attributes (`shape_attributes.attribute_features`: position, size, fill, area,
#   colour, texture contrasts, standardised by the real images' statistics): precision is the fraction of
#   samples that land near some real image, recall the fraction of real images near some sample;
# * the fraction of **valid** samples (one plausible shape found), and the number of distinct
#   (shape, colour, texture) combinations among them (54 exist) with the spread (std) of their positions.

# %%
psis = [0.0, 0.25, 0.5, 0.7, 0.85, 1.0]
rows = []
gen = torch.Generator().manual_seed(SEED + 1)
z = torch.randn(N_SAMPLES, G.z_dim, generator=gen).to(device)
real_f = sa.attribute_features(make_shapes(N_SAMPLES, seed=4321)[0])
mu, sd = real_f.mean(dim=0), real_f.std(dim=0).clamp(min=1e-6)
with torch.no_grad():
    for psi in psis:
        fake = G(z, psi=psi, noise_mode="const").cpu()
        precision, recall = precision_recall((real_f - mu) / sd, (sa.attribute_features(fake) - mu) / sd, k=3)
        m = sa.measure_shapes(fake)
        v = m["valid"]
        combos = len(set(zip(m["shape"][v].tolist(), m["colour"][v].tolist(), m["texture"][v].tolist())))
        spread = torch.cat([m["x"][v], m["y"][v]]).std().item() if v.sum() > 1 else float("nan")
        rows.append((psi, precision, recall, v.float().mean().item(), combos, spread))
print(f"{'psi':>5} {'precision':>10} {'recall':>7} {'valid':>7} {'combos (of 54)':>15} {'position std':>13}")
for psi, precision, recall, valid, combos, spread in rows:
    print(f"{psi:>5.2f} {precision:>10.3f} {recall:>7.3f} {valid:>7.3f} {combos:>15d} {spread:>13.3f}")
print(f"real data: position std {torch.cat([attrs['x'], attrs['y']]).std().item():.3f}")
with torch.no_grad():
    strip = torch.cat([G(z[:8], psi=psi, noise_mode="const").cpu() for psi in psis])
fig, axes = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1, 1.3]})
for col, label in ((1, "precision"), (2, "recall"), (3, "valid")):
    axes[0].plot(psis, [r[col] for r in rows], "o-", label=label)
axes[0].set(xlabel="ψ", ylim=(-0.02, 1.02), title="quality vs diversity")
axes[0].legend()
draw_image_grid(axes[1], strip, nrow=8, title="rows: ψ = " + ", ".join(f"{p:g}" for p in psis))
plt.show()

# %% [markdown]
# ## 7. Noise changes only fine detail
#
# Keep the styles fixed and redraw only the noise, `K` times. If the noise does what
# the paper says, pixels change a little (inside the shape, where the texture is) but
# the measured attributes don't. As a contrast, we also redraw z.

# %%
K = quick_or_full(3, 8)
gen = torch.Generator().manual_seed(SEED + 2)
ws = G.broadcast(G.mapping(torch.randn(N_SAMPLES // 2, G.z_dim, generator=gen).to(device))).detach()
with torch.no_grad():
    base = G.synthesis(ws, "const").cpu()
    redraws = [G.synthesis(ws, "random").cpu() for _ in range(K)]
    other = G(torch.randn(N_SAMPLES // 2, G.z_dim, generator=gen).to(device), noise_mode="const").cpu()
m0 = sa.measure_shapes(base)
mask = ((base + 1) / 2).amax(dim=1) > sa.MASK_LEVEL  # [n, H, W]
pix_in, pix_out, coarse_changed, fine_changed = [], [], [], []
for img in redraws:
    diff = (img - base).abs().mean(dim=1)  # [n, H, W]
    pix_in.append(diff[mask].mean().item())
    pix_out.append(diff[~mask].mean().item())
    m = sa.measure_shapes(img)
    ok = m0["valid"] & m["valid"]
    coarse_changed.append((~sa.agree(m, m0, sa.COARSE) & ok).sum().item() / max(1, ok.sum().item()))
    fine_changed.append((~sa.agree(m, m0, sa.FINE) & ok).sum().item() / max(1, ok.sum().item()))
m = sa.measure_shapes(other)
ok = m0["valid"] & m["valid"]
print(f"noise redrawn {K}×: mean |pixel change| inside the shape {np.mean(pix_in):.3f}, outside {np.mean(pix_out):.3f} "
      f"(pixels span 2.0)")
print(f"  attributes changed: coarse {np.mean(coarse_changed):.1%}, fine {np.mean(fine_changed):.1%} of images")
print(f"z redrawn instead:  coarse {(~sa.agree(m, m0, sa.COARSE) & ok).sum().item() / max(1, ok.sum().item()):.1%}, "
      f"fine {(~sa.agree(m, m0, sa.FINE) & ok).sum().item() / max(1, ok.sum().item()):.1%} of images")
strengths = [layer.noise.weight.abs().mean().item() for layer in G.synthesis.layers]
print("learned noise strength per layer (mean |weight|):", [f"{s:.3f}" for s in strengths])
std_map = torch.stack(redraws).std(dim=0).mean(dim=1)  # [n, H, W]
fig, axes = plt.subplots(1, 2, figsize=(7, 2.6))
draw_image_grid(axes[0], base[:4], nrow=4, title="fixed styles")
axes[1].imshow(torch.cat(list(std_map[:4]), dim=1), cmap="magma")
axes[1].set_title("std over noise redraws")
axes[1].set_axis_off()
plt.show()

# %% [markdown]
# How to read these numbers: the paper's claim is that noise adds stochastic detail
# and leaves the image's identity alone. The pixel change inside the shape against
# outside it says where the noise acts; the attribute changes say whether it moves
# anything the measure can see. Compare the fine and coarse fractions with each other
# and with the z-redraw baseline, and look at the learned noise strengths per layer:
# a generator this small may draw part of its texture from the noise of the last
# layers, in which case redrawing the noise flips the measured texture of some images.
#
# ## 8. Try it: a style mixer
#
# Pick seed A, seed B, the crossover and ψ (the widget truncates both in W, then mixes).

# %%
from coursekit.widgets import style_mixer  # noqa: E402

style_mixer(G, seed_a=3, seed_b=11, crossover=CROSSOVERS["coarse"], psi=0.7)

# %% [markdown]
# ## Closing note
#
# Everything below is read from this run.

# %%
print(f"mode: {'quick' if is_quick() else 'full'}; notebook time so far: {time.perf_counter() - NOTEBOOK_START:.0f} s")
print(f"checkpoint: `{meta.get('command')}`, seed {meta.get('seed')}, {meta.get('steps')} steps of batch "
      f"{meta.get('batch')}, {meta.get('train_seconds')} s of training (shared 2-core CPU)")
print(f"{'fine-tuned ' + str(FINE_TUNE_STEPS) + ' steps here' if FINE_TUNE_STEPS else 'loaded, not trained here'}")
for name, c in CROSSOVERS.items():
    r = table[c]
    print(f"{name:>7} crossover {c}: A's coarse kept {r['coarse_from_a']:.1%}, B's fine kept {r['fine_from_b']:.1%} "
          f"({N_PAIRS} pairs, {r['valid']:.0%} valid)")
