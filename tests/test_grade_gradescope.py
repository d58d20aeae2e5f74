"""The Gradescope export: the zip builds, and its run_autograder, run locally, writes a valid results.json."""
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from coursekit.exercises import exercises_for
from coursekit.grading import gradescope as grade_gradescope

ROOT = Path(__file__).resolve().parent.parent

# Gradescope's "Autograder Specifications", output format: the fields this export writes or may write.
VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
RESULTS_SCHEMA = {
    "type": "object",
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number"},
        "output": {"type": "string"},
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "score": {"type": "number"}, "max_score": {"type": "number"},
                "status": {"enum": ["passed", "failed"]}, "name": {"type": "string"},
                "number": {"type": "string"}, "output": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}}, "visibility": VISIBILITY,
                "extra_data": {"type": "object"},
            },
            "required": ["score", "max_score", "name", "output"],
        }},
    },
    "anyOf": [{"required": ["score"]}, {"required": ["tests"]}],
}


def test_the_zip_has_setup_and_run_autograder_at_its_root(tmp_path):
    path = grade_gradescope.build("1", tmp_path / "autograder.zip")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        mode = archive.getinfo("run_autograder").external_attr >> 16
        assert "gradescope run 01 " in archive.read("run_autograder").decode()  # "1" normalised to "01"
    assert {"setup.sh", "run_autograder", "pyproject.toml", "coursekit/grading/run.py",
            "coursekit/exercises/lesson01.py", "exercises/01_minimax_theory.ipynb"} <= names
    assert mode & 0o111 and not any("__pycache__" in n for n in names)


@pytest.mark.skipif(shutil.which("bash") is None, reason="run_autograder is a bash script")
def test_run_autograder_grades_a_submission_into_valid_results(tmp_path):
    autograder = tmp_path / "autograder"
    with zipfile.ZipFile(grade_gradescope.build("01", tmp_path / "autograder.zip")) as archive:
        archive.extractall(autograder / "source")  # as Gradescope unpacks it
    shutil.copy(autograder / "source" / "run_autograder", autograder / "run_autograder")
    (autograder / "submission").mkdir()
    shutil.copy(ROOT / "solutions" / "01_minimax_theory.ipynb", autograder / "submission" / "notebook.ipynb")
    env = {**os.environ, "COURSEKIT_PYTHON": sys.executable, "PYTHONPATH": str(autograder / "source"),
           "GRADESCOPE_SUBMISSION": str(autograder / "submission"),
           "GRADESCOPE_RESULTS": str(autograder / "results" / "results.json")}
    subprocess.run(["bash", str(autograder / "run_autograder")], env=env, check=True, capture_output=True,
                   timeout=600)
    results = json.loads((autograder / "results" / "results.json").read_text())
    jsonschema.validate(results, RESULTS_SCHEMA)
    exercises = exercises_for("01")
    assert [t["name"].split(":")[0] for t in results["tests"]] == [e.key for e in exercises]
    assert [t["max_score"] for t in results["tests"]] == [e.points for e in exercises]
    assert results["score"] == sum(t["score"] for t in results["tests"]) == sum(e.points for e in exercises)
    assert all(t["status"] == "passed" and "✅" in t["output"] for t in results["tests"])


def test_an_empty_submission_gets_a_valid_zero(tmp_path):
    doc = grade_gradescope.run("01", tmp_path, tmp_path / "results" / "results.json", None, 10)
    jsonschema.validate(doc, RESULTS_SCHEMA)
    assert doc["score"] == 0 and len(doc["tests"]) == len(exercises_for("01"))


def test_case_lines_carry_a_word_beside_the_mark():
    from coursekit.grading import gradescope

    result = {"key": "01.x", "title": "X", "status": "failed", "earned": 0.5, "points": 1,
              "cases": [{"passed": True, "label": "case 1", "message": ""},
                        {"passed": False, "label": "case 2", "message": "off by one"}]}
    output = gradescope._test(result, 1)["output"]
    assert "PASS case 1" in output and "FAIL case 2: off by one" in output
