"""Lesson 6 exercises, beyond what tests/test_exercises.py checks for every lesson."""
import numpy as np
import pytest
import torch
import torch.nn as nn

from coursekit import losses, theory
from coursekit.check import format_result, run_exercise
from coursekit.exercises import get_exercise
from coursekit.exercises import lesson06 as L
from coursekit.theory import smoothed_optimal_discriminator
from coursekit.train import GANTrainer, TrainConfig


def test_registry_keys_and_functions(assert_registry):
    assert_registry(["06.smoothed_bce", "06.optimal_discriminator_smoothed", "06.add_instance_noise", "06.noise_std",
                     "06.smoothed_generator_gradient"])


def test_smoothing_the_wrong_side_fails_every_smoothed_case():
    ex = get_exercise("06.smoothed_bce")
    swapped = lambda r, f, a, b: L.smoothed_bce(r, f, b, a)
    result = run_exercise(ex, swapped, seed=7)
    assert result.status == "failed"
    assert all("wrong side" in c.message for c in result.cases if not c.passed)
    assert sum(not c.passed for c in result.cases) >= 5


def test_sigmoid_then_log_fails_only_on_extreme_logits():
    ex = get_exercise("06.smoothed_bce")
    naive = ex.mistakes[3].fn
    result = run_exercise(ex, naive, seed=0)
    failed = [c for c in result.cases if not c.passed]
    assert len(failed) == 1 and failed[0].label.startswith("extreme") and "softplus" in failed[0].message


def test_hard_coded_answers_fail_on_fresh_random_cases(assert_memorised_answer_fails):
    assert_memorised_answer_fails("06.optimal_discriminator_smoothed")


def test_noise_checks_accept_other_correct_implementations():
    ex = get_exercise("06.add_instance_noise")
    for fn in (lambda x, s: losses.instance_noise(x, s),
               lambda x, s: x + torch.normal(0.0, s, size=x.shape) if s > 0 else x.clone()):
        for seed in range(4):
            result = run_exercise(ex, fn, seed=seed)
            assert result.status == "passed", format_result(result)


def test_references_agree_with_coursekit():
    real, fake = torch.randn(64) * 5, torch.randn(48, 1) * 5
    for a, b in [(1.0, 0.0), (0.9, 0.0), (0.9, 0.1), (0.8, 0.25)]:
        ours = L.smoothed_bce(real, fake.squeeze(1), a, b)
        assert torch.allclose(ours, losses.d_loss_bce(real, fake, a, b), atol=1e-6)
    x, _ = theory.grid(-6, 6, 601)
    p, q = theory.gaussian_pdf(x, 0, 1), theory.mixture_pdf(x, [0.5, 4.0], [1.0, 1.0])
    for a, b in [(1.0, 0.0), (0.9, 0.0), (0.9, 0.1)]:
        ours = L.optimal_discriminator_smoothed(torch.from_numpy(p), torch.from_numpy(q), a, b).numpy()
        assert np.allclose(ours, smoothed_optimal_discriminator(p, q, a, b))
    trainer = GANTrainer(nn.Linear(2, 2), nn.Linear(2, 1), torch.randn(32, 2),
                         TrainConfig(steps=500, instance_noise=0.7, nz=2, progress=False), device="cpu")
    for step in (0, 1, 123, 250, 499, 500, 700):
        assert L.noise_std(step, 500, 0.7) == pytest.approx(trainer.noise_std(step))


def test_smoothed_d_star_maximises_the_expected_smoothed_objective():
    """The closed form beats every other constant D at each point (pointwise maximiser)."""
    p, q = torch.tensor([0.3, 1.0, 0.05, 0.0001]), torch.tensor([0.2, 0.01, 0.4, 0.5])
    a, b = 0.9, 0.1
    d_star = L.optimal_discriminator_smoothed(p, q, a, b)
    grid = torch.linspace(1e-4, 1 - 1e-4, 20001)

    def objective(d):  # p[α log D + (1-α) log(1-D)] + q[β log D + (1-β) log(1-D)], one column per point
        return p * (a * torch.log(d) + (1 - a) * torch.log1p(-d)) + q * (b * torch.log(d) + (1 - b) * torch.log1p(-d))

    best = grid[objective(grid[:, None]).argmax(dim=0)]
    assert torch.allclose(best, d_star, atol=1e-4)


def test_smoothed_generator_gradient_reference_matches_the_closed_form_and_vanishes_where_p_data_is_0():
    x = torch.linspace(-2, 8, 41, dtype=torch.float64)
    params = (0.0, 1.0, 4.0, 1.0)
    for a, b in [(1.0, 0.0), (0.9, 0.0), (0.9, 0.1)]:
        auto = L.smoothed_generator_gradient(x, *params, a, b)
        assert torch.allclose(auto, L._smoothed_closed_form(x, *params, a, b), rtol=1e-9, atol=1e-300)
    one_sided = L.smoothed_generator_gradient(x, *params, 0.9, 0.0)
    two_sided = L.smoothed_generator_gradient(x, *params, 0.9, 0.1)
    unsmoothed = L.smoothed_generator_gradient(x, *params, 1.0, 0.0)
    assert torch.allclose(one_sided, unsmoothed, rtol=1e-12)  # -log(α w) = -log α - log w
    far = x >= 6
    assert (two_sided[far].abs() < 1e-4 * one_sided[far].abs()).all() and (one_sided[far].abs() > 1).all()


@pytest.mark.parametrize("seed", range(3))
def test_smoothed_generator_gradient_wrong_derivations_fail_every_case(seed):
    ex = get_exercise("06.smoothed_generator_gradient")
    for mistake in ex.mistakes:
        result = run_exercise(ex, mistake.fn, seed=seed)
        assert not any(c.passed for c in result.cases), mistake.hint
    assert run_exercise(ex, L._smoothed_closed_form, seed=seed).status == "passed"
