"""Lesson 1 exercises: references pass, typical mistakes get their hints, untouched code says so."""
import math
import os
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from coursekit import losses, theory
from coursekit.check import format_result, run_exercise
from coursekit.exercises import exercises_for, get_exercise
from coursekit.exercises import lesson01 as L

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = exercises_for("01")
IDS = [e.key for e in EXERCISES]
SEEDS = (0, 1, 2, 3)


def test_registry_keys_and_functions():
    assert IDS == ["01.optimal_discriminator", "01.jensen_shannon", "01.g_loss_saturating",
                   "01.g_loss_nonsaturating", "01.value_function"]
    for ex in EXERCISES:
        assert ex.key == f"01.{ex.function}" and ex.lesson == "01" and ex.mistakes


@pytest.mark.parametrize("key", IDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_reference_passes_its_own_checks(key, seed):
    ex = get_exercise(key)
    result = run_exercise(ex, ex.reference, seed=seed)
    assert result.status == "passed", format_result(result)
    assert result.earned == ex.points and len(result.cases) >= 4


@pytest.mark.parametrize("key", IDS)
@pytest.mark.parametrize("seed", SEEDS)
def test_each_mistake_fails_with_its_own_hint(key, seed):
    ex = get_exercise(key)
    for mistake in ex.mistakes:
        result = run_exercise(ex, mistake.fn, seed=seed)
        assert result.status == "failed", f"{key}: mistake passes: {mistake.hint}"
        assert any(mistake.hint in c.message for c in result.cases if not c.passed), (
            f"{key}: no failing case shows the hint {mistake.hint!r}\n{format_result(result)}"
        )


@pytest.mark.parametrize("key", IDS)
def test_untouched_function_reports_not_implemented(key):
    def untouched(*args, **kwargs):
        # YOUR CODE HERE
        raise NotImplementedError()

    result = run_exercise(get_exercise(key), untouched, seed=0)
    assert result.status == "not implemented" and result.earned == 0
    assert "not implemented yet" in format_result(result)


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


# --------------------------------------------------------- the notebooks


def _execute(path: Path) -> str:
    """Run a notebook in a fresh kernel (quick mode) and return all its text output."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    env_quick = os.environ.get("COURSEKIT_QUICK")
    os.environ["COURSEKIT_QUICK"] = "1"
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    finally:
        if env_quick is None:
            os.environ.pop("COURSEKIT_QUICK")
        else:
            os.environ["COURSEKIT_QUICK"] = env_quick
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            texts.append(out.get("text", "") or out.get("data", {}).get("text/plain", ""))
    return "\n".join(texts)


@pytest.mark.skipif(not (ROOT / "exercises" / "01_minimax_theory.ipynb").exists(), reason="run release --sync")
def test_untouched_exercise_notebook_runs_to_the_end_and_says_not_implemented():
    text = _execute(ROOT / "exercises" / "01_minimax_theory.ipynb")
    for ex in EXERCISES:
        block = text[text.index(f"({ex.key},"):]
        assert "not implemented yet" in block.splitlines()[1], ex.key
        assert f"your `{ex.function}` is not implemented yet" in text
    assert "✅" not in text


@pytest.mark.skipif(not (ROOT / "solutions" / "01_minimax_theory.ipynb").exists(), reason="run release --sync")
def test_solution_notebook_passes_every_check():
    text = _execute(ROOT / "solutions" / "01_minimax_theory.ipynb")
    for ex in EXERCISES:
        assert f"({ex.key}, {ex.points} points)" in text and f"score: {ex.points}/{ex.points}" in text
    assert "❌" not in text and "reference implementation" not in text
