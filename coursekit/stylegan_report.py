"""Everything lesson 7 measures about a trained StyleGAN, in one dictionary (``scripts/measure_stylegan.py``).

* ``samples``: validity and the shares of each shape, colour and texture of the
  ψ = 1 samples (:func:`coursekit.shape_attributes.attribute_report`), the same images
  as the ψ = 1 row of ``truncation``;
* ``precision`` / ``recall``: improved precision and recall (Kynkäänniemi et al.
  2019, k = 3) against real images, in the space of measured attributes
  (:func:`coursekit.shape_attributes.attribute_features`, standardised by the
  real images' mean and std);
* ``mixing``: :func:`coursekit.shape_attributes.mixing_table` at every crossover;
* ``truncation``: precision, recall, validity and the valid samples' shape shares for each ψ
  (truncation in W).
"""
from __future__ import annotations

import torch

from coursekit import shape_attributes as sa
from coursekit.metrics import precision_recall
from coursekit.runtime import module_device
from coursekit.shapes import RANGES, make_shapes

REAL_SEED = 4321  # the real images the generator is compared with (not the training stream)


@torch.no_grad()
def generate(G, n: int, psi: float = 1.0, seed: int = 0, batch: int = 250, cutoff: int | None = None) -> torch.Tensor:
    """``n`` samples of ``G`` ``[n, C, R, R]`` from seeded z, truncated in W with ``psi`` (on layers < ``cutoff``)."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, G.z_dim, generator=gen)
    device = module_device(G)
    return torch.cat([G(z[i:i + batch].to(device), psi, "random", cutoff).cpu() for i in range(0, n, batch)])


def real_features(n: int, shapes: str = "lesson7") -> torch.Tensor:
    """Attribute features ``[n, 10]`` of ``n`` real images of the ``shapes`` preset."""
    return sa.attribute_features(make_shapes(n, seed=REAL_SEED, **RANGES[shapes])[0])


def precision_recall_vs_real(real_f: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall of ``fake`` images against real features, both standardised by the real ones."""
    mu, sd = real_f.mean(0), real_f.std(0).clamp(min=1e-6)
    return precision_recall((real_f - mu) / sd, (sa.attribute_features(fake) - mu) / sd, k=k)


def stylegan_report(G, n: int = 1000, seed: int = 0, shapes: str = "lesson7",
                    psis: tuple[float, ...] = (1.0, 0.7, 0.5, 0.0)) -> dict:
    """Measure ``G`` on ``n`` samples and ``n`` (A, B) pairs; see the module docstring for the keys."""
    max_area = sa.MAX_AREAS[shapes]
    real_f = real_features(n, shapes)
    torch.manual_seed(seed)  # the per-pixel noise; z comes from ``seed`` in :func:`generate`
    samples = generate(G, n, 1.0, seed)
    report = {"n": n, "seed": seed, "shapes": shapes, "samples": sa.attribute_report(samples, max_area)}
    report["truncation"] = []
    for psi in psis:
        fake = samples if psi == 1.0 else generate(G, n, psi, seed)
        p, r = precision_recall_vs_real(real_f, fake)
        spread = report["samples"] if psi == 1.0 else sa.attribute_report(fake, max_area)
        report["truncation"].append({"psi": psi, "precision": p, "recall": r, "valid": spread["valid"],
                                     "shape": spread["shape"]})
    report["precision"], report["recall"] = report["truncation"][0]["precision"], report["truncation"][0]["recall"]
    report["mixing"] = sa.mixing_table(G, n, seed=seed, max_area=max_area)
    return report
