"""nbgrader's autograder tests: a check that raises when it fails.

nbgrader passes an "autograder tests" cell that does not raise, while a check
cell (:func:`coursekit.check.check`) only prints. ``make sync`` appends to each
check cell of a solution notebook a hidden-tests region (nbgrader's release
removes it, nbgrader's autograde puts it back) that calls :func:`assert_passes`::

    check("01.jensen_shannon", jensen_shannon)
    ### BEGIN HIDDEN TESTS
    from coursekit.nbgrader_tests import assert_passes
    assert_passes("01.jensen_shannon", jensen_shannon)
    ### END HIDDEN TESTS
"""
from __future__ import annotations

from typing import Callable

from coursekit.check import format_result, is_sealed, run_exercise


def assert_passes(key: str, fn: Callable | None, seed: int | None = None) -> None:
    """Raise ``AssertionError`` (with the check's report) unless ``fn`` passes every case of exercise ``key``.

    The same randomised cases (a fresh draw unless ``seed`` is given) and hints as the check cell.
    While :mod:`coursekit.grade` runs the notebook (coursekit's references are sealed) it does
    nothing, as the check cell does: that grader judges outside the learner's kernel.
    """
    from coursekit.exercises import get_exercise

    exercise = get_exercise(key)
    if is_sealed(exercise):
        return
    result = run_exercise(exercise, fn, seed)
    assert result.status == "passed", "\n" + format_result(result)
