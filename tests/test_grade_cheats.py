"""The autograder against submissions written to cheat it, and against ones that exhaust resources.

One grading run (module-scoped, ``--jobs 2``, a short ``--timeout``, a memory
limit of 5 GB and a process limit of 64) grades every submission of
``tests/grade_fixtures/cheats.py``; each test checks that a cheat is graded as
if it were absent (0 for an untouched function, full points for a solved one)
or flagged.
"""
import contextlib
import io
import json
import os
import sys
from pathlib import Path

import pytest

from coursekit import grade
from coursekit.exercises import exercises_for

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grade_fixtures.cheats import build_cheats

KEYS = [e.key for e in exercises_for("01")]
TOTAL = sum(e.points for e in exercises_for("01"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("cheats")
    build_cheats(root / "submitted", root / "child.pid")
    with contextlib.redirect_stdout(io.StringIO()):
        code = grade.main([str(root / "submitted"), "--timeout", "8", "--jobs", "2", "--json", str(root / "g.json"),
                           "--memory-mb", "5120", "--processes", "64", "--executed", str(root / "executed")])
    doc = json.loads((root / "g.json").read_text())
    return {"code": code, "reports": {r["student"]: r for r in doc["submissions"]}, "root": root}


def result(report: dict, key: str) -> dict:
    return next(r for r in report["exercises"] if r["key"] == key)


def executed_text(graded, student: str) -> str:
    return (graded["root"] / "executed" / f"{student}.ipynb").read_text()


def test_patching_serialisation_stdout_and_builtins_gains_nothing(graded):
    report = graded["reports"]["01_serialisation"]
    assert graded["code"] == 0 and report["earned"] == 0
    assert all(r["status"] in ("failed", "not implemented", "error") for r in report["exercises"])
    assert result(report, "01.value_function")["status"] == "error"  # it forged the outputs file while graded
    flagged = " ".join(f["line"] for f in report["flags"])
    assert all(patch in flagged for patch in ("json.dumps =", "torch.save =", "sys.stdout.write =", "builtins"))


def test_every_road_to_the_reference_scores_zero_with_the_reason(graded):
    report = graded["reports"]["01_reference"]
    assert report["earned"] == 0
    for r in report["exercises"]:
        assert r["status"] == "failed" and "uses coursekit's reference" in r["message"], r
    assert any(f["why"] == "coursekit's exercise registry" for f in report["flags"])


def test_patched_comparisons_do_not_turn_wrong_constants_into_points(graded):
    report = graded["reports"]["01_comparison"]
    assert report["earned"] == 0 and {r["status"] for r in report["exercises"]} == {"failed"}
    assert any(f["why"] == "patching a comparison" for f in report["flags"])


def test_reexecuting_the_reference_source_is_flagged(graded):
    report = graded["reports"]["01_source_copy"]
    assert any("getsource" in f["line"] and f["why"] == "reading source code" for f in report["flags"])
    assert result(report, "01.optimal_discriminator")["status"] == "not implemented"


def test_no_expected_value_is_in_the_kernels_reach(graded):
    report = graded["reports"]["01_snooping"]
    assert report["earned"] == 0 and result(report, "01.value_function")["status"] == "failed"


def test_a_process_that_outlives_its_cell_is_killed_and_forges_nothing(graded):
    report = graded["reports"]["01_forking"]
    assert report["earned"] == 0 and report["kernel"]["processes_killed"] >= 1
    pid = int((graded["root"] / "child.pid").read_text())
    try:
        state = Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0]
    except (OSError, IndexError):
        state = "gone"
    assert state in ("gone", "Z")


def test_memory_past_the_limit_fails_that_exercise_and_the_rest_is_graded(graded):
    report = graded["reports"]["01_memory"]
    assert result(report, "01.g_loss_saturating")["earned"] == 0
    assert "MemoryError" in json.dumps(result(report, "01.g_loss_saturating"))
    assert report["earned"] == TOTAL - 1
    assert any("MemoryError" in e["error"] for e in report["kernel"]["cell_errors"])


def test_a_fork_loop_stops_at_the_process_limit_and_grading_goes_on(graded):
    report = graded["reports"]["01_fork_loop"]
    assert report["earned"] == TOTAL
    text = executed_text(graded, "01_fork_loop")
    forked = int(text.split("forked ")[1].split("\\n")[0].split('"')[0])
    assert forked < 64
    assert report["kernel"]["processes_killed"] >= forked


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX only")
def test_limits_reach_the_kernel(tmp_path):
    """The launcher sets the limits on the process it becomes."""
    import subprocess

    from coursekit.grading.limits import Limits, cgroup_of, remove_cgroup

    limits = Limits(memory_mb=5000, cpu_seconds=77, file_mb=3, processes=50)
    token = f"test-{os.getpid()}"
    code = ("import resource as r, pathlib; print(r.getrlimit(r.RLIMIT_AS)[0] // 2**20, r.getrlimit(r.RLIMIT_CPU)[0], "
            "r.getrlimit(r.RLIMIT_FSIZE)[0] // 2**20, r.getrlimit(r.RLIMIT_NPROC)[0], "
            f"int('coursekit-grade-{token}' in pathlib.Path('/proc/self/cgroup').read_text()))")
    group = cgroup_of(token)
    try:
        out = subprocess.run(limits.launcher(token) + [sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout.split()
        pids_max = (group / "pids.max").read_text().strip() if group is not None else None
    finally:
        remove_cgroup(token)
    assert out[:3] == ["5000", "77", "3"]
    if os.geteuid() != 0:  # an ordinary user: RLIMIT_NPROC, what the user runs plus 50
        assert 50 < int(out[3]) < 10**6
    elif group is not None:  # root: RLIMIT_NPROC is not enforced, the kernel's own pids cgroup is
        assert out[4] == "1" and pids_max == "50" and not group.exists()


def test_every_equivalent_names_a_coursekit_function():
    import importlib

    from coursekit.exercises import lessons

    for lesson in lessons():
        for exercise in exercises_for(lesson):
            for name in exercise.equivalents:
                module, attr = name.split(":")
                assert module.startswith("coursekit.") and callable(getattr(importlib.import_module(module), attr))


def test_outputs_that_are_not_plain_files_or_plain_data_are_refused(tmp_path):
    import torch

    from coursekit.grading.judge import read_outputs

    (tmp_path / "link.pt").symlink_to("/dev/zero")
    assert read_outputs(tmp_path / "link.pt") == (None, "no result came back")
    os.mkfifo(tmp_path / "fifo.pt")
    assert read_outputs(tmp_path / "fifo.pt") == (None, "no result came back")

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "owned"),))

    torch.save({"observations": [Evil()]}, tmp_path / "evil.pt")
    record, why = read_outputs(tmp_path / "evil.pt")
    assert record is None and "unreadable" in why and not (tmp_path / "owned").exists()
    wide = [[[[[0.0] * 10] * 10] * 10] * 10] * 10  # shared lists: cheap to pickle, 10^5 leaves to expand
    torch.save({"observations": [{"status": "returned", "value": [wide] * 10}]}, tmp_path / "wide.pt")
    record, _ = read_outputs(tmp_path / "wide.pt")
    assert "<too large>" in json.dumps(record["observations"], default=str)
    huge = torch.zeros(1).expand(2**30)  # one element stored, a billion viewed
    torch.save({"observations": [{"status": "returned", "value": huge}]}, tmp_path / "huge.pt")
    record, _ = read_outputs(tmp_path / "huge.pt")
    assert record is None or record["observations"][0]["value"] == "<too large>"


SEALED_KERNEL = r"""
import io, torch
from coursekit.check import ReferenceSealed, draw_cases, observe
from coursekit.exercises import get_exercise
from coursekit.grading import harness
import coursekit.exercises.lesson05 as L

def penalty(critic, real, fake):  # a learner's own, correct penalty
    eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1))
    x = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()

buffer = io.BytesIO()
torch.save([c.caller() for c in draw_cases(get_exercise("05.gradient_penalty"), 3)], buffer)
harness.seal("05")
for name in ("_RIGHT_AT", "gradient_penalty", "_grads"):
    try:
        getattr(L, name)(None, None)
    except ReferenceSealed:
        pass
    else:
        raise SystemExit(name + " is not sealed")
assert L._WRONG_AT is None and L.GRADIENT_PENALTY.mistakes == () and get_exercise("05.gradient_penalty").mistakes == ()
buffer.seek(0)
statuses = [observe(caller, penalty)["status"] for caller in torch.load(buffer, weights_only=False)]
assert statuses == ["returned"] * 5, statuses
print("sealed")
"""


def test_a_sealed_lesson_module_keeps_only_its_probes():
    import subprocess

    out = subprocess.run([sys.executable, "-c", SEALED_KERNEL], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == "sealed", out.stderr[-2000:]
