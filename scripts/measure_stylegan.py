"""Measure a StyleGAN checkpoint as lesson 7 does and write the figures as JSON.

    python scripts/measure_stylegan.py --json stylegan_report.json          # the shipped checkpoint
    python scripts/measure_stylegan.py --checkpoint runs/x.pt --n 300        # a run in progress

The figures (``coursekit.stylegan_report.stylegan_report``): validity and the
shares of each shape, colour and texture of 1,000 samples; precision and recall
against real images in the space of measured attributes, for each ψ; and the
style-mixing table of 1,000 (A, B) pairs at every crossover, per attribute,
with the number of pairs whose parents differ in it.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from coursekit.stylegan import WEIGHTS, load_stylegan
from coursekit.stylegan_report import stylegan_report


def summary(report: dict, crossover: int) -> str:
    """A few lines for a terminal: samples, precision/recall, and the mixing row at ``crossover``."""
    s = report["samples"]
    row = next(r for r in report["mixing"] if r["crossover"] == crossover)
    mix = " ".join(f"{k}={v:.2f}({row['differing_pairs'][k]})" for k, v in row["per_attribute"].items())
    return (f"valid {s['valid']:.3f} | shape {s['shape']} | texture {s['texture']} | colour {s['colour']}\n"
            f"precision {report['precision']:.3f} recall {report['recall']:.3f}\n"
            f"crossover {crossover}: taken from A (pairs that differ): {mix}; "
            f"silhouette {row['silhouette_from_a']:.2f}({row['silhouette_pairs']})")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, default=WEIGHTS)
    p.add_argument("--json", type=Path, help="write the report here")
    p.add_argument("--n", type=int, default=1000, help="samples and pairs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--crossover", type=int, default=4, help="the crossover summarised on the terminal")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    G, _, meta = load_stylegan(args.checkpoint, with_discriminator=True)
    report = stylegan_report(G, args.n, args.seed, meta.get("shapes", "lesson7"))
    report["checkpoint"] = {"path": args.checkpoint.name, **{k: meta.get(k) for k in
                            ("command", "seed", "steps", "images_seen", "train_seconds")}}
    print(summary(report, args.crossover))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
