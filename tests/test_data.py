import math

import pytest
import torch

from coursekit import data, shapes


@pytest.mark.parametrize("modes", [3, 8, 12])
def test_ring_has_n_distinct_modes_on_the_circle(modes):
    c = data.ring_centers(modes, radius=2.0)
    assert c.shape == (modes, 2)
    assert torch.allclose(c.norm(dim=1), torch.full((modes,), 2.0), atol=1e-5)
    gaps = torch.cdist(c, c) + torch.eye(modes) * 10
    chord = 2 * 2.0 * math.sin(math.pi / modes)  # neighbours are one chord apart: no duplicate at 2π
    assert gaps.min() == pytest.approx(chord, rel=1e-5)


def test_grid_is_pacgans_grid():
    c = data.grid_centers(5, 2.0)
    assert c.shape == (25, 2)
    assert sorted(set(c[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert len({tuple(p) for p in c.tolist()}) == 25


def test_mixture_samples_sit_on_their_modes_with_the_right_spread():
    g = torch.Generator().manual_seed(0)
    x = data.sample_grid(20000, std=0.05, generator=g)
    centers = data.grid_centers()
    nearest = torch.cdist(x, centers).argmin(dim=1)
    resid = x - centers[nearest]
    assert resid.std().item() == pytest.approx(0.05, rel=0.05)
    counts = torch.bincount(nearest, minlength=25).float()
    assert counts.min() > 0.8 * 20000 / 25  # every mode used about equally
    y = data.sample_ring(4000, modes=8, std=0.02, generator=torch.Generator().manual_seed(0))
    assert torch.cdist(y, data.ring_centers()).min(dim=1).values.max() < 0.02 * 6


def test_offline_mnist_split_is_disjoint_balanced_and_in_range(capsys):
    x_tr, y_tr = data.load_mnist(train=True, offline=True)
    x_te, y_te = data.load_mnist(train=False, offline=True)
    assert "offline subset" in capsys.readouterr().out
    assert x_tr.shape == (4000, 1, 28, 28) and x_te.shape == (1000, 1, 28, 28)
    assert x_tr.dtype == torch.float32 and y_tr.dtype == torch.int64
    assert x_tr.min() == -1 and x_tr.max() == 1
    assert torch.bincount(y_te, minlength=10).tolist() == [100] * 10
    assert len(set(y_tr[:50].tolist())) > 5  # shuffled, not sorted by digit
    train_rows = {r.numpy().tobytes() for r in x_tr.flatten(1)}
    assert not any(r.numpy().tobytes() in train_rows for r in x_te.flatten(1))


def test_mnist_falls_back_offline_when_the_download_fails_and_tries_once(monkeypatch, capsys):
    calls = []

    def no_network(train):
        calls.append(train)
        raise OSError("no network")

    monkeypatch.setattr(data, "_torchvision_mnist", no_network)
    monkeypatch.setattr(data, "_DOWNLOAD_FAILED", [])
    x, _ = data.load_mnist(train=False, offline=False)
    out = capsys.readouterr().out
    assert "unavailable" in out and "offline subset" in out and "OSError" in out and len(x) == 1000
    y, _ = data.load_mnist(train=True, offline=False)  # the second call does not wait for the network again
    assert calls == [False] and len(y) == 4000
    assert "earlier in this session (OSError)" in capsys.readouterr().out


def test_shapes_attributes_are_what_is_drawn():
    images, attrs = data.make_shapes(64, size=32, seed=3)
    assert images.shape == (64, 3, 32, 32) and images.min() >= -1 and images.max() <= 1
    again, _ = data.make_shapes(64, size=32, seed=3)
    assert torch.equal(images, again)
    lit = images.max(dim=1).values > -1  # [n, H, W]: pixels of the shape
    masks = shapes.shape_masks(attrs, 32)
    assert torch.equal(lit, masks)
    # the brightest lit pixel has the palette colour
    for i in range(8):
        pix = images[i][:, lit[i]].amax(dim=1)
        assert torch.allclose((pix + 1) / 2, shapes.PALETTE[attrs["colour"][i]], atol=1e-5)
    # centre of mass is near (x, y) for squares and circles
    coords = (torch.arange(32) + 0.5) / 32
    for i in range(64):
        if attrs["shape"][i] < 2:
            m = masks[i].float()
            cx = (m.sum(0) * coords).sum() / m.sum()
            cy = (m.sum(1) * coords).sum() / m.sum()
            assert abs(cx - attrs["x"][i]) < 0.03 and abs(cy - attrs["y"][i]) < 0.03


def test_shape_textures_differ_only_inside_the_shape():
    attrs = {k: torch.tensor(v) for k, v in dict(shape=[1, 1], x=[0.5, 0.5], y=[0.5, 0.5],
                                                 size=[0.25, 0.25], colour=[0, 0], texture=[0, 1]).items()}
    img = shapes.render_shapes(attrs, 32)
    diff = (img[0] - img[1]).abs().amax(dim=0) > 0
    assert diff.any() and not (diff & ~shapes.shape_masks(attrs, 32)[0]).any()


def test_shape_ranges_move_only_position_and_size():
    small, a = data.make_shapes(500, seed=11)
    large, b = data.make_shapes(500, seed=11, **shapes.LARGE)
    for name in ("shape", "colour", "texture"):  # the same seed draws the same discrete attributes
        assert torch.equal(a[name], b[name])
    (c0, c1), (s0, s1) = shapes.LARGE["centre"], shapes.LARGE["half_extent"]
    assert b["x"].min() >= c0 and b["x"].max() <= c1 and b["size"].min() >= s0 and b["size"].max() <= s1
    lit_small = (small.max(dim=1).values > -1).float().mean()
    lit_large = (large.max(dim=1).values > -1).float().mean()
    assert lit_large > 1.5 * lit_small
    assert (large.max(dim=1).values > -1)[:, [0, -1], :].sum() == 0  # nothing touches the border rows
    with pytest.raises(ValueError, match="fit in the image"):
        data.make_shapes(4, centre=(0.2, 0.8), half_extent=(0.3, 0.4))
