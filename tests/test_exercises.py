"""Every graded exercise of every lesson, and every exercise notebook, held to the same bar.

- each reference passes its own randomised checks, for several seeds;
- each typical mistake fails, and a failing case shows that mistake's hint;
- an untouched function reports "not implemented", never a traceback;
- the generated exercise notebook, untouched, runs to the end in a fresh kernel
  and says "not implemented yet" for each exercise (later cells fall back to
  the reference);
- the solution notebook, run in a fresh kernel, passes every check with full marks.

Lesson-specific behaviour lives in ``test_lessonNN.py``.
"""
from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from coursekit.check import format_result, points_label, run_exercise
from coursekit.exercises import exercises_for, lessons

ROOT = Path(__file__).resolve().parent.parent
SEEDS = (0, 1, 2)
ALL = [ex for lesson in lessons() for ex in exercises_for(lesson)]


def _notebook(folder: str, lesson: str) -> Path:
    (path,) = (ROOT / folder).glob(f"{lesson}_*.ipynb")
    return path


def test_every_lesson_with_exercises_has_its_notebooks():
    assert lessons(), "no lesson registers exercises"
    for lesson in lessons():
        for folder in ("solutions", "exercises"):
            assert _notebook(folder, lesson).exists()


@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.key)
def test_exercise_is_well_formed(ex):
    assert ex.key == f"{ex.lesson}.{ex.function}" and ex.points > 0 and ex.hint
    assert ex.mistakes, f"{ex.key}: name at least one typical mistake, with its hint"
    assert len(ex.cases(__import__("numpy").random.default_rng(0))) >= 3


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.key)
def test_reference_passes_its_own_checks(ex, seed):
    result = run_exercise(ex, ex.reference, seed=seed)
    assert result.status == "passed", format_result(result)
    assert result.earned == ex.points


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.key)
def test_each_mistake_fails_with_its_own_hint(ex, seed):
    for mistake in ex.mistakes:
        result = run_exercise(ex, mistake.fn, seed=seed)
        assert result.status == "failed", f"{ex.key}: this mistake passes: {mistake.hint}"
        failing = [c.message for c in result.cases if not c.passed]
        assert any(mistake.hint in m for m in failing), f"{ex.key}: hint not shown\n{format_result(result)}"


@pytest.mark.parametrize("ex", ALL, ids=lambda e: e.key)
def test_untouched_function_reports_not_implemented(ex):
    def untouched(*args, **kwargs):
        raise NotImplementedError()

    result = run_exercise(ex, untouched, seed=0)
    assert result.status == "not implemented" and result.earned == 0
    assert "not implemented yet" in format_result(result)


# ------------------------------------------------------------- notebooks


def execute(path: Path) -> str:
    """Run a notebook in a fresh kernel in quick mode; return its text outputs. Errors fail the test."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    saved = os.environ.get("COURSEKIT_QUICK")
    os.environ["COURSEKIT_QUICK"] = "1"
    try:
        resources = {"metadata": {"path": str(path.parent)}}
        NotebookClient(nb, timeout=600, kernel_name="python3", resources=resources).execute()
    finally:
        if saved is None:
            os.environ.pop("COURSEKIT_QUICK")
        else:
            os.environ["COURSEKIT_QUICK"] = saved
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            texts.append(out.get("text", "") or out.get("data", {}).get("text/plain", ""))
    return "\n".join(texts)


@pytest.mark.parametrize("lesson", lessons())
def test_untouched_exercise_notebook_runs_to_the_end_and_says_not_implemented(lesson):
    text = execute(_notebook("exercises", lesson))
    for ex in exercises_for(lesson):
        block = text[text.index(f"({ex.key},"):]
        assert "not implemented yet" in block.splitlines()[1], ex.key
    assert "✅" not in text
    assert "yours" not in text, "a demo cell labels coursekit's reference as the learner's"


@pytest.mark.parametrize("lesson", lessons())
def test_solution_notebook_passes_every_check(lesson):
    text = execute(_notebook("solutions", lesson))
    for ex in exercises_for(lesson):
        start = text.find(f"({ex.key}, {points_label(ex.points)})")
        assert start >= 0, f"{ex.key}: no check cell ran"
        score_line = text[text.index("score:", start):].splitlines()[0]
        assert score_line == f"score: {ex.points}/{ex.points}", f"{ex.key}: {score_line}"
    assert "❌" not in text and "reference implementation" not in text


# Typical mistakes that are right on some cases by their nature, each with the reason; every
# other mistake of the lessons below must fail EVERY case (no points for a wrong function by
# accident, e.g. an inverted D* on a symmetric case).
RIGHT_SOMEWHERE = {
    ("01.jensen_shannon", "where p = 0"): "right wherever neither density is exactly 0",
    ("01.g_loss_saturating", "you took sigmoid"): "right where the logits do not overflow",
    ("01.g_loss_nonsaturating", "you took sigmoid"): "right where the logits do not overflow",
    ("01.value_function", "you took sigmoid"): "right where the logits do not overflow",
    ("05.wasserstein1_1d", "|mean(a) − mean(b)|"): "W1 itself when the sorted samples never cross",
    ("05.gradient_penalty", "pass create_graph"): "the value is right; only its gradient is missing",
    ("05.gradient_penalty", "draw one ε per sample"): "any ε gives x̂ = x when fake = real",
    ("05.power_iteration", "the exercise asks"): "the estimate converges to σ_max",
    ("06.smoothed_bce", "you took sigmoid"): "right where the logits do not overflow",
    ("06.noise_std", "after `total` steps"): "right up to step total",
    ("06.noise_std", "integer division"): "right at step 0 and from step total on",
    ("08.inception_score", "exp goes outside"): "the same when every KL is equal (one-hot rows)",
    ("08.inception_score", "each split uses its OWN"): "the same with one split",
    ("08.inception_score", "split i is rows"): "the same when the splits divide N evenly",
    ("08.frechet_distance", "np.linalg.eigvalsh"): "right when the two covariances commute",
    ("08.precision_recall", "the point itself"): "the same when no radius changes a verdict",
}
STRICT = [ex for lesson in ("01", "05", "06", "08") for ex in exercises_for(lesson)
          if ex.key != "06.add_instance_noise"]


@pytest.mark.parametrize("ex", STRICT, ids=lambda e: e.key)
def test_typical_mistakes_score_nothing_unless_right_by_nature(ex):
    for mistake in ex.mistakes:
        if any(key == ex.key and mistake.hint.startswith(start) for key, start in RIGHT_SOMEWHERE):
            continue
        for seed in SEEDS:
            passed = [c.label for c in run_exercise(ex, mistake.fn, seed=seed).cases if c.passed]
            assert not passed, f"{ex.key}: '{mistake.hint[:60]}…' passes {passed} (seed {seed})"
