"""Judging MNIST generators by the shipped classifier, and racing trainers at equal wall-clock (lesson 4).

- :func:`confident_share` / :func:`probe`: the share of samples the MNIST
  classifier labels with top probability ≥ 0.9, and the share of the rarest
  digit among the labels (a generator that draws one digit well is not good);
- :class:`QualityBar` / :func:`meets`: "≥ 80 % confident, every digit ≥ 2.5 %";
- :func:`ema_generator`: an exponential moving average of G's weights
  (Yazıcı et al. 2019; Karras et al. 2018, App. A.1), updated after every G step;
- :func:`race`: trainers take turns, whoever has used fewer seconds goes next,
  so that each gets the same training seconds (CPU time by default) under the
  same machine load; probes run outside the clock;
- :func:`to_uint8` / :func:`from_uint8`: images in [-1, 1] as 8-bit pixels and back,
  to store a race's samples compactly.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Mapping

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel

from coursekit.features import MNISTClassifier, mnist_features
from coursekit.runtime import eval_mode, module_device
from coursekit.train import GANTrainer

__all__ = ["QualityBar", "confident_share", "probe", "probe_latents", "final_samples", "meets", "ema_decay_at",
           "ema_generator", "race", "race_seeds", "to_uint8", "from_uint8"]


@dataclass(frozen=True)
class QualityBar:
    """Good digits: at least ``share`` of the samples classified with top probability ≥ ``confidence``,
    and every digit at least ``min_digit`` of all samples' labels (argmax)."""

    confidence: float = 0.9
    share: float = 0.8
    min_digit: float = 0.025


def confident_share(probs: Tensor, confidence: float = 0.9) -> tuple[float, float]:
    """``probs [N, 10]`` → (share of rows with max ≥ ``confidence``, share of the rarest argmax class)."""
    if probs.dim() != 2 or probs.shape[0] == 0:
        raise ValueError(f"probs must be [N, classes] with N >= 1, got {tuple(probs.shape)}")
    top, label = probs.max(dim=1)
    counts = torch.bincount(label, minlength=probs.shape[1])
    return (top >= confidence).double().mean().item(), counts.min().item() / probs.shape[0]


@torch.no_grad()
def probe(generator: nn.Module, classifier: MNISTClassifier, z: Tensor, confidence: float = 0.9) -> dict[str, float]:
    """Samples ``generator(z)`` in eval mode and reads them with ``classifier``: {confident, smallest}."""
    device = module_device(generator)
    with eval_mode(generator):
        images = torch.cat([generator(z[i:i + 500].to(device)).float().cpu() for i in range(0, len(z), 500)])
    _, probs = mnist_features(images, classifier=classifier, progress=False)
    share, smallest = confident_share(probs, confidence)
    return {"confident": share, "smallest": smallest}


def meets(result: Mapping[str, float], bar: QualityBar = QualityBar()) -> bool:
    """True when a :func:`probe` result clears ``bar`` (confident share and the rarest digit)."""
    return result["confident"] >= bar.share and result["smallest"] >= bar.min_digit


def to_uint8(images: Tensor) -> Tensor:
    """Images in [-1, 1] → uint8 pixels, round((x + 1) · 127.5), clamped to [0, 255] (any shape)."""
    return ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def from_uint8(pixels: Tensor) -> Tensor:
    """uint8 pixels → float32 images in [-1, 1] (the inverse of :func:`to_uint8` up to 1/255)."""
    if pixels.dtype != torch.uint8:
        raise ValueError(f"expected uint8 pixels, got {pixels.dtype}")
    return pixels.float() / 127.5 - 1


def ema_decay_at(n: int, decay: float) -> float:
    """The decay used at the ``n``-th update (n ≥ 1): min(decay, (1 + n) / (10 + n)).

    A warm-up (as in TensorFlow's ``ExponentialMovingAverage`` with ``num_updates``): early
    on the average forgets fast, so it does not stay tied to the random initial weights.
    """
    return min(decay, (1 + n) / (10 + n))


def _ema_update(decay: float) -> Callable[[list[Tensor], list[Tensor], Tensor], None]:
    """``multi_avg_fn`` for :class:`AveragedModel`: θ̄ ← β·θ̄ + (1 − β)·θ with β = :func:`ema_decay_at`."""

    @torch.no_grad()
    def update(averaged: list[Tensor], current: list[Tensor], n_averaged: Tensor) -> None:
        beta = ema_decay_at(int(n_averaged), decay)
        if averaged[0].is_floating_point():
            torch._foreach_lerp_(averaged, current, 1.0 - beta)
        else:  # integer buffers (BatchNorm's num_batches_tracked): keep the model's
            for a, c in zip(averaged, current):
                a.copy_(c)

    return update


def ema_generator(trainer: GANTrainer, decay: float = 0.999) -> AveragedModel:
    """An EMA of ``trainer.generator``'s weights and BatchNorm statistics, updated after each G step.

    θ̄ ← β·θ̄ + (1 − β)·θ with β = :func:`ema_decay_at` (→ ``decay``; the first update
    copies θ). The averaged generator is ``ema.module`` (it keeps ``nz``); it is never
    trained, only read.
    """
    if not 0.0 < decay < 1.0:
        raise ValueError(f"decay must lie in (0, 1), got {decay}")
    ema = AveragedModel(trainer.generator, multi_avg_fn=_ema_update(decay), use_buffers=True)
    trainer.opt_g.register_step_post_hook(lambda *_: ema.update_parameters(trainer.generator))
    return ema


def race(trainers: Mapping[str, GANTrainer], budget: float, chunk: int,
         on_probe: Callable[[str, GANTrainer, float], None] | None = None, probe_every: float = 0.0,
         stop: Callable[[str], bool] | None = None,
         clock: Callable[[], float] = time.process_time) -> dict[str, float]:
    """Train every trainer for ``budget`` seconds of ``clock``, in turns of ``chunk`` steps.

    ``clock`` defaults to the process's CPU time: with one thread, the seconds a
    core spent on the training (on an idle machine, its wall-clock seconds), not
    the seconds other programs took. Whoever has used fewer seconds goes next, so
    the trainers share the machine's load alike. Every ``probe_every`` training seconds (and at the end) of a
    trainer, ``on_probe(name, trainer, seconds)`` runs outside the clock.
    ``stop(name)`` → True retires a trainer early. Returns the seconds each trained.
    """
    if budget < 0 or chunk < 1:
        raise ValueError(f"budget must be >= 0 and chunk >= 1, got {budget}, {chunk}")
    spent = {name: 0.0 for name in trainers}
    marks = {name: probe_every for name in trainers}
    active = set(trainers)
    while active:
        name = min(active, key=lambda n: spent[n])
        t0 = clock()
        trainers[name].train(steps=chunk)
        spent[name] += clock() - t0
        done = spent[name] >= budget
        if on_probe is not None and (done or (probe_every > 0 and spent[name] >= marks[name])):
            while probe_every > 0 and marks[name] <= spent[name]:
                marks[name] += probe_every
            on_probe(name, trainers[name], spent[name])
        if done or (stop is not None and stop(name)):
            active.discard(name)
    return spent


def probe_latents(seed: int, n: int, nz: int) -> Tensor:
    """The ``n`` fixed latents ``[n, nz]`` that :func:`race_seeds` probes both racers with at ``seed``."""
    return torch.randn(n, nz, generator=torch.Generator().manual_seed(10_000 + seed))


@torch.no_grad()
def final_samples(generator: nn.Module, z: Tensor) -> Tensor:
    """``generator(z)`` in eval mode as uint8 pixels (:func:`to_uint8`)."""
    with eval_mode(generator):
        return to_uint8(generator(z.to(module_device(generator))))


def race_seeds(makers: Mapping[str, Callable[[int], GANTrainer]], seeds: list[int] | tuple[int, ...], budget: float,
               classifier: MNISTClassifier, chunk: int = 25, probe_every: float = 30.0, n_probe: int = 1000,
               ema_decay: float = 0.999, progress: bool = True,
               clock: Callable[[], float] = time.process_time,
               on_row: Callable[[str, int, dict], None] | None = None, n_samples: int = 36) -> dict:
    """For each seed, race ``makers[name](seed)`` against each other for ``budget`` seconds each (:func:`race`).

    Each model is judged by the EMA of its generator's weights (:func:`ema_generator`),
    on the same ``n_probe`` latents per seed (:func:`probe_latents`),
    every ``probe_every`` training seconds and at the end. Returns
    ``{"curves": {name: [[{seconds, steps, images, confident, smallest}, ...] per seed]},
    "generators": {name: [EMA state dict per seed]}, "samples": {name: [uint8 images per seed]},
    "configs": {name: TrainConfig summary}}``, plus the settings; the samples are the final
    averaged generator's images of the first ``n_samples`` probe latents (:func:`to_uint8`).
    ``on_row(name, seed, row)`` sees every probe as it is taken (e.g. to print it).
    """
    from tqdm.auto import tqdm

    out: dict = {"curves": {n: [] for n in makers}, "generators": {n: [] for n in makers},
                 "samples": {n: [] for n in makers}, "configs": {},
                 "seeds": list(seeds), "budget": budget, "probe_every": probe_every, "n_probe": n_probe,
                 "ema_decay": ema_decay}
    with tqdm(total=len(seeds) * len(makers), desc="race (seed × model)", disable=not progress, leave=False) as bar:
        for seed in seeds:
            trainers = {name: make(seed) for name, make in makers.items()}
            emas = {name: ema_generator(t, ema_decay) for name, t in trainers.items()}
            nz = {t.nz for t in trainers.values()}
            if len(nz) != 1:
                raise ValueError(f"the racers must share one latent size to share probe latents, got {sorted(nz)}")
            z = probe_latents(seed, n_probe, nz.pop())
            curves: dict[str, list[dict]] = {name: [] for name in trainers}

            def on_probe(name: str, trainer: GANTrainer, seconds: float) -> None:
                G = emas[name].module
                row = {"seconds": seconds, "steps": trainer.step,
                       "images": trainer.step * trainer.config.batch_size, **probe(G, classifier, z)}
                curves[name].append(row)
                if on_row is not None:
                    on_row(name, seed, row)

            race(trainers, budget, chunk, on_probe=on_probe, probe_every=probe_every, clock=clock)
            for name, trainer in trainers.items():
                out["curves"][name].append(curves[name])
                out["generators"][name].append({k: v.detach().cpu().clone() for k, v in
                                                emas[name].module.state_dict().items()})
                out["samples"][name].append(final_samples(emas[name].module, z[:n_samples]))
                out["configs"][name] = trainer.config.summary()
                bar.update(1)
    return out
