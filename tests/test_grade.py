"""The autograder: a folder of lesson-1 submissions, each misbehaving its own way, graded in one run.

One grading run (module-scoped, ``--jobs 2``, a short ``--timeout``) is shared
by the assertions; the submissions are built from the released and solved
notebooks by ``tests/grade_fixtures``.
"""
import contextlib
import csv
import io
import json
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from coursekit import grade
from coursekit.check import run_exercise
from coursekit.exercises import exercises_for, get_exercise
from coursekit.grading import collect, replay, tampering

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grade_fixtures import BUILDERS, build_submissions

KEYS = [e.key for e in exercises_for("01")]
POINTS = {e.key: e.points for e in exercises_for("01")}
TOTAL = sum(POINTS.values())
TIMEOUT = 6


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("grade")
    paths = build_submissions(root / "submitted")
    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = grade.main([str(root / "submitted"), "--timeout", str(TIMEOUT), "--jobs", "2",
                           "--json", str(root / "grades.json"), "--csv", str(root / "grades.csv"),
                           "--executed", str(root / "executed")])
    seconds = time.perf_counter() - start
    doc = json.loads((root / "grades.json").read_text())
    with open(root / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    reports = {r["student"]: r for r in doc["submissions"]}
    print(f"\ngraded {len(reports)} submissions with --jobs 2 in {seconds:.1f} s "
          f"({seconds / len(reports):.1f} s per submission): "
          + ", ".join(f"{k} {r['seconds']:.1f} s" for k, r in reports.items()))
    return {"code": code, "stdout": out.getvalue(), "doc": doc, "reports": reports, "rows": rows,
            "root": root, "paths": paths, "seconds": seconds}


def statuses(report: dict) -> dict:
    return {r["key"]: r["status"] for r in report["exercises"]}


def only(report: dict, key: str) -> dict:
    return next(r for r in report["exercises"] if r["key"] == key)


def others_pass(report: dict, *bad: str) -> bool:
    return all(r["status"] == "passed" and r["earned"] == r["points"]
               for r in report["exercises"] if r["key"] not in bad)


# ------------------------------------------------------------ the shared run


def test_every_submission_is_graded_on_every_exercise_and_the_run_exits_0(graded):
    assert graded["code"] == 0
    assert set(graded["reports"]) == set(BUILDERS)
    for report in graded["reports"].values():
        assert [r["key"] for r in report["exercises"]] == KEYS
        assert report["points"] == TOTAL and report["seconds"] > 0


def test_complete_gets_full_marks(graded):
    report = graded["reports"]["01_complete"]
    assert report["earned"] == TOTAL and others_pass(report)
    assert all(c["passed"] for r in report["exercises"] for c in r["cases"]) and report["tampering"]["summary"] == ""
    assert report["flags"] == [] and report["kernel"]["processes_killed"] == 0


def test_untouched_gets_zero_not_implemented(graded):
    report = graded["reports"]["01_untouched"]
    assert report["earned"] == 0 and set(statuses(report).values()) == {"not implemented"}
    assert "not implemented yet" in graded["stdout"]


def test_partly_right_gets_the_points_of_the_solved_exercise(graded):
    report = graded["reports"]["01_partly"]
    assert statuses(report) == {k: "passed" if k == "01.optimal_discriminator" else "not implemented" for k in KEYS}
    assert report["earned"] == POINTS["01.optimal_discriminator"]


def test_wrong_fails_with_the_hint_for_its_mistake(graded):
    report = graded["reports"]["01_wrong"]
    result = only(report, "01.g_loss_saturating")
    assert result["status"] == "failed" and result["earned"] < result["points"]
    assert any("sign error" in c["message"] for c in result["cases"] if not c["passed"])
    assert others_pass(report, "01.g_loss_saturating")


def test_raising_cells_are_reported_and_the_rest_still_runs(graded):
    report = graded["reports"]["01_raising"]
    errors = " | ".join(e["error"] for e in report["kernel"]["cell_errors"])
    assert "RuntimeError: a cell of mine raised" in errors and "ZeroDivisionError" in errors
    assert report["earned"] == TOTAL


def test_hanging_exercise_times_out_and_the_others_are_graded(graded):
    report = graded["reports"]["01_hanging"]
    result = only(report, "01.g_loss_nonsaturating")
    assert result["status"] == "timeout" and result["earned"] == 0 and f"{TIMEOUT} s" in result["message"]
    assert others_pass(report, "01.g_loss_nonsaturating")
    assert report["kernel"]["timeouts"]  # its check cell hung in the notebook too, and was interrupted


def test_kernel_killing_is_survived(graded):
    report = graded["reports"]["01_killing"]
    result = only(report, "01.value_function")
    assert result["status"] == "kernel died" and result["earned"] == 0
    deaths = report["kernel"]["deaths"]
    assert deaths[0]["while"] == "running the notebook" and deaths[0]["first_line"] == "import os"
    assert deaths[-1]["while"] == "grading 01.value_function"
    assert report["kernel"]["replayed_definitions"] and others_pass(report, "01.value_function")


def test_tampering_is_reported_and_cannot_fake_a_grade(graded):
    report = graded["reports"]["01_tampered"]
    tamper = report["tampering"]
    assert tamper["summary"] == "tampered: 1 cell edited, 1 deleted"
    assert tamper["edited"][0]["check_cell"] and "value_function" in tamper["edited"][0]["first_line"]
    assert "jensen_shannon" in tamper["deleted"][0]["first_line"]
    # the notebook patched coursekit.check and printed a fake result line: neither counts
    assert only(report, "01.g_loss_saturating")["status"] == "failed"
    assert others_pass(report, "01.g_loss_saturating")
    assert "tampered: 1 cell edited, 1 deleted" in graded["stdout"]


def test_hard_coded_answer_fails_and_the_reported_seed_reproduces_the_grade(graded):
    report = graded["reports"]["01_hardcoded"]
    result = only(report, "01.value_function")
    assert result["status"] == "failed" and result["earned"] < result["points"]
    assert others_pass(report, "01.value_function")
    # the same function, graded here with the reported seed, fails the same cases; seed 0 is the one it memorised
    exercise = get_exercise("01.value_function")
    constant = float(exercise.reference(*exercise.cases(np.random.default_rng(0))[0].args))
    hard_coded = lambda real, fake: torch.tensor(constant) + 0 * real.sum()
    again = run_exercise(exercise, hard_coded, seed=report["seed"])
    assert [c.passed for c in again.cases] == [c["passed"] for c in result["cases"]]
    assert run_exercise(exercise, hard_coded, seed=0).cases[0].passed


def test_megabytes_of_output_are_capped_and_grading_is_unaffected(graded):
    report = graded["reports"]["01_megaprint"]
    assert report["earned"] == TOTAL
    assert "more characters" in only(report, "01.optimal_discriminator")["output"]
    assert len(only(report, "01.optimal_discriminator")["output"]) < 5_000
    executed = graded["root"] / "executed" / "01_megaprint.ipynb"
    assert executed.stat().st_size < 1_000_000  # 5 MB printed at top level, 1 MB per call
    assert "not kept" in executed.read_text()
    assert (graded["root"] / "grades.json").stat().st_size < 1_000_000


def test_each_submission_gets_its_own_fresh_seed(graded):
    seeds = [r["seed"] for r in graded["reports"].values()]
    assert len(set(seeds)) == len(seeds)


def test_csv_has_a_row_per_student_per_exercise_and_a_total(graded):
    rows = graded["rows"]
    assert len(rows) == len(BUILDERS) * (len(KEYS) + 1)
    for student, report in graded["reports"].items():
        mine = [r for r in rows if r["student"] == student]
        assert [r["exercise"] for r in mine] == KEYS + ["TOTAL"]
        assert float(mine[-1]["earned"]) == report["earned"]
        assert sum(float(r["earned"]) for r in mine[:-1]) == pytest.approx(report["earned"])
    wrong = next(r for r in rows if r["student"] == "01_wrong" and r["exercise"] == "01.g_loss_saturating")
    assert "sign error" in wrong["message"]


def test_table_lists_every_student_and_the_time_per_submission(graded):
    lines = graded["stdout"].splitlines()
    assert lines[0].split()[:4] == ["student", "exercise", "score", "status"]
    for student in BUILDERS:
        assert any(line.startswith(student) for line in lines)
    assert "s per submission" in lines[-1]


# ------------------------------------------------- no kernel needed below


def test_lesson_comes_from_the_file_name():
    assert collect.lesson_of(Path("x/01_alice.ipynb")) == "01"
    assert collect.lesson_of(Path("8_is_fid.ipynb")) == "08"
    assert collect.lesson_of(Path("alice.ipynb")) is None


def test_usage_errors_exit_2(tmp_path, capsys):
    assert grade.main([str(tmp_path / "missing.ipynb")]) == 2
    nameless = tmp_path / "alice.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), nameless)
    assert grade.main([str(nameless)]) == 2
    assert "--lesson" in capsys.readouterr().err
    unknown = tmp_path / "99_alice.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), unknown)
    assert grade.main([str(unknown)]) == 2
    assert "no exercises" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert grade.main([str(tmp_path / "empty")]) == 2


def test_an_unreadable_notebook_is_graded_zero_not_fatal(tmp_path, capsys):
    broken = tmp_path / "01_broken.ipynb"
    broken.write_text("{ this is not json")
    assert grade.main([str(broken), "--jobs", "1", "--json", str(tmp_path / "g.json")]) == 0
    report = json.loads((tmp_path / "g.json").read_text())["submissions"][0]
    assert report["earned"] == 0 and all(r["status"] == "error" for r in report["exercises"])
    assert "unreadable notebook" in report["exercises"][0]["message"]


def _code_nb(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


def test_tampering_ignores_solutions_added_and_moved_cells():
    released = _code_nb("import torch", "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()",
                        'check("01.f", f)', "print(f(1))")
    solved = _code_nb("import torch", "def f(x):\n    return x + 1", "f(2)  # my scratch cell",
                      'check("01.f", f)  ', "print(f(1))")
    assert tampering.tampering(solved, released)["summary"] == ""
    moved = _code_nb("import torch", "def f(x):\n    return x", "print(f(1))", 'check("01.f", f)')
    assert tampering.tampering(moved, released)["summary"] == ""
    edited = _code_nb("import torch", "def f(x):\n    return x", 'check("01.f", lambda x: x + 1)', "print(f(1))")
    report = tampering.tampering(edited, released)
    assert report["summary"] == "tampered: 1 cell edited" and report["edited"][0]["check_cell"]
    deleted = _code_nb("import torch", "def f(x):\n    return x", "print(f(1))")
    assert tampering.tampering(deleted, released)["summary"] == "tampered: 1 deleted"


def test_definitions_only_keeps_what_defines_functions_and_drops_what_runs():
    source = ("%matplotlib inline\nimport os\nfrom math import pi\nEPS = 1e-8\nSIZES: tuple = (1, 2)\n"
              "model = build()\nos.kill(os.getpid(), 9)\n\ndef f(x):\n    os._exit(1)\n\nclass A:\n    pass\n")
    kept = replay.definitions_only(source)
    assert "import os" in kept and "from math import pi" in kept and "EPS = 1e-08" in kept
    assert "def f(x):" in kept and "class A:" in kept and "SIZES: tuple = (1, 2)" in kept
    assert "build()" not in kept and "os.kill" not in kept and "matplotlib" not in kept
    assert replay.definitions_only("def broken(:\n") == ""


def test_student_names_are_stems_unless_they_clash():
    paths = [Path("s/alice/ps1/01_x.ipynb"), Path("s/bob/ps1/01_x.ipynb"), Path("s/01_y_carol.ipynb")]
    assert collect._students(paths) == ["alice/ps1/01_x", "bob/ps1/01_x", "01_y_carol"]


def test_helpers_flag_coursekit_functions_and_cap_output():
    from coursekit.grading import harness, judge

    assert "not your function" in judge._not_the_learners("coursekit.losses", "g_loss_saturating")
    assert judge._not_the_learners("__main__", "f") is None
    sink = harness._CappedText(10)
    sink.write("0123456789abc")
    sink.write("def")
    assert sink.text() == "0123456789\n[… 6 more characters]"
