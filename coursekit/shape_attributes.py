"""Measure the attributes of a shapes image (``coursekit.shapes``) analytically, so style mixing can be counted.

No learned classifier: every attribute is read off the pixels by a rule a
learner can check by hand.

* mask: pixels whose brightest channel is above ``MASK_LEVEL`` and above ``MASK_FRACTION``
  of the image's brightest pixel (the background is black; the relative level keeps the
  outline where a generator draws soft edges) and that have at least two such
  neighbours (isolated specks are dropped);
* ``shape``: the fraction of the mask's bounding box that it fills —
  square 1, circle π/4 ≈ 0.79, triangle 1/2;
* ``size``: the half-extent ``s`` from the area (square 4s², circle πs², triangle 2s²);
* ``x``, ``y``: the mask's centroid (a triangle's sits s/3 below its centre);
* ``colour``: the mean colour of the mask, scaled to max 1, nearest palette entry;
* ``texture``: the brightness contrast between rows (stripes) or the two
  checker phases (checker) of the pattern (period: ``shapes.texture_period``), relative to the mean
  brightness; below ``TEXTURE_LEVEL`` it is flat.

Coarse attributes (layout) are shape, x, y, size; fine ones (the pixels inside)
are colour and texture. Positions and sizes are fractions of the width;
two images "agree" on them within ``POS_TOL`` / ``SIZE_TOL``.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from coursekit.runtime import module_device
from coursekit.shapes import COLOURS, PALETTE, SHAPES, TEXTURES, texture_period

MASK_LEVEL = 0.2  # brightest channel, in [0, 1], above which a pixel may belong to the shape
MASK_FRACTION = 0.3  # ... and above this fraction of the image's brightest pixel (a half-blurred edge is ~0.5)
FILL_SQUARE, FILL_CIRCLE = 0.94, 0.64  # bounding-box fill: > 0.94 square, > 0.64 circle, else triangle
TEXTURE_LEVEL = 0.2  # relative contrast below which a texture is flat
POS_TOL, SIZE_TOL = 0.06, 0.04  # agreement tolerances, as fractions of the width (≈ 2 px and 1.3 px at 32×32)
AREA_FACTOR = torch.tensor([4.0, math.pi, 2.0])  # area = factor · s², per shape
MIN_AREA, MAX_AREA = 0.02, 0.35  # a valid image's shape covers this fraction of the image
# one bound per shapes.RANGES preset: their largest squares cover 0.27 / 0.46 / 0.46 of the image
MAX_AREAS = {"small": MAX_AREA, "large": 0.5, "lesson7": 0.5}
SILHOUETTE_DIFFER = 0.8  # two masks with IoU below this have different silhouettes
COARSE = ("shape", "x", "y", "size")
FINE = ("colour", "texture")


def measure_shapes(images: Tensor, max_area: float = MAX_AREA) -> dict[str, Tensor]:
    """Measure every attribute of ``images`` ``[n, 3, H, W]`` in [-1, 1].

    Returns tensors of length ``n``: ``shape``, ``colour``, ``texture``
    (indices, as in ``coursekit.shapes``), ``x``, ``y``, ``size`` (fractions
    of the width), ``fill``, ``area`` (fraction of the image), the raw
    measures ``rgb`` (``[n, 3]``, mean colour scaled to max 1), ``stripes`` and
    ``checker`` (relative contrasts), the ``mask`` (``[n, H, W]``, the shape's pixels), and ``valid``
    (one plausible shape was found; the other values of an invalid image are
    meaningless; ``max_area`` bounds the shape's area, as a fraction of the
    image, see ``MAX_AREAS``).
    """
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"expected RGB images [n, 3, H, W] in [-1, 1], got shape {list(images.shape)}")
    if not torch.isfinite(images).all():
        raise ValueError("images contain NaN or inf")
    x = ((images.detach().float().cpu() + 1) / 2).clamp(0, 1)  # [n, 3, H, W] in [0, 1]
    h, w = x.shape[2:]
    bright = x.amax(dim=1)  # [n, H, W]
    mask = _shape_mask(bright)
    m = mask.float()
    area = m.sum(dim=(1, 2))  # pixels
    g = _geometry(mask, area)
    stripes, checker, texture = _texture(bright, m, area)
    area_frac = area / (h * w)
    aspect = g["width"] / g["height"].clamp(min=1)
    valid = (area_frac > MIN_AREA) & (area_frac < max_area) & (g["fill"] > 0.35) & (aspect > 0.67) & (aspect < 1.5)
    rgb_dir, colour = _colour(x, m, area)
    return {
        "shape": g["shape"],
        "x": g["cx"] / w,
        "y": g["cy"] / w,
        "size": g["s_px"] / w,
        "colour": colour,
        "texture": texture,
        "fill": g["fill"],
        "area": area_frac,
        "rgb": rgb_dir,
        "stripes": stripes,
        "checker": checker,
        "valid": valid,
        "mask": mask,
    }


def _shape_mask(bright: Tensor) -> Tensor:
    """The shape's pixels ``[n, H, W]`` from the brightest channel ``bright`` ``[n, H, W]`` in [0, 1]."""
    n = len(bright)
    level = (MASK_FRACTION * bright.flatten(1).amax(dim=1)).clamp(min=MASK_LEVEL)  # [n]
    mask = bright > level.view(n, 1, 1)
    neighbours = F.conv2d(mask.float().unsqueeze(1), torch.ones(1, 1, 3, 3), padding=1).squeeze(1) - mask.float()
    return mask & (neighbours >= 2)  # drop isolated specks: [n, H, W]


def _geometry(mask: Tensor, area: Tensor) -> dict[str, Tensor]:
    """Bounding box ``height``/``width``, ``fill``, ``shape``, half-extent ``s_px`` and centre ``cx``/``cy``
    (pixels) of each mask ``[n, H, W]`` of ``area`` pixels: its centroid, less s/3 in y for a triangle."""
    h, w = mask.shape[1:]
    m, safe = mask.float(), area.clamp(min=1)
    rows, cols = mask.any(dim=2), mask.any(dim=1)  # [n, H], [n, W]
    height = _extent(rows).float()
    width = _extent(cols).float()
    fill = area / (height * width).clamp(min=1)
    shape = torch.where(fill > FILL_SQUARE, 0, torch.where(fill > FILL_CIRCLE, 1, 2))
    s_px = (area / AREA_FACTOR[shape]).sqrt()  # half-extent in pixels
    iy = torch.arange(h, dtype=torch.float32).view(1, h, 1) + 0.5
    ix = torch.arange(w, dtype=torch.float32).view(1, 1, w) + 0.5
    cx = (m * ix).sum(dim=(1, 2)) / safe
    cy = (m * iy).sum(dim=(1, 2)) / safe - torch.where(shape == 2, s_px / 3, torch.zeros_like(s_px))
    return {"height": height, "width": width, "fill": fill, "shape": shape, "s_px": s_px, "cx": cx, "cy": cy}


def _colour(x: Tensor, m: Tensor, area: Tensor) -> tuple[Tensor, Tensor]:
    """The mask's mean colour scaled to max 1 ``[n, 3]``, and the nearest palette entry ``[n]``."""
    mean_rgb = (x * m.unsqueeze(1)).sum(dim=(2, 3)) / area.clamp(min=1).unsqueeze(1)  # [n, 3]
    rgb_dir = mean_rgb / mean_rgb.amax(dim=1, keepdim=True).clamp(min=1e-6)
    palette = PALETTE / PALETTE.amax(dim=1, keepdim=True)  # [6, 3]
    return rgb_dir, torch.cdist(rgb_dir, palette).argmin(dim=1)


def _texture(bright: Tensor, m: Tensor, area: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Relative ``stripes`` and ``checker`` contrasts ``[n]`` inside the mask, and the texture index ``[n]``."""
    n, h, w = bright.shape
    phase = (torch.arange(max(h, w)) // (texture_period(w) // 2)) % 2
    row_phase = phase[:h].view(1, h, 1).expand(n, h, w)
    col_phase = phase[:w].view(1, 1, w).expand(n, h, w)
    mean_b = (bright * m).sum(dim=(1, 2)) / area.clamp(min=1)
    stripes = _contrast(bright, m, row_phase == 0) / mean_b.clamp(min=1e-6)
    checker = _contrast(bright, m, (row_phase + col_phase) % 2 == 0) / mean_b.clamp(min=1e-6)
    texture = torch.where(stripes.abs() >= checker.abs(), 1, 2)
    texture = torch.where(torch.maximum(stripes.abs(), checker.abs()) < TEXTURE_LEVEL, 0, texture)
    return stripes, checker, texture


FEATURES = ("x", "y", "size", "fill", "area", "red", "green", "blue", "stripes", "checker")


def attribute_features(images: Tensor) -> Tensor:
    """A ``[n, 10]`` descriptor of each image from :func:`measure_shapes` (names in ``FEATURES``).

    Continuous measures only (position, size, bounding-box fill, area, colour
    direction, texture contrasts), finite even for invalid images, so that
    k-NN metrics such as improved precision/recall can compare generated and
    real images in a space whose axes mean something. Standardise the columns
    (e.g. by the real images' mean and std) before measuring distances.
    """
    m = measure_shapes(images)
    cols = [m["x"], m["y"], m["size"], m["fill"], m["area"], *m["rgb"].unbind(dim=1), m["stripes"], m["checker"]]
    return torch.nan_to_num(torch.stack(cols, dim=1).double())


def _extent(any_along: Tensor) -> Tensor:
    """Number of positions from the first to the last True of each row of ``any_along`` ``[n, L]``."""
    n, length = any_along.shape
    idx = torch.arange(length).expand(n, length)
    first = torch.where(any_along, idx, length).amin(dim=1)
    last = torch.where(any_along, idx, -1).amax(dim=1)
    return (last - first + 1).clamp(min=0)


def _contrast(bright: Tensor, m: Tensor, bright_phase: Tensor) -> Tensor:
    """Mean brightness inside the mask where ``bright_phase`` minus where not."""
    a, b = m * bright_phase, m * ~bright_phase
    mean_a = (bright * a).sum(dim=(1, 2)) / a.sum(dim=(1, 2)).clamp(min=1)
    mean_b = (bright * b).sum(dim=(1, 2)) / b.sum(dim=(1, 2)).clamp(min=1)
    return mean_a - mean_b


def agree(m1: dict[str, Tensor], m2: dict[str, Tensor], names: tuple[str, ...]) -> Tensor:
    """Per image: do ``m1`` and ``m2`` agree on every attribute in ``names``?

    Positions agree within ``POS_TOL``, sizes within ``SIZE_TOL``.
    """
    ok = torch.ones_like(m1["valid"])
    for name in names:
        if name in ("x", "y"):
            ok = ok & ((m1[name] - m2[name]).abs() < POS_TOL)
        elif name == "size":
            ok = ok & ((m1[name] - m2[name]).abs() < SIZE_TOL)
        else:
            ok = ok & (m1[name] == m2[name])
    return ok


def attribute_accuracy(images: Tensor, attrs: dict[str, Tensor], max_area: float = MAX_AREA) -> dict[str, float]:
    """How well :func:`measure_shapes` recovers known attributes (e.g. of ``make_shapes`` images).

    Discrete attributes: fraction exactly right; ``x``, ``y``, ``size``:
    fraction within tolerance; also ``coarse``/``fine`` (all of them right),
    ``valid``, and the mean absolute errors ``x_mae``, ``y_mae``, ``size_mae``.
    """
    m = measure_shapes(images, max_area)
    truth = {k: attrs[k] for k in ("shape", "x", "y", "size", "colour", "texture")}
    out = {name: agree(m, truth, (name,)).float().mean().item() for name in COARSE + FINE}
    out["coarse"] = agree(m, truth, COARSE).float().mean().item()
    out["fine"] = agree(m, truth, FINE).float().mean().item()
    out["valid"] = m["valid"].float().mean().item()
    for name in ("x", "y", "size"):
        out[f"{name}_mae"] = (m[name] - truth[name]).abs().mean().item()
    return out


# ------------------------------------------------------------ measuring a generator


@torch.no_grad()
def render_pairs(G, z_a: Tensor, z_b: Tensor, crossover: int | None, psi: float = 1.0,
                 noise_mode: str = "const", batch: int = 250) -> Tensor:
    """Images of the mixes of ``z_a`` (layers < ``crossover``) and ``z_b``; ``None`` renders A alone.

    Truncation (``psi``) is applied in W before mixing; ``noise_mode="const"``
    gives every image the same noise, so that only the styles differ.
    """
    device = module_device(G)
    parts = []
    for i in range(0, len(z_a), batch):
        w_a, w_b = G.mapping(z_a[i:i + batch].to(device)), G.mapping(z_b[i:i + batch].to(device))
        ws = G.broadcast(w_a) if crossover is None else G.mix(w_a, w_b, crossover)  # [b, num_ws, w_dim]
        parts.append(G.synthesis(G.truncate(ws, psi), noise_mode).cpu())
    return torch.cat(parts)


def iou(p: Tensor, q: Tensor) -> Tensor:
    """Intersection over union of two stacks of masks ``[n, H, W]`` → ``[n]`` (1 for two empty masks)."""
    inter, union = (p & q).flatten(1).sum(1).float(), (p | q).flatten(1).sum(1).float()
    return torch.where(union > 0, inter / union.clamp(min=1), torch.ones_like(union))


def _mixing_row(m_a: dict, m_b: dict, m_mix: dict) -> dict:
    """One row of :func:`mixing_table` from the measures of A, B and their mixes."""
    ok = m_a["valid"] & m_b["valid"] & m_mix["valid"]
    k = ok.sum().clamp(min=1)
    row = {name: ((agree(m_mix, parent, names) & ok).sum() / k).item()
           for name, parent, names in (("coarse_from_a", m_a, COARSE), ("fine_from_b", m_b, FINE),
                                       ("coarse_from_b", m_b, COARSE), ("fine_from_a", m_a, FINE))}
    row["valid"] = ok.float().mean().item()
    # the silhouette as a whole: is the mix's mask closer (IoU) to A's than to B's, among pairs whose masks differ
    iou_a, iou_b = iou(m_mix["mask"], m_a["mask"]), iou(m_mix["mask"], m_b["mask"])
    iou_ab = iou(m_a["mask"], m_b["mask"])
    differ = ok & (iou_ab < SILHOUETTE_DIFFER)
    row["silhouette_from_a"] = ((iou_a > iou_b) & differ).sum().item() / max(1, int(differ.sum()))
    row["silhouette_pairs"] = int(differ.sum())
    row["per_attribute"], row["from_b"], row["differing_pairs"] = {}, {}, {}
    for name in COARSE + FINE:
        differ = ok & ~agree(m_a, m_b, (name,))  # pairs whose parents differ in this attribute
        n_differ = differ.sum().clamp(min=1)
        row["per_attribute"][name] = ((agree(m_mix, m_a, (name,)) & differ).sum() / n_differ).item()
        # not 1 - from A: a mix can show neither parent's value (a third texture, a position in between)
        row["from_b"][name] = ((agree(m_mix, m_b, (name,)) & differ).sum() / n_differ).item()
        row["differing_pairs"][name] = int(differ.sum())
    return row


@torch.no_grad()
def mixing_table(
    G, n: int = 500, crossovers=None, seed: int = 0, psi: float = 1.0, noise_mode: str = "const", batch: int = 250,
    max_area: float = MAX_AREA,
) -> list[dict]:
    """For each crossover, how often the mix of A (layers < c) and B keeps A's coarse and B's fine attributes.

    Draws ``n`` pairs (z_A, z_B) with ``seed``, renders A, B and every mix with
    the same (``const``) noise, measures all of them, and counts over the pairs
    where A, B and the mix are valid. Each row: ``crossover``,
    ``coarse_from_a``, ``fine_from_b``, ``coarse_from_b``, ``fine_from_a``
    (the last two are what the mix shares with the *other* parent: chance
    agreement), ``valid`` (fraction of pairs counted), ``per_attribute``: for
    each attribute, the fraction of mixes that take it from A among the pairs
    where A and B differ in it, ``from_b``: the fraction that take it from B
    among the same pairs (not 1 − ``per_attribute``: a mix can show a third
    value), and ``differing_pairs``: how many pairs that is;
    ``silhouette_from_a``: the fraction of mixes whose mask overlaps A's more than B's (IoU), among the
    ``silhouette_pairs`` pairs whose masks differ (IoU < ``SILHOUETTE_DIFFER``).
    """
    crossovers = list(range(G.num_ws + 1)) if crossovers is None else list(crossovers)
    gen = torch.Generator().manual_seed(seed)
    z_a, z_b = torch.randn(n, G.z_dim, generator=gen), torch.randn(n, G.z_dim, generator=gen)
    m_a = measure_shapes(render_pairs(G, z_a, z_b, None, psi, noise_mode, batch), max_area)
    m_b = measure_shapes(render_pairs(G, z_b, z_a, None, psi, noise_mode, batch), max_area)
    rows = []
    for c in crossovers:
        m_mix = measure_shapes(render_pairs(G, z_a, z_b, c, psi, noise_mode, batch), max_area)
        rows.append({"crossover": c} | _mixing_row(m_a, m_b, m_mix))
    return rows


@torch.no_grad()
def sample_report(
    G, n: int = 500, psi: float = 1.0, noise_mode: str = "random", batch: int = 250, max_area: float = MAX_AREA
) -> dict:
    """Validity and attribute spread of ``n`` samples of ``G``: the ``valid`` fraction, the valid ones' histograms."""
    device = module_device(G)
    images = torch.cat([G(torch.randn(min(batch, n - i), G.z_dim, device=device), psi, noise_mode).cpu()
                        for i in range(0, n, batch)])
    return attribute_report(images, max_area)


def attribute_report(images: torch.Tensor, max_area: float = MAX_AREA) -> dict:
    """Validity and attribute spread of ``images [N, 3, R, R]``: the ``valid`` fraction, the valid ones' histograms."""
    m = measure_shapes(images, max_area)
    v = m["valid"]
    out = {"n": len(images), "valid": v.float().mean().item()}
    for name, labels in (("shape", SHAPES), ("colour", COLOURS), ("texture", TEXTURES)):
        counts = torch.bincount(m[name][v], minlength=len(labels)).float()
        out[name] = {lab: round((c / counts.sum().clamp(min=1)).item(), 3) for lab, c in zip(labels, counts)}
    return out
