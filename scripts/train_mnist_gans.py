"""Plain GAN vs WGAN-GP vs SN-GAN on MNIST at equal CPU time per run, for longer than lesson 5 can.

Lesson 5 loads the result (``coursekit/weights/mnist_gan_comparison.pt``), draws
fresh samples from every saved generator and measures them itself. Every run
trains a DCGAN generator (``DCGANGenerator(nz=64, ngf=32)``) on the offline MNIST
train split with ``coursekit.train.GANTrainer``, batch 64, until it has used
``--cpu-seconds`` of CPU time (``time.process_time``: on a shared machine CPU
time is fairer than wall-clock time). For the last ``--decay-fraction`` of that
time both learning rates are multiplied by ``--decay`` (the same schedule for
all three methods). The three methods of a seed run one after another, seed by
seed, so a change in machine load hits all three alike.

* plain: ``DCGANDiscriminator`` (BatchNorm), non-saturating loss, Adam 2e-4, β = (0.5, 0.999) (Radford et al. 2016);
* WGAN-GP: ``WGANCritic`` (layer norm, no BatchNorm), λ = 10, n_critic = 5, Adam 1e-4, β = (0, 0.9)
  (Gulrajani et al. 2017, Algorithm 1);
* SN: ``SNDiscriminator``, non-saturating loss, Adam 2e-4, β = (0.5, 0.999), n_dis = 1 (Miyato et al. 2018, setting C).

Every ``--every`` CPU seconds (measuring not counted) each run draws 500
fixed-noise samples and measures them with the shipped MNIST classifier
(``coursekit.features``): the share classified with probability ≥ 0.9, the
digits present among those, and the MNIST-FID against the held-out split.

Saved: the generator of every run at its last step (conv weights as int8 with
one float scale per output channel, everything else float16, so that nine
generators fit in about 2 MB; :func:`coursekit.checkpoint.dequantize_int8` rebuilds a float state dict,
and the last curve point is measured on the dequantised generator as well),
the curves, the command, the settings, steps, images seen, CPU and wall
seconds, the torch version and the date; and, as ``generator_model``, the
generators' class and constructor arguments, so that
``coursekit.checkpoint.build_model({**file["generator_model"], "state": dequantize_int8(run["generator"])})``
rebuilds any of them. The file is rewritten after every run,
so an interrupted run keeps what it finished; ``--resume`` skips the runs
already in ``--out`` (same settings only).

    python scripts/train_mnist_gans.py --threads 1                # 3 seeds x 3 methods x 200 CPU s
    python scripts/train_mnist_gans.py --seeds 1 --cpu-seconds 10 --out /tmp/m.pt
"""
from __future__ import annotations

import argparse
import datetime
import platform
import sys
import time
from pathlib import Path

import torch

from coursekit.checkpoint import atomic_save, dequantize_int8, quantize_int8
from coursekit.data import load_mnist
from coursekit.features import load_mnist_classifier, mnist_features
from coursekit.metrics import fid_from_features
from coursekit.models import DCGANDiscriminator, DCGANGenerator, SNDiscriminator, WGANCritic
from coursekit.train import GANTrainer, TrainConfig

OUT = Path(__file__).resolve().parents[1] / "coursekit" / "weights" / "mnist_gan_comparison.pt"
WIDTH, NZ, BATCH = 32, 64, 64

METHODS = {
    "plain": (lambda: DCGANDiscriminator(ndf=WIDTH), dict(loss="bce", lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999))),
    "WGAN-GP": (lambda: WGANCritic(ndf=WIDTH), dict(loss="wgan", gp_weight=10.0, n_critic=5, lr_g=1e-4, lr_d=1e-4,
                                                   betas=(0.0, 0.9))),
    "SN": (lambda: SNDiscriminator(ndf=WIDTH), dict(loss="bce", lr_g=2e-4, lr_d=2e-4, betas=(0.5, 0.999))),
}


def make_generator() -> DCGANGenerator:
    """Every run's generator, untrained."""
    return DCGANGenerator(nz=NZ, ngf=WIDTH)


def generator_model() -> dict:
    """The generators' class and constructor arguments, as the file records them (``generator_model``)."""
    G = make_generator()
    return {"class": type(G).__name__, "args": G.init_args}


def measure(samples: torch.Tensor, classifier, test_feats: torch.Tensor) -> dict:
    """Confident share (top class probability >= 0.9), digits among the confident samples, MNIST-FID."""
    feats, probs = mnist_features(samples, classifier=classifier, progress=False)
    top, label = probs.max(dim=1)
    confident = top >= 0.9
    return {"confident": confident.float().mean().item(), "digits": len(set(label[confident].tolist())),
            "fid": fid_from_features(feats, test_feats)}


def run(name: str, seed: int, images: torch.Tensor, args, classifier, test_feats: torch.Tensor) -> dict:
    """Train one method with one seed for ``args.cpu_seconds`` of CPU time, measured every ``args.every`` CPU s."""
    make_d, settings = METHODS[name]
    torch.manual_seed(seed)
    G, D = make_generator(), make_d()
    cfg = TrainConfig(batch_size=BATCH, seed=seed, progress=False, good_state_every=0, log_every=10**9, **settings)
    trainer = GANTrainer(G, D, images, cfg, device="cpu")
    chunk = 2 if cfg.n_critic > 1 else 10
    z = torch.randn(500, NZ, generator=torch.Generator().manual_seed(10_000 + seed))  # [500, nz], fixed
    first = measure(trainer.sample(z=z), classifier, test_feats)
    curve = [{"step": 0, "cpu": 0.0, "wall": 0.0, "lr_scale": 1.0, **first}]
    decay_at = args.cpu_seconds * (1 - args.decay_fraction)
    decay_step, lr_scale = None, 1.0
    c0, w0, mark, cpu = time.process_time(), time.perf_counter(), args.every, 0.0
    while cpu < args.cpu_seconds:
        if decay_step is None and cpu >= decay_at and args.decay != 1.0:
            for opt in (trainer.opt_g, trainer.opt_d):
                for group in opt.param_groups:
                    group["lr"] *= args.decay
            decay_step, lr_scale = trainer.step, args.decay
        trainer.train(steps=chunk)
        cpu = time.process_time() - c0
        if cpu >= mark or cpu >= args.cpu_seconds:
            c1 = time.process_time()  # measuring is not training: keep it out of the budget
            curve.append({"step": trainer.step, "cpu": cpu, "wall": time.perf_counter() - w0, "lr_scale": lr_scale,
                          **measure(trainer.sample(z=z), classifier, test_feats)})
            c0 += time.process_time() - c1
            mark += args.every
    packed = quantize_int8(G.state_dict())
    G_q = make_generator()
    G_q.load_state_dict(dequantize_int8(packed))
    with torch.no_grad():
        quantized = measure(G_q.eval()(z), classifier, test_feats)
    last = curve[-1]
    print(f"{name:8s} seed {seed}: {trainer.step:5d} steps (lr x {args.decay} from step {decay_step}), "
          f"{cpu:.0f} s CPU, "
          f"{last['wall']:.0f} s wall | confident {last['confident']:.1%}, {last['digits']} digits, "
          f"MNIST-FID {last['fid']:.1f} | int8 copy: {quantized['confident']:.1%}, {quantized['digits']} digits, "
          f"FID {quantized['fid']:.1f}", flush=True)
    return {"seed": seed, "generator": packed, "steps": trainer.step, "decay_step": decay_step,
            "images_seen_g": trainer.step * BATCH, "images_seen_d": trainer.step * BATCH * cfg.n_critic,
            "cpu_seconds": cpu, "wall_seconds": last["wall"], "curve": curve, "quantized": quantized,
            "config": cfg.summary()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--cpu-seconds", type=float, default=200.0, help="CPU time per run")
    parser.add_argument("--decay", type=float, default=0.1, help="learning-rate factor for the last part of a run")
    parser.add_argument("--decay-fraction", type=float, default=0.25, help="share of the CPU time at the lower rate")
    parser.add_argument("--every", type=float, default=20.0, help="measure every this many CPU seconds")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--resume", action="store_true", help="keep the runs already in --out (same settings)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images, _ = load_mnist(train=True)
    classifier = load_mnist_classifier("cpu")
    test_feats, _ = mnist_features(load_mnist(train=False)[0], classifier=classifier, progress=False)
    settings = {"cpu_seconds": args.cpu_seconds, "decay": args.decay, "decay_fraction": args.decay_fraction,
                "every": args.every, "models": {"nz": NZ, "ngf": WIDTH, "ndf": WIDTH, "batch_size": BATCH},
                "generator_model": generator_model(), "n_data": len(images)}
    runs: dict[str, list[dict]] = {name: [] for name in METHODS}
    spent = 0.0
    if args.resume and args.out.exists():
        old = torch.load(args.out, map_location="cpu", weights_only=False)
        if all(old.get(k) == v for k, v in settings.items()):
            runs, spent = old["runs"], old.get("cpu_seconds_total", 0.0)
            print(f"resuming: {sum(map(len, runs.values()))} runs already in {args.out.name}")
        else:
            print(f"{args.out.name} has other settings: starting afresh")
    command = "python scripts/train_mnist_gans.py " + " ".join(sys.argv[1:])
    start = time.perf_counter()
    for seed in range(args.seeds):
        for name in METHODS:
            if any(r["seed"] == seed for r in runs[name]):
                continue
            c = time.process_time()
            runs[name].append(run(name, seed, images, args, classifier, test_feats))
            spent += time.process_time() - c
            state = {"runs": runs, **settings, "seeds": sorted({r["seed"] for rs in runs.values() for r in rs}),
                     "complete": all(len(rs) == args.seeds for rs in runs.values()),
                     "cpu_seconds_total": spent, "command": command.strip(), "torch": str(torch.__version__),
                     "threads": torch.get_num_threads(), "machine": platform.machine(),
                     "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
            atomic_save(state, args.out)
    print(f"saved {args.out.name}: {spent:.0f} s CPU in all (this session: {time.perf_counter() - start:.0f} s wall)")


if __name__ == "__main__":
    main()
