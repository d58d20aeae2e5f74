"""Train the small StyleGAN that lesson 7 loads (``coursekit/weights/stylegan_shapes.pt``).

Data: ``coursekit.data.make_shapes``, a fresh batch every step (seeded by the
step, so a run is reproducible and never sees the same image twice).
Losses: non-saturating (Goodfellow et al. 2014) with lazy R1 on real images
(Mescheder et al. 2018; γ = 10, every ``r1_every`` D steps, scaled by it, as in
StyleGAN2), Adam β = (0, 0.99), style-mixing regularisation p = 0.9, w̄ with
β = 0.995, and an exponential moving average of G's weights (the shipped G),
as in Karras et al. 2019's official code.

    python scripts/train_stylegan.py --steps 3000            # train, save, evaluate
    python scripts/train_stylegan.py --steps 3000 --resume   # continue an interrupted run
    python scripts/train_stylegan.py --eval-only             # re-measure the shipped checkpoint

Every ``--save-every`` steps the training state (G, G_ema, D, both Adams) is
written to ``--state`` and the shipped checkpoint (G_ema + D, a few MB) to
``--out``. At the end the script measures the checkpoint with
``coursekit.shape_attributes`` and writes ``coursekit/weights/README_stylegan.md``.
"""
from __future__ import annotations

import argparse
import copy
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from coursekit.data import make_shapes
from coursekit.losses import d_loss_bce, g_loss_nonsaturating, r1_penalty
from coursekit.runtime import runs_dir, seed_everything
from coursekit.shapes import RANGES
from coursekit.stylegan import (
    WEIGHTS,
    StyleDiscriminator,
    StyleGANConfig,
    StyleGenerator,
    load_stylegan,
    mixing_regularised_ws,
    save_stylegan,
)


DEFAULT_WIDTHS = StyleGANConfig().channels  # synthesis widths at 4, 8, 16, 32 px
DEFAULT_D_WIDTHS = StyleGANConfig().d_channels  # discriminator widths at 32, 16, 8, 4 px


def _widths(text: str) -> tuple[int, ...]:
    """``"64,64,64,64"`` → ``(64, 64, 64, 64)``: one positive width per resolution 4, 8, 16, 32."""
    widths = tuple(int(x) for x in text.split(","))
    if len(widths) != len(DEFAULT_WIDTHS) or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"expected {len(DEFAULT_WIDTHS)} positive widths, got {text!r}")
    return widths


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.002)
    p.add_argument("--r1-gamma", type=float, default=10.0)
    p.add_argument("--r1-every", type=int, default=16)
    p.add_argument("--mixing-prob", type=float, default=0.9)
    p.add_argument("--ema-kimg", type=float, default=5.0, help="half-life of G's weight average, in 1000 images")
    p.add_argument("--shapes", choices=tuple(RANGES), default="small",
                   help="size range of the training shapes (coursekit.shapes.SMALL or LARGE)")
    p.add_argument("--channels", type=_widths, default=DEFAULT_WIDTHS,
                   help="synthesis widths at 4, 8, 16 and 32 px, comma-separated (default "
                        + ",".join(map(str, DEFAULT_WIDTHS)) + ")")
    p.add_argument("--d-channels", type=_widths, default=DEFAULT_D_WIDTHS,
                   help="discriminator widths at 32, 16, 8 and 4 px, comma-separated (default "
                        + ",".join(map(str, DEFAULT_D_WIDTHS)) + ")")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--save-every", type=int, default=250)
    p.add_argument("--out", type=Path, default=WEIGHTS)
    p.add_argument("--state", type=Path, default=runs_dir() / "stylegan_shapes_state.pt",
                   help="training state for --resume (default: runs/stylegan_shapes_state.pt, kept across restarts)")
    p.add_argument("--resume", action="store_true", help="continue from --state (same --channels, --d-channels and --shapes)")
    p.add_argument("--eval-only", action="store_true", help="only measure --out and rewrite its README")
    p.add_argument("--eval-n", type=int, default=1000, help="samples / mixes for the final measurements")
    return p.parse_args(argv)


def real_batch(step: int, batch: int, seed: int, shapes: str = "small") -> torch.Tensor:
    """The step's batch of real shapes: fixed by (seed, step)."""
    images, _ = make_shapes(batch, seed=seed * 1_000_003 + step + 1, **RANGES[shapes])
    return images


def load_state(args: argparse.Namespace) -> dict:
    """The saved training state at ``args.state``; stops with a message if it is missing or was
    trained with other ``--channels``, ``--d-channels`` or ``--shapes`` than ``args``."""
    if not args.state.exists():
        raise SystemExit(f"--resume: no saved state at {args.state} (pass the --state of the run to continue)")
    s = torch.load(args.state, map_location="cpu", weights_only=False)
    saved = {k: (tuple(s[k]) if k in s else None) for k in ("channels", "d_channels")} | {"shapes": s.get("shapes")}
    wanted = {"channels": tuple(args.channels), "d_channels": tuple(args.d_channels), "shapes": args.shapes}
    differ = [k for k in saved if saved[k] is not None and saved[k] != wanted[k]]
    config = StyleGANConfig(channels=args.channels, d_channels=args.d_channels)
    for key, net, model in (("channels", "G", StyleGenerator), ("d_channels", "D", StyleDiscriminator)):
        if saved[key] is None:  # a state saved before the widths were recorded: compare the tensors' shapes
            shapes = {k: v.shape for k, v in model(config).state_dict().items()}
            if any(shapes.get(k) != v.shape for k, v in s[net].items()):
                differ.append(key)
    if differ:
        runs = " ; ".join(s.get("commands", ["(not recorded)"]))
        names = ", ".join("--" + k.replace("_", "-") for k in differ)
        raise SystemExit(f"--resume: the state at {args.state} was trained with other {names} "
                         f"than this command; resume it with the options of: {runs}")
    return s


def train(args: argparse.Namespace) -> dict:
    seed_everything(args.seed)
    config = StyleGANConfig(channels=args.channels, d_channels=args.d_channels)
    G, D = StyleGenerator(config), StyleDiscriminator(config)
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    opt_g = torch.optim.Adam(G.parameters(), lr=args.lr, betas=(0.0, 0.99), eps=1e-8)
    opt_d = torch.optim.Adam(D.parameters(), lr=args.lr, betas=(0.0, 0.99), eps=1e-8)
    start, elapsed, log = 0, 0.0, []
    command = "python scripts/train_stylegan.py " + " ".join(shlex.quote(a) for a in args.argv)
    commands = [command]  # every command that contributed steps, in order (a resumed run appends)
    if args.resume:
        s = load_state(args)
        for obj, key in ((G, "G"), (G_ema, "G_ema"), (D, "D"), (opt_g, "opt_g"), (opt_d, "opt_d")):
            obj.load_state_dict(s[key])
        start, elapsed, log = s["step"], s["elapsed"], s["log"]
        commands = s.get("commands", ["(earlier command not recorded)"]) + [f"{command}  # from step {start}"]
        torch.set_rng_state(s["rng"])
        print(f"resumed from {args.state} at step {start}")
    t0 = time.perf_counter() - elapsed
    beta_ema = 0.5 ** (args.batch / (args.ema_kimg * 1000))
    last_r1 = 0.0
    for step in range(start, args.steps):
        real = real_batch(step, args.batch, args.seed, args.shapes)  # [B, 3, 32, 32]
        # --- discriminator: non-saturating loss, lazy R1 on real images
        z, z2 = torch.randn(args.batch, config.z_dim), torch.randn(args.batch, config.z_dim)
        with torch.no_grad():
            ws, _ = mixing_regularised_ws(G, z, z2, args.mixing_prob)
            fake = G.synthesis(ws)
        d_loss = d_loss_bce(D(real), D(fake))
        if step % args.r1_every == 0:  # lazy R1: ‖∇D‖² on real images, every r1_every steps (logged: its last value)
            r1 = r1_penalty(D, real)
            d_loss = d_loss + 0.5 * args.r1_gamma * r1 * args.r1_every
            last_r1 = r1.item()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        # --- generator: non-saturating loss with style-mixing regularisation
        z, z2 = torch.randn(args.batch, config.z_dim), torch.randn(args.batch, config.z_dim)
        ws, w = mixing_regularised_ws(G, z, z2, args.mixing_prob)
        g_loss = g_loss_nonsaturating(D(G.synthesis(ws)))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        G.update_w_avg(w)
        # --- G_ema: exponential moving average of the weights (ramped up over the first steps)
        beta = min(beta_ema, (step + 1) / (step + 10))
        with torch.no_grad():
            for p_ema, p in zip(G_ema.parameters(), G.parameters()):
                p_ema.lerp_(p, 1.0 - beta)
            for b_ema, b in zip(G_ema.buffers(), G.buffers()):
                b_ema.copy_(b)
        if (step + 1) % args.log_every == 0 or step + 1 == args.steps:
            rec = {
                "step": step + 1,
                "d_loss": round(d_loss.item(), 4),
                "g_loss": round(g_loss.item(), 4),
                "r1": round(last_r1, 4),
                "time": round(time.perf_counter() - t0, 1),
            }
            log.append(rec)
            print(json.dumps(rec), flush=True)
        if (step + 1) % args.save_every == 0 or step + 1 == args.steps:
            elapsed = time.perf_counter() - t0
            args.state.parent.mkdir(parents=True, exist_ok=True)
            torch.save(
                {"G": G.state_dict(), "G_ema": G_ema.state_dict(), "D": D.state_dict(), "opt_g": opt_g.state_dict(),
                 "opt_d": opt_d.state_dict(), "step": step + 1, "elapsed": elapsed, "log": log,
                 "rng": torch.get_rng_state(), "commands": commands,
                 "channels": config.channels, "d_channels": config.d_channels, "shapes": args.shapes},
                args.state,
            )
            meta = {"seed": args.seed, "shapes": args.shapes, "steps": step + 1, "batch": args.batch,
                    "train_seconds": round(elapsed, 1), "command": " ; ".join(commands), "last_log": log[-1:]}
            save_stylegan(args.out, G_ema, D, meta)
    return {"train_seconds": round(time.perf_counter() - t0, 1), "log": log}


def evaluate(G: StyleGenerator, n: int, seed: int, shapes: str = "small") -> dict:
    """Measure ``G`` (trained on ``shapes``): validity, attribute spread, and the style-mixing table."""
    from coursekit.shape_attributes import MAX_AREAS, mixing_table, sample_report

    max_area = MAX_AREAS[shapes]  # the validity bound of the data it was trained on
    torch.manual_seed(seed)
    report = {"samples": sample_report(G, n, max_area=max_area)}
    report["mixing"] = mixing_table(G, n, crossovers=range(G.num_ws + 1), seed=seed, max_area=max_area)
    return report


def write_readme(path: Path, meta: dict, report: dict) -> None:
    rows = "\n".join(
        f"| {r['crossover']} | {r['coarse_from_a']:.3f} | {r['fine_from_b']:.3f} | {r['coarse_from_b']:.3f} "
        f"| {r['fine_from_a']:.3f} | {r['valid']:.3f} |"
        for r in report["mixing"]
    )
    text = f"""# `{path.name}`: {"the small StyleGAN of lesson 7" if path.name == WEIGHTS.name else "a small StyleGAN"}

Trained by `scripts/train_stylegan.py` on `coursekit.data.make_shapes` (32×32,
{meta.get('shapes', 'small')} shapes, a fresh seeded batch every step). Contents: the config, `G` (the exponential
moving average of the generator's weights, with its running w̄), `D` (the
discriminator, for fine-tuning) and `meta`.

- command(s), in order (a resumed run appends its command and the step it started from):
  `{meta.get('command')}`
- seed: {meta.get('seed')}; steps completed: {meta.get('steps')} (the run saves every `--save-every`
  steps, so it can be stopped early and resumed with `--resume`); batch: {meta.get('batch')}
- training time: {meta.get('train_seconds')} s wall clock on a 2-core CPU, which may have been shared with other jobs
- R1 weight γ: the script's default is the paper's 10; a command with `--r1-gamma` overrides it from the
  step it resumed at. R1 sums the squared gradient over all pixels, so at 32×32 the paper's γ (set for
  1024×1024) is a much stronger constraint (StyleGAN2-ADA's rule of thumb γ ≈ 0.0002·res²/batch gives
  ≈ 0.006 here). The command(s) above give the γ of each stretch of the run.
- last log: `{json.dumps(meta.get('last_log'))}`

## Measured (by `coursekit.shape_attributes`, {report['samples']['n']} samples, ψ = 1, random noise)

- valid images (one shape found, plausible size and fill): {report['samples']['valid']:.3f}
- shapes / colours / textures measured (fraction of valid samples):
  `{json.dumps(report['samples']['shape'])}`, `{json.dumps(report['samples']['colour'])}`,
  `{json.dumps(report['samples']['texture'])}`

## Style mixing: how often the mix keeps each parent's attributes

Crossover c: layers < c take A's w, layers ≥ c take B's (0 = pure B,
{len(report['mixing']) - 1} = pure A). Coarse = shape, position and size; fine = colour and texture.
Fractions of mixes whose A, B and mix were all valid.

| crossover | A's coarse kept | B's fine kept | B's coarse | A's fine | valid |
|---|---|---|---|---|---|
{rows}
"""
    path.with_name("README_stylegan.md").write_text(text)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)  # recorded in the checkpoint's command
    torch.set_num_threads(args.threads)
    print(f"seed={args.seed} | steps={args.steps} | batch={args.batch} | out={args.out}")
    if not args.eval_only:
        train(args)
    G, _, meta = load_stylegan(args.out, with_discriminator=True)
    report = evaluate(G, args.eval_n, args.seed, meta.get("shapes", "small"))
    print(json.dumps(report, indent=1))
    write_readme(args.out, meta, report)
    print(f"wrote {args.out} and {args.out.with_name('README_stylegan.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
