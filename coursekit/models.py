"""Generators, discriminators and critics of the course.

Conventions: images are ``[B, C, H, W]`` in [-1, 1] (generators end in tanh);
discriminators return raw logits and critics raw scores, both of shape ``[B]``
(``[B / m]`` when m samples are packed). Image models default to MNIST,
1×28×28; pass ``image_shape=(3, 32, 32)`` for 32×32 colour images.

- ``MLPGenerator`` / ``MLPDiscriminator``: fully connected (lesson 2), also for
  2-D data (``MLP2DGenerator`` / ``MLP2DDiscriminator``, lessons 3 and 5).
- ``DCGANGenerator`` / ``DCGANDiscriminator``: Radford et al. 2016, Sec. 3
  (ConvTranspose + BatchNorm + ReLU, strided conv + LeakyReLU 0.2, no BN on
  D's first layer, N(0, 0.02) init by :func:`dcgan_init`); ``DeepDCGANDiscriminator``
  has four strided 3×3 convs where ``DCGANDiscriminator`` has two at 28×28 (lesson 4).
- ``WGANCritic``: the same trunk with no BatchNorm (Gulrajani et al. 2017,
  Sec. 4), so one sample's score does not depend on the rest of the batch.
- ``SNDiscriminator``: spectral normalisation on every layer (Miyato et al. 2018).
- ``MinibatchStdDev`` (Karras et al. 2018, Sec. 3) and PacGAN packing
  (Lin et al. 2018; :func:`pack`, :class:`PackedDiscriminator`) live in
  ``coursekit.packing`` and are re-exported here.
- ``spectral_norms`` / ``frobenius_norms``: measure what SN promises, and the
  classic mistake (``torch.norm(W)`` is the Frobenius norm, not σ_max).
- Every model keeps its constructor arguments as plain data in ``init_args``
  (tuples as lists), written out in its ``__init__``; ``MODEL_CLASSES`` maps class
  names to classes. With both, ``coursekit.checkpoint`` rebuilds a saved model
  as ``cls(**init_args)``.
"""
from __future__ import annotations

import itertools
import math
from typing import Sequence

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

from coursekit.conv_arithmetic import conv_out
from coursekit.packing import MinibatchStdDev, PackedDiscriminator, pack
from coursekit.stylegan import StyleDiscriminator, StyleGenerator  # lives in its own module; the contract's path

__all__ = [
    "MLPGenerator", "MLPDiscriminator", "MLP2DGenerator", "MLP2DDiscriminator",
    "DCGANGenerator", "DCGANDiscriminator", "DeepDCGANDiscriminator", "WGANCritic", "SNDiscriminator",
    "MinibatchStdDev", "PackedDiscriminator", "pack", "StyleGenerator", "StyleDiscriminator",
    "dcgan_init", "apply_spectral_norm", "spectral_norms", "frobenius_norms",
    "count_parameters", "MODEL_CLASSES",
]

Tensor = torch.Tensor
_WEIGHTED = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)


# ------------------------------------------------------------------ shapes

def _pyramid(size: int) -> tuple[int, int]:
    """``size = s0 · 2**n`` with the smallest s0 ≤ 7 reachable by halving: 28 → (7, 2), 32 → (4, 3)."""
    s0, n = size, 0
    while s0 > 7 and s0 % 2 == 0:
        s0, n = s0 // 2, n + 1
    if n == 0 or s0 < 3:
        raise ValueError(
            f"image size {size} cannot be reached by stride-2 4×4 (de)convolutions from a 3..7 base; "
            "use a size like 28 (7·2²), 32 (4·2³) or 64 (4·2⁴)."
        )
    return s0, n


def _check_image_shape(image_shape: Sequence[int]) -> tuple[int, int, int]:
    if len(image_shape) != 3 or image_shape[1] != image_shape[2] or min(image_shape) < 1:
        raise ValueError(f"image_shape must be (C, H, W) with H == W, e.g. (1, 28, 28); got {tuple(image_shape)}")
    return int(image_shape[0]), int(image_shape[1]), int(image_shape[2])


def _check_images(x: Tensor, image_shape: tuple[int, int, int]) -> None:
    """A discriminator's input check: ``x`` must be ``[B, *image_shape]``, with a message that says how to fix it."""
    if x.shape[1:] != image_shape:
        raise ValueError(f"expected images of shape [B, {', '.join(map(str, image_shape))}], "
                         f"got {list(x.shape)}; build the model with image_shape={tuple(x.shape[1:])}")


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# ------------------------------------------------------------------ init and norms

def _weight_param(m: nn.Module) -> Tensor:
    """The raw (trainable) weight, also under a spectral-norm parametrization."""
    if parametrize.is_parametrized(m, "weight"):
        return m.parametrizations.weight.original
    return m.weight


def dcgan_init(module: nn.Module) -> nn.Module:
    """DCGAN initialisation (Radford et al. 2016, Sec. 4): every conv / linear weight ~ N(0, 0.02²),
    BatchNorm weight ~ N(1, 0.02²), all biases 0. Works in place and returns ``module``."""
    for m in module.modules():
        if isinstance(m, _WEIGHTED):
            nn.init.normal_(_weight_param(m), 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module


def _as_matrix(m: nn.Module, weight: Tensor) -> Tensor:
    """The weight as the matrix SN normalises: output units × everything else."""
    if isinstance(m, nn.ConvTranspose2d):  # [in, out, k, k]: output channels are dim 1
        weight = weight.transpose(0, 1)
    return weight.flatten(1)


def _effective_weight(m: nn.Module) -> Tensor:
    """The weight ``m`` uses in its forward pass, read without side effects.

    Under ``spectral_norm`` in training mode, reading ``m.weight`` runs a power
    iteration and updates u, v; here the parametrization is read in eval mode,
    ``W / (uᵀ W v)`` with the stored u, v, exactly what an eval forward uses.
    """
    if not parametrize.is_parametrized(m, "weight"):
        return m.weight
    plist = m.parametrizations.weight
    modes = [p.training for p in plist]
    plist.eval()
    try:
        return m.weight
    finally:
        for p, mode in zip(plist, modes):
            p.train(mode)


@torch.no_grad()
def spectral_norms(module: nn.Module) -> dict[str, float]:
    """Largest singular value σ_max of each conv / linear layer's *effective* weight matrix.

    ``torch.linalg.matrix_norm(W.flatten(1), ord=2)`` (an exact SVD, not a power
    iteration) of the weight the layer uses (under ``spectral_norm``: W / σ̂, with
    σ̂ the stored power-iteration estimate; measuring changes nothing).
    Miyato et al. 2018, Sec. 2.1 make this ≈ 1. For a conv this is the σ of
    the reshaped kernel ``[out, in·k·k]`` (what SN normalises), not the norm
    of the convolution as an operator.
    """
    return {name: torch.linalg.matrix_norm(_as_matrix(m, _effective_weight(m)).double(), ord=2).item()
            for name, m in module.named_modules() if isinstance(m, _WEIGHTED)}


@torch.no_grad()
def frobenius_norms(module: nn.Module) -> dict[str, float]:
    """‖W‖_F of each layer's effective weight: what ``torch.norm(W, p=2)`` returns.

    The classic mistake: this is NOT the spectral norm; ‖W‖_F ≥ σ_max, with
    equality only for rank-1 W. Shown beside :func:`spectral_norms` in lesson 5.
    """
    return {name: _effective_weight(m).double().norm().item()  # == torch.norm(W, p=2)
            for name, m in module.named_modules() if isinstance(m, _WEIGHTED)}


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Register ``torch.nn.utils.parametrizations.spectral_norm`` on every conv / linear layer, in place.

    Call it after initialising the weights: registering runs 15 power iterations
    on the current weight, so re-initialising afterwards would leave a stale σ̂.
    """
    for m in list(module.modules()):
        if isinstance(m, _WEIGHTED) and not parametrize.is_parametrized(m, "weight"):
            _spectral_norm(m)
    return module


# ------------------------------------------------------------------ MLPs

class MLPGenerator(nn.Module):
    """Fully connected generator ``z [B, nz] -> x [B, *out_shape]`` (Goodfellow et al. 2014, Sec. 5).

    Hidden layers are Linear + LeakyReLU(0.2); the output goes through tanh
    (images in [-1, 1]) unless ``tanh=False`` (2-D data, unbounded).
    ``batchnorm=True`` puts BatchNorm1d after every hidden Linear but the first
    (none right after the noise), as lesson 2's generator does.
    """

    def __init__(self, nz: int = 64, hidden: Sequence[int] = (256, 512),
                 out_shape: Sequence[int] = (1, 28, 28), tanh: bool = True, batchnorm: bool = False):
        super().__init__()
        self.init_args = {"nz": nz, "hidden": list(hidden), "out_shape": list(out_shape), "tanh": tanh,
                          "batchnorm": batchnorm}
        self.nz, self.out_shape = nz, tuple(out_shape)
        widths = [nz, *hidden]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Linear(a, b))
            if batchnorm and i > 0:
                layers.append(nn.BatchNorm1d(b))
            layers.append(nn.LeakyReLU(0.2))
        layers.append(nn.Linear(widths[-1], math.prod(self.out_shape)))
        if tanh:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z.flatten(1)).reshape(z.shape[0], *self.out_shape)  # [B, nz] -> [B, *out_shape]


class MLPDiscriminator(nn.Module):
    """Fully connected discriminator ``x [B, *in_shape] -> logits [B / pack]``.

    ``pack=m`` concatenates m samples into one input (PacGAN, Lin et al. 2018);
    ``minibatch_std=True`` appends the batch's mean standard deviation as one
    feature before the last layer (Karras et al. 2018, Sec. 3);
    ``spectral_norm=True`` normalises every linear layer (Miyato et al. 2018).
    """

    def __init__(self, in_shape: Sequence[int] = (1, 28, 28), hidden: Sequence[int] = (512, 256),
                 pack: int = 1, minibatch_std: bool = False, spectral_norm: bool = False,
                 group_size: int | None = None):
        super().__init__()
        if pack < 1:
            raise ValueError(f"pack must be >= 1, got {pack}")
        self.init_args = {"in_shape": list(in_shape), "hidden": list(hidden), "pack": pack,
                          "minibatch_std": minibatch_std, "spectral_norm": spectral_norm, "group_size": group_size}
        self.in_shape, self.pack = tuple(in_shape), pack
        widths = [pack * math.prod(self.in_shape), *hidden]
        layers: list[nn.Module] = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers)
        self.mbstd = MinibatchStdDev(group_size) if minibatch_std else None
        self.head = nn.Linear(widths[-1] + int(minibatch_std), 1)
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: Tensor) -> Tensor:
        h = pack(x.flatten(1), self.pack)        # [B, F] -> [B/m, m·F]
        h = self.features(h)                     # [B/m, hidden[-1]]
        if self.mbstd is not None:
            h = self.mbstd(h)                    # [B/m, hidden[-1] + 1]
        return self.head(h).squeeze(1)           # [B/m]


class MLP2DGenerator(nn.Module):
    """Small generator for 2-D mixtures: ``z [B, nz] -> [B, 2]``, ``depth`` hidden layers of ``width``, no tanh.

    Hidden layers are Linear + LeakyReLU(0.2), as in :class:`MLPGenerator`. With
    ``batchnorm=True`` they are PacGAN's generator layers (Lin et al. 2018, Sec. 5):
    Linear without bias, BatchNorm1d, ReLU. The BatchNorms use the batch's own
    statistics, in eval mode too, and keep no buffers (so ``torch.func.vmap`` can
    run K of them); each sample then depends on the rest of its batch, so it
    needs batches of at least 2. Radford et
    al. 2016 (Sec. 3) credit BatchNorm in G with "preventing the generator from
    collapsing all samples to a single point".
    """

    def __init__(self, nz: int = 2, width: int = 128, depth: int = 3, out_features: int = 2,
                 batchnorm: bool = False):
        super().__init__()
        self.init_args = {"nz": nz, "width": width, "depth": depth, "out_features": out_features,
                          "batchnorm": batchnorm}
        self.nz, self.out_shape, self.batchnorm = nz, (out_features,), batchnorm
        widths = [nz] + [width] * depth
        layers: list[nn.Module] = []
        for a, b in itertools.pairwise(widths):
            if batchnorm:  # the bias would be cancelled by BatchNorm's mean
                layers += [nn.Linear(a, b, bias=False), nn.BatchNorm1d(b, track_running_stats=False), nn.ReLU()]
            else:
                layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
        layers.append(nn.Linear(widths[-1], out_features))
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        if self.batchnorm and z.shape[0] < 2:
            raise ValueError("this generator normalises over its batch (batchnorm=True): pass at least 2 latents")
        return self.net(z)  # [B, nz] -> [B, out_features]


class MLP2DDiscriminator(MLPDiscriminator):
    """Small discriminator for 2-D mixtures: ``[B, 2] -> logits [B / pack]`` (see :class:`MLPDiscriminator`)."""

    def __init__(self, in_features: int = 2, width: int = 128, depth: int = 3, pack: int = 1,
                 minibatch_std: bool = False, spectral_norm: bool = False, group_size: int | None = None):
        super().__init__(in_shape=(in_features,), hidden=(width,) * depth, pack=pack,
                         minibatch_std=minibatch_std, spectral_norm=spectral_norm, group_size=group_size)
        self.init_args = {"in_features": in_features, "width": width, "depth": depth, "pack": pack,
                          "minibatch_std": minibatch_std, "spectral_norm": spectral_norm, "group_size": group_size}


# ------------------------------------------------------------------ DCGAN family

class DCGANGenerator(nn.Module):
    """DCGAN generator (Radford et al. 2016, Sec. 3): ``z [B, nz] -> images [B, C, H, W]`` in [-1, 1].

    A 1×1 "image" of nz channels is projected to an s0×s0 map by a ConvTranspose
    of kernel s0, then doubled by ConvTranspose(4, stride 2, padding 1) layers
    with BatchNorm + ReLU, the last with tanh and no BN. With ngf = 64:

    - 1×28×28:  [B,nz,1,1] → [B,128,7,7] → [B,64,14,14] → [B,1,28,28]
    - 3×32×32:  [B,nz,1,1] → [B,256,4,4] → [B,128,8,8] → [B,64,16,16] → [B,3,32,32]
    """

    def __init__(self, nz: int = 100, ngf: int = 64, image_shape: Sequence[int] = (1, 28, 28)):
        super().__init__()
        self.init_args = {"nz": nz, "ngf": ngf, "image_shape": list(image_shape)}
        c, h, _ = _check_image_shape(image_shape)
        s0, n = _pyramid(h)
        self.nz, self.image_shape = nz, (c, h, h)
        ch = ngf * 2 ** (n - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(nz, ch, s0, 1, 0, bias=False),  # [B, nz, 1, 1] -> [B, ngf·2^(n-1), s0, s0]
            nn.BatchNorm2d(ch), nn.ReLU(),
        ]
        for _ in range(n - 1):
            layers += [
                nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),  # [B, ch, s, s] -> [B, ch/2, 2s, 2s]
                nn.BatchNorm2d(ch // 2), nn.ReLU(),
            ]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, c, 4, 2, 1), nn.Tanh()]  # [B, ngf, H/2, H/2] -> [B, C, H, W]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z.reshape(z.shape[0], self.nz, 1, 1))


def _conv_trunk(c: int, h: int, ndf: int, norm: str) -> tuple[nn.Sequential, int, int]:
    """Strided-conv trunk ``[B, C, H, H] -> [B, ndf·2^(n-1), s0, s0]``; returns (trunk, channels, s0).

    Conv(4, stride 2, padding 1) halves the size: 28 → 14 → 7 (n = 2), 32 → 16 → 8 → 4 (n = 3).
    No normalisation on the first layer (Radford et al. 2016, Sec. 3).
    """
    if norm not in ("batch", "layer", "none"):
        raise ValueError(f"norm must be 'batch', 'layer' (GroupNorm(1, C)) or 'none', got {norm!r}")
    s0, n = _pyramid(h)
    layers: list[nn.Module] = [nn.Conv2d(c, ndf, 4, 2, 1), nn.LeakyReLU(0.2)]  # [B, C, H, H] -> [B, ndf, H/2, H/2]
    ch = ndf
    for _ in range(n - 1):
        layers.append(nn.Conv2d(ch, 2 * ch, 4, 2, 1, bias=norm == "none"))  # [B, ch, s, s] -> [B, 2ch, s/2, s/2]
        if norm == "batch":
            layers.append(nn.BatchNorm2d(2 * ch))
        elif norm == "layer":
            layers.append(nn.GroupNorm(1, 2 * ch))  # LayerNorm over (C, H, W), per-sample
        layers.append(nn.LeakyReLU(0.2))
        ch *= 2
    return nn.Sequential(*layers), ch, s0


class _ConvDiscriminator(nn.Module):
    """Trunk + optional minibatch std + a final valid conv of kernel s0: ``[B, C, H, W] -> [B]``."""

    def __init__(self, image_shape: Sequence[int], ndf: int, norm: str,
                 minibatch_std: bool, group_size: int | None):
        super().__init__()
        c, h, _ = _check_image_shape(image_shape)
        self.image_shape = (c, h, h)
        self.features, ch, s0 = _conv_trunk(c, h, ndf, norm)
        self.mbstd = MinibatchStdDev(group_size) if minibatch_std else None
        self.head = nn.Conv2d(ch + int(minibatch_std), 1, s0, 1, 0)  # [B, ch(+1), s0, s0] -> [B, 1, 1, 1]

    def forward(self, x: Tensor) -> Tensor:
        _check_images(x, self.image_shape)
        h = self.features(x)                 # [B, ch, s0, s0]
        if self.mbstd is not None:
            h = self.mbstd(h)                # [B, ch + 1, s0, s0]
        return self.head(h).flatten()        # [B, 1, 1, 1] -> [B]


class DCGANDiscriminator(_ConvDiscriminator):
    """DCGAN discriminator (Radford et al. 2016, Sec. 3): images ``[B, C, H, W] -> logits [B]``.

    Strided 4×4 convs with LeakyReLU(0.2), BatchNorm on all but the first,
    then one conv whose kernel covers the remaining s0×s0 map. With ndf = 64:

    - 1×28×28:  [B,1,28,28] → [B,64,14,14] → [B,128,7,7] → [B,1,1,1] → [B]
    - 3×32×32:  [B,3,32,32] → [B,64,16,16] → [B,128,8,8] → [B,256,4,4] → [B,1,1,1] → [B]

    (Four stride-2 3×3 convs on 28×28 would end at 2×2, not 1×1.) BatchNorm makes
    each logit depend on the whole batch; see :class:`WGANCritic` for a critic that does not.
    """

    def __init__(self, image_shape: Sequence[int] = (1, 28, 28), ndf: int = 64,
                 minibatch_std: bool = False, group_size: int | None = None):
        super().__init__(image_shape, ndf, "batch", minibatch_std, group_size)
        self.init_args = {"image_shape": list(image_shape), "ndf": ndf, "minibatch_std": minibatch_std,
                          "group_size": group_size}
        dcgan_init(self)


class DeepDCGANDiscriminator(nn.Module):
    """A deeper DCGAN discriminator: four stride-2 3×3 convs, ``images [B, C, H, W] -> logits [B]``.

    LeakyReLU(0.2) after each conv, BatchNorm on all but the first, widths
    ndf, 2·ndf, 4·ndf, 4·ndf, then one conv whose kernel covers what is left
    (Radford et al. 2016, Sec. 3: strided convs, no pooling, no hidden FC layer).
    With ndf = 32 on 1×28×28
    (each 3×3 conv with padding 1 and stride 2 maps n to ⌈n/2⌉):

    [B,1,28,28] → [B,32,14,14] → [B,64,7,7] → [B,128,4,4] → [B,128,2,2] → [B,1,1,1] → [B]

    It is the discriminator of the chapter this course grew from (see
    ``bench/bench_time_to_quality.py``) with a conv head and DCGAN initialisation;
    lesson 4 trains its DCGAN generator against it, at ndf = 16.
    """

    def __init__(self, image_shape: Sequence[int] = (1, 28, 28), ndf: int = 32):
        super().__init__()
        self.init_args = {"image_shape": list(image_shape), "ndf": ndf}
        c, h, _ = _check_image_shape(image_shape)
        self.image_shape = (c, h, h)
        widths = [c, ndf, 2 * ndf, 4 * ndf, 4 * ndf]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(itertools.pairwise(widths)):
            layers.append(nn.Conv2d(a, b, 3, 2, 1, bias=i == 0))  # [B, a, s, s] -> [B, b, ⌈s/2⌉, ⌈s/2⌉]
            layers += ([nn.BatchNorm2d(b)] if i else []) + [nn.LeakyReLU(0.2)]
            h = conv_out(h, 3, 2, 1)
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv2d(widths[-1], 1, h, 1, 0)  # [B, 4·ndf, s, s] -> [B, 1, 1, 1]
        dcgan_init(self)

    def forward(self, x: Tensor) -> Tensor:
        _check_images(x, self.image_shape)
        return self.head(self.features(x)).flatten()  # [B, 1, 1, 1] -> [B]


class WGANCritic(_ConvDiscriminator):
    """WGAN(-GP) critic: the DCGAN trunk with no BatchNorm and no sigmoid; images ``-> scores [B]``.

    ``norm="layer"`` (default) uses GroupNorm(1, C), i.e. layer normalisation over
    (C, H, W) per sample, as Gulrajani et al. 2017 (Sec. 4) recommend; ``"none"``
    uses no normalisation. Either way a sample's score does not depend on the
    rest of the batch, which the per-sample gradient penalty assumes.
    ``minibatch_std=True`` deliberately breaks that independence.
    """

    def __init__(self, image_shape: Sequence[int] = (1, 28, 28), ndf: int = 64, norm: str = "layer",
                 minibatch_std: bool = False, group_size: int | None = None):
        if norm == "batch":
            raise ValueError("a WGAN-GP critic must not use BatchNorm (the penalty is per sample); "
                             "use norm='layer' or norm='none'")
        super().__init__(image_shape, ndf, norm, minibatch_std, group_size)
        self.init_args = {"image_shape": list(image_shape), "ndf": ndf, "norm": norm, "minibatch_std": minibatch_std,
                          "group_size": group_size}
        dcgan_init(self)


class SNDiscriminator(_ConvDiscriminator):
    """Spectrally normalised discriminator (Miyato et al. 2018): images ``-> logits [B]``.

    The DCGAN trunk without BatchNorm, with
    ``torch.nn.utils.parametrizations.spectral_norm`` on every conv (one power
    iteration per training forward), so each layer's weight matrix has
    σ_max ≈ 1; check with :func:`spectral_norms`.
    """

    def __init__(self, image_shape: Sequence[int] = (1, 28, 28), ndf: int = 64,
                 minibatch_std: bool = False, group_size: int | None = None):
        super().__init__(image_shape, ndf, "none", minibatch_std, group_size)
        self.init_args = {"image_shape": list(image_shape), "ndf": ndf, "minibatch_std": minibatch_std,
                          "group_size": group_size}
        apply_spectral_norm(dcgan_init(self))  # init first, then SN (its σ̂ is estimated on the init)


# ------------------------------------------------------------------ the registry

# class name -> class, for every course model a checkpoint can rebuild (coursekit.checkpoint.build_model)
MODEL_CLASSES: dict[str, type[nn.Module]] = {cls.__name__: cls for cls in (
    MLPGenerator, MLPDiscriminator, MLP2DGenerator, MLP2DDiscriminator, DCGANGenerator, DCGANDiscriminator,
    DeepDCGANDiscriminator, WGANCritic, SNDiscriminator, StyleGenerator, StyleDiscriminator,
)}
