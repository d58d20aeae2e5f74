"""Mode-collapse experiments on 2-D Gaussian mixtures (lesson 3), on top of :mod:`coursekit.ensemble`.

A :class:`Method` is a named change to a base :class:`~coursekit.ensemble.EnsembleConfig`
(vanilla GAN, PacGAN, minibatch std, WGAN-GP, ...). :func:`run_method` trains K
seeds of it together (vectorised), optionally with a final phase at a lower
learning rate, and measures every seed with the VEEGAN / PacGAN protocol
(:func:`coursekit.metrics.mode_coverage`: 2,500 samples, high quality = within
3 std of the nearest mode; a mode is captured only when it holds at least 20 %
of its fair share of high-quality samples). :func:`coverage_table` turns the
results into a mean ± std table and :func:`best_method` picks the best remedy
by a rule fixed in advance. :func:`mode_moves` / :func:`hopping_seed` find a
generator that moves between modes across snapshots, and
:func:`latent_mode_map` shows where a generator's latent plane lands (the
"bridges" between modes). Snapshots can carry the decision surface of one
seed's discriminator, for :func:`coursekit.widgets.mixture_playground`.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import multiprocessing
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from coursekit.data import grid_centers, ring_centers
from coursekit.ensemble import EnsembleConfig, GANEnsemble, unstack
from coursekit.metrics import mode_coverage, mode_histogram
from coursekit.plots import decision_surface

Tensor = torch.Tensor

__all__ = [
    "MIXTURES",
    "LatentMap",
    "Method",
    "MethodResult",
    "Mixture",
    "best_method",
    "captured_history",
    "coverage",
    "coverage_rows",
    "coverage_table",
    "expected_real_high_quality",
    "hopping_seed",
    "latent_mode_map",
    "latent_path",
    "mode_histories",
    "mode_moves",
    "mode_trace",
    "run_method",
    "run_methods",
    "summarize",
]


@dataclass(frozen=True)
class Mixture:
    """A data set of the ensemble (``EnsembleConfig.data``): its centres and component std."""

    name: str
    centers: Tensor = field(repr=False)
    std: float
    extent: tuple[float, float, float, float]

    @property
    def modes(self) -> int:
        return len(self.centers)


# The defaults of coursekit.data / coursekit.ensemble: ring of 8 at radius 2 with std 0.02
# (VEEGAN), grid {-4, -2, 0, 2, 4}² with std 0.05 (PacGAN).
MIXTURES = {
    "ring": Mixture("ring", ring_centers(8, 2.0), 0.02, (-3.0, 3.0, -3.0, 3.0)),
    "grid": Mixture("grid", grid_centers(5, 2.0), 0.05, (-6.0, 6.0, -6.0, 6.0)),
}


@dataclass(frozen=True)
class Method:
    """A named remedy: ``changes`` are :class:`EnsembleConfig` fields replaced in the base config."""

    name: str
    changes: Mapping[str, Any] = field(default_factory=dict)

    def config(self, base: EnsembleConfig, data: str) -> EnsembleConfig:
        return dataclasses.replace(base, data=data, **dict(self.changes))


@dataclass
class MethodResult:
    """One method on one data set, K seeds: per-seed metrics, snapshots and timings.

    ``snapshots``: ``(step, samples [K, N, 2], surface [R, R] of seed ``surface_seed`` or None)``.
    ``seconds``: wall clock of training; ``cpu_seconds``: process CPU time (all threads).
    """

    method: Method
    mixture: Mixture
    config: EnsembleConfig
    metrics: list[dict]
    snapshots: list[tuple[int, Tensor, np.ndarray | None]]
    seconds: float
    cpu_seconds: float
    generators: list = field(repr=False, default_factory=list)
    discriminators: list = field(repr=False, default_factory=list)

    @property
    def samples(self) -> Tensor:
        """The final samples, ``[K, N, 2]``."""
        return self.snapshots[-1][1]

    def summary(self) -> dict[str, tuple[float, float]]:
        return summarize(self.metrics)


def coverage(samples: Tensor, mixture: Mixture, threshold: float = 3.0, min_fraction: float = 0.2) -> list[dict]:
    """:func:`mode_coverage` of each of the K sample sets ``[K, N, 2]``."""
    if samples.dim() != 3 or samples.shape[-1] != 2:
        raise ValueError(f"samples must be [K, N, 2] (K seeds), got shape {list(samples.shape)}")
    return [mode_coverage(s, mixture.centers, mixture.std, threshold, min_fraction) for s in samples]


def summarize(metrics: list[dict]) -> dict[str, tuple[float, float]]:
    """Mean and (population) std over seeds of each metric: ``{"modes": (mean, std), ...}``."""
    if not metrics:
        raise ValueError("no metrics to summarise: pass the per-seed dicts of coverage()")
    out = {}
    for key in metrics[0]:
        values = np.array([m[key] for m in metrics], dtype=np.float64)
        out[key] = (float(values.mean()), float(values.std()))
    return out


def _set_lr(ensemble: GANEnsemble, factor: float) -> None:
    for opt, lr in ((ensemble.opt_g, ensemble.config.lr_g), (ensemble.opt_d, ensemble.config.lr_d)):
        for group in opt.param_groups:
            group["lr"] = lr * factor


def run_method(method: Method, data: str, base: EnsembleConfig, final_steps: int = 0, final_lr: float = 0.1,
               segments: int = 1, surface_seed: int | None = None, resolution: int = 60,
               device: torch.device | str | None = "cpu", progress: bool = False) -> MethodResult:
    """Train ``base.num_models`` seeds of ``method`` on ``data`` ("ring" or "grid") together, then measure them.

    The run has ``base.steps`` steps; its last ``final_steps`` use the learning rates
    times ``final_lr`` (a step decay, so that the generator can settle on the modes
    it covers). Samples (fixed noise, ``base.n_snapshot`` per seed) are kept
    at ``segments`` evenly spaced points and at the end; with ``surface_seed`` each
    keeps that seed's decision surface D(x) on a ``resolution²`` grid too.
    """
    if data not in MIXTURES:
        raise ValueError(f"data must be one of {sorted(MIXTURES)}, got {data!r}")
    if not 0 <= final_steps <= base.steps:
        raise ValueError(f"final_steps must be in [0, steps={base.steps}], got {final_steps}")
    if segments < 1:
        raise ValueError(f"segments must be >= 1, got {segments}")
    mixture = MIXTURES[data]
    config = dataclasses.replace(method.config(base, data), snapshot_every=0)
    if surface_seed is not None and not 0 <= surface_seed < config.num_models:
        raise ValueError(f"surface_seed must be in [0, {config.num_models}), got {surface_seed}")
    bounds = sorted({round(config.steps * i / segments) for i in range(segments + 1)}
                    | {config.steps - final_steps})
    wall, cpu = time.perf_counter(), time.process_time()
    ensemble = GANEnsemble(config, device=device)
    snapshots = [_snapshot(ensemble, 0, ensemble.sample_fixed(), mixture, surface_seed, resolution)]
    seconds = 0.0
    for start, stop in itertools.pairwise(bounds):
        if start == config.steps - final_steps and final_steps:
            _set_lr(ensemble, final_lr)
        result = ensemble.train(steps=stop - start, progress=progress)
        seconds += result.seconds
        if stop in {round(config.steps * i / segments) for i in range(1, segments + 1)}:
            snapshots.append(_snapshot(ensemble, stop, result.samples, mixture, surface_seed, resolution))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return MethodResult(method, mixture, config, coverage(snapshots[-1][1], mixture), snapshots, wall, cpu,
                        ensemble.generators(), ensemble.discriminators())


def _run_job(job: tuple) -> MethodResult:
    torch.set_num_threads(1)  # tiny models: one thread per process
    method, data, base, kwargs = job
    return run_method(method, data, base, **kwargs)


def run_methods(jobs: list[tuple[Method, str, EnsembleConfig, dict]], processes: int = 2) -> list[MethodResult]:
    """Several :func:`run_method` calls ``(method, data, base, kwargs)``, ``processes`` at a time.

    Each job runs in its own (spawned) process with one torch thread, taken in the order given
    (put the longest first); results come back in the order of ``jobs`` and equal those of
    :func:`run_method` run here. ``processes=1`` runs them in this process, one after another.
    """
    if processes < 1:
        raise ValueError(f"processes must be >= 1, got {processes}")
    if processes == 1 or len(jobs) <= 1:
        return [run_method(m, d, b, **kw) for m, d, b, kw in jobs]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(processes, len(jobs)), mp_context=context) as pool:
        return list(pool.map(_run_job, jobs))


def _snapshot(ensemble: GANEnsemble, step: int, samples: Tensor, mixture: Mixture, seed: int | None,
              resolution: int) -> tuple[int, Tensor, np.ndarray | None]:
    if seed is None:
        return step, samples, None
    params = {n: p[seed: seed + 1].detach().cpu() for n, p in ensemble.params_d.items()}
    d = unstack(params, ensemble._d_template)[0]
    if ensemble.config.pack > 1:  # a packed D judges m points at once: show it m copies of the same point
        m = ensemble.config.pack
        d = _Repeat(d, m)
    link = torch.sigmoid if ensemble.config.loss == "bce" else None
    return step, samples, decision_surface(d, mixture.extent, resolution, link=link)


class _Repeat(torch.nn.Module):
    """``x [B, 2] -> D(repeat each point m times)``: the surface of a packed D on identical packs."""

    def __init__(self, d: torch.nn.Module, m: int):
        super().__init__()
        self.d, self.m = d, m

    def forward(self, x: Tensor) -> Tensor:
        return self.d(x.repeat_interleave(self.m, dim=0))  # [B, 2] -> [B·m, 2] -> [B]


def coverage_rows(results: list[MethodResult]) -> list[dict]:
    """One row per (data set, method): modes, % high quality and reverse KL as (mean, std) over seeds.

    ``per_seed`` lists each seed's modes captured; ``high_quality`` is in percent.
    """
    rows = []
    for r in results:
        s = r.summary()
        rows.append({"data": f"{r.mixture.name} ({r.mixture.modes})", "method": r.method.name,
                     "seeds": len(r.metrics), "modes": s["modes"], "per_seed": [m["modes"] for m in r.metrics],
                     "high_quality": (100 * s["high_quality"][0], 100 * s["high_quality"][1]),
                     "reverse_kl": s["reverse_kl"], "seconds": r.seconds, "cpu_seconds": r.cpu_seconds})
    return rows


def coverage_table(results: list[MethodResult]) -> str:
    """The table as text: "mean ± std" over seeds, one line per (data set, method), and each seed's modes."""
    head = f"{'data':<10} {'method':<22} {'seeds':>5} {'modes':>11} {'modes per seed':<16} " \
           f"{'high quality %':>15} {'reverse KL':>12}"
    lines = [head, "-" * len(head)]
    for row in coverage_rows(results):
        (m, ms), (h, hs), (k, ks) = row["modes"], row["high_quality"], row["reverse_kl"]
        per_seed = " ".join(str(v) for v in row["per_seed"])
        lines.append(f"{row['data']:<10} {row['method']:<22} {row['seeds']:>5} {f'{m:.1f} ± {ms:.1f}':>11} "
                     f"{per_seed:<16} {f'{h:.1f} ± {hs:.1f}':>15} {f'{k:.2f} ± {ks:.2f}':>12}")
    return "\n".join(lines)


def best_method(rows: list[dict], min_high_quality: float, exclude: tuple[str, ...] = ()) -> dict | None:
    """The rule that picks the best remedy, fixed before the runs: among the rows of :func:`coverage_rows`
    whose mean high-quality share is at least ``min_high_quality`` (percent), the one with the most
    modes captured (mean over seeds; ties go to the higher high-quality share). ``None`` when no
    row clears the floor. Rows whose method is in ``exclude`` (the baseline) are not candidates.
    """
    ok = [r for r in rows if r["method"] not in exclude and r["high_quality"][0] >= min_high_quality]
    return max(ok, key=lambda r: (r["modes"][0], r["high_quality"][0])) if ok else None


def mode_trace(snapshots: list[tuple], mixture: Mixture) -> tuple[np.ndarray, np.ndarray]:
    """Modes captured per snapshot and seed: ``(steps [S], modes [S, K])``."""
    steps = np.array([int(s[0]) for s in snapshots])
    modes = np.array([[m["modes"] for m in coverage(s[1], mixture)] for s in snapshots])
    return steps, modes


def mode_histories(snapshots: list[tuple], mixture: Mixture, seed: int = 0) -> np.ndarray:
    """Share of one seed's samples that are high quality at each mode, per snapshot: ``[S, modes]``.

    Rows sum to the high-quality fraction; a mode that lights up and goes dark
    again across rows is the generator hopping between modes.
    """
    rows = [mode_histogram(s[1][seed], mixture.centers, mixture.std) / len(s[1][seed]) for s in snapshots]
    return np.stack(rows).astype(np.float64)


def expected_real_high_quality(threshold: float = 3.0) -> float:
    """P(|x - c| < threshold·std) for a 2-D isotropic Gaussian: 1 - exp(-threshold²/2) (a Rayleigh tail)."""
    return 1.0 - math.exp(-threshold ** 2 / 2)


def captured_history(snapshots: list[tuple], mixture: Mixture, seed: int = 0,
                     min_fraction: float = 0.2) -> np.ndarray:
    """Which modes one seed captures (the thresholded count) at each snapshot: bool ``[S, modes]``."""
    return np.stack([np.asarray(_captured(s[1][seed], mixture, min_fraction)) for s in snapshots])


def _captured(samples: Tensor, mixture: Mixture, min_fraction: float) -> np.ndarray:
    counts = mode_histogram(samples, mixture.centers, mixture.std)
    return counts >= max(1.0, min_fraction * len(samples) / mixture.modes)


def mode_moves(captured: np.ndarray) -> int:
    """How often a generator *moved*: between consecutive snapshots, a captured mode was let go while
    another was taken up, counted as min(lost, gained) per transition. ``captured``: bool ``[S, modes]``.

    A generator that only grows (or only loses) its set of modes makes no moves; one that trades a
    mode for another, as the discriminator learns to reject the first, does: mode hopping.
    """
    c = np.asarray(captured, dtype=bool)
    if c.ndim != 2:
        raise ValueError(f"captured must be [snapshots, modes] booleans, got shape {c.shape}")
    lost = (c[:-1] & ~c[1:]).sum(axis=1)
    gained = (~c[:-1] & c[1:]).sum(axis=1)
    return int(np.minimum(lost, gained).sum())


def hopping_seed(snapshots: list[tuple], mixture: Mixture, min_fraction: float = 0.2) -> tuple[int, int]:
    """The seed that moved between modes most often (:func:`mode_moves`) and its number of moves."""
    k = snapshots[0][1].shape[0]
    moves = [mode_moves(captured_history(snapshots, mixture, seed, min_fraction)) for seed in range(k)]
    best = int(np.argmax(moves))
    return best, moves[best]


@dataclass(frozen=True)
class LatentMap:
    """Where a generator sends each point of a square of its 2-D latent plane.

    ``labels [R, R]`` (row = z2, column = z1, both increasing over ``[-lim, lim]``): the index of the
    mode that G(z) lands on (within the high-quality radius), or -1 when G(z) is between modes.
    ``off_mode_mass``: the N(0, I) probability of the latents whose G(z) is between modes, i.e. the
    share of generated samples that are *not* high quality (up to the square's cut-off).
    """

    labels: np.ndarray
    lim: float
    off_mode_mass: float


def latent_mode_map(generator: torch.nn.Module, mixture: Mixture, lim: float = 3.0, resolution: int = 201,
                    threshold: float = 3.0) -> LatentMap:
    """Label a ``resolution²`` grid of latents z in ``[-lim, lim]²`` by the mode G(z) lands on (-1: none).

    Needs a generator that maps each latent on its own (no BatchNorm on batch statistics) with a 2-D latent.
    A continuous G maps the connected latent plane onto a connected set: wherever two regions
    of different modes meet, the latents in between land between the modes (the "bridges").
    """
    if getattr(generator, "batchnorm", False):
        raise ValueError("this generator normalises over its batch: G(z) of a grid of latents would not be "
                         "what it draws from N(0, I); map a generator without batchnorm")
    if getattr(generator, "nz", 2) != 2:
        raise ValueError(f"a latent map needs a 2-D latent, this generator has nz={generator.nz}")
    axis = torch.linspace(-lim, lim, resolution)
    z2, z1 = torch.meshgrid(axis, axis, indexing="ij")
    z = torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1)  # [R*R, 2]
    with torch.no_grad():
        x = generator(z).double()                            # [R*R, 2]
    dist = torch.cdist(x, mixture.centers.double())          # [R*R, M]
    nearest_dist, nearest = dist.min(dim=1)
    labels = torch.where(nearest_dist < threshold * mixture.std, nearest, torch.full_like(nearest, -1))
    density = torch.exp(-(z.double() ** 2).sum(dim=1) / 2)  # N(0, I) up to a constant
    off = float((density * (labels == -1)).sum() / density.sum())
    return LatentMap(labels.reshape(resolution, resolution).numpy(), lim, off)


def latent_path(generator: torch.nn.Module, z0: Tensor, z1: Tensor, n: int = 400) -> Tensor:
    """G along the straight latent segment from ``z0`` to ``z1`` (``[nz]`` each): ``[n, 2]`` points."""
    if getattr(generator, "batchnorm", False):
        raise ValueError("this generator normalises over its batch: use a generator without batchnorm")
    t = torch.linspace(0, 1, n)[:, None]
    with torch.no_grad():
        return generator((1 - t) * z0[None] + t * z1[None])
