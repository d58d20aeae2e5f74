"""Time to quality: training seconds until a DCGAN draws ≥ 80 % classifier-confident digits, all ten of them.

Two runs on the same images (the offline MNIST subset, 4,000 training digits):

* **lesson** — lesson 4's DCGAN (``DCGANGenerator(ngf=32)``/``DeepDCGANDiscriminator(ndf=16)``,
  DCGAN initialisation) trained by ``coursekit.train.GANTrainer`` (logits, the
  dataset held as one tensor) with the lesson's settings: batch 64, Adam with lr
  4e-4 for G and 2e-4 for D, β = (0.5, 0.999), R1 on real data with γ = 1, probed through
  an EMA of G's weights (decay 0.999, ``coursekit.race.ema_generator``). ``--r1 0`` gives the
  lesson's settings of 2026-12-07 before R1; ``--r1 0 --ndf 32 --batch 32 --lr-g 2e-4 --ema 0``
  its settings before 2026-12-07; ``--d dcgan`` trains the
  generator against the two-conv ``DCGANDiscriminator`` (before 2026-11-30);
* **chapter** — a DCGAN written the way the chapter this course grew from
  writes one, as the course specification describes it: a Linear projection to
  256×7×7 and two ConvTranspose layers in G; four stride-2 3×3 convolutions in
  D, which end at 2×2 (so the last Linear takes 128·2·2 inputs: the chapter's
  ``Linear(128, 1)`` crashes), PyTorch's default initialisation, ``nn.Sigmoid``
  + ``nn.BCELoss``, and a shuffling ``DataLoader`` (``bench_trainer.TextbookLoop``).
  The chapter's code itself is not in this repository; this is a reconstruction.

The chapter's uses Adam 2e-4 for both, β = (0.5, 0.999), batch 64. Every ``--every`` steps, outside
the timed region, the generator draws ``--n-eval`` samples and the MNIST
classifier (``coursekit.features``) reads them; the clock stops at the first
probe where the share with top probability ≥ 0.9 reaches ``--target`` *and*
every digit is at least ``--min-class`` of the samples. The lower shares of
``--ladder`` are timed on the way, so a run that never reaches the target still
gives ratios at the shares both runs reach. Confidence alone is not
quality: early in training a collapsed generator that draws one stroke-like
"1" again and again is 98 % confident. The
chapter's run is cut at ``--cap`` × the lesson's time to the highest share the
lesson reached: where it has not reached a share by then, the printed speed-up
is a lower bound (">").

    python bench/bench_time_to_quality.py                    # threads: 1, as the lessons use; about 15 min
    python bench/bench_time_to_quality.py --max-seconds 60 --every 100   # a short smoke run
    python bench/bench_time_to_quality.py --lesson-only --ngf 64 --batch 64    # other settings of the lesson's DCGAN
    python bench/bench_time_to_quality.py --lesson-only --d dcgan              # against the two-conv discriminator
    python bench/bench_time_to_quality.py --chapter-only --max-seconds 3600    # the chapter's run alone, uncapped
    python bench/bench_time_to_quality.py --seeds 0,1,2 --cap 12               # three seeds, ratios side by side
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_trainer import BETAS, TextbookLoop, TrainerLoop

from coursekit.data import load_mnist
from coursekit.features import load_mnist_classifier, mnist_features
from coursekit.models import DCGANDiscriminator, DCGANGenerator, DeepDCGANDiscriminator
from coursekit.race import ema_generator
from coursekit.train import GANTrainer, TrainConfig


class ChapterGenerator(nn.Module):
    """``z [B, 100] -> [B, 1, 28, 28]``: Linear to 256×7×7, then two ConvTranspose layers."""

    def __init__(self, nz: int = 100):
        super().__init__()
        self.nz = nz
        self.project = nn.Sequential(nn.Linear(nz, 256 * 7 * 7), nn.BatchNorm1d(256 * 7 * 7), nn.ReLU())
        self.net = nn.Sequential(
            nn.ConvTranspose2d(256, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.ReLU(),  # [B,256,7,7] -> [B,128,14,14]
            nn.ConvTranspose2d(128, 1, 4, 2, 1), nn.Tanh(),  # [B,128,14,14] -> [B,1,28,28]
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.project(z).view(-1, 256, 7, 7))


class ChapterDiscriminator(nn.Module):
    """``[B, 1, 28, 28] -> logits [B, 1]``: four stride-2 3×3 convs, 28 → 14 → 7 → 4 → 2."""

    def __init__(self):
        super().__init__()
        chans = [1, 32, 64, 128, 128]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(itertools.pairwise(chans)):
            layers += [nn.Conv2d(a, b, 3, 2, 1)]  # [B, a, s, s] -> [B, b, ceil(s/2), ceil(s/2)]
            layers += ([nn.BatchNorm2d(b)] if i else []) + [nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(128 * 2 * 2, 1)  # the chapter's Linear(128, 1) assumes 1×1 and crashes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


class LessonLoop(TrainerLoop):
    """Lesson 4's training: ``GANTrainer`` with its own learning rates, probed through an EMA of G (if ``ema`` > 0)."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, images: torch.Tensor, batch: int,
                 lr_g: float, lr_d: float, ema: float, seed: int, r1: float = 0.0):
        self.probe, self.every = None, 0
        cfg = TrainConfig(steps=0, batch_size=batch, lr_g=lr_g, lr_d=lr_d, betas=BETAS, loss="bce", r1_weight=r1,
                          seed=seed, progress=False)
        self.trainer = GANTrainer(generator, discriminator, images, cfg, device="cpu")
        self.G = ema_generator(self.trainer, ema).module if ema > 0 else self.trainer.generator


def probe_quality(G: nn.Module, classifier, n: int, seed: int) -> tuple[float, float]:
    """Of ``n`` samples of ``G`` (eval mode, fixed z): share with top probability ≥ 0.9, smallest class share."""
    was_training = G.training
    G.eval()
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, G.nz, generator=gen)
    with torch.no_grad():
        images = torch.cat([G(z[i:i + 500]) for i in range(0, n, 500)])
    G.train(was_training)
    _, probs = mnist_features(images.float().contiguous(), classifier=classifier, progress=False)
    counts = torch.bincount(probs.argmax(dim=1), minlength=10)
    return (probs.max(dim=1).values >= 0.9).float().mean().item(), counts.min().item() / n


def time_to_target(loop, classifier, target: float, min_class: float, every: int, max_seconds: float, n_eval: int,
                   seed: int, name: str) -> list[tuple[int, float, float, float]]:
    """Train ``loop`` in chunks of ``every`` steps until the samples meet the targets or time runs out.

    Returns the probes: ``(step, training seconds, confident share, smallest digit share)``.
    """
    spent, trace = 0.0, []
    while spent < max_seconds:
        spent += loop.run(every)
        share, smallest = probe_quality(loop.G, classifier, n_eval, seed)
        trace.append((loop.step, round(spent, 1), round(share, 3), round(smallest, 3)))
        print(f"  {name:8s} step {loop.step:6d}  {spent:7.1f} s  confident {share:6.1%}  "
              f"smallest digit {smallest:5.1%}", flush=True)
        if share >= target and smallest >= min_class:
            break
    return trace


def first_reached(trace: list[tuple[int, float, float, float]], share: float, min_class: float):
    """The first probe ``(step, seconds, ...)`` with at least ``share`` confident and every digit ≥ ``min_class``."""
    return next((t for t in trace if t[2] >= share and t[3] >= min_class), None)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--target", type=float, default=0.8, help="share of samples with confidence >= 0.9")
    p.add_argument("--ladder", default="0.5,0.6,0.7,0.75", help="lower shares also reported, comma-separated")
    p.add_argument("--min-class", type=float, default=0.025, help="smallest share of any digit (uniform: 0.1)")
    p.add_argument("--every", type=int, default=500, help="steps between probes")
    p.add_argument("--n-eval", type=int, default=1000, help="samples per probe")
    p.add_argument("--max-seconds", type=float, default=2400.0, help="training-time limit for the lesson's DCGAN")
    p.add_argument("--cap", type=float, default=3.0,
                   help="the chapter's run stops at this multiple of the lesson's time to its best share")
    p.add_argument("--ngf", type=int, default=32, help="lesson run: generator width (the lesson's 32)")
    p.add_argument("--ndf", type=int, default=16, help="lesson run: discriminator width (the lesson's 16)")
    p.add_argument("--batch", type=int, default=64, help="lesson run: batch size (the lesson's 64)")
    p.add_argument("--lr-g", type=float, default=4e-4, help="lesson run: G's learning rate (the lesson's 4e-4)")
    p.add_argument("--lr-d", type=float, default=2e-4, help="lesson run: D's learning rate (the lesson's 2e-4)")
    p.add_argument("--r1", type=float, default=1.0, help="lesson run: R1 weight γ on real data (the lesson's 1)")
    p.add_argument("--ema", type=float, default=0.999,
                   help="lesson run: probe an EMA of G with this decay (the lesson's 0.999; 0: the last iterate)")
    p.add_argument("--d", choices=("deep", "dcgan"), default="deep",
                   help="lesson run: discriminator, the lesson's DeepDCGANDiscriminator or the two-conv "
                        "DCGANDiscriminator")
    p.add_argument("--lesson-only", action="store_true", help="time the lesson's DCGAN only, no chapter run")
    p.add_argument("--chapter-only", action="store_true",
                   help="time the chapter's DCGAN only, for --max-seconds (e.g. beside a --lesson-only run)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", default=None, help="several seeds in one run, comma-separated (e.g. 0,1,2)")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    shares = sorted({float(x) for x in args.ladder.split(",") if x.strip()} | {args.target})
    if not all(0 < x <= 1 for x in shares):
        p.error("--target and --ladder must be in (0, 1]")
    if args.lesson_only and args.chapter_only:
        p.error("--lesson-only and --chapter-only exclude each other")
    if args.seeds:
        return several_seeds(argv or [], [int(x) for x in args.seeds.split(",") if x.strip()], args.target, args.json)
    torch.set_num_threads(args.threads)
    print(f"seed={args.seed} | threads={torch.get_num_threads()} | torch={torch.__version__} | device=cpu | "
          f"target: {args.target:.0%} of {args.n_eval} samples with confidence >= 0.9 and every digit >= "
          f"{args.min_class:.1%} of them, probed every {args.every} steps")
    images, _ = load_mnist(train=True, offline=True)
    classifier = load_mnist_classifier("cpu")

    def chapter_trace(target: float, seconds: float) -> list[tuple[int, float, float, float]]:
        """The chapter's DCGAN and loop, seeded like the lesson's run, timed to ``target`` or ``seconds``."""
        torch.manual_seed(args.seed)
        chapter = TextbookLoop(ChapterGenerator(), ChapterDiscriminator(), images)
        return time_to_target(chapter, classifier, target, args.min_class, args.every, seconds,
                              args.n_eval, args.seed, "chapter")

    if args.chapter_only:
        theirs = chapter_trace(args.target, args.max_seconds)
        for x in shares:
            b = first_reached(theirs, x, args.min_class)
            print(f"{x:5.0%}: " + (f"{b[1]:.0f} s ({b[0]} steps)" if b else f"not reached in {theirs[-1][1]:.0f} s"))
        return save({"lesson": None, "chapter": theirs, "rows": []}, args.json)

    torch.manual_seed(args.seed)
    D = (DeepDCGANDiscriminator if args.d == "deep" else DCGANDiscriminator)(ndf=args.ndf)
    lesson = LessonLoop(DCGANGenerator(nz=100, ngf=args.ngf), D, images, batch=args.batch, lr_g=args.lr_g,
                        lr_d=args.lr_d, ema=args.ema, seed=args.seed, r1=args.r1)
    print(f"lesson's DCGAN: ngf={args.ngf}, {type(D).__name__}(ndf={args.ndf}), batch {args.batch}, "
          f"lr G {args.lr_g:g} / D {args.lr_d:g}, R1 γ {args.r1:g}, "
          + (f"EMA {args.ema:g}" if args.ema > 0 else "last iterate"))
    ours = time_to_target(lesson, classifier, args.target, args.min_class, args.every, args.max_seconds,
                          args.n_eval, args.seed, "lesson")
    reached = [x for x in shares if first_reached(ours, x, args.min_class)]
    out: dict = {"lesson": ours, "chapter": None, "rows": []}
    if args.lesson_only:
        ok = [t for t in ours if t[3] >= args.min_class]
        print(f"best confident share with every digit >= {args.min_class:.1%}: "
              + (f"{max(t[2] for t in ok):.1%}" if ok else "none (no probe had every digit)"))
    elif not reached:
        print(f"the lesson's DCGAN reached none of {shares} in {args.max_seconds:.0f} s: no ratio")
    else:
        best = reached[-1]
        budget = args.cap * first_reached(ours, best, args.min_class)[1]
        out["chapter"] = theirs = chapter_trace(best, budget)
        print("\ntraining seconds until >= X of samples are confident (>= 0.9) and every digit >= "
              f"{args.min_class:.1%}:")
        print(f"{'X':>5} | {'lesson (trainer)':>18} | {'chapter (loop)':>18} | speed-up")
        for x in shares:
            a, b = first_reached(ours, x, args.min_class), first_reached(theirs, x, args.min_class)
            if a is None:
                print(f"{x:5.0%} | {'not reached':>18} | {'-':>18} | -")
                out["rows"].append({"share": x, "lesson_s": None, "chapter_s": None, "speedup": None})
                continue
            chap = f"{b[1]:.0f} s ({b[0]} steps)" if b else f"> {theirs[-1][1]:.0f} s"
            ratio = b[1] / a[1] if b else theirs[-1][1] / a[1]
            print(f"{x:5.0%} | {f'{a[1]:.0f} s ({a[0]} steps)':>18} | {chap:>18} | {'' if b else '> '}{ratio:.2f}x")
            out["rows"].append({"share": x, "lesson_s": a[1], "chapter_s": b[1] if b else None,
                                "speedup": ratio, "lower_bound": b is None})
        if best < args.target:
            print(f"the lesson's DCGAN did not reach the {args.target:.0%} target in {args.max_seconds:.0f} s "
                  f"(best share reached: {best:.0%})")
    return save(out, args.json)


def several_seeds(argv: list[str], seeds: list[int], target: float, json_path: str | None) -> dict:
    """Run :func:`main` once per seed (same arguments otherwise), then print the ratios at ``target`` side by side."""
    drop = {"--seeds", "--json", "--seed"}
    base = [a for i, a in enumerate(argv) if a not in drop and (i == 0 or argv[i - 1] not in drop)]
    base = [a for a in base if not a.startswith(("--seeds=", "--json=", "--seed="))]
    per_seed = {}
    for seed in seeds:
        print(f"\n===== seed {seed} =====", flush=True)
        per_seed[seed] = main(base + ["--seed", str(seed)])
    print(f"\nat {target:.0%} (every digit present), seed by seed:")
    print(f"{'seed':>4} | {'lesson':>16} | {'chapter':>16} | speed-up")
    for seed, out in per_seed.items():
        row = next((r for r in out["rows"] if abs(r["share"] - target) < 1e-9), None)
        if row is None or row["lesson_s"] is None:
            print(f"{seed:4d} | {'not reached':>16} | {'-':>16} | -")
            continue
        chapter = f"{row['chapter_s']:.0f} s" if row["chapter_s"] is not None else "cut"
        print(f"{seed:4d} | {row['lesson_s']:14.0f} s | {chapter:>16} | "
              f"{'> ' if row.get('lower_bound') else ''}{row['speedup']:.2f}x")
    return save({"seeds": {str(k): v for k, v in per_seed.items()}}, json_path)


def save(out: dict, path: str | None) -> dict:
    """Write ``out`` as JSON to ``path`` (if given) and return it."""
    if path:
        Path(path).write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
