"""Lesson 4's race, at the lesson's full budget: its DCGAN against lesson 2's MLP GAN, 3 seeds.

Lesson 4 loads the result from ``runs/04_race.pt`` when it is there and was run
with the lesson's settings (it compares the recorded training configurations with
its own), measures the saved generators again itself, and otherwise runs a
shorter race in the notebook. Both models train with batches of 64 for the same
seconds of CPU time each (one thread; on an idle machine, wall-clock seconds),
in alternating turns so that other programs' load hits both alike
(:func:`coursekit.race.race_seeds`); each is judged by the exponential moving
average of its generator's weights, on the same 1,000 latents per seed.

    python scripts/race_dcgan_mlp.py                         # 3 seeds x 2 models x 240 s, about 25 min
    python scripts/race_dcgan_mlp.py --budget 10 --seeds 1 --out /tmp/race.pt    # a smoke run
"""
from __future__ import annotations

import argparse
import datetime
import platform
import sys
import time
from pathlib import Path

import torch

from coursekit.data import load_mnist
from coursekit.features import load_mnist_classifier
from coursekit.models import DCGANGenerator, DeepDCGANDiscriminator, MLPDiscriminator, MLPGenerator
from coursekit.race import race_seeds
from coursekit.runtime import runs_dir
from coursekit.train import GANTrainer, TrainConfig

NZ, BATCH = 100, 64
# Lesson 4's settings; the lesson checks that the file's recorded configurations equal its own.
DCGAN_CONFIG = dict(batch_size=BATCH, lr_g=4e-4, lr_d=2e-4, betas=(0.5, 0.999), loss="bce", r1_weight=1.0)
MLP_CONFIG = dict(batch_size=BATCH, lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999), loss="bce")  # lesson 2's
COMMON = dict(steps=10**9, log_every=100, progress=False, good_state_every=0)


def make_dcgan(images: torch.Tensor, seed: int) -> GANTrainer:
    """Lesson 4's DCGAN: ``DCGANGenerator(ngf=32)`` against ``DeepDCGANDiscriminator(ndf=16)``."""
    torch.manual_seed(seed)
    G, D = DCGANGenerator(nz=NZ, ngf=32), DeepDCGANDiscriminator(ndf=16)
    return GANTrainer(G, D, images, TrainConfig(**DCGAN_CONFIG, **COMMON, seed=seed), device="cpu")


def make_mlp(images: torch.Tensor, seed: int) -> GANTrainer:
    """Lesson 2's MLP GAN (BatchNorm generator 100-128-256-512-1024-784, discriminator 784-512-256-1)."""
    torch.manual_seed(seed)
    G = MLPGenerator(nz=NZ, hidden=(128, 256, 512, 1024), batchnorm=True)
    D = MLPDiscriminator(hidden=(512, 256))
    return GANTrainer(G, D, images, TrainConfig(**MLP_CONFIG, **COMMON, seed=seed), device="cpu")


def show(name: str, seed: int, row: dict) -> None:
    """Print one probe of the race."""
    print(f"{name:8s} seed {seed} {row['seconds']:6.0f} s {row['steps']:6d} steps | confident {row['confident']:6.1%}, "
          f"rarest digit {row['smallest']:5.1%}", flush=True)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--budget", type=float, default=240.0, help="CPU seconds of training per model and seed")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--probe-every", type=float, default=30.0, help="CPU seconds between probes")
    p.add_argument("--out", type=Path, default=None, help="default: runs/04_race.pt")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    images, _ = load_mnist(train=True)
    classifier = load_mnist_classifier("cpu")
    t0 = time.perf_counter()
    out = race_seeds({"DCGAN": lambda s: make_dcgan(images, s), "MLP GAN": lambda s: make_mlp(images, s)},
                     list(range(args.seeds)), args.budget, classifier, probe_every=args.probe_every,
                     progress=False, on_row=show)
    for name, curves in out["curves"].items():
        for seed, curve in zip(out["seeds"], curves):
            last = curve[-1]
            print(f"{name:8s} seed {seed}: {last['steps']:6d} steps, {last['images']:9,d} images in "
                  f"{last['seconds']:.0f} s | confident {last['confident']:.1%}, rarest digit {last['smallest']:.1%}")
    out.update(command="python scripts/race_dcgan_mlp.py " + " ".join(sys.argv[1:] if argv is None else argv),
               wall_seconds=time.perf_counter() - t0, n_data=len(images), torch=str(torch.__version__),
               threads=torch.get_num_threads(), machine=platform.machine(), date=datetime.date.today().isoformat())
    path = args.out or runs_dir() / "04_race.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(out, path)
    print(f"saved {path.name} ({out['wall_seconds']:.0f} s)")
    return out


if __name__ == "__main__":
    main()
