"""The autograder's code that runs INSIDE a learner's kernel, after the learner's cells.

:mod:`coursekit.grade` never imports learner code. It sends cells to a fresh
kernel: first the learner's notebook, then a cell that imports this module
afresh (so nothing the notebook patched in coursekit is used), then one cell
per exercise calling :func:`grade_exercise`. Each call prints one line,
``marker + JSON``, where ``marker`` is a random string the learner's code
never saw, so printed look-alikes cannot pass for results.
"""
from __future__ import annotations

import contextlib
import io
import json
import sys
import time

OUTPUT_LIMIT = 2_000  # characters of the learner's own output kept per exercise


class _CappedText(io.TextIOBase):
    """A write-only text stream that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit, self.parts, self.kept, self.dropped = limit, [], 0, 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        room = max(0, self.limit - self.kept)
        self.parts.append(text[:room])
        self.kept += min(room, len(text))
        self.dropped += max(0, len(text) - room)
        return len(text)

    def text(self) -> str:
        extra = f"\n[… {self.dropped} more characters]" if self.dropped else ""
        return "".join(self.parts) + extra


def _not_the_learners(fn: object) -> str | None:
    """Why ``fn`` is not the learner's own function (coursekit's reference rebound to the name), or None."""
    module = getattr(fn, "__module__", None) or ""
    if module == "coursekit" or module.startswith("coursekit."):
        return f"this is coursekit's own `{getattr(fn, '__name__', fn)}` from {module}, not your function: define it yourself in the exercise cell."
    return None


def grade_exercise(key: str, seed: int, marker: str) -> None:
    """Grade exercise ``key`` against the function of that name in the kernel's ``__main__`` namespace.

    The learner's prints are captured (first :data:`OUTPUT_LIMIT` characters
    kept); the result (``ExerciseResult.to_dict()`` plus ``seconds`` and
    ``output``) is printed after ``marker`` on a line of its own.
    A ``KeyboardInterrupt`` (the grader interrupting a case that ran past the
    time limit) is not caught.
    """
    from coursekit.check import run_exercise
    from coursekit.exercises import get_exercise

    exercise = get_exercise(key)
    fn = vars(sys.modules["__main__"]).get(exercise.function)
    captured = _CappedText(OUTPUT_LIMIT)
    start = time.perf_counter()
    result = {"key": key, "title": exercise.title, "points": exercise.points, "earned": 0.0, "cases": []}
    reason = _not_the_learners(fn) if fn is not None else None
    try:
        if reason:
            result.update(status="failed", message=reason)
        else:
            with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
                result = run_exercise(exercise, fn, seed).to_dict()
    except KeyboardInterrupt:
        raise
    except BaseException as err:  # SystemExit, or an error outside the learner's calls: report, never crash
        result.update(status="error", message=f"grading raised {type(err).__name__}: {err}")
    result["seconds"] = round(time.perf_counter() - start, 3)
    result["output"] = captured.text()
    sys.stdout.write("\n" + marker + json.dumps(result, default=repr) + "\n")
    sys.stdout.flush()
