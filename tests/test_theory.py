"""coursekit.theory against scipy and closed forms."""
import math

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

from coursekit import theory as T

X, DX = T.grid(-20.0, 20.0, 8001)


def test_grid_is_uniform_and_densities_integrate_to_one():
    assert np.allclose(np.diff(X), DX) and X[0] == -20.0 and X[-1] == 20.0
    for p in (T.gaussian_pdf(X, 1.5, 0.7), T.uniform_pdf(X, -2.0, 3.0), T.mixture_pdf(X, [-3, 2], [0.5, 1.0], [1, 3])):
        assert abs(p.sum() * DX - 1) < 2e-3
    assert abs(T.normalize(3 * T.gaussian_pdf(X), DX).sum() * DX - 1) < 1e-12


def test_mixture_weights_are_normalised():
    p = T.mixture_pdf(X, [-3, 2], [0.5, 1.0], [1, 3])
    expected = 0.25 * T.gaussian_pdf(X, -3, 0.5) + 0.75 * T.gaussian_pdf(X, 2, 1.0)
    assert np.allclose(p, expected)


@pytest.mark.parametrize("shift", [0.0, 0.3, 1.0, 2.5, 5.0])
@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])
def test_jsd_matches_scipy_squared_base_e(shift, sigma):
    p, q = T.gaussian_pdf(X, 0, 1), T.gaussian_pdf(X, shift, sigma)
    # scipy normalises the vectors itself; on a uniform grid that is the same quadrature.
    assert T.jsd(p, q, DX) == pytest.approx(jensenshannon(p, q) ** 2, abs=1e-9)


def test_jsd_bounds_symmetry_and_saturation():
    p, q = T.gaussian_pdf(X, 0, 1), T.mixture_pdf(X, [-2, 3], [0.5, 1.5])
    assert T.jsd(p, q, DX) == pytest.approx(T.jsd(q, p, DX), abs=1e-12)
    assert T.jsd(p, p, DX) == pytest.approx(0.0, abs=1e-12)
    assert 0 < T.jsd(p, q, DX) < math.log(2)
    # disjoint supports: exactly log 2, whatever the distance
    for lo in (1.0, 5.0, 15.0):
        a, b = T.uniform_pdf(X, -1.0, 0.0), T.uniform_pdf(X, lo, lo + 1.0)
        assert T.jsd(a, b, DX) == pytest.approx(math.log(2), abs=5e-3)


def test_kl_gaussian_closed_form_and_inf_outside_support():
    p, q = T.gaussian_pdf(X, 0.4, 0.8), T.gaussian_pdf(X, -0.5, 1.3)
    closed = math.log(1.3 / 0.8) + (0.8**2 + 0.9**2) / (2 * 1.3**2) - 0.5
    assert T.kl(p, q, DX) == pytest.approx(closed, abs=1e-6)
    assert T.kl(T.uniform_pdf(X, 0, 2), T.uniform_pdf(X, 0, 1), DX) == math.inf


@pytest.mark.parametrize("shift", [0.0, 0.7, 3.0, 9.0])
def test_w1_equal_std_gaussians_is_the_mean_shift(shift):
    p, q = T.gaussian_pdf(X, 0, 1.3), T.gaussian_pdf(X, shift, 1.3)
    assert T.wasserstein1(p, q, DX) == pytest.approx(T.w1_gaussians(0, 1.3, shift, 1.3), abs=1e-6)
    assert T.wasserstein1(p, q, DX) == pytest.approx(T.wasserstein1(q, p, DX), abs=1e-12)


def test_w1_matches_scipy_on_weighted_grid_and_on_samples():
    p, q = T.gaussian_pdf(X, -1, 0.6), T.mixture_pdf(X, [-2, 3], [0.5, 1.5], [2, 1])
    # the same distributions as weighted atoms at the grid points
    assert T.wasserstein1(p, q, DX) == pytest.approx(wasserstein_distance(X, X, p, q), abs=2e-3)
    rng = np.random.default_rng(0)
    a = rng.normal(-1, 0.6, 200_000)
    b = np.where(rng.random(200_000) < 2 / 3, rng.normal(-2, 0.5, 200_000), rng.normal(3, 1.5, 200_000))
    assert T.wasserstein1(p, q, DX) == pytest.approx(wasserstein_distance(a, b), abs=0.02)


def test_w1_keeps_growing_while_jsd_saturates():
    p = T.gaussian_pdf(X, 0, 0.5)
    shifts = [4.0, 8.0, 12.0]
    jsds = [T.jsd(p, T.gaussian_pdf(X, s, 0.5), DX) for s in shifts]
    w1s = [T.wasserstein1(p, T.gaussian_pdf(X, s, 0.5), DX) for s in shifts]
    assert jsds[0] < jsds[1] <= jsds[2] + 1e-12 <= math.log(2) + 2e-12
    assert all(abs(j - math.log(2)) < 1e-3 for j in jsds)
    assert w1s == pytest.approx(shifts, abs=1e-6)


def test_optimal_discriminator_closed_form():
    p, q = T.gaussian_pdf(X, 0, 1), T.gaussian_pdf(X, 1, 1)
    d = T.optimal_discriminator(p, q)
    assert np.allclose(d, 1 / (1 + np.exp(X - 0.5)), atol=1e-12)  # log-ratio of equal-std Gaussians is linear
    assert np.allclose(T.optimal_discriminator(p, p), 0.5)
    assert T.optimal_discriminator(np.zeros(3), np.zeros(3)).tolist() == [0.5, 0.5, 0.5]


@pytest.mark.parametrize("q_args", [(0, 1), (1, 1), (0.5, 2), (3, 0.4), (12, 1)])
def test_virtual_training_criterion_is_theorem_1(q_args):
    p, q = T.gaussian_pdf(X, 0, 1), T.gaussian_pdf(X, *q_args)
    assert T.virtual_training_criterion(p, q, DX) == pytest.approx(-math.log(4) + 2 * T.jsd(p, q, DX), abs=1e-6)


def test_d_star_maximises_the_value_function():
    x, dx = T.grid(-8.0, 8.0, 3201)  # D* rounds to exactly 0 or 1 in far tails, where log(1 - D) = -inf
    p, q = T.gaussian_pdf(x, 0, 1), T.mixture_pdf(x, [-1, 2], [0.7, 0.7])
    best = T.value_function(p, q, T.optimal_discriminator(p, q), dx)
    assert best == pytest.approx(T.virtual_training_criterion(p, q, dx), abs=1e-9)
    rng = np.random.default_rng(0)
    for _ in range(5):
        d = np.clip(T.optimal_discriminator(p, q) + 0.05 * rng.normal(size=x.size), 1e-6, 1 - 1e-6)
        assert T.value_function(p, q, d, dx) < best
    assert T.value_function(p, p, np.full(x.size, 0.5), dx) == pytest.approx(-math.log(4), abs=1e-3)


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="same length"):
        T.jsd(np.ones(3), np.ones(4), 0.1)
    with pytest.raises(ValueError, match="non-negative"):
        T.wasserstein1(np.array([1.0, -1.0]), np.ones(2), 0.1)
    with pytest.raises(ValueError, match="spacing"):
        T.jsd(np.ones(3), np.ones(3), 0.0)
    with pytest.raises(ValueError, match="equal standard deviations"):
        T.w1_gaussians(0, 1, 1, 2)
    with pytest.raises(ValueError, match="probabilities"):
        T.value_function(np.ones(3), np.ones(3), np.array([0.5, 1.5, 0.5]), 0.1)
