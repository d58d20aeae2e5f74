# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 7 exercises: the pieces of StyleGAN
#
# Four small functions from Karras et al. 2019 (*A Style-Based Generator
# Architecture for GANs*): AdaIN's forward pass, truncation in W, per-layer style
# mixing and noise injection. Each has a check cell with randomised cases (✅/❌
# and a hint), then a small demonstration on the StyleGAN that lesson 7 trained on
# the shapes data (`coursekit/weights/stylegan_shapes.pt`). If your function does not
# pass yet, the demonstration uses coursekit's reference and says so.

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from coursekit.check import check, solution_or_reference
from coursekit.plots import draw_image_grid
from coursekit.runtime import start_lesson
from coursekit.stylegan import load_stylegan

device = start_lesson(seed=0)
G = load_stylegan(device=device)
print(f"StyleGenerator: z_dim={G.z_dim}, w_dim={G.w_dim}, num_ws={G.num_ws}")

# %% [markdown]
# ## 1. AdaIN (Eq. 1)
#
# Adaptive instance normalisation first normalises each channel of each sample over
# its pixels, then applies the style:
#
# $$\mathrm{AdaIN}(x, (\gamma, \beta)) = \frac{x - \mu(x)}{\sqrt{\sigma^2(x) + \varepsilon}}\,(1 + \gamma) + \beta$$
#
# with $\mu, \sigma^2$ the mean and (biased) variance over (H, W), ε = 1e-8, and
# γ, β of shape `[B, C]`. Note the **1 + γ**: the affine map that computes γ starts with
# zero bias, so the scales are centred on 1 (each channel starts scaled by its own random
# amount around 1). Written as $x \cdot \gamma$, they would be centred on 0, and about half
# of them would flip the sign of their channel.

# %%
def adain(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """x [B, C, H, W], gamma and beta [B, C] -> [B, C, H, W]."""
    ### BEGIN SOLUTION
    mean = x.mean(dim=(2, 3), keepdim=True)
    var = x.var(dim=(2, 3), keepdim=True, unbiased=False)
    x = (x - mean) / torch.sqrt(var + 1e-8)
    return x * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]
    ### END SOLUTION


# %%
check("07.adain", adain)

# %% [markdown]
# Demonstration: the trained generator's last AdaIN layer, recomputed with your
# function from its styles (the scale `1 + γ` is what `styles` returns, so γ = scale − 1).

# %%
adain = solution_or_reference("07.adain", adain)
layer = G.synthesis.layers[-1].adain
x = torch.randn(4, 32, 32, 32, device=device) * 3 + 1
w = G.mapping(torch.randn(4, G.z_dim, device=device))
scale, shift = layer.styles(w)
with torch.no_grad():
    print("max difference to the model's AdaIN:", (adain(x, scale - 1, shift) - layer(x, w)).abs().max().item())
    print("mean style scale of this trained layer:", round(scale.mean().item(), 3))

# %% [markdown]
# ## 2. Truncation in W (Appendix B)
#
# Truncation pulls a style towards the average style $\bar w$:
# $w' = \bar w + \psi\,(w - \bar w)$, with $w = \text{mapping}(z)$. It happens in
# **W**, after the mapping network: scaling z itself does not move w towards
# $\bar w$ (the mapping starts with PixelNorm, which undoes any scaling of z).

# %%
def truncate(z: torch.Tensor, mapping: torch.nn.Module, w_avg: torch.Tensor, psi: float) -> torch.Tensor:
    """z [B, z_dim] -> truncated w [B, w_dim]."""
    ### BEGIN SOLUTION
    w = mapping(z)
    return w_avg + psi * (w - w_avg)
    ### END SOLUTION


# %%
check("07.truncate", truncate)

# %%
truncate = solution_or_reference("07.truncate", truncate)
z = torch.randn(8, G.z_dim, generator=torch.Generator().manual_seed(1)).to(device)
psis = (0.0, 0.5, 0.8, 1.0)
with torch.no_grad():
    rows = [G.synthesis(G.broadcast(truncate(z, G.mapping, G.w_avg, psi)), "const").cpu() for psi in psis]
    shrunk_z = G.synthesis(G.broadcast(G.mapping(0.1 * z)), "const").cpu()
print("truncating z instead (0.1·z) changes the images by",
      f"{(shrunk_z - rows[-1]).abs().max().item():.1e} (PixelNorm undoes it)")
fig, ax = plt.subplots(figsize=(6, 3.2))
draw_image_grid(ax, torch.cat(rows), nrow=8, title="rows: ψ = " + ", ".join(map(str, psis)))
plt.show()

# %% [markdown]
# ## 3. Per-layer style mixing (Sec. 3.1)
#
# The synthesis network reads one w per styled layer: `ws` of shape
# `[B, num_ws, w_dim]`. Mixing at `crossover` gives layers `0 … crossover−1` A's w and
# layers `crossover … num_ws−1` B's. So `crossover = 0` is pure B and
# `crossover = num_ws` is pure A.

# %%
def mix_styles(w_a: torch.Tensor, w_b: torch.Tensor, crossover: int, num_ws: int) -> torch.Tensor:
    """w_a, w_b [B, w_dim] -> ws [B, num_ws, w_dim]."""
    ### BEGIN SOLUTION
    ws = w_b.unsqueeze(1).repeat(1, num_ws, 1)
    ws[:, :crossover] = w_a.unsqueeze(1)
    return ws
    ### END SOLUTION


# %%
check("07.mix_styles", mix_styles)

# %%
mix_styles = solution_or_reference("07.mix_styles", mix_styles)
gen = torch.Generator().manual_seed(2)
w_a, w_b = (G.mapping(torch.randn(1, G.z_dim, generator=gen).to(device)) for _ in range(2))
with torch.no_grad():
    row = torch.cat([G.synthesis(mix_styles(w_a, w_b, c, G.num_ws), "const").cpu() for c in range(G.num_ws + 1)])
fig, ax = plt.subplots(figsize=(7, 1.4))
draw_image_grid(ax, row, nrow=G.num_ws + 1, title=f"crossover 0 (pure B) … {G.num_ws} (pure A)")
plt.show()

# %% [markdown]
# ## 4. Noise injection (Sec. 3.2)
#
# After each conv, StyleGAN adds one N(0, 1) value per pixel (`noise` of shape
# `[B, 1, H, W]`, the same for all channels), scaled by a learned per-channel
# `weight` of shape `[C]` that is initialised to 0.

# %%
def inject_noise(x: torch.Tensor, weight: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """x [B, C, H, W], weight [C], noise [B, 1, H, W] -> [B, C, H, W]."""
    ### BEGIN SOLUTION
    return x + weight.view(1, -1, 1, 1) * noise
    ### END SOLUTION


# %%
check("07.inject_noise", inject_noise)

# %%
inject_noise = solution_or_reference("07.inject_noise", inject_noise)
for i, layer in enumerate(G.synthesis.layers):
    x = torch.zeros(1, layer.noise.weight.numel(), 4, 4, device=device)
    noise = torch.randn(1, 1, 4, 4, device=device)
    with torch.no_grad():
        added = inject_noise(x, layer.noise.weight, noise)
    print(f"styled layer {i}: noise adds a per-pixel signal of std {added.std().item():.3f} "
          f"(mean |weight| {layer.noise.weight.abs().mean().item():.3f})")

# %% [markdown]
# ## 5. Style-mixing regularisation (Sec. 3.1)
#
# In training, StyleGAN mixes styles on purpose: for 90 % of the generated images it
# draws a second latent and a random crossover, so that no layer can count on its
# neighbours reading the same w. Each sample of the batch has its **own** crossover
# (an integer in `1 … num_ws`; `num_ws` means no switch). Write the function that builds
# the batch's `ws` from `w`, `w2` and the per-sample crossovers.

# %%
def mixing_regularisation_ws(w: torch.Tensor, w2: torch.Tensor, crossover: torch.Tensor,
                             num_ws: int) -> torch.Tensor:
    """w, w2 [B, w_dim], crossover [B] -> ws [B, num_ws, w_dim]."""
    ### BEGIN SOLUTION
    layer = torch.arange(num_ws).view(1, num_ws, 1)
    return torch.where(layer < crossover.view(-1, 1, 1), w.unsqueeze(1), w2.unsqueeze(1))
    ### END SOLUTION


# %%
check("07.mixing_regularisation_ws", mixing_regularisation_ws)

# %%
mixing_regularisation_ws = solution_or_reference("07.mixing_regularisation_ws", mixing_regularisation_ws)
gen = torch.Generator().manual_seed(3)
z, z2 = torch.randn(8, G.z_dim, generator=gen).to(device), torch.randn(8, G.z_dim, generator=gen).to(device)
crossover = torch.randint(1, G.num_ws + 1, (8,), generator=gen)
with torch.no_grad():
    ws = mixing_regularisation_ws(G.mapping(z), G.mapping(z2), crossover.to(device), G.num_ws)
    mixed = G.synthesis(ws, "const").cpu()
    firsts = G.synthesis(G.broadcast(G.mapping(z)), "const").cpu()
fig, ax = plt.subplots(figsize=(7, 2))
draw_image_grid(ax, torch.cat([firsts, mixed]), nrow=8,
                title="top: w alone; bottom: switched to w2 at crossovers " + ", ".join(map(str, crossover.tolist())))
plt.show()

# %% [markdown]
# ## 6. Tracking the average style w̄
#
# Truncation pulls w towards w̄, the average style. StyleGAN does not store the mapping
# network's mean in closed form: it tracks it during training as an exponential moving
# average of each batch's mean w, `w̄ ← β·w̄ + (1 − β)·mean(w)`, with β = 0.995.

# %%
def update_w_avg(w_avg: torch.Tensor, w: torch.Tensor, beta: float = 0.995) -> torch.Tensor:
    """w_avg [w_dim], w [B, w_dim] -> the new w_avg [w_dim]."""
    ### BEGIN SOLUTION
    return beta * w_avg + (1 - beta) * w.mean(dim=0)
    ### END SOLUTION


# %%
check("07.update_w_avg", update_w_avg)

# %%
update_w_avg = solution_or_reference("07.update_w_avg", update_w_avg)
w_avg = torch.zeros(G.w_dim, device=device)
gen = torch.Generator().manual_seed(4)
distances = []
with torch.no_grad():
    for step in range(1500):
        w_avg = update_w_avg(w_avg, G.mapping(torch.randn(32, G.z_dim, generator=gen).to(device)))
        distances.append((w_avg - G.w_avg).norm().item())
    exact = G.mapping(torch.randn(20000, G.z_dim, generator=gen).to(device)).mean(dim=0)
print(f"after 1,500 batches: |your w̄ - the checkpoint's w̄| = {distances[-1]:.3f}, "
      f"|your w̄ - the mean of 20,000 w| = {(w_avg - exact).norm().item():.3f} (|w̄| = {exact.norm().item():.2f})")
fig, ax = plt.subplots(figsize=(5, 2.5))
ax.semilogy(distances)
ax.set(xlabel="batches", ylabel="|w̄ - checkpoint's w̄|", title="an EMA with β = 0.995 forgets in ~200 steps")
plt.show()
