"""Lesson 7's training step and report: the recipe is applied as written, and the report fails degenerate generators."""
import io
import math

import pytest
import torch

from coursekit import shape_attributes as sa
from coursekit.losses import r1_penalty
from coursekit.shapes import LESSON7, make_shapes
from coursekit.stylegan import StyleDiscriminator, StyleGANConfig, StyleGenerator
from coursekit.stylegan_report import precision_recall_vs_real, real_features, stylegan_report
from coursekit.stylegan_train import StyleGANRecipe, StyleGANTraining, train_step

TINY = StyleGANConfig(z_dim=8, w_dim=8, mapping_layers=2, channels=(8, 8, 4), d_channels=(4, 8, 8))


def _training(**recipe) -> StyleGANTraining:
    torch.manual_seed(0)
    return StyleGANTraining(StyleGenerator(TINY), StyleDiscriminator(TINY), StyleGANRecipe(batch=4, **recipe))


def test_default_recipe_is_the_shipped_checkpoints():
    """Lesson 7 trains its demo with ``StyleGANRecipe()`` and says it is the shipped checkpoint's step and recipe."""
    from coursekit.stylegan import TILE_WEIGHTS, WEIGHTS, load_stylegan

    for weights in (WEIGHTS, TILE_WEIGHTS):
        recipe = load_stylegan(weights, with_discriminator=True)[2]["recipe"]
        assert StyleGANRecipe(**recipe) == StyleGANRecipe(), weights.name


def test_recipe_validates_and_ema_beta_follows_the_half_life():
    r = StyleGANRecipe(batch=32, ema_kimg=5.0)
    assert r.ema_beta(10**6) == pytest.approx(0.5 ** (32 / 5000))  # half-life of 5,000 images
    assert r.ema_beta(0) == pytest.approx(0.1)  # ramp-up: (t + 1) / (t + 10)
    for bad in ({"batch": 1}, {"lr": 0}, {"r1_gamma": -1}, {"mixing_prob": 1.5}, {"ema_kimg": 0}):
        with pytest.raises(ValueError):
            StyleGANRecipe(**bad)


def test_train_step_updates_g_d_ema_and_w_avg():
    t = _training()
    real = make_shapes(4, seed=0, **LESSON7)[0]
    g0 = [p.detach().clone() for p in t.G.parameters()]
    d0 = [p.detach().clone() for p in t.D.parameters()]
    e0 = [p.detach().clone() for p in t.G_ema.parameters()]
    out = train_step(t, real)
    assert t.step == 1 and set(out) == {"d_loss", "g_loss", "r1"} and all(math.isfinite(v) for v in out.values())
    assert any(not torch.equal(a, b) for a, b in zip(g0, t.G.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, t.D.parameters()))
    # G_ema moved by (1 - beta) of the way from its old weights to G's new ones (beta at step 0 = 0.1)
    for old, ema, new in zip(e0, t.G_ema.parameters(), t.G.parameters()):
        assert torch.allclose(ema, old + 0.9 * (new - old), atol=1e-6)
    assert t.G.w_avg.abs().sum() > 0 and torch.equal(t.G_ema.w_avg, t.G.w_avg)
    assert not t.G_ema.training and not any(p.requires_grad for p in t.G_ema.parameters())


def test_r1_only_on_its_lazy_steps_and_scaled_by_the_interval():
    t = _training(r1_every=3, r1_gamma=2.0)
    real = make_shapes(4, seed=1, **LESSON7)[0]
    seen = [("r1" in train_step(t, real)) for _ in range(7)]
    assert seen == [True, False, False, True, False, False, True]
    # the D gradient of a lazy step includes 0.5 * gamma * every * R1: compare with a step without R1
    a, b = _training(r1_every=3, r1_gamma=2.0), _training(r1_gamma=0.0)
    torch.manual_seed(5)
    train_step(a, real)
    torch.manual_seed(5)
    train_step(b, real)
    assert any(not torch.equal(p, q) for p, q in zip(a.D.parameters(), b.D.parameters()))
    assert r1_penalty(_training().D, real).item() >= 0


def test_state_dict_round_trip_resumes_the_same_run():
    t = _training()
    real = make_shapes(4, seed=2, **LESSON7)[0]
    train_step(t, real)
    buffer = io.BytesIO()  # a real resume reads the state from a file (Adam's state would otherwise be shared)
    torch.save(t.state_dict(), buffer)
    buffer.seek(0)
    u = _training()
    u.load_state_dict(torch.load(buffer, weights_only=False))
    assert u.step == 1
    torch.manual_seed(9)
    train_step(t, real)
    torch.manual_seed(9)
    train_step(u, real)
    assert all(torch.equal(p, q) for p, q in zip(t.G_ema.parameters(), u.G_ema.parameters()))


class _Constant(torch.nn.Module):
    """A 'generator' with StyleGenerator's interface that always draws the same image."""

    def __init__(self, image: torch.Tensor):
        super().__init__()
        self.G = StyleGenerator(TINY)
        self.image = image
        self.z_dim, self.w_dim, self.num_ws = TINY.z_dim, TINY.w_dim, self.G.num_ws
        self.mapping, self.broadcast = self.G.mapping, self.G.broadcast
        self.mix, self.truncate = self.G.mix, self.G.truncate

    def synthesis(self, ws, noise_mode="random"):
        return self.image.expand(ws.shape[0], -1, -1, -1)

    def forward(self, z, psi=1.0, noise_mode="random", cutoff=None):
        return self.image.expand(z.shape[0], -1, -1, -1)


def test_precision_recall_fail_a_collapsed_generator_and_pass_real_images():
    real_f = real_features(300)
    images = make_shapes(300, seed=11, **LESSON7)[0]
    p, r = precision_recall_vs_real(real_f, images)
    assert p > 0.8 and r > 0.8
    p, r = precision_recall_vs_real(real_f, images[:1].expand(300, -1, -1, -1))  # one real image, repeated
    assert r < 0.05


def test_report_says_a_constant_generator_has_no_diversity_and_mixing_is_trivial():
    image = make_shapes(1, seed=3, **LESSON7)[0]
    report = stylegan_report(_Constant(image), n=64, seed=0, psis=(1.0, 0.0))
    assert report["samples"]["valid"] == 1.0 and max(report["samples"]["shape"].values()) == 1.0
    assert report["recall"] < 0.1 and [t["psi"] for t in report["truncation"]] == [1.0, 0.0]
    assert len(report["mixing"]) == TINY.channels.__len__() * 2 + 1
    assert all(sum(r["differing_pairs"].values()) == 0 for r in report["mixing"])  # A and B never differ
    assert all(r["silhouette_pairs"] == 0 for r in report["mixing"])
    blank = -torch.ones(1, 3, 16, 16)
    assert stylegan_report(_Constant(blank), n=16, seed=0, psis=(1.0,))["samples"]["valid"] == 0.0
    assert sa.MAX_AREAS["lesson7"] >= 0.46  # the largest real square (half-size 0.34) must stay valid


def test_report_samples_are_the_psi_one_row_of_the_truncation_table():
    """The sample shares and the ψ = 1 row come from the same images, so their validity is the same number."""

    class _Noisy(_Constant):  # a shape or a blank image, chosen by z[0] plus per-sample noise (like StyleGAN's)
        def forward(self, z, psi=1.0, noise_mode="random", cutoff=None):
            shape = self.image.expand(z.shape[0], -1, -1, -1)
            keep = z[:, 0] + torch.randn(z.shape[0]) > 0
            return torch.where(keep[:, None, None, None], shape, -torch.ones_like(shape))

    report = stylegan_report(_Noisy(make_shapes(1, seed=3, **LESSON7)[0]), n=200, seed=5, psis=(1.0, 0.0))
    assert 0.2 < report["samples"]["valid"] < 0.8
    assert report["samples"]["valid"] == report["truncation"][0]["valid"]
    assert report["samples"]["shape"] == report["truncation"][0]["shape"]
    # every row carries the shape shares of its own valid images: here always the one shape drawn
    assert max(report["samples"]["shape"].values()) == 1
    assert report["truncation"][1]["shape"] == report["samples"]["shape"]


def test_recipe_mixing_crossovers_validate_and_reach_the_step():
    assert StyleGANRecipe().mixing_crossovers is None  # the shipped recipe: uniform crossovers
    for bad in ((), (0, 4)):
        with pytest.raises(ValueError, match="mixing_crossovers"):
            StyleGANRecipe(mixing_crossovers=bad)
    t = _training(mixing_prob=1.0, mixing_crossovers=(TINY.channels.__len__() * 2,))  # 6: not below num_ws
    with pytest.raises(ValueError, match="crossovers"):
        train_step(t, make_shapes(4, seed=0, **LESSON7)[0])


def test_train_step_with_const_maps_and_chosen_crossovers_moves_the_maps():
    cfg = StyleGANConfig(z_dim=8, w_dim=8, mapping_layers=2, channels=(8, 8, 4), d_channels=(4, 8, 8),
                         const_maps_from=16)
    torch.manual_seed(0)
    t = StyleGANTraining(StyleGenerator(cfg), StyleDiscriminator(cfg),
                         StyleGANRecipe(batch=4, mixing_prob=1.0, mixing_crossovers=(3, 4, 4, 5)))
    real = make_shapes(4, seed=0, **LESSON7)[0]
    out = [train_step(t, real) for _ in range(3)]
    assert all(math.isfinite(v) for o in out for v in o.values())
    assert t.G.synthesis.layers[4].const_map.abs().sum() > 0  # learned away from 0
    assert t.G_ema.synthesis.layers[5].const_map.abs().sum() > 0


def _script():
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / "train_stylegan.py"
    spec = importlib.util.spec_from_file_location("train_stylegan_new_options", path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.pop(0)
    return module


def test_script_defaults_are_the_shipped_recipe_and_new_options_parse():
    sg = _script()
    args = sg.parse_args([])
    assert args.mixing_crossovers is None and args.const_maps_from == 0
    assert sg.recipe_of(args) == StyleGANRecipe()  # nothing new unless asked
    args = sg.parse_args(["--mixing-crossovers", "2,3,4,4,4,5", "--const-maps-from", "16"])
    assert args.mixing_crossovers == (2, 3, 4, 4, 4, 5) and args.const_maps_from == 16
    assert sg.recipe_of(args).mixing_crossovers == (2, 3, 4, 4, 4, 5)
    with pytest.raises(SystemExit):
        sg.parse_args(["--mixing-crossovers", "0,4"])


def test_script_resumes_a_const_maps_run_exactly_and_refuses_another(tmp_path):
    """Two steps, then a resume to four, give the same weights as four steps at once (data, noise and z are seeded)."""
    from coursekit.stylegan import load_stylegan

    sg = _script()
    tiny = ["--threads", "1", "--batch", "4", "--save-every", "2", "--log-every", "1", "--eval-n", "8",
            "--const-maps-from", "16", "--mixing-prob", "1", "--mixing-crossovers", "3,4,4,5"]
    split = ["--out", str(tmp_path / "a.pt"), "--state", str(tmp_path / "a_state.pt")] + tiny
    whole = ["--out", str(tmp_path / "b.pt"), "--state", str(tmp_path / "b_state.pt")] + tiny
    assert sg.main(["--steps", "2"] + split) == 0
    assert sg.main(["--steps", "4", "--resume"] + split) == 0
    assert sg.main(["--steps", "4"] + whole) == 0
    G_a, _, meta = load_stylegan(tmp_path / "a.pt", with_discriminator=True)
    G_b = load_stylegan(tmp_path / "b.pt")
    assert meta["steps"] == 4 and G_a.config.const_maps_from == 16
    assert meta["recipe"]["mixing_crossovers"] == [3, 4, 4, 5] or meta["recipe"]["mixing_crossovers"] == (3, 4, 4, 5)
    assert all(torch.equal(p, q) for p, q in zip(G_a.state_dict().values(), G_b.state_dict().values()))
    other = [a for a in split if a not in ("--const-maps-from", "16")]
    with pytest.raises(SystemExit, match="other --const-maps-from"):
        sg.main(["--steps", "5", "--resume"] + other)
    with pytest.raises(SystemExit, match="other --const-maps-tile"):
        sg.main(["--steps", "5", "--resume", "--const-maps-tile", "2"] + split)
    assert sg.parse_args([]).const_maps_tile == 0


def test_script_mapping_options_reach_the_model_and_guard_the_resume(tmp_path):
    from coursekit.stylegan import StyleGANConfig, load_stylegan

    sg = _script()
    args = sg.parse_args([])
    assert (args.mapping_layers, args.mapping_lr_mul) == (StyleGANConfig().mapping_layers,
                                                          StyleGANConfig().mapping_lr_mul)
    run = ["--out", str(tmp_path / "m.pt"), "--state", str(tmp_path / "m_state.pt"), "--threads", "1",
           "--batch", "4", "--save-every", "2", "--log-every", "1", "--eval-n", "8",
           "--mapping-layers", "2", "--mapping-lr-mul", "0.1"]
    assert sg.main(["--steps", "2"] + run) == 0
    G = load_stylegan(tmp_path / "m.pt")
    assert len(G.mapping.layers) == 2 and G.config.mapping_lr_mul == 0.1
    with pytest.raises(SystemExit, match="other --mapping-layers"):
        sg.main(["--steps", "3", "--resume"] + run[:-4] + ["--mapping-lr-mul", "0.1"])
    with pytest.raises(SystemExit, match="other --mapping-lr-mul"):
        sg.main(["--steps", "3", "--resume"] + run[:-1] + ["1.0"])
