"""Lesson 3's grid of 25 under changed settings: what each change does to the vanilla GAN and the remedies.

Each variant changes lesson 3's full-mode grid settings (5 seeds trained
together, 8,000 steps of batch 128, widths 64 × 3 layers, Adam lr_G 5e-4,
lr_D 2e-3, β = (0.5, 0.999), the last quarter at lr × 0.1) in one place and
trains the vanilla GAN and a remedy with ``coursekit.mode_collapse.run_method``;
modes, % high quality and reverse KL are measured as in the lesson
(2,500 samples per seed, high quality = within 3 std of a mode, a mode
captured when it holds at least 20 % of its fair share of high-quality
samples); the papers' one-sample count is printed beside it.
``docs/mode_collapse_runs.md`` keeps the tables this script printed.

    python scripts/sweep_grid.py                      # every variant (an hour or more on one core)
    python scripts/sweep_grid.py --only lesson batch-256
"""
from __future__ import annotations

import argparse
import dataclasses

import torch

from coursekit.ensemble import EnsembleConfig
from coursekit.mode_collapse import Method, run_method

LESSON = EnsembleConfig(num_models=5, seed=0, steps=8000, batch_size=128, nz=2, width=64, depth=3,
                        lr_g=5e-4, lr_d=2e-3, betas=(0.5, 0.999), n_snapshot=2500, data="grid")
METHODS = {
    "vanilla": Method("GAN (vanilla)"),
    "pacgan2": Method("PacGAN2", {"pack": 2}),
    "pacgan4": Method("PacGAN4", {"pack": 4}),
    "mbstd": Method("minibatch std", {"minibatch_std": True}),
    "bn-g": Method("BatchNorm G", {"g_batchnorm": True}),
    "bn-g-pacgan2": Method("BatchNorm G + PacGAN2", {"g_batchnorm": True, "pack": 2}),
}
# name -> (changes to LESSON, share of the steps at lr × 0.1, methods)
VARIANTS: dict[str, tuple[dict, float, tuple[str, ...]]] = {
    "lesson": ({}, 0.25, ("vanilla", "pacgan2", "mbstd", "bn-g", "bn-g-pacgan2")),
    "ring-lr": ({"lr_g": 1e-3, "lr_d": 4e-3}, 0.25, ("vanilla", "bn-g", "bn-g-pacgan2")),
    "ring-lr-d-6e-3": ({"lr_g": 1e-3, "lr_d": 6e-3}, 0.25, ("vanilla", "bn-g")),
    "old-lesson-steps-16000": ({"steps": 16000, "lr_g": 2e-4}, 0.25, ("vanilla", "bn-g")),
    "steps-16000": ({"steps": 16000}, 0.25, ("vanilla", "bn-g")),
    "batch-256": ({"batch_size": 256}, 0.25, ("vanilla", "bn-g")),
    "pacgan4": ({}, 0.25, ("pacgan4",)),
}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", nargs="*", choices=sorted(VARIANTS), help="variants to run (default: all)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)  # tiny models: one thread, as in the lesson
    print(f"seeds 0..{LESSON.num_models - 1} | threads=1 | torch={torch.__version__} | device=cpu")
    print("| variant | method | modes of 25 (mean ± std) | per seed; one-sample count | % high quality | "
          "reverse KL | train s |")
    print("|---|---|---|---|---|---|---|")
    for name in args.only or VARIANTS:
        changes, final, methods = VARIANTS[name]
        base = dataclasses.replace(LESSON, **changes)
        for key in methods:
            r = run_method(METHODS[key], "grid", base, final_steps=int(base.steps * final))
            s = r.summary()
            print(f"| {name} | {r.method.name} | {s['modes'][0]:.1f} ± {s['modes'][1]:.1f} | "
                  f"{[m['modes'] for m in r.metrics]}; {s['modes_any'][0]:.1f} | {100 * s['high_quality'][0]:.1f} | "
                  f"{s['reverse_kl'][0]:.2f} | {r.seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
