"""coursekit.mode_collapse: the lesson-3 experiment runner, on tiny runs."""
import math

import numpy as np
import pytest
import torch

from coursekit.data import sample_grid, sample_ring
from coursekit.ensemble import EnsembleConfig, GANEnsemble
from coursekit.metrics import mode_coverage
from coursekit.mode_collapse import (
    MIXTURES,
    Method,
    best_method,
    captured_history,
    coverage,
    coverage_rows,
    coverage_table,
    expected_real_high_quality,
    hopping_seed,
    latent_mode_map,
    latent_path,
    mode_histories,
    mode_moves,
    mode_trace,
    run_method,
    run_methods,
    summarize,
)

TINY = EnsembleConfig(num_models=3, steps=12, batch_size=32, width=16, depth=2, n_snapshot=200)


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
    wg = run_method(Method("WGAN-GP", {"loss": "wgan"}), "ring", TINY)
    rows = coverage_rows([res, wg])
    assert [r["method"] for r in rows] == ["PacGAN2", "WGAN-GP"]
    assert rows[0]["per_seed"] == [m["modes"] for m in res.metrics]
    text = coverage_table([res, wg])
    assert "PacGAN2" in text and "±" in text and "ring (8)" in text


def test_run_method_rejects_bad_arguments():
    with pytest.raises(ValueError, match="data"):
        run_method(Method("x"), "moons", TINY)
    with pytest.raises(ValueError, match="final_steps"):
        run_method(Method("x"), "ring", TINY, final_steps=100)
    with pytest.raises(ValueError, match="surface_seed"):
        run_method(Method("x"), "ring", TINY, surface_seed=3)


def _on_modes(counts: list[int], mixture=MIXTURES["ring"]) -> torch.Tensor:
    """Samples exactly on the centres: counts[j] copies of centre j, [sum(counts), 2]."""
    return torch.cat([mixture.centers[j].repeat(c, 1) for j, c in enumerate(counts) if c])


def test_coverage_passes_min_fraction_through():
    # 8 modes of the ring, 2,500 samples: mode 0 holds 2,430, modes 1..7 hold 10 each (a fair share is 312.5)
    x = _on_modes([2430] + [10] * 7)[None]
    assert coverage(x, MIXTURES["ring"])[0]["modes"] == 1                      # 10 < 0.2 * 312.5
    assert coverage(x, MIXTURES["ring"], min_fraction=0.0)[0]["modes"] == 8    # the one-sample count
    assert coverage(x, MIXTURES["ring"], min_fraction=0.03)[0]["modes"] == 8   # 10 >= 9.4


def test_mode_moves_counts_trades_not_growth():
    grow = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=bool)
    assert mode_moves(grow) == 0
    hop = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=bool)
    assert mode_moves(hop) == 3
    assert mode_moves(np.array([[1, 1, 0], [0, 0, 1]], dtype=bool)) == 1  # two lost, one gained: one move
    with pytest.raises(ValueError):
        mode_moves(np.zeros(3, dtype=bool))


def test_hopping_seed_finds_the_seed_that_trades_modes():
    mix, n = MIXTURES["ring"], 400
    # seed 0 stays on mode 0; seed 1 goes 0 -> 1 -> 2 (two moves); seed 2 grows from mode 0 to modes 0 and 1
    plans = [[[0], [0], [0]], [[0], [1], [2]], [[0], [0, 1], [0, 1]]]
    snapshots = []
    for s in range(3):
        per_seed = []
        for plan in plans:
            counts = [n // len(plan[s]) if j in plan[s] else 0 for j in range(8)]
            per_seed.append(_on_modes(counts, mix))
        snapshots.append((100 * s, torch.stack(per_seed), None))
    assert captured_history(snapshots, mix, seed=1).tolist() == [
        [j == 0 for j in range(8)], [j == 1 for j in range(8)], [j == 2 for j in range(8)]]
    assert hopping_seed(snapshots, mix) == (1, 2)


def test_best_method_applies_the_quality_floor_before_counting_modes():
    rows = [{"method": "GAN", "modes": (4.0, 0.5), "high_quality": (80.0, 2.0)},
            {"method": "smear", "modes": (8.0, 0.0), "high_quality": (20.0, 3.0)},
            {"method": "A", "modes": (7.0, 0.5), "high_quality": (60.0, 3.0)},
            {"method": "B", "modes": (7.0, 0.9), "high_quality": (70.0, 3.0)}]
    assert best_method(rows, 50.0, exclude=("GAN",))["method"] == "B"   # A and B tie on modes: B's quality
    assert best_method(rows, 10.0, exclude=("GAN",))["method"] == "smear"
    assert best_method(rows, 90.0) is None


class _Fold(torch.nn.Module):
    """G(z) = the ring mode whose angle sector z falls in (left half) or the origin (right half)."""

    nz = 2

    def forward(self, z):
        angle = torch.atan2(z[:, 1], z[:, 0])
        j = torch.round(angle / (2 * math.pi / 8)).long() % 8
        x = MIXTURES["ring"].centers[j].clone()
        x[z[:, 0] > 0] = 0.0  # between the modes
        return x


def test_latent_mode_map_labels_and_off_mode_mass():
    mix = MIXTURES["ring"]
    lm = latent_mode_map(_Fold(), mix, lim=4.0, resolution=201)
    assert lm.labels.shape == (201, 201)
    assert lm.labels[100, 0] == 4          # z = (-4, 0): angle pi -> mode 4 (at (-2, 0))
    assert lm.labels[100, -1] == -1        # z = (4, 0): sent to the origin, between modes
    assert lm.off_mode_mass == pytest.approx(0.5, abs=0.01)  # half of N(0, I) has z1 > 0
    assert set(np.unique(lm.labels)) <= set(range(-1, 8))
    path = latent_path(_Fold(), torch.tensor([-1.0, 0.0]), torch.tensor([1.0, 0.0]), n=11)
    assert path.shape == (11, 2) and torch.equal(path[0], mix.centers[4]) and torch.equal(path[-1], torch.zeros(2))


def test_latent_maps_refuse_batch_normalised_generators():
    from coursekit.models import MLP2DGenerator

    g = MLP2DGenerator(nz=2, width=8, depth=2, batchnorm=True)
    with pytest.raises(ValueError, match="batch"):
        latent_mode_map(g, MIXTURES["ring"])
    with pytest.raises(ValueError, match="batch"):
        latent_path(g, torch.zeros(2), torch.ones(2))


def test_lesson3_plot_helpers_draw_what_they_are_given():
    from coursekit import plots

    fig = plots.new_figure(8, 3)
    ax1, ax2, ax3, ax4 = fig.subplots(1, 4)
    plots.draw_mode_counts(ax1, [100, 10, 0], min_count=63)
    colors = [tuple(p.get_facecolor()[:3]) for p in ax1.patches]
    assert [p.get_height() for p in ax1.patches] == [100, 10, 0]
    assert colors[0] != colors[1] != colors[2]  # captured, below the line, empty
    labels = np.array([[-1, 0], [1, 2]])
    image = plots.draw_latent_map(ax2, labels, lim=3.0, modes=3)
    rgb = image.to_rgba(image.get_array())[..., :3]
    assert np.allclose(rgb[0, 0], 0.82) and np.allclose(rgb[0, 1], plots.mode_colors(3)[0])
    shares = np.array([[0.5, 0.0], [0.0, 0.5]])
    image = plots.draw_mode_history(ax3, shares, [0, 100], captured=shares > 0.1)
    assert np.array_equal(image.get_array(), shares.T)
    plots.draw_tradeoff(ax4, {"a": ([8, 7], [60.0, 70.0])}, total_modes=8, min_high_quality=50)
    assert ax4.get_legend_handles_labels()[1] == ["a"]
    # fixed colours: the same method has the same colour on two panels with different methods
    left, right = plots.new_figure(6, 3).subplots(1, 2)
    colors = {"a": "C0", "b": "C1", "c": "C2"}
    plots.draw_tradeoff(left, {"a": ([1], [50.0]), "c": ([2], [60.0])}, total_modes=8, colors=colors)
    plots.draw_tradeoff(right, {"c": ([2], [60.0]), "b": ([1], [50.0])}, total_modes=8, colors=colors)
    means = lambda ax: [tuple(c.get_facecolor()[0]) for c in ax.collections[1::2]]  # the large markers
    assert means(left)[1] == means(right)[0] != means(right)[1]  # "c" second on the left, first on the right
    with pytest.raises(ValueError):
        plots.draw_mode_history(ax3, shares, [0])


def test_run_methods_in_two_processes_equals_running_here():
    jobs = [(Method("vanilla"), "ring", TINY, {"segments": 2}),
            (Method("PacGAN2", {"pack": 2}), "grid", TINY, {"final_steps": 4})]
    here = run_methods(jobs, processes=1)
    there = run_methods(jobs, processes=2)
    for a, b in zip(here, there):
        assert a.method == b.method and a.mixture.name == b.mixture.name
        assert torch.allclose(a.samples, b.samples, atol=1e-6) and a.metrics == b.metrics
        assert len(a.snapshots) == len(b.snapshots)
    with pytest.raises(ValueError):
        run_methods(jobs, processes=0)
