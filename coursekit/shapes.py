"""A procedural image set whose every attribute is known (lesson 7).

Each image is one shape on a black background. Coarse attributes decide the
layout (``shape``, ``x``, ``y``, ``size``); fine attributes decide the pixels
inside it (``colour``, ``texture``). Because each attribute is known, style
mixing can be measured rather than admired.
"""
from __future__ import annotations

import torch

SHAPES = ("square", "circle", "triangle")
COLOURS = ("red", "green", "blue", "yellow", "magenta", "cyan")
TEXTURES = ("flat", "stripes", "checker")
PALETTE = torch.tensor(
    [[1.0, 0.15, 0.15], [0.15, 0.9, 0.15], [0.2, 0.35, 1.0], [1.0, 0.9, 0.1], [1.0, 0.2, 0.9], [0.1, 0.9, 0.95]]
)
DARK = 0.45  # brightness of a texture's dark half
# Ranges of the centre (x and y) and of the half-extent, as fractions of the width.
SMALL = {"centre": (0.3, 0.7), "half_extent": (0.14, 0.26)}  # the default: 2-4 px at 8x8
LARGE = {"centre": (0.36, 0.64), "half_extent": (0.22, 0.34)}  # 3.5-5.5 px at 8x8: shape is legible there
# Lesson 7's set: 16×16 images, shapes 8-11 px across (4-5.5 px at 8×8), textures of period 2 px, which only
# the 16×16 layers of a generator can draw (an 8×8 feature map upsampled ×2 cannot alternate every pixel).
LESSON7 = {"size": 16, "centre": (0.36, 0.64), "half_extent": (0.24, 0.34)}
RANGES = {"small": SMALL, "large": LARGE, "lesson7": LESSON7}


def texture_period(size: int) -> int:
    """Pixels per stripe (or checker cell) pair: one eighth of the width, at least 2 (4 at 32×32, 2 at 16×16)."""
    return max(2, size // 8)


def make_shapes(
    n: int,
    size: int = 32,
    seed: int = 0,
    centre: tuple[float, float] = SMALL["centre"],
    half_extent: tuple[float, float] = SMALL["half_extent"],
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``n`` images ``[n, 3, size, size]`` in [-1, 1] and their attributes.

    Attributes (tensors of length ``n``): ``shape`` (index into ``SHAPES``),
    ``x``, ``y`` (centre, as a fraction of the width, uniform in ``centre``,
    [0.3, 0.7] by default), ``size`` (half-extent as a fraction of the width,
    uniform in ``half_extent``, [0.14, 0.26] by default), ``colour`` (index
    into ``COLOURS``), ``texture`` (index into ``TEXTURES``). The same ``seed``
    gives the same images; with other ranges (``**LARGE``: bigger shapes nearer
    the middle) it gives the same shapes, colours and textures.
    """
    if n < 0 or size < 8:
        raise ValueError(f"need n >= 0 and size >= 8, got n={n}, size={size}")
    (c0, c1), (s0, s1) = centre, half_extent
    if not (0 < s0 <= s1 and s1 <= c0 <= c1 and c1 + s1 <= 1):
        raise ValueError(f"shapes must fit in the image: got centre={centre}, half_extent={half_extent}")
    g = torch.Generator().manual_seed(seed)
    attrs = {
        "shape": torch.randint(len(SHAPES), (n,), generator=g),
        "x": c0 + (c1 - c0) * torch.rand(n, generator=g),
        "y": c0 + (c1 - c0) * torch.rand(n, generator=g),
        "size": s0 + (s1 - s0) * torch.rand(n, generator=g),
        "colour": torch.randint(len(COLOURS), (n,), generator=g),
        "texture": torch.randint(len(TEXTURES), (n,), generator=g),
    }
    return render_shapes(attrs, size), attrs


def shape_masks(attrs: dict[str, torch.Tensor], size: int) -> torch.Tensor:
    """Boolean masks ``[n, size, size]`` of the shapes described by ``attrs``."""
    coords = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    v = coords.view(1, size, 1)  # rows (y grows downwards)
    u = coords.view(1, 1, size)  # columns
    x, y, s = (attrs[k].float().view(-1, 1, 1) for k in ("x", "y", "size"))
    du, dv = (u - x).abs(), v - y
    square = (du < s) & (dv.abs() < s)
    circle = du**2 + dv**2 < s**2
    triangle = (dv > -s) & (dv < s) & (du < (dv + s) / 2)  # apex up, base 2s wide
    shape = attrs["shape"].view(-1, 1, 1)
    return torch.where(shape == 0, square, torch.where(shape == 1, circle, triangle))


def texture_brightness(texture: torch.Tensor, size: int) -> torch.Tensor:
    """Brightness ``[n, size, size]`` in {DARK, 1} for each texture index."""
    idx = torch.arange(size) // (texture_period(size) // 2)
    rows = (idx.view(size, 1) % 2).expand(size, size)
    checker = (idx.view(size, 1) + idx.view(1, size)) % 2
    patterns = torch.stack([torch.zeros(size, size, dtype=torch.long), rows, checker])  # [3, size, size]
    return 1.0 - (1.0 - DARK) * patterns[texture].float()


def render_shapes(attrs: dict[str, torch.Tensor], size: int = 32) -> torch.Tensor:
    """Draw the images described by ``attrs``: ``[n, 3, size, size]`` in [-1, 1]."""
    mask = shape_masks(attrs, size).float()  # [n, size, size]
    light = texture_brightness(attrs["texture"], size)  # [n, size, size]
    rgb = PALETTE[attrs["colour"]].view(-1, 3, 1, 1)  # [n, 3, 1, 1]
    intensity = rgb * (mask * light).unsqueeze(1)  # [n, 3, size, size] in [0, 1]
    return intensity * 2 - 1
