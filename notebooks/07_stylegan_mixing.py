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
# 3. injects $w$ into every layer as a **style**: after the constant and after each conv, **AdaIN** normalises each channel and
#    rescales it, $\mathrm{AdaIN}(x, w) = \frac{x - \mu(x)}{\sigma(x)}\,(1 + \gamma(w)) + \beta(w)$; Eq. 1
#    writes the scale as $y_s$, and writing it $1+\gamma$ with $\gamma$'s bias at 0 is the paper's
#    initialisation of that bias to one (App. C);
# 4. adds per-pixel **noise**, scaled by a learned per-channel weight (Sec. 2 and 3.2) that starts at 0 (App. C).
#
# Because every layer reads its own copy of $w$, two latents can be **mixed**: layers
# before a *crossover* read $w_A$, the others read $w_B$ (Sec. 3.1). The paper reports
# that the styles of the coarse resolutions (4²–8²) bring pose, general shape and
# layout from their source, and the finest ones mainly the colour scheme and
# micro-structure. **Truncation in W**, $w' = \bar w + \psi (w - \bar w)$, trades
# diversity for quality (Appendix B).
#
# Pictures of faces make these claims look right; here we *count*. We train a small
# StyleGAN on `coursekit.data.make_shapes`, 16×16 images of one shape whose every
# attribute is known: **coarse** (shape, position x and y, size) and **fine** (colour,
# texture). An analytic measure (`coursekit.shape_attributes`) reads the attributes
# back from any image, so for each crossover we can count how often a mix keeps A's
# coarse attributes and B's fine ones.
#
# The network is `coursekit.stylegan`: a StyleGAN-1 generator (8 mapping layers with
# learning-rate multiplier 0.01; two styled layers per resolution 4→8→16, so
# `num_ws = 6`: layers 0–1 at 4×4, 2–3 at 8×8, 4–5 at 16×16; a final toRGB) and a small
# residual discriminator with minibatch standard deviation.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from tqdm.auto import tqdm

from coursekit import shape_attributes as sa
from coursekit.data import make_shapes
from coursekit.plots import draw_image_grid
from coursekit.runtime import is_quick, quick_or_full, start_lesson
from coursekit.shapes import COLOURS, LESSON7, SHAPES, TEXTURES, render_shapes, texture_period
from coursekit.stylegan import TILE_WEIGHTS, AdaIN, StyleDiscriminator, StyleGenerator, load_stylegan
from coursekit.stylegan_report import stylegan_report
from coursekit.stylegan_train import StyleGANRecipe, StyleGANTraining, train_step

SEED = 0
device = start_lesson(seed=SEED)
MAX_AREA = sa.MAX_AREAS["lesson7"]
N = quick_or_full(64, 1000)  # samples, and (A, B) pairs, measured
N_REAL = quick_or_full(300, 3000)  # real images to verify the attribute measure
DEMO_STEPS = quick_or_full(4, 600)  # steps of training from scratch in section 3
print(f"samples and pairs measured: {N} | real images for the measure's check: {N_REAL} | demo steps: {DEMO_STEPS}")

# %% [markdown]
# ## 1. The data, and a measure we can trust
#
# Each image is one shape on black. Its attributes are drawn independently:
# shape ∈ {square, circle, triangle}, centre x and y and half-size uniform in the ranges
# printed below (fractions of the width), one of six colours, and a texture ∈ {flat,
# stripes, checker} whose pattern alternates **every pixel**.

# %%
real, attrs = make_shapes(16, seed=1, **LESSON7)
fig, ax = plt.subplots(figsize=(8, 1.4))
draw_image_grid(ax, real, nrow=16)
plt.show()
for i in range(4):
    print(f"image {i}: {SHAPES[attrs['shape'][i]]}, x={attrs['x'][i]:.2f}, y={attrs['y'][i]:.2f}, "
          f"size={attrs['size'][i]:.2f}, {COLOURS[attrs['colour'][i]]}, {TEXTURES[attrs['texture'][i]]}")
print(f"{LESSON7['size']}×{LESSON7['size']} px; centres x, y in {LESSON7['centre']}, half-sizes in "
      f"{LESSON7['half_extent']} (fractions of the width), i.e. {2 * LESSON7['half_extent'][0] * 16:.1f}–"
      f"{2 * LESSON7['half_extent'][1] * 16:.1f} px across ({2 * LESSON7['half_extent'][0] * 8:.1f}–"
      f"{2 * LESSON7['half_extent'][1] * 8:.1f} px on an 8×8 map); texture period {texture_period(LESSON7['size'])} px")

# %% [markdown]
# Why a pattern that alternates every pixel? A 16×16 image's 8×8 layers can only hand on
# a map that is upsampled ×2 (bilinear) before the 16×16 convolutions; such an upsampled
# map has none of the period-2 frequency (measured below as $|\sum_r (-1)^r x_r|$ down
# each column). So the texture *must* be drawn by the 16×16 layers, while an 8×8 map
# (where a shape is 3.8–5.4 pixels across, as printed above) is enough to
# lay out the shape. The data set is built so that the paper's division of labour is
# *possible*; whether training finds it is what we measure.

# %%
def alternation(img: torch.Tensor) -> float:
    """Mean |Σ_rows (-1)^row · pixel| per column and channel: the energy of a period-2 row pattern."""
    sign = (-1.0) ** torch.arange(img.shape[2]).view(1, 1, -1, 1)
    return (img * sign).sum(dim=2).abs().mean().item()


periodic = torch.nn.functional.pad(torch.rand(256, 3, 8, 8) * 2 - 1, (1, 1, 1, 1), mode="circular")
upsampled = torch.nn.functional.interpolate(periodic, scale_factor=2, mode="bilinear")[..., 2:-2, 2:-2]
# [256, 3, 16, 16]: random 8×8 maps (wrapped around, so the edges add nothing) upsampled ×2
_, a16 = make_shapes(256, seed=2, **LESSON7)
for name, texture in (("flat", 0), ("stripes", 1)):
    images = render_shapes(a16 | {"texture": torch.full_like(a16["texture"], texture)}, 16)
    print(f"real {name:8s} shapes: alternation {alternation(images):.3f}")
print(f"random 8×8 maps upsampled ×2: alternation {alternation(upsampled):.1e}")

# %% [markdown]
# `coursekit.shape_attributes.measure_shapes` reads every attribute off the pixels
# with rules you can check by hand: the mask is the bright pixels (above a fixed level
# and above 30 % of the image's brightest pixel, so a soft edge does not widen it);
# the **shape** is how much of its bounding box the mask fills (square 1, circle π/4, triangle ½);
# **size** comes from the area, **position** from the centroid; **colour** is
# the nearest palette colour to the mask's mean colour; **texture** is the
# brightness contrast between alternate rows (stripes) or the two checker phases. Before it
# judges a generator, we check it on real images with known attributes, clean
# and with added noise (positions and sizes count as right within the tolerances
# printed below, about one pixel), and on *wrong* images: the same images
# redrawn with another shape, colour or texture, which the measure must report as
# what they show, not as what they were.

# %%
real, attrs = make_shapes(N_REAL, seed=123, **LESSON7)
noisy = (real + 0.1 * torch.randn(real.shape, generator=torch.Generator().manual_seed(SEED))).clamp(-1, 1)
names = ("shape", "x", "y", "size", "colour", "texture")
print(f"{'':>26}" + "".join(f"{k:>9}" for k in names))
for label, images in (("clean real images", real), ("noisy (std 0.1)", noisy)):
    acc = sa.attribute_accuracy(images, attrs, max_area=MAX_AREA)
    print(f"{label:>26}" + "".join(f"{acc[k]:>9.3f}" for k in names))
print(f"(right = the same class, or within ±{sa.POS_TOL} of the width for x and y, ±{sa.SIZE_TOL} for the size)")
for name, levels in (("shape", 3), ("colour", 6), ("texture", 3)):
    wrong = attrs | {name: (attrs[name] + 1) % levels}
    m = sa.measure_shapes(render_shapes(wrong, 16), MAX_AREA)
    print(f"{'redrawn with another ' + name:>26}: measured as the new {name} in "
          f"{(m[name] == wrong[name]).float().mean():.3f}, "
          f"as the old one in {(m[name] == attrs[name]).float().mean():.3f}")

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
print("the mapping network's output w:", tuple(fresh.mapping(z).shape), "| mapping layers:", len(fresh.mapping.layers))

x_in = torch.randn(32, fresh.w_dim, device=device)
for name, lin in (("mapping layer (lr_mul 0.01)", fresh.mapping.layers[3]),
                  ("style affine (lr_mul 1)", fresh.synthesis.layers[3].adain.affine)):
    before = lin.effective_weight().detach().clone()
    opt = torch.optim.Adam(lin.parameters(), lr=0.002, betas=(0.0, 0.99))
    lin(x_in).pow(2).sum().backward()
    opt.step()
    change = (lin.effective_weight().detach() - before).abs().median().item()
    print(f"{name:28s} stored weight std {lin.weight.std().item():7.2f} | effective std "
          f"{before.std().item():.4f} | median effective change after one Adam step (lr 0.002): {change:.2e}")

# %% [markdown]
# ### AdaIN
# AdaIN makes each channel's mean and standard deviation *equal* to the style's
# $\beta$ and $|1+\gamma|$, whatever the input's statistics were. The affine map $A$ that
# turns $w$ into $(\gamma, \beta)$ has zero bias at initialisation, so the scale $1+\gamma$
# is **centred on 1**, with a spread set by $w$: each channel starts scaled by its own
# random amount around 1, with a wide spread (the lines below print how many still flip sign).
# Written as $x\cdot\gamma + \beta$ (a common mistake), the
# scales would be centred on 0: half of them would flip the sign of their channel and
# more of them would nearly erase it (compare the last two printed lines).

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
wide = AdaIN(512, fresh.w_dim).to(device)  # many channels, so the statistics over channels mean something
scales = wide.styles(fresh.mapping(torch.randn(256, fresh.z_dim, device=device)))[0].detach()  # [256, 512]
print(f"at initialisation, over 512 channels x 256 styles: 1+gamma has mean {scales.mean():.3f} "
      f"and std {scales.std():.3f}; "
      f"{(scales < 0).float().mean():.1%} of the scales are negative and {(scales.abs() < 0.25).float().mean():.1%} "
      f"below 0.25 in size")
gam = scales - 1  # what x*gamma+beta would scale by
print(f"written as x*gamma+beta: mean scale {gam.mean():.3f}; {(gam < 0).float().mean():.1%} negative, "
      f"{(gam.abs() < 0.25).float().mean():.1%} below 0.25 in size")

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
    noise_layer = fresh.synthesis.layers[-1].noise
    noise_layer.weight.fill_(0.5)
    a, b = fresh.synthesis(ws, "random"), fresh.synthesis(ws, "random")
    print(f"last layer's noise weights set to 0.5: mean pixel difference {(a - b).abs().mean().item():.3f}")
    same = torch.equal(fresh.synthesis(ws, "const"), fresh.synthesis(ws, "const"))
    print("noise_mode='const' twice is identical:", same)
    noise_layer.weight.zero_()

# %% [markdown]
# ### The constant input
# Nothing about $z$ enters the first layer's input: every image starts from the same
# learned 4×4 tensor; the styles alone make the images different.

# %%
print("const:", tuple(fresh.synthesis.const.shape), "shared by every sample; num_ws =", fresh.num_ws)
stage_shapes = []
hooks = [layer.register_forward_hook(lambda m, i, o: stage_shapes.append(tuple(o.shape)))
         for layer in fresh.synthesis.layers]
with torch.no_grad():
    img = fresh(torch.randn(2, fresh.z_dim, device=device))
for h in hooks:
    h.remove()
for i, s in enumerate(stage_shapes):
    print(f"  styled layer {i} (reads ws[:, {i}]): {s}")
print("  toRGB:", tuple(img.shape))

# %% [markdown]
# ## 3. Training
#
# One step of training is `coursekit.stylegan_train.train_step` (open it and read it). It
# follows the official code: the non-saturating loss; **lazy R1** (Mescheder et al.
# 2018), the penalty $\frac{\gamma}{2}\,\mathbb E\|\nabla_x D(x)\|^2$ on real images,
# computed every 16 D steps and multiplied by 16 (StyleGAN2, Sec. 3.1); Adam with
# β = (0, 0.99); **style-mixing regularisation**: in 90 % of the fake images the
# styles switch from one $w$ to another at a random layer, so that no layer can count on
# its neighbours reading the same $w$ (Sec. 3.1); the running average $\bar w$
# (β = 0.995); and an exponential moving average of G's weights, which is the generator
# one samples from.
#
# The same function trains the checkpoint we use below. Here it runs from scratch for
# `DEMO_STEPS` steps, enough to see where training starts:

# %%
torch.manual_seed(SEED)
demo = StyleGANTraining(StyleGenerator().to(device), StyleDiscriminator().to(device), StyleGANRecipe())
z_fixed = torch.randn(16, demo.G.z_dim, device=device)
demo_log = []
for step in tqdm(range(DEMO_STEPS), desc="training from scratch", disable=is_quick()):
    batch = make_shapes(demo.recipe.batch, seed=10_000_000 + step, **LESSON7)[0].to(device)
    demo_log.append(train_step(demo, batch))
with torch.no_grad():
    demo_samples = demo.G_ema(z_fixed).cpu()
print(f"{DEMO_STEPS} steps of batch {demo.recipe.batch}: last D loss {demo_log[-1]['d_loss']:.3f}, "
      f"G loss {demo_log[-1]['g_loss']:.3f}; valid samples "
      f"{sa.sample_report(demo.G_ema, 200, max_area=MAX_AREA)['valid']:.2f}")

# %% [markdown]
# "Valid" only says that one plausible shape was found: after a few hundred steps the samples
# are valid and nearly all alike (the top row of the picture below).
#
# The checkpoint shipped with coursekit was trained by `scripts/train_stylegan.py` with
# exactly this step and this recipe (`StyleGANRecipe()`, printed below), for far longer.
# Its record, written by the script into the checkpoint, gives the command, the seed and the
# number of steps and images. The script saves its state every `--save-every` steps and
# can be stopped and resumed, so the checkpoint's step count can be smaller than the
# `--steps` in its command:

# %%
G, D, meta = load_stylegan(device=device, with_discriminator=True)
print("command:", meta["command"])
print(f"seed {meta['seed']}; {meta['steps']:,} steps of batch {meta['batch']} = {meta['images_seen']:,} images")
print("recipe:", meta["recipe"], "| the demo's recipe above:", StyleGANRecipe(**meta["recipe"]) == demo.recipe)
log = meta["log"]
fig, axes = plt.subplots(1, 2, figsize=(12, 2.8), gridspec_kw={"width_ratios": [1, 1.6]})
axes[0].plot([r["step"] for r in log], [r["d_loss"] for r in log], label="D loss")
axes[0].plot([r["step"] for r in log], [r["g_loss"] for r in log], label="G loss")
axes[0].set(xlabel="step", ylabel="loss", title="the checkpoint's training losses")
axes[0].legend()
with torch.no_grad():
    shipped = G(z_fixed).cpu()
draw_image_grid(axes[1], torch.cat([demo_samples[:8], shipped[:8]]), nrow=8,
                title=f"same z: after {DEMO_STEPS} steps (top) and {meta['steps']:,} steps (bottom)")
plt.show()

# %% [markdown]
# ### What the trained generator draws
#
# Everything below is measured by one function, `coursekit.stylegan_report.stylegan_report`,
# on `N` samples and `N` pairs. **Valid** means the
# measure found one plausible shape. **Precision and recall** (Kynkäänniemi et al. 2019,
# k = 3; lesson 8 treats them in depth) compare samples with real images in the space of measured
# attributes (position, size, fill, area, colour, texture contrasts, standardised by the
# real images' statistics): precision is the fraction of samples near some real image,
# recall the fraction of real images near some sample.

# %%
report = stylegan_report(G, N, seed=SEED, shapes="lesson7")
samples = report["samples"]
print(f"valid samples: {samples['valid']:.3f}")
for name in ("shape", "texture", "colour"):
    print(f"  {name + 's':9s}", "  ".join(f"{k} {v:.1%}" for k, v in samples[name].items()))
print(f"precision {report['precision']:.3f}, recall {report['recall']:.3f} (psi = 1)")

torch.manual_seed(SEED)
with torch.no_grad():
    grid = G(torch.randn(32, G.z_dim, device=device)).cpu()
fig, axes = plt.subplots(1, 2, figsize=(12, 3))
draw_image_grid(axes[0], grid, nrow=8, title="generated (ψ = 1)")
draw_image_grid(axes[1], make_shapes(32, seed=99, **LESSON7)[0], nrow=8, title="real")
plt.show()


def near_boundary(images: torch.Tensor, margin: float = 0.03) -> float:
    """Share of valid images whose bounding-box fill is within ``margin`` of a class boundary."""
    m = sa.measure_shapes(images, MAX_AREA)
    fill = m["fill"][m["valid"]]
    near = ((fill - sa.FILL_SQUARE).abs() < margin) | ((fill - sa.FILL_CIRCLE).abs() < margin)
    return near.float().mean().item()


torch.manual_seed(SEED)
with torch.no_grad():
    generated = G(torch.randn(N, G.z_dim, device=device)).cpu()
near_gen, near_real = near_boundary(generated), near_boundary(make_shapes(N, seed=123, **LESSON7)[0])
print(f"outlines whose fill lies within 0.03 of a class boundary ({sa.FILL_CIRCLE} circle/triangle, "
      f"{sa.FILL_SQUARE} square/circle): generated {near_gen:.1%}, real {near_real:.1%}")

# %% [markdown]
# The real shapes, colours and textures are drawn uniformly at random (section 1), so the printed
# shares show what this generator under-draws, squares above all, and recall how much of the
# real variety it covers. The last line matters for section 5: the measure reads the shape
# class from the fill, and far more generated outlines than real ones lie close to a
# boundary between two classes, where a small change of outline flips the class read.
#
# ## 4. Style mixing: a grid
#
# Rows are A, columns are B; each cell takes layers `< crossover` from A and the rest
# from B (all with the same fixed noise). **Before measuring anything, we name the
# crossover the paper's account points to: 4**, where A gives the 4×4 and 8×8 styles
# and B the 16×16 ones. If the coarse styles decide the layout, each *row* should keep
# A's shape, position and size, and each *column* B's colour and texture. A second
# crossover, 2 (only the 4×4 styles from A), shows how much of the layout the very
# first layers decide.

# %%
CROSSOVER, EARLY = 4, 2
gen = torch.Generator().manual_seed(7)
z_a, z_b = torch.randn(5, G.z_dim, generator=gen), torch.randn(6, G.z_dim, generator=gen)


def mixing_grid(G, z_a: torch.Tensor, z_b: torch.Tensor, crossover: int) -> torch.Tensor:
    """Images for a grid with ``len(z_b) + 1`` columns: a blank corner and B along the top, then
    one row per A: A itself, then its mix with each B (rendered as section 5 measures them)."""
    n_a, n_b = len(z_a), len(z_b)
    a, b = sa.render_pairs(G, z_a, z_a, None), sa.render_pairs(G, z_b, z_b, None)  # A alone, B alone
    mixes = sa.render_pairs(G, z_a.repeat_interleave(n_b, 0), z_b.repeat(n_a, 1), crossover)  # [n_a·n_b, ...]
    rows = [torch.cat([a[i:i + 1], mixes[n_b * i:n_b * (i + 1)]]) for i in range(n_a)]
    return torch.cat([torch.ones_like(a[:1]), b] + rows)


fig, axes = plt.subplots(1, 2, figsize=(12, 5.2))
for ax, c in zip(axes, (EARLY, CROSSOVER)):
    draw_image_grid(ax, mixing_grid(G, z_a, z_b, c), nrow=len(z_b) + 1,
                    title=f"crossover {c}: layers 0–{c - 1} from A (left column),\n"
                          f"layers {c}–{G.num_ws - 1} from B (top row)")
plt.show()

# %% [markdown]
# ## 5. Style mixing, measured
#
# For `N` random pairs (A, B) and every crossover 0…6, we render A, B and the mix with
# the same fixed noise and measure all three. For each attribute we keep the pairs whose
# parents **differ** in it (and whose three images are valid) and count how often the
# mix takes it from A. Crossover 0 is pure B and 6 pure A by construction, which checks
# the bookkeeping. The paper's account predicts, at crossover 4: shape, x, y and size
# from A, colour and texture from B (taken from A ≈ 0).
#
# One more column looks at the **silhouette** as a whole rather than at a class read off
# it: the mix's silhouette comes from A when its mask overlaps A's more than B's
# (intersection over union), counted over the pairs whose masks differ (IoU below 0.8).
# It tells a layout that moved apart from an outline whose corners were redrawn. The last
# column counts the texture *from B* among the same pairs: with three textures a mix can
# show a third one, so from B is not one minus from A.

# %%
table = report["mixing"]
attrs_all = sa.COARSE + sa.FINE
print("taken from A, among the pairs whose parents differ in it (number of such pairs):")
print(f"{'crossover':>9} " + " ".join(f"{k:>13}" for k in attrs_all) + f" {'silhouette':>13} {'valid':>6}"
      + f" | {'texture from B':>14}")
for r in table:
    print(f"{r['crossover']:>9} " + " ".join(f"{r['per_attribute'][k]:>7.3f} ({r['differing_pairs'][k]:>3})"
                                            for k in attrs_all)
          + f" {r['silhouette_from_a']:>7.3f} ({r['silhouette_pairs']:>3}) {r['valid']:>6.3f}"
          + f" | {r['from_b']['texture']:>14.3f}")
row = table[CROSSOVER]
print(f"\nAt crossover {CROSSOVER}: " + ", ".join(f"{k} from A in {row['per_attribute'][k]:.1%}" for k in sa.COARSE)
      + "; " + ", ".join(f"{k} from B in {row['from_b'][k]:.1%}" for k in sa.FINE)
      + f" ({N} pairs, {row['valid']:.0%} with all three images valid).")

# %%
cs = [r["crossover"] for r in table]
fig, ax = plt.subplots(figsize=(8, 3.4))
for k, style in zip(attrs_all, ("o-", "s-", "^-", "d-", "o--", "s--")):
    ax.plot(cs, [r["per_attribute"][k] for r in table], style, label=k)
ax.plot(cs, [r["silhouette_from_a"] for r in table], "k-", lw=2.5, alpha=0.5, label="silhouette")
ax.axvline(CROSSOVER, color="grey", lw=0.8)
ax.set(xlabel="crossover c (layers < c from A)", ylabel="taken from A (pairs that differ)", ylim=(-0.02, 1.02),
       xticks=cs)
ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))  # beside the axes: no curve hidden
plt.show()
switch = {k: next((r["crossover"] for r in table if r["per_attribute"][k] >= 0.5), None) for k in attrs_all}
print("first crossover at which each attribute comes from A in at least half of the pairs that differ:", switch)
print(f"silhouette: the mix's mask is closer to A's than to B's in {row['silhouette_from_a']:.1%} of the "
      f"{row['silhouette_pairs']} pairs whose masks differ (crossover {CROSSOVER}).")
coarse_a = [k for k in sa.COARSE if row["per_attribute"][k] >= 0.85]
fine_b = [k for k in sa.FINE if row["from_b"][k] >= 0.85]
print(f"At crossover {CROSSOVER}, in at least 85 % of the pairs that differ: "
      f"from A: {', '.join(coarse_a) or 'none of the coarse attributes'}; "
      f"from B: {', '.join(fine_b) or 'none of the fine attributes'}.")
for k in [k for k in sa.COARSE if k not in coarse_a] + [k for k in sa.FINE if k not in fine_b]:
    parent, share = ("A", row["per_attribute"][k]) if k in sa.COARSE else ("B", row["from_b"][k])
    print(f"  {k} does not follow the paper's split here: it comes from {parent} in only {share:.0%} "
          f"of the {row['differing_pairs'][k]} pairs that differ in it.")
if row["per_attribute"]["shape"] < 0.85 <= row["silhouette_from_a"]:
    print(f"The silhouette comes from A in {row['silhouette_from_a']:.0%} of the pairs, while the shape class read off "
          f"it does in {row['per_attribute']['shape']:.0%}: the class is read from how much of its box the mask "
          f"fills, and {near_gen:.0%} of the generated outlines (against {near_real:.0%} of real ones) lie within "
          f"0.03 of a boundary between two classes, where a small change of outline flips the class.")

# %% [markdown]
# Read the plot from left to right: an attribute switches from B to A at the layers that
# decide it, and the lines above say where each one switches in this generator. Three
# facts about the architecture help to read them:
#
# * **Colour** is nearly a per-channel amount. The last layer's style sets every
#   channel's scale and offset just before toRGB, so it can always set the colour.
# * **Drawing is not deciding.** The stripes alternate every pixel, so only the 16×16
#   layers can *draw* them (section 1); but whether to draw them can be decided earlier,
#   by a channel that an early style turns on and the 16×16 convolutions follow.
# * **A style cannot move anything, only choose.** AdaIN turns the channels of a feature
#   map up or down; it cannot shift a channel's pattern. A late style can therefore change
#   the outline only by choosing among outlines that the feature maps already hold: at
#   16×16 a shape is 7.7–10.9 pixels across (section 1), and its corners are within reach of the last
#   layers' 3×3 convolutions.
#
# Nothing in the losses names a layer for each attribute: style-mixing regularisation
# only asks every mix to look real. Which layers decide what is what training found.
#
# ## 6. Why the texture is chosen by the coarse styles: a test
#
# Where does a 16×16 layer get the stripes it draws? Not from its input: section 1 showed
# that an 8×8 map upsampled ×2 holds no period-2 pattern, and a 3×3 convolution is linear
# and shift-invariant, so it cannot create a frequency its input lacks (except at the
# borders, through the zero padding). The noise has a random phase, while the data's
# stripes always start bright on row 0. What is left is the leaky ReLU: applied to a
# period-4 wave that the earlier layers drew (once the 16×16 convolution has shifted its
# phase), it can produce a period-2 part. If that is how this generator works, the layers
# before 16×16 must prepare every texture, and so the coarse styles choose it. That is what
# the last column of the table shows: texture from B is already low at crossover 1, so most
# of the choice is made by the very first style.
#
# The explanation predicts something we can test. Give each 16×16 layer its own fixed
# source of period-2 patterns, and its style should be able to take the choice over.
# StyleGAN's noise inputs answer the same need for random detail: a traditional generator's
# only input is the latent, so "the network needs to invent a way to generate
# spatially-varying pseudorandom numbers from earlier activations whenever they are needed"
# (Sec. 3.2). Our source is a learned 2×2 tile per channel,
# repeated over the image (it can hold stripes or a checker at either phase, but no
# position), scaled per channel by the layer's own style and added before the nonlinearity
# (`StyleGANConfig(const_maps_from=16, const_maps_tile=2)`). It is not part of StyleGAN;
# it is an experiment on our explanation. coursekit ships a second checkpoint trained by
# the same script with the same seed, recipe and number of steps, and this one change.
#
# **Protocol, declared before measuring:** the same `N` latent pairs and the same measure
# as in section 5, at crossover 4. The explanation passes if the share of mixes that take
# the texture from B rises by more than three standard errors (binomial, from the two
# counts of pairs that differ in texture). Two limits: the tile's design was chosen after
# its effect had been seen, so this confirms the effect on these two models rather than
# testing an independent prediction; and the standard error counts only the sampling of
# pairs, not the variation from one training run to another (each model is one run).

# %%
G_tile, _, meta_tile = load_stylegan(TILE_WEIGHTS, device=device, with_discriminator=True)
print("command:", meta_tile["command"])


def settings(m: dict) -> dict:
    """A checkpoint's seed, steps, batch and recipe (options left unset are dropped)."""
    return {"seed": m["seed"], "steps": m["steps"], "batch": m["batch"]} | {
        k: v for k, v in m["recipe"].items() if v is not None}


print(f"{meta_tile['steps']:,} steps of batch {meta_tile['batch']}, seed {meta_tile['seed']}; "
      f"the same seed, steps and recipe as the first model: {settings(meta_tile) == settings(meta)}; "
      f"tile at layers {[i for i, layer in enumerate(G_tile.synthesis.layers) if layer.const_map is not None]}")
report_tile = stylegan_report(G_tile, N, seed=SEED, shapes="lesson7")
first, tiled = report["mixing"][CROSSOVER], report_tile["mixing"][CROSSOVER]


def row_of(rep: dict, r: dict) -> list[str]:
    s = rep["samples"]
    return [f"{s['valid']:.3f}", " / ".join(f"{s['shape'][k]:.0%}" for k in SHAPES),
            " / ".join(f"{s['texture'][k]:.0%}" for k in TEXTURES), f"{rep['precision']:.2f} / {rep['recall']:.2f}",
            f"{r['from_b']['texture']:.3f} ({r['differing_pairs']['texture']})", f"{r['per_attribute']['texture']:.3f}",
            f"{r['from_b']['colour']:.3f}", " / ".join(f"{r['per_attribute'][k]:.2f}" for k in sa.COARSE),
            f"{r['silhouette_from_a']:.2f}"]


labels = ["valid samples", "square / circle / triangle", "flat / stripes / checker", "precision / recall",
          f"c={CROSSOVER}: texture from B (pairs)", f"c={CROSSOVER}: texture from A", f"c={CROSSOVER}: colour from B",
          f"c={CROSSOVER}: shape / x / y / size from A", f"c={CROSSOVER}: silhouette from A"]
print(f"\n{'':>34} {'first model':>22} {'with the 2×2 tile':>22}")
for label, a, b in zip(labels, row_of(report, first), row_of(report_tile, tiled)):
    print(f"{label:>34} {a:>22} {b:>22}")


def share_se(r: dict) -> tuple[float, float]:
    p, n = r["from_b"]["texture"], max(1, r["differing_pairs"]["texture"])
    return p, (p * (1 - p) / n) ** 0.5


(p0, se0), (p1, se1) = share_se(first), share_se(tiled)
z_score = (p1 - p0) / max((se0**2 + se1**2) ** 0.5, 1e-9)
print(f"\ntexture from B at crossover {CROSSOVER}: {p0:.3f} ± {se0:.3f} -> {p1:.3f} ± {se1:.3f}, "
      f"a change of {p1 - p0:+.3f} = {z_score:+.1f} standard errors: the prediction "
      + ("holds" if z_score > 3 else "fails") + " by the rule declared above.")
costs = [f"{k} {report[k]:.2f} -> {report_tile[k]:.2f}" for k in ("precision", "recall")
         if report_tile[k] < report[k] - 0.02]
print("what the tile model gives up: "
      + ("; ".join(costs) if costs else "neither precision nor recall falls by more than 0.02"))
moved = [f"{k} {first['per_attribute'][k]:.2f} -> {tiled['per_attribute'][k]:.2f}" for k in sa.COARSE
         if tiled["per_attribute"][k] < first["per_attribute"][k] - 0.1]
print(f"coarse attributes taken from A at crossover {CROSSOVER}: "
      + (f"with the tile, fewer for {'; '.join(moved)}: part of the layout moved to the 16×16 styles too"
         if moved else "none falls by more than 0.1 with the tile"))

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 5.2))
for ax, (model, name) in zip(axes, ((G, "first model"), (G_tile, "with the 2×2 tile"))):
    draw_image_grid(ax, mixing_grid(model, z_a, z_b, CROSSOVER), nrow=len(z_b) + 1,
                    title=f"{name}, crossover {CROSSOVER}, the same z:\n"
                          f"layers 0–{CROSSOVER - 1} from A (left), {CROSSOVER}–{G.num_ws - 1} from B (top)")
plt.show()

# %% [markdown]
# Read the two grids row by row: in each row the shape and position should stay A's, and
# along each column the colour and texture should be B's. The line under the table gives the
# verdict on the explanation; the table also says what else changed with the tile (the
# shapes drawn, precision and recall, the coarse attributes), since a tile that chose the
# texture by breaking the layout would prove nothing; the line on the coarse attributes says
# which of them moved. Even with the tile, some mixes still take their texture from A (the
# row "texture from A"): the coarse styles keep part of the choice. Look closely and a few
# tiled images show a faint pattern around the shape: the tile is added everywhere, and the
# layers do not always gate it off on the background.
#
# The test's verdict (the line under the table) is that the prediction holds: texture from
# B at crossover 4 rose from 0.195 to 0.599, 15.2 standard errors. So the split the paper
# reports is not automatic. A style can only choose what its layer is able to draw. In the
# first model the 16×16 layers can draw a period-2 texture only from a wave that earlier
# layers laid down, so the choice sits with those layers; given a source of their own, the
# 16×16 styles took over most of it. It came at a cost, also printed under the table:
# recall halved (0.23 to 0.11), and the size now comes from A less often (0.66 to 0.43).
#
# ## 7. Truncation in W: quality against diversity
#
# $w' = \bar w + \psi(w - \bar w)$ pulls every style towards the average one
# (Appendix B of the paper, which also applies it to the coarse layers only). We sweep ψ
# and measure precision, recall and the fraction of valid samples, on `N` samples each.

# %%
print(f"{'psi':>5} {'precision':>10} {'recall':>7} {'valid':>7}   square / circle / triangle (valid samples)")
for t in report["truncation"]:
    shares = " / ".join(f"{t['shape'][k]:.0%}" for k in SHAPES)
    print(f"{t['psi']:>5.2f} {t['precision']:>10.3f} {t['recall']:>7.3f} {t['valid']:>7.3f}   {shares}")
with torch.no_grad():
    m_avg = sa.measure_shapes(G(torch.zeros(1, G.z_dim, device=device), psi=0.0).cpu(), MAX_AREA)  # any z: w̄
print(f"the image of w̄ (psi = 0), as the measure reads it: a {COLOURS[m_avg['colour'][0]]} "
      f"{TEXTURES[m_avg['texture'][0]]} {SHAPES[m_avg['shape'][0]]}")
psis = [t["psi"] for t in report["truncation"]]
with torch.no_grad():
    zs = torch.randn(8, G.z_dim, generator=torch.Generator().manual_seed(SEED + 1)).to(device)
    strip = torch.cat([G(zs, psi=psi, noise_mode="const").cpu() for psi in psis])
    coarse_only = G(zs, psi=0.0, noise_mode="const", cutoff=CROSSOVER).cpu()
fig, axes = plt.subplots(1, 2, figsize=(12, 3.2), gridspec_kw={"width_ratios": [1, 1.4]})
for key in ("precision", "recall", "valid"):
    axes[0].plot(psis, [t[key] for t in report["truncation"]], "o-", label=key)
axes[0].set(xlabel="ψ", ylabel="fraction", ylim=(-0.02, 1.02), title="quality against diversity")
axes[0].legend()
draw_image_grid(axes[1], torch.cat([strip, coarse_only]), nrow=8,
                title="rows: ψ = " + ", ".join(f"{p:g}" for p in psis) + f", then ψ = 0 on layers < {CROSSOVER} only")
plt.show()
full = report["truncation"][0]
for t in (t for t in report["truncation"] if 0 < t["psi"] < 1):
    print(f"psi = 1 -> {t['psi']:g}: precision {full['precision']:.3f} -> {t['precision']:.3f} "
          f"({t['precision'] - full['precision']:+.3f}), recall {full['recall']:.3f} -> {t['recall']:.3f} "
          f"({t['recall'] - full['recall']:+.3f}), valid {full['valid']:.3f} -> {t['valid']:.3f} "
          f"({t['valid'] - full['valid']:+.3f})")

# %% [markdown]
# At ψ = 0 every sample is the image of $\bar w$: one shape, one colour, so recall falls
# to the share of real images near that single image (the ψ = 0 row), and precision is that
# of one image: 1 if it lies near some real image, 0 if not, whatever it looks like. Here it
# is 1, though that image (the fourth row of the picture) is a dim, blotchy outline with a
# stray red patch, which the measure reads as a yellow flat triangle: precision in a space
# of measured attributes sees only what the measure reads.
#
# The paper truncates for quality: samples near $\bar w$ come from the well-trained
# middle of W, so fewer of them are broken, at the price of diversity. Read the table
# that way. Validity rises as ψ falls (0.948 at ψ = 1, 0.981 at 0.7, 0.993 at 0.5): fewer
# broken samples. Recall falls fast (0.231, 0.089, 0.028): the samples crowd towards the
# image of $\bar w$. Triangles grow from 21 % of the valid samples at ψ = 1 to 51 % at
# ψ = 0.5, squares fall from 5 % to 1 %, and most of the real variety is no longer
# covered. Precision holds at ψ = 0.7 (0.729 against 0.719) but falls at ψ = 0.5 (0.530):
# here the paper's trade, more quality for less diversity, holds only down to ψ = 0.7;
# below it the samples are valid shapes, but fewer of them look like a real image in all
# their attributes at once.
#
# The last row of the picture keeps each sample's 16×16 styles and truncates only the
# 4×4–8×8 ones to $\bar w$ (a cutoff: truncation on the coarse layers only): where the
# coarse styles decide the layout, this row repeats one layout, repainted with each
# sample's own fine styles.
#
# ## 8. What redrawing the noise changes
#
# Keep the styles fixed and redraw only the noise, `K` times. The paper's claim (Sec. 3.2)
# is that the noise changes stochastic detail only: pixels change a little but the
# measured attributes don't. As a contrast, we also redraw z.

# %%
K = quick_or_full(3, 8)
gen = torch.Generator().manual_seed(SEED + 2)
ws = G.broadcast(G.mapping(torch.randn(N // 2, G.z_dim, generator=gen).to(device))).detach()
with torch.no_grad():
    base = G.synthesis(ws, "const").cpu()
    redraws = [G.synthesis(ws, "random").cpu() for _ in range(K)]
    other = G(torch.randn(N // 2, G.z_dim, generator=gen).to(device), noise_mode="const").cpu()
m0 = sa.measure_shapes(base, MAX_AREA)
mask = ((base + 1) / 2).amax(dim=1) > sa.MASK_LEVEL  # [n, H, W]


def changed(m: dict, names: tuple[str, ...]) -> float:
    ok = m0["valid"] & m["valid"]
    return (~sa.agree(m, m0, names) & ok).sum().item() / max(1, ok.sum().item())


pix_in, pix_out, coarse_changed, fine_changed = [], [], [], []
for img in redraws:
    diff = (img - base).abs().mean(dim=1)  # [n, H, W]
    pix_in.append(diff[mask].mean().item())
    pix_out.append(diff[~mask].mean().item())
    m = sa.measure_shapes(img, MAX_AREA)
    coarse_changed.append(changed(m, sa.COARSE))
    fine_changed.append(changed(m, sa.FINE))
m_other = sa.measure_shapes(other, MAX_AREA)
print(f"noise redrawn {K}×: mean |pixel change| inside the shape {np.mean(pix_in):.3f}, "
      f"outside {np.mean(pix_out):.3f} "
      f"(pixels span 2.0)")
print(f"  attributes changed: coarse {np.mean(coarse_changed):.1%}, fine {np.mean(fine_changed):.1%} of images")
print(f"z redrawn instead:  coarse {changed(m_other, sa.COARSE):.1%}, fine {changed(m_other, sa.FINE):.1%} of images")
noise_c, noise_f = np.mean(coarse_changed), np.mean(fine_changed)
z_c, z_f = changed(m_other, sa.COARSE), changed(m_other, sa.FINE)


def times(by_z: float, by_noise: float) -> str:
    return f"{by_z / by_noise:.0f}× as often" if by_noise > 0 else "while the noise changed none"


print(f"redrawing the noise changed coarse attributes {'more' if noise_c > noise_f else 'less'} often than fine ones "
      f"({noise_c:.1%} against {noise_f:.1%}); redrawing z changed coarse ones {times(z_c, noise_c)}, "
      f"fine ones {times(z_f, noise_f)}")
strengths = [layer.noise.weight.abs().mean().item() for layer in G.synthesis.layers]
print("learned noise strength per layer (mean |weight|):", [f"{s:.3f}" for s in strengths])

# %% [markdown]
# Redrawing the noise moves pixels a little (0.011 inside the shape, on a range of 2) and
# changes a measured attribute in few images: coarse ones in 3.0 %, fine ones in 1.1 %,
# against 94.7 % and 87.7 % when z is redrawn. So the paper's "stochastic detail only"
# holds here in the main. Where the noise does act is unlike the faces of the paper,
# where it draws fine detail such as hair: this generator barely uses the noise of its
# 16×16 layers (mean |weight| 0.003 and 0.002, against 0.021–0.031 in the 4×4 and 8×8
# layers), and what the noise changes is more often a coarse attribute than a fine one.
# Our shapes have no random fine detail for the noise to draw: every texture is an exact
# pattern with a fixed phase.
#
# ## 9. Try it: a style mixer
#
# Pick seed A, seed B, the crossover and ψ (the widget truncates both in W, then mixes).
# Run the cell to get the controls; a saved copy of this notebook shows the picture
# the widget last drew.

# %%
from coursekit.widgets import style_mixer  # noqa: E402

style_mixer(G, seed_a=3, seed_b=11, crossover=CROSSOVER, psi=0.7)

# %% [markdown]
# ## Closing note
#
# The figures this lesson measured, in one place.

# %%
print(f"mode: {'quick' if is_quick() else 'full'}")
print(f"checkpoint: {meta['steps']:,} steps, {meta['images_seen']:,} images; valid samples {samples['valid']:.3f}; "
      f"precision {report['precision']:.3f}, recall {report['recall']:.3f}")
for c in (EARLY, CROSSOVER):
    r = table[c]
    print(f"crossover {c}: taken from A: " + ", ".join(f"{k} {r['per_attribute'][k]:.2f}" for k in attrs_all))
print(f"crossover {CROSSOVER}, texture from B: first model {p0:.2f}, with the 2×2 tile {p1:.2f} "
      f"({z_score:+.1f} standard errors); tile model's precision {report_tile['precision']:.3f}, "
      f"recall {report_tile['recall']:.3f}")
