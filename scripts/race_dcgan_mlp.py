"""Lesson 4's race, at the lesson's full budget: its DCGAN against lesson 2's MLP GAN, 3 seeds.

Both models train with batches of 64 for the same seconds of CPU time each (one
thread), in alternating turns (:func:`coursekit.race.race_seeds`); each is judged
by the exponential moving average of its generator's weights, on the same 1,000
latents per seed.

The full result (probe curves, settings and the averaged generators, about 22 MB)
goes to ``runs/04_race.pt``. With the lesson's settings the script also writes the
compact file the course ships, ``coursekit/weights/dcgan_mlp_race.pt``: everything
but the generators' weights, plus each final averaged generator's images of the first
36 probe latents as 8-bit pixels. Lesson 4 loads it when its recorded settings equal
the lesson's, and otherwise races for a shorter budget in the notebook.
``--export`` writes the compact file from a saved full result without racing again
(it probes the saved generators once more and checks them against the record).

    python scripts/race_dcgan_mlp.py                         # 3 seeds x 2 models x 240 s, about 25 min
    python scripts/race_dcgan_mlp.py --export runs/04_race.pt   # the compact file from a saved race
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
from coursekit.race import final_samples, probe, probe_latents, race_seeds
from coursekit.runtime import runs_dir
from coursekit.train import GANTrainer, TrainConfig

NZ, BATCH = 100, 64
# Lesson 4's settings; the lesson checks that the file's recorded configurations equal its own.
DCGAN_CONFIG = dict(batch_size=BATCH, lr_g=4e-4, lr_d=2e-4, betas=(0.5, 0.999), loss="bce", r1_weight=1.0)
MLP_CONFIG = dict(batch_size=BATCH, lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999), loss="bce")  # lesson 2's
COMMON = dict(steps=10**9, log_every=100, progress=False, good_state_every=0)
BUDGET, SEEDS, PROBE_EVERY, N_PROBE, EMA_DECAY = 240.0, 3, 30.0, 1000, 0.999  # lesson 4's race
N_SAMPLES = 36  # images per model and seed kept in the compact file
SHIPPED = Path(__file__).resolve().parents[1] / "coursekit" / "weights" / "dcgan_mlp_race.pt"
MODELS = {"DCGAN": "DCGANGenerator(nz=100, ngf=32) against DeepDCGANDiscriminator(ndf=16)",
          "MLP GAN": "MLPGenerator(nz=100, hidden=(128, 256, 512, 1024), batchnorm=True) against "
                     "MLPDiscriminator(hidden=(512, 256))"}


def dcgan_generator() -> DCGANGenerator:
    return DCGANGenerator(nz=NZ, ngf=32)


def mlp_generator() -> MLPGenerator:
    return MLPGenerator(nz=NZ, hidden=(128, 256, 512, 1024), batchnorm=True)


GENERATORS = {"DCGAN": dcgan_generator, "MLP GAN": mlp_generator}


def make_dcgan(images: torch.Tensor, seed: int) -> GANTrainer:
    """Lesson 4's DCGAN: ``DCGANGenerator(ngf=32)`` against ``DeepDCGANDiscriminator(ndf=16)``."""
    torch.manual_seed(seed)
    G, D = dcgan_generator(), DeepDCGANDiscriminator(ndf=16)
    return GANTrainer(G, D, images, TrainConfig(**DCGAN_CONFIG, **COMMON, seed=seed), device="cpu")


def make_mlp(images: torch.Tensor, seed: int) -> GANTrainer:
    """Lesson 2's MLP GAN (BatchNorm generator 100-128-256-512-1024-784, discriminator 784-512-256-1)."""
    torch.manual_seed(seed)
    G = mlp_generator()
    D = MLPDiscriminator(hidden=(512, 256))
    return GANTrainer(G, D, images, TrainConfig(**MLP_CONFIG, **COMMON, seed=seed), device="cpu")


def show(name: str, seed: int, row: dict) -> None:
    """Print one probe of the race."""
    print(f"{name:8s} seed {seed} {row['seconds']:6.0f} s {row['steps']:6d} steps | confident {row['confident']:6.1%}, "
          f"rarest digit {row['smallest']:5.1%}", flush=True)


def is_lesson_race(result: dict) -> bool:
    """True when a race used lesson 4's budget, seeds, probes and average."""
    return (result["budget"] == BUDGET and result["seeds"] == list(range(SEEDS))
            and result["probe_every"] == PROBE_EVERY and result["n_probe"] == N_PROBE
            and result["ema_decay"] == EMA_DECAY)


def compact(result: dict) -> dict:
    """The shipped form of a race: everything but the generators' weights, plus what the models were."""
    out = {k: v for k, v in result.items() if k != "generators"}
    out.update(models=MODELS, nz=NZ)
    return out


def samples_from_generators(result: dict, classifier, n_samples: int = N_SAMPLES) -> dict:
    """Rebuild a saved race's averaged generators; return their images of the first ``n_samples`` probe
    latents (uint8), after checking that they read as the race recorded at its last probe."""
    samples: dict = {name: [] for name in result["generators"]}
    for name, states in result["generators"].items():
        for seed, state, curve in zip(result["seeds"], states, result["curves"][name]):
            G = GENERATORS[name]()
            G.load_state_dict(state)
            z = probe_latents(seed, result["n_probe"], NZ)
            again, recorded = probe(G, classifier, z), curve[-1]
            print(f"{name:8s} seed {seed}: recorded {recorded['confident']:.1%} confident, measured again "
                  f"{again['confident']:.1%}", flush=True)
            if abs(again["confident"] - recorded["confident"]) > 0.005:
                raise SystemExit(f"{name}, seed {seed}: the saved generator does not read as recorded")
            samples[name].append(final_samples(G, z[:n_samples]))
    return samples


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--budget", type=float, default=BUDGET, help="CPU seconds of training per model and seed")
    p.add_argument("--seeds", type=int, default=SEEDS)
    p.add_argument("--probe-every", type=float, default=PROBE_EVERY, help="CPU seconds between probes")
    p.add_argument("--out", type=Path, default=None, help="the full result; default: runs/04_race.pt")
    p.add_argument("--ship", type=Path, default=None,
                   help="the compact file; default: coursekit/weights/dcgan_mlp_race.pt, written only for a race "
                        "with the lesson's settings")
    p.add_argument("--export", type=Path, default=None, metavar="FULL",
                   help="write the compact file from this saved full result instead of racing")
    args = p.parse_args(argv)
    command = "python scripts/race_dcgan_mlp.py " + " ".join(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(1)
    classifier = load_mnist_classifier("cpu")
    if args.export is not None:
        full = torch.load(args.export, map_location="cpu", weights_only=True)
        out = compact(full)
        out.update(samples=samples_from_generators(full, classifier), exported_by=command.strip())
        ship = args.ship or (SHIPPED if is_lesson_race(full) else None)
        if ship is None:
            raise SystemExit("this race does not use the lesson's settings: give --ship PATH")
    else:
        images, _ = load_mnist(train=True)
        t0 = time.perf_counter()
        out = race_seeds({"DCGAN": lambda s: make_dcgan(images, s), "MLP GAN": lambda s: make_mlp(images, s)},
                         list(range(args.seeds)), args.budget, classifier, probe_every=args.probe_every,
                         n_probe=N_PROBE, ema_decay=EMA_DECAY, progress=False, on_row=show, n_samples=N_SAMPLES)
        for name, curves in out["curves"].items():
            for seed, curve in zip(out["seeds"], curves):
                last = curve[-1]
                print(f"{name:8s} seed {seed}: {last['steps']:6d} steps, {last['images']:9,d} images in "
                      f"{last['seconds']:.0f} s | confident {last['confident']:.1%}, "
                      f"rarest digit {last['smallest']:.1%}")
        out.update(command=command.strip(), wall_seconds=time.perf_counter() - t0, n_data=len(images),
                   torch=str(torch.__version__), threads=torch.get_num_threads(), machine=platform.machine(),
                   date=datetime.date.today().isoformat())
        path = args.out or runs_dir() / "04_race.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(out, path)
        print(f"saved {path} ({out['wall_seconds']:.0f} s)")
        ship = args.ship or (SHIPPED if is_lesson_race(out) else None)
        out = compact(out)
    if ship is not None:
        ship.parent.mkdir(parents=True, exist_ok=True)
        torch.save(out, ship)
        print(f"saved {ship} ({ship.stat().st_size / 1e3:.0f} kB)")
    return out


if __name__ == "__main__":
    main()
