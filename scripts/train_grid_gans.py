"""Train K seeds of a 2-D GAN on the 25-Gaussian grid for longer than lesson 5 can, and save them.

Lesson 5 loads the result when it is present (``coursekit/weights/grid_sn_gan.pt``)
to show an SN-GAN trained to the end of the recipe that its own, shorter run
starts. The K seeds train together as one vectorised model
(``coursekit.ensemble.GANEnsemble``, ``spectral_norm=True``): 3 hidden layers
of 128 in G and D, batch 256, the non-saturating loss, Adam
lr 1e-3, β = (0.5, 0.999) for ``--steps`` generator updates, then the learning
rate × 0.1 for ``--decay-steps`` more. Every ``--every`` steps the script
counts the modes of 2,500 fixed-noise samples per seed
(``coursekit.metrics.mode_coverage``: high quality = within 3 std, a mode
counted when it holds ≥ 20 % of its fair share) and keeps the curve.

Saved beside the weights: the command, the seeds, the settings, the wall-clock
seconds, the torch version and the date, and the curve.

    python scripts/train_grid_gans.py                              # SN, 3 seeds, 24,000 + 6,000 steps
    python scripts/train_grid_gans.py --steps 2000 --decay-steps 500 --out /tmp/sn.pt
"""
from __future__ import annotations

import argparse
import datetime
import platform
import sys
import time
from pathlib import Path

import torch

from coursekit.data import grid_centers
from coursekit.ensemble import EnsembleConfig, GANEnsemble
from coursekit.metrics import mode_coverage

OUT = Path(__file__).resolve().parents[1] / "coursekit" / "weights" / "grid_sn_gan.pt"


def coverage_row(samples: torch.Tensor, centers: torch.Tensor) -> list[dict]:
    """``samples [K, N, 2]`` -> one mode_coverage dict per seed (std 0.05: the grid's)."""
    return [mode_coverage(x, centers, std=0.05) for x in samples]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="K models, seeds seed..seed+K-1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=24_000, help="generator updates at lr 1e-3")
    parser.add_argument("--decay-steps", type=int, default=6_000, help="then this many at lr 1e-4")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--every", type=int, default=1000, help="count modes every this many steps")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    config = EnsembleConfig(num_models=args.seeds, seed=args.seed, data="grid", steps=args.steps + args.decay_steps,
                            batch_size=256, width=128, depth=3, loss="bce", spectral_norm=True,
                            lr_g=args.lr, lr_d=args.lr, betas=(0.5, 0.999), n_snapshot=2500)
    ens = GANEnsemble(config, device="cpu")
    centers = grid_centers()
    curve = []  # (step, seconds, [modes per seed], [high-quality share per seed])
    start = time.perf_counter()

    def record() -> None:
        rows = coverage_row(ens.sample_fixed(), centers)
        seconds = time.perf_counter() - start
        curve.append((ens.step_count, seconds, [r["modes"] for r in rows], [r["high_quality"] for r in rows]))
        print(f"step {ens.step_count:6d} | {seconds:7.0f} s | modes {[r['modes'] for r in rows]} | "
              f"HQ {[round(100 * r['high_quality'], 1) for r in rows]} %", flush=True)

    record()
    for step in range(args.steps + args.decay_steps):
        if step == args.steps:
            ens.scale_lr(0.1)
        ens.step()
        if ens.step_count % args.every == 0:
            record()
    if ens.step_count % args.every:
        record()
    seconds = time.perf_counter() - start
    state = {
        "generators": [g.state_dict() for g in ens.generators()],
        "discriminators": [d.state_dict() for d in ens.discriminators()],
        "config": {k: getattr(config, k) for k in config.__dataclass_fields__},
        "lr_schedule": {"steps": args.steps, "decay_steps": args.decay_steps, "factor": 0.1},
        "seeds": list(range(args.seed, args.seed + args.seeds)),
        "curve": curve,
        "seconds": seconds,
        "command": "python scripts/train_grid_gans.py " + " ".join(sys.argv[1:]),
        "torch": str(torch.__version__), "threads": torch.get_num_threads(), "machine": platform.machine(),
        "date": datetime.date.today().isoformat(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, args.out)
    print(f"saved {args.out.name}: {args.seeds} seeds, {ens.step_count} steps, {seconds:.0f} s")


if __name__ == "__main__":
    main()
