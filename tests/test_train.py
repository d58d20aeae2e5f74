"""The trainer: it learns, chunks of training add up exactly, it stops on NaN keeping the good state, it reports."""
import math

import pytest
import torch
from torch import nn

from coursekit import losses
from coursekit import train as T
from coursekit.checkpoint import load_checkpoint, load_model
from coursekit.train import KEYS, GANTrainer, History, TrainConfig, TrainingDiverged, gan_step

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


class MLPG(nn.Module):
    def __init__(self, nz=4, out=1, hidden=32, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.nz = nz
        self.net = nn.Sequential(nn.Linear(nz, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, out))

    def forward(self, z):
        return self.net(z)


def mlp_d(inp=1, hidden=32, seed=1, dropout=0.0, norm=False):
    torch.manual_seed(seed)
    layers = [nn.Linear(inp, hidden)] + ([nn.BatchNorm1d(hidden)] if norm else []) + [nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers, nn.Dropout(dropout), nn.Linear(hidden, 1))


def gauss(n=4096, mean=2.0, std=0.5, dim=1):
    return mean + std * torch.randn(n, dim, generator=torch.Generator().manual_seed(1))


def params(*modules):
    return [t for m in modules for t in list(m.parameters()) + list(m.buffers())]


def test_a_1d_gan_learns_the_mean_and_spread_of_its_target():
    # target N(2, 0.5²); tolerance: |mean - 2| < 0.1 and |std - 0.5| < 0.2 over 4,000 samples
    # (over init seeds 0-5 this run gave |mean err| <= 0.06, |std err| <= 0.17)
    torch.manual_seed(0)
    trainer = GANTrainer(MLPG(), mlp_d(), gauss(), TrainConfig(steps=1000, batch_size=128, lr_g=2e-3, lr_d=2e-3,
                                                               log_every=100, progress=False), device="cpu")
    history = trainer.train()
    x = trainer.sample(4000)
    assert abs(x.mean().item() - 2.0) < 0.1, x.mean()
    assert abs(x.std().item() - 0.5) < 0.2, x.std()
    # near equilibrium D(x) ≈ D(G(z)) ≈ 1/2 and the losses ≈ 2 log 2, log 2
    assert abs(history.d_real[-1] - 0.5) < 0.1 and abs(history.d_fake[-1] - 0.5) < 0.1
    assert abs(history.d_loss[-1] - 2 * math.log(2)) < 0.1


def _chunks_config(tmp_path, **kw):
    base = dict(steps=24, batch_size=32, n_critic=2, gp_weight=1.0, instance_noise=0.3, log_every=4,
                snapshot_every=8, n_snapshot=16, checkpoint_path=str(tmp_path / "run.pt"), progress=False)
    return TrainConfig(**{**base, **kw})


def test_training_in_chunks_equals_training_straight_through(tmp_path):
    """What lessons 4-6 and the race rely on: train(10) then train() is train(), to the last bit."""
    data = gauss(512, dim=2)
    # dropout in D uses the global RNG, BatchNorm adds buffers: both must come out the same
    make = lambda s: (MLPG(out=2, seed=s), mlp_d(2, seed=s + 1, dropout=0.2, norm=True))
    straight = GANTrainer(*make(0), data, _chunks_config(tmp_path, checkpoint_path=None), device="cpu")
    straight.train()

    chunked = GANTrainer(*make(0), data, _chunks_config(tmp_path), device="cpu")
    chunked.train(steps=10)  # train() writes the checkpoint at its end
    saved = load_checkpoint(tmp_path / "run.pt")
    assert saved["meta"]["step"] == 10
    assert all(torch.equal(v, chunked.discriminator.state_dict()[k])
               for k, v in saved["models"]["discriminator"]["state"].items())
    chunked.train()
    assert chunked.step == straight.step == 24 and load_checkpoint(tmp_path / "run.pt")["meta"]["step"] == 24
    for a, b in zip(params(straight.generator, straight.discriminator),
                    params(chunked.generator, chunked.discriminator)):
        assert torch.equal(a, b)
    assert straight.history.as_dict() == {**chunked.history.as_dict(), "time": straight.history.time}
    assert [s for s, _ in chunked.history.snapshots] == [0, 8, 16, 24]
    assert all(torch.equal(a, b) for (_, a), (_, b) in zip(straight.history.snapshots, chunked.history.snapshots))


def test_a_run_resumed_from_its_checkpoint_file_equals_the_run_straight_through(tmp_path):
    """save_checkpoint, then a fresh trainer's load_checkpoint, then train(): the same bits as never stopping."""
    data = gauss(512, dim=2)
    make = lambda s: (MLPG(out=2, seed=s), mlp_d(2, seed=s + 1, dropout=0.2, norm=True))
    straight = GANTrainer(*make(0), data, _chunks_config(tmp_path, checkpoint_path=None), device="cpu")
    straight.train()
    first = GANTrainer(*make(0), data, _chunks_config(tmp_path), device="cpu")
    first.train(steps=10)  # writes run.pt
    torch.manual_seed(123)  # the global RNG (dropout) must come from the file, not from here
    resumed = GANTrainer(*make(5), data, _chunks_config(tmp_path), device="cpu")  # other initial weights
    assert resumed.load_checkpoint(tmp_path / "run.pt") == 10 and resumed.history.steps == [4, 8]
    resumed.train()
    for a, b in zip(params(straight.generator, straight.discriminator),
                    params(resumed.generator, resumed.discriminator)):
        assert torch.equal(a, b)
    assert straight.history.as_dict() == {**resumed.history.as_dict(), "time": straight.history.time}
    assert all(torch.equal(a, b) for (_, a), (_, b) in zip(straight.history.snapshots, resumed.history.snapshots))


def test_a_checkpoint_of_course_models_describes_both_and_rebuilds_the_generator(tmp_path):
    from coursekit.models import DCGANGenerator, DeepDCGANDiscriminator

    torch.manual_seed(0)
    cfg = TrainConfig(steps=2, batch_size=8, r1_weight=1.0, progress=False, checkpoint_path=tmp_path / "d.pt")
    t = GANTrainer(DCGANGenerator(nz=8, ngf=4), DeepDCGANDiscriminator(ndf=4), torch.rand(32, 1, 28, 28), cfg,
                   device="cpu")
    t.train()
    raw = torch.load(tmp_path / "d.pt", weights_only=True)
    assert {k: (v["class"], v["args"]) for k, v in raw["models"].items()} == {
        "generator": ("DCGANGenerator", {"nz": 8, "ngf": 4, "image_shape": [1, 28, 28]}),
        "discriminator": ("DeepDCGANDiscriminator", {"image_shape": [1, 28, 28], "ndf": 4})}
    assert set(raw["meta"]) == {"step", "elapsed", "opt_g", "opt_d", "rng", "history", "fixed_z", "config"}
    G, meta = load_model(tmp_path / "d.pt")
    assert meta["step"] == 2 and meta["config"]["r1_weight"] == 1.0
    assert torch.equal(G.eval()(t.fixed_z), t.sample())


def test_gan_step_is_the_trainers_step():
    """The module-level step, called by hand, does exactly what the trainer does."""
    cfg = TrainConfig(steps=3, batch_size=16, n_critic=2, loss="hinge", instance_noise=0.2, progress=False)
    data = gauss(256, dim=2)
    trainer = GANTrainer(MLPG(out=2), mlp_d(2), data, cfg, device="cpu")
    trainer.train()
    G, D = MLPG(out=2), mlp_d(2)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=cfg.betas, fused=True)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=cfg.betas, fused=True)
    rng = torch.Generator().manual_seed(cfg.seed)
    for step in range(3):
        out = gan_step(G, D, opt_g, opt_d, data, rng, cfg, noise_std=trainer.noise_std(step))
    assert out["d_losses"].shape == out["d_norms"].shape == (2,)
    for a, b in zip(params(G, D), params(trainer.generator, trainer.discriminator)):
        assert torch.equal(a, b)


class NaNAfter(nn.Module):
    """A discriminator that returns NaN from its ``n``-th forward call on (a forced divergence)."""

    def __init__(self, n):
        super().__init__()
        self.net, self.calls, self.n = mlp_d(2), 0, n

    def forward(self, x):
        self.calls += 1
        out = self.net(x)
        return out * float("nan") if self.calls >= self.n else out


def test_a_nan_stops_training_with_a_diagnosis_and_keeps_the_last_good_checkpoint(tmp_path):
    path = tmp_path / "good.pt"  # a Path works as well as a str
    # 3 D calls per step (real, fake, G's fake): call 37 is the first call of step 13
    cfg = TrainConfig(steps=50, batch_size=16, log_every=1, good_state_every=5, checkpoint_path=path, progress=False)
    trainer = GANTrainer(MLPG(out=2), NaNAfter(37), gauss(256, dim=2), cfg, device="cpu")
    trainer.train(steps=10)  # writes the checkpoint at step 10
    with pytest.raises(TrainingDiverged) as info:
        trainer.train()
    err = info.value
    assert isinstance(err, FloatingPointError)  # as the vectorised trainer raises: one except catches both
    assert (err.step, err.quantity, err.restored_step) == (13, "d_loss", 10)
    assert math.isnan(err.value) and err.last_finite["step"] == 12 and math.isfinite(err.last_finite["d_loss"])
    msg = str(err)
    for part in ("diverged at step 13", "d_loss = nan", "Last finite values (step 12)", "restored", "step 10",
                 "intact", "lower the learning rates"):
        assert part in msg, (part, msg)
    # the checkpoint holds step 10, loads, is finite, and equals the models in memory (restored to step 10)
    state = load_checkpoint(path)
    assert state["meta"]["step"] == 10 and trainer.step == 10 and len(state["meta"]["history"]["step"]) == 10
    g, d = MLPG(out=2), NaNAfter(10**9)
    g.load_state_dict(state["models"]["generator"]["state"])
    d.load_state_dict(state["models"]["discriminator"]["state"])
    for a, b in zip(params(g, d), params(trainer.generator, trainer.discriminator)):
        assert torch.isfinite(a).all() and torch.equal(a, b)
    assert trainer.history.steps[-1] == 10  # the history is rolled back too


def test_an_absurd_learning_rate_is_caught_and_the_models_stay_finite():
    cfg = TrainConfig(steps=30, batch_size=16, lr_g=1e30, lr_d=1e30, good_state_every=1, progress=False)
    trainer = GANTrainer(MLPG(out=2), mlp_d(2), gauss(256, dim=2), cfg, device="cpu")
    with pytest.raises(TrainingDiverged, match="lower the learning rates"):
        trainer.train()
    assert all(torch.isfinite(p).all() for p in params(trainer.generator, trainer.discriminator))


def test_callbacks_get_the_documented_records_and_history_matches():
    records = []
    cfg = TrainConfig(steps=20, batch_size=16, log_every=5, snapshot_every=10, n_snapshot=6, progress=False)
    trainer = GANTrainer(MLPG(out=2), mlp_d(2), gauss(256, dim=2), cfg, callbacks=[records.append], device="cpu")
    history = trainer.train()
    assert [r["step"] for r in records] == [5, 10, 15, 20]
    for r in records:
        assert set(r) - {"samples"} == set(KEYS)
        assert all(isinstance(r[k], float) for k in KEYS if k != "step")
        assert 0 < r["d_real"] < 1 and 0 < r["d_fake"] < 1  # probabilities for the BCE loss
    assert [("samples" in r) for r in records] == [False, True, False, True]
    assert records[1]["samples"].shape == (6, 2) and records[1]["samples"].device.type == "cpu"
    assert [s for s, _ in history.snapshots] == [0, 10, 20]
    assert history.as_dict() == {k: [r[k] for r in records] for k in KEYS}
    assert history.step is history.steps and history.last()["step"] == 20
    assert History.from_state_dict(history.state_dict()).as_dict() == history.as_dict()
    times = history.time
    assert all(t2 > t1 > 0 for t1, t2 in zip(times, times[1:]))


def test_wgan_scores_are_raw_means_not_probabilities():
    records = []
    cfg = TrainConfig(steps=4, batch_size=16, loss="wgan", gp_weight=10, log_every=1, progress=False)
    GANTrainer(MLPG(out=2), mlp_d(2), gauss(256, mean=50.0, dim=2), cfg, [records.append], "cpu").train()
    assert any(abs(r["d_real"]) > 1 for r in records)  # a sigmoid would keep it in (0, 1)


def test_n_critic_discriminator_updates_per_generator_update():
    cfg = TrainConfig(steps=4, batch_size=8, n_critic=3, loss="wgan", progress=False)
    trainer = GANTrainer(MLPG(out=2), mlp_d(2), gauss(64, dim=2), cfg, device="cpu")
    trainer.train()
    step_count = lambda opt: {int(s["step"]) for s in opt.state.values()}
    assert step_count(trainer.opt_d) == {12} and step_count(trainer.opt_g) == {4}


def test_label_smoothing_reaches_the_loss(monkeypatch):
    seen = []

    def spy(real, fake, real_label, fake_label):
        seen.append((real_label, fake_label))
        return losses.d_loss_bce(real, fake, real_label, fake_label)

    monkeypatch.setitem(T.LOSSES, "bce", (spy, losses.g_loss_nonsaturating))
    cfg = TrainConfig(steps=3, batch_size=8, real_label=0.9, fake_label=0.1, progress=False)
    GANTrainer(MLPG(out=2), mlp_d(2), gauss(64, dim=2), cfg, device="cpu").train()
    assert seen == [(0.9, 0.1)] * 3
    with pytest.raises(ValueError, match="label smoothing needs loss='bce'"):
        TrainConfig(loss="wgan", real_label=0.9)


class Recorder(nn.Module):
    """A discriminator that remembers the std of every batch it sees."""

    def __init__(self):
        super().__init__()
        self.lin, self.stds = nn.Linear(2, 1), []

    def forward(self, x):
        self.stds.append(x.detach().std().item())
        return self.lin(x)


def test_instance_noise_is_added_to_every_d_input_and_annealed_linearly_to_zero():
    d = Recorder()
    data = torch.zeros(512, 2)  # real data without spread: all the spread D sees on real batches is the noise
    cfg = TrainConfig(steps=40, batch_size=256, instance_noise=1.0, progress=False)
    trainer = GANTrainer(MLPG(out=2), d, data, cfg, device="cpu")
    assert [trainer.noise_std(s) for s in (0, 20, 30, 40, 50)] == [1.0, 0.5, 0.25, 0.0, 0.0]
    trainer.train()
    real = d.stds[0::3]  # per step: D(real), D(fake), then D(fake) for G
    assert abs(real[0] - 1.0) < 0.1 and abs(real[20] - 0.5) < 0.06 and real[39] < 0.05  # step 39: std 1/40
    fake_g = d.stds[2::3]
    assert fake_g[0] > 0.9  # G's own samples are tiny at init: the spread seen is the noise


def test_gradient_penalty_path_adds_lambda_times_the_penalty_and_reaches_the_critic():
    # a linear critic f(x) = w·x + b has ‖∇f‖ = ‖w‖ everywhere: GP = (‖w‖ - 1)² exactly
    def run(gp):
        torch.manual_seed(3)
        critic = nn.Linear(2, 1)
        w0 = critic.weight.detach().clone()
        cfg = TrainConfig(steps=3, batch_size=16, loss="wgan", gp_weight=gp, log_every=1, progress=False)
        t = GANTrainer(MLPG(out=2), critic, gauss(64, dim=2), cfg, device="cpu")
        t.train()
        return t.history, w0, critic.weight.detach()

    h0, w0, w_plain = run(0.0)
    h10, _, w_gp = run(10.0)
    # step 1 sees the same batches in both runs (ε is drawn after them)
    assert h10.d_loss[0] - h0.d_loss[0] == pytest.approx(10 * (w0.norm().item() - 1) ** 2, rel=1e-4)
    # ∇_w of λ(‖w‖ - 1)² is 2λ(‖w‖ - 1) w/‖w‖: it reaches the critic's gradient and its updates
    assert abs(h10.grad_norm_d[0] - h0.grad_norm_d[0]) > 0.1 * abs(20 * (w0.norm().item() - 1))
    assert not torch.equal(w_plain, w_gp)


def test_r1_and_amp_paths_run_and_stay_finite():
    cfg = TrainConfig(steps=3, batch_size=8, r1_weight=10.0, gp_weight=1.0, amp=True, log_every=1, progress=False)
    h = GANTrainer(MLPG(out=2), mlp_d(2), gauss(64, dim=2), cfg, device="cpu").train()
    assert len(h) == 3 and all(math.isfinite(v) for v in h.d_loss + h.g_loss)


def test_r1_adds_exactly_half_gamma_times_the_squared_weight_norm_of_a_linear_discriminator():
    """For D(x) = w·x + b, ∇_x D = w for every x, so R1 = ‖w‖² and the D loss grows by exactly ½γ‖w‖²."""
    gamma, first = 4.0, {}
    for weight in (0.0, gamma):
        torch.manual_seed(0)
        d = nn.Linear(2, 1)
        w = d.weight.detach().clone()
        cfg = TrainConfig(steps=1, batch_size=8, r1_weight=weight, log_every=1, progress=False, seed=3)
        first[weight] = GANTrainer(MLPG(out=2), d, gauss(64, dim=2), cfg, device="cpu").train().d_loss[0]
    assert first[gamma] - first[0.0] == pytest.approx(0.5 * gamma * w.pow(2).sum().item(), rel=1e-4)


def test_amp_changes_the_compute_dtype_and_its_absence_does_not():
    seen = []

    class Recording(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Linear(2, 1)

        def forward(self, x):
            out = self.inner(x)
            seen.append(out.dtype)
            return out

    for amp, dtype in ((True, torch.bfloat16), (False, torch.float32)):
        seen.clear()
        cfg = TrainConfig(steps=1, batch_size=8, amp=amp, log_every=1, progress=False)
        GANTrainer(MLPG(out=2), Recording(), gauss(64, dim=2), cfg, device="cpu").train()
        assert seen and set(seen) == {dtype}, (amp, seen)


def test_channels_last_conv_models_train():
    class ConvG(nn.Module):
        nz = 8

        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Unflatten(1, (8, 1, 1)), nn.ConvTranspose2d(8, 1, 8))  # [B, 1, 8, 8]

        def forward(self, z):
            return torch.tanh(self.net(z))

    d = nn.Sequential(nn.Conv2d(1, 4, 4, 2, 1), nn.LeakyReLU(0.2),  # [B, 1, 8, 8] -> [B, 4, 4, 4]
                      nn.Flatten(), nn.Linear(4 * 4 * 4, 1))
    cfg = TrainConfig(steps=3, batch_size=8, channels_last=True, log_every=1, progress=False)
    t = GANTrainer(ConvG(), d, torch.rand(32, 1, 8, 8) * 2 - 1, cfg, device="cpu")
    assert t.data.is_contiguous(memory_format=torch.channels_last)
    assert len(t.train()) == 3 and t.sample(5).shape == (5, 1, 8, 8)


def test_an_interrupt_restores_the_last_good_state():
    def interrupt_at_7(record):
        if record["step"] == 7:
            raise KeyboardInterrupt

    cfg = TrainConfig(steps=50, batch_size=8, log_every=1, good_state_every=5, progress=False)
    trainer = GANTrainer(MLPG(out=2), mlp_d(2), gauss(64, dim=2), cfg, [interrupt_at_7], "cpu")
    with pytest.raises(KeyboardInterrupt):
        trainer.train()
    assert trainer.step == 5 and trainer.history.steps == [1, 2, 3, 4, 5]


def test_bad_input_raises_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="loss must be one of"):
        TrainConfig(loss="bcee")
    for gone in ("checkpoint_every", "instance_noise_steps", "d_loss_fn", "g_loss_fn"):  # removed in issue 28
        with pytest.raises(TypeError, match=gone):
            TrainConfig(**{gone: None})
    with pytest.raises(ValueError, match="nz"):
        GANTrainer(nn.Linear(4, 2), mlp_d(2), gauss(64, dim=2), TrainConfig(progress=False), device="cpu")
    with pytest.raises(ValueError, match="disagree|agree"):
        GANTrainer(MLPG(out=2), mlp_d(2), gauss(64, dim=2), TrainConfig(nz=5), device="cpu")
    bad = gauss(64, dim=2)
    bad[3, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        GANTrainer(MLPG(out=2), mlp_d(2), bad, TrainConfig(), device="cpu")
    with pytest.raises(ValueError, match=r"data\[:, None\]"):
        GANTrainer(MLPG(out=1), mlp_d(1), torch.randn(64), TrainConfig(), device="cpu")
    with pytest.raises(ValueError, match="no checkpoint path"):
        GANTrainer(MLPG(out=2), mlp_d(2), gauss(64, dim=2), TrainConfig(progress=False), device="cpu").save_checkpoint()


def test_a_failed_checkpoint_write_leaves_the_previous_file_intact(tmp_path):
    from coursekit.checkpoint import atomic_save

    path = tmp_path / "ck.pt"
    atomic_save({"step": 1, "w": torch.ones(3)}, path)
    with pytest.raises(Exception):
        atomic_save({"step": 2, "w": lambda: 0}, path)  # a lambda cannot be pickled: the write fails midway
    assert torch.load(path, weights_only=True)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]  # no temporary file left behind


def test_the_course_models_train_with_the_trainer():
    from coursekit.models import DCGANDiscriminator, DCGANGenerator, WGANCritic

    images = torch.rand(64, 1, 28, 28) * 2 - 1
    for d, extra in [(DCGANDiscriminator(ndf=8), {}), (WGANCritic(ndf=8), dict(loss="wgan", gp_weight=10, n_critic=2))]:
        cfg = TrainConfig(steps=2, batch_size=8, log_every=1, snapshot_every=2, n_snapshot=4, channels_last=True,
                          progress=False, **extra)
        t = GANTrainer(DCGANGenerator(nz=16, ngf=8), d, images, cfg, device="cpu")
        h = t.train()
        assert len(h) == 2 and h.snapshots[-1][1].shape == (4, 1, 28, 28)
        assert all(math.isfinite(v) for v in h.d_loss + h.g_loss + h.grad_norm_d + h.grad_norm_g)
