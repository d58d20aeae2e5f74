"""Lesson 1 exercises, beyond what tests/test_exercises.py checks for every lesson."""
import math
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from coursekit import losses, theory
from coursekit.check import run_exercise
from coursekit.exercises import exercises_for, get_exercise
from coursekit.exercises import lesson01 as L

EXERCISES = exercises_for("01")
IDS = [e.key for e in EXERCISES]


def test_registry_keys_and_functions():
    assert IDS == ["01.optimal_discriminator", "01.jensen_shannon", "01.g_loss_saturating",
                   "01.g_loss_nonsaturating", "01.value_function"]
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
