"""The analytic attribute measure of lesson 7, verified on real make_shapes images with known attributes."""
import pytest
import torch

from coursekit import shape_attributes as sa
from coursekit.data import make_shapes
from coursekit.shapes import LARGE, LESSON7, RANGES, render_shapes
from coursekit.stylegan import WEIGHTS, StyleGenerator, load_stylegan


def test_accuracy_per_attribute_on_real_images():
    images, attrs = make_shapes(2000, seed=2024)
    acc = sa.attribute_accuracy(images, attrs)
    print("accuracy per attribute on 2000 real images:", {k: round(v, 4) for k, v in acc.items()})
    for name in ("shape", "x", "y", "size", "colour", "texture", "valid"):
        assert acc[name] >= 0.995, (name, acc[name])
    assert acc["x_mae"] < 0.01 and acc["y_mae"] < 0.01 and acc["size_mae"] < 0.01


def test_accuracy_on_large_shapes_needs_their_area_bound():
    images, attrs = make_shapes(1000, seed=77, **LARGE)
    acc = sa.attribute_accuracy(images, attrs, max_area=sa.MAX_AREAS["large"])
    for name in ("shape", "x", "y", "size", "colour", "texture", "valid"):
        assert acc[name] >= 0.995, (name, acc[name])
    assert sa.attribute_accuracy(images, attrs)["valid"] < 0.9  # the small shapes' bound rejects the largest ones
    assert set(sa.MAX_AREAS) == set(RANGES)  # one bound per data range


def test_lesson7_set_is_measured_right_per_attribute():
    images, attrs = make_shapes(2000, seed=31, **LESSON7)
    assert images.shape == (2000, 3, 16, 16)
    acc = sa.attribute_accuracy(images, attrs, max_area=sa.MAX_AREAS["lesson7"])
    print("lesson 7's 16x16 set:", {k: round(v, 4) for k, v in acc.items()})
    for name in ("shape", "x", "y", "size", "colour", "texture", "valid"):
        assert acc[name] >= 0.99, (name, acc[name])


def test_soft_edges_do_not_change_the_measured_layout():
    """A generator draws softer edges than the renderer: a partial 3×3 blur must not change shape, position or size."""
    images, attrs = make_shapes(1000, seed=34, **LESSON7)
    binomial = torch.tensor([1.0, 2, 1]).outer(torch.tensor([1.0, 2, 1])) / 16
    kernel = 0.4 * torch.eye(3)[1].view(3, 1) * torch.eye(3)[1] + 0.6 * binomial  # 40 % identity, 60 % blur
    x = (images + 1) / 2
    soft = torch.nn.functional.conv2d(x.reshape(-1, 1, 16, 16), kernel.view(1, 1, 3, 3), padding=1)
    soft = soft.reshape_as(x) * 2 - 1
    acc = sa.attribute_accuracy(soft, attrs, max_area=sa.MAX_AREAS["lesson7"])
    for name in ("shape", "x", "y", "size", "colour"):
        assert acc[name] >= 0.98, (name, acc[name])


@pytest.mark.parametrize("name,levels", [("shape", 3), ("colour", 6), ("texture", 3)])
def test_a_wrong_image_is_recognised_as_what_it_shows(name, levels):
    """Redraw real images with another class of one attribute: the measure must follow the pixels, not the label."""
    _, attrs = make_shapes(600, seed=32, **LESSON7)
    for shift in range(1, levels):
        wrong = attrs | {name: (attrs[name] + shift) % levels}
        m = sa.measure_shapes(render_shapes(wrong, 16), sa.MAX_AREAS["lesson7"])
        assert (m[name] == wrong[name]).float().mean() >= 0.99
        assert (m[name] == attrs[name]).float().mean() <= 0.01


def test_period_two_texture_is_invisible_to_an_8x8_map():
    """Lesson 7's stripes alternate every pixel row: a bilinear ×2 upsampling of an 8×8 map has (almost) none of
    that frequency, so only layers working at 16×16 can draw it."""
    def alternation(img):  # |sum over rows of (-1)^row · pixel|, per column: the energy of the period-2 pattern
        sign = (-1.0) ** torch.arange(img.shape[2]).view(1, 1, -1, 1)
        return (img * sign).sum(dim=2).abs().mean().item()

    x = torch.nn.functional.pad(torch.rand(64, 3, 8, 8) * 2 - 1, (1, 1, 1, 1), mode="circular")  # [64, 3, 10, 10]
    up = torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)[..., 2:-2, 2:-2]
    # [64, 3, 16, 16]: the upsampling of a periodic 8×8 map, so that the image's edges add nothing
    _, attrs = make_shapes(64, seed=33, **LESSON7)
    striped = render_shapes(attrs | {"texture": torch.ones_like(attrs["texture"])}, 16)
    flat = render_shapes(attrs | {"texture": torch.zeros_like(attrs["texture"])}, 16)
    assert alternation(up) < 1e-5
    assert alternation(striped) > 3 * alternation(flat)  # a flat shape's edges alternate a little


def test_iou_of_masks():
    a = torch.zeros(3, 4, 4, dtype=torch.bool)
    b = a.clone()
    a[0, :2], b[0, 1:3] = True, True  # rows 0-1 vs rows 1-2: 4 shared pixels of 12
    a[1, 0, 0] = b[1, 3, 3] = True  # disjoint
    assert torch.allclose(sa.iou(a, b), torch.tensor([1 / 3, 0.0, 1.0]))  # two empty masks count as equal
    assert torch.equal(sa.iou(a, a), torch.ones(3))


def test_accuracy_survives_mild_pixel_noise():
    images, attrs = make_shapes(1000, seed=5)
    noisy = (images + 0.1 * torch.randn(images.shape, generator=torch.Generator().manual_seed(0))).clamp(-1, 1)
    acc = sa.attribute_accuracy(noisy, attrs)
    print("accuracy with noise std 0.1:", {k: round(v, 4) for k, v in acc.items()})
    assert min(acc[k] for k in ("shape", "x", "y", "size", "colour", "texture")) >= 0.95


def _one(**kw):
    attrs = {"shape": 0, "x": 0.5, "y": 0.5, "size": 0.2, "colour": 0, "texture": 0} | kw
    return {k: torch.tensor([v]) for k, v in attrs.items()}


@pytest.mark.parametrize("shape", [0, 1, 2])
@pytest.mark.parametrize("colour", [0, 3, 5])
@pytest.mark.parametrize("texture", [0, 1, 2])
def test_single_images_by_hand(shape, colour, texture):
    attrs = _one(shape=shape, colour=colour, texture=texture, x=0.4, y=0.6, size=0.22)
    m = sa.measure_shapes(render_shapes(attrs))
    assert m["valid"].item()
    assert (m["shape"].item(), m["colour"].item(), m["texture"].item()) == (shape, colour, texture)
    assert abs(m["x"].item() - 0.4) < 0.02 and abs(m["y"].item() - 0.6) < 0.02 and abs(m["size"].item() - 0.22) < 0.02


def test_blank_and_full_images_are_invalid():
    blank, full = -torch.ones(1, 3, 32, 32), torch.ones(1, 3, 32, 32)
    assert not sa.measure_shapes(blank)["valid"].item() and not sa.measure_shapes(full)["valid"].item()
    with pytest.raises(ValueError, match="RGB"):
        sa.measure_shapes(torch.zeros(2, 1, 32, 32))
    with pytest.raises(ValueError, match="NaN"):
        sa.measure_shapes(torch.full((1, 3, 32, 32), float("nan")))


def test_agree_uses_the_tolerances():
    a, b = _one(), _one(x=0.5 + sa.POS_TOL / 2, size=0.2 + 2 * sa.SIZE_TOL)
    a["valid"] = b["valid"] = torch.tensor([True])
    assert sa.agree(a, b, ("shape", "x", "y")).item() and not sa.agree(a, b, ("size",)).item()
    assert not sa.agree(a, _one(colour=1) | {"valid": torch.tensor([True])}, sa.FINE).item()


def test_mixing_row_counts_from_b_apart_from_from_a():
    # three pairs that differ in texture only: the mixes show A's, B's and a third texture
    def stack(**kw):
        return {k: torch.tensor(v) for k, v in kw.items()}

    common = {"shape": [0, 0, 0], "x": [0.5] * 3, "y": [0.5] * 3, "size": [0.2] * 3, "colour": [1, 1, 1],
              "valid": [True] * 3}
    m_a, m_b = stack(texture=[1, 1, 1], **common), stack(texture=[2, 2, 2], **common)
    m_mix = stack(texture=[1, 2, 0], **common)
    for m in (m_a, m_b, m_mix):
        m["mask"] = torch.ones(3, 4, 4, dtype=torch.bool)
    row = sa._mixing_row(m_a, m_b, m_mix)
    assert row["differing_pairs"]["texture"] == 3 and row["differing_pairs"]["colour"] == 0
    assert row["per_attribute"]["texture"] == pytest.approx(1 / 3)
    assert row["from_b"]["texture"] == pytest.approx(1 / 3)  # not 1 - 1/3: the third mix is flat, neither parent's


def test_mixing_table_bookkeeping_on_an_untrained_generator():
    torch.manual_seed(0)
    G = StyleGenerator().eval()
    table = sa.mixing_table(G, n=16, crossovers=[0, G.num_ws], seed=1)
    assert [r["crossover"] for r in table] == [0, G.num_ws]
    assert set(table[0]) >= {"coarse_from_a", "fine_from_b", "coarse_from_b", "fine_from_a", "valid", "per_attribute",
                             "from_b"}


@pytest.mark.skipif(not WEIGHTS.exists(), reason="checkpoint not trained yet")
def test_mixing_table_end_points_on_the_shipped_generator():
    G = load_stylegan()
    table = sa.mixing_table(G, n=64, crossovers=[0, G.num_ws], seed=3)
    pure_b, pure_a = table
    assert pure_b["valid"] > 0.3 and pure_a["valid"] > 0.3
    # crossover 0 renders B itself and num_ws renders A itself: every counted mix agrees with that parent
    assert pure_b["coarse_from_b"] == 1.0 and pure_b["fine_from_b"] == 1.0
    assert pure_a["coarse_from_a"] == 1.0 and pure_a["fine_from_a"] == 1.0
    for k in sa.COARSE + sa.FINE:  # per attribute, among the pairs that differ in it
        assert pure_b["differing_pairs"][k] > 0 and pure_a["differing_pairs"][k] > 0
        assert pure_b["from_b"][k] == 1.0 and pure_b["per_attribute"][k] == 0.0
        assert pure_a["from_b"][k] == 0.0 and pure_a["per_attribute"][k] == 1.0
    assert pure_b["silhouette_from_a"] == 0.0 and pure_a["silhouette_from_a"] == 1.0 and pure_a["silhouette_pairs"] > 0
    report = sa.sample_report(G, 128)
    assert report["valid"] > 0.5 and len(report["shape"]) == 3


def test_attribute_features_are_finite_and_match_the_measures():
    images, attrs = make_shapes(50, seed=8)
    images = torch.cat([images, -torch.ones(2, 3, 32, 32)])  # two blank (invalid) images
    f = sa.attribute_features(images)
    assert f.shape == (52, len(sa.FEATURES)) and f.dtype == torch.float64 and torch.isfinite(f).all()
    assert torch.allclose(f[:50, 0].float(), attrs["x"], atol=0.02)
    assert torch.allclose(f[:50, 2].float(), attrs["size"], atol=0.02)
