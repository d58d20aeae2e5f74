"""The autograder's code that runs INSIDE a learner's kernel. It observes; it never judges.

:mod:`coursekit.grade` sends cells to a fresh kernel: first one that calls
:func:`seal` (before any cell of the learner's), then the learner's cells,
then one cell per exercise calling :func:`run_cases`. That loads the case
inputs the grader drew (a file the grader wrote), calls the learner's function
on them and writes what came out as plain data (``torch.save`` of tensors,
numbers, strings, lists and dicts), which the grader reads back with
``torch.load(weights_only=True)`` and judges in its own process. Nothing here
is trusted: whatever the learner's code does to this module only changes the
outputs it reports, never the expected values or the verdict.

:func:`seal` makes coursekit's references unusable in this kernel: every
exercise's reference, in the exercise registry and the ``lessonNN`` modules,
becomes a function that records the call and raises
:class:`~coursekit.check.ReferenceSealed`; coursekit library functions that
compute the same as an exercise of the graded lesson do so too, but only while
:func:`run_cases` calls the learner's function (the notebook's own cells may
use them).
"""
from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from typing import Any, Callable

OUTPUT_LIMIT = 2_000  # characters of the learner's own output kept per exercise
SEALED_CALLS: list[str] = []  # the sealed functions called, in order (read by run_cases)
_GRADING = [False]  # True while run_cases calls the learner's function


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


# ------------------------------------------------------------------ sealing


def _sealed(name: str) -> Callable:
    """A stand-in for a reference: records the call and raises, always. It holds no reference to the original."""
    from coursekit.check import ReferenceSealed

    def sealed(*args: Any, **kwargs: Any) -> Any:
        SEALED_CALLS.append(name)
        raise ReferenceSealed(f"coursekit's reference {name} is sealed while the autograder runs")

    sealed.sealed = True
    sealed.__name__ = sealed.__qualname__ = name.rsplit(".", 1)[-1]
    return sealed


def _guarded(name: str, original: Callable) -> Callable:
    """A library function that works as before, except while the learner's function is being graded."""
    from coursekit.check import ReferenceSealed

    def guarded(*args: Any, **kwargs: Any) -> Any:
        if _GRADING[0]:
            SEALED_CALLS.append(name)
            raise ReferenceSealed(f"coursekit's {name} computes this exercise; it is sealed while grading")
        return original(*args, **kwargs)

    guarded.__name__, guarded.__qualname__, guarded.__doc__ = original.__name__, original.__qualname__, original.__doc__
    return guarded


def _plain_data(value: object, depth: int = 0) -> bool:
    """True for values that cannot compute anything: numbers, strings, tensors, classes, and containers of those."""
    import torch

    if value is None or isinstance(value, (str, int, float, bool, type, torch.Tensor)):
        return True
    if isinstance(value, (list, tuple, set, frozenset)) and depth < 4:
        return all(_plain_data(v, depth + 1) for v in value)
    if isinstance(value, dict) and depth < 4:
        return all(_plain_data(v, depth + 1) for v in value.values())
    return False


def _strip(module: object) -> None:
    """Replace every function of an exercise module, and every container holding code, except its ``KERNEL_SIDE``.

    Its helpers and typical mistakes are pieces of the solutions (lesson 5's
    penalty at given points, for one); the kernel needs only the probes.
    """
    import types

    keep = set(getattr(module, "KERNEL_SIDE", ())) | {"EXERCISES", "KERNEL_SIDE"}
    for name, value in list(vars(module).items()):
        if name.startswith("__") or name in keep or isinstance(value, (type, types.ModuleType)):
            continue
        if isinstance(value, types.FunctionType):
            setattr(module, name, _sealed(f"{module.__name__}.{name}"))
        elif not _plain_data(value) and not _is_exercise(value):
            setattr(module, name, None)


def _is_exercise(value: object) -> bool:
    from coursekit.check import Exercise

    return isinstance(value, Exercise)


def _replace_everywhere(original: object, replacement: object, modules: list) -> None:
    for module in modules:
        for attr, value in list(vars(module).items()):
            if value is original:
                setattr(module, attr, replacement)


def seal(lesson: str) -> None:
    """Seal every exercise's reference (all lessons), and the library equivalents of ``lesson``'s exercises.

    The exercise modules keep only their ``KERNEL_SIDE`` functions (the probes),
    their classes and plain data; every exercise loses its typical mistakes.
    """
    import importlib

    from coursekit.exercises import exercises_for, lessons

    for number in lessons():
        exercises_for(number)  # imports every lesson's module before the modules are listed
    coursekit = [m for n, m in list(sys.modules.items()) if m is not None and n.split(".")[0] == "coursekit"]
    registry = [m for m in coursekit if m.__name__.startswith("coursekit.exercises.lesson")]
    library = [m for m in coursekit if m not in registry]
    for number in lessons():
        for exercise in exercises_for(number):
            original, stub = exercise.reference, _sealed(exercise.key)
            names = list(exercise.equivalents) if number == lesson else []
            if number == lesson and getattr(original, "__module__", "").startswith("coursekit.") \
                    and not original.__module__.startswith("coursekit.exercises"):
                names.append(f"{original.__module__}:{original.__name__}")  # the reference is a library function
            for name in names:
                module, attr = name.split(":")
                target = getattr(importlib.import_module(module), attr)
                _replace_everywhere(target, _guarded(name.replace(":", "."), target),
                                    library + [sys.modules[module]])
            _replace_everywhere(original, stub, registry)
            exercise.reference, exercise.mistakes = stub, ()
    for module in registry:
        _strip(module)


# ------------------------------------------------------------------ running


def _result_path_write(record: dict, path: str) -> None:
    import torch

    part = f"{path}.part"
    torch.save(record, part)
    os.replace(part, path)


def _wait_for_children() -> None:
    """Collect the kernel's dead children (the grader killed them), so they stop counting against its limits."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except (ChildProcessError, AttributeError):
        pass


def run_cases(function: str, inputs: str, outputs: str) -> None:
    """Call the learner's ``function`` (from ``__main__``) on every case in ``inputs``; write ``outputs``.

    ``inputs``: ``{"seed": int, "callers": [probe or Call, ...]}`` written by the
    grader. ``outputs``: ``{"found", "module", "observations", "output", "seconds"}``,
    plain data only. A ``KeyboardInterrupt`` (the grader's time limit) is not caught.
    """
    import torch

    from coursekit.check import observe

    _wait_for_children()
    payload = torch.load(inputs, weights_only=False)
    fn = vars(sys.modules["__main__"]).get(function)
    record = {"found": callable(fn), "module": str(getattr(fn, "__module__", "") or ""), "observations": [],
              "output": "", "seconds": 0.0}
    captured = _CappedText(OUTPUT_LIMIT)
    start = time.perf_counter()
    if callable(fn):
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured), \
                torch.random.fork_rng(devices=[]):
            torch.manual_seed(payload["seed"])
            for caller in payload["callers"]:
                before = len(SEALED_CALLS)
                _GRADING[0] = True
                try:
                    observation = observe(caller, fn)
                finally:
                    _GRADING[0] = False
                if len(SEALED_CALLS) > before:
                    observation = {"status": "reference", "message": ", ".join(SEALED_CALLS[before:])[:300]}
                record["observations"].append(observation)
                if observation["status"] in ("not implemented", "reference"):
                    break
    record["seconds"] = round(time.perf_counter() - start, 3)
    record["output"] = captured.text()
    _result_path_write(record, outputs)
