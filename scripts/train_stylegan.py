"""Train the small StyleGAN that lesson 7 loads (``coursekit/weights/stylegan_shapes.pt``).

Data: ``coursekit.data.make_shapes`` (by default lesson 7's 16×16 set,
``coursekit.shapes.LESSON7``), a fresh batch every step (seeded by the step, so
a run is reproducible and never sees the same image twice). The step is
``coursekit.stylegan_train.train_step`` (the one lesson 7 uses): non-saturating
loss, lazy R1 on real images, Adam β = (0, 0.99), style-mixing regularisation,
w̄, and an exponential moving average of G's weights (the shipped G).

    python scripts/train_stylegan.py --steps 30000            # train, save, evaluate
    python scripts/train_stylegan.py --steps 30000 --resume   # continue an interrupted run
    python scripts/train_stylegan.py --eval-only              # re-measure the shipped checkpoint

Every ``--save-every`` steps the training state (G, G_ema, D, both Adams) is
written to ``--state`` and the shipped checkpoint (G_ema + D, a few MB) to
``--out``. At the end the script measures the checkpoint with
``coursekit.shape_attributes`` and writes a README beside it (:func:`readme_path`).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from coursekit.checkpoint import atomic_save
from coursekit.data import make_shapes
from coursekit.runtime import runs_dir, seed_everything
from coursekit.shape_attributes import COARSE, FINE
from coursekit.shapes import RANGES
from coursekit.stylegan import (
    WEIGHTS,
    StyleDiscriminator,
    StyleGANConfig,
    StyleGenerator,
    check_crossovers,
    load_stylegan,
    save_stylegan,
)
from coursekit.stylegan_report import stylegan_report
from coursekit.stylegan_train import StyleGANRecipe, StyleGANTraining, train_step

DEFAULT_WIDTHS = StyleGANConfig().channels  # synthesis widths at 4, 8, 16 px
DEFAULT_D_WIDTHS = StyleGANConfig().d_channels  # discriminator widths at 16, 8, 4 px


def _widths(text: str) -> tuple[int, ...]:
    """``"64,64,32"`` → ``(64, 64, 32)``: one positive width per resolution (4, 8, 16, … up to the image size)."""
    widths = tuple(int(x) for x in text.split(","))
    if len(widths) < 2 or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"expected two or more positive widths, got {text!r}")
    return widths


def _crossovers(text: str) -> tuple[int, ...]:
    """``"2,3,4,4,5"`` → ``(2, 3, 4, 4, 5)``: the crossovers style mixing draws from (repeats weigh more)."""
    try:
        return check_crossovers(int(x) for x in text.split(","))
    except ValueError as e:  # not integers, or below 1
        raise argparse.ArgumentTypeError(f"expected crossovers >= 1, got {text!r}") from e


def image_size(shapes: str) -> int:
    """The image size of a ``coursekit.shapes.RANGES`` preset (32 unless it says otherwise)."""
    return RANGES[shapes].get("size", 32)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    recipe = StyleGANRecipe()
    p.add_argument("--steps", type=int, default=30000)
    p.add_argument("--batch", type=int, default=recipe.batch)
    p.add_argument("--lr", type=float, default=recipe.lr)
    p.add_argument("--r1-gamma", type=float, default=recipe.r1_gamma)
    p.add_argument("--r1-every", type=int, default=recipe.r1_every)
    p.add_argument("--mixing-prob", type=float, default=recipe.mixing_prob)
    p.add_argument("--mixing-crossovers", type=_crossovers, default=None,
                   help="crossovers style mixing draws from, comma-separated, repeats weigh more "
                        "(default: uniform over 1..num_ws-1)")
    p.add_argument("--ema-kimg", type=float, default=recipe.ema_kimg,
                   help="half-life of G's weight average, in 1000 images")
    p.add_argument("--shapes", choices=tuple(RANGES), default="lesson7",
                   help="the training shapes: a coursekit.shapes.RANGES preset (default lesson7: 16×16)")
    p.add_argument("--channels", type=_widths, default=DEFAULT_WIDTHS,
                   help="synthesis widths at 4, 8, 16 (, 32) px, comma-separated (default "
                        + ",".join(map(str, DEFAULT_WIDTHS)) + ")")
    p.add_argument("--d-channels", type=_widths, default=DEFAULT_D_WIDTHS,
                   help="discriminator widths from the image size down to 4 px, comma-separated (default "
                        + ",".join(map(str, DEFAULT_D_WIDTHS)) + ")")
    p.add_argument("--const-maps-from", type=int, default=StyleGANConfig().const_maps_from,
                   help="layers at this resolution and above add a learned constant map scaled by their style "
                        "(default 0: none, the shipped model)")
    p.add_argument("--const-maps-tile", type=int, default=StyleGANConfig().const_maps_tile,
                   help="make each constant map a repeated TILE×TILE tile (e.g. 2: period-2 patterns, no position; "
                        "default 0: a full map)")
    p.add_argument("--mapping-layers", type=int, default=StyleGANConfig().mapping_layers,
                   help="FC layers of the mapping network (default 8, the paper's; StyleGAN2-ADA uses 2 for CIFAR-10)")
    p.add_argument("--mapping-lr-mul", type=float, default=StyleGANConfig().mapping_lr_mul,
                   help="learning-rate multiplier of the mapping network (default 0.01, the paper's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--save-every", type=int, default=250)
    p.add_argument("--out", type=Path, default=WEIGHTS)
    p.add_argument("--state", type=Path, default=runs_dir() / "stylegan_shapes_state.pt",
                   help="training state for --resume (default: runs/stylegan_shapes_state.pt, kept across restarts)")
    p.add_argument("--resume", action="store_true",
                   help="continue from --state (same model options and --shapes)")
    p.add_argument("--eval-only", action="store_true", help="only measure --out and rewrite its README")
    p.add_argument("--eval-n", type=int, default=1000, help="samples / mixes for the final measurements")
    return p.parse_args(argv)


def real_batch(step: int, batch: int, seed: int, shapes: str = "lesson7") -> torch.Tensor:
    """The step's batch of real shapes: fixed by (seed, step)."""
    images, _ = make_shapes(batch, seed=seed * 1_000_003 + step + 1, **RANGES[shapes])
    return images


# the StyleGANConfig fields the options set; a resumed run must repeat them (and --shapes)
MODEL_OPTIONS = ("channels", "d_channels", "const_maps_from", "const_maps_tile", "mapping_layers", "mapping_lr_mul")


def config_of(args: argparse.Namespace) -> StyleGANConfig:
    """The model the options ask for (every field of :data:`MODEL_OPTIONS`; the rest at the defaults)."""
    return StyleGANConfig(**{k: getattr(args, k) for k in MODEL_OPTIONS})


def model_options(config: StyleGANConfig, shapes: str) -> dict:
    """What a saved state records of its model and data, and what ``--resume`` compares."""
    return {k: getattr(config, k) for k in MODEL_OPTIONS} | {"shapes": shapes}


def load_state(args: argparse.Namespace) -> dict:
    """The saved training state at ``args.state``; stops with a message if it is missing or was
    trained with other model options (:data:`MODEL_OPTIONS`) or ``--shapes`` than ``args``."""
    if not args.state.exists():
        raise SystemExit(f"--resume: no saved state at {args.state} (pass the --state of the run to continue)")
    s = torch.load(args.state, map_location="cpu", weights_only=False)
    wanted = model_options(config_of(args), args.shapes)
    later = ("const_maps_from", "const_maps_tile", "mapping_layers", "mapping_lr_mul")  # options added after
    saved = {k: s.get(k, getattr(StyleGANConfig(), k)) if k in later else s[k] for k in wanted}  # older states
    saved = {k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()}
    differ = [k for k in saved if saved[k] != wanted[k]]
    if differ:
        runs = " ; ".join(s.get("commands", ["(not recorded)"]))
        names = ", ".join("--" + k.replace("_", "-") for k in differ)
        raise SystemExit(f"--resume: the state at {args.state} was trained with other {names} "
                         f"than this command; resume it with the options of: {runs}")
    return s


def recipe_of(args: argparse.Namespace) -> StyleGANRecipe:
    return StyleGANRecipe(batch=args.batch, lr=args.lr, r1_gamma=args.r1_gamma, r1_every=args.r1_every,
                          mixing_prob=args.mixing_prob, ema_kimg=args.ema_kimg,
                          mixing_crossovers=args.mixing_crossovers)


def train(args: argparse.Namespace) -> dict:
    seed_everything(args.seed)
    config = config_of(args)
    saved = load_state(args) if args.resume else None
    if config.resolution != image_size(args.shapes):
        raise SystemExit(f"--channels {args.channels} draw {config.resolution}×{config.resolution} images, "
                         f"but --shapes {args.shapes} is {image_size(args.shapes)}×{image_size(args.shapes)}")
    t = StyleGANTraining(StyleGenerator(config), StyleDiscriminator(config), recipe_of(args))
    elapsed, log = 0.0, []
    command = "python scripts/train_stylegan.py " + " ".join(shlex.quote(a) for a in args.argv)
    commands = [command]  # every command that contributed steps, in order (a resumed run appends)
    if saved is not None:
        s = saved
        t.load_state_dict(s)
        elapsed, log = s["elapsed"], s["log"]
        commands = s.get("commands", ["(earlier command not recorded)"]) + [f"{command}  # from step {t.step}"]
        torch.set_rng_state(s["rng"])
        print(f"resumed from {args.state} at step {t.step}")
    t0 = time.perf_counter() - elapsed
    last_r1 = 0.0
    while t.step < args.steps:
        losses = train_step(t, real_batch(t.step, args.batch, args.seed, args.shapes))
        last_r1 = losses.get("r1", last_r1)
        step = t.step
        if step % args.log_every == 0 or step == args.steps:
            rec = {"step": step, "d_loss": round(losses["d_loss"], 4), "g_loss": round(losses["g_loss"], 4),
                   "r1": round(last_r1, 4), "time": round(time.perf_counter() - t0, 1)}
            log.append(rec)
            print(json.dumps(rec), flush=True)
        if step % args.save_every == 0 or step == args.steps:
            elapsed = time.perf_counter() - t0
            atomic_save(t.state_dict() | {
                "elapsed": elapsed, "log": log, "rng": torch.get_rng_state(), "commands": commands,
            } | model_options(config, args.shapes), args.state)
            meta = {"seed": args.seed, "shapes": args.shapes, "steps": step, "batch": args.batch,
                    "images_seen": step * args.batch, "train_seconds": round(elapsed, 1),
                    "command": " ; ".join(commands), "recipe": dataclasses.asdict(t.recipe), "last_log": log[-1:],
                    "log": log[::max(1, len(log) // 400)]}  # at most ~400 points for the lesson's curves
            save_stylegan(args.out, t.G_ema, t.D, meta)
    return {"train_seconds": round(time.perf_counter() - t0, 1), "log": log}


def readme_path(checkpoint: Path) -> Path:
    """The README beside a checkpoint: ``README_stylegan.md`` for lesson 7's, ``README_<name>.md`` for any other."""
    name = "README_stylegan.md" if checkpoint.name == WEIGHTS.name else f"README_{checkpoint.stem}.md"
    return checkpoint.with_name(name)


def write_readme(path: Path, meta: dict, report: dict) -> None:
    """The README beside the checkpoint (:func:`readme_path`): how it was trained and what it measures."""
    rows = "\n".join(
        f"| {r['crossover']} | " + " | ".join(f"{r['per_attribute'][k]:.3f} ({r['differing_pairs'][k]})"
                                             for k in COARSE + FINE)
        + " | " + " | ".join(f"{r['from_b'][k]:.3f}" for k in FINE)
        + f" | {r['silhouette_from_a']:.3f} ({r['silhouette_pairs']}) | {r['valid']:.3f} |"
        for r in report["mixing"])
    s = report["samples"]
    psi_rows = "\n".join(f"| {t['psi']:g} | {t['precision']:.3f} | {t['recall']:.3f} | {t['valid']:.3f} |"
                         for t in report["truncation"])
    text = f"""# `{path.name}`: {"the small StyleGAN of lesson 7" if path.name == WEIGHTS.name else "a small StyleGAN"}

Trained by `scripts/train_stylegan.py` on `coursekit.data.make_shapes` (preset `{meta.get('shapes')}`, a fresh
seeded batch every step) with `coursekit.stylegan_train.train_step`. Contents: the config, `G` (the exponential
moving average of the generator's weights, with its running w̄), `D` (the discriminator) and `meta`.

- command(s), in order (a resumed run appends its command and the step it started from):
  `{meta.get('command')}`
- seed {meta.get('seed')}; {meta.get('steps')} steps of batch {meta.get('batch')}: {meta.get('images_seen')} images
- recipe: `{json.dumps(meta.get('recipe'))}`
- training time: {meta.get('train_seconds')} s wall clock on a 2-core CPU, which may have been shared with other jobs
- last log: `{json.dumps(meta.get('last_log'))}`

## Measured by `python scripts/measure_stylegan.py` ({report['n']} samples, {report['n']} pairs, seed {report['seed']})

- valid samples: {s['valid']:.3f}; shapes `{json.dumps(s['shape'])}`, textures `{json.dumps(s['texture'])}`,
  colours `{json.dumps(s['colour'])}`
- precision / recall against real images (attribute features, k = 3):

| ψ | precision | recall | valid |
|---|---|---|---|
{psi_rows}

Style mixing: for each crossover c (layers < c from A), the fraction of mixes that take each attribute from A
among the pairs whose parents differ in it (the number of such pairs in brackets), the fraction that take each
fine attribute from B among the same pairs (not 1 − from A: a mix can show a third texture), and the fraction of pairs
whose A, B and mix were all valid. Silhouette: the fraction of mixes whose mask overlaps A's more than B's (IoU),
among the pairs whose masks differ.

| c | {" | ".join(COARSE + FINE)} | {" | ".join(k + " from B" for k in FINE)} | silhouette | valid |
|---|{"---|" * (len(COARSE + FINE) + len(FINE) + 2)}
{rows}
"""
    readme_path(path).write_text(text)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)  # recorded in the checkpoint's command
    torch.set_num_threads(args.threads)
    if not args.eval_only:
        print(f"seed={args.seed} | steps={args.steps} | batch={args.batch} | out={args.out}")
        train(args)
    G, _, meta = load_stylegan(args.out, with_discriminator=True)
    report = stylegan_report(G, args.eval_n, args.seed, meta["shapes"])
    write_readme(args.out, meta, report)
    print(f"wrote {args.out} and {readme_path(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
