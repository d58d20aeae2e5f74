"""coursekit.plots: pure drawing functions; assert on the data the figures hold, not on pixels."""
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from coursekit import plots


def test_figure_to_png_gives_png_bytes():
    fig = plots.new_figure(2, 2)
    fig.add_subplot().plot([0, 1], [0, 1])
    png = plots.figure_to_png(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 500


def test_figures_display_as_png_without_pyplot():
    from IPython.core.formatters import DisplayFormatter

    fig = plots.training_figure(_records())
    data, _ = DisplayFormatter().format(fig)
    assert data["image/png"][:8] == b"\x89PNG\r\n\x1a\n" and "Figure size" in data["text/plain"]


def test_image_grid_maps_range_layout_and_padding():
    images = torch.stack([torch.full((1, 3, 4), v) for v in (-1.0, 0.0, 1.0)])  # [3, 1, 3, 4]
    grid = plots.image_grid(images, nrow=2, padding=1)
    # 2 columns, 2 rows: height 2·(3+1)+1, width 2·(4+1)+1, RGB
    assert grid.shape == (9, 11, 3)
    assert np.allclose(grid[1:4, 1:5], 0.0)  # -1 -> black
    assert np.allclose(grid[1:4, 6:10], 0.5)  # 0 -> grey
    assert np.allclose(grid[5:8, 1:5], 1.0)  # 1 -> white
    assert np.allclose(grid[0], 1.0) and np.allclose(grid[:, 0], 1.0)  # white padding
    colour = torch.zeros(1, 3, 2, 2)
    colour[:, 0] = 1.0  # pure red
    assert np.allclose(plots.image_grid(colour, padding=0)[0, 0], [1.0, 0.5, 0.5])


def test_image_grid_default_is_near_square_and_clips():
    grid = plots.image_grid(torch.full((10, 1, 2, 2), 5.0), padding=0)
    assert grid.shape == (3 * 2, 4 * 2, 3)  # ceil(sqrt(10)) = 4 per row, 3 rows
    assert grid.max() == 1.0


@pytest.mark.parametrize("bad", [torch.zeros(2, 2, 4, 4), torch.zeros(0, 1, 4, 4), torch.zeros(4, 4)])
def test_image_grid_rejects_bad_shapes(bad):
    with pytest.raises(ValueError, match="B, C, H, W"):
        plots.image_grid(bad)


def test_image_grid_rejects_nan():
    x = torch.zeros(1, 1, 2, 2)
    x[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        plots.image_grid(x)


def test_decision_surface_orientation_link_and_mode_restored():
    d = torch.nn.Linear(2, 1)
    with torch.no_grad():
        d.weight.copy_(torch.tensor([[2.0, 0.0]]))  # depends on x only
        d.bias.zero_()
    d.train()
    surf = plots.decision_surface(d, (-1.0, 1.0, -3.0, 3.0), resolution=5)
    xs = np.linspace(-1, 1, 5)
    assert surf.shape == (5, 5)
    assert np.allclose(surf, 1 / (1 + np.exp(-2 * xs))[None, :].repeat(5, 0), atol=1e-6)  # columns are x
    assert d.training
    with torch.no_grad():
        d.weight.copy_(torch.tensor([[0.0, 1.0]]))  # depends on y only
    raw = plots.decision_surface(d, (-1.0, 1.0, -3.0, 3.0), resolution=5, link=None)
    assert np.allclose(raw[:, 0], np.linspace(-3, 3, 5), atol=1e-6)  # rows are y, increasing
    with pytest.raises(ValueError, match="x1 > x0"):
        plots.decision_surface(d, (1.0, -1.0, 0.0, 1.0))


def _records(n=5):
    return [{"step": 10 * i, "d_loss": 1.0 + i, "g_loss": 2.0 - i, "d_real": 0.9 - 0.1 * i, "d_fake": 0.1 * i,
             "grad_norm_d": 1.0, "grad_norm_g": 1.0, "time": 0.1 * i} for i in range(n)]


def test_history_columns_from_records_dict_and_history_object():
    records = _records()
    cols = plots.history_columns(records)
    assert np.array_equal(cols["step"], [0, 10, 20, 30, 40]) and np.array_equal(cols["g_loss"], [2, 1, 0, -1, -2])
    as_dict = {k: [r[k] for r in records] for k in records[0]}
    assert np.array_equal(plots.history_columns(as_dict)["d_fake"], cols["d_fake"])
    obj = SimpleNamespace(**as_dict, snapshots=[])
    assert np.array_equal(plots.history_columns(obj)["d_real"], cols["d_real"])
    partial = plots.history_columns([{"step": 0, "d_loss": 1.0}, {"step": 1}])
    assert math.isnan(partial["d_loss"][1]) and "g_loss" not in partial


def test_history_columns_accepts_the_trainers_history():
    train = pytest.importorskip("coursekit.train")
    history = train.History()
    for r in _records(3):
        history.append(r)
    cols = plots.history_columns(history)
    assert np.array_equal(cols["step"], [0, 10, 20]) and np.array_equal(cols["d_loss"], [1, 2, 3])


def test_history_columns_rejects_nonsense():
    with pytest.raises(ValueError, match="no curves"):
        plots.history_columns({"foo": [1, 2]})
    with pytest.raises(ValueError, match="record dicts"):
        plots.history_columns([1, 2, 3])


def test_training_figure_draws_the_records_and_the_last_snapshot():
    records = _records()
    fig = plots.training_figure(records)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    losses, outputs = fig.axes
    d_line = [ln for ln in losses.lines if ln.get_label() == "D loss"][0]
    assert np.array_equal(d_line.get_xdata(), [0, 10, 20, 30, 40])
    assert np.array_equal(d_line.get_ydata(), [1, 2, 3, 4, 5])
    assert [ln.get_label() for ln in outputs.lines][:2] == ["D(x)", "D(G(z))"]
    assert outputs.get_ylim() == (-0.02, 1.02)  # probabilities: fixed axis with the ½ line

    images = torch.rand(4, 1, 6, 6) * 2 - 1
    columns = {k: [r[k] for r in records] for k in records[0]}
    history = SimpleNamespace(**columns, snapshots=[(0, -images), (40, images)])
    fig = plots.training_figure(history)
    assert len(fig.axes) == 3 and fig.axes[2].get_title() == "samples at step 40"
    shown = fig.axes[2].images[0].get_array()
    assert np.allclose(shown, plots.image_grid(images))


def test_training_figure_critic_scores_are_not_forced_to_0_1():
    records = [{"step": i, "d_loss": -i, "g_loss": i, "d_real": 3.0 * i, "d_fake": -2.0 * i} for i in range(4)]
    fig = plots.training_figure(records)
    assert fig.axes[1].get_title() == "critic scores" and fig.axes[1].get_ylim()[1] > 5


def test_training_figure_scatters_2d_samples_with_centres():
    samples = torch.randn(100, 2)
    centers = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    fig = plots.training_figure(_records(), samples=samples, centers=centers)
    offsets = [c.get_offsets() for c in fig.axes[2].collections]
    assert np.allclose(offsets[0], samples.numpy()) and np.allclose(offsets[-1], centers.numpy())


def test_mixture_figure_surface_needs_extent_and_is_drawn():
    samples = torch.randn(50, 2)
    surface = np.random.default_rng(0).random((10, 10))
    with pytest.raises(ValueError, match="extent"):
        plots.mixture_figure(samples, surface=surface)
    fig = plots.mixture_figure(samples, surface=surface, extent=(-2, 2, -3, 3), title="step 7")
    ax = fig.axes[0]
    assert np.allclose(ax.images[0].get_array(), surface) and ax.get_xlim() == (-2, 2) and ax.get_title() == "step 7"
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        plots.mixture_figure(torch.randn(5, 3))


def test_jsd_w1_and_smoothing_figures_hold_the_given_curves():
    x = np.linspace(-3, 3, 61)
    p, q = np.exp(-x**2), np.exp(-(x - 1) ** 2)
    shifts = np.linspace(0, 3, 7)
    jsds, w1s = np.minimum(shifts / 3, math.log(2)), shifts.copy()
    fig = plots.jsd_w1_figure(x, p, q, shifts, jsds, w1s, shift=1.5)
    assert "W1 = 1.500" in fig.axes[1].get_title()
    assert np.allclose(fig.axes[1].lines[0].get_ydata(), jsds)
    assert np.allclose(fig.axes[2].lines[0].get_ydata(), w1s)  # the twin axis
    d = p / (p + q)
    fig = plots.smoothing_figure(x, p, q, 0.9 * d, d, 0.9, 0.0)
    ys = [ln.get_ydata() for ln in fig.axes[0].lines]
    assert np.allclose(ys[0], d) and np.allclose(ys[1], 0.9 * d)


def test_image_rows_figure_one_axis_per_row():
    rows = [("a", torch.zeros(3, 1, 4, 4)), ("b", torch.ones(3, 3, 4, 4))]
    fig = plots.image_rows_figure(rows)
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
    assert fig.axes[0].images[0].get_array().shape == (4 + 2 * 2, 3 * (4 + 2) + 2, 3)  # all 3 in one row
    with pytest.raises(ValueError):
        plots.image_rows_figure([])
