"""Fréchet distance at d = 2048: coursekit (Cholesky + eigvalsh) vs pytorch-fid (scipy sqrtm).

Both run on the same random full-rank statistics, in one process, one after the
other; the script prints each wall-clock and CPU time, the speed ratios and the
relative agreement of the two values.

    python bench/bench_fid.py                 # d = 2048, 1 repeat
    python bench/bench_fid.py --dim 1024 --repeats 3
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python bench/bench_fid.py   # one BLAS thread

On a busy machine multi-threaded BLAS loses much of its time to contention:
compare both ways.
"""
from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import torch

from coursekit.metrics import frechet_distance


def random_statistics(dim: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two Gaussians whose covariances are sample covariances of 2·dim points (full rank, FID-like)."""
    rng = np.random.default_rng(seed)
    stats = []
    for shift in (0.0, 0.5):
        x = rng.standard_normal((2 * dim, dim)) @ (np.eye(dim) + 0.1 * rng.standard_normal((dim, dim))) + shift
        stats += [x.mean(axis=0), np.cov(x, rowvar=False)]
    return stats[0], stats[1], stats[2], stats[3]


def best_time(fn, repeats: int) -> tuple[float, float, float]:
    """Best wall-clock seconds, best CPU seconds (all threads of this process) and the value."""
    walls, cpus, value = [], [], None
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        value = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from pytorch_fid.fid_score import calculate_frechet_distance

    warnings.filterwarnings("ignore", message="The `disp` argument is deprecated", category=DeprecationWarning)

    mu1, sigma1, mu2, sigma2 = random_statistics(args.dim, args.seed)
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"d={args.dim} seed={args.seed} repeats={args.repeats} (best of) torch threads={torch.get_num_threads()} "
          f"OPENBLAS_NUM_THREADS={blas}")
    wall_ours, cpu_ours, ours = best_time(lambda: frechet_distance(mu1, sigma1, mu2, sigma2), args.repeats)
    wall_ref, cpu_ref, ref = best_time(lambda: float(calculate_frechet_distance(mu1, sigma1, mu2, sigma2)),
                                       args.repeats)
    rel = abs(ours - ref) / abs(ref)
    print(f"coursekit.metrics.frechet_distance  : wall {wall_ours:8.3f} s  cpu {cpu_ours:8.3f} s   FD = {ours:.10f}")
    print(f"pytorch_fid calculate_frechet_dist. : wall {wall_ref:8.3f} s  cpu {cpu_ref:8.3f} s   FD = {ref:.10f}")
    print(f"speed-up: wall {wall_ref / wall_ours:.1f}x, cpu {cpu_ref / cpu_ours:.1f}x   relative difference {rel:.2e}")
    print("(wall-clock depends on what else runs on the machine; CPU time much less so)")

if __name__ == "__main__":
    main()
