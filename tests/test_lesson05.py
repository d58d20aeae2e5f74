"""Lesson 5 exercises, beyond what tests/test_exercises.py checks for every lesson."""
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
import torch

from coursekit import losses
from coursekit.check import format_result, run_exercise
from coursekit.exercises import exercises_for, get_exercise
from coursekit.exercises import lesson05 as L
from coursekit.lipschitz import power_iteration as ck_power_iteration

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = exercises_for("05")
IDS = [e.key for e in EXERCISES]
SEEDS = (0, 1, 2, 3)
NAME = "05_wgan_gp_vs_spectral_norm"


def test_registry_keys_and_functions():
    assert IDS == ["05.wasserstein1_1d", "05.gradient_penalty", "05.power_iteration"]
    for ex in EXERCISES:
        assert ex.key == f"05.{ex.function}" and ex.lesson == "05" and ex.mistakes


def test_coursekit_gradient_penalty_passes_the_checks():
    """losses.gradient_penalty (used by the trainer) is a correct solution of the exercise."""
    result = run_exercise(get_exercise("05.gradient_penalty"), losses.gradient_penalty, seed=7)
    assert result.status == "passed", format_result(result)


def test_missing_create_graph_fails_only_the_training_case():
    result = run_exercise(get_exercise("05.gradient_penalty"), L._no_create_graph, seed=11)
    failed = [c for c in result.cases if not c.passed]
    assert len(failed) == 1 and "create_graph=True" in failed[0].message
    assert failed[0].label.startswith("the penalty trains the critic")


def test_a_detached_penalty_is_caught():
    def detached(critic, real, fake):
        return L.gradient_penalty(critic, real, fake).detach()

    result = run_exercise(get_exercise("05.gradient_penalty"), detached, seed=3)
    assert result.status == "failed"
    assert any("create_graph=True" in c.message for c in result.cases)


def test_hard_coded_answers_fail_on_fresh_random_cases():
    for key in IDS:
        ex = get_exercise(key)
        case = next(c for c in ex.cases(np.random.default_rng(0)) if c.verify is None)
        torch.manual_seed(0)
        memorised = ex.reference(*case.args)
        result = run_exercise(ex, lambda *a, memorised=memorised: memorised, seed=1)
        assert result.status == "failed", key


def test_wasserstein1_1d_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 500), rng.gamma(2.0, 1.0, 500)
    got = float(L.wasserstein1_1d(torch.from_numpy(a), torch.from_numpy(b)))
    assert got == pytest.approx(scipy.stats.wasserstein_distance(a, b), rel=1e-12)


def test_power_iteration_references_agree_and_converge_to_the_svd():
    torch.manual_seed(0)
    W, u = torch.randn(12, 3, 3, 3, dtype=torch.float64), torch.randn(12, dtype=torch.float64)
    for n in (1, 4):
        assert float(L.power_iteration(W, u, n)) == pytest.approx(float(ck_power_iteration(W, u, n)[0]), rel=1e-12)
    exact = torch.linalg.matrix_norm(W.flatten(1), ord=2)
    assert float(L.power_iteration(W, u, 500)) == pytest.approx(float(exact), rel=1e-8)
    assert float(L.power_iteration(W, u, 1)) <= float(exact) + 1e-12  # uᵀWv ≤ σ_max for unit u, v


def test_gradient_penalty_reference_equals_coursekit_loss_under_the_same_seed():
    critic = L._mlp_critic(3)
    real, fake = torch.randn(16, 3), torch.randn(16, 3)
    torch.manual_seed(5)
    a = L.gradient_penalty(critic, real, fake)
    torch.manual_seed(5)
    b = losses.gradient_penalty(critic, real, fake)
    assert torch.allclose(a, b)
