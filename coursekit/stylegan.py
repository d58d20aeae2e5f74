"""A small StyleGAN for 16×16 images, or larger (Karras et al. 2019, "A Style-Based Generator Architecture for GANs").

The pieces, each a small module:

* :class:`EqualLinear` / :class:`EqualConv2d` — the equalised learning rate
  (Karras et al. 2018, Sec. 4.1): weights are stored as N(0, 1/lr_mul²) and
  scaled at run time by ``lr_mul / sqrt(fan_in)``; the mapping network uses
  ``lr_mul = 0.01`` (StyleGAN, Sec. C / official code), so Adam moves its
  effective weights 100× more slowly than the synthesis network's.
* :class:`MappingNetwork` — PixelNorm on z, then 8 fully connected layers: z → w.
* :class:`AdaIN` — instance-normalise each channel, then ``x·(1 + γ) + β`` with
  ``(γ, β) = A(w)`` (Eq. 1). The "+1" makes the style scale start at 1.
* :class:`NoiseInjection` — per-pixel Gaussian noise times a per-channel weight
  that starts at 0 (Sec. 3.2).
* :class:`SynthesisNetwork` — a learned constant 4×4 input, then 4→8→16 (one more
  doubling per entry of ``channels``) with two styled layers per resolution
  (``num_ws = 6`` at 16×16) and a final toRGB. Optionally (``const_maps_from``,
  off by default) the layers at that resolution and above also add a learned
  constant map, scaled per channel by their own style: a fixed-phase pattern
  (e.g. a period-2 texture) that a late style can select without an earlier
  layer having to draw it first; ``const_maps_tile`` makes each map a repeated
  small tile, so that it can hold a texture but not a position.
* :class:`StyleGenerator` — mapping + synthesis, the running average w̄
  (β = 0.995), truncation in W (``w̄ + ψ(w − w̄)``, Appendix B) and
  style mixing (Sec. 3.1): layers ``< crossover`` take A's w, the others B's.
* :class:`StyleDiscriminator` — a residual discriminator with minibatch std
  (StyleGAN2's, Karras et al. 2020, Fig. 7b), returning logits ``[B]``.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from coursekit.checkpoint import build_model, load_checkpoint, save_checkpoint
from coursekit.packing import MinibatchStdDev

NOISE_MODES = ("random", "const", "none")
WEIGHTS = Path(__file__).resolve().parent / "weights" / "stylegan_shapes.pt"
# the same recipe, seed and steps with a styled 2×2 constant tile at 16×16 (lesson 7, section 6)
TILE_WEIGHTS = WEIGHTS.with_name("stylegan_shapes_tile.pt")
SQRT2 = math.sqrt(2.0)


@dataclass(frozen=True)
class StyleGANConfig:
    """Sizes of a small StyleGAN. ``channels[i]`` is the width at resolution ``4·2^i``."""

    z_dim: int = 64
    w_dim: int = 64
    mapping_layers: int = 8
    mapping_lr_mul: float = 0.01
    channels: tuple[int, ...] = (64, 64, 32)  # 4×4, 8×8, 16×16 (one more width per doubling)
    img_channels: int = 3
    w_avg_beta: float = 0.995
    d_channels: tuple[int, ...] = (32, 64, 64)  # discriminator: 16×16, 8×8, 4×4
    const_maps_from: int = 0  # 0: none (the shipped model); R: layers at R×R and above add a styled constant map
    const_maps_tile: int = 0  # 0: each map covers the image; t: a learned t×t tile repeated (period t, no position)

    def __post_init__(self):
        sizes = [4 * 2**i for i in range(1, len(self.channels))]  # the upsampled resolutions (4×4 has its constant)
        if self.const_maps_from != 0 and self.const_maps_from not in sizes:
            raise ValueError(f"const_maps_from must be 0 or one of the resolutions {sizes}, got {self.const_maps_from}")
        t = self.const_maps_tile
        if t != 0 and (self.const_maps_from == 0 or t < 1 or t & (t - 1) or t > self.const_maps_from):
            raise ValueError(f"const_maps_tile must be 0 or a power of 2 up to const_maps_from "
                             f"({self.const_maps_from}), got {t}")

    @property
    def resolution(self) -> int:
        return 4 * 2 ** (len(self.channels) - 1)

    @property
    def num_ws(self) -> int:
        return 2 * len(self.channels)

    def as_args(self) -> dict:
        """The fields as plain data (tuples as lists), as a checkpoint stores them."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_args(cls, config: StyleGANConfig | dict | None) -> StyleGANConfig:
        """A config from :meth:`as_args`'s dict (lists back to tuples), a config, or None (the defaults)."""
        if isinstance(config, dict):
            return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()})
        return config or cls()


def lrelu(x: Tensor) -> Tensor:
    """Leaky ReLU (slope 0.2) times √2, so that He-initialised layers keep unit variance."""
    return F.leaky_relu(x, 0.2) * SQRT2


# ----------------------------------------------------------------- equalised lr


class EqualLinear(nn.Module):
    """``y = x · (lr_mul·W/√fan_in)ᵀ + lr_mul·b`` with ``W ~ N(0, 1/lr_mul²)`` (Karras et al. 2018, Sec. 4.1)."""

    def __init__(self, in_features: int, out_features: int, lr_mul: float = 1.0, bias_init: float = 0.0):
        super().__init__()
        if lr_mul <= 0:
            raise ValueError(f"lr_mul must be > 0, got {lr_mul}")
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_mul))
        self.lr_mul = lr_mul
        self.scale = lr_mul / math.sqrt(in_features)

    def effective_weight(self) -> Tensor:
        """The weight the layer actually multiplies by: ``W · lr_mul / √fan_in``."""
        return self.weight * self.scale

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.effective_weight(), self.bias * self.lr_mul)


class EqualConv2d(nn.Module):
    """A conv whose weight is N(0, 1) scaled at run time by ``1/√(in·k·k)``; no bias (added separately)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size**2)
        self.padding = kernel_size // 2

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.scale, padding=self.padding)


# ---------------------------------------------------------------------- mapping


class PixelNorm(nn.Module):
    """Normalise each vector to unit root-mean-square: ``z / sqrt(mean(z²) + ε)`` (Karras et al. 2018, Sec. 4.2)."""

    def forward(self, z: Tensor) -> Tensor:
        return z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)


class MappingNetwork(nn.Module):
    """z ``[B, z_dim]`` → w ``[B, w_dim]``: PixelNorm, then ``layers`` FC layers with lr multiplier ``lr_mul``."""

    def __init__(self, z_dim: int, w_dim: int, layers: int = 8, lr_mul: float = 0.01):
        super().__init__()
        self.norm = PixelNorm()
        dims = [z_dim] + [w_dim] * layers
        self.layers = nn.ModuleList(EqualLinear(a, b, lr_mul=lr_mul) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, z: Tensor) -> Tensor:
        x = self.norm(z)
        for layer in self.layers:
            x = lrelu(layer(x))
        return x


# -------------------------------------------------------------------- synthesis


class AdaIN(nn.Module):
    """Adaptive instance normalisation (StyleGAN, Eq. 1): ``IN(x)·(1 + γ(w)) + β(w)``.

    ``(γ, β) = A(w)`` is a learned affine map whose bias starts at 0, so the
    effective style scale ``1 + γ`` starts at 1 on average (exactly 1 at w = 0).
    """

    def __init__(self, channels: int, w_dim: int):
        super().__init__()
        self.affine = EqualLinear(w_dim, 2 * channels)  # A in the paper's Fig. 1b

    def styles(self, w: Tensor) -> tuple[Tensor, Tensor]:
        """``(scale, shift)``, each ``[B, C]``: the effective ``1 + γ`` and ``β``."""
        gamma, beta = self.affine(w).chunk(2, dim=1)
        return 1.0 + gamma, beta

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        scale, shift = self.styles(w)  # [B, C] each
        x = F.instance_norm(x, eps=1e-8)  # zero mean, unit variance per sample and channel
        return x * scale[:, :, None, None] + shift[:, :, None, None]


class NoiseInjection(nn.Module):
    """``x + weight[c] · noise``, one N(0, 1) value per pixel shared by all channels; weights start at 0."""

    def __init__(self, channels: int, resolution: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels))
        self.register_buffer("const_noise", torch.randn(1, 1, resolution, resolution))

    def forward(self, x: Tensor, noise_mode: str = "random") -> Tensor:
        if noise_mode == "none":
            return x
        if noise_mode == "const":
            noise = self.const_noise  # [1, 1, H, W]: the same noise for every sample
        elif noise_mode == "random":
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)
        else:
            raise ValueError(f"noise_mode must be one of {NOISE_MODES}, got {noise_mode!r}")
        return x + self.weight.view(1, -1, 1, 1) * noise


class SynthesisLayer(nn.Module):
    """[upsample ×2] → [3×3 conv] → [+ styled constant map] → noise → bias + leaky ReLU → AdaIN(w).

    One style per layer. With ``const_map`` the layer adds ``P · s(w)``: a learned map
    ``P`` ``[1, C, R, R]`` (starting at 0; with ``tile = t`` a ``t×t`` tile repeated over the
    image, so it can hold a period-t texture but no position) scaled per channel by
    ``s(w) = A'(w)`` (starting near 1), before the nonlinearity, so that the layer's own style
    chooses how much of each fixed pattern enters, as the noise inputs (Sec. 3.2) give every
    layer its own source of detail instead of making it derive that detail from earlier activations.
    """

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, up: bool, conv: bool,
                 const_map: bool = False, tile: int = 0):
        super().__init__()
        if not conv and in_channels != out_channels:
            raise ValueError("a layer without a conv must keep the number of channels")
        self.up = up
        self.conv = EqualConv2d(in_channels, out_channels, 3) if conv else None
        side = tile or resolution
        if const_map and resolution % side:
            raise ValueError(f"a {side}×{side} tile does not divide a {resolution}×{resolution} map")
        self.const_map = nn.Parameter(torch.zeros(1, out_channels, side, side)) if const_map else None
        self.const_style = EqualLinear(w_dim, out_channels, bias_init=1.0) if const_map else None
        self.noise = NoiseInjection(out_channels, resolution)
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.adain = AdaIN(out_channels, w_dim)

    def forward(self, x: Tensor, w: Tensor, noise_mode: str = "random") -> Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)  # [B, C, 2H, 2W]
        if self.conv is not None:
            x = self.conv(x)  # [B, C_out, H, W]
        if self.const_map is not None:
            reps = x.shape[-1] // self.const_map.shape[-1]  # 1 for a full map
            pattern = self.const_map.repeat(1, 1, reps, reps) if reps > 1 else self.const_map  # [1, C_out, H, W]
            x = x + pattern * self.const_style(w)[:, :, None, None]  # [B, C_out, H, W]
        x = self.noise(x, noise_mode)
        x = lrelu(x + self.bias.view(1, -1, 1, 1))
        return self.adain(x, w)


class SynthesisNetwork(nn.Module):
    """ws ``[B, num_ws, w_dim]`` → images ``[B, C, R, R]``, starting from a learned constant 4×4."""

    def __init__(self, config: StyleGANConfig):
        super().__init__()
        ch = config.channels
        self.const = nn.Parameter(torch.randn(1, ch[0], 4, 4))  # the learned constant input
        layers = [
            SynthesisLayer(ch[0], ch[0], config.w_dim, 4, up=False, conv=False),
            SynthesisLayer(ch[0], ch[0], config.w_dim, 4, up=False, conv=True),
        ]
        for i in range(1, len(ch)):
            res = 4 * 2**i
            cmap, tile = 0 < config.const_maps_from <= res, config.const_maps_tile
            layers.append(SynthesisLayer(ch[i - 1], ch[i], config.w_dim, res, up=True, conv=True, const_map=cmap,
                                         tile=tile))
            layers.append(SynthesisLayer(ch[i], ch[i], config.w_dim, res, up=False, conv=True, const_map=cmap,
                                         tile=tile))
        self.layers = nn.ModuleList(layers)
        self.to_rgb = EqualConv2d(ch[-1], config.img_channels, 1)
        self.rgb_bias = nn.Parameter(torch.zeros(config.img_channels))
        self.num_ws = len(layers)

    def forward(self, ws: Tensor, noise_mode: str = "random") -> Tensor:
        if ws.dim() != 3 or ws.shape[1] != self.num_ws:
            raise ValueError(f"ws must be [B, {self.num_ws}, w_dim], got {list(ws.shape)}; use G.mix or broadcast w")
        x = self.const.expand(ws.shape[0], -1, -1, -1)  # [B, C0, 4, 4]
        for i, layer in enumerate(self.layers):
            x = layer(x, ws[:, i], noise_mode)  # 4 → 4, 4 → 4, 4 → 8, 8 → 8, 8 → 16, 16 → 16 (, …)
        return self.to_rgb(x) + self.rgb_bias.view(1, -1, 1, 1)  # [B, 3, R, R]


# -------------------------------------------------------------------- generator


class StyleGenerator(nn.Module):
    """StyleGAN's generator (Karras et al. 2019, Fig. 1b): ``forward(z, psi, noise_mode) -> [B, 3, R, R]``.

    Layer ``i`` of the synthesis network reads ``ws[:, i]``; layers 0–1 work at
    4×4, 2–3 at 8×8, 4–5 at 16×16 (``num_ws = 6`` with the default config; 6–7 at 32×32 with one more width).
    """

    def __init__(self, config: StyleGANConfig | dict | None = None):
        super().__init__()
        self.config = config = StyleGANConfig.from_args(config)
        self.init_args = {"config": config.as_args()}
        self.mapping = MappingNetwork(config.z_dim, config.w_dim, config.mapping_layers, config.mapping_lr_mul)
        self.synthesis = SynthesisNetwork(config)
        self.num_ws = self.synthesis.num_ws
        self.z_dim, self.w_dim = config.z_dim, config.w_dim
        self.register_buffer("w_avg", torch.zeros(config.w_dim))

    @torch.no_grad()
    def update_w_avg(self, w: Tensor) -> None:
        """Track w̄ as an exponential moving average of batch means: ``w̄ ← β·w̄ + (1 − β)·mean(w)``."""
        self.w_avg.lerp_(w.detach().mean(dim=0), 1.0 - self.config.w_avg_beta)

    def truncate(self, w: Tensor, psi: float, cutoff: int | None = None) -> Tensor:
        """Truncation in W (StyleGAN, Appendix B): ``w̄ + ψ(w − w̄)``.

        ``w`` is ``[B, w_dim]`` or per-layer ``[B, num_ws, w_dim]``; with
        ``cutoff`` only layers ``< cutoff`` are truncated (needs per-layer ws;
        a single w is broadcast first). ψ = 1 changes nothing, ψ = 0 gives w̄.
        """
        if cutoff is None:
            return self.w_avg + psi * (w - self.w_avg)
        ws = self.broadcast(w)  # [B, num_ws, w_dim]
        layer = torch.arange(self.num_ws, device=ws.device).view(1, -1, 1)
        return torch.where(layer < cutoff, self.w_avg + psi * (ws - self.w_avg), ws)

    def broadcast(self, w: Tensor) -> Tensor:
        """``[B, w_dim]`` → ``[B, num_ws, w_dim]`` (the same w for every layer); per-layer ws pass through."""
        if w.dim() == 2:
            return w.unsqueeze(1).expand(-1, self.num_ws, -1)
        if w.dim() == 3 and w.shape[1] == self.num_ws:
            return w
        raise ValueError(f"expected w [B, {self.w_dim}] or ws [B, {self.num_ws}, {self.w_dim}], got {list(w.shape)}")

    def mix(self, w_a: Tensor, w_b: Tensor, crossover: int) -> Tensor:
        """Style mixing (StyleGAN, Sec. 3.1): layers ``< crossover`` take A's w, layers ``>= crossover`` B's.

        ``crossover = 0`` is pure B, ``crossover = num_ws`` pure A; a small
        crossover (e.g. 4: the 4×4 and 8×8 layers from A) keeps A's coarse
        attributes and B's fine ones. Returns ws ``[B, num_ws, w_dim]``.
        """
        if not 0 <= int(crossover) <= self.num_ws:
            raise ValueError(f"crossover must be in 0..{self.num_ws} (num_ws), got {crossover}")
        ws_a, ws_b = self.broadcast(w_a), self.broadcast(w_b)
        layer = torch.arange(self.num_ws, device=ws_a.device).view(1, -1, 1)
        return torch.where(layer < int(crossover), ws_a, ws_b)

    def forward(self, z: Tensor, psi: float = 1.0, noise_mode: str = "random", cutoff: int | None = None) -> Tensor:
        w = self.mapping(z)  # [B, w_dim]
        ws = self.broadcast(self.truncate(w, psi, cutoff) if psi != 1.0 else w)  # [B, num_ws, w_dim]
        return self.synthesis(ws, noise_mode)  # [B, 3, R, R]


def check_crossovers(crossovers, num_ws: int | None = None) -> tuple[int, ...]:
    """``crossovers`` as a tuple of ints, if it is a non-empty list of style-mixing crossovers: each at
    least 1 and, when ``num_ws`` is given, below it (crossover ``num_ws`` would not mix); else ValueError."""
    values = tuple(int(c) for c in crossovers)
    top = "" if num_ws is None else f" and below num_ws = {num_ws}"
    if not values or min(values) < 1 or (num_ws is not None and max(values) >= num_ws):
        raise ValueError(f"mixing_crossovers must be one or more layers >= 1{top}, got {values}")
    return values


def mixing_regularised_ws(G: StyleGenerator, z: Tensor, z2: Tensor, prob: float = 0.9,
                          crossovers: tuple[int, ...] | None = None) -> Tensor:
    """Training-time ws with style-mixing regularisation (StyleGAN, Sec. 3.1).

    With probability ``prob`` a sample switches from ``w = f(z)`` to
    ``w2 = f(z2)`` at a crossover drawn uniformly from ``1..num_ws-1``, or from the
    entries of ``crossovers`` (repeat an entry to draw it more often), per sample;
    the others use ``w`` for every layer. Returns ``([B, num_ws, w_dim], w)``.
    """
    w, w2 = G.mapping(z), G.mapping(z2)  # [B, w_dim] each
    b = z.shape[0]
    if crossovers is None:
        crossover = torch.randint(1, G.num_ws, (b,), device=z.device)
    else:
        choices = torch.tensor(check_crossovers(crossovers, G.num_ws), device=z.device)
        crossover = choices[torch.randint(len(choices), (b,), device=z.device)]
    crossover = torch.where(torch.rand(b, device=z.device) < prob, crossover, torch.full_like(crossover, G.num_ws))
    layer = torch.arange(G.num_ws, device=z.device).view(1, -1)
    use_a = (layer < crossover.view(-1, 1)).unsqueeze(-1)  # [B, num_ws, 1]
    return torch.where(use_a, G.broadcast(w), G.broadcast(w2)), w


# ---------------------------------------------------------------- discriminator


class DBlock(nn.Module):
    """Residual down block: conv 3×3 → conv 3×3 → avg-pool ×½, plus a pooled 1×1 skip, scaled by 1/√2."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv1, self.conv2 = EqualConv2d(in_channels, in_channels, 3), EqualConv2d(in_channels, out_channels, 3)
        self.b1, self.b2 = nn.Parameter(torch.zeros(in_channels)), nn.Parameter(torch.zeros(out_channels))
        self.skip = EqualConv2d(in_channels, out_channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        skip = self.skip(F.avg_pool2d(x, 2))  # [B, C_out, H/2, W/2]
        x = lrelu(self.conv1(x) + self.b1.view(1, -1, 1, 1))  # [B, C_in, H, W]
        x = lrelu(self.conv2(x) + self.b2.view(1, -1, 1, 1))  # [B, C_out, H, W]
        x = F.avg_pool2d(x, 2)  # [B, C_out, H/2, W/2]
        return (x + skip) / SQRT2


class StyleDiscriminator(nn.Module):
    """A residual discriminator for ``[B, 3, R, R]`` images (R = ``config.resolution``); returns logits ``[B]``."""

    def __init__(self, config: StyleGANConfig | dict | None = None):
        super().__init__()
        config = StyleGANConfig.from_args(config)
        self.init_args = {"config": config.as_args()}
        ch = config.d_channels
        self.from_rgb = EqualConv2d(config.img_channels, ch[0], 1)
        self.rgb_bias = nn.Parameter(torch.zeros(ch[0]))
        self.blocks = nn.ModuleList(DBlock(a, b) for a, b in zip(ch[:-1], ch[1:]))
        self.mbstd = MinibatchStdDev(group_size=4)  # groups of 4 consecutive samples, as in StyleGAN2
        self.conv = EqualConv2d(ch[-1] + 1, ch[-1], 3)
        self.conv_bias = nn.Parameter(torch.zeros(ch[-1]))
        self.fc = EqualLinear(ch[-1] * 16, ch[-1])
        self.out = EqualLinear(ch[-1], 1)
        self.resolution = config.resolution

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[-1] != self.resolution:
            raise ValueError(f"expected images [B, C, {self.resolution}, {self.resolution}], got {list(x.shape)}")
        x = lrelu(self.from_rgb(x) + self.rgb_bias.view(1, -1, 1, 1))  # [B, 32, 16, 16]
        for block in self.blocks:
            x = block(x)  # [B, 32, 16, 16] → [B, 64, 8, 8] → [B, 64, 4, 4] (default widths)
        x = self.mbstd(x)  # [B, 65, 4, 4]
        x = lrelu(self.conv(x) + self.conv_bias.view(1, -1, 1, 1))  # [B, 64, 4, 4]
        x = lrelu(self.fc(x.flatten(1)))  # [B, 64]
        return self.out(x).squeeze(1)  # [B]


# ------------------------------------------------------------------ checkpoints


def save_stylegan(path: str | Path, G: StyleGenerator, D: StyleDiscriminator | None = None, meta: dict | None = None):
    """Save ``G`` (and optionally ``D``), each with its config, and ``meta`` (seed, command, metrics), atomically."""
    save_checkpoint(path, {"G": G} if D is None else {"G": G, "D": D}, meta)


def load_stylegan(
    path: str | Path | None = None, device: torch.device | str = "cpu", with_discriminator: bool = False
):
    """Load the shipped (or a given) checkpoint: returns ``G`` in eval mode, or ``(G, D, meta)``.

    A checkpoint without ``D`` gives a freshly initialised ``D`` of ``G``'s config.
    """
    path = Path(path) if path is not None else WEIGHTS
    if not path.exists():
        raise FileNotFoundError(f"no StyleGAN checkpoint at {path}; train one with `python scripts/train_stylegan.py`")
    checkpoint = load_checkpoint(path)
    G = build_model(checkpoint["models"]["G"]).to(device).eval()
    if not with_discriminator:
        return G
    entry = checkpoint["models"].get("D")
    D = build_model(entry) if entry is not None else StyleDiscriminator(G.config)
    return G, D.to(device), checkpoint["meta"]
