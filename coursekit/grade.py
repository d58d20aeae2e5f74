"""The autograder: grade one submission or a whole class in one command.

    python -m coursekit.grade NOTEBOOK_OR_FOLDER... [--json FILE] [--csv FILE]
                              [--timeout S] [--jobs N] [--seed N] [--release DIR]

A submission's lesson comes from its file name (``01_minimax_theory.ipynb``,
``01_alice.ipynb``: the ``NN_`` prefix) or ``--lesson``. Each submission runs
in its own fresh kernel of the current Python environment, in a temporary
copy folder, offline and in quick mode, with a time limit per cell; cells that
raise don't stop the run. Then, in the same kernel, the grader runs its own
cells (never the learner's check cells): one per exercise, each with its own
time limit, calling :func:`coursekit.grade_kernel.grade_exercise` on the
learner's function. Results come back as JSON lines behind a random marker.

Kernel deaths (``os._exit``, a segfault) and cells stuck past their limit
that ignore the interrupt: the kernel is replaced by a fresh one, which
replays only the *definitions* of the learner's cells (imports, ``def``,
``class`` and constant assignments), and grading continues; the exercise that
killed it scores 0 with the reason. Tampering (edited or deleted given
cells, compared with the released exercise notebook) is reported, never
fatal: grading never uses those cells. Cases are randomised with a fresh seed
per submission (reported; ``--seed`` reproduces a grade).

Exit status 0 whenever grading happened, whatever the scores; 2 for usage
errors (no such file, no lesson, a lesson without exercises).
"""
from __future__ import annotations

import argparse
import ast
import asyncio
import difflib
import multiprocessing
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

from coursekit.grade_report import table, write_csv, write_json
from coursekit.grade_session import Kernel

ROOT = Path(__file__).resolve().parent.parent  # the course: exercises/ lives here
PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)  # the folder that holds coursekit/
SOLUTION_STUB = "# YOUR CODE HERE"  # what coursekit.release leaves where a solution was
LOAD_TIMEOUT = 120  # seconds for the grader's own set-up cell (imports torch if the notebook did not)
STATUSES_WITH_POINTS = ("passed", "failed")


class UsageError(Exception):
    """A problem with the command line: exit status 2."""


@dataclass(frozen=True)
class Options:
    timeout: float = 120.0  # seconds per cell, learner's and per-exercise grading cells alike
    seed: int | None = None  # None: a fresh random seed per submission
    quick: bool = True  # run learner cells with COURSEKIT_QUICK=1
    threads: int = 1  # OMP/MKL threads per kernel
    output_limit: int = 50_000  # characters of output kept per cell
    executed: str | None = None  # folder to write the executed notebooks to (for review)


@dataclass(frozen=True)
class Submission:
    path: str
    student: str
    lesson: str
    exercises: tuple[tuple[str, str, str, int], ...]  # (key, function, title, points)
    released: str | None  # the released exercise notebook to compare with


# ------------------------------------------------------------- collecting


def lesson_of(path: Path) -> str | None:
    """The lesson number of a submission from its file name prefix (``01_...``), or None."""
    match = re.match(r"(\d{1,2})_", path.name)
    return f"{int(match.group(1)):02d}" if match else None


def find_notebooks(paths: list[str]) -> list[Path]:
    """Every ``.ipynb`` named on the command line or inside a named folder (recursively)."""
    found = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            inside = [p for p in sorted(path.rglob("*.ipynb")) if ".ipynb_checkpoints" not in p.parts]
            if not inside:
                raise UsageError(f"no .ipynb files in folder {path}")
            found += inside
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"no such file or folder: {path}")
    return found


def _students(paths: list[Path]) -> list[str]:
    """File stems; where stems clash (a folder per student), as many parent folders as tell them apart.

    ``alice/01_minimax_theory.ipynb`` → ``alice/01_minimax_theory``; nbgrader's
    ``submitted/alice/ps1/01_x.ipynb`` → ``alice/ps1/01_x``.
    """
    parts = [p.resolve().with_suffix("").parts for p in paths]
    depth = [1] * len(paths)
    while True:
        names = ["/".join(pp[-d:]) for pp, d in zip(parts, depth)]
        clashes = {i for i, n in enumerate(names) if names.count(n) > 1 and depth[i] < len(parts[i])}
        if not clashes:
            return names
        for i in clashes:
            depth[i] += 1


def released_notebook(lesson: str, release_dir: Path, stem: str = "") -> Path | None:
    """The released exercise notebook of ``lesson`` in ``release_dir`` (same name preferred)."""
    same = release_dir / f"{stem}.ipynb"
    if stem and same.is_file():
        return same
    candidates = sorted(release_dir.glob(f"{lesson}_*.ipynb"))
    return candidates[0] if candidates else None


def collect(paths: list[str], lesson: str | None = None, release_dir: Path | None = None) -> list[Submission]:
    """The submissions to grade; raises :class:`UsageError` for anything the instructor must fix."""
    from coursekit.exercises import exercises_for, lessons  # imports torch: only in the parent, once

    release_dir = release_dir or ROOT / "exercises"
    notebooks = find_notebooks(paths)
    submissions = []
    for path, student in zip(notebooks, _students(notebooks)):
        number = f"{int(lesson):02d}" if lesson else lesson_of(path)
        if number is None:
            raise UsageError(f"{path}: cannot tell the lesson; name it NN_something.ipynb or pass --lesson NN")
        if number not in lessons():
            raise UsageError(f"{path}: lesson {number} has no exercises (lessons with exercises: {', '.join(lessons())})")
        exercises = tuple((e.key, e.function, e.title, e.points) for e in exercises_for(number))
        released = released_notebook(number, release_dir, path.stem)
        submissions.append(Submission(str(path), student, number, exercises, str(released) if released else None))
    return submissions


# -------------------------------------------------------------- tampering


def _normalise(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def tampering(submitted: nbformat.NotebookNode, released: nbformat.NotebookNode) -> dict:
    """Given code cells (all but the ``# YOUR CODE HERE`` ones) that the submission edited or deleted.

    Cells are aligned in order (cells the learner added are allowed); a given
    cell missing from its place is "edited" when a similar cell (≥ 50 % alike)
    stands there, "deleted" otherwise; a cell moved elsewhere is intact.
    """
    given = [_normalise(c.source) for c in released.cells if c.cell_type == "code"]
    theirs = [_normalise(c.source) for c in submitted.cells if c.cell_type == "code"]
    protected = {i for i, s in enumerate(given) if SOLUTION_STUB not in s and s}
    edited, deleted = [], []

    def describe(i: int) -> dict:
        return {"cell": i, "first_line": given[i].splitlines()[0][:80], "check_cell": "check(" in given[i]}

    matcher = difflib.SequenceMatcher(None, given, theirs, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op in ("equal", "insert"):
            continue
        free = list(range(j1, j2))
        for i in range(i1, i2):
            if i not in protected or given[i] in theirs:
                continue
            ratios = [(difflib.SequenceMatcher(None, given[i], theirs[j]).ratio(), j) for j in free]
            best = max(ratios, default=(0.0, None))
            if best[0] >= 0.5:
                free.remove(best[1])
                edited.append(describe(i))
            else:
                deleted.append(describe(i))
    parts = [f"{len(edited)} cell{'s' * (len(edited) != 1)} edited"] if edited else []
    parts += [f"{len(deleted)} deleted"] if deleted else []
    return {"checked": True, "edited": edited, "deleted": deleted,
            "summary": ("tampered: " + ", ".join(parts)) if parts else ""}


# ------------------------------------------------- replaying definitions


def _is_constant(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def definitions_only(source: str) -> str:
    """The imports, ``def``/``class`` statements and constant assignments of a cell (best effort).

    Used to rebuild the learner's functions in a fresh kernel after theirs
    died, without re-running what killed it. IPython magics are dropped;
    a cell that does not parse gives "".
    """
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return ""
    keep = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            keep.append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and _is_constant(node.value):
            keep.append(node)
    return "\n\n".join(ast.unparse(node) for node in keep)


# ---------------------------------------------------------------- grading


def kernel_env(options: Options) -> dict:
    env = dict(os.environ)
    env["COURSEKIT_OFFLINE"] = "1"
    if options.quick:
        env["COURSEKIT_QUICK"] = "1"
    env["MPLBACKEND"] = "Agg"  # figures are not graded: don't render them
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(options.threads)
    return env


def _warm_up_source(lesson: str) -> str:
    """The grader's first cell: heavy imports under the grader's own limit, no names left behind.

    So a learner's ``import torch`` costs nothing and the per-cell limit
    measures the learner's code, not library imports.
    """
    modules = ("numpy", "torch", "matplotlib.pyplot", "coursekit.check", f"coursekit.exercises.lesson{lesson}")
    return f"for _ck_module in {modules!r}:\n    __import__(_ck_module)\ndel _ck_module"


def _load_source(lesson: str) -> str:
    """The grader's set-up cell: fresh copies of coursekit's modules, whatever the notebook patched."""
    return "\n".join([
        "import sys as _ck_sys",
        f"_ck_sys.path.insert(0, {PACKAGE_PARENT!r})",
        "for _ck_name in [n for n in _ck_sys.modules if n == 'coursekit' or n.startswith('coursekit.')]:",
        "    del _ck_sys.modules[_ck_name]",
        "import coursekit.grade_kernel as _coursekit_grader",
        "import coursekit.exercises as _ck_exercises",
        f"_ck_exercises.exercises_for({lesson!r})",
        f"_ck_sys.path.remove({PACKAGE_PARENT!r})",
        "del _ck_sys, _ck_name, _ck_exercises",
    ])


def _error_of(cell: nbformat.NotebookNode) -> str:
    for out in cell.outputs:
        if out.get("output_type") == "error":
            return f"{out.get('ename')}: {out.get('evalue')}"[:300]
    return ""


def _blank(exercise: tuple, status: str, message: str) -> dict:
    key, function, title, points = exercise
    return {"key": key, "title": title, "points": points, "earned": 0.0, "status": status,
            "message": message, "cases": []}


async def _grade(sub: Submission, options: Options, seed: int) -> dict:
    report = {"student": sub.student, "file": sub.path, "lesson": sub.lesson, "seed": seed,
              "tampering": {"checked": False, "summary": ""},
              "kernel": {"cell_errors": [], "timeouts": [], "deaths": [], "restarts": 0, "replayed_definitions": False},
              "timings": {}, "exercises": []}
    try:
        submitted = nbformat.read(sub.path, as_version=4)
    except Exception as err:
        report["exercises"] = [_blank(e, "error", f"unreadable notebook: {err}"[:300]) for e in sub.exercises]
        return report
    if sub.released:
        try:
            report["tampering"] = tampering(submitted, nbformat.read(sub.released, as_version=4))
            report["tampering"]["released"] = sub.released
        except Exception as err:  # an unreadable release must not stop grading
            report["tampering"]["summary"] = f"not checked: {type(err).__name__}: {err}"[:200]
    else:
        report["tampering"]["summary"] = "not checked: no released notebook"

    learner = [c.source for c in submitted.cells if c.cell_type == "code"]
    work = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                             "language": "python"}})
    work.cells = [nbformat.v4.new_code_cell(src) for src in learner]  # cell i = the learner's code cell i
    marker = f"@@coursekit-grade-{secrets.token_hex(16)}@@"
    kinfo = report["kernel"]

    def add_cell(source: str) -> int:
        work.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": ["coursekit-grader"]}))
        return len(work.cells) - 1

    def first_line(index: int) -> str:
        return (learner[index].strip().splitlines() or [""])[0][:80]

    with tempfile.TemporaryDirectory(prefix="coursekit-grade-", ignore_cleanup_errors=True) as folder:
        shutil.copy(sub.path, folder)
        kernel = Kernel(work, folder, kernel_env(options), options.output_limit, marker)

        async def boot(replay: bool) -> bool:
            """(Re)start the kernel and warm it up; after a death, replay the learner's definitions."""
            t0 = time.perf_counter()
            await kernel.restart()
            if await kernel.run(add_cell(_warm_up_source(sub.lesson)), LOAD_TIMEOUT) != "ok":
                return False
            report["timings"].setdefault("kernel_start", round(time.perf_counter() - t0, 3))
            if replay:
                kinfo["restarts"] += 1
                kinfo["replayed_definitions"] = True
                for src in learner:
                    definitions = definitions_only(src)
                    if definitions and await kernel.run(add_cell(definitions), options.timeout) in ("died", "stuck"):
                        return False
            return True

        async def load() -> bool:
            return await kernel.run(add_cell(_load_source(sub.lesson)), LOAD_TIMEOUT) == "ok"

        try:
            alive = await boot(replay=False)
            t0 = time.perf_counter()
            for index in range(len(learner) if alive else 0):
                outcome = await kernel.run(index, options.timeout)
                if outcome == "error":
                    kinfo["cell_errors"].append({"cell": index, "first_line": first_line(index),
                                                 "error": _error_of(work.cells[index])})
                elif outcome in ("timeout", "stuck"):
                    kinfo["timeouts"].append({"cell": index, "first_line": first_line(index),
                                              "interrupted": outcome == "timeout"})
                elif outcome == "died":
                    kinfo["deaths"].append({"cell": index, "first_line": first_line(index),
                                            "while": "running the notebook"})
                if outcome in ("died", "stuck"):
                    alive = False
                    break
            report["timings"]["notebook"] = round(time.perf_counter() - t0, 3)
            t0 = time.perf_counter()
            ready = (alive and await load()) or (await boot(replay=True) and await load())
            for number, exercise in enumerate(sub.exercises):
                key = exercise[0]
                if not ready:
                    report["exercises"].append(_blank(exercise, "kernel died", "no working kernel: it died and a fresh one could not be set up"))
                    continue
                source = f"_coursekit_grader.grade_exercise({key!r}, {seed}, {marker!r})"
                outcome = await kernel.run(add_cell(source), options.timeout)
                if key in kernel.results:
                    report["exercises"].append(kernel.results[key])
                elif outcome in ("timeout", "stuck"):
                    why = f"exceeded the time limit of {options.timeout:g} s"
                    why += "" if outcome == "timeout" else " and ignored the interrupt (kernel replaced)"
                    report["exercises"].append(_blank(exercise, "timeout", why))
                elif outcome == "died":
                    kinfo["deaths"].append({"cell": None, "while": f"grading {key}"})
                    report["exercises"].append(_blank(exercise, "kernel died", "the kernel died while grading this exercise"))
                else:
                    why = _error_of(work.cells[-1]) or "no result came back"
                    report["exercises"].append(_blank(exercise, "error", f"grading failed: {why}"))
                if outcome in ("died", "stuck") and number + 1 < len(sub.exercises):
                    ready = await boot(replay=True) and await load()
            report["timings"]["grading"] = round(time.perf_counter() - t0, 3)
        finally:
            await kernel.stop()
    if options.executed:
        out = Path(options.executed) / f"{sub.student.replace('/', '__')}.ipynb"
        out.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(work, out)
    return report


def grade_submission(sub: Submission, options: Options) -> dict:
    """Grade one submission in its own kernel; never raises (a grader failure is reported as such)."""
    seed = options.seed if options.seed is not None else secrets.randbelow(2**31)
    start = time.perf_counter()
    try:
        report = asyncio.run(_grade(sub, options, seed))
    except Exception as err:  # a bug or a kernel that cannot start: report it, grade the others
        report = {"student": sub.student, "file": sub.path, "lesson": sub.lesson, "seed": seed,
                  "tampering": {"checked": False, "summary": ""}, "kernel": {}, "timings": {},
                  "exercises": [_blank(e, "error", f"grader error: {type(err).__name__}: {err}") for e in sub.exercises]}
    for result in report["exercises"]:
        result.setdefault("message", "")
        if result["status"] not in STATUSES_WITH_POINTS:
            result["earned"] = 0.0
    report["earned"] = round(sum(r["earned"] for r in report["exercises"]), 2)
    report["points"] = sum(r["points"] for r in report["exercises"])
    report["seconds"] = round(time.perf_counter() - start, 2)
    return report


def grade_all(subs: list[Submission], options: Options, jobs: int, progress=None) -> list[dict]:
    """Grade every submission, ``jobs`` at a time (one process, one kernel each); in input order."""
    if jobs <= 1 or len(subs) <= 1:
        reports = []
        for sub in subs:
            reports.append(grade_submission(sub, options))
            if progress:
                progress(reports[-1], len(reports), len(subs))
        return reports
    reports: dict[int, dict] = {}
    context = multiprocessing.get_context("spawn")  # no forked zmq or torch state in the workers
    with ProcessPoolExecutor(max_workers=min(jobs, len(subs)), mp_context=context) as pool:
        futures = {pool.submit(grade_submission, sub, options): i for i, sub in enumerate(subs)}
        for future in as_completed(futures):
            reports[futures[future]] = future.result()
            if progress:
                progress(reports[futures[future]], len(reports), len(subs))
    return [reports[i] for i in range(len(subs))]


# -------------------------------------------------------------------- CLI


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m coursekit.grade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", metavar="NOTEBOOK_OR_FOLDER")
    parser.add_argument("--json", metavar="FILE", help="write every detail (cases, seed, timings, tampering, kernel errors)")
    parser.add_argument("--csv", metavar="FILE", help="write one row per student per exercise, plus totals")
    parser.add_argument("--timeout", type=float, default=Options.timeout, metavar="S",
                        help="time limit in seconds per cell and per exercise (default %(default)g)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                        help="submissions graded at once (default: number of cores, %(default)s)")
    parser.add_argument("--seed", type=int, help="seed of the randomised cases (default: fresh per submission)")
    parser.add_argument("--lesson", help="the lesson number, when file names don't start with NN_")
    parser.add_argument("--release", metavar="DIR", help="folder of the released exercise notebooks "
                        "(default: the course's exercises/)")
    parser.add_argument("--full", action="store_true", help="run learner cells in full mode, not quick mode")
    parser.add_argument("--executed", metavar="DIR", help="write each executed notebook there, for review")
    args = parser.parse_args(argv)
    if args.timeout <= 0 or args.jobs < 1:
        parser.error("--timeout must be > 0 and --jobs ≥ 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    release_dir = Path(args.release) if args.release else None
    try:
        if release_dir is not None and not release_dir.is_dir():
            raise UsageError(f"--release {release_dir}: no such folder")
        subs = collect(args.paths, args.lesson, release_dir)
    except UsageError as err:
        print(f"coursekit.grade: error: {err}", file=sys.stderr)
        return 2
    jobs = min(args.jobs, len(subs))
    options = Options(timeout=args.timeout, seed=args.seed, quick=not args.full,
                      threads=max(1, (os.cpu_count() or 1) // jobs), executed=args.executed)

    def progress(report: dict, done: int, total: int) -> None:
        print(f"[{done}/{total}] {report['student']}: {report['earned']:g}/{report['points']} "
              f"({report['seconds']:g} s)", file=sys.stderr, flush=True)

    start = time.perf_counter()
    reports = grade_all(subs, options, jobs, progress)
    seconds = time.perf_counter() - start
    print(table(reports))
    each = sum(r["seconds"] for r in reports) / len(reports)
    print(f"\n{len(reports)} submission(s) graded in {seconds:.1f} s with {jobs} job(s): "
          f"{seconds / len(reports):.1f} s per submission; {each:.1f} s each in its own kernel on average")
    if args.json:
        write_json(reports, args.json, asdict(options), seconds)
    if args.csv:
        write_csv(reports, args.csv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
