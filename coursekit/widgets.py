"""Interactive widgets of the lessons (ipywidgets 8), thin wrappers over :mod:`coursekit.plots`.

Each widget is a small object holding its controls (``.slider``, ``.alpha``, …),
an ``Image`` that shows the current picture as PNG and an ``HTML`` readout of
the numbers; leave it as a cell's last expression (or ``display(it)``) to show
it. Where no widget front end is attached (nbconvert, a static viewer) the
notebook still shows the picture at display time, as a PNG fallback.

    lesson 1   jsd_w1_explorer()          JSD saturates at log 2, W1 keeps growing
    lessons 2–5 training_dashboard()      live losses, D(x), D(G(z)) and samples; a trainer callback
    lessons 2, 4 latent_explorer(G)       interpolation between two seeds, one-dimension sweep
    lessons 3, 5 mixture_playground(snaps) scrub through saved snapshots of a 2-D GAN
    lesson 6   smoothing_explorer()       D* under smoothed labels α (real) and β (fake)
    lesson 7   style_mixer(G)             seed A, seed B, crossover layer, truncation ψ

Every computation a widget shows is a plain function in :mod:`coursekit.theory`
or :mod:`coursekit.latent` (or here), testable without a browser.
"""
from __future__ import annotations

import base64
import html
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure

# the widgets' computations; lessons 2 and 6 import the latent and theory names from here
from coursekit import plots, theory
from coursekit.latent import MAX_SEED, interpolate, latent_from_seed, sweep
from coursekit.runtime import eval_mode, module_device
from coursekit.stats import as_float64
from coursekit.theory import jsd_w1_curves, smoothed_optimal_discriminator

__all__ = [
    "jsd_w1_curves",
    "smoothed_optimal_discriminator",
    "latent_from_seed",
    "interpolate",
    "sweep",
    "jsd_w1_explorer",
    "training_dashboard",
    "latent_explorer",
    "mixture_playground",
    "smoothing_explorer",
    "style_mixer",
    "JSDW1Explorer",
    "TrainingDashboard",
    "LatentExplorer",
    "MixturePlayground",
    "SmoothingExplorer",
    "StyleMixer",
]

# --------------------------------------------------------------------------- widget plumbing


def _in_kernel() -> bool:
    """True inside an IPython kernel (where widget updates can reach a front end)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _image(width: str | None = None) -> widgets.Image:
    layout = widgets.Layout(max_width="100%", width=width) if width else widgets.Layout(max_width="100%")
    return widgets.Image(format="png", layout=layout)


class _Panel:
    """Controls + an ``Image`` + an ``HTML`` readout in a ``VBox``; redraws on every control change."""

    image: widgets.Image
    readout: widgets.HTML
    box: widgets.Box

    def _watch(self, *controls: widgets.Widget) -> None:
        for control in controls:
            control.observe(self._on_change, names="value")

    def _on_change(self, change: Mapping[str, Any] | None = None) -> None:
        self.refresh()

    def figure(self) -> Figure:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def text(self) -> str:
        """The readout as plain text (what the HTML line says)."""
        return ""

    def refresh(self) -> None:
        """Redraw the picture and the readout from the current control values."""
        self.image.value = plots.figure_to_png(self.figure())
        self.readout.value = html.escape(self.text())

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = dict(self.box._repr_mimebundle_(**kwargs) or {})
        png = bytes(self.image.value)
        if png:  # static fallback: what the widget showed when it was displayed
            bundle["image/png"] = base64.b64encode(png).decode("ascii")
        return bundle


# --------------------------------------------------------------------------- lesson 1: JSD vs W1


class JSDW1Explorer(_Panel):
    """A slider moves p_g = N(shift, σ²) away from p_data = N(0, σ²); JSD and W1 are drawn against the shift."""

    def __init__(self, sigma: float = 0.5, max_shift: float = 6.0, step: float = 0.25, points: int = 2001):
        if not (sigma > 0 and max_shift > 0 and 0 < step <= max_shift):
            raise ValueError(
                f"need sigma > 0 and 0 < step <= max_shift, got sigma={sigma}, max_shift={max_shift}, step={step}"
            )
        self.sigma = sigma
        self.x, self.dx = theory.grid(-6 * sigma - 1.0, max_shift + 6 * sigma + 1.0, points)
        self.p_data = theory.normalize(theory.gaussian_pdf(self.x, 0.0, sigma), self.dx)
        self.shifts = np.arange(0.0, max_shift + step / 2, step)
        self.jsds, self.w1s = jsd_w1_curves(self.x, self.dx, sigma, self.shifts)
        self.slider = widgets.FloatSlider(
            value=0.0, min=0.0, max=float(self.shifts[-1]), step=step, description="shift of p_g",
            readout_format=".2f", style={"description_width": "initial"}, layout=widgets.Layout(width="420px"),
        )
        self.image, self.readout = _image(), widgets.HTML()
        self.box = widgets.VBox([self.slider, self.readout, self.image])
        self._watch(self.slider)
        self.refresh()

    def p_g(self) -> np.ndarray:
        return theory.normalize(theory.gaussian_pdf(self.x, float(self.slider.value), self.sigma), self.dx)

    def values(self) -> tuple[float, float]:
        """(JSD, W1) at the current shift, computed on the grid (not read off the curves)."""
        p_g = self.p_g()
        return theory.jsd(self.p_data, p_g, self.dx), theory.wasserstein1(self.p_data, p_g, self.dx)

    def text(self) -> str:
        j, w = self.values()
        j = max(j, 0.0)  # the Riemann sum can dip below 0 by ~1e-16 at shift 0
        return f"shift = {self.slider.value:.2f}: JSD = {j:.4f} nats (log 2 = {math.log(2):.4f}), W1 = {w:.4f}"

    def figure(self) -> Figure:
        shift = float(self.slider.value)
        return plots.jsd_w1_figure(self.x, self.p_data, self.p_g(), self.shifts, self.jsds, self.w1s, shift)


def jsd_w1_explorer(sigma: float = 0.5, max_shift: float = 6.0, step: float = 0.25) -> JSDW1Explorer:
    """Lesson 1: drag p_g away from p_data and watch JSD saturate at log 2 while W1 keeps growing."""
    return JSDW1Explorer(sigma=sigma, max_shift=max_shift, step=step)


# --------------------------------------------------------------------------- lessons 2–5: training dashboard


class TrainingDashboard(_Panel):
    """A trainer callback that draws losses, D(x), D(G(z)) and the latest samples as training runs.

    ``dashboard(record)`` stores the record (the trainer's dict: ``step``,
    ``d_loss``, ``g_loss``, ``d_real``, ``d_fake``, …, optionally ``samples``)
    and, when ``live``, redraws at most every ``min_interval`` seconds.
    ``figure()`` returns the final static figure of everything received.
    """

    def __init__(self, centers: Any = None, live: bool | None = None, min_interval: float = 1.0):
        self.centers = centers
        self.live = _in_kernel() if live is None else bool(live)
        self.min_interval = float(min_interval)
        self.records: list[dict[str, float]] = []
        self.samples: torch.Tensor | None = None
        self.samples_step: int | None = None
        self._last_draw = -math.inf
        self.image, self.readout = _image(), widgets.HTML("waiting for the first record …")
        self.box = widgets.VBox([self.readout, self.image])

    def __call__(self, record: Mapping[str, Any]) -> None:
        if not isinstance(record, Mapping) or "step" not in record:
            raise ValueError(
                f"a training record must be a dict with at least a 'step' key, got {type(record).__name__}"
            )
        row = {}
        for key in plots.CURVE_KEYS:
            if key in record:
                value = record[key]
                row[key] = float(value.item() if isinstance(value, torch.Tensor) else value)
        self.records.append(row)
        if record.get("samples") is not None:
            samples = record["samples"]
            self.samples = samples.detach().cpu() if isinstance(samples, torch.Tensor) else torch.as_tensor(samples)
            self.samples_step = int(record["step"])
        if self.live and time.monotonic() - self._last_draw >= self.min_interval:
            self.refresh()

    def text(self) -> str:
        if not self.records:
            return "waiting for the first record …"
        last = self.records[-1]
        parts = [f"step {int(last['step'])}"]
        parts += [f"{k} = {last[k]:.4f}" for k in ("d_loss", "g_loss", "d_real", "d_fake") if k in last]
        return " | ".join(parts)

    def figure(self) -> Figure:
        """The static figure of all records so far (and the latest samples)."""
        if not self.records:
            raise ValueError(
                "no records yet: pass the dashboard to the trainer, e.g. GANTrainer(..., callbacks=[dashboard])"
            )
        title = f"samples at step {self.samples_step}" if self.samples is not None else None
        return plots.training_figure(self.records, samples=self.samples, centers=self.centers, samples_title=title)

    def refresh(self) -> None:
        if not self.records:
            return
        super().refresh()
        self._last_draw = time.monotonic()


def training_dashboard(centers: Any = None, live: bool | None = None, min_interval: float = 1.0) -> TrainingDashboard:
    """A live dashboard to pass as a trainer callback: ``GANTrainer(..., callbacks=[dash])``.

    Display it (``display(dash)``) before training; after training,
    ``dash.figure()`` is the static final figure (what a notebook without a
    widget front end shows). ``centers``: mode centres drawn over 2-D samples.
    ``live`` defaults to "inside a kernel"; redraws are at most every
    ``min_interval`` seconds so drawing never dominates a training step.
    """
    return TrainingDashboard(centers=centers, live=live, min_interval=min_interval)


# --------------------------------------------------------------------------- lessons 2, 4: latent explorer


def _generate(generator: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Images ``[B, C, H, W]`` in [-1, 1] from latents ``[B, nz]``, in eval mode, without gradients, on CPU."""
    with eval_mode(generator), torch.no_grad():
        images = generator(z.to(module_device(generator)))
    if images.dim() != 4:
        raise ValueError(f"the generator must return images [B, C, H, W], got shape {tuple(images.shape)}")
    return images.detach().float().cpu()


class LatentExplorer(_Panel):
    """Interpolation between the latents of two seeds, and a sweep of one latent dimension of seed A."""

    def __init__(self, generator: torch.nn.Module, seed_a: int = 0, seed_b: int = 1, steps: int = 8,
                 nz: int | None = None, span: float = 3.0):
        nz = nz if nz is not None else getattr(generator, "nz", None)
        if not isinstance(nz, int) or nz < 1:
            raise ValueError("the generator needs an integer .nz (latent size), or pass nz=")
        self.generator, self.nz, self.steps = generator, nz, steps
        style = {"description_width": "initial"}
        self.seed_a = widgets.BoundedIntText(value=seed_a, min=0, max=MAX_SEED, description="seed A", style=style,
                                             layout=widgets.Layout(width="150px"))
        self.seed_b = widgets.BoundedIntText(value=seed_b, min=0, max=MAX_SEED, description="seed B", style=style,
                                             layout=widgets.Layout(width="150px"))
        self.mode = widgets.ToggleButtons(options=["slerp", "linear"], value="slerp", description="path", style=style)
        self.dim = widgets.IntSlider(value=0, min=0, max=nz - 1, description="dimension", style=style)
        self.span = widgets.FloatSlider(value=span, min=0.5, max=6.0, step=0.5, description="± span", style=style)
        self.image, self.readout = _image(), widgets.HTML()
        self.box = widgets.VBox([
            widgets.HBox([self.seed_a, self.seed_b, self.mode]), widgets.HBox([self.dim, self.span]),
            self.readout, self.image,
        ])
        self._watch(self.seed_a, self.seed_b, self.mode, self.dim, self.span)
        self.refresh()

    def latents(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(interpolation ``[steps, nz]``, sweep ``[steps, nz]``) for the current controls."""
        z_a = latent_from_seed(self.seed_a.value, self.nz)
        z_b = latent_from_seed(self.seed_b.value, self.nz)
        return (interpolate(z_a, z_b, self.steps, self.mode.value),
                sweep(z_a, self.dim.value, float(self.span.value), self.steps))

    def text(self) -> str:
        return (f"seed A = {self.seed_a.value}, seed B = {self.seed_b.value} ({self.mode.value}); "
                f"z_A[{self.dim.value}] from {-self.span.value:.1f} to {self.span.value:.1f}")

    def figure(self) -> Figure:
        path, line = self.latents()
        images = _generate(self.generator, torch.cat([path, line]))  # [2·steps, C, H, W]
        return plots.image_rows_figure([
            (f"{self.mode.value} path: seed {self.seed_a.value} → seed {self.seed_b.value}", images[: self.steps]),
            (f"seed {self.seed_a.value}, dimension {self.dim.value} "
             f"from −{self.span.value:g} to +{self.span.value:g}", images[self.steps:]),
        ])


def latent_explorer(generator: torch.nn.Module, seed_a: int = 0, seed_b: int = 1, steps: int = 8,
                    nz: int | None = None) -> LatentExplorer:
    """Explore a generator's latent space: a path between two seeds and a sweep of one dimension.

    Works with any module with ``.nz`` whose ``forward(z [B, nz])`` returns images ``[B, C, H, W]`` in [-1, 1].
    """
    return LatentExplorer(generator, seed_a=seed_a, seed_b=seed_b, steps=steps, nz=nz)


# --------------------------------------------------------------------------- lessons 3, 5: 2-D playground


class MixturePlayground(_Panel):
    """A scrubber (slider + play button) over saved snapshots ``(step, samples[, surface])`` of a 2-D GAN."""

    def __init__(self, snapshots: Sequence[tuple], centers: Any = None, real: Any = None,
                 extent: tuple[float, float, float, float] | None = None, interval_ms: int = 400):
        snapshots = list(snapshots)
        if not snapshots:
            raise ValueError("snapshots is empty: save (step, samples) pairs during training, e.g. History.snapshots")
        for snap in snapshots:
            if len(snap) not in (2, 3) or tuple(snap[1].shape)[1:] != (2,):
                raise ValueError(
                    "each snapshot must be (step, samples [N, 2]) or (step, samples [N, 2], surface [R, R])"
                )
        self.snapshots, self.centers, self.real = snapshots, centers, real
        has_surface = any(len(s) == 3 and s[2] is not None for s in snapshots)
        if extent is None:
            if has_surface:
                raise ValueError(
                    "snapshots with a decision surface need the extent=(x0, x1, y0, y1) it was computed on"
                )
            extent = self._auto_extent()
        self.extent = extent
        self._png: dict[int, bytes] = {}
        last = len(snapshots) - 1
        self.slider = widgets.IntSlider(value=last, min=0, max=last, description="snapshot",
                                        layout=widgets.Layout(width="420px"))
        self.play = widgets.Play(value=last, min=0, max=last, interval=interval_ms, description="play")
        widgets.jslink((self.play, "value"), (self.slider, "value"))
        self.image, self.readout = _image("480px"), widgets.HTML()
        self.box = widgets.VBox([widgets.HBox([self.play, self.slider]), self.readout, self.image])
        self._watch(self.slider)
        self.refresh()

    def _auto_extent(self) -> tuple[float, float, float, float]:
        """A fixed square view holding every snapshot's samples (and the centres), so frames don't jump."""
        points = [as_float64(s[1]) for s in self.snapshots]
        if self.centers is not None:
            points.append(as_float64(self.centers))
        allp = np.concatenate(points)
        allp = allp[np.isfinite(allp).all(axis=1)]
        lim = float(np.quantile(np.abs(allp), 0.995)) * 1.1 + 0.5 if len(allp) else 1.0
        return (-lim, lim, -lim, lim)

    def current(self) -> tuple:
        return self.snapshots[self.slider.value]

    def text(self) -> str:
        return f"snapshot {self.slider.value + 1} of {len(self.snapshots)}: step {int(self.current()[0])}"

    def figure(self) -> Figure:
        snap = self.current()
        surface = snap[2] if len(snap) == 3 else None
        return plots.mixture_figure(snap[1], centers=self.centers, real=self.real, surface=surface,
                                    extent=self.extent, title=f"step {int(snap[0])}")

    def refresh(self) -> None:
        index = self.slider.value
        if index not in self._png:  # scrubbing back and forth redraws nothing
            self._png[index] = plots.figure_to_png(self.figure())
        self.image.value = self._png[index]
        self.readout.value = html.escape(self.text())


def mixture_playground(snapshots: Sequence[tuple], centers: Any = None, real: Any = None,
                       extent: tuple[float, float, float, float] | None = None) -> MixturePlayground:
    """Scrub through a 2-D GAN's training: ``snapshots`` is a list of ``(step, samples [N, 2])`` or
    ``(step, samples, surface)`` with ``surface`` from :func:`coursekit.plots.decision_surface` over ``extent``.
    """
    return MixturePlayground(snapshots, centers=centers, real=real, extent=extent)


# --------------------------------------------------------------------------- lesson 6: D* under smoothing


class SmoothingExplorer(_Panel):
    """Sliders for the real label α and the fake label β; draws D*(x) against the unsmoothed D*."""

    def __init__(self, mu_data: float = -1.0, sigma_data: float = 0.8, mu_g: float = 1.5, sigma_g: float = 0.8,
                 alpha: float = 0.9, beta: float = 0.0, points: int = 1201):
        self.x, self.dx = theory.grid(-5.0, 6.0, points)
        self.p_data = theory.gaussian_pdf(self.x, mu_data, sigma_data)
        self.p_g = theory.gaussian_pdf(self.x, mu_g, sigma_g)
        self.d_plain = smoothed_optimal_discriminator(self.p_data, self.p_g, 1.0, 0.0)
        style = {"description_width": "initial"}
        self.alpha = widgets.FloatSlider(value=alpha, min=0.5, max=1.0, step=0.05, description="real label α",
                                         style=style)
        self.beta = widgets.FloatSlider(value=beta, min=0.0, max=0.5, step=0.05, description="fake label β",
                                        style=style)
        self.image, self.readout = _image(), widgets.HTML()
        self.box = widgets.VBox([widgets.HBox([self.alpha, self.beta]), self.readout, self.image])
        self._watch(self.alpha, self.beta)
        self.refresh()

    def d_star(self) -> np.ndarray:
        return smoothed_optimal_discriminator(self.p_data, self.p_g, float(self.alpha.value), float(self.beta.value))

    def text(self) -> str:
        d = self.d_star()
        fake_only = self.p_g > 1e3 * self.p_data  # where (almost) only generated samples lie
        real_only = self.p_data > 1e3 * self.p_g

        def mean(mask: np.ndarray) -> str:
            return f"{d[mask].mean():.3f}" if mask.any() else "n/a"

        return (f"α = {self.alpha.value:.2f}, β = {self.beta.value:.2f}: D* where only p_g has mass "
                f"≈ {mean(fake_only)}, where only p_data has mass ≈ {mean(real_only)}, "
                f"max |D* − D*_unsmoothed| = {np.abs(d - self.d_plain).max():.3f}")

    def figure(self) -> Figure:
        return plots.smoothing_figure(self.x, self.p_data, self.p_g, self.d_star(), self.d_plain,
                                      float(self.alpha.value), float(self.beta.value))


def smoothing_explorer(alpha: float = 0.9, beta: float = 0.0) -> SmoothingExplorer:
    """Lesson 6: D*(x) = (α p_data + β p_g) / (p_data + p_g) as the labels α and β move.

    With β > 0, D* stays at β (not 0) where only the generator has mass, so
    fake samples far from the data are no longer pushed back towards it.
    """
    return SmoothingExplorer(alpha=alpha, beta=beta)


# --------------------------------------------------------------------------- lesson 7: style mixer


class StyleMixer(_Panel):
    """Seed A, seed B, crossover layer and truncation ψ for a StyleGenerator.

    Uses only ``G.mapping``, ``G.truncate``, ``G.mix``, ``G.synthesis``, ``G.num_ws`` and ``G.z_dim``.
    """

    def __init__(self, G: torch.nn.Module, seed_a: int = 0, seed_b: int = 1, crossover: int | None = None,
                 psi: float = 0.7, noise_mode: str = "const"):
        for name in ("mapping", "truncate", "mix", "synthesis", "num_ws"):
            if not hasattr(G, name):
                raise ValueError(f"G must be a StyleGenerator-like module with .{name}; got {type(G).__name__}")
        self.G, self.noise_mode = G, noise_mode
        self.z_dim = int(getattr(G, "z_dim"))
        num_ws = int(G.num_ws)
        style = {"description_width": "initial"}
        self.seed_a = widgets.BoundedIntText(value=seed_a, min=0, max=MAX_SEED, description="seed A", style=style,
                                             layout=widgets.Layout(width="150px"))
        self.seed_b = widgets.BoundedIntText(value=seed_b, min=0, max=MAX_SEED, description="seed B", style=style,
                                             layout=widgets.Layout(width="150px"))
        self.crossover = widgets.IntSlider(value=num_ws // 2 if crossover is None else crossover, min=0, max=num_ws,
                                           description="crossover layer", style=style)
        self.psi = widgets.FloatSlider(value=psi, min=0.0, max=1.0, step=0.05, description="truncation ψ", style=style)
        self.image, self.readout = _image("640px"), widgets.HTML()
        self.box = widgets.VBox([
            widgets.HBox([self.seed_a, self.seed_b]), widgets.HBox([self.crossover, self.psi]),
            self.readout, self.image,
        ])
        self._watch(self.seed_a, self.seed_b, self.crossover, self.psi)
        self.refresh()

    def images(self) -> torch.Tensor:
        """``[3, C, H, W]``: A, B and the mix (layers < crossover from A, the rest from B), truncated by ψ in W."""
        G = self.G
        z = torch.stack([latent_from_seed(self.seed_a.value, self.z_dim),
                         latent_from_seed(self.seed_b.value, self.z_dim)]).to(module_device(G))  # [2, z_dim]
        with eval_mode(G), torch.no_grad():
            w = G.truncate(G.mapping(z), float(self.psi.value))  # [2, w_dim], w̄ + ψ(w − w̄)
            w_a, w_b = w[:1], w[1:]
            ws = torch.cat([G.mix(w_a, w_b, G.num_ws), G.mix(w_a, w_b, 0),
                            G.mix(w_a, w_b, int(self.crossover.value))])  # [3, num_ws, w_dim]
            images = G.synthesis(ws, noise_mode=self.noise_mode)  # [3, C, H, W]
        return images.detach().float().cpu()

    def text(self) -> str:
        c, n = int(self.crossover.value), int(self.G.num_ws)
        seeds = f"A = seed {self.seed_a.value}, B = seed {self.seed_b.value}"
        if 0 < c < n:
            return f"{seeds}: layers 0–{c - 1} from A, layers {c}–{n - 1} from B; ψ = {self.psi.value:.2f}"
        return f"{seeds}: crossover {c} of {n}, pure {'B' if c == 0 else 'A'}; ψ = {self.psi.value:.2f}"

    def figure(self) -> Figure:
        images = self.images()
        fig = plots.new_figure(7.5, 2.8)
        titles = (f"A (seed {self.seed_a.value})", f"B (seed {self.seed_b.value})",
                  f"mix at layer {self.crossover.value}")
        for ax, img, title in zip(fig.subplots(1, 3), images, titles):
            plots.draw_image_grid(ax, img[None], title=title)
        return fig


def style_mixer(G: torch.nn.Module, seed_a: int = 0, seed_b: int = 1, crossover: int | None = None,
                psi: float = 0.7) -> StyleMixer:
    """Lesson 7: mix the styles of two seeds at a chosen layer, truncation ψ in W (Karras et al. 2019, Sec. 3.1)."""
    return StyleMixer(G, seed_a=seed_a, seed_b=seed_b, crossover=crossover, psi=psi)
