"""Plain GAN vs WGAN-GP vs SN-GAN on MNIST at equal CPU time per run, for longer than lesson 5 can.

Lesson 5 loads the result when it is present (``coursekit/weights/mnist_gan_comparison.pt``)
and measures the saved generators itself. Every run trains a DCGAN generator
(``DCGANGenerator(nz=64, ngf=32)``) on the offline MNIST train split with
``coursekit.train.GANTrainer``, batch 64, until it has used ``--cpu-seconds``
of CPU time (``time.process_time``: on a shared machine CPU time is fairer than
wall-clock time). The three methods of a seed run one after another, seed by
seed, so a change in machine load hits all three alike.

* plain: ``DCGANDiscriminator`` (BatchNorm), non-saturating loss, Adam 2e-4, β = (0.5, 0.999) (Radford et al. 2016);
* WGAN-GP: ``WGANCritic`` (layer norm, no BatchNorm), λ = 10, n_critic = 5, Adam 1e-4, β = (0, 0.9)
  (Gulrajani et al. 2017, Algorithm 1);
* SN: ``SNDiscriminator``, non-saturating loss, Adam 2e-4, β = (0.5, 0.999), n_dis = 1 (Miyato et al. 2018, setting C).

Every ``--every`` CPU seconds each run draws 500 fixed-noise samples and
measures them with the shipped MNIST classifier (``coursekit.features``): the
share classified with probability ≥ 0.9, the digits present among those, and
the MNIST-FID against the held-out split. Saved: the generators (float16, to
keep the file small; the lesson samples and measures them again), the curves,
the command, the settings, the seconds, the torch version and the date.

    python scripts/train_mnist_gans.py                       # 3 seeds x 3 methods x 120 CPU s
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


def measure(samples: torch.Tensor, classifier, test_feats: torch.Tensor) -> dict:
    """Confident share (top class probability >= 0.9), digits among the confident samples, MNIST-FID."""
    feats, probs = mnist_features(samples, classifier=classifier, progress=False)
    top, label = probs.max(dim=1)
    confident = top >= 0.9
    return {"confident": confident.float().mean().item(), "digits": len(set(label[confident].tolist())),
            "fid": fid_from_features(feats, test_feats)}


def run(name: str, seed: int, images: torch.Tensor, cpu_seconds: float, every: float, chunk: int,
        classifier, test_feats: torch.Tensor) -> dict:
    """Train one method with one seed for ``cpu_seconds`` of CPU time; keep samples every ``every`` CPU seconds."""
    make_d, settings = METHODS[name]
    torch.manual_seed(seed)
    G, D = DCGANGenerator(nz=NZ, ngf=WIDTH), make_d()
    cfg = TrainConfig(batch_size=BATCH, seed=seed, progress=False, good_state_every=0, log_every=10**9, **settings)
    trainer = GANTrainer(G, D, images, cfg, device="cpu")
    z = torch.randn(500, NZ, generator=torch.Generator().manual_seed(10_000 + seed))  # [500, nz], fixed
    curve = [{"step": 0, "cpu": 0.0, "wall": 0.0, **measure(trainer.sample(z=z), classifier, test_feats)}]
    c0, w0, mark = time.process_time(), time.perf_counter(), every
    while (cpu := time.process_time() - c0) < cpu_seconds:
        trainer.train(steps=chunk)
        cpu = time.process_time() - c0
        if cpu >= mark or cpu >= cpu_seconds:
            c1 = time.process_time()  # measuring is not training: keep it out of the budget
            curve.append({"step": trainer.step, "cpu": cpu, "wall": time.perf_counter() - w0,
                          **measure(trainer.sample(z=z), classifier, test_feats)})
            c0 += time.process_time() - c1
            mark += every
    last = curve[-1]
    print(f"{name:8s} seed {seed}: {trainer.step:5d} steps, {cpu:.0f} s CPU, {time.perf_counter() - w0:.0f} s wall | "
          f"confident {last['confident']:.1%}, {last['digits']} digits, MNIST-FID {last['fid']:.1f}", flush=True)
    return {"generator": {k: (v.half() if v.is_floating_point() else v).cpu() for k, v in G.state_dict().items()},
            "steps": trainer.step,
            "curve": curve, "config": cfg.summary()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--cpu-seconds", type=float, default=120.0, help="CPU time per run")
    parser.add_argument("--every", type=float, default=10.0, help="keep samples every this many CPU seconds")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images, _ = load_mnist(train=True)
    classifier = load_mnist_classifier("cpu")
    test_feats, _ = mnist_features(load_mnist(train=False)[0], classifier=classifier, progress=False)
    start = time.perf_counter()
    runs: dict[str, list[dict]] = {name: [] for name in METHODS}
    for seed in range(args.seeds):
        for name in METHODS:
            runs[name].append(run(name, seed, images, args.cpu_seconds, args.every, 10, classifier, test_feats))
    state = {"runs": runs, "cpu_seconds": args.cpu_seconds, "seeds": list(range(args.seeds)),
             "models": {"nz": NZ, "ngf": WIDTH, "ndf": WIDTH, "batch_size": BATCH}, "n_data": len(images),
             "seconds": time.perf_counter() - start,
             "command": "python scripts/train_mnist_gans.py " + " ".join(sys.argv[1:]),
             "torch": str(torch.__version__), "threads": torch.get_num_threads(), "machine": platform.machine(),
             "date": datetime.date.today().isoformat()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, args.out)
    print(f"saved {args.out.name} in {state['seconds']:.0f} s")


if __name__ == "__main__":
    main()
