"""Every lesson's solved notebook, graded by the autograder, gets full points (its probes run in the kernel)."""
import contextlib
import io
import json
import shutil
from pathlib import Path

from coursekit import grade
from coursekit.exercises import exercises_for, lessons

ROOT = Path(__file__).resolve().parent.parent


def test_every_solution_notebook_gets_full_points_with_nothing_flagged(tmp_path):
    for lesson in lessons():
        (notebook,) = (ROOT / "solutions").glob(f"{lesson}_*.ipynb")
        shutil.copy(notebook, tmp_path)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert grade.main([str(tmp_path), "--jobs", "2", "--timeout", "300", "--json", str(tmp_path / "g.json")]) == 0
    reports = json.loads((tmp_path / "g.json").read_text())["submissions"]
    assert sorted(r["lesson"] for r in reports) == lessons()
    for report in reports:
        assert report["earned"] == sum(e.points for e in exercises_for(report["lesson"])), report["student"]
        assert {r["status"] for r in report["exercises"]} == {"passed"}
        assert report["flags"] == [] and report["kernel"]["cell_errors"] == [], report["student"]
