"""Instant feedback for exercises: randomised cases, ✅/❌ per case, hints.

An :class:`Exercise` names the function a learner writes, a reference
implementation, a generator of randomised :class:`Case` s (so a hard-coded
answer fails), a generic hint, and typical :class:`Mistake` s: wrong
implementations whose output, when the learner's matches it, selects a
specific hint. The same exercises are used by the check cells of the
notebooks (:func:`check`) and by the autograder (:func:`grade_namespace`).
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch


@dataclass(frozen=True)
class Case:
    """One randomised test of an exercise.

    By default the learner's ``fn(*args, **kwargs)`` is compared with the
    reference's output (``rtol``/``atol``). A case with ``verify`` instead calls
    ``verify(fn)``, which returns ``None`` when right and a hint otherwise
    (for properties an output comparison cannot see, e.g. ``create_graph``).
    """

    label: str
    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    verify: Callable[[Callable], str | None] | None = None
    rtol: float = 1e-4
    atol: float = 1e-5


@dataclass(frozen=True)
class Mistake:
    """A typical wrong implementation and the hint shown when the learner's output matches it."""

    hint: str
    fn: Callable


@dataclass(frozen=True)
class Exercise:
    key: str  # "01.optimal_discriminator": lesson number, then function name
    function: str  # the name the learner's notebook defines
    title: str
    points: int
    reference: Callable
    cases: Callable[[np.random.Generator], Sequence[Case]]
    hint: str
    mistakes: tuple[Mistake, ...] = ()

    @property
    def lesson(self) -> str:
        return self.key.split(".")[0]


@dataclass
class CaseResult:
    label: str
    passed: bool
    message: str = ""


@dataclass
class ExerciseResult:
    key: str
    title: str
    points: int
    status: str  # "passed", "failed", "not implemented", "missing"
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def earned(self) -> float:
        if self.status in ("not implemented", "missing") or not self.cases:
            return 0.0
        return round(self.points * sum(c.passed for c in self.cases) / len(self.cases), 2)

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "title": self.title,
            "points": self.points,
            "earned": self.earned,
            "status": self.status,
            "cases": [vars(c) for c in self.cases],
        }


class NotImplementedYet(Exception):
    """Raised inside :func:`run_exercise` when the learner's function is untouched."""


# ------------------------------------------------------------------ comparing


def _copy(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().clone().requires_grad_(value.requires_grad)
    if isinstance(value, torch.nn.Module):
        return copy.deepcopy(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_copy(v) for v in value)
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return copy.deepcopy(value)


def _as_array(value: Any) -> np.ndarray | None:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    if isinstance(value, (int, float, np.ndarray, np.number, bool)):
        return np.asarray(value, dtype=float)
    return None


def compare(got: Any, expected: Any, rtol: float = 1e-4, atol: float = 1e-5) -> str | None:
    """``None`` when ``got`` matches ``expected`` (recursively), else what differs."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"expected a sequence of {len(expected)} values, got {_short(got)}"
        for i, (g, e) in enumerate(zip(got, expected)):
            problem = compare(g, e, rtol, atol)
            if problem:
                return f"item {i}: {problem}"
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) != set(expected):
            return f"expected a dict with keys {sorted(expected)}, got {_short(got)}"
        for k in expected:
            problem = compare(got[k], expected[k], rtol, atol)
            if problem:
                return f"[{k!r}]: {problem}"
        return None
    e, g = _as_array(expected), _as_array(got)
    if e is None:
        return None if got == expected else f"expected {_short(expected)}, got {_short(got)}"
    if g is None:
        return f"expected a number or tensor, got {type(got).__name__}"
    if g.shape != e.shape and not (g.size == e.size == 1):
        return f"shape {list(g.shape)}, expected {list(e.shape)}"
    g, e = g.reshape(e.shape) if g.size == e.size else g, e
    if not np.all(np.isfinite(g) == np.isfinite(e)):
        return f"non-finite values where finite ones were expected (got {_short(got)})"
    if not np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
        return f"got {_short(got)}, expected {_short(expected)}"
    return None


def _short(value: Any) -> str:
    arr = _as_array(value)
    if arr is None:
        text = repr(value)
    elif arr.size == 1:
        text = f"{arr.item():.6g}"
    else:
        flat = ", ".join(f"{v:.4g}" for v in arr.reshape(-1)[:4])
        text = f"[{flat}{', …' if arr.size > 4 else ''}] (shape {list(arr.shape)})"
    return text if len(text) < 120 else text[:117] + "…"


# ------------------------------------------------------------------- running


def _run_case(exercise: Exercise, fn: Callable, case: Case) -> CaseResult:
    if case.verify is not None:
        try:
            problem = case.verify(fn)
        except NotImplementedError:
            raise NotImplementedYet from None
        except Exception as err:  # the learner's code raised: report it, keep grading
            problem = f"raised {type(err).__name__}: {err}. {exercise.hint}"
        return CaseResult(case.label, problem is None, problem or "")
    expected = exercise.reference(*_copy(case.args), **_copy(dict(case.kwargs)))
    try:
        got = fn(*_copy(case.args), **_copy(dict(case.kwargs)))
    except NotImplementedError:
        raise NotImplementedYet from None
    except Exception as err:
        return CaseResult(case.label, False, f"raised {type(err).__name__}: {err}. Hint: {exercise.hint}")
    problem = compare(got, expected, case.rtol, case.atol)
    if problem is None:
        return CaseResult(case.label, True)
    return CaseResult(case.label, False, f"{problem}. Hint: {_diagnose(exercise, case, got)}")


def _diagnose(exercise: Exercise, case: Case, got: Any) -> str:
    for mistake in exercise.mistakes:
        try:
            wrong = mistake.fn(*_copy(case.args), **_copy(dict(case.kwargs)))
        except Exception:
            continue
        if compare(got, wrong, case.rtol, case.atol) is None:
            return mistake.hint
    return exercise.hint


def run_exercise(exercise: Exercise, fn: Callable | None, seed: int | None = None) -> ExerciseResult:
    """Run every randomised case of ``exercise`` against ``fn``; never raises for learner errors."""
    result = ExerciseResult(exercise.key, exercise.title, exercise.points, "missing")
    if fn is None or not callable(fn):
        return result
    seed = int.from_bytes(os.urandom(4), "little") if seed is None else seed
    rng = np.random.default_rng(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            for case in exercise.cases(rng):
                result.cases.append(_run_case(exercise, fn, case))
        except NotImplementedYet:
            result.status, result.cases = "not implemented", []
            return result
    result.status = "passed" if all(c.passed for c in result.cases) else "failed"
    return result


def points_label(points: int) -> str:
    return f"{points} point{'' if points == 1 else 's'}"


def format_result(result: ExerciseResult) -> str:
    lines = [f"{result.title} ({result.key}, {points_label(result.points)})"]
    if result.status == "missing":
        lines.append("  ❌ function not found: define it (with this name) in the exercise cell and run that cell.")
    elif result.status == "not implemented":
        lines.append("  ⏳ not implemented yet: replace `raise NotImplementedError()` with your code, then rerun.")
    for case in result.cases:
        mark = "✅" if case.passed else "❌"
        lines.append(f"  {mark} {case.label}" + (f": {case.message}" if case.message else ""))
    lines.append(f"  score: {result.earned:g}/{result.points}")
    return "\n".join(lines)


def check(key: str, fn: Callable | None, seed: int | None = None) -> None:
    """Check the learner's ``fn`` for exercise ``key`` and print ✅/❌ per randomised case."""
    from coursekit.exercises import get_exercise

    print(format_result(run_exercise(get_exercise(key), fn, seed)))


def solution_or_reference(key: str, fn: Callable | None) -> Callable:
    """The learner's ``fn`` when it passes its checks, else the reference, with a visible note.

    Lets an unfinished exercise notebook run to the end: later cells use
    whichever this returns.
    """
    from coursekit.exercises import get_exercise

    exercise = get_exercise(key)
    result = run_exercise(exercise, fn)
    if result.status == "passed":
        return fn
    why = {"missing": "is not defined", "not implemented": "is not implemented yet"}.get(
        result.status, "does not pass its checks yet"
    )
    print(f"Note: your `{exercise.function}` {why}; the cells below use coursekit's reference implementation.")
    return exercise.reference


def grade_namespace(namespace: Mapping[str, Any], lesson: str, seed: int | None = None) -> list[dict]:
    """Grade every exercise of ``lesson`` against the functions in ``namespace`` (e.g. a kernel's globals())."""
    from coursekit.exercises import exercises_for

    return [run_exercise(ex, namespace.get(ex.function), seed).to_dict() for ex in exercises_for(lesson)]

