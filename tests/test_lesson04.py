"""Lesson 04 exercises, beyond what tests/test_exercises.py checks for every lesson."""
from pathlib import Path

import numpy as np
import torch
from torch import nn

from coursekit.check import format_result, run_exercise
from coursekit.exercises import exercises_for, get_exercise
from coursekit.exercises import lesson04 as L
from coursekit.models import DCGANDiscriminator, DCGANGenerator

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = exercises_for("04")
IDS = [e.key for e in EXERCISES]
SEEDS = (0, 1, 2, 3)


def test_registry_keys_and_functions():
    assert IDS == ["04.conv_out", "04.conv_transpose_out", "04.dcgan_init"]
    for ex in EXERCISES:
        assert ex.key == f"04.{ex.function}" and ex.lesson == "04" and ex.mistakes


def test_conv_cases_agree_with_real_layers():
    """Every randomised case's expected answer is what nn.Conv2d / nn.ConvTranspose2d produce."""
    for seed in range(5):
        for case in get_exercise("04.conv_out").cases(np.random.default_rng(seed)):
            size, k, s, p, d = case.args
            with torch.no_grad():
                out = nn.Conv2d(1, 1, k, s, p, dilation=d)(torch.zeros(1, 1, size, size))
            assert L.conv_out(*case.args) == out.shape[-1]
        for case in get_exercise("04.conv_transpose_out").cases(np.random.default_rng(seed)):
            size, k, s, p, op, d = case.args
            with torch.no_grad():
                out = nn.ConvTranspose2d(1, 1, k, s, p, output_padding=op, dilation=d)(torch.zeros(1, 1, size, size))
            assert L.conv_transpose_out(*case.args) == out.shape[-1]


def test_hard_coded_shape_answer_fails():
    result = run_exercise(get_exercise("04.conv_out"), lambda *a, **k: 14, seed=0)
    assert result.status == "failed"


def test_dcgan_init_check_accepts_an_independent_implementation():
    def mine(module):
        for m in module.modules():
            if type(m) in (nn.Conv2d, nn.ConvTranspose2d, nn.Linear):
                with torch.no_grad():
                    m.weight.copy_(torch.randn_like(m.weight) * 0.02)
                    if m.bias is not None:
                        m.bias.zero_()
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                with torch.no_grad():
                    m.weight.copy_(1 + 0.02 * torch.randn_like(m.weight))
                    m.bias.zero_()
        return module

    result = run_exercise(get_exercise("04.dcgan_init"), mine, seed=3)
    assert result.status == "passed", format_result(result)


def test_pytorch_default_init_fails_dcgan_check():
    result = run_exercise(get_exercise("04.dcgan_init"), lambda m: m, seed=0)
    assert result.status == "failed"


def test_reference_init_statistics_on_the_course_models():
    for model in (DCGANGenerator(ngf=32), DCGANDiscriminator(ndf=32)):
        L.dcgan_init(model)
        weights = torch.cat([m.weight.detach().flatten() for m in model.modules()
                             if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))])
        assert abs(weights.mean().item()) < 1e-3 and abs(weights.std().item() - 0.02) < 1e-3
        assert L._init_problem(model, model) is None
