"""Lesson 1 exercises, beyond what tests/test_exercises.py checks for every lesson."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from coursekit import losses, theory
from coursekit.check import NOT_DIFFERENTIABLE, run_exercise
from coursekit.exercises import exercises_for, get_exercise
from coursekit.exercises import lesson01 as L

EXERCISES = exercises_for("01")
IDS = [e.key for e in EXERCISES]


def test_registry_keys_and_functions():
    assert IDS == ["01.optimal_discriminator", "01.jensen_shannon", "01.g_loss_saturating",
                   "01.g_loss_nonsaturating", "01.value_function", "01.generator_gradients"]
    for ex in EXERCISES:
        assert ex.key == f"01.{ex.function}" and ex.lesson == "01" and ex.mistakes


def test_sign_error_in_a_loss_fails_with_the_sign_hint():
    result = run_exercise(get_exercise("01.g_loss_nonsaturating"), lambda l: -F.softplus(-l).mean(), seed=5)
    assert result.status == "failed" and result.earned == 0
    assert all("sign error" in c.message for c in result.cases)


def test_sigmoid_then_log_fails_only_where_it_overflows():
    ex = get_exercise("01.g_loss_saturating")
    result = run_exercise(ex, lambda l: torch.log(1 - torch.sigmoid(l)).mean(), seed=0)
    extreme = [c for c in result.cases if c.label.startswith("extreme")]
    assert result.status == "failed" and extreme and not extreme[0].passed
    assert "softplus" in extreme[0].message


def test_hard_coded_answers_fail_on_fresh_random_cases():
    ex = get_exercise("01.value_function")
    case = ex.cases(np.random.default_rng(0))[0]
    memorised = ex.reference(*case.args)
    result = run_exercise(ex, lambda r, f: memorised, seed=1)
    assert result.status == "failed"


def test_references_agree_with_coursekit_losses_and_theory():
    logits = torch.linspace(-50, 50, 101)
    assert torch.allclose(L.g_loss_saturating(logits), losses.g_loss_saturating(logits))
    assert torch.allclose(L.g_loss_nonsaturating(logits), losses.g_loss_nonsaturating(logits))
    real, fake = torch.randn(64), torch.randn(64)
    assert torch.allclose(L.value_function(real, fake), -losses.d_loss_bce(real, fake), atol=1e-6)
    assert float(L.value_function(torch.zeros(8), torch.zeros(8))) == pytest.approx(-math.log(4))
    x, dx = theory.grid(-10, 10, 2001)
    p, q = theory.gaussian_pdf(x, 0, 1), theory.mixture_pdf(x, [-2, 1.5], [0.5, 1.0])
    pt, qt = torch.from_numpy(p), torch.from_numpy(q)
    assert float(L.jensen_shannon(pt, qt, dx)) == pytest.approx(theory.jsd(p, q, dx), abs=1e-10)
    assert np.allclose(L.optimal_discriminator(pt, qt).numpy(), theory.optimal_discriminator(p, q))


@pytest.mark.parametrize("seed", range(5))
def test_an_inverted_d_star_fails_every_case(seed):
    result = run_exercise(get_exercise("01.optimal_discriminator"), lambda p, q: q / (p + q), seed=seed)
    assert result.earned == 0 and not any(c.passed for c in result.cases)


@pytest.mark.parametrize("key", ["01.g_loss_saturating", "01.g_loss_nonsaturating", "01.value_function"])
def test_a_loss_returned_as_a_number_or_detached_fails_with_the_graph_hint(key):
    ex = get_exercise(key)
    for cut in (lambda *a: ex.reference(*a).item(), lambda *a: ex.reference(*a).detach()):
        result = run_exercise(ex, cut, seed=3)
        assert result.earned == 0 and all(NOT_DIFFERENTIABLE in c.message for c in result.cases)


def test_generator_gradients_reference_is_autograd_and_matches_the_closed_form():
    x = torch.linspace(-3, 8, 23, dtype=torch.float64)
    params = (0.0, 0.5, 4.0, 1.0)  # narrow data, broad fakes: D* -> 0 on the far side
    sat, nonsat = L.generator_gradients(x, *params)
    closed_sat, closed_nonsat = L._closed_form(x, *params)
    assert torch.allclose(sat, closed_sat, atol=1e-12) and torch.allclose(nonsat, closed_nonsat, atol=1e-12)
    # where D* -> 0 the saturating gradient vanishes and the non-saturating one does not
    d_star = torch.sigmoid(L._log_ratio(x, *params))
    far = d_star < 1e-6
    assert far.any() and sat[far].abs().max() < 1e-4 < nonsat[far].abs().min()


@pytest.mark.parametrize("seed", range(3))
def test_generator_gradients_wrong_derivations_fail_every_case(seed):
    ex = get_exercise("01.generator_gradients")
    for mistake in ex.mistakes:
        result = run_exercise(ex, mistake.fn, seed=seed)
        assert not any(c.passed for c in result.cases), mistake.hint
    assert run_exercise(ex, L._closed_form, seed=seed).status == "passed"
