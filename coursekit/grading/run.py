"""Grading submissions: one in its own kernel (:func:`grade_submission`), or many in parallel (:func:`grade_all`).

A submission's lesson comes from its file name (``01_minimax_theory.ipynb``,
``01_alice.ipynb``: the ``NN_`` prefix) or ``--lesson``. Each submission runs
in its own fresh kernel of the current Python environment, under resource
limits (:mod:`coursekit.grading.limits`), in a temporary copy folder, offline
and in quick mode, with a time limit per cell; cells that raise don't stop the
run. Before the learner's first cell the kernel seals coursekit's references
(:func:`coursekit.grading.harness.seal`).

The trust boundary: this process draws each exercise's randomised cases and
hands the kernel only their inputs (a file); one grader cell per exercise makes
the kernel call the learner's function on them and write what came out as
plain data, read back here with ``torch.load(weights_only=True)``. Expected
values are computed with the reference, and compared, in this process only,
after the kernel and every process it started are gone
(:mod:`coursekit.grading.judge`). Nothing the notebook patches in its kernel can
change a verdict; at most it changes the outputs it reports.

Kernel deaths (``os._exit``, a segfault, a limit) and cells stuck past their
limit that ignore the interrupt: the kernel is replaced by a fresh one, which
replays only the *definitions* of the learner's cells (imports, ``def``,
``class`` and constant assignments), and grading continues; the exercise that
killed it scores 0 with the reason. Tampering (edited or deleted given
cells, compared with the released exercise notebook) is reported, never
fatal: grading never uses those cells. Lines of the learner's own code that
reach into coursekit's or the grader's internals are flagged for review
(:mod:`coursekit.grading.flags`). Cases are randomised with a fresh seed per
submission (reported; ``--seed`` reproduces a grade).

"""
from __future__ import annotations

import asyncio
import multiprocessing
import os
import secrets
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import nbformat

from coursekit.grading.collect import Submission
from coursekit.grading.flags import flags
from coursekit.grading.limits import TOKEN_VAR, Limits
from coursekit.grading.replay import definitions_only
from coursekit.grading.session import Kernel
from coursekit.grading.tampering import tampering

OUTPUT_KEPT = 2_500  # characters of the learner's output kept per exercise in the report
LOAD_TIMEOUT = 120  # seconds for the grader's own set-up cell (imports torch if the notebook did not)
STATUSES_WITH_POINTS = ("passed", "failed")


@dataclass(frozen=True)
class Options:
    timeout: float = 120.0  # seconds per cell, learner's and per-exercise grading cells alike
    seed: int | None = None  # None: a fresh random seed per submission
    quick: bool = True  # run learner cells with COURSEKIT_QUICK=1
    threads: int = 1  # OMP/MKL threads per kernel
    output_limit: int = 50_000  # characters of output kept per cell
    executed: str | None = None  # folder to write the executed notebooks to (for review)
    limits: Limits = Limits()  # resource limits of each kernel


def kernel_env(options: Options, folder: str, token: str) -> dict:
    """The kernel's environment: the grader's, offline, quick, headless, with the token and its own home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURSEKIT_GRADE", "JPY_"))}
    env[TOKEN_VAR] = token
    env["COURSEKIT_OFFLINE"] = "1"
    env["HOME"] = folder  # not the grader's home
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
    modules = ("numpy", "torch", "matplotlib.pyplot", "coursekit.check", "coursekit.grading.harness")
    return (f"for _ck_module in {modules!r}:\n    __import__(_ck_module)\n"
            f"__import__('coursekit.grading.harness').grading.harness.seal({lesson!r})\ndel _ck_module")


def _grading_source(function: str, inputs: str, outputs: str) -> str:
    """The grader's cell for one exercise: the kernel calls the learner's function on the inputs, writes outputs."""
    return f"__import__('coursekit.grading.harness').grading.harness.run_cases({function!r}, {inputs!r}, {outputs!r})"


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


def _blank(exercise: tuple, status: str, message: str) -> dict:
    key, function, title, points = exercise
    return {"key": key, "title": title, "points": points, "earned": 0.0, "status": status,
            "message": message, "cases": []}


def _new_report(sub: Submission, seed: int) -> dict:
    return {"student": sub.student, "file": sub.path, "lesson": sub.lesson, "seed": seed,
            "tampering": {"checked": False, "summary": ""},
            "kernel": {"cell_errors": [], "timeouts": [], "deaths": [], "restarts": 0, "replayed_definitions": False},
            "timings": {}, "exercises": []}


def _compare_with_release(submitted: nbformat.NotebookNode, sub: Submission, report: dict) -> None:
    """Tampering (edited or deleted given cells) and flagged lines, against the released notebook if there is one."""
    if sub.released:
        try:
            report["tampering"] = tampering(submitted, nbformat.read(sub.released, as_version=4))
            report["tampering"]["released"] = sub.released
        except Exception as err:  # an unreadable release must not stop grading
            report["tampering"]["summary"] = f"not checked: {type(err).__name__}: {err}"[:200]
    else:
        report["tampering"]["summary"] = "not checked: no released notebook"
    try:
        report["flags"] = flags(submitted, nbformat.read(sub.released, as_version=4) if sub.released else None)
    except Exception:  # an unreadable release: scan every code cell
        report["flags"] = flags(submitted, None)


@dataclass
class _Session:
    """One submission's kernel and the notebook it runs: the learner's code cells, then the grader's cells."""

    sub: Submission
    options: Options
    report: dict
    learner: list[str]  # the learner's code cells; cell i of ``work`` is learner[i]
    work: nbformat.NotebookNode
    kernel: Kernel

    def add_cell(self, source: str) -> int:
        self.work.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": ["coursekit-grader"]}))
        return len(self.work.cells) - 1

    def first_line(self, index: int) -> str:
        return (self.learner[index].strip().splitlines() or [""])[0][:80]

    async def boot(self, replay: bool) -> bool:
        """(Re)start the kernel, warm it up and seal; after a death, replay the learner's definitions."""
        t0 = time.perf_counter()
        await self.kernel.restart()
        if await self.kernel.run(self.add_cell(_warm_up_source(self.sub.lesson)), LOAD_TIMEOUT) != "ok":
            return False
        self.report["timings"].setdefault("kernel_start", round(time.perf_counter() - t0, 3))
        if replay:
            self.report["kernel"]["restarts"] += 1
            self.report["kernel"]["replayed_definitions"] = True
            for src in self.learner:
                definitions = definitions_only(src)
                if not definitions:
                    continue
                if await self.kernel.run(self.add_cell(definitions), self.options.timeout) in ("died", "stuck"):
                    return False
        return True

    async def run_notebook(self) -> bool:
        """Run the learner's cells in order, noting errors, timeouts and deaths; False once the kernel is lost."""
        kinfo = self.report["kernel"]
        for index in range(len(self.learner)):
            outcome = await self.kernel.run(index, self.options.timeout)
            if outcome == "error":
                kinfo["cell_errors"].append({"cell": index, "first_line": self.first_line(index),
                                             "error": _error_of(self.work.cells[index])})
            elif outcome in ("timeout", "stuck"):
                kinfo["timeouts"].append({"cell": index, "first_line": self.first_line(index),
                                          "interrupted": outcome == "timeout"})
            elif outcome == "died":
                kinfo["deaths"].append({"cell": index, "first_line": self.first_line(index),
                                        "while": "running the notebook"})
            if outcome in ("died", "stuck"):
                return False
        return True

    async def run_exercises(self, ready: bool, seed: int, folder: str) -> tuple[dict, dict]:
        """One grader cell per exercise on freshly drawn inputs: ``(records, outcomes)`` by exercise key.

        A record is ``(cases, the kernel's record, why there is none)``; a dead or stuck kernel is replaced.
        """
        from coursekit.grading.judge import read_outputs, write_inputs  # torch: in the workers only

        records: dict[str, tuple[list, dict | None, str]] = {}
        outcomes: dict[str, str] = {}
        for number, (key, function, _, _) in enumerate(self.sub.exercises):
            if not ready:
                outcomes[key] = "no kernel"
                continue
            inputs, outputs = Path(folder, f"inputs-{number}.pt"), Path(folder, f"outputs-{number}.pt")
            cases = write_inputs(key, seed, inputs)
            outcome = await self.kernel.run(self.add_cell(_grading_source(function, str(inputs), str(outputs))),
                                            self.options.timeout)
            record, why = read_outputs(outputs) if outcome == "ok" else (None, "")
            records[key], outcomes[key] = (cases, record, why or _error_of(self.work.cells[-1])), outcome
            if outcome == "died":
                self.report["kernel"]["deaths"].append({"cell": None, "while": f"grading {key}"})
            if outcome in ("died", "stuck") and number + 1 < len(self.sub.exercises):
                ready = await self.boot(replay=True)
        return records, outcomes

    async def run(self, seed: int, folder: str) -> tuple[dict, dict]:
        """The learner's notebook, then the grader's cells: ``(records, outcomes)`` of :meth:`run_exercises`."""
        timings = self.report["timings"]
        alive = await self.boot(replay=False)
        t0 = time.perf_counter()
        alive = alive and await self.run_notebook()
        timings["notebook"] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()
        records, outcomes = await self.run_exercises(alive or await self.boot(replay=True), seed, folder)
        timings["grading"] = round(time.perf_counter() - t0, 3)
        return records, outcomes


async def _grade(sub: Submission, options: Options, seed: int) -> dict:
    report = _new_report(sub, seed)
    try:
        submitted = nbformat.read(sub.path, as_version=4)
    except Exception as err:
        report["exercises"] = [_blank(e, "error", f"unreadable notebook: {err}"[:300]) for e in sub.exercises]
        return report
    _compare_with_release(submitted, sub, report)
    learner = [c.source for c in submitted.cells if c.cell_type == "code"]
    work = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                             "language": "python"}})
    work.cells = [nbformat.v4.new_code_cell(src) for src in learner]  # cell i = the learner's code cell i
    with tempfile.TemporaryDirectory(prefix="coursekit-grade-", ignore_cleanup_errors=True) as folder:
        shutil.copy(sub.path, folder)
        token = secrets.token_hex(16)
        kernel = Kernel(work, folder, kernel_env(options, folder, token), options.output_limit, options.limits, token)
        try:
            records, outcomes = await _Session(sub, options, report, learner, work, kernel).run(seed, folder)
        finally:
            await kernel.stop()  # and every process it started: none is left while expected values exist
            report["kernel"]["processes_killed"] = kernel.reaped
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
    from coursekit.grading.judge import judge

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
                  "exercises": [_blank(e, "error", f"grader error: {type(err).__name__}: {err}")
                                for e in sub.exercises]}
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
