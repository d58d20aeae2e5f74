"""A leaderboard of the course's MNIST generators, all measured the same way (lesson 8).

Lessons 2, 4, 5 and 6 save their generators under ``runs/`` with
:func:`coursekit.checkpoint.save_checkpoint` (GANTrainer's checkpoints among them),
which records each model's class and constructor arguments. :func:`prepare` loads one when it is
there and otherwise trains a quick stand-in with :class:`coursekit.train.GANTrainer`,
so the board also works on a fresh machine or in CI; every row says which
it was, and after how many steps. :func:`evaluate` measures samples with the
metrics of :mod:`coursekit.metrics` on the features of the shipped MNIST
classifier, and records every sample count, because FID, IS and
precision/recall all depend on it (Chong & Forsyth 2020; Kynkäänniemi et al. 2019).

    entrants = [prepare(c, train_images) for c in contenders()]
    rows = leaderboard(entrants, real_feats, EvalConfig(n=1000))
    print(format_table(rows))
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from coursekit import metrics
from coursekit.checkpoint import load_model
from coursekit.features import MNISTClassifier, mnist_features
from coursekit.models import (
    DCGANDiscriminator,
    DCGANGenerator,
    DeepDCGANDiscriminator,
    MLPDiscriminator,
    MLPGenerator,
    SNDiscriminator,
    WGANCritic,
)
from coursekit.runtime import eval_mode, get_device, is_quick, module_device, runs_dir
from coursekit.train import GANTrainer, TrainConfig

__all__ = [
    "Contender", "Entrant", "EvalConfig", "contenders", "default_runs_dir", "load_generator", "prepare",
    "sample_images", "fid_infinity", "evaluate", "leaderboard", "format_table",
]



def default_runs_dir() -> Path:
    """Where the lessons' full runs save their generators: ``coursekit.runtime.runs_dir()``."""
    return runs_dir()


# ------------------------------------------------------------------ what competes


@dataclass(frozen=True)
class Contender:
    """A model of an earlier lesson: where its checkpoint lives, and how to train a stand-in for it.

    ``checkpoint``: the file name under the runs folder that its lesson writes.
    ``make_generator`` / ``make_discriminator`` / ``config``: the quick stand-in
    trained when no checkpoint loads.
    """

    name: str
    lesson: str
    checkpoint: str
    make_generator: Callable[[], nn.Module]
    make_discriminator: Callable[[], nn.Module]
    config: TrainConfig


def contenders(quick: bool | None = None) -> tuple[Contender, ...]:
    """The generators of lessons 2, 4, 5 and 6, with stand-in runs sized for quick or full mode.

    Stand-ins follow the lessons' recipes at a smaller scale (32 base channels
    instead of 64, a few hundred to a few thousand steps): they are there so that
    the board has something to rank, not to reproduce the lessons' results.
    """
    quick = is_quick() if quick is None else quick
    steps = (lambda q, f: q) if quick else (lambda q, f: f)
    common = dict(progress=False, log_every=50, seed=0)
    dcgan = dict(lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999), batch_size=64)  # Radford et al. 2016
    return (
        Contender("MLP GAN", "02", "02_mlp_gan.pt",
                  lambda: MLPGenerator(nz=64), lambda: MLPDiscriminator(),
                  TrainConfig(steps=steps(20, 3000), loss="bce", **dcgan, **common)),
        Contender("DCGAN", "04", "04_dcgan.pt",
                  lambda: DCGANGenerator(nz=100, ngf=32), lambda: DeepDCGANDiscriminator(ndf=16),
                  # lesson 4's adjusted setting: D at ndf = 16, lr_g = 2·lr_d, R1 with γ = 1 (Mescheder et al. 2018)
                  TrainConfig(steps=steps(20, 1600), loss="bce", lr_g=4e-4, lr_d=2e-4, betas=(0.5, 0.999),
                              batch_size=64, r1_weight=1.0, **common)),
        Contender("WGAN-GP", "05", "05_wgan_gp.pt",
                  lambda: DCGANGenerator(nz=100, ngf=32), lambda: WGANCritic(ndf=32),
                  # Gulrajani et al. 2017: λ = 10, n_critic = 5, Adam 1e-4, β = (0, 0.9)
                  TrainConfig(steps=steps(2, 200), loss="wgan", gp_weight=10.0, n_critic=5, lr_g=1e-4,
                              lr_d=1e-4, betas=(0.0, 0.9), batch_size=64, **common)),
        Contender("SN-GAN", "05", "05_sn_gan.pt",
                  lambda: DCGANGenerator(nz=100, ngf=32), lambda: SNDiscriminator(ndf=32),
                  TrainConfig(steps=steps(10, 800), loss="bce", **dcgan, **common)),
        Contender("DCGAN + one-sided smoothing (0.9)", "06", "06_one_sided.pt",
                  lambda: DCGANGenerator(nz=100, ngf=32), lambda: DCGANDiscriminator(ndf=32),
                  TrainConfig(steps=steps(10, 800), loss="bce", real_label=0.9, **dcgan, **common)),
    )


# ------------------------------------------------------------------ loading


def load_generator(path: str | Path) -> tuple[nn.Module, int | None]:
    """The generator of a :func:`coursekit.checkpoint.save_checkpoint` file (a lesson's or GANTrainer's), rebuilt
    as ``cls(**args)``, in eval mode; and its step if recorded. ``ValueError`` for an older file."""
    generator, meta = load_model(path, "generator")
    step = meta.get("step")
    return generator.eval(), (None if step is None else int(step))


@dataclass
class Entrant:
    """A generator ready to be measured, and where it came from."""

    name: str
    lesson: str
    generator: nn.Module
    source: str  # "loaded" or "trained here"
    steps: int | None
    path: Path | None = None
    seconds: float = 0.0
    note: str = ""


def _try_load(contender: Contender, path: Path, shown: Path, train_missing: bool) -> tuple[nn.Module | None,
                                                                                          int | None, str]:
    """``(generator, step, "")`` when ``path`` loads and is long enough, else ``(None, None, why not)``."""
    try:
        generator, step = load_generator(path)
    except (ValueError, RuntimeError, OSError) as err:
        print(f"{contender.name:34s} skipping {shown}: not loadable ({str(err).splitlines()[0][:200]})")
        return None, None, f"{shown} not loadable: {err}"
    wanted = contender.config.steps
    if train_missing and step is not None and step < wanted:
        print(f"{contender.name:34s} skipping {shown}: only {step} steps (fewer than the stand-in's {wanted}; "
              "rerun its lesson in full mode to use it)")
        return None, None, f"{shown} has only {step} steps (a quick-mode run?), fewer than the stand-in's {wanted}"
    return generator, step, ""


def prepare(contender: Contender, data: torch.Tensor, runs_dir: str | Path | None = None,
            device: torch.device | str | None = None, train_missing: bool = True) -> Entrant:
    """Load ``contender``'s checkpoint from ``runs_dir``, or train its stand-in on ``data`` when none loads.

    A checkpoint that records fewer training steps than the stand-in would take
    (e.g. saved by a lesson run in quick mode) is passed over, with a note,
    unless ``train_missing=False``.
    """
    runs_dir = default_runs_dir() if runs_dir is None else Path(runs_dir)
    path = runs_dir / contender.checkpoint
    shown = Path(runs_dir.name) / contender.checkpoint  # printed as e.g. runs/02_mlp_gan.pt, never a machine path
    note = ""
    if path.is_file():
        generator, step, note = _try_load(contender, path, shown, train_missing)
        if generator is not None:
            print(f"{contender.name:34s} loaded from {shown}" + (f" (step {step})" if step is not None else ""))
            return Entrant(contender.name, contender.lesson, generator.to(get_device(device)), "loaded", step, path)
    if not train_missing:
        raise FileNotFoundError(f"no checkpoint for {contender.name} in {runs_dir} ({contender.checkpoint})")
    cfg = contender.config
    t0 = time.perf_counter()
    trainer = GANTrainer(contender.make_generator(), contender.make_discriminator(), data, cfg, device=device)
    trainer.train()
    seconds = time.perf_counter() - t0
    why = "no usable checkpoint" if note else "no checkpoint"
    print(f"{contender.name:34s} {why}: trained here, {cfg.steps} steps in {seconds:.0f} s")
    generator = trainer.generator.eval()
    return Entrant(contender.name, contender.lesson, generator, "trained here", cfg.steps, None, seconds, note)


# ------------------------------------------------------------------ measuring


@torch.no_grad()
def sample_images(generator: nn.Module, n: int, seed: int = 0, psi: float = 1.0, batch_size: int = 500,
                  device: torch.device | str | None = None) -> torch.Tensor:
    """``n`` samples ``[n, C, H, W]`` (CPU) from ``generator(ψ·z)``, z ~ N(0, I) from a generator seeded by ``seed``.

    ``psi`` < 1 is the truncation trick applied to z (Brock et al. 2019 resample
    |z| > threshold; scaling z towards its mean is the simpler form used here):
    samples move towards the typical ones. The generator runs in eval mode.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    nz = getattr(generator, "nz", None)
    if nz is None:
        raise ValueError("the generator needs an `nz` attribute (its noise dimension)")
    device = module_device(generator, default=get_device(device))
    z = psi * torch.randn(n, int(nz), generator=torch.Generator().manual_seed(seed))  # [n, nz], all at once
    with eval_mode(generator):
        out = [generator(z[s : s + batch_size].to(device)).float().cpu()  # [b, nz] -> [b, C, H, W]
               for s in range(0, n, batch_size)]
    return torch.cat(out)


def fid_infinity(fake_feats, real_feats, ns: Sequence[int], repeats: int = 1, seed: int = 0) -> dict:
    """FID∞ of Chong & Forsyth 2020 (Sec. 3.1): fit FID_N = FID∞ + slope/N by least squares, read it at 1/N → 0.

    FID_N is computed on random subsets of ``N`` rows of ``fake_feats`` against
    all of ``real_feats`` (fixed reference statistics), ``repeats`` times per N.
    Returns ``{"fid_inf", "slope", "ns", "fids"}`` (``fids``: ``[len(ns), repeats]``).
    """
    fake = np.asarray(fake_feats, dtype=np.float64)
    if len(ns) < 2:
        raise ValueError("fit FID∞ from at least two sample sizes")
    if max(ns) > len(fake):
        raise ValueError(f"largest N = {max(ns)} but only {len(fake)} fake feature rows were given")
    rng = np.random.default_rng(seed)
    real_stats = metrics.RunningStats.from_features(real_feats)
    fids = np.zeros((len(ns), repeats))
    for i, n in enumerate(ns):
        for r in range(repeats):
            rows = fake[rng.choice(len(fake), n, replace=False)] if n < len(fake) else fake
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # N <= d is the point of the study
                fids[i, r] = metrics.fid_from_stats(metrics.RunningStats.from_features(rows), real_stats)
    x = np.repeat(1.0 / np.asarray(ns, dtype=np.float64), repeats)
    slope, intercept = np.polyfit(x, fids.reshape(-1), 1)  # FID_N ≈ intercept + slope · (1/N)
    return {"fid_inf": float(intercept), "slope": float(slope), "ns": list(ns), "fids": fids}


@dataclass(frozen=True)
class EvalConfig:
    """How every row of the board is measured (the same for all rows)."""

    n: int = 1000  # generated samples per model (and real samples for precision/recall)
    kid_subsets: int = 50
    kid_subset_size: int = 500
    k: int = 3  # precision/recall neighbourhood (Kynkäänniemi et al. 2019)
    is_splits: int = 10
    fid_inf_ns: tuple[int, ...] = ()  # sample sizes for FID∞; () = skip
    fid_inf_repeats: int = 1  # random subsets per sample size in the FID∞ fit
    seed: int = 0


def evaluate(images: torch.Tensor, real_feats: torch.Tensor, config: EvalConfig = EvalConfig(),
             classifier: MNISTClassifier | None = None, extra_images: torch.Tensor | None = None) -> dict:
    """FID, KID, precision/recall, IS of ``images`` ``[n, 1, 28, 28]`` against ``real_feats`` ``[M, 128]``.

    FID and KID use all ``M`` real rows; precision/recall use the first ``n``
    (equal set sizes, as Kynkäänniemi et al. 2019). ``extra_images`` (more
    samples of the same model) only feed the FID∞ fit.
    """
    if len(images) < config.n:
        raise ValueError(f"{len(images)} images given, EvalConfig.n = {config.n}")
    feats, probs = mnist_features(images[: config.n], classifier=classifier, progress=False)
    real = real_feats.double()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # sample counts are reported in the row instead
        fid = metrics.fid_from_features(feats, real)
        kid_mean, kid_std = metrics.kid(feats, real, subsets=config.kid_subsets,
                                        subset_size=min(config.kid_subset_size, config.n, len(real)), seed=config.seed)
    precision, recall = metrics.precision_recall(real[: config.n], feats, k=config.k)
    is_mean, is_std = metrics.inception_score(probs, splits=config.is_splits)
    row = {"fid": fid, "kid": kid_mean, "kid_std": kid_std, "precision": precision, "recall": recall,
           "is": is_mean, "is_std": is_std, "n": config.n, "n_real": len(real),
           "n_pr_real": min(config.n, len(real)), "kid_subsets": config.kid_subsets,
           "kid_subset_size": min(config.kid_subset_size, config.n, len(real)), "k": config.k,
           "is_splits": config.is_splits}
    if config.fid_inf_ns:
        pool = feats if extra_images is None else torch.cat(
            [feats, mnist_features(extra_images, classifier=classifier, progress=False)[0]])
        ns = [m for m in config.fid_inf_ns if m <= len(pool)]
        if len(ns) >= 2:
            fit = fid_infinity(pool, real, ns, repeats=config.fid_inf_repeats, seed=config.seed)
            row.update(fid_inf=fit["fid_inf"], fid_inf_ns=(min(ns), max(ns)), fid_inf_repeats=config.fid_inf_repeats)
    return row


def leaderboard(entrants: Sequence[Entrant], real_feats: torch.Tensor, config: EvalConfig = EvalConfig(),
                classifier: MNISTClassifier | None = None,
                baselines: Sequence[tuple[str, torch.Tensor]] = ()) -> list[dict]:
    """One row per entrant (and per ``(name, images)`` baseline), sorted by FID (lower is better).

    Each entrant draws ``n`` samples (seeded by ``config.seed``), plus enough for
    the largest FID∞ sample size if ``config.fid_inf_ns`` is set.
    """
    rows = []
    n_pool = max([config.n, *config.fid_inf_ns])
    for name, images in baselines:
        rows.append({"model": name, "lesson": "-", "source": "real data", "steps": None,
                     **evaluate(images, real_feats, config, classifier)})
    for e in entrants:
        images = sample_images(e.generator, n_pool, seed=config.seed)
        extra = images[config.n:] if n_pool > config.n else None
        rows.append({"model": e.name, "lesson": e.lesson, "source": e.source, "steps": e.steps,
                     **evaluate(images, real_feats, config, classifier, extra_images=extra)})
    return sorted(rows, key=lambda r: r["fid"])


def format_table(rows: Sequence[dict]) -> str:
    """The board as a Markdown table, every metric with its sample count."""
    has_inf = any("fid_inf" in r for r in rows)
    head = ["#", "model", "lesson", "source", f"FID (N={rows[0]['n']} vs {rows[0]['n_real']})" if rows else "FID"]
    head += ["FID∞"] if has_inf else []
    head += ["KID (± std)", "precision", "recall", "IS (± std)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, r in enumerate(rows, 1):
        source = r["source"] + (f", {r['steps']} steps" if r["steps"] is not None else "")
        cells = [str(i), r["model"], r["lesson"], source, f"{r['fid']:.2f}"]
        cells += [f"{r['fid_inf']:.2f}" if "fid_inf" in r else "-"] if has_inf else []
        cells += [f"{r['kid']:.3g} ± {r['kid_std']:.2g}", f"{r['precision']:.3f}", f"{r['recall']:.3f}",
                  f"{r['is']:.2f} ± {r['is_std']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    if rows:
        r = rows[0]
        lines.append("")
        spans = sorted({r["fid_inf_ns"] for r in rows if "fid_inf_ns" in r})
        lines.append(f"Sample counts: FID, KID, precision/recall and IS use N = {r['n']} samples per row "
                     f"(IS in {r['is_splits']} splits); FID and KID compare with {r['n_real']} real training digits; "
                     f"KID averages {r['kid_subsets']} subsets of {r['kid_subset_size']}; precision/recall "
                     f"(k = {r['k']}) compare {r['n']} samples with {r['n_pr_real']} real digits."
                     + (" FID∞: linear fit in 1/N over N = " + ", ".join(f"{a}…{b}" for a, b in spans)
                        + f", {r.get('fid_inf_repeats', 1)} random subset(s) of the samples per N." if spans else ""))
    return "\n".join(lines)
