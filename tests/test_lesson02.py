"""Lesson 02 exercises, beyond what tests/test_exercises.py checks for every lesson."""
import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from coursekit.check import format_result, run_exercise
from coursekit.exercises import exercises_for, get_exercise
from coursekit.exercises import lesson02 as L
from coursekit.losses import d_loss_bce, g_loss_nonsaturating
from coursekit.models import MLPDiscriminator, MLPGenerator

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = exercises_for("02")
IDS = [e.key for e in EXERCISES]
SEEDS = (0, 1, 2)


def test_registry_keys_and_functions():
    assert IDS == ["02.train_step", "02.digit_census"]
    for ex in EXERCISES:
        assert ex.key == f"02.{ex.function}" and ex.lesson == "02" and ex.mistakes


def _models(seed=0):
    torch.manual_seed(seed)
    G = MLPGenerator(nz=4, hidden=(16,), out_shape=(1, 4, 4))
    D = MLPDiscriminator(in_shape=(1, 4, 4), hidden=(16,))
    return G, D


def test_reference_train_step_equals_a_hand_written_algorithm_1_step():
    """The reference against an independent spelling: explicit gradients, plain SGD updates."""
    G, D = _models()
    real, z, lr = torch.rand(8, 1, 4, 4) * 2 - 1, torch.randn(8, 4), 0.1
    G2, D2 = copy.deepcopy(G), copy.deepcopy(D)
    d_loss, g_loss = L.train_step(G, D, torch.optim.SGD(G.parameters(), lr), torch.optim.SGD(D.parameters(), lr),
                                  real, z)
    # by hand: D's gradient at the old parameters, with the fakes as constants
    fake = G2(z).detach()
    loss_d = d_loss_bce(D2(real), D2(fake))
    grads = torch.autograd.grad(loss_d, list(D2.parameters()))
    with torch.no_grad():
        for p, g in zip(D2.parameters(), grads):
            p -= lr * g
    loss_g = g_loss_nonsaturating(D2(G2(z)))  # through the updated D
    grads = torch.autograd.grad(loss_g, list(G2.parameters()))
    with torch.no_grad():
        for p, g in zip(G2.parameters(), grads):
            p -= lr * g
    assert d_loss == pytest.approx(loss_d.item(), rel=1e-6) and g_loss == pytest.approx(loss_g.item(), rel=1e-6)
    for a, b in zip([*G.parameters(), *D.parameters()], [*G2.parameters(), *D2.parameters()]):
        assert torch.allclose(a, b, atol=1e-7)


def test_a_correct_variant_that_recomputes_the_fakes_passes():
    def recompute(G, D, opt_g, opt_d, real, z):
        opt_d.zero_grad(set_to_none=False)
        d = d_loss_bce(D(real), D(G(z).detach()))
        d.backward()
        opt_d.step()
        G.zero_grad()
        g = torch.nn.functional.binary_cross_entropy_with_logits(D(G(z)), torch.ones(len(z)))
        g.backward()
        opt_g.step()
        return d, g  # tensors are accepted too

    result = run_exercise(get_exercise("02.train_step"), recompute, seed=4)
    assert result.status == "passed", format_result(result)


def test_missing_detach_is_caught_even_when_the_updates_come_out_right():
    result = run_exercise(get_exercise("02.train_step"), L._no_detach, seed=0)
    assert result.status == "failed"
    assert all("2 times" in c.message and L.DETACH_HINT in c.message for c in result.cases)


def test_wrong_return_value_is_reported():
    def returns_nothing(G, D, opt_g, opt_d, real, z):
        L.train_step(G, D, opt_g, opt_d, real, z)

    result = run_exercise(get_exercise("02.train_step"), returns_nothing, seed=0)
    assert result.status == "failed" and "(d_loss, g_loss)" in result.cases[0].message


def test_hard_coded_census_fails_on_fresh_random_cases():
    ex = get_exercise("02.digit_census")
    case = ex.cases(np.random.default_rng(0))[0]
    memorised = ex.reference(*case.args)
    result = run_exercise(ex, lambda probs, threshold=0.9: memorised, seed=1)
    assert result.status == "failed"


def test_census_on_known_probabilities():
    probs = torch.tensor([[0.95, 0.05, 0.0], [0.5, 0.5, 0.0], [0.0, 0.1, 0.9], [0.2, 0.7, 0.1]])
    share, counts = L.digit_census(probs, 0.9)
    assert share == pytest.approx(0.5) and counts.tolist() == [2, 1, 1] and counts.dtype == torch.int64
