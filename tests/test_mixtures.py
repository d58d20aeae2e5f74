"""coursekit.mixtures: the lesson-3 experiment runner, on tiny runs."""
import math

import numpy as np
import pytest
import torch

from coursekit.data import sample_grid, sample_ring
from coursekit.ensemble import EnsembleConfig, GANEnsemble
from coursekit.metrics import mode_coverage
from coursekit.mixtures import (
    MIXTURES,
    Method,
    coverage,
    coverage_rows,
    coverage_table,
    expected_real_high_quality,
    mode_histories,
    mode_trace,
    run_method,
    summarize,
)

TINY = EnsembleConfig(num_models=3, steps=12, batch_size=32, width=16, depth=2, snapshot_samples=200)


def test_real_data_scores_like_the_closed_form():
    g = torch.Generator().manual_seed(0)
    for name, x in (("ring", sample_ring(20000, generator=g)), ("grid", sample_grid(20000, generator=g))):
        out = coverage(x[None], MIXTURES[name])[0]
        assert out["modes"] == MIXTURES[name].modes
        assert out["high_quality"] == pytest.approx(expected_real_high_quality(), abs=0.003)
    assert expected_real_high_quality(3.0) == pytest.approx(1 - math.exp(-4.5))


def test_summarize_is_mean_and_population_std():
    s = summarize([{"modes": 8, "x": 1.0}, {"modes": 6, "x": 3.0}])
    assert s == {"modes": (7.0, 1.0), "x": (2.0, 1.0)}
    with pytest.raises(ValueError):
        summarize([])


def test_coverage_rejects_unbatched_samples():
    with pytest.raises(ValueError, match=r"\[K, N, 2\]"):
        coverage(torch.zeros(10, 2), MIXTURES["ring"])


def test_run_method_equals_a_plain_ensemble_run_and_measures_every_seed():
    res = run_method(Method("vanilla"), "ring", TINY, segments=3)
    plain = GANEnsemble(TINY, device="cpu").train()
    assert torch.allclose(res.samples, plain.samples, atol=1e-6)  # same seeds, same steps, same models
    assert [s[0] for s in res.snapshots] == [0, 4, 8, 12]
    assert len(res.metrics) == 3
    for k, m in enumerate(res.metrics):
        assert m == mode_coverage(res.samples[k], MIXTURES["ring"].centers, 0.02)
    steps, modes = mode_trace(res.snapshots, MIXTURES["ring"])
    assert steps.tolist() == [0, 4, 8, 12] and modes.shape == (4, 3)
    hist = mode_histories(res.snapshots, MIXTURES["ring"], seed=1)
    assert hist.shape == (4, 8)
    assert np.allclose(hist[-1].sum(), res.metrics[1]["high_quality"])


def test_final_low_learning_rate_phase_changes_only_the_last_steps():
    res_a = run_method(Method("vanilla"), "grid", TINY, final_steps=0)
    res_b = run_method(Method("vanilla"), "grid", TINY, final_steps=4, final_lr=0.0)
    # with lr 0 for the last 4 steps the models are those after step 8 of the plain run
    res_c = run_method(Method("vanilla"), "grid", TINY, segments=3)
    assert torch.allclose(res_b.samples, res_c.snapshots[2][1], atol=1e-6)
    assert not torch.allclose(res_a.samples, res_b.samples)
    assert res_a.config.data == "grid"


def test_surfaces_for_plain_and_packed_discriminators_and_the_table():
    res = run_method(Method("PacGAN2", {"pack": 2}), "ring", TINY, surface_seed=1, resolution=20, segments=2)
    assert res.config.pack == 2
    for step, samples, surface in res.snapshots:
        assert samples.shape == (3, 200, 2) and surface.shape == (20, 20)
        assert np.all((surface >= 0) & (surface <= 1))
    # the surface is seed 1's packed D evaluated on packs of identical points
    d, ext = res.discriminators[1], MIXTURES["ring"].extent
    corner = torch.sigmoid(d(torch.tensor([[ext[0], ext[2]]]).repeat(2, 1))).item()  # a pack of 2 equal points
    assert res.snapshots[-1][2][0, 0] == pytest.approx(corner, abs=1e-6)
    wg = run_method(Method("WGAN-GP", {"loss": "wgan-gp"}), "ring", TINY)
    rows = coverage_rows([res, wg])
    assert [r["method"] for r in rows] == ["PacGAN2", "WGAN-GP"]
    text = coverage_table([res, wg])
    assert "PacGAN2" in text and "±" in text and "ring (8)" in text


def test_run_method_rejects_bad_arguments():
    with pytest.raises(ValueError, match="data"):
        run_method(Method("x"), "moons", TINY)
    with pytest.raises(ValueError, match="final_steps"):
        run_method(Method("x"), "ring", TINY, final_steps=100)
    with pytest.raises(ValueError, match="surface_seed"):
        run_method(Method("x"), "ring", TINY, surface_seed=3)
