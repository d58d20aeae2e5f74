"""The autograder: grade one submission or a whole class in one command.

    python -m coursekit.grade NOTEBOOK_OR_FOLDER... [--json FILE] [--csv FILE]
                              [--timeout S] [--jobs N] [--seed N] [--release DIR]
                              [--memory-mb MB] [--cpu-seconds S] [--file-mb MB]
                              [--processes N] [--kernel-user NAME] [--shard K/N]
    python -m coursekit.grade merge SHARD.json... [--json FILE] [--csv FILE]

A submission's lesson comes from its file name (``01_minimax_theory.ipynb``,
``01_alice.ipynb``: the ``NN_`` prefix) or ``--lesson``. Each submission runs
in its own fresh kernel of the current Python environment, under resource
limits (:mod:`coursekit.grade_limits`), in a temporary copy folder, offline
and in quick mode, with a time limit per cell; cells that raise don't stop the
run. Before the learner's first cell the kernel seals coursekit's references
(:func:`coursekit.grade_kernel.seal`).

The trust boundary: this process draws each exercise's randomised cases and
hands the kernel only their inputs (a file); one grader cell per exercise makes
the kernel call the learner's function on them and write what came out as
plain data, read back here with ``torch.load(weights_only=True)``. Expected
values are computed with the reference, and compared, in this process only,
after the kernel and every process it started are gone
(:mod:`coursekit.grade_judge`). Nothing the notebook patches in its kernel can
change a verdict; at most it changes the outputs it reports.

Kernel deaths (``os._exit``, a segfault, a limit) and cells stuck past their
limit that ignore the interrupt: the kernel is replaced by a fresh one, which
replays only the *definitions* of the learner's cells (imports, ``def``,
``class`` and constant assignments), and grading continues; the exercise that
killed it scores 0 with the reason. Tampering (edited or deleted given
cells, compared with the released exercise notebook) is reported, never
fatal: grading never uses those cells. Lines of the learner's own code that
reach into coursekit's or the grader's internals are flagged for review
(:mod:`coursekit.grade_flags`). Cases are randomised with a fresh seed per
submission (reported; ``--seed`` reproduces a grade).

Exit status 0 whenever grading happened, whatever the scores; 2 for usage
errors (no such file, no lesson, a lesson without exercises).
"""
from __future__ import annotations

import argparse
import ast
import asyncio
import difflib
import json
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

from coursekit.grade_flags import flags
from coursekit.grade_limits import TOKEN_VAR, Limits
from coursekit.grade_report import merge, table, write_csv, write_json
from coursekit.grade_session import Kernel

ROOT = Path(__file__).resolve().parent.parent  # the course: exercises/ lives here
OUTPUT_KEPT = 2_500  # characters of the learner's output kept per exercise in the report
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
    limits: Limits = Limits()  # resource limits of each kernel


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


def kernel_env(options: Options, folder: str, token: str) -> dict:
    """The kernel's environment: the grader's, offline, quick, headless, with the token and its own home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURSEKIT_GRADE", "JPY_"))}
    env[TOKEN_VAR] = token
    env["COURSEKIT_OFFLINE"] = "1"
    env["HOME"] = folder  # the kernel's user may have no home of its own (nobody)
    env["IPYTHONDIR"] = os.path.join(folder, ".ipython")
    env["MPLCONFIGDIR"] = _matplotlib_cache(folder)
    if options.quick:
        env["COURSEKIT_QUICK"] = "1"
    env["MPLBACKEND"] = "Agg"  # figures are not graded: don't render them
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(options.threads)
    return env


def _warm_up_source(lesson: str) -> str:
    """The grader's first cell, before any of the learner's: heavy imports, then coursekit's references sealed.

    The imports run under the grader's own limit, so that a learner's
    ``import torch`` costs nothing and the per-cell limit measures the
    learner's code. Sealing before the learner's first cell means no function
    the notebook defines can hold on to a reference.
    """
    modules = ("numpy", "torch", "matplotlib.pyplot", "coursekit.check", "coursekit.grade_kernel")
    return (f"for _ck_module in {modules!r}:\n    __import__(_ck_module)\n"
            f"__import__('coursekit.grade_kernel').grade_kernel.seal({lesson!r})\ndel _ck_module")


def _grading_source(function: str, inputs: str, outputs: str) -> str:
    """The grader's cell for one exercise: the kernel calls the learner's function on the inputs, writes outputs."""
    return f"__import__('coursekit.grade_kernel').grade_kernel.run_cases({function!r}, {inputs!r}, {outputs!r})"


def _error_of(cell: nbformat.NotebookNode) -> str:
    for out in cell.outputs:
        if out.get("output_type") == "error":
            return f"{out.get('ename')}: {out.get('evalue')}"[:300]
    return ""


def _matplotlib_cache(folder: str) -> str:
    """A matplotlib config folder for the kernel, seeded with the grader's font cache (else it rebuilds it)."""
    target = os.path.join(folder, ".matplotlib")
    os.makedirs(target, exist_ok=True)
    try:
        import matplotlib

        for cached in Path(matplotlib.get_cachedir()).glob("fontlist-*.json"):
            shutil.copy(cached, target)
    except Exception:  # no cache to copy: the kernel builds its own
        pass
    return target


def _hand_over(path: str, limits: Limits) -> None:
    """Give the kernel's user ``path`` (and what is in it), when the kernel runs as another user."""
    if not limits.user:
        return
    import pwd

    entry = pwd.getpwnam(limits.user)
    paths = [path]
    if os.path.isdir(path):
        for root, dirs, files in os.walk(path):
            paths += [os.path.join(root, name) for name in dirs + files]
    for name in paths:
        os.chown(name, entry.pw_uid, entry.pw_gid)


def _blank(exercise: tuple, status: str, message: str) -> dict:
    key, function, title, points = exercise
    return {"key": key, "title": title, "points": points, "earned": 0.0, "status": status,
            "message": message, "cases": []}


async def _grade(sub: Submission, options: Options, seed: int) -> dict:
    from coursekit.grade_judge import read_outputs, write_inputs  # torch: in the workers only

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

    report["flags"] = flags(submitted, nbformat.read(sub.released, as_version=4) if sub.released else None)
    learner = [c.source for c in submitted.cells if c.cell_type == "code"]
    work = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                             "language": "python"}})
    work.cells = [nbformat.v4.new_code_cell(src) for src in learner]  # cell i = the learner's code cell i
    kinfo = report["kernel"]
    records: dict[str, tuple[list, dict | None, str]] = {}  # key -> (cases, kernel's record, why none)
    outcomes: dict[str, str] = {}

    def add_cell(source: str) -> int:
        work.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": ["coursekit-grader"]}))
        return len(work.cells) - 1

    def first_line(index: int) -> str:
        return (learner[index].strip().splitlines() or [""])[0][:80]

    with tempfile.TemporaryDirectory(prefix="coursekit-grade-", ignore_cleanup_errors=True) as folder:
        shutil.copy(sub.path, folder)
        token = secrets.token_hex(16)
        _hand_over(folder, options.limits)
        kernel = Kernel(work, folder, kernel_env(options, folder, token), options.output_limit, options.limits, token)

        async def boot(replay: bool) -> bool:
            """(Re)start the kernel, warm it up and seal; after a death, replay the learner's definitions."""
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
            ready = alive or await boot(replay=True)
            for number, (key, function, _, _) in enumerate(sub.exercises):
                if not ready:
                    outcomes[key] = "no kernel"
                    continue
                inputs, outputs = Path(folder, f"inputs-{number}.pt"), Path(folder, f"outputs-{number}.pt")
                cases = write_inputs(key, seed, inputs)
                _hand_over(str(inputs), options.limits)
                outcome = await kernel.run(add_cell(_grading_source(function, str(inputs), str(outputs))),
                                           options.timeout)
                record, why = read_outputs(outputs) if outcome == "ok" else (None, "")
                records[key], outcomes[key] = (cases, record, why or _error_of(work.cells[-1])), outcome
                if outcome == "died":
                    kinfo["deaths"].append({"cell": None, "while": f"grading {key}"})
                if outcome in ("died", "stuck") and number + 1 < len(sub.exercises):
                    ready = await boot(replay=True)
            report["timings"]["grading"] = round(time.perf_counter() - t0, 3)
        finally:
            await kernel.stop()  # and every process it started: none is left while expected values exist
            kinfo["processes_killed"] = kernel.reaped
    t0 = time.perf_counter()
    for exercise in sub.exercises:
        report["exercises"].append(_verdict(exercise, seed, outcomes.get(exercise[0], "no kernel"),
                                            records.get(exercise[0]), options.timeout))
    report["timings"]["judging"] = round(time.perf_counter() - t0, 3)
    if options.executed:
        out = Path(options.executed) / f"{sub.student.replace('/', '__')}.ipynb"
        out.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(work, out)
    return report


def _verdict(exercise: tuple, seed: int, outcome: str, record: tuple | None, timeout: float) -> dict:
    """One exercise's result in the report, judged here from what the kernel wrote (or why it wrote nothing)."""
    key = exercise[0]
    if outcome == "no kernel":
        return _blank(exercise, "kernel died", "no working kernel: it died and a fresh one could not be set up")
    if outcome in ("timeout", "stuck"):
        why = f"exceeded the time limit of {timeout:g} s"
        return _blank(exercise, "timeout", why + ("" if outcome == "timeout" else
                                                   " and ignored the interrupt (kernel replaced)"))
    if outcome == "died":
        return _blank(exercise, "kernel died", "the kernel died while grading this exercise")
    cases, data, why = record
    if data is None:
        return _blank(exercise, "error", f"grading failed: {why or 'no result came back'}"[:300])
    from coursekit.grade_judge import judge

    result = judge(key, seed, cases, data).to_dict()
    result["seconds"] = float(data.get("seconds", 0.0)) if isinstance(data.get("seconds"), float) else 0.0
    result["output"] = str(data.get("output", ""))[:OUTPUT_KEPT]
    return result


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
    limits = parser.add_argument_group("limits of each submission's kernel (see coursekit.grade_limits)")
    limits.add_argument("--memory-mb", type=int, default=Limits.memory_mb, metavar="MB",
                        help="address space (default %(default)s; torch alone maps about 3,500)")
    limits.add_argument("--cpu-seconds", type=int, default=Limits.cpu_seconds, metavar="S",
                        help="CPU seconds of the kernel process (default %(default)s)")
    limits.add_argument("--file-mb", type=int, default=Limits.file_mb, metavar="MB",
                        help="largest file the kernel may write (default %(default)s)")
    limits.add_argument("--processes", type=int, default=Limits.processes, metavar="N",
                        help="processes + threads the kernel's user may add (default %(default)s)")
    limits.add_argument("--kernel-user", metavar="NAME", help="run kernels as this unprivileged user (the "
                        "Python environment must be readable by it; default: the grader's user)")
    parser.add_argument("--shard", metavar="K/N", help="grade only the K-th of N deterministic shares of the "
                        "submissions (1 ≤ K ≤ N); merge the shards' JSON files with the merge command")
    args = parser.parse_args(argv)
    if args.timeout <= 0 or args.jobs < 1:
        parser.error("--timeout must be > 0 and --jobs ≥ 1")
    if min(args.memory_mb, args.cpu_seconds, args.file_mb, args.processes) < 1:
        parser.error("limits must be ≥ 1")
    if args.shard:
        match = re.fullmatch(r"(\d+)/(\d+)", args.shard)
        if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
            parser.error("--shard must be K/N with 1 ≤ K ≤ N, e.g. 2/3")
        args.shard = (int(match.group(1)), int(match.group(2)))
    return args


def shard(subs: list[Submission], k: int, n: int) -> list[Submission]:
    """The K-th of N deterministic shares: every N-th submission in the collected order, from the K-th."""
    return subs[k - 1::n]


def merge_main(argv: list[str]) -> int:
    """``merge SHARD.json... [--json FILE] [--csv FILE]``: the shards' reports as one report and CSV."""
    parser = argparse.ArgumentParser(prog="python -m coursekit.grade merge",
                                     description="combine the JSON reports of the shards of one run")
    parser.add_argument("shards", nargs="+", metavar="SHARD.json")
    parser.add_argument("--json", metavar="FILE", help="write the merged report")
    parser.add_argument("--csv", metavar="FILE", help="write the merged spreadsheet")
    args = parser.parse_args(argv)
    try:
        doc = merge(args.shards)
    except (OSError, ValueError, KeyError) as err:
        print(f"coursekit.grade merge: error: {err}", file=sys.stderr)
        return 2
    print(table(doc["submissions"]))
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    if args.csv:
        write_csv(doc["submissions"], args.csv)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["merge"]:
        return merge_main(argv[1:])
    args = parse_args(argv)
    release_dir = Path(args.release) if args.release else None
    try:
        if release_dir is not None and not release_dir.is_dir():
            raise UsageError(f"--release {release_dir}: no such folder")
        subs = collect(args.paths, args.lesson, release_dir)
    except UsageError as err:
        print(f"coursekit.grade: error: {err}", file=sys.stderr)
        return 2
    indices = {sub.path: i for i, sub in enumerate(subs)}
    if args.shard:
        subs = shard(subs, *args.shard)
        if not subs:
            print(f"coursekit.grade: shard {args.shard[0]}/{args.shard[1]} is empty", file=sys.stderr)
            if args.json:
                write_json([], args.json, {}, 0.0, list(args.shard))
            return 0
    jobs = min(args.jobs, len(subs))
    limits = Limits(args.memory_mb, args.cpu_seconds, args.file_mb, args.processes, args.kernel_user)
    options = Options(timeout=args.timeout, seed=args.seed, quick=not args.full,
                      threads=max(1, (os.cpu_count() or 1) // jobs), executed=args.executed, limits=limits)

    def progress(report: dict, done: int, total: int) -> None:
        print(f"[{done}/{total}] {report['student']}: {report['earned']:g}/{report['points']} "
              f"({report['seconds']:g} s)", file=sys.stderr, flush=True)

    start = time.perf_counter()
    reports = grade_all(subs, options, jobs, progress)
    for report in reports:
        report["index"] = indices[report["file"]]  # the place in the whole class, for merging shards
    seconds = time.perf_counter() - start
    print(table(reports))
    each = sum(r["seconds"] for r in reports) / len(reports)
    print(f"\n{len(reports)} submission(s) graded in {seconds:.1f} s with {jobs} job(s): "
          f"{seconds / len(reports):.1f} s per submission; {each:.1f} s each in its own kernel on average")
    if args.json:
        write_json(reports, args.json, asdict(options), seconds, list(args.shard) if args.shard else None)
    if args.csv:
        write_csv(reports, args.csv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
