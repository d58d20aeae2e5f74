"""Pictures of the course, as pure functions on ``matplotlib.figure.Figure`` / ``Axes``.

Nothing here trains, samples or keeps state: a function takes arrays (or a
training history) and draws them. Figures are built with ``Figure()`` rather
than ``pyplot`` so that widgets can redraw hundreds of times without leaking
figures; a notebook shows one by leaving it as a cell's last expression.

Images are float tensors / arrays in [-1, 1], ``[B, C, H, W]`` (C = 1 or 3);
2-D samples are ``[N, 2]``.
"""
from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any, Callable

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from coursekit.checkpoint import KEYS
from coursekit.runtime import eval_mode, module_device
from coursekit.stats import as_float64

# The record keys of the trainer's callbacks (coursekit.train) that are drawn as curves.
CURVE_KEYS = KEYS  # the trainer's record keys (coursekit.checkpoint.KEYS): one tuple for both

REAL_COLOR = "tab:blue"
FAKE_COLOR = "tab:orange"


# --------------------------------------------------------------------------- figures


class NotebookFigure(Figure):
    """A ``Figure`` that a notebook shows as PNG when it is a cell's last expression.

    Figures made without pyplot are unknown to the inline backend until pyplot
    has been imported; ``_repr_png_`` makes them display either way.
    """

    def _repr_png_(self) -> bytes:
        return figure_to_png(self)


def new_figure(width: float = 8.0, height: float = 3.5, dpi: int = 80) -> Figure:
    """A fresh figure with a constrained layout, not registered with pyplot (nothing to close)."""
    return NotebookFigure(figsize=(width, height), dpi=dpi, layout="constrained")


def figure_to_png(fig: Figure, dpi: int | None = None) -> bytes:
    """The PNG bytes of ``fig`` (what an ``ipywidgets.Image`` shows)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi if dpi is not None else fig.dpi)
    return buffer.getvalue()


# --------------------------------------------------------------------------- images


def image_grid(images: torch.Tensor | np.ndarray, nrow: int | None = None, padding: int = 2) -> np.ndarray:
    """Tile ``[B, C, H, W]`` images in [-1, 1] into one ``[rows·(H+p)+p, cols·(W+p)+p, 3]`` array in [0, 1].

    ``nrow`` is the number of images per row (default: a near-square grid).
    Values outside [-1, 1] are clipped; the padding is white.
    """
    x = as_float64(images)
    if x.ndim == 3:  # [B, H, W]: single channel
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] not in (1, 3) or x.shape[0] == 0:
        raise ValueError(f"images must be a non-empty [B, C, H, W] batch with C = 1 or 3, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("images contain NaN or inf; check the generator's output before plotting")
    b, c, h, w = x.shape
    cols = nrow if nrow is not None else math.ceil(math.sqrt(b))
    if cols < 1:
        raise ValueError(f"nrow must be >= 1, got {nrow}")
    rows = math.ceil(b / cols)
    x = (np.clip(x, -1.0, 1.0) + 1.0) / 2.0
    if c == 1:
        x = np.repeat(x, 3, axis=1)
    out = np.ones((rows * (h + padding) + padding, cols * (w + padding) + padding, 3))
    for i in range(b):
        r, k = divmod(i, cols)
        top, left = padding + r * (h + padding), padding + k * (w + padding)
        out[top : top + h, left : left + w] = x[i].transpose(1, 2, 0)
    return out


def draw_image_grid(
    ax: Axes, images: torch.Tensor | np.ndarray, nrow: int | None = None, title: str | None = None
) -> None:
    """Show a grid of ``[B, C, H, W]`` images in [-1, 1] on ``ax`` (no ticks)."""
    ax.imshow(image_grid(images, nrow=nrow), interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)


def samples_figure(
    images: torch.Tensor | np.ndarray, nrow: int | None = None, title: str | None = None, size: float = 4.0
) -> Figure:
    """A figure holding one grid of images."""
    fig = new_figure(size, size)
    draw_image_grid(fig.add_subplot(), images, nrow=nrow, title=title)
    return fig


# --------------------------------------------------------------------------- 2-D samples


def draw_scatter(
    ax: Axes,
    samples: torch.Tensor | np.ndarray,
    centers: torch.Tensor | np.ndarray | None = None,
    real: torch.Tensor | np.ndarray | None = None,
    lim: float | None = None,
    title: str | None = None,
) -> None:
    """Scatter ``[N, 2]`` generated samples, optional real samples and mode centres (crosses)."""
    s = as_float64(samples)
    if s.ndim != 2 or s.shape[1] != 2:
        raise ValueError(f"samples must be [N, 2] points, got shape {s.shape}")
    if real is not None:
        r = as_float64(real)
        ax.scatter(r[:, 0], r[:, 1], s=3, c=REAL_COLOR, alpha=0.3, label="real", linewidths=0)
    ax.scatter(s[:, 0], s[:, 1], s=4, c=FAKE_COLOR, alpha=0.6, label="generated", linewidths=0)
    if centers is not None:
        c = as_float64(centers)
        ax.scatter(c[:, 0], c[:, 1], marker="x", s=40, c="black", label="modes")
    if lim is not None:
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)


def decision_surface(
    discriminator: Callable[[torch.Tensor], torch.Tensor],
    extent: tuple[float, float, float, float],
    resolution: int = 100,
    link: Callable[[torch.Tensor], torch.Tensor] | None = torch.sigmoid,
) -> np.ndarray:
    """Evaluate a 2-D discriminator on a ``resolution × resolution`` grid over ``extent = (x0, x1, y0, y1)``.

    Returns ``[resolution, resolution]`` (row = y, column = x, y increasing),
    passed through ``link`` (sigmoid: D(x) as a probability; ``None`` for a
    WGAN critic's raw score). The discriminator runs in eval mode under
    ``torch.no_grad`` on the device of its first parameter.
    """
    x0, x1, y0, y1 = extent
    if not (x1 > x0 and y1 > y0) or resolution < 2:
        raise ValueError(f"need x1 > x0, y1 > y0 and resolution >= 2, got extent={extent}, resolution={resolution}")
    is_module = isinstance(discriminator, torch.nn.Module)
    device = module_device(discriminator) if is_module else torch.device("cpu")
    xs = torch.linspace(x0, x1, resolution)
    ys = torch.linspace(y0, y1, resolution)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    points = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1).to(device)  # [R*R, 2]
    with eval_mode(discriminator) if is_module else contextlib.nullcontext(), torch.no_grad():
        out = discriminator(points).reshape(-1).float()
        if link is not None:
            out = link(out)
    return out.cpu().double().numpy().reshape(resolution, resolution)


def draw_decision_surface(
    ax: Axes, surface: np.ndarray, extent: tuple[float, float, float, float], probability: bool = True
) -> Any:
    """Draw a decision surface from :func:`decision_surface` as a filled image; returns the image artist."""
    z = as_float64(surface)
    if z.ndim != 2:
        raise ValueError(f"surface must be a 2-D grid, got shape {z.shape}")
    kwargs = {"vmin": 0.0, "vmax": 1.0} if probability else {}
    return ax.imshow(z, origin="lower", extent=extent, cmap="RdBu_r", alpha=0.55, aspect="auto", **kwargs)


def mixture_figure(
    samples: torch.Tensor | np.ndarray,
    centers: torch.Tensor | np.ndarray | None = None,
    real: torch.Tensor | np.ndarray | None = None,
    surface: np.ndarray | None = None,
    extent: tuple[float, float, float, float] | None = None,
    title: str | None = None,
    size: float = 4.5,
) -> Figure:
    """One panel: 2-D samples over an optional decision surface (red = D says real)."""
    fig = new_figure(size + (0.8 if surface is not None else 0.0), size)
    ax = fig.add_subplot()
    if surface is not None:
        if extent is None:
            raise ValueError("a surface needs its extent=(x0, x1, y0, y1), the one it was computed on")
        image = draw_decision_surface(ax, surface, extent)
        fig.colorbar(image, ax=ax, label="D(x)")
    draw_scatter(ax, samples, centers=centers, real=real, title=title)
    if extent is not None:
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
    return fig


# --------------------------------------------------------------------------- training curves


def history_columns(history: Any) -> dict[str, np.ndarray]:
    """The curve fields of a training history as float arrays.

    Accepts the trainer's ``History`` (attributes that are lists), a mapping of
    lists, or a list of callback records (dicts). Missing keys are left out;
    a record without a key gets NaN in that column.
    """
    if isinstance(history, Sequence) and not isinstance(history, (str, bytes)):
        records = list(history)
        if records and not all(isinstance(r, Mapping) for r in records):
            raise ValueError("a list history must hold the trainer's record dicts")
        keys = [k for k in CURVE_KEYS if any(k in r for r in records)]
        return {k: np.array([float(r.get(k, np.nan)) for r in records], dtype=np.float64) for k in keys}
    if isinstance(history, Mapping):
        get = history.get
    else:
        def get(key: str, default: Any = None) -> Any:
            return getattr(history, key, default)
    columns = {}
    for key in CURVE_KEYS:
        values = get(key, None)
        if values is not None and len(values) > 0:
            columns[key] = np.array([float(v) for v in values], dtype=np.float64)
    if not columns:
        raise ValueError(
            "no curves found: pass the History returned by GANTrainer.train(), a dict of lists, "
            f"or a list of record dicts with keys among {CURVE_KEYS}"
        )
    return columns


def _x_axis(columns: Mapping[str, np.ndarray]) -> tuple[np.ndarray, str]:
    n = max(len(v) for v in columns.values())
    if "step" in columns:
        return columns["step"], "step"
    return np.arange(n, dtype=np.float64), "record"


def draw_losses(ax: Axes, columns: Mapping[str, np.ndarray]) -> None:
    """Discriminator and generator losses against the step."""
    x, label = _x_axis(columns)
    for key, name, color in (("d_loss", "D loss", REAL_COLOR), ("g_loss", "G loss", FAKE_COLOR)):
        if key in columns:
            ax.plot(x, columns[key], label=name, color=color, lw=1.2)
    ax.set_xlabel(label)
    ax.set_title("losses")
    ax.legend(loc="best", fontsize="small")


def draw_d_outputs(ax: Axes, columns: Mapping[str, np.ndarray], probability: bool = True) -> None:
    """Mean D(x) on real data and D(G(z)) on generated samples against the step.

    With ``probability`` (BCE-type losses) the axis is [0, 1] with the
    equilibrium ½ dashed (Goodfellow et al. 2014, Sec. 4.1: D* = ½ at p_g = p_data).
    """
    x, label = _x_axis(columns)
    if "d_real" in columns:
        ax.plot(x, columns["d_real"], label="D(x)", color=REAL_COLOR, lw=1.2)
    if "d_fake" in columns:
        ax.plot(x, columns["d_fake"], label="D(G(z))", color=FAKE_COLOR, lw=1.2)
    if probability:
        ax.axhline(0.5, color="gray", ls="--", lw=0.8)
        ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(label)
    ax.set_title("discriminator outputs" if probability else "critic scores")
    ax.legend(loc="best", fontsize="small")


def _is_probability(columns: Mapping[str, np.ndarray]) -> bool:
    values = [columns[k] for k in ("d_real", "d_fake") if k in columns]
    values = [v[np.isfinite(v)] for v in values]
    return all(((v >= 0) & (v <= 1)).all() for v in values)


def draw_samples(
    ax: Axes,
    samples: torch.Tensor | np.ndarray,
    centers: torch.Tensor | np.ndarray | None = None,
    nrow: int | None = None,
    title: str | None = None,
) -> None:
    """Images ``[B, C, H, W]`` as a grid, or 2-D points ``[N, 2]`` as a scatter."""
    shape = tuple(samples.shape)
    if len(shape) == 2 and shape[1] == 2:
        draw_scatter(ax, samples, centers=centers, title=title)
    else:
        draw_image_grid(ax, samples[:64], nrow=nrow, title=title)


def training_figure(
    history: Any,
    samples: torch.Tensor | np.ndarray | None = None,
    centers: torch.Tensor | np.ndarray | None = None,
    samples_title: str | None = None,
) -> Figure:
    """Losses, D(x) / D(G(z)) and (optionally) the latest samples, side by side.

    ``history``: anything :func:`history_columns` accepts. When ``samples`` is
    None and the history has ``.snapshots`` (a list of ``(step, samples)``),
    the last snapshot is shown.
    """
    columns = history_columns(history)
    if samples is None and getattr(history, "snapshots", None):
        step, samples = history.snapshots[-1]
        samples_title = samples_title or f"samples at step {step}"
    panels = 3 if samples is not None else 2
    fig = new_figure(3.6 * panels, 3.2)
    axes = fig.subplots(1, panels)
    draw_losses(axes[0], columns)
    draw_d_outputs(axes[1], columns, probability=_is_probability(columns))
    if samples is not None:
        draw_samples(axes[2], samples, centers=centers, title=samples_title or "samples")
    return fig


# --------------------------------------------------------------------------- 1-D densities (lessons 1 and 6)


def draw_densities(ax: Axes, x: np.ndarray, p_data: np.ndarray, p_g: np.ndarray) -> None:
    """Two 1-D densities on a grid, filled."""
    ax.fill_between(x, p_data, color=REAL_COLOR, alpha=0.35, label="p_data")
    ax.fill_between(x, p_g, color=FAKE_COLOR, alpha=0.35, label="p_g")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.legend(loc="upper left", fontsize="small")


def jsd_w1_figure(
    x: np.ndarray,
    p_data: np.ndarray,
    p_g: np.ndarray,
    shifts: np.ndarray,
    jsds: np.ndarray,
    w1s: np.ndarray,
    shift: float,
) -> Figure:
    """Left: the two densities at the current shift. Right: JSD and W1 against the shift.

    The JSD axis marks log 2, the value at which JSD saturates once the
    supports stop overlapping (Arjovsky et al. 2017, Example 1); W1 is drawn
    on its own axis and keeps growing.
    """
    fig = new_figure(10.0, 3.4)
    left, right = fig.subplots(1, 2)
    draw_densities(left, x, p_data, p_g)
    left.set_title(f"p_g shifted by {shift:.2f}")
    j_now = max(float(np.interp(shift, shifts, jsds)), 0.0)  # quadrature can give -1e-16 at shift 0
    w_now = float(np.interp(shift, shifts, w1s))
    right.plot(shifts, jsds, color="tab:purple", lw=1.5, label="JSD (nats)")
    right.axhline(math.log(2), color="tab:purple", ls="--", lw=0.8)
    right.text(shifts[0], math.log(2), " log 2", va="bottom", color="tab:purple", fontsize="small")
    right.plot([shift], [j_now], "o", color="tab:purple")
    right.set_xlabel("shift of p_g")
    right.set_ylabel("JSD", color="tab:purple")
    right.set_ylim(0, 1.0)
    twin = right.twinx()
    twin.plot(shifts, w1s, color="tab:green", lw=1.5, label="W1")
    twin.plot([shift], [w_now], "o", color="tab:green")
    twin.set_ylabel("W1", color="tab:green")
    twin.set_ylim(0, 1.05 * max(float(np.max(w1s)), 1e-9))
    right.set_title(f"JSD = {j_now:.3f}, W1 = {w_now:.3f}")
    return fig


def smoothing_figure(
    x: np.ndarray,
    p_data: np.ndarray,
    p_g: np.ndarray,
    d_smoothed: np.ndarray,
    d_plain: np.ndarray,
    alpha: float,
    beta: float,
) -> Figure:
    """D*(x) under label smoothing (real label α, fake label β) against the unsmoothed D*, over the densities."""
    fig = new_figure(8.0, 3.4)
    ax = fig.add_subplot()
    peak = max(float(np.max(p_data)), float(np.max(p_g)))
    ax.fill_between(x, p_data / peak, color=REAL_COLOR, alpha=0.2, label="p_data (scaled)")
    ax.fill_between(x, p_g / peak, color=FAKE_COLOR, alpha=0.2, label="p_g (scaled)")
    ax.plot(x, d_plain, color="gray", ls="--", lw=1.2, label="D* (α=1, β=0)")
    ax.plot(x, d_smoothed, color="black", lw=1.8, label=f"D* (α={alpha:.2f}, β={beta:.2f})")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("x")
    ax.set_ylabel("D*(x)")
    ax.set_title("optimal discriminator under label smoothing")
    ax.legend(loc="center right", fontsize="small")
    return fig


# --------------------------------------------------------------------------- image rows (latent explorer, style mixer)


def image_rows_figure(rows: Sequence[tuple[str, torch.Tensor | np.ndarray]], width: float = 9.0) -> Figure:
    """One titled row of images per ``(title, [B, C, H, W])`` pair, top to bottom."""
    if not rows:
        raise ValueError("rows must hold at least one (title, images) pair")
    fig = new_figure(width, 1.6 * len(rows) + 0.3)
    axes = np.atleast_1d(fig.subplots(len(rows), 1))
    for ax, (title, images) in zip(axes, rows):
        draw_image_grid(ax, images, nrow=len(images), title=title)
    return fig


# --------------------------------------------------------------------------- mode collapse (lesson 3)


def draw_mode_counts(ax: Axes, counts: Sequence[int] | np.ndarray, min_count: float, title: str | None = None) -> None:
    """Bars of high-quality samples per mode, with the line a mode must reach to count as captured."""
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 1:
        raise ValueError(f"counts must be one number per mode, got shape {c.shape}")
    colors = ["tab:green" if v >= min_count else ("tab:orange" if v > 0 else "lightgrey") for v in c]
    ax.bar(np.arange(len(c)), c, color=colors)
    ax.axhline(min_count, color="k", ls="--", lw=1, label=f"captured from {min_count:g} samples")
    ax.set(xlabel="mode", ylabel="high-quality samples")
    ax.legend(loc="upper right", fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)


def draw_mode_history(ax: Axes, shares: np.ndarray, steps: Sequence[int], captured: np.ndarray | None = None) -> Any:
    """Heat map of each mode's share of the samples (``shares [S, modes]``) over snapshots; returns the image.

    With ``captured`` (bool ``[S, modes]``), captured cells are marked with a dot.
    """
    h = as_float64(shares)
    if h.ndim != 2 or len(h) != len(steps):
        raise ValueError(f"shares must be [snapshots, modes] with one row per step, "
                         f"got {h.shape} and {len(steps)} steps")
    image = ax.imshow(h.T, aspect="auto", origin="lower", cmap="magma", vmin=0.0,
                      extent=(-0.5, len(h) - 0.5, -0.5, h.shape[1] - 0.5), interpolation="nearest")
    if captured is not None:
        s, m = np.nonzero(np.asarray(captured, dtype=bool))
        ax.scatter(s, m, s=6, c="tab:cyan", marker="o", linewidths=0, label="captured")
    every = max(1, len(steps) // 10)
    ax.set_xticks(range(0, len(steps), every), [str(int(v)) for v in list(steps)[::every]], fontsize=7)
    ax.set_yticks(range(h.shape[1]))
    ax.set(xlabel="step", ylabel="mode")
    return image


def draw_latent_map(ax: Axes, labels: np.ndarray, lim: float, modes: int) -> Any:
    """A generator's latent plane coloured by the mode G(z) lands on; grey where it lands between modes (-1)."""
    from matplotlib.colors import ListedColormap

    lab = np.asarray(labels)
    if lab.ndim != 2:
        raise ValueError(f"labels must be a 2-D grid, got shape {lab.shape}")
    palette = [(0.82, 0.82, 0.82)] + [tuple(c) for c in _mode_colors(modes)]
    cmap = ListedColormap(palette)
    image = ax.imshow(lab + 1, origin="lower", extent=(-lim, lim, -lim, lim), cmap=cmap, vmin=-0.5,
                      vmax=modes + 0.5, interpolation="nearest")
    ax.set(xlabel="$z_1$", ylabel="$z_2$")
    ax.set_aspect("equal")
    return image


def _mode_colors(modes: int) -> np.ndarray:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if modes <= 10 else "tab20"]
    return np.array([cmap(i % cmap.N)[:3] for i in range(modes)])


def mode_colors(modes: int) -> np.ndarray:
    """The RGB colour ``[modes, 3]`` that :func:`draw_latent_map` gives each mode (to colour samples alike)."""
    return _mode_colors(modes)


def draw_tradeoff(ax: Axes, points: Mapping[str, tuple[Sequence[float], Sequence[float]]], total_modes: int,
                  min_high_quality: float | None = None, colors: Mapping[str, str] | None = None) -> None:
    """Modes captured against % high quality, one marker per seed and a larger one per method's mean.

    ``points``: ``{method: (modes per seed, % high quality per seed)}``; ``min_high_quality`` draws the
    quality floor of the rule that picks the best remedy; ``colors`` fixes each method's colour, so that
    panels with different methods agree (default: C0, C1, … in the order of ``points``).
    """
    for i, (name, (modes, hq)) in enumerate(points.items()):
        m, h = np.asarray(modes, dtype=np.float64), np.asarray(hq, dtype=np.float64)
        color = (colors or {}).get(name, f"C{i}")
        ax.scatter(h, m, s=18, color=color, alpha=0.5, linewidths=0)
        ax.scatter([h.mean()], [m.mean()], s=90, color=color, edgecolors="k", label=name)
    if min_high_quality is not None:
        ax.axvline(min_high_quality, color="k", ls="--", lw=1)
    ax.axhline(total_modes, color="k", ls=":", lw=1)
    ax.set(xlabel="% high-quality samples", ylabel=f"modes captured (of {total_modes})", xlim=(0, 100),
           ylim=(0, total_modes + 0.8))
