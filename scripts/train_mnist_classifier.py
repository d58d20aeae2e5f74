"""Train the MNIST classifier whose features and probabilities the course's metrics use.

Trains ``coursekit.features.MNISTClassifier`` on the offline MNIST train split
(4,000 images, ``coursekit.data.load_mnist(train=True, offline=True)``) with
light augmentation (random rotation, scale and shift), a fixed seed and a fixed
number of epochs (no model selection on the held-out split), then reports the
accuracy on the 1,000 held-out images and writes the weights to
``coursekit/weights/mnist_classifier.pt``.

    python scripts/train_mnist_classifier.py            # seed 0, 8 epochs
    python scripts/train_mnist_classifier.py --epochs 5 --out /tmp/clf.pt
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from coursekit.data import load_mnist
from coursekit.features import WEIGHTS_PATH, MNISTClassifier
from coursekit.runtime import get_device, seed_everything


def augment(x: torch.Tensor, max_degrees: float = 10.0, max_scale: float = 0.1,
            max_shift_px: float = 2.0) -> torch.Tensor:
    """Random affine warp per image of ``x`` ``[B, 1, 28, 28]`` in [-1, 1]; the background stays -1."""
    b = x.shape[0]
    angle = (torch.rand(b, device=x.device) * 2 - 1) * math.radians(max_degrees)
    scale = 1 + (torch.rand(b, device=x.device) * 2 - 1) * max_scale
    shift = (torch.rand(b, 2, device=x.device) * 2 - 1) * (max_shift_px / 14)  # in [-1, 1] grid units
    cos, sin = angle.cos() / scale, angle.sin() / scale
    rows = [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)]  # 2 x [B, 3]
    theta = torch.stack(rows, 1)  # [B, 2, 3]
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # [B, 28, 28, 2]
    return F.grid_sample(x + 1, grid, align_corners=False, padding_mode="zeros") - 1  # zero padding = background -1


@torch.no_grad()
def accuracy(model: MNISTClassifier, images: torch.Tensor, labels: torch.Tensor, device: torch.device) -> float:
    model.eval()
    correct = 0
    for start in range(0, len(images), 500):
        logits = model(images[start : start + 500].to(device))
        correct += int((logits.argmax(1).cpu() == labels[start : start + 500]).sum())
    return correct / len(images)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    seed_everything(args.seed)
    device = get_device()
    print(f"seed={args.seed} device={device} epochs={args.epochs} batch={args.batch_size} lr={args.lr}")
    train_x, train_y = load_mnist(train=True, offline=True)
    test_x, test_y = load_mnist(train=False, offline=True)

    model = MNISTClassifier().to(device)
    steps_per_epoch = math.ceil(len(train_x) / args.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(train_x))
        total, correct, loss_sum = 0, 0, 0.0
        for i in range(steps_per_epoch):
            idx = perm[i * args.batch_size : (i + 1) * args.batch_size]
            x = augment(train_x[idx].to(device))  # [B, 1, 28, 28]
            y = train_y[idx].to(device)
            logits = model(x)  # [B, 10]
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += len(idx)
            correct += int((logits.argmax(1) == y).sum())
            loss_sum += loss.item() * len(idx)
        print(f"epoch {epoch + 1:3d}/{args.epochs}  loss {loss_sum / total:.4f}  train acc (augmented) "
              f"{correct / total:.4f}  {time.perf_counter() - start:.0f} s", flush=True)
    seconds = time.perf_counter() - start
    held_out = accuracy(model, test_x, test_y, device)
    print(f"held-out accuracy: {held_out:.4f} on {len(test_x)} images; training time {seconds:.0f} s")

    model = model.cpu().eval()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "state_dict": model.state_dict(),
            "feature_dim": model.feature_dim,
            "seed": args.seed,
            "epochs": args.epochs,
            "heldout_accuracy": held_out,
            "train_images": len(train_x),
        },
        args.out,
    )
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
