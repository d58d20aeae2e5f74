"""coursekit.metrics and coursekit.stats against closed forms and the reference libraries
(pytorch-fid, torchmetrics, torch-fidelity)."""
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn

from coursekit.data import grid_centers, ring_centers, sample_grid
from coursekit.metrics import (
    fid_from_features,
    fid_from_stats,
    frechet_distance,
    inception_score,
    kid,
    mode_coverage,
    mode_histogram,
    precision_recall,
)
from coursekit.stats import RunningStats

pytestmark = [
    # pytorch-fid vs new scipy
    pytest.mark.filterwarnings("ignore:The `disp` argument is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Metric `.*` will save all extracted features:UserWarning"),  # torchmetrics
]


def random_stats(d, rng, n_factor=2):
    """Mean and full-rank sample covariance of n_factor·d correlated points."""
    x = rng.standard_normal((n_factor * d, d)) @ rng.standard_normal((d, d)) / math.sqrt(d)
    x += rng.standard_normal(d)
    return x.mean(0), np.cov(x, rowvar=False)


# ------------------------------------------------------------------ Fréchet distance


@pytest.mark.parametrize("d", [8, 64, 256])
def test_frechet_distance_matches_pytorch_fid(d):
    from pytorch_fid.fid_score import calculate_frechet_distance

    rng = np.random.default_rng(d)
    mu1, s1 = random_stats(d, rng)
    mu2, s2 = random_stats(d, rng)
    ours = frechet_distance(mu1, s1, mu2, s2)
    ref = float(calculate_frechet_distance(mu1, s1, mu2, s2))
    assert isinstance(ours, float)
    assert ours == pytest.approx(ref, rel=1e-6)
    # torch tensors in float32 give the same value (computed in float64)
    t = [torch.as_tensor(a) for a in (mu1, s1, mu2, s2)]
    assert frechet_distance(*t) == pytest.approx(ours, rel=1e-12)


def test_frechet_distance_is_zero_for_identical_statistics():
    rng = np.random.default_rng(1)
    mu, s = random_stats(64, rng)
    assert abs(frechet_distance(mu, s, mu, s)) < 1e-8 * np.trace(s)
    feats = rng.standard_normal((500, 16))
    assert fid_from_features(feats, feats) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_closed_forms():
    rng = np.random.default_rng(2)
    mu, s = random_stats(32, rng)
    shift = rng.standard_normal(32)
    # a shifted Gaussian: only |Δμ|² remains
    assert frechet_distance(mu, s, mu + shift, s) == pytest.approx(float(shift @ shift), rel=1e-8)
    # diagonal (commuting) covariances: Σ (√a − √b)²
    a, b = rng.uniform(0.1, 3.0, 32), rng.uniform(0.1, 3.0, 32)
    expected = float(shift @ shift + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum())
    assert frechet_distance(mu, np.diag(a), mu + shift, np.diag(b)) == pytest.approx(expected, rel=1e-10)
    # a scaled copy: N(0, I) vs N(0, c² I) in d dims is d (1 − c)²
    assert frechet_distance(np.zeros(10), np.eye(10), np.zeros(10), 4 * np.eye(10)) == pytest.approx(10.0)


def test_frechet_distance_singular_covariance_is_exact_and_real():
    a = np.array([0.0, 0.0, 1.0, 2.0, 0.5])  # rank 3
    b = np.array([1.0, 0.3, 0.0, 2.0, 4.0])
    expected = float(((np.sqrt(a) - np.sqrt(b)) ** 2).sum())
    with pytest.warns(RuntimeWarning, match="singular"):
        value = frechet_distance(np.zeros(5), np.diag(a), np.zeros(5), np.diag(b))
    assert isinstance(value, float) and value == pytest.approx(expected, rel=1e-9)


def test_fewer_samples_than_dimensions_gives_a_finite_real_value():
    rng = np.random.default_rng(3)
    f1, f2 = rng.standard_normal((20, 64)), rng.standard_normal((30, 64)) + 0.5
    with pytest.warns(RuntimeWarning, match="rank-deficient"):
        value = fid_from_features(f1, f2)
    assert isinstance(value, float) and math.isfinite(value) and value > 0


def test_fid_from_features_matches_numpy_statistics_and_pytorch_fid():
    from pytorch_fid.fid_score import calculate_frechet_distance

    rng = np.random.default_rng(4)
    f1 = rng.standard_normal((400, 24))
    f2 = rng.standard_normal((300, 24)) * 1.3 + 0.2
    ref = calculate_frechet_distance(f1.mean(0), np.cov(f1, rowvar=False), f2.mean(0), np.cov(f2, rowvar=False))
    assert fid_from_features(f1, f2) == pytest.approx(float(ref), rel=1e-6)
    assert fid_from_features(torch.as_tensor(f1, dtype=torch.float32), f2) == pytest.approx(float(ref), rel=1e-5)
    s1, s2 = RunningStats(24), RunningStats(24)
    for start in range(0, 400, 64):
        s1.update(f1[start : start + 64])
    s2.update(torch.as_tensor(f2))
    assert fid_from_stats(s1, s2) == pytest.approx(float(ref), rel=1e-6)


# ------------------------------------------------------------------ streaming statistics


def test_running_stats_equal_two_pass_statistics_even_with_a_large_mean():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1000, 8)) + 1e6  # E[xxᵀ] − μμᵀ would lose every digit here
    stats = RunningStats(8)
    for batch in np.array_split(x, 13):
        stats.update(batch)
    assert stats.n == 1000
    np.testing.assert_allclose(stats.mean, x.mean(0), rtol=1e-14)
    np.testing.assert_allclose(stats.cov, np.cov(x, rowvar=False), rtol=1e-7, atol=1e-9)
    # merging statistics gathered separately gives the same result
    a, b = RunningStats.from_features(x[:300]), RunningStats.from_features(x[300:])
    a.merge(b)
    np.testing.assert_allclose(a.cov, np.cov(x, rowvar=False), rtol=1e-7, atol=1e-9)


def test_running_stats_reject_bad_batches():
    stats = RunningStats(4)
    with pytest.raises(ValueError, match="no samples"):
        stats.mean
    stats.update(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="at least 2"):
        stats.cov
    with pytest.raises(ValueError, match="same feature extractor|one feature extractor"):
        stats.update(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="NaN"):
        stats.update(np.full((3, 4), np.nan))


# ------------------------------------------------------------------ Inception Score


def random_probs(n, c, rng):
    logits = rng.standard_normal((n, c)) * 3
    p = np.exp(logits - logits.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True)


@pytest.mark.parametrize("n,splits", [(1003, 10), (500, 1), (64, 4)])
def test_inception_score_matches_torch_fidelity(n, splits):
    from torch_fidelity.metric_isc import isc_features_to_metric

    probs = random_probs(n, 10, np.random.default_rng(n))
    ref = isc_features_to_metric(torch.as_tensor(np.log(probs)), splits=splits, shuffle=False)
    mean, std = inception_score(probs, splits=splits)
    assert mean == pytest.approx(ref["inception_score_mean"], rel=1e-9)
    assert std == pytest.approx(ref["inception_score_std"], rel=1e-6, abs=1e-12)


def test_inception_score_matches_torchmetrics_with_the_same_shuffle():
    from torchmetrics.image.inception import InceptionScore

    probs = random_probs(1000, 10, np.random.default_rng(7))
    metric = InceptionScore(feature=nn.Identity(), splits=10)
    metric.update(torch.as_tensor(np.log(probs)))  # the identity "network" returns logits = log p
    torch.manual_seed(0)
    perm = torch.randperm(1000).numpy()  # torchmetrics shuffles the samples with torch.randperm
    torch.manual_seed(0)
    ref_mean, ref_std = metric.compute()
    mean, std = inception_score(probs[perm], splits=10)
    assert mean == pytest.approx(float(ref_mean), rel=1e-9)
    assert std * math.sqrt(10 / 9) == pytest.approx(float(ref_std), rel=1e-6)  # torchmetrics: unbiased std


def test_inception_score_extremes():
    one_class = np.zeros((500, 10))
    one_class[:, 3] = 1.0
    assert inception_score(one_class)[0] == pytest.approx(1.0)
    confident = np.eye(10)[np.arange(1000) % 10]  # ten classes, evenly used in every split
    mean, std = inception_score(confident, splits=10)
    assert mean == pytest.approx(10.0) and std == pytest.approx(0.0, abs=1e-12)
    uniform = np.full((200, 10), 0.1)  # no confidence at all
    assert inception_score(uniform, splits=2)[0] == pytest.approx(1.0)


def test_inception_score_rejects_bad_input():
    probs = random_probs(100, 10, np.random.default_rng(8))
    with pytest.raises(ValueError, match="softmax"):
        inception_score(np.log(probs))
    with pytest.raises(ValueError, match="splits"):
        inception_score(probs[:5], splits=10)
    with pytest.raises(ValueError, match="NaN"):
        inception_score(np.full((20, 10), np.nan))
    with pytest.raises(ValueError, match="2-D"):
        inception_score(probs[0])


# ------------------------------------------------------------------ KID


def test_kid_matches_torchmetrics_on_full_sets():
    from torchmetrics.image.kid import KernelInceptionDistance

    rng = np.random.default_rng(9)
    f1 = torch.as_tensor(rng.standard_normal((200, 32)))
    f2 = torch.as_tensor(rng.standard_normal((200, 32)) * 1.1 + 0.2)
    # with subset_size = N every subset is the whole set (MMD² ignores the order): deterministic
    metric = KernelInceptionDistance(feature=nn.Identity(), subsets=3, subset_size=200)
    metric.update(f1, real=True)
    metric.update(f2, real=False)
    ref_mean, ref_std = metric.compute()
    mean, std = kid(f1, f2, subsets=3, subset_size=200)
    assert mean == pytest.approx(float(ref_mean), rel=1e-9)
    assert std == pytest.approx(0.0, abs=1e-12) and float(ref_std) == pytest.approx(0.0, abs=1e-12)


def test_kid_matches_torch_fidelity_formula():
    from torch_fidelity.metric_kid import kernel_mmd

    rng = np.random.default_rng(10)
    f1, f2 = rng.standard_normal((150, 16)), rng.standard_normal((150, 16)) + 0.3
    ref = kernel_mmd(f1, f2, kid_kernel="poly", kid_kernel_poly_degree=3, kid_kernel_poly_gamma=None,
                     kid_kernel_poly_coef0=1)
    assert kid(f1, f2, subsets=2, subset_size=150)[0] == pytest.approx(float(ref), rel=1e-9)


def test_kid_near_zero_for_one_distribution_and_positive_when_shifted():
    rng = np.random.default_rng(11)
    a, b = rng.standard_normal((600, 16)), rng.standard_normal((600, 16))
    same_mean, same_std = kid(a, b, subsets=10, subset_size=300)
    shifted_mean, shifted_std = kid(a, b + 0.5, subsets=10, subset_size=300)
    assert abs(same_mean) < 0.01 * shifted_mean
    assert shifted_mean > 10 * shifted_std > 0


def test_kid_clips_a_too_large_subset_with_a_warning():
    rng = np.random.default_rng(12)
    a, b = rng.standard_normal((50, 4)), rng.standard_normal((60, 4))
    with pytest.warns(RuntimeWarning, match="using 50"):
        mean, std = kid(a, b, subsets=5, subset_size=1000)
    assert math.isfinite(mean)


# ------------------------------------------------------------------ precision / recall


def test_precision_recall_matches_torch_fidelity():
    from torch_fidelity.metric_prc import calculate_precision_recall_full

    rng = np.random.default_rng(13)
    real = rng.standard_normal((300, 8))
    fake = rng.standard_normal((250, 8)) * 0.7 + 0.4
    # torch-fidelity's convention: features_1 generated, features_2 real
    ref_p, ref_r = calculate_precision_recall_full(torch.as_tensor(fake), torch.as_tensor(real), neighborhood=3)
    # theirs: float32 means
    assert precision_recall(real, fake, k=3, batch_size=64) == pytest.approx((ref_p, ref_r), abs=1e-6)


def test_precision_recall_identical_disjoint_and_collapsed():
    rng = np.random.default_rng(14)
    real = rng.standard_normal((500, 4))
    assert precision_recall(real, real.copy()) == (1.0, 1.0)
    p, r = precision_recall(real, rng.standard_normal((500, 4)))
    assert p > 0.8 and r > 0.8
    assert precision_recall(real, rng.standard_normal((500, 4)) + 100.0) == (0.0, 0.0)
    # a collapsed generator: every sample near one real point: realistic but covers little
    collapsed = real[0] + 0.01 * rng.standard_normal((500, 4))
    p, r = precision_recall(real, collapsed)
    assert p > 0.9 and r < 0.05


def test_precision_recall_rejects_bad_input():
    rng = np.random.default_rng(15)
    with pytest.raises(ValueError, match="same feature extractor"):
        precision_recall(rng.standard_normal((10, 3)), rng.standard_normal((10, 4)))
    with pytest.raises(ValueError, match="more than k"):
        precision_recall(rng.standard_normal((3, 3)), rng.standard_normal((10, 3)), k=3)


# ------------------------------------------------------------------ mode coverage


def test_mode_coverage_on_hand_built_samples():
    centers = ring_centers(8, radius=2.0)
    std = 0.02
    # 30 samples at mode 0, 10 at mode 1, 10 at mode 2 (within 2 std), 50 far from every mode
    near = torch.cat([centers[0].repeat(30, 1), centers[1].repeat(10, 1), centers[2].repeat(10, 1)])
    near = near + 2 * std * torch.tensor([0.6, 0.8])  # distance 2 std < 3 std
    far = torch.zeros(50, 2)  # the ring's centre: 2.0 from every mode
    result = mode_coverage(torch.cat([near, far]), centers, std)
    assert set(result) == {"modes", "modes_any", "high_quality", "reverse_kl"}
    # fair share 100 / 8 = 12.5 samples; 20 % of it is 2.5, so 10 samples capture a mode
    assert result["modes"] == result["modes_any"] == 3
    # at min_fraction 1, a mode needs its whole fair share: only mode 0 (30 samples) has it
    assert mode_coverage(torch.cat([near, far]), centers, std, min_fraction=1.0)["modes"] == 1
    assert result["high_quality"] == pytest.approx(0.5)
    q = np.array([30, 10, 10]) / 50
    assert result["reverse_kl"] == pytest.approx(float((q * np.log(8 * q)).sum()))
    np.testing.assert_array_equal(mode_histogram(torch.cat([near, far]), centers, std), [30, 10, 10, 0, 0, 0, 0, 0])


def test_mode_coverage_extremes_and_threshold():
    centers = ring_centers(8)
    every_mode = centers.repeat(25, 1)  # 200 samples, 25 exactly on each mode
    assert mode_coverage(every_mode, centers, 0.02) == {"modes": 8, "modes_any": 8, "high_quality": 1.0,
                                                        "reverse_kl": 0.0}
    one_mode = centers[5].repeat(100, 1)
    assert mode_coverage(one_mode, centers, 0.02)["reverse_kl"] == pytest.approx(math.log(8))
    nowhere = torch.zeros(100, 2)
    assert mode_coverage(nowhere, centers, 0.02) == {"modes": 0, "modes_any": 0, "high_quality": 0.0,
                                                     "reverse_kl": math.log(8)}
    # the threshold is in units of std: 4 std away counts at threshold 5, not at 3
    off = centers + 4 * 0.02 * torch.tensor([1.0, 0.0])
    assert mode_coverage(off, centers, 0.02)["modes"] == 0
    assert mode_coverage(off, centers, 0.02, threshold=5.0)["modes"] == 8


def test_mode_coverage_does_not_credit_a_smear_over_the_plane():
    # 2,500 samples spread uniformly over the grid's square: a few land near every centre,
    # so the one-sample count "captures" almost all 25 modes; none holds 20 % of its fair share.
    centers, std = grid_centers(5, spacing=2.0), 0.05
    smear = torch.rand(2500, 2, generator=torch.Generator().manual_seed(0)) * 10.0 - 5.0
    result = mode_coverage(smear, centers, std)
    assert result["modes_any"] >= 20
    assert result["modes"] == 0
    assert result["high_quality"] < 0.05
    # a collapse onto 3 modes, each with a third of the samples: 3 captured, the rest not
    collapse = centers[[0, 7, 19]].repeat_interleave(834, dim=0)[:2500]
    assert mode_coverage(collapse, centers, std)["modes"] == 3
    # real data from the mixture captures every mode
    real = sample_grid(2500, generator=torch.Generator().manual_seed(1))
    assert mode_coverage(real, centers, std)["modes"] == 25


def test_mode_coverage_rejects_bad_input():
    centers = ring_centers(8)
    with pytest.raises(ValueError, match="2-d|-d"):
        mode_coverage(torch.zeros(10, 3), centers, 0.02)
    with pytest.raises(ValueError, match="positive"):
        mode_coverage(torch.zeros(10, 2), centers, 0.0)
    with pytest.raises(ValueError, match="NaN"):
        mode_coverage(torch.full((10, 2), float("nan")), centers, 0.02)
    with pytest.raises(ValueError, match="min_fraction"):
        mode_coverage(torch.zeros(10, 2), centers, 0.02, min_fraction=1.5)


# ------------------------------------------------------------------ bad input in general


def test_bad_features_raise_clear_value_errors():
    rng = np.random.default_rng(16)
    good = rng.standard_normal((10, 4))
    with pytest.raises(ValueError, match="same feature extractor"):
        fid_from_features(good, rng.standard_normal((10, 5)))
    with pytest.raises(ValueError, match="at least 2"):
        fid_from_features(good[:1], good)
    with pytest.raises(ValueError, match="at least 2"):
        kid(good, good[:1])
    bad = good.copy()
    bad[3, 1] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        fid_from_features(good, bad)
    with pytest.raises(ValueError, match="2-D"):
        fid_from_features(good.ravel(), good)
    with pytest.raises(ValueError, match="same d"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.zeros(3), np.full((3, 3), np.nan), np.zeros(3), np.eye(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # N > d: no warning
        fid_from_features(rng.standard_normal((50, 4)), rng.standard_normal((50, 4)))
