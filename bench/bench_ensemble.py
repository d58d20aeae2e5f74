"""K vectorised 2-D GANs vs a Python loop over K models: same models, same steps, one run.

    .venv/bin/python bench/bench_ensemble.py                      # K = 16, three sizes, 1 thread
    .venv/bin/python bench/bench_ensemble.py --sizes 128x128 --threads 0 --loss wgan
    .venv/bin/python bench/bench_ensemble.py --k 3 --sizes 256x128 --spectral-norm   # lesson 5's SN-GAN

Both trainers do identical work (the tests check that they produce the same
parameters): ``GANEnsemble`` runs the K models as one ``vmap``-ed model,
``LoopedGANs`` loops over K ordinary modules with K Adams. Rounds alternate
between the two so that a change in machine load hits both; each round is
timed by the wall clock and by the process's CPU time (less sensitive to other
processes on a shared machine). The table reports the median round.

Vectorising removes Python and dispatch overhead, not arithmetic: once the
per-model matrices are large (batch 256 × width 128 on a CPU), the K small
matmuls of the loop and the one batched matmul run at the same GFLOP/s and the
ratio tends to 1. That is why three sizes (batch x width) are shown.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from coursekit.ensemble import EnsembleConfig, GANEnsemble, LoopedGANs


def time_steps(trainer, steps: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``steps`` training steps."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        trainer.step()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--k", type=int, default=16, help="number of models (seeds)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timed rounds per trainer")
    parser.add_argument("--sizes", nargs="+", default=["64x128", "256x128", "64x64"],
                        help="BATCHxWIDTH of each benchmarked configuration (depth: the config's default)")
    parser.add_argument("--loss", default="bce", choices=["bce", "wgan"])
    parser.add_argument("--spectral-norm", action="store_true",
                        help="SN on every layer of D (stacked power iteration vs torch's parametrization in the loop)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads per process (0: torch's default); "
                             "1 avoids oversubscribing a shared machine")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    for size in args.sizes:
        batch_size, width = (int(v) for v in size.lower().split("x"))
        cfg = EnsembleConfig(num_models=args.k, batch_size=batch_size, width=width, loss=args.loss,
                             spectral_norm=args.spectral_norm, n_snapshot=16, seed=0)
        bench(cfg, args.steps, args.rounds, args.device)


def bench(cfg: EnsembleConfig, steps: int, rounds: int, device: str) -> None:
    print(f"\nK={cfg.num_models} 2-D GANs | batch {cfg.batch_size} | width {cfg.width} x depth {cfg.depth} | "
          f"loss {cfg.loss}{' + SN' if cfg.spectral_norm else ''} | device {device} | "
          f"torch threads {torch.get_num_threads()} | "
          f"torch {torch.__version__} | seed {cfg.seed}")
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    trainers = {"vectorised": GANEnsemble(cfg, device=device), "python loop": LoopedGANs(cfg, device=device)}
    for t in trainers.values():
        time_steps(t, 3)  # warm-up (allocations, first vmap trace), not timed
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in trainers}
    for _ in range(rounds):
        for name, t in trainers.items():
            times[name].append(time_steps(t, steps))
    rate = {name: (steps / statistics.median(w for w, _ in ts), steps / statistics.median(c for _, c in ts))
            for name, ts in times.items()}
    print(f"{'trainer':<12} {'steps/s (wall)':>15} {'steps/s (CPU time)':>19}   ({rounds} rounds x {steps} steps)")
    for name, (w, c) in rate.items():
        print(f"{name:<12} {w:>15.2f} {c:>19.2f}")
    ratio_wall = rate["vectorised"][0] / rate["python loop"][0]
    ratio_cpu = rate["vectorised"][1] / rate["python loop"][1]
    print(f"{'ratio':<12} {ratio_wall:>14.2f}x {ratio_cpu:>18.2f}x   (vectorised / loop; target >= 2x)")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")

if __name__ == "__main__":
    main()
