"""Instant feedback for exercises: randomised cases, PASS ✅ / FAIL ❌ per case, hints that escalate.

An :class:`Exercise` names the function a learner writes, a reference
implementation, a generator of randomised :class:`Case` s (so a hard-coded
answer fails), escalating hints, and typical :class:`Mistake` s: wrong
implementations whose output, when the learner's matches it, selects a
specific hint.

Hints escalate: the first failed check of an exercise in a kernel shows
``Exercise.hint`` (which quantity, which identity, which paper section), each
further failed check the next of ``Exercise.more_hints``, a little more
specific. No hint is the worked answer: that lives in the solutions notebook.

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
class GradCall:
    """The probe of a case whose answer must be differentiable: call the function on inputs that require grad.

    Returns ``{"output": ..., "graph": bool}``, ``graph`` saying whether the
    output is a tensor that autograd can differentiate back to the inputs
    (``.item()``, ``float(...)``, ``.detach()`` or ``torch.tensor(...)`` cut it).
    """

    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, fn: Callable) -> dict:
        args = tuple(_requiring_grad(a) for a in _copy(self.args))
        out = fn(*args, **_copy(dict(self.kwargs)))
        return {"output": out, "graph": isinstance(out, torch.Tensor) and out.grad_fn is not None}


def _requiring_grad(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.detach().clone().requires_grad_(True)
    return value


NOT_DIFFERENTIABLE = "the result is not a tensor that autograd can differentiate"
GRAPH_HINT = (
    "a model is trained through this value, so return the tensor your computation built: `.item()`, "
    "`float(...)`, `.detach()`, `.numpy()` or `torch.tensor(...)` cut it from the graph."
)


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
    differentiable: bool = False  # the answer must be a tensor with a graph back to the (float tensor) inputs

    @property
    def verify(self) -> Callable | None:
        """The case's own probe, or None for a plain output comparison."""
        return self.probe

    def caller(self) -> Callable[[Callable], Any]:
        """What calls the function for this case: its probe, a :class:`GradCall` or a :class:`Call` of its inputs."""
        if self.probe is not None:
            return self.probe
        return GradCall(self.args, self.kwargs) if self.differentiable else Call(self.args, self.kwargs)


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
    hint: str  # the first hint: a conceptual nudge (which quantity, identity or paper section), never the answer
    mistakes: tuple[Mistake, ...] = ()
    equivalents: tuple[str, ...] = ()  # "module:name" of coursekit functions that compute the same
    more_hints: tuple[str, ...] = ()  # shown one more per failed check, each more specific, never the answer

    @property
    def lesson(self) -> str:
        return self.key.split(".")[0]

    @property
    def hints(self) -> tuple[str, ...]:
        """Every level of hint, first to last."""
        return (self.hint, *self.more_hints)

    def hint_at(self, level: int) -> str:
        """The hint for ``level`` failed checks so far (the last hint once they run out)."""
        return self.hints[max(0, min(level, len(self.hints) - 1))]


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
                return f"{_ordinal(i)} of the {len(expected)} values returned: {problem}"
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
        return _worst_mismatch(g, e, rtol, atol)
    return None


def _worst_mismatch(g: np.ndarray, e: np.ndarray, rtol: float, atol: float) -> str:
    """Where ``g`` is furthest outside the tolerance around ``e``: that point's index, value and expected value."""
    if e.size == 1:
        return f"got {g.item():.6g}, expected {e.item():.6g}"
    with np.errstate(invalid="ignore"):
        excess = np.abs(g - e) - (atol + rtol * np.abs(e))
    excess = np.where(np.isnan(excess), -np.inf, excess)
    worst = np.unravel_index(int(np.argmax(excess)), e.shape)
    wrong = int(np.sum(excess > 0))
    where = worst[0] if len(worst) == 1 else tuple(int(i) for i in worst)
    return (f"{wrong} of {e.size} values differ (shape {list(e.shape)}); the worst at index {where}: "
            f"got {g[worst]:.6g}, expected {e[worst]:.6g}")


def _ordinal(i: int) -> str:
    """``0`` -> ``"the first"``, … (``i`` counts from 0)."""
    words = ("first", "second", "third", "fourth", "fifth")
    return f"the {words[i]}" if i < len(words) else f"value {i + 1}"


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


def _diagnose(exercise: Exercise, case: Case, got: Any, level: int = 0) -> str:
    for mistake in exercise.mistakes:
        try:
            wrong = to_plain(mistake.fn(*_copy(case.args), **_copy(dict(case.kwargs))))
        except Exception:
            continue
        if compare(got, wrong, case.rtol, case.atol) is None:
            return mistake.hint
    return exercise.hint_at(level)


HINT = "Hint: "  # separates what is wrong from the hint in a case's message


def with_hint(problem: str, hint: str) -> str:
    """A case's message: what is wrong, then the hint."""
    return f"{problem}. {HINT}{hint}"


def split_hint(message: str) -> tuple[str, str]:
    """``(what is wrong, hint)`` of a case's message (the hint is ``""`` when it has none)."""
    problem, _, hint = message.partition(HINT)
    return problem.rstrip(" ."), hint.strip()


def _judged_by_case(exercise: Exercise, case: Case, got: Any, expected: Any, level: int) -> CaseResult:
    try:
        problem = case.judge(got, expected)
    except Exception as err:  # an output of an unexpected form: a wrong answer, not a grader crash
        problem = with_hint(f"unexpected output ({type(err).__name__}: {err})", exercise.hint)
    if problem and level and exercise.hint in problem:  # the judge gave the first hint: escalate it
        problem = problem.replace(exercise.hint, exercise.hint_at(level))
    return CaseResult(case.label, problem is None, problem or "")


def _unwrap_graph(case: Case, got: Any, expected: Any) -> tuple[Any, Any, str | None]:
    """The outputs of a differentiable case without their graph flags, or why the learner's has no graph."""
    if not isinstance(got, dict) or "graph" not in got:
        return got, expected, "malformed result"
    if got["graph"] is not True:
        return got, expected, with_hint(NOT_DIFFERENTIABLE, GRAPH_HINT)
    return got.get("output"), expected["output"], None


def judge_case(exercise: Exercise, case: Case, got: dict | None, expected: dict, level: int = 0) -> CaseResult:
    """The verdict on one case from the learner's observation ``got`` and the reference's ``expected``.

    ``level`` is the number of failed checks of this exercise so far: it selects the hint.
    """
    if not isinstance(got, dict) or got.get("status") not in OBSERVED:
        return CaseResult(case.label, False, "no result came back for this case")
    if got["status"] != "returned":
        return CaseResult(case.label, False, with_hint(f"raised {got.get('message', '')}", exercise.hint_at(level)))
    if expected.get("status") != "returned":
        raise RuntimeError(f"{exercise.key}: the reference failed on case {case.label!r}: {expected}")
    value, wanted = got.get("value"), expected["value"]
    if case.judge is not None:
        return _judged_by_case(exercise, case, value, wanted, level)
    if case.differentiable and case.probe is None:
        value, wanted, problem = _unwrap_graph(case, value, wanted)
        if problem:
            return CaseResult(case.label, False, problem)
    problem = compare(value, wanted, case.rtol, case.atol)
    if problem is None:
        return CaseResult(case.label, True)
    return CaseResult(case.label, False, with_hint(problem, _diagnose(exercise, case, value, level)))


def judge_exercise(exercise: Exercise, cases: Sequence[Case], got: Sequence[dict],
                   expected: Sequence[dict], level: int = 0) -> ExerciseResult:
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
        result.cases.append(judge_case(exercise, case, got[i] if i < len(got) else None, expected[i], level))
    result.status = "passed" if all(c.passed for c in result.cases) else "failed"
    return result


def run_exercise(exercise: Exercise, fn: Callable | None, seed: int | None = None, level: int = 0) -> ExerciseResult:
    """Run every randomised case of ``exercise`` against ``fn``; never raises for learner errors.

    ``level`` (failed checks so far) selects which of the exercise's hints a failing case shows.
    """
    result = ExerciseResult(exercise.key, exercise.title, exercise.points, "missing")
    if fn is None or not callable(fn):
        return result
    seed = int.from_bytes(os.urandom(4), "little") if seed is None else seed
    cases = draw_cases(exercise, seed)
    got = observe_all(cases, fn, seed)
    if any(o["status"] in ("not implemented", "reference") for o in got):
        return judge_exercise(exercise, cases, got, [])
    expected = observe_all(cases, exercise.reference, seed)
    return judge_exercise(exercise, cases, got, expected, level)


# ------------------------------------------------------------ learner's API

PASS, FAIL, TODO = "✅ PASS", "❌ FAIL", "⏳ TODO"  # a word beside each mark: emoji fonts are not everywhere

_FAILED_CHECKS: dict[str, int] = {}  # exercise key -> failed checks in this kernel (selects the hint)


def points_label(points: int) -> str:
    return f"{points} point{'' if points == 1 else 's'}"


def _hint_lines(result: ExerciseResult, last_hint: str | None) -> list[str]:
    """Each distinct hint of the failing cases, once, in the order the cases met them."""
    hints: list[str] = []
    for case in result.cases:
        hint = split_hint(case.message)[1]
        if hint and hint not in hints:
            hints.append(hint)
    lines = [f"  Hint: {hint}" for hint in hints]
    if last_hint is not None and last_hint in hints:
        lines.append("  (That is the last hint for this exercise: the solutions notebook works it through.)")
    return lines


def format_result(result: ExerciseResult, last_hint: str | None = None) -> str:
    """The check's report: a line per case with PASS/FAIL, what is wrong, each distinct hint once, the score.

    ``last_hint``: the exercise's final hint; when it is shown the report says no further hint follows.
    """
    lines = [f"{result.title} ({result.key}, {points_label(result.points)})"]
    if result.status == "missing":
        lines.append(f"  {FAIL} function not found: define it (with this name) in the exercise cell and run that cell.")
    elif result.status == "not implemented":
        lines.append(f"  {TODO} not implemented yet: replace `raise NotImplementedError()` with your code, then rerun.")
    elif result.message:
        lines.append(f"  {FAIL} {result.message}")
    for case in result.cases:
        problem = split_hint(case.message)[0]
        lines.append(f"  {PASS if case.passed else FAIL} {case.label}" + (f": {problem}" if problem else ""))
    lines += _hint_lines(result, last_hint)
    lines.append(f"  score: {result.earned:g}/{result.points}")
    return "\n".join(lines)


def is_sealed(exercise: Exercise) -> bool:
    """True while the autograder runs the notebook: coursekit's references are sealed then."""
    return bool(getattr(exercise.reference, "sealed", False))


def check(key: str, fn: Callable | None, seed: int | None = None) -> None:
    """Check the learner's ``fn`` for exercise ``key`` and print PASS ✅ / FAIL ❌ per randomised case.

    Each failed check of ``key`` in this kernel moves the hint one level on.
    """
    from coursekit.exercises import get_exercise

    exercise = get_exercise(key)
    if is_sealed(exercise):
        print(f"{exercise.title} ({key}): not checked here while the autograder runs this notebook.")
        return
    level = _FAILED_CHECKS.get(key, 0)
    result = run_exercise(exercise, fn, seed, level)
    if result.status == "failed":
        _FAILED_CHECKS[key] = level + 1
    last = exercise.hints[-1] if len(exercise.hints) > 1 and level >= len(exercise.hints) - 1 else None
    print(format_result(result, last))


def whose(fn: Callable) -> str:
    """How a demo cell labels the numbers of ``fn``: ``"yours"``, or ``"coursekit's reference"`` after a fallback."""
    module = getattr(fn, "__module__", None) or ""
    return "coursekit's reference" if module.split(".")[0] == "coursekit" else "yours"


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
