"""Lesson 3 exercises, beyond what tests/test_exercises.py checks for every lesson."""
import math

import pytest
import torch

from coursekit.check import run_exercise
from coursekit.data import grid_centers, ring_centers, sample_grid, sample_ring
from coursekit.exercises import get_exercise
from coursekit.exercises import lesson03 as L
from coursekit.metrics import mode_coverage
from coursekit.packing import MinibatchStdDev
from coursekit.packing import pack as coursekit_pack


def test_registry_keys_and_functions(assert_registry):
    assert_registry(["03.count_modes", "03.pack", "03.minibatch_std"])


def test_hard_coded_answers_fail_on_fresh_random_cases(assert_memorised_answer_fails):
    for key in ("03.count_modes", "03.pack"):
        assert_memorised_answer_fails(key)


def test_pack_that_forgets_to_check_divisibility_fails_the_error_case():
    def no_check(x, m):
        return x[: x.shape[0] // m * m].reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])

    result = run_exercise(get_exercise("03.pack"), no_check, seed=0)
    failed = [c for c in result.cases if not c.passed]
    assert [c.label for c in failed] == ["a batch that is not a multiple of m raises ValueError"]


# ------------------------------------------- the references against coursekit and closed forms


def test_count_modes_equals_coursekit_mode_coverage_on_real_and_partial_data():
    g = torch.Generator().manual_seed(0)
    for centers, std, x in [
        (ring_centers(), 0.02, sample_ring(2500, generator=g)),
        (grid_centers(), 0.05, sample_grid(2500, generator=g)),
        (ring_centers(), 0.02, sample_ring(2500, generator=g)[:, :1].repeat(1, 2)),  # a diagonal line
    ]:
        # the exercise counts a mode with a single high-quality sample: the one-sample variant
        ours, ref = L.count_modes(x, centers, std), mode_coverage(x, centers, std, min_fraction=0.0)
        assert ours["modes"] == ref["modes"]
        assert ours["high_quality"] == pytest.approx(ref["high_quality"])
        assert ours["reverse_kl"] == pytest.approx(ref["reverse_kl"], abs=1e-12)


def test_count_modes_on_real_ring_matches_the_closed_form():
    # 2-D isotropic Gaussian: P(|x - c| < 3 std) = 1 - exp(-9/2)
    x = sample_ring(20000, generator=torch.Generator().manual_seed(1))
    out = L.count_modes(x, ring_centers(), 0.02)
    assert out["modes"] == 8
    assert out["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.003)
    assert 0 <= out["reverse_kl"] < 0.002  # multinomial noise only: about (M-1)/(2N)


def test_pack_and_minibatch_std_equal_coursekit():
    x = torch.randn(12, 3)
    for m in (1, 2, 3, 4):
        assert torch.equal(L.pack(x, m), coursekit_pack(x, m))
    img = torch.randn(6, 2, 4, 4)
    assert torch.equal(L.pack(img, 3), coursekit_pack(img, 3))
    for t in (torch.randn(16, 5) * 3, torch.randn(4, 3, 5, 5)):
        assert torch.allclose(L.minibatch_std(t), MinibatchStdDev()(t), atol=1e-6)


def test_minibatch_std_of_a_ring_batch_matches_the_mixture_std():
    # per coordinate, the ring's variance is radius²/2 + std² (uniform angle on 8 symmetric points)
    x = sample_ring(50000, generator=torch.Generator().manual_seed(2))
    s = L.minibatch_std(x)[0, 2].item()
    assert s == pytest.approx(math.sqrt(2.0 + 0.02 ** 2), rel=0.01)
    one_mode = ring_centers()[0] + 0.02 * torch.randn(50000, 2)
    assert L.minibatch_std(one_mode)[0, 2].item() == pytest.approx(0.02, rel=0.02)
