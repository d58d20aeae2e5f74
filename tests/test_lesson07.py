"""Lesson 7's exercises: references agree with coursekit's StyleGAN, typical mistakes get their hints."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from coursekit.check import run_exercise
from coursekit.exercises import exercises_for, get_exercise
from coursekit.exercises import lesson07 as L
from coursekit.stylegan import AdaIN, NoiseInjection, StyleGenerator


@pytest.mark.parametrize("exercise", exercises_for("07"), ids=lambda e: e.key)
def test_reference_passes_its_own_checks(exercise):
    assert exercise.key.startswith("07.") and exercise.function == exercise.key.split(".")[1]
    for seed in (0, 1, 2):
        result = run_exercise(exercise, exercise.reference, seed=seed)
        assert result.status == "passed", result.cases


@pytest.mark.parametrize("exercise", exercises_for("07"), ids=lambda e: e.key)
def test_each_mistake_fails_and_gets_its_own_hint(exercise):
    assert exercise.mistakes
    for mistake in exercise.mistakes:
        result = run_exercise(exercise, mistake.fn, seed=3)
        assert result.status == "failed"
        assert any(mistake.hint in c.message for c in result.cases if not c.passed)


def test_hard_coded_answers_fail():
    ex = get_exercise("07.mix_styles")
    memorised = ex.reference(*ex.cases(np.random.default_rng(5))[0].args)
    assert run_exercise(ex, lambda *a: memorised, seed=6).status == "failed"


def test_untouched_exercise_is_not_implemented():
    def adain(x, gamma, beta):
        raise NotImplementedError()

    assert run_exercise(get_exercise("07.adain"), adain).status == "not implemented"


def test_adain_reference_matches_the_model_and_torch_instance_norm():
    torch.manual_seed(0)
    layer = AdaIN(6, 10)
    x, w = torch.randn(3, 6, 8, 8) * 4 + 1, torch.randn(3, 10)
    scale, shift = layer.styles(w)
    assert torch.allclose(L.adain(x, scale - 1, shift), layer(x, w), atol=1e-5)
    assert torch.allclose(L.adain(x, torch.zeros(3, 6), torch.zeros(3, 6)), F.instance_norm(x, eps=1e-8), atol=1e-5)


def test_truncate_mix_and_noise_references_match_the_model():
    torch.manual_seed(0)
    G = StyleGenerator().eval()
    G.w_avg.copy_(torch.randn(G.w_dim))
    z = torch.randn(4, G.z_dim)
    assert torch.allclose(L.truncate(z, G.mapping, G.w_avg, 0.6), G.truncate(G.mapping(z), 0.6))
    w_a, w_b = torch.randn(4, G.w_dim), torch.randn(4, G.w_dim)
    for c in range(G.num_ws + 1):
        assert torch.equal(L.mix_styles(w_a, w_b, c, G.num_ws), G.mix(w_a, w_b, c))
    inj = NoiseInjection(5, 8)
    with torch.no_grad():
        inj.weight.normal_()
    x, noise = torch.randn(2, 5, 8, 8), torch.randn(2, 1, 8, 8)
    inj.const_noise.copy_(noise[:1])
    assert torch.allclose(L.inject_noise(x[:1], inj.weight, noise[:1]), inj(x[:1], "const"))
