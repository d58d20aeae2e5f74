"""Images per second of lesson 7's StyleGAN training step (G + D), before and after the redesign.

"before": the 32×32 StyleGAN the lesson used to train (widths 64, 64, 32, 32; D 32, 32, 64, 64) at batch 32;
"after": lesson 7's 16×16 StyleGAN (``StyleGANConfig()``: 64, 64, 32; D 32, 64, 64) at batch 32 and at the
batch the shipped checkpoint used (64). Each runs ``coursekit.stylegan_train.train_step`` (R1 every 16
steps included, so time whole multiples of 16 steps) on the same machine, in alternating chunks, so that
load from other processes hits all alike. Prints ms per step, images per second and the ratio to "before".

    python bench/bench_stylegan.py                    # 2 chunks of 32 steps each, 1 thread
    python bench/bench_stylegan.py --threads 2 --steps 16 --chunks 3
"""
from __future__ import annotations

import argparse
import time

import torch

from coursekit.shapes import LESSON7, make_shapes
from coursekit.stylegan import StyleDiscriminator, StyleGANConfig, StyleGenerator
from coursekit.stylegan_train import StyleGANRecipe, StyleGANTraining, train_step

VARIANTS = {
    "before: 32x32, batch 32": (StyleGANConfig(channels=(64, 64, 32, 32), d_channels=(32, 32, 64, 64)), 32, 32),
    "after: 16x16, batch 32": (StyleGANConfig(), 16, 32),
    "after: 16x16, batch 64": (StyleGANConfig(), 16, 64),
}


def make_run(config: StyleGANConfig, size: int, batch: int) -> tuple[StyleGANTraining, torch.Tensor]:
    torch.manual_seed(0)
    t = StyleGANTraining(StyleGenerator(config), StyleDiscriminator(config), StyleGANRecipe(batch=batch))
    extra = {k: v for k, v in LESSON7.items() if k != "size"} if size == 16 else {}
    real = make_shapes(batch, size=size, seed=1, **extra)[0]  # [B, 3, size, size]
    return t, real


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=32, help="steps per chunk (a multiple of 16 covers R1 fairly)")
    p.add_argument("--chunks", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    runs = {name: make_run(*spec) for name, spec in VARIANTS.items()}
    seconds = dict.fromkeys(runs, 0.0)
    for t, real in runs.values():  # warm-up, untimed
        train_step(t, real)
    for _ in range(args.chunks):
        for name, (t, real) in runs.items():
            t0 = time.perf_counter()
            for _ in range(args.steps):
                train_step(t, real)
            seconds[name] += time.perf_counter() - t0
    steps = args.steps * args.chunks
    base = None
    print(f"threads={args.threads} | {steps} steps per variant, {args.chunks} alternating chunks")
    for name, (t, _) in runs.items():
        ms = 1000 * seconds[name] / steps
        ips = t.recipe.batch * steps / seconds[name]
        base = base or ips
        print(f"{name:26s} {ms:7.1f} ms/step {ips:8.1f} images/s  ×{ips / base:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
