"""Shared set-up of the tests: a headless matplotlib, no downloads, and the fixtures of the lesson tests."""
import os
import re
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")  # unit tests only; notebooks keep the inline backend
os.environ.setdefault("COURSEKIT_OFFLINE", "1")  # no test ever downloads

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def one_thread():
    """torch on one thread for the test (tiny models: more threads only contend), then as before."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository's root folder."""
    return ROOT


@pytest.fixture(scope="module")
def lesson_number(request) -> str:
    """The lesson a ``test_lessonNN.py`` module tests: ``"NN"``."""
    match = re.fullmatch(r"test_lesson(\d\d)", request.module.__name__.rsplit(".", 1)[-1])
    assert match, f"{request.module.__name__} is not a test_lessonNN module"
    return match.group(1)


@pytest.fixture(scope="module")
def lesson_exercises(lesson_number: str) -> list:
    """The lesson's registered exercises, in order."""
    from coursekit.exercises import exercises_for

    return exercises_for(lesson_number)


@pytest.fixture
def assert_registry(lesson_number: str, lesson_exercises: list):
    """``assert_registry(keys)``: the lesson registers exactly ``keys``, each ``NN.<function>``, each with mistakes."""
    def check(keys: list[str]) -> None:
        assert [e.key for e in lesson_exercises] == keys
        for ex in lesson_exercises:
            assert ex.key == f"{lesson_number}.{ex.function}" and ex.lesson == lesson_number and ex.mistakes

    return check


@pytest.fixture
def assert_memorised_answer_fails():
    """``assert_memorised_answer_fails(key)``: the answer to seed 0's first case, returned whatever the input,
    passes that case and fails on seed 1's cases (the cases are randomised)."""
    from coursekit.check import run_exercise
    from coursekit.exercises import get_exercise

    def check(key: str) -> None:
        ex = get_exercise(key)
        case = ex.cases(np.random.default_rng(0))[0]
        memorised = ex.reference(*case.args, **case.kwargs)
        assert run_exercise(ex, lambda *a, **k: memorised, seed=0).cases[0].passed, key
        assert run_exercise(ex, lambda *a, **k: memorised, seed=1).status == "failed", key

    return check
