"""Lesson 8 exercises and leaderboard, beyond what tests/test_exercises.py checks for every lesson."""
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch

from coursekit import metrics
from coursekit.check import format_result, run_exercise
from coursekit.exercises import exercises_for, get_exercise
from coursekit.exercises import lesson08 as L

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = exercises_for("08")
IDS = [e.key for e in EXERCISES]
SEEDS = (0, 1, 2, 3)


def test_registry_keys_and_functions():
    assert IDS == ["08.inception_score", "08.frechet_distance_1d", "08.frechet_distance", "08.kid",
                   "08.precision_recall", "08.extrapolate_fid"]
    for ex in EXERCISES:
        assert ex.key == f"08.{ex.function}" and ex.lesson == "08" and ex.mistakes


def _fd_sqrtm(mu1, sigma1, mu2, sigma2):
    """How many learners will write it: pytorch-fid's way, scipy.linalg.sqrtm of the product."""
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean).real)


@pytest.mark.parametrize("seed", range(8))
def test_other_correct_implementations_pass(seed):
    """Correct code written differently (sqrtm, coursekit.metrics, torch-fidelity, numpy) passes the checks."""
    from torch_fidelity.metric_isc import isc_features_to_metric

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fd = run_exercise(get_exercise("08.frechet_distance"), _fd_sqrtm, seed=seed)
        fd_ck = run_exercise(get_exercise("08.frechet_distance"), metrics.frechet_distance, seed=seed)
    assert fd.status == "passed", format_result(fd)
    assert fd_ck.status == "passed", format_result(fd_ck)
    is_ck = run_exercise(get_exercise("08.inception_score"), metrics.inception_score, seed=seed)
    assert is_ck.status == "passed", format_result(is_ck)

    def is_fidelity(probs, splits=10):
        out = isc_features_to_metric(torch.log(probs.clamp_min(1e-300)), splits=splits, shuffle=False)
        return out["inception_score_mean"], out["inception_score_std"]

    assert run_exercise(get_exercise("08.inception_score"), is_fidelity, seed=seed).status == "passed"

    def pr_strict(real, fake, k=3):  # `<` instead of `<=`: same answer on continuous data
        r_real = torch.cdist(real, real).kthvalue(k + 1, dim=1).values
        r_fake = torch.cdist(fake, fake).kthvalue(k + 1, dim=1).values
        p = (torch.cdist(fake, real) < r_real).any(dim=1).double().mean()
        r = (torch.cdist(real, fake) < r_fake).any(dim=1).double().mean()
        return p.item(), r.item()

    assert run_exercise(get_exercise("08.precision_recall"), pr_strict, seed=seed).status == "passed"


def test_references_agree_with_metrics_and_reference_libraries():
    from pytorch_fid.fid_score import calculate_frechet_distance
    from torch_fidelity.metric_isc import isc_features_to_metric
    from torchmetrics.image.kid import poly_mmd

    rng = np.random.default_rng(0)
    d = 12
    a, b = rng.normal(size=(200, d)), rng.normal(size=(300, d)) * 1.3 + 0.2
    mu1, s1, mu2, s2 = a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    ours = L.frechet_distance(mu1, s1, mu2, s2)
    assert ours == pytest.approx(calculate_frechet_distance(mu1, s1, mu2, s2), rel=1e-9)
    assert ours == pytest.approx(metrics.frechet_distance(mu1, s1, mu2, s2), rel=1e-9)
    # 1-D: the closed form equals the d-dimensional formula and the W2 distance by quantiles
    m1, sd1, m2, sd2 = 0.3, 1.7, -1.1, 0.6
    assert L.frechet_distance_1d(m1, sd1, m2, sd2) == pytest.approx(
        L.frechet_distance(np.array([m1]), np.array([[sd1**2]]), np.array([m2]), np.array([[sd2**2]])), rel=1e-12)
    from scipy.stats import norm
    u = (np.arange(200000) + 0.5) / 200000
    w2 = np.mean((norm.ppf(u, m1, sd1) - norm.ppf(u, m2, sd2)) ** 2)
    assert L.frechet_distance_1d(m1, sd1, m2, sd2) == pytest.approx(w2, rel=1e-3)
    # IS: torch-fidelity on log-probabilities, same split boundaries
    probs = torch.softmax(torch.tensor(rng.normal(0, 3, size=(1000, 10))), dim=1)
    fid_is = isc_features_to_metric(torch.log(probs), splits=10, shuffle=False)
    mean, std = L.inception_score(probs, 10)
    assert mean == pytest.approx(fid_is["inception_score_mean"], rel=1e-10)
    assert std == pytest.approx(fid_is["inception_score_std"], rel=1e-8)
    assert (mean, std) == pytest.approx(metrics.inception_score(probs, 10), rel=1e-10)
    eye = torch.eye(10, dtype=torch.float64).repeat(7, 1)
    assert L.inception_score(eye, 1)[0] == pytest.approx(10.0) and L.inception_score(eye[:7 * 10:10], 1)[0] == 1.0
    # KID: torchmetrics' unbiased MMD, and coursekit's subset estimate when the subset is the whole set
    x, y = torch.tensor(a[:150]), torch.tensor(b[:150])
    assert L.kid(x, y) == pytest.approx(float(poly_mmd(x, y)), rel=1e-10)
    assert L.kid(x, y) == pytest.approx(metrics.kid(x, y, subsets=1, subset_size=150)[0], rel=1e-10)
    # precision / recall: coursekit.metrics
    assert L.precision_recall(x, y, k=3) == pytest.approx(metrics.precision_recall(x, y, k=3), abs=1e-12)


def test_eigvalsh_of_the_product_is_really_wrong():
    """The mistake the exercise catches is a real error, not a rounding difference."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    s1, s2, mu = a @ a.T, b @ b.T, np.zeros(6)
    assert not np.allclose(s1 @ s2, (s1 @ s2).T)
    assert abs(L._fd_eigvalsh_product(mu, s1, mu, s2) - L.frechet_distance(mu, s1, mu, s2)) > 1e-3


# --------------------------------------------------------- leaderboard

from coursekit import leaderboard as LB  # noqa: E402
from coursekit.checkpoint import save_checkpoint  # noqa: E402
from coursekit.models import DCGANGenerator, DeepDCGANDiscriminator, MLPDiscriminator, MLPGenerator  # noqa: E402
from coursekit.train import GANTrainer, TrainConfig  # noqa: E402


@pytest.mark.parametrize("make", [
    lambda: (MLPGenerator(nz=8, hidden=(16,)), MLPDiscriminator(hidden=(16,))),  # an MLP GAN (lesson 2's kind)
    lambda: (DCGANGenerator(nz=8, ngf=4), DeepDCGANDiscriminator(ndf=4)),  # a DCGAN (lesson 4's kind)
])
def test_the_leaderboard_loads_a_trainer_checkpoint(tmp_path, make):
    torch.manual_seed(0)
    trainer = GANTrainer(*make(), torch.rand(32, 1, 28, 28) * 2 - 1, TrainConfig(steps=2, batch_size=8,
                                                                              progress=False))
    trainer.train()
    trainer.save_checkpoint(tmp_path / "run.pt")
    loaded, step = LB.load_generator(tmp_path / "run.pt")
    assert type(loaded) is type(trainer.generator) and step == 2 and not loaded.training
    assert torch.equal(loaded(trainer.fixed_z), trainer.sample())


def test_an_old_or_foreign_file_gives_a_clear_error(tmp_path):
    torch.save({"generator": MLPGenerator(nz=8).state_dict(), "step": 3}, tmp_path / "02_mlp_gan.pt")
    with pytest.raises(ValueError, match="re-run lesson 2 to write a current checkpoint"):
        LB.load_generator(tmp_path / "02_mlp_gan.pt")
    save_checkpoint(tmp_path / "d.pt", {"discriminator": MLPDiscriminator()})
    with pytest.raises(ValueError, match="holds no model 'generator'"):
        LB.load_generator(tmp_path / "d.pt")


def _tiny_contender(path_name: str, steps: int = 2) -> LB.Contender:
    return LB.Contender("tiny", "02", path_name, lambda: MLPGenerator(nz=8, hidden=(16,)),
                        lambda: MLPDiscriminator(hidden=(16,)), TrainConfig(steps=steps, batch_size=8, progress=False))


def test_prepare_loads_a_trainer_checkpoint_and_trains_when_missing(tmp_path, capsys):
    torch.manual_seed(0)
    data = torch.rand(64, 1, 28, 28) * 2 - 1
    trainer = GANTrainer(MLPGenerator(nz=8, hidden=(16,)), MLPDiscriminator(hidden=(16,)), data,
                         TrainConfig(steps=3, batch_size=8, progress=False))
    trainer.train()
    trainer.save_checkpoint(tmp_path / "02_mine.pt")
    loaded = LB.prepare(_tiny_contender("02_mine.pt"), data, runs_dir=tmp_path)
    assert loaded.source == "loaded" and loaded.steps == 3 and loaded.path == tmp_path / "02_mine.pt"
    printed = capsys.readouterr().out
    assert f"loaded from {tmp_path.name}/02_mine.pt" in printed
    assert str(tmp_path.parent) not in printed  # no machine path
    z = torch.randn(5, 8)
    assert torch.equal(loaded.generator(z), trainer.generator.eval()(z))
    save_checkpoint(tmp_path / "02_mine_g.pt", {"generator": trainer.generator}, {"step": 3})  # G alone loads too
    assert LB.prepare(_tiny_contender("02_mine_g.pt"), data, runs_dir=tmp_path).source == "loaded"
    trained = LB.prepare(_tiny_contender("02_absent.pt", steps=2), data, runs_dir=tmp_path)
    assert trained.source == "trained here" and trained.steps == 2 and trained.path is None
    with pytest.raises(FileNotFoundError):
        LB.prepare(_tiny_contender("02_absent.pt"), data, runs_dir=tmp_path, train_missing=False)
    short = LB.prepare(_tiny_contender("02_mine.pt", steps=5), data, runs_dir=tmp_path)  # 3 < 5 steps
    assert short.source == "trained here" and short.steps == 5 and "only 3 steps" in short.note
    kept = LB.prepare(_tiny_contender("02_mine.pt", steps=5), data, runs_dir=tmp_path, train_missing=False)
    assert kept.source == "loaded" and kept.steps == 3
    torch.save(trainer.generator.state_dict(), tmp_path / "02_plain.pt")  # a plain state dict: no arguments
    plain = LB.prepare(_tiny_contender("02_plain.pt"), data, runs_dir=tmp_path)
    assert plain.source == "trained here" and "not loadable" in plain.note and "re-run lesson 2" in plain.note


def test_runs_dir_is_found_from_a_notebook_folder(tmp_path, monkeypatch):
    (tmp_path / "coursekit").mkdir()
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")  # where a notebook's kernel starts
    assert LB.default_runs_dir() == tmp_path / "runs"


def test_contenders_cover_lessons_2_4_5_6_and_build():
    for quick in (True, False):
        cs = LB.contenders(quick=quick)
        assert {c.lesson for c in cs} == {"02", "04", "05", "06"}
        for c in cs:
            g, d = c.make_generator(), c.make_discriminator()
            x = g(torch.randn(2, g.nz))
            assert x.shape == (2, 1, 28, 28) and d(x).shape == (2,)
    assert all(q.config.steps < f.config.steps for q, f in zip(LB.contenders(True), LB.contenders(False)))
    assert [c.checkpoint for c in cs] == ["02_mlp_gan.pt", "04_dcgan.pt", "05_wgan_gp.pt", "05_sn_gan.pt",
                                          "06_one_sided.pt"]


def test_the_dcgan_stand_in_is_lesson_4s_setting():
    dcgan = next(c for c in LB.contenders(quick=True) if c.lesson == "04")
    g, d = dcgan.make_generator(), dcgan.make_discriminator()
    assert (type(g).__name__, g.init_args["nz"], g.init_args["ngf"]) == ("DCGANGenerator", 100, 32)
    assert (type(d).__name__, d.init_args["ndf"]) == ("DeepDCGANDiscriminator", 16)
    cfg = dcgan.config
    assert (cfg.batch_size, cfg.lr_g, cfg.lr_d, cfg.betas, cfg.loss, cfg.r1_weight) == (
        64, 4e-4, 2e-4, (0.5, 0.999), "bce", 1.0)


def test_sample_images_is_seeded_and_truncation_shrinks_z():
    g = DCGANGenerator(nz=10, ngf=8)
    a, b = LB.sample_images(g, 7, seed=3, batch_size=3), LB.sample_images(g, 7, seed=3)
    assert a.shape == (7, 1, 28, 28) and torch.allclose(a, b, atol=1e-6)
    assert not torch.allclose(a, LB.sample_images(g, 7, seed=4))
    flat = LB.sample_images(g, 5, seed=0, psi=0.0)  # psi = 0: z = 0 for every sample
    assert torch.allclose(flat, flat[:1].expand_as(flat), atol=1e-6)
    assert g.training  # the mode is restored


def test_fid_infinity_removes_the_small_sample_bias():
    """Two Gaussians with a known FID: the extrapolation lands much closer to it than FID at small N."""
    rng = np.random.default_rng(0)
    d = 16
    scale = np.linspace(0.5, 1.5, d)
    true_fid = 0.3**2 * d + ((scale - 1.0) ** 2).sum()  # N(0.3, diag(scale²)) vs N(0, I)
    real = rng.normal(size=(200000, d))
    fake = rng.normal(size=(8000, d)) * scale + 0.3
    fit = LB.fid_infinity(fake, real, ns=(100, 200, 400, 800, 1600, 8000), repeats=4, seed=0)
    fid_small = fit["fids"][0].mean()
    assert fid_small - true_fid > 0.1  # biased upwards at N = 100
    assert abs(fit["fid_inf"] - true_fid) < 0.2 * (fid_small - true_fid)
    assert fit["slope"] > 0
    with pytest.raises(ValueError):
        LB.fid_infinity(fake[:50], real, ns=(100, 200))


def test_evaluate_and_table_on_real_digits():
    from coursekit.data import load_mnist
    from coursekit.features import mnist_features

    train, _ = load_mnist(train=True, offline=True, verbose=False)
    heldout, labels = load_mnist(train=False, offline=True, verbose=False)
    real_feats, _ = mnist_features(train[:1000], progress=False)
    cfg = LB.EvalConfig(n=200, kid_subsets=5, kid_subset_size=100, fid_inf_ns=(100, 200))
    real_row = LB.evaluate(heldout, real_feats, cfg)
    ones = heldout[labels == 1][:100].repeat(2, 1, 1, 1)
    ones_row = LB.evaluate(ones, real_feats, cfg)
    assert real_row["n"] == 200 and real_row["n_real"] == 1000 and "fid_inf" in real_row
    assert real_row["precision"] > 0.6 and real_row["recall"] > 0.6 and real_row["is"] > 7
    assert ones_row["recall"] < 0.2 and ones_row["is"] < 1.5 and ones_row["fid"] > 5 * real_row["fid"]
    assert ones_row["kid"] > real_row["kid"]
    rows = LB.leaderboard([LB.Entrant("untrained DCGAN", "04", DCGANGenerator(ngf=8).eval(), "trained here", 0)],
                          real_feats, cfg, baselines=[("real held-out digits", heldout)])
    assert [r["model"] for r in rows] == ["real held-out digits", "untrained DCGAN"]
    table = LB.format_table(rows)
    assert "trained here, 0 steps" in table and "N = 200" in table and "1000 real" in table and "FID∞" in table
    # the board's FID∞ is the fit of section 4 when it uses the same sample sizes and repeats
    many = LB.EvalConfig(n=200, kid_subsets=5, kid_subset_size=100, fid_inf_ns=(50, 100, 200), fid_inf_repeats=3)
    row = LB.evaluate(heldout, real_feats, many)
    feats, _ = mnist_features(heldout[:200], progress=False)
    fit = LB.fid_infinity(feats, real_feats, (50, 100, 200), repeats=3, seed=0)
    assert row["fid_inf"] == pytest.approx(fit["fid_inf"]) and row["fid_inf_repeats"] == 3
    assert row["fid_inf"] != pytest.approx(real_row["fid_inf"])
    assert "3 random subset(s)" in LB.format_table([row | {"model": "real", "lesson": "-", "source": "real data",
                                                           "steps": None}])


def test_extrapolate_fid_recovers_a_noiseless_line_and_matches_the_leaderboard_fit():
    ns = torch.tensor([100.0, 100.0, 400.0, 1000.0, 5000.0], dtype=torch.float64)
    fid_inf, slope = L.extrapolate_fid(ns, 3.5 + 1200.0 / ns)
    assert fid_inf == pytest.approx(3.5, abs=1e-9) and slope == pytest.approx(1200.0, rel=1e-9)
    fids = 3.5 + 1200.0 / ns + torch.tensor([0.3, -0.2, 0.1, -0.05, 0.02], dtype=torch.float64)
    expected_slope, expected_inf = np.polyfit(1.0 / ns.numpy(), fids.numpy(), 1)
    assert L.extrapolate_fid(ns, fids) == pytest.approx((expected_inf, expected_slope), rel=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_extrapolate_fid_typical_mistakes_fail_every_case(seed):
    ex = get_exercise("08.extrapolate_fid")
    for mistake in ex.mistakes:
        result = run_exercise(ex, mistake.fn, seed=seed)
        assert not any(c.passed for c in result.cases), mistake.hint
