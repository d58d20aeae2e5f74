"""The coursekit trainer vs a plain textbook loop, on the same models and the same images.

The textbook loop is written the way the chapter this course grew from (and
many tutorials) write it: ``nn.Sigmoid`` at the end of D and ``nn.BCELoss``,
a fresh label tensor every step, batch 64, and a ``DataLoader`` with
``shuffle=True`` over a ``TensorDataset``. The trainer is
``coursekit.train.GANTrainer`` with the same Adam settings (2e-4, β = (0.5,
0.999)) and batch size. Both start from the same initial weights and see the
same number of real images; the two are run in alternating chunks so that
load from other processes hits all alike. Prints images/s (wall clock and
per CPU-second) and the ratio to the textbook loop; for the DCGAN also the
trainer with ``channels_last=True``.

    python bench/bench_trainer.py                       # DCGAN and MLP GAN on MNIST 28×28 (offline subset)
    python bench/bench_trainer.py --models dcgan --steps 200 --chunks 4 --threads 1 --json out.json

The pieces (``make_models``, ``TextbookLoop``, ``TrainerLoop``) are reusable
for time-to-quality comparisons: ``loop.run(steps, probe, every)`` calls
``probe(step, generator)`` every ``every`` steps, outside the timed region.
"""
from __future__ import annotations

import argparse
import copy
import json
import time
from collections.abc import Callable

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from coursekit.data import load_mnist
from coursekit.models import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
)
from coursekit.train import GANTrainer, TrainConfig

BATCH, LR, BETAS = 64, 2e-4, (0.5, 0.999)
Probe = Callable[[int, nn.Module], None]


def make_models(kind: str, seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """The generator and discriminator (logits) of ``kind`` = "dcgan" or "mlp", seeded."""
    torch.manual_seed(seed)
    if kind == "dcgan":
        return DCGANGenerator(nz=100), DCGANDiscriminator()
    if kind == "mlp":
        return MLPGenerator(nz=64), MLPDiscriminator()
    raise ValueError(f"kind must be 'dcgan' or 'mlp', got {kind!r}")


class TextbookLoop:
    """The chapter's loop: Sigmoid + BCELoss, fresh labels per step, a shuffling DataLoader."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, images: torch.Tensor, batch: int = BATCH):
        self.G, self.D = generator, nn.Sequential(discriminator, nn.Sigmoid())
        self.nz = generator.nz
        self.loader = DataLoader(TensorDataset(images), batch_size=batch, shuffle=True, drop_last=True)
        self.batches = iter(self.loader)
        self.criterion = nn.BCELoss()
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=LR, betas=BETAS)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=LR, betas=BETAS)
        self.step = 0

    def _next(self) -> torch.Tensor:
        try:
            (real,) = next(self.batches)
        except StopIteration:  # a new epoch
            self.batches = iter(self.loader)
            (real,) = next(self.batches)
        return real

    def run(self, steps: int, probe: Probe | None = None, every: int = 0) -> float:
        """Train ``steps`` steps; return the seconds spent training (probes excluded)."""
        spent = 0.0
        for _ in range(steps):
            t0 = time.perf_counter()
            real = self._next()
            b = real.size(0)
            real_labels, fake_labels = torch.ones(b), torch.zeros(b)  # fresh label tensors every step
            self.opt_d.zero_grad()
            d_loss_real = self.criterion(self.D(real).view(-1), real_labels)
            z = torch.randn(b, self.nz)
            fake = self.G(z)
            d_loss_fake = self.criterion(self.D(fake.detach()).view(-1), fake_labels)
            d_loss = d_loss_real + d_loss_fake
            d_loss.backward()
            self.opt_d.step()
            self.opt_g.zero_grad()
            g_loss = self.criterion(self.D(fake).view(-1), torch.ones(b))
            g_loss.backward()
            self.opt_g.step()
            self.step += 1
            spent += time.perf_counter() - t0
            if probe is not None and every and self.step % every == 0:
                probe(self.step, self.G)
        return spent


class TrainerLoop:
    """``GANTrainer`` driven in chunks, with the same interface as :class:`TextbookLoop`."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, images: torch.Tensor,
                 batch: int = BATCH, **config):
        self.probe: Probe | None = None
        self.every = 0
        cfg = TrainConfig(steps=0, batch_size=batch, lr_g=LR, lr_d=LR, betas=BETAS, progress=False, **config)
        self.trainer = GANTrainer(generator, discriminator, images, cfg, device="cpu")
        self.G = self.trainer.generator

    @property
    def step(self) -> int:
        return self.trainer.step

    def run(self, steps: int, probe: Probe | None = None, every: int = 0) -> float:
        spent = 0.0
        done = 0
        while done < steps:  # stop at each probe point so probes stay outside the timed region
            n = steps - done if not (probe and every) else min(steps - done, every - self.step % every)
            t0 = time.perf_counter()
            self.trainer.train(n)
            spent += time.perf_counter() - t0
            done += n
            if probe is not None and every and self.step % every == 0:
                probe(self.step, self.G)
        return spent


def compare(kind: str, images: torch.Tensor, steps: int, chunks: int, warmup: int, seed: int = 0) -> dict:
    """Time the loops on copies of the same initial models, alternating ``chunks`` chunks of ``steps/chunks``.

    Wall-clock and process CPU time are both recorded: on a shared machine the
    CPU time (with one thread) is the steadier measure of the work done.
    """
    g, d = make_models(kind, seed)
    fresh = lambda: (copy.deepcopy(g), copy.deepcopy(d))
    loops = {"textbook": TextbookLoop(*fresh(), images), "trainer": TrainerLoop(*fresh(), images)}
    if kind == "dcgan":
        loops["trainer_channels_last"] = TrainerLoop(*fresh(), images, channels_last=True)
    for loop in loops.values():
        loop.run(warmup)
    wall, cpu = dict.fromkeys(loops, 0.0), dict.fromkeys(loops, 0.0)
    per_chunk = max(steps // chunks, 1)
    for _ in range(chunks):
        for name, loop in loops.items():
            c0 = time.process_time()
            wall[name] += loop.run(per_chunk)
            cpu[name] += time.process_time() - c0
    n_images = per_chunk * chunks * BATCH
    out: dict = {"model": kind, "steps": per_chunk * chunks, "batch": BATCH, "images": n_images,
                 "threads": torch.get_num_threads()}
    for name in loops:
        out[name] = {"wall_s": round(wall[name], 2), "cpu_s": round(cpu[name], 2),
                     "img_per_s": round(n_images / wall[name], 1), "img_per_cpu_s": round(n_images / cpu[name], 1),
                     "speedup_wall": round(wall["textbook"] / wall[name], 3),
                     "speedup_cpu": round(cpu["textbook"] / cpu[name], 3)}
    return out


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", default="dcgan,mlp", help="comma-separated: dcgan, mlp")
    p.add_argument("--steps", type=int, default=None, help="timed steps per model (default: dcgan 120, mlp 600)")
    p.add_argument("--chunks", type=int, default=4, help="alternate the two loops this many times")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: PyTorch's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"seed={args.seed} | threads={torch.get_num_threads()} | torch={torch.__version__} | device=cpu")
    images, _ = load_mnist(train=True, offline=True)
    results = []
    for kind in [k.strip() for k in args.models.split(",") if k.strip()]:
        steps = args.steps or {"dcgan": 120, "mlp": 600}[kind]
        r = compare(kind, images, steps, args.chunks, args.warmup, args.seed)
        results.append(r)
        print(f"{kind}: {r['images']:,} real images each (batch {BATCH}, {r['steps']} steps, "
              f"{r['threads']} threads), measured under whatever load the machine has:")
        for name, m in r.items():
            if isinstance(m, dict):
                print(f"  {name:22s} {m['img_per_s']:8.0f} img/s wall ({m['speedup_wall']:.2f}x)"
                      f" {m['img_per_cpu_s']:8.0f} img/CPU-s ({m['speedup_cpu']:.2f}x)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
