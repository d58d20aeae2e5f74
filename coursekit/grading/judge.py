"""The grader's side of an exercise: draw the cases, hand over the inputs, judge the outputs it gets back.

Everything here runs in the grader's own process. :func:`write_inputs` saves
the callers of the drawn cases (their inputs and, for property checks, the
probe that calls the function) for the learner's kernel; the kernel's
:func:`coursekit.grading.harness.run_cases` writes back the learner's
observations; :func:`read_outputs` reads them with
``torch.load(weights_only=True)`` (no code runs while reading) and keeps plain
data only; :func:`judge` computes the expected values with the reference and
judges. The grader calls :func:`judge` only after the learner's kernel and
every process it started are gone, so no learner code runs while expected
values exist.
"""
from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import torch

from coursekit.check import OBSERVED, Case, ExerciseResult, draw_cases, judge_exercise, observe_all, to_plain
from coursekit.exercises import get_exercise

MAX_OUTPUT_BYTES = 64 * 2**20  # a larger outputs file is not read


def write_inputs(key: str, seed: int, path: Path) -> list[Case]:
    """Draw the cases of exercise ``key`` for ``seed``; save what the kernel needs to call the function."""
    cases = draw_cases(get_exercise(key), seed)
    torch.save({"seed": seed, "callers": [case.caller() for case in cases]}, path)
    return cases


def _read_regular(path: Path, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of ``path``, which must be a regular file (no symlink, FIFO or device)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError("not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(limit + 1)
    finally:
        os.close(fd)


def read_outputs(path: Path) -> tuple[dict | None, str]:
    """The kernel's record for one exercise as plain data, or ``(None, why)``; never runs code from the file."""
    try:
        data = _read_regular(path, MAX_OUTPUT_BYTES)
    except OSError:
        return None, "no result came back"
    if len(data) > MAX_OUTPUT_BYTES:
        return None, f"the outputs were more than {MAX_OUTPUT_BYTES // 2**20} MB"
    try:
        record = torch.load(io.BytesIO(data), weights_only=True)
    except Exception as err:  # not what the harness writes: forged or corrupted
        return None, f"unreadable outputs ({type(err).__name__})"
    record = to_plain(record)
    if not isinstance(record, dict) or not isinstance(record.get("observations"), list):
        return None, "malformed outputs"
    return record, ""


def _clean(observation: object) -> dict:
    if not isinstance(observation, dict) or observation.get("status") not in OBSERVED:
        return {"status": "raised", "message": "malformed observation"}
    return {"status": observation["status"], "value": observation.get("value"),
            "message": str(observation.get("message", ""))[:300]}


def _not_the_learners(module: str, name: str) -> str | None:
    """Why the function under the exercise's name is not the learner's own (coursekit's function), or None."""
    if module == "coursekit" or module.startswith("coursekit."):
        return (f"this is coursekit's own `{name}` from {module}, not your function: "
                "define it yourself in the exercise cell.")
    return None


def judge(key: str, seed: int, cases: list[Case], record: dict) -> ExerciseResult:
    """The verdict on exercise ``key`` from the kernel's ``record``, with expected values computed here."""
    exercise = get_exercise(key)
    result = ExerciseResult(exercise.key, exercise.title, exercise.points, "missing")
    if record.get("found") is not True:
        return result
    reason = _not_the_learners(str(record.get("module", "")), exercise.function)
    if reason:
        result.status, result.message = "failed", reason
        return result
    got = [_clean(o) for o in record["observations"]]
    statuses = {o["status"] for o in got}
    expected = [] if statuses & {"not implemented", "reference"} else observe_all(cases, exercise.reference, seed)
    return judge_exercise(exercise, cases, got, expected)
