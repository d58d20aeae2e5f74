"""coursekit.widgets, headless: build each widget, set .value (observers run synchronously),
assert that what it renders changes, and check the numbers it shows against independent references."""
import math

import numpy as np
import pytest
import torch
from scipy.optimize import minimize_scalar
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

from coursekit import latent, theory, widgets

LOG2 = math.log(2)


def png(widget):
    value = bytes(widget.image.value)
    assert value[:8] == b"\x89PNG\r\n\x1a\n"
    return value


# ----------------------------------------------------------------------------- lesson 1


def test_jsd_w1_curves_match_scipy_and_closed_forms():
    x, dx = theory.grid(-5, 11, 3201)
    shifts = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 6.0])
    jsds, w1s = theory.jsd_w1_curves(x, dx, 0.5, shifts)
    p = theory.normalize(theory.gaussian_pdf(x, 0, 0.5), dx)
    for shift, j, w in zip(shifts, jsds, w1s):
        q = theory.normalize(theory.gaussian_pdf(x, shift, 0.5), dx)
        assert j == pytest.approx(jensenshannon(p, q) ** 2, abs=1e-9)  # scipy: sqrt of JSD, natural log
        assert w == pytest.approx(wasserstein_distance(x, x, p, q), abs=2 * dx)
        assert w == pytest.approx(abs(shift), abs=2 * dx)  # equal stds: W1 = |mu1 - mu2|
    assert jsds[0] == pytest.approx(0, abs=1e-12)
    assert np.all(np.diff(jsds) > 0) and jsds[-1] == pytest.approx(LOG2, abs=1e-6)  # saturates at log 2
    assert w1s[-1] - w1s[-2] == pytest.approx(2.0, abs=2 * dx)  # ... while W1 keeps growing


def test_jsd_w1_explorer_redraws_and_reports_saturation():
    ex = widgets.jsd_w1_explorer(sigma=0.5, max_shift=6.0, step=0.25)
    before, text_before = png(ex), ex.readout.value
    assert "JSD = 0.0000" in text_before and "W1 = 0.0000" in text_before
    ex.slider.value = 1.0
    middle = png(ex)
    assert middle != before and ex.readout.value != text_before
    j1, w1 = ex.values()
    ex.slider.value = 6.0
    j6, w6 = ex.values()
    assert png(ex) != middle
    assert 0 < j1 < j6 and j6 == pytest.approx(LOG2, abs=1e-6)
    assert w1 == pytest.approx(1.0, abs=1e-2) and w6 == pytest.approx(6.0, abs=1e-2)
    assert f"W1 = {w6:.4f}" in ex.readout.value
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "image/png" in bundle  # static fallback


def test_jsd_w1_explorer_rejects_bad_settings():
    with pytest.raises(ValueError, match="sigma"):
        widgets.jsd_w1_explorer(sigma=0)


# ----------------------------------------------------------------------------- training dashboard


def _record(step, samples=None):
    r = {"step": step, "d_loss": 1.4 - 0.01 * step, "g_loss": 0.7 + 0.02 * step, "d_real": 0.5 + 0.004 * step,
         "d_fake": torch.tensor(0.5 - 0.004 * step), "grad_norm_d": 1.0, "grad_norm_g": 2.0, "time": 0.1 * step}
    if samples is not None:
        r["samples"] = samples
    return r


def test_training_dashboard_live_redraws_on_each_record():
    dash = widgets.training_dashboard(live=True, min_interval=0.0)
    assert bytes(dash.image.value) == b""
    dash(_record(0))
    first = png(dash)
    assert "step 0" in dash.readout.value
    images = torch.tanh(torch.randn(16, 1, 8, 8))
    dash(_record(10, samples=images))
    second = png(dash)
    assert second != first and "step 10" in dash.readout.value
    dash(_record(20))
    assert png(dash) != second
    fig = dash.figure()
    assert len(fig.axes) == 3 and fig.axes[2].get_title() == "samples at step 10"
    d_line = [ln for ln in fig.axes[0].lines if ln.get_label() == "D loss"][0]
    assert np.allclose(d_line.get_ydata(), [1.4, 1.3, 1.2])
    d_fake = [ln for ln in fig.axes[1].lines if ln.get_label() == "D(G(z))"][0]
    assert np.allclose(d_fake.get_ydata(), [0.5, 0.46, 0.42])  # tensors become floats


def test_training_dashboard_2d_samples_and_throttling():
    centers = torch.tensor([[2.0, 0.0], [-2.0, 0.0]])
    dash = widgets.training_dashboard(centers=centers, live=True, min_interval=3600.0)
    dash(_record(0, samples=torch.randn(64, 2)))
    first = png(dash)
    dash(_record(5, samples=torch.randn(64, 2) + 3))
    assert png(dash) == first  # throttled: no redraw within min_interval ...
    assert len(dash.records) == 2  # ... but every record is kept
    dash.refresh()
    assert png(dash) != first
    offsets = dash.figure().axes[2].collections[-1].get_offsets()
    assert np.allclose(offsets, centers.numpy())


def test_training_dashboard_without_front_end_only_draws_on_request():
    dash = widgets.training_dashboard(live=False)
    with pytest.raises(ValueError, match="no records"):
        dash.figure()
    for step in range(0, 50, 10):
        dash(_record(step))
    assert bytes(dash.image.value) == b""  # nothing drawn during training
    assert len(dash.figure().axes) == 2
    with pytest.raises(ValueError, match="step"):
        dash({"d_loss": 1.0})


def test_training_dashboard_as_a_real_trainer_callback():
    train = pytest.importorskip("coursekit.train")
    models = pytest.importorskip("coursekit.models")
    data = pytest.importorskip("coursekit.data")
    config = train.TrainConfig(**{k: v for k, v in {"batch_size": 32, "log_every": 5, "snapshot_every": 5}.items()
                                  if k in train.TrainConfig.__dataclass_fields__})
    torch.manual_seed(0)
    dash = widgets.training_dashboard(live=True, min_interval=0.0)
    trainer = train.GANTrainer(models.MLP2DGenerator(), models.MLP2DDiscriminator(), data.sample_ring(512),
                               config, callbacks=[dash])
    history = trainer.train(steps=10)
    assert [r["step"] for r in dash.records] == list(history.step)
    assert png(dash) and dash.samples is not None and dash.samples.shape[1] == 2
    assert len(dash.figure().axes) == 3


# ----------------------------------------------------------------------------- latent explorer


def test_latent_helpers():
    z_a, z_b = latent.latent_from_seed(0, 16), latent.latent_from_seed(1, 16)
    assert torch.equal(z_a, latent.latent_from_seed(0, 16)) and not torch.equal(z_a, z_b)
    for mode in ("linear", "slerp"):
        path = latent.interpolate(z_a, z_b, 5, mode)
        assert path.shape == (5, 16)
        assert torch.allclose(path[0], z_a, atol=1e-6) and torch.allclose(path[-1], z_b, atol=1e-6)
    lin, sl = latent.interpolate(z_a, z_b, 3, "linear"), latent.interpolate(z_a, z_b, 3, "slerp")
    assert torch.allclose(lin[1], (z_a + z_b) / 2)
    # slerp between equal-norm vectors stays on the sphere; the linear midpoint is shorter
    u, v = z_a / z_a.norm(), z_b / z_b.norm()
    assert torch.allclose(latent.interpolate(u, v, 7, "slerp").norm(dim=1), torch.ones(7), atol=1e-5)
    assert lin[1].norm() < sl[1].norm()
    line = latent.sweep(z_a, 3, 2.0, 5)
    assert torch.allclose(line[:, 3], torch.linspace(-2, 2, 5))
    assert torch.equal(torch.cat([line[:, :3], line[:, 4:]], 1), torch.cat([z_a[:3], z_a[4:]]).expand(5, -1))
    with pytest.raises(ValueError):
        latent.interpolate(z_a, z_b, 5, "cubic")
    with pytest.raises(ValueError):
        latent.sweep(z_a, 16, 1.0, 5)
    with pytest.raises(ValueError):
        latent.latent_from_seed(-1, 4)


class TinyGenerator(torch.nn.Module):
    """``z [B, nz] -> [B, 1, 6, 6]`` in [-1, 1], deterministic."""

    def __init__(self, nz=8):
        super().__init__()
        self.nz = nz
        self.fc = torch.nn.Linear(nz, 36)
        self.calls = []

    def forward(self, z):
        self.calls.append(z.clone())
        return torch.tanh(self.fc(z)).view(-1, 1, 6, 6)


def test_latent_explorer_renders_the_generator_on_the_right_latents():
    torch.manual_seed(0)
    G = TinyGenerator()
    G.train()
    ex = widgets.latent_explorer(G, seed_a=3, seed_b=4, steps=6)
    assert G.training  # mode restored after drawing
    z = G.calls[-1]
    assert z.shape == (12, 8)
    assert torch.allclose(z[0], latent.latent_from_seed(3, 8)) and torch.allclose(z[5], latent.latent_from_seed(4, 8))
    assert torch.allclose(z[6:, 0], torch.linspace(-3, 3, 6))  # the sweep of dimension 0
    before = png(ex)
    ex.seed_b.value = 5
    after_seed = png(ex)
    assert after_seed != before and torch.allclose(G.calls[-1][5], latent.latent_from_seed(5, 8))
    ex.dim.value = 7
    assert png(ex) != after_seed and torch.allclose(G.calls[-1][6:, 7], torch.linspace(-3, 3, 6))
    ex.mode.value = "linear"
    assert "linear" in ex.readout.value
    with pytest.raises(ValueError, match="nz"):
        widgets.latent_explorer(torch.nn.Linear(2, 2))


def test_latent_explorer_with_the_course_generators():
    models = pytest.importorskip("coursekit.models")
    for G in (models.MLPGenerator(nz=16), models.DCGANGenerator(nz=16, ngf=8)):
        ex = widgets.latent_explorer(G, steps=4)
        before = png(ex)
        ex.seed_a.value = 9
        assert png(ex) != before


# ----------------------------------------------------------------------------- 2-D playground


def test_mixture_playground_scrubs_snapshots_with_surfaces():
    from coursekit import plots

    torch.manual_seed(0)
    d = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    extent = (-3.0, 3.0, -3.0, 3.0)
    snapshots = []
    for k, step in enumerate((0, 100, 200)):
        with torch.no_grad():
            d[2].bias.fill_(float(k))  # a discriminator that changes between snapshots
        snapshots.append((step, torch.randn(200, 2) * (1 + k), plots.decision_surface(d, extent, resolution=20)))
    pg = widgets.mixture_playground(snapshots, centers=torch.zeros(1, 2), extent=extent)
    assert pg.slider.value == 2 and "step 200" in pg.readout.value  # starts at the last snapshot
    last = png(pg)
    pg.slider.value = 0
    first = png(pg)
    assert first != last and "step 0" in pg.readout.value
    assert np.allclose(pg.figure().axes[0].images[0].get_array(), snapshots[0][2])
    pg.slider.value = 2
    assert png(pg) == last  # cached frame, same picture
    pg.play.value = 1  # the play button drives the slider in the browser (jslink); here it is just a control
    with pytest.raises(ValueError, match="extent"):
        widgets.mixture_playground(snapshots)


def test_mixture_playground_plain_snapshots_fixed_view():
    snaps = [(s, torch.randn(100, 2) * 0.1 + s / 100) for s in (0, 100, 300)]
    pg = widgets.mixture_playground(snaps)
    x0, x1, y0, y1 = pg.extent
    assert x0 < 0 < 3 < x1 and y1 == x1  # holds every snapshot, the same for all frames
    pg.slider.value = 1
    assert pg.figure().axes[0].get_xlim() == (x0, x1)
    with pytest.raises(ValueError, match="empty"):
        widgets.mixture_playground([])
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        widgets.mixture_playground([(0, torch.randn(5, 3))])


# ----------------------------------------------------------------------------- lesson 6


@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (0.9, 0.0), (0.9, 0.1), (0.7, 0.3)])
def test_smoothed_d_star_maximises_the_pointwise_objective(alpha, beta):
    rng = np.random.default_rng(1)
    p, q = rng.random(6) + 0.01, rng.random(6) + 0.01
    d = theory.smoothed_optimal_discriminator(p, q, alpha, beta)
    for pi, qi, di in zip(p, q, d):
        def neg(t):
            real = pi * (alpha * np.log(t) + (1 - alpha) * np.log1p(-t))
            fake = qi * (beta * np.log(t) + (1 - beta) * np.log1p(-t))
            return -(real + fake)
        best = minimize_scalar(neg, bounds=(1e-9, 1 - 1e-9), method="bounded", options={"xatol": 1e-10}).x
        assert di == pytest.approx(best, abs=1e-5)


def test_smoothed_d_star_reduces_to_goodfellow_and_validates():
    x = np.linspace(-4, 4, 101)
    p, q = theory.gaussian_pdf(x, -1, 1), theory.gaussian_pdf(x, 1, 1)
    assert np.allclose(theory.smoothed_optimal_discriminator(p, q), theory.optimal_discriminator(p, q))
    assert theory.smoothed_optimal_discriminator(np.zeros(2), np.zeros(2))[0] == 0.5
    with pytest.raises(ValueError, match="labels"):
        theory.smoothed_optimal_discriminator(p, q, alpha=1.2)


def test_smoothing_explorer_redraws_and_fake_only_region_sits_at_beta():
    ex = widgets.smoothing_explorer(alpha=0.9, beta=0.0)
    before = png(ex)
    fake_only = ex.p_g > 1e3 * ex.p_data
    real_only = ex.p_data > 1e3 * ex.p_g
    assert np.allclose(ex.d_star()[fake_only], 0.0, atol=1e-3) and np.allclose(ex.d_star()[real_only], 0.9, atol=1e-3)
    ex.beta.value = 0.3
    assert png(ex) != before
    assert np.allclose(ex.d_star()[fake_only], 0.3, atol=1e-3)
    assert "where only p_g has mass ≈ 0.300" in ex.readout.value
    ex.alpha.value = 1.0
    assert "where only p_data has mass ≈ 1.000" in ex.readout.value


# ----------------------------------------------------------------------------- lesson 7


class TinyStyleGenerator(torch.nn.Module):
    """A stand-in with the StyleGenerator API: layer i of ``synthesis`` paints rows 2i, 2i+1 of an 8x8 image."""

    def __init__(self, z_dim=4, w_dim=6, num_ws=4):
        super().__init__()
        self.z_dim, self.w_dim, self.num_ws = z_dim, w_dim, num_ws
        self.fc = torch.nn.Linear(z_dim, w_dim)
        self.to_rgb = torch.nn.Linear(w_dim, 3 * 2 * 8)
        self.register_buffer("w_avg", torch.randn(w_dim))

    def mapping(self, z):
        return self.fc(z)

    def truncate(self, w, psi, cutoff=None):
        return self.w_avg + psi * (w - self.w_avg)

    def mix(self, w_a, w_b, crossover):
        ws_a = w_a.unsqueeze(1).expand(-1, self.num_ws, -1)
        ws_b = w_b.unsqueeze(1).expand(-1, self.num_ws, -1)
        layer = torch.arange(self.num_ws).view(1, -1, 1)
        return torch.where(layer < crossover, ws_a, ws_b)

    def synthesis(self, ws, noise_mode="random"):
        assert noise_mode == "const"
        rows = torch.tanh(self.to_rgb(ws)).view(ws.shape[0], self.num_ws, 3, 2, 8)  # [B, num_ws, 3, 2, 8]
        return rows.permute(0, 2, 1, 3, 4).reshape(ws.shape[0], 3, 2 * self.num_ws, 8)  # [B, 3, 8, 8]


def test_style_mixer_takes_coarse_rows_from_a_and_fine_rows_from_b():
    torch.manual_seed(0)
    G = TinyStyleGenerator()
    mixer = widgets.style_mixer(G, seed_a=1, seed_b=2, crossover=2, psi=1.0)
    a, b, mix = mixer.images()
    assert not torch.allclose(a, b)
    assert torch.allclose(mix[:, :4], a[:, :4]) and torch.allclose(mix[:, 4:], b[:, 4:])  # layers 0-1 from A
    before = png(mixer)
    mixer.crossover.value = G.num_ws
    assert torch.allclose(mixer.images()[2], a) and png(mixer) != before and "pure A" in mixer.readout.value
    mixer.crossover.value = 0
    assert torch.allclose(mixer.images()[2], b) and "pure B" in mixer.readout.value
    mixer.psi.value = 0.0  # truncation to w̄: A and B become the same image
    a0, b0, _ = mixer.images()
    assert torch.allclose(a0, b0)
    mixer.seed_a.value = 7
    assert "seed 7" in mixer.readout.value
    with pytest.raises(ValueError, match="StyleGenerator"):
        widgets.style_mixer(TinyGenerator())


def test_style_mixer_with_the_course_stylegan():
    stylegan = pytest.importorskip("coursekit.stylegan")
    torch.manual_seed(0)
    G = stylegan.StyleGenerator()
    mixer = widgets.style_mixer(G, crossover=4, psi=1.0)
    a, b, mix = mixer.images()
    assert a.shape == (3, 16, 16)
    assert torch.allclose(mix, G.synthesis(G.mix(G.mapping(latent.latent_from_seed(0, G.z_dim)[None]),
                                                 G.mapping(latent.latent_from_seed(1, G.z_dim)[None]), 4),
                                           noise_mode="const")[0], atol=1e-5)
    before = png(mixer)
    mixer.crossover.value = 2
    assert png(mixer) != before
