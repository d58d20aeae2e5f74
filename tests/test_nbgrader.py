"""The solution notebooks are nbgrader source notebooks, and nbgrader grades them as coursekit does.

Static tests (every lesson): each solution ``.ipynb`` carries nbgrader's cell
metadata as ``coursekit.release`` writes it: an autograded answer per exercise,
an autograder test per check worth the registry's points, every other cell
locked, nbgrader's schema; the hidden tests assert the checks.

End to end, in throwaway nbgrader courses in temporary folders whose source
is the solution notebooks:

- :func:`test_nbgrader_releases_exactly_the_exercises`, every lesson: ``nbgrader
  generate_assignment`` must release, cell for cell, the notebooks ``exercises/``
  holds (about 15 s);
- :func:`test_nbgrader_autogrades_as_the_registry_says`, lessons 1 and 4 by default:
  ``nbgrader autograde`` of a solved and an untouched submission must give full
  points and 0, each exercise worth its points in coursekit's registry;
  ``nbgrader generate_feedback`` must show the checks' reports and ``nbgrader
  export`` the totals. Measured on the shared 2-core machine
  (load average near 10): 33-56 s per lesson, 5 min 45 s for all eight, so the suite
  runs two (lesson 1's plain outputs and lesson 4's property probes);
  ``COURSEKIT_NBGRADER_LESSONS=all`` (or e.g. ``02,08``) runs others.
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from coursekit import release
from coursekit.exercises import exercises_for, lessons

ROOT = release.ROOT
DEFAULT_LESSONS = "01,04"  # autograded by default: plain outputs (01) and property probes (04)
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.py"))


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _key(grade_id: str) -> str:
    """The exercise key of an answer's or a check's grade id (``01-jensen_shannon-check`` -> ``01.jensen_shannon``)."""
    return grade_id.removesuffix("-check").replace("-", ".", 1)


# ------------------------------------------------------------------- static


def test_every_lesson_with_exercises_has_a_solution_notebook():
    assert {p.name[:2] for p in SOLUTIONS} == set(lessons())


@pytest.mark.parametrize("py", SOLUTIONS, ids=lambda p: p.name[:2])
def test_solution_notebook_carries_nbgraders_metadata(py):
    lesson = py.name[:2]
    registry = {ex.key: ex.points for ex in exercises_for(lesson)}
    nb = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    answers, tests = {}, {}
    for cell in nb.cells:
        meta = _meta(cell)
        assert meta.get("schema_version") == release.NBGRADER_SCHEMA, cell.source[:60]
        if release.BEGIN in cell.source:
            assert meta["solution"] and not meta["grade"] and not meta["locked"], meta
            answers[_key(meta["grade_id"])] = cell
        elif meta["grade"]:
            assert cell.cell_type == "code" and meta["locked"] and not meta["solution"], meta
            tests[_key(meta["grade_id"])] = meta["points"]
            checked = release.checks_in(cell.source)
            assert checked and meta["points"] == sum(registry[key] for key, _ in checked)
            hidden = cell.source[cell.source.index(release.HIDDEN_BEGIN):]
            for key, function in checked:  # the hidden tests assert this cell's checks
                assert f'assert_passes("{key}", {function})' in hidden
        else:
            assert meta["locked"] and not meta["solution"] and not meta["grade"], meta
    assert set(answers) == set(registry), "one autograded answer per exercise, its grade id the exercise's key"
    assert tests == registry, "one autograder test per exercise, worth the registry's points"
    try:
        from nbgrader.nbgraderformat import MetadataValidator
    except ImportError:
        return
    MetadataValidator().validate_nb(nb)  # nbgrader's own validation (ids unique and well formed, points)


@pytest.mark.parametrize("py", SOLUTIONS, ids=lambda p: p.name[:2])
def test_hidden_tests_are_only_in_the_ipynb_and_the_release_drops_them(py):
    import jupytext

    from_py = jupytext.read(py)
    ipynb = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    assert [release.strip_hidden_tests(c.source) for c in ipynb.cells] == [c.source for c in from_py.cells]
    assert not any(release.HIDDEN_BEGIN in c.source for c in release.exercise_notebook(ipynb).cells)


def test_grade_ids_read_back_as_keys():
    for lesson in lessons():
        for ex in exercises_for(lesson):
            assert _key(release.grade_id(ex.key)) == ex.key
            assert _key(release.grade_id(ex.key) + "-check") == ex.key


def _tiny_notebook(check_cell: str):
    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Lesson 1"),
        nbformat.v4.new_code_cell("def jensen_shannon(p, q, dx):\n"
                                  "    ### BEGIN SOLUTION\n    return 0\n    ### END SOLUTION"),
        nbformat.v4.new_code_cell(check_cell),
    ])


def test_nbgrader_metadata_is_idempotent_and_rejects_unknown_exercises():
    nb = release.nbgrader_notebook(_tiny_notebook('check("01.jensen_shannon", jensen_shannon)'), "01")
    again = release.nbgrader_notebook(nbformat.from_dict(nb), "01")
    assert again == nb and nb.cells[2].source.count(release.HIDDEN_BEGIN) == 1
    assert [_meta(c)["grade_id"] for c in nb.cells] == ["01-given-00", "01-jensen_shannon", "01-jensen_shannon-check"]
    with pytest.raises(KeyError):
        release.nbgrader_notebook(_tiny_notebook('check("01.no_such_exercise", jensen_shannon)'), "01")


def test_assert_passes_raises_with_the_checks_report_unless_every_case_passes(monkeypatch):
    from coursekit.exercises import get_exercise
    from coursekit.nbgrader_tests import assert_passes

    exercise = get_exercise("01.g_loss_saturating")
    assert_passes(exercise.key, exercise.reference, seed=0)
    wrong = exercise.mistakes[0]
    with pytest.raises(AssertionError, match="Hint"):
        assert_passes(exercise.key, wrong.fn, seed=0)

    def untouched(*args):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="not implemented yet"):
        assert_passes(exercise.key, untouched)

    def sealed(*args):
        raise AssertionError("a sealed reference is never called")

    sealed.sealed = True  # as while coursekit.grade runs the notebook: it judges outside the kernel
    monkeypatch.setattr(exercise, "reference", sealed)
    assert_passes(exercise.key, untouched)


def test_strip_solutions_drops_hidden_tests_as_nbgrader_does():
    src = 'check("01.x", f)\n### BEGIN HIDDEN TESTS\nassert False\n### END HIDDEN TESTS'
    assert release.strip_solutions(src) == 'check("01.x", f)'


# --------------------------------------------------------------- end to end


def _lessons_to_run() -> list[str]:
    chosen = os.environ.get("COURSEKIT_NBGRADER_LESSONS", DEFAULT_LESSONS)
    return lessons() if chosen == "all" else [f"{int(n):02d}" for n in chosen.split(",")]


def _nbgrader(course: Path, *args: str) -> None:
    env = dict(os.environ, COURSEKIT_QUICK="1", COURSEKIT_OFFLINE="1")
    env.setdefault("OMP_NUM_THREADS", "1")
    # nbgrader runs `alembic` (installed next to it) by name
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"


def _code_and_text(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source) for c in nb.cells]


def _course(tmp_path: Path, assignment: str, notebooks: list[Path]) -> Path:
    """A throwaway nbgrader course whose assignment's source is ``notebooks``."""
    course = tmp_path / "course"
    (course / "source" / assignment).mkdir(parents=True)
    for notebook in notebooks:
        shutil.copy(notebook, course / "source" / assignment / notebook.name)
    (course / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "gan-workbook"\n'
                                               "c.Execute.timeout = 300\n")
    return course


def test_nbgrader_releases_exactly_the_exercises(tmp_path):
    """Every lesson: one assignment holding the eight solution notebooks, released by nbgrader."""
    pytest.importorskip("nbgrader")
    solutions = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    course = _course(tmp_path, "workbook", solutions)
    _nbgrader(course, "generate_assignment", "workbook")
    for solution in solutions:
        released = nbformat.read(course / "release" / "workbook" / solution.name, as_version=4)
        exercise = nbformat.read(ROOT / "exercises" / solution.name, as_version=4)
        assert _code_and_text(released) == _code_and_text(exercise), f"nbgrader's release of {solution.name} differs"


@pytest.mark.parametrize("lesson", _lessons_to_run())
def test_nbgrader_autogrades_as_the_registry_says(lesson, tmp_path):
    pytest.importorskip("nbgrader")
    from nbgrader.api import Gradebook

    (solution,) = (ROOT / "solutions").glob(f"{lesson}_*.ipynb")
    name = solution.stem  # the assignment is named after the lesson's notebook, as docs/instructors.md does
    course = _course(tmp_path, name, [solution])
    _nbgrader(course, "generate_assignment", name)
    released = nbformat.read(course / "release" / name / solution.name, as_version=4)

    source = nbformat.read(solution, as_version=4)
    solved = nbformat.from_dict(released)
    for cell, original in zip(solved.cells, source.cells):
        if _meta(cell).get("solution"):
            cell.source = original.source
    for student, nb in (("solved", solved), ("untouched", released)):
        folder = course / "submitted" / student / name  # where `nbgrader collect` puts a submission
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / solution.name)

    _nbgrader(course, "autograde", name)
    registry = {ex.key: ex.points for ex in exercises_for(lesson)}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student, share in (("solved", 1), ("untouched", 0)):
            (notebook,) = gradebook.find_submission(name, student).notebooks
            earned = {_key(g.name): (g.score, g.max_score) for g in notebook.grades}
            assert earned == {key: (share * points, points) for key, points in registry.items()}, student

    _nbgrader(course, "generate_feedback", name)  # the failed asserts' messages are the checks' reports
    feedback = (course / "feedback" / "untouched" / name / f"{name}.html").read_text()
    assert "AssertionError" in feedback and "not implemented yet" in feedback

    _nbgrader(course, "export", "--to", str(tmp_path / "grades.csv"))
    with open(tmp_path / "grades.csv") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    total = sum(registry.values())
    assert float(rows["solved"]["score"]) == total == float(rows["solved"]["max_score"])
    assert float(rows["untouched"]["score"]) == 0
