"""Instant feedback for exercises: randomised cases, ✅/❌ per case, hints.

An :class:`Exercise` names the function a learner writes, a reference
implementation, a generator of randomised :class:`Case` s (so a hard-coded
answer fails), a generic hint, and typical :class:`Mistake` s: wrong
implementations whose output, when the learner's matches it, selects a
specific hint.

Checking is split in two so that the autograder can keep the judgement out
of the learner's process: :func:`observe` calls a function on a case's
inputs and turns what comes out into plain data (tensors, numbers, strings,
lists, dicts), and :func:`judge_exercise` compares the learner's
observations with the reference's. The check cells of the notebooks
(:func:`check`) do both in the learner's kernel; :mod:`coursekit.grading`
observes in the learner's kernel and judges in its own process.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

OBSERVED = ("returned", "raised", "not implemented", "reference")  # the statuses of an observation


class ReferenceSealed(BaseException):
    """Raised by coursekit's references while the autograder runs a notebook (they are sealed there).

    A ``BaseException``, so that a learner's ``except Exception`` does not hide it.
    """


@dataclass(frozen=True)
class Call:
    """The default probe: call the function on copies of the case's inputs and keep what it returns."""

    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, fn: Callable) -> Any:
        return fn(*_copy(self.args), **_copy(dict(self.kwargs)))


@dataclass(frozen=True)
class Case:
    """One randomised test of an exercise.

    By default the learner's ``fn(*args, **kwargs)`` is compared with the
    reference's output (``rtol``/``atol``). A case can instead give a
    ``probe``: ``probe(fn)`` calls the function its own way and returns plain
    data (e.g. the parameters after a training step); it must be picklable
    (a module-level function, or ``functools.partial`` of one), since the
    autograder runs it in the learner's kernel. ``judge(got, expected)`` then
    compares the learner's probe result with the reference's and returns
    ``None`` when right, else the message (with its hint); it runs where the
    judgement happens, never in the learner's kernel during grading.
    """

    label: str
    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    probe: Callable[[Callable], Any] | None = None
    judge: Callable[[Any, Any], str | None] | None = None
    rtol: float = 1e-4
    atol: float = 1e-5

    @property
    def verify(self) -> Callable | None:
        """The case's own probe, or None for a plain output comparison."""
        return self.probe

    def caller(self) -> Callable[[Callable], Any]:
        """What calls the function for this case: its probe, or a :class:`Call` of its inputs."""
        return self.probe if self.probe is not None else Call(self.args, self.kwargs)


@dataclass(frozen=True)
class Mistake:
    """A typical wrong implementation and the hint shown when the learner's output matches it."""

    hint: str
    fn: Callable


@dataclass
class Exercise:
    key: str  # "01.optimal_discriminator": lesson number, then function name
    function: str  # the name the learner's notebook defines
    title: str
    points: int
    reference: Callable
    cases: Callable[[np.random.Generator], Sequence[Case]]
    hint: str
    mistakes: tuple[Mistake, ...] = ()
    equivalents: tuple[str, ...] = ()  # "module:name" of coursekit functions that compute the same

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
    message: str = ""

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
            "message": self.message,
            "cases": [vars(c) for c in self.cases],
        }


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
        return f"expected a number or tensor, got {_kind(got)}"
    if g.shape != e.shape and not (g.size == e.size == 1):
        return f"shape {list(g.shape)}, expected {list(e.shape)}"
    g, e = g.reshape(e.shape) if g.size == e.size else g, e
    if not np.all(np.isfinite(g) == np.isfinite(e)):
        return f"non-finite values where finite ones were expected (got {_short(got)})"
    if not np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
        return f"got {_short(got)}, expected {_short(expected)}"
    return None


def _kind(value: Any) -> str:
    """The type of a value as the learner wrote it (plain data keeps it as ``"<TypeName>"``)."""
    if isinstance(value, str) and value.startswith("<") and value.endswith(">"):
        return value[1:-1]
    return type(value).__name__


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


# ------------------------------------------------------------------ observing


MAX_ELEMENTS = 2**24  # per tensor, in plain data
MAX_NODES = 200_000  # values in one plain-data tree


def to_plain(value: Any, budget: list[int] | None = None, depth: int = 0) -> Any:
    """``value`` as plain data: tensors (detached, on the CPU), numbers, strings, None, lists, tuples, dicts.

    NumPy arrays become tensors and NumPy scalars Python numbers; any other
    object becomes the string ``"<TypeName>"``, and so do tensors of more than
    :data:`MAX_ELEMENTS` elements, anything past :data:`MAX_NODES` values or
    nested deeper than 20. Plain data is what the autograder lets out of a
    learner's kernel (``torch.load(weights_only=True)`` reads it back without
    running code), and the limits keep a crafted file from exhausting the grader.
    """
    budget = [MAX_NODES] if budget is None else budget
    budget[0] -= 1
    if depth > 20 or budget[0] < 0:
        return "<too large>"
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone() if value.numel() <= MAX_ELEMENTS else "<too large>"
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return torch.from_numpy(np.array(value)) if value.size <= MAX_ELEMENTS else "<too large>"
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    if isinstance(value, (list, tuple)):
        items = [to_plain(v, budget, depth + 1) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        return {str(k): to_plain(v, budget, depth + 1) for k, v in value.items()}
    return f"<{type(value).__name__}>"


def observe(caller: Callable[[Callable], Any], fn: Callable) -> dict:
    """Call ``fn`` through ``caller`` (a case's probe or :class:`Call`); what happened, as plain data.

    ``{"status": "returned", "value": ...}``, or ``"raised"`` / ``"not implemented"``
    / ``"reference"`` (it reached a sealed coursekit reference) with a ``message``.
    A ``KeyboardInterrupt`` (the grader's time limit) is not caught.
    """
    try:
        value = caller(fn)
    except KeyboardInterrupt:
        raise
    except ReferenceSealed as err:
        return {"status": "reference", "message": str(err)[:300]}
    except NotImplementedError:
        return {"status": "not implemented", "message": ""}
    except BaseException as err:  # the learner's code raised: report it, keep grading
        return {"status": "raised", "message": f"{type(err).__name__}: {err}"[:300]}
    return {"status": "returned", "value": to_plain(value)}


def draw_cases(exercise: Exercise, seed: int) -> list[Case]:
    """The randomised cases of ``exercise`` for ``seed`` (NumPy and torch seeded, global state untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return list(exercise.cases(np.random.default_rng(seed)))


def observe_all(cases: Sequence[Case], fn: Callable, seed: int) -> list[dict]:
    """Observe ``fn`` on every case, seeded; stops at the first case that is not implemented or sealed."""
    observations = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for case in cases:
            observations.append(observe(case.caller(), fn))
            if observations[-1]["status"] in ("not implemented", "reference"):
                break
    return observations


# ------------------------------------------------------------------- judging


def _diagnose(exercise: Exercise, case: Case, got: Any) -> str:
    for mistake in exercise.mistakes:
        try:
            wrong = to_plain(mistake.fn(*_copy(case.args), **_copy(dict(case.kwargs))))
        except Exception:
            continue
        if compare(got, wrong, case.rtol, case.atol) is None:
            return mistake.hint
    return exercise.hint


def judge_case(exercise: Exercise, case: Case, got: dict | None, expected: dict) -> CaseResult:
    """The verdict on one case from the learner's observation ``got`` and the reference's ``expected``."""
    if not isinstance(got, dict) or got.get("status") not in OBSERVED:
        return CaseResult(case.label, False, "no result came back for this case")
    if got["status"] != "returned":
        return CaseResult(case.label, False, f"raised {got.get('message', '')}. Hint: {exercise.hint}")
    if expected.get("status") != "returned":
        raise RuntimeError(f"{exercise.key}: the reference failed on case {case.label!r}: {expected}")
    if case.judge is not None:
        try:
            problem = case.judge(got.get("value"), expected["value"])
        except Exception as err:  # an output of an unexpected form: a wrong answer, not a grader crash
            problem = f"unexpected output ({type(err).__name__}: {err}). Hint: {exercise.hint}"
        return CaseResult(case.label, problem is None, problem or "")
    problem = compare(got.get("value"), expected["value"], case.rtol, case.atol)
    if problem is None:
        return CaseResult(case.label, True)
    return CaseResult(case.label, False, f"{problem}. Hint: {_diagnose(exercise, case, got.get('value'))}")


def judge_exercise(exercise: Exercise, cases: Sequence[Case], got: Sequence[dict],
                   expected: Sequence[dict]) -> ExerciseResult:
    """The exercise's result from the learner's observations (one per case) and the reference's."""
    result = ExerciseResult(exercise.key, exercise.title, exercise.points, "failed")
    statuses = [o.get("status") if isinstance(o, dict) else None for o in got]
    if "reference" in statuses:
        result.message = "uses coursekit's reference: define the function yourself, without coursekit's solution"
        return result
    if "not implemented" in statuses:
        result.status = "not implemented"
        return result
    for i, case in enumerate(cases):
        result.cases.append(judge_case(exercise, case, got[i] if i < len(got) else None, expected[i]))
    result.status = "passed" if all(c.passed for c in result.cases) else "failed"
    return result


def run_exercise(exercise: Exercise, fn: Callable | None, seed: int | None = None) -> ExerciseResult:
    """Run every randomised case of ``exercise`` against ``fn``; never raises for learner errors."""
    result = ExerciseResult(exercise.key, exercise.title, exercise.points, "missing")
    if fn is None or not callable(fn):
        return result
    seed = int.from_bytes(os.urandom(4), "little") if seed is None else seed
    cases = draw_cases(exercise, seed)
    got = observe_all(cases, fn, seed)
    if any(o["status"] in ("not implemented", "reference") for o in got):
        return judge_exercise(exercise, cases, got, [])
    expected = observe_all(cases, exercise.reference, seed)
    return judge_exercise(exercise, cases, got, expected)


# ------------------------------------------------------------ learner's API


def points_label(points: int) -> str:
    return f"{points} point{'' if points == 1 else 's'}"


def format_result(result: ExerciseResult) -> str:
    lines = [f"{result.title} ({result.key}, {points_label(result.points)})"]
    if result.status == "missing":
        lines.append("  ❌ function not found: define it (with this name) in the exercise cell and run that cell.")
    elif result.status == "not implemented":
        lines.append("  ⏳ not implemented yet: replace `raise NotImplementedError()` with your code, then rerun.")
    elif result.message:
        lines.append(f"  ❌ {result.message}")
    for case in result.cases:
        mark = "✅" if case.passed else "❌"
        lines.append(f"  {mark} {case.label}" + (f": {case.message}" if case.message else ""))
    lines.append(f"  score: {result.earned:g}/{result.points}")
    return "\n".join(lines)


def is_sealed(exercise: Exercise) -> bool:
    """True while the autograder runs the notebook: coursekit's references are sealed then."""
    return bool(getattr(exercise.reference, "sealed", False))


def check(key: str, fn: Callable | None, seed: int | None = None) -> None:
    """Check the learner's ``fn`` for exercise ``key`` and print ✅/❌ per randomised case."""
    from coursekit.exercises import get_exercise

    exercise = get_exercise(key)
    if is_sealed(exercise):
        print(f"{exercise.title} ({key}): not checked here while the autograder runs this notebook.")
        return
    print(format_result(run_exercise(exercise, fn, seed)))


def solution_or_reference(key: str, fn: Callable | None) -> Callable:
    """The learner's ``fn`` when it passes its checks, else the reference, with a visible note.

    Lets an unfinished exercise notebook run to the end: later cells use
    whichever this returns. While the autograder runs the notebook the
    references are sealed, so this returns ``fn`` unchecked (when defined).
    """
    from coursekit.exercises import get_exercise

    exercise = get_exercise(key)
    if is_sealed(exercise):
        return fn if callable(fn) else exercise.reference
    result = run_exercise(exercise, fn)
    if result.status == "passed":
        return fn
    why = {"missing": "is not defined", "not implemented": "is not implemented yet"}.get(
        result.status, "does not pass its checks yet"
    )
    print(f"Note: your `{exercise.function}` {why}; the cells below use coursekit's reference implementation.")
    return exercise.reference
