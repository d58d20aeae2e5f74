"""Rewrite the shipped checkpoints so that they describe their models (issue 28), changing no weight.

* ``coursekit/weights/stylegan_shapes.pt``: ``{"config", "G", "D", "meta"}`` becomes the format of
  :func:`coursekit.checkpoint.save_checkpoint` (through :func:`coursekit.stylegan.save_stylegan`): G and D
  each with their class, constructor arguments and weights; ``meta`` as it was.
* ``coursekit/weights/mnist_gan_comparison.pt``: gains ``generator_model``, the class and constructor
  arguments of its nine generators, from ``scripts/train_mnist_gans.py``'s own recipe; the int8
  weights and everything else stay as they are.

Each new file is written beside the old one and read back before it replaces it, and only if every
tensor is equal (values and dtype), the other entries are equal, every generator loads strictly, and
(StyleGAN) G's and D's outputs on fixed inputs are bit-identical. A file already converted is left alone.

    python scripts/convert_checkpoints.py
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

import torch

from coursekit.checkpoint import atomic_save, build_model, dequantize_int8, load_checkpoint
from coursekit.stylegan import WEIGHTS, StyleDiscriminator, StyleGANConfig, StyleGenerator, load_stylegan, save_stylegan

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT / "coursekit" / "weights" / "mnist_gan_comparison.pt"


def same(a: Any, b: Any) -> bool:
    """Equal nested data: tensors equal in values, dtype and shape; everything else by ``==``."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def old_stylegan(state: dict) -> tuple[StyleGenerator, StyleDiscriminator]:
    """G and D of a checkpoint in the format before issue 28 (what ``load_stylegan`` read then)."""
    config = StyleGANConfig.from_args(dict(state["config"]))
    G, D = StyleGenerator(config), StyleDiscriminator(config)
    G.load_state_dict(state["G"])
    D.load_state_dict(state["D"])
    return G.eval(), D.eval()


@torch.no_grad()
def outputs(G: torch.nn.Module, D: torch.nn.Module) -> list[torch.Tensor]:
    """G at ψ = 1 and 0.7 on 16 fixed latents (constant noise), and D's logits of the first."""
    z = torch.randn(16, G.z_dim, generator=torch.Generator().manual_seed(123))
    x = G(z, 1.0, "const")
    return [x, G(z, 0.7, "const"), D.eval()(x)]


def convert_stylegan(path: Path = WEIGHTS) -> str:
    state = torch.load(path, map_location="cpu", weights_only=True)
    if "format" in state:
        return f"{path.name}: already converted"
    G, D = old_stylegan(state)
    tmp = path.with_name(path.name + ".new")
    save_stylegan(tmp, G, D, state["meta"])
    G2, D2, meta = load_stylegan(tmp, with_discriminator=True)
    models = load_checkpoint(tmp)["models"]
    ok = (same(models["G"]["state"], state["G"]) and same(models["D"]["state"], state["D"])
          and same(meta, state["meta"]) and same(outputs(G, D), outputs(G2, D2)))
    if not ok:
        tmp.unlink()
        raise SystemExit(f"{path.name}: the converted file differs; left as it was")
    os.replace(tmp, path)
    return f"{path.name}: converted (weights, meta and outputs bit-identical)"


def mnist_script():
    spec = importlib.util.spec_from_file_location("train_mnist_gans", ROOT / "scripts" / "train_mnist_gans.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def convert_mnist(path: Path = MNIST) -> str:
    state = torch.load(path, map_location="cpu", weights_only=True)
    if "generator_model" in state:
        return f"{path.name}: already converted"
    script = mnist_script()
    model = script.generator_model()
    if (model["args"]["nz"], model["args"]["ngf"]) != (state["models"]["nz"], state["models"]["ngf"]):
        raise SystemExit(f"{path.name}: its generators are not the script's {model}; left as it was")
    tmp = path.with_name(path.name + ".new")
    atomic_save({**state, "generator_model": model}, tmp)
    new = torch.load(tmp, map_location="cpu", weights_only=True)
    for runs in new["runs"].values():
        for run in runs:
            build_model({**new["generator_model"], "state": dequantize_int8(run["generator"])})  # strict load
    if not same({k: v for k, v in new.items() if k != "generator_model"}, state):
        tmp.unlink()
        raise SystemExit(f"{path.name}: the converted file differs; left as it was")
    os.replace(tmp, path)
    return f"{path.name}: converted (generator_model added; everything else identical)"


def main() -> int:
    torch.set_num_threads(1)
    for convert in (convert_stylegan, convert_mnist):
        print(convert(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
