"""Gradescope export: an autograder zip that runs a lesson's exercises on Gradescope's own workers.

    python -m coursekit.grading.gradescope build NN [--out autograder_NN.zip]
    python -m coursekit.grading.gradescope run NN [--submission DIR] [--results FILE] [--timeout S]

``build`` writes the zip Gradescope expects (its "Autograder Specifications"):
``setup.sh`` and ``run_autograder`` at the root, next to the course's
``coursekit`` package, ``pyproject.toml`` and the lesson's released exercise
notebook (for the tampering check). Gradescope unpacks it into
``/autograder/source``, runs ``setup.sh`` once when it builds the image, then
``run_autograder`` for every submission. ``run_autograder`` calls ``run``,
which grades the notebook found in ``/autograder/submission`` exactly as
:mod:`coursekit.grade` does (its own kernel, limits, the verdict in the
grader's process) and writes ``/autograder/results/results.json``: one test
per exercise with ``score``, ``max_score``, ``name``, ``output`` and
``status``. The paths come from the environment variables
``GRADESCOPE_SUBMISSION``, ``GRADESCOPE_RESULTS`` and ``COURSEKIT_PYTHON``
when set, so the same script runs locally.
"""
from __future__ import annotations

import argparse
import json
import stat
import sys
import zipfile
from pathlib import Path

from coursekit.check import FAIL, PASS

ROOT = Path(__file__).resolve().parents[2]  # the course: coursekit/ and exercises/ live here

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
apt-get install -y python3 python3-venv python3-pip
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
/autograder/venv/bin/pip install /autograder/source
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission; the variables let it run elsewhere too.
set -uo pipefail
PYTHON="${{COURSEKIT_PYTHON:-/autograder/venv/bin/python}}"
exec "$PYTHON" -m coursekit.grading.gradescope run {lesson} \\
  --submission "${{GRADESCOPE_SUBMISSION:-/autograder/submission}}" \\
  --results "${{GRADESCOPE_RESULTS:-/autograder/results/results.json}}" \\
  --release "$(dirname "$0")/source/exercises"
"""

OUTPUT_LIMIT = 8_000  # characters of output per test shown on Gradescope


def _files(lesson: str) -> dict[str, Path]:
    """Archive name → file on disk: the package, its build file and the lesson's released notebook."""
    files = {f"coursekit/{p.relative_to(ROOT / 'coursekit')}": p for p in sorted((ROOT / "coursekit").rglob("*"))
             if p.is_file() and "__pycache__" not in p.parts}
    for name in ("pyproject.toml", "README.md"):
        if (ROOT / name).is_file():
            files[name] = ROOT / name
    for notebook in sorted((ROOT / "exercises").glob(f"{lesson}_*.ipynb")):
        files[f"exercises/{notebook.name}"] = notebook
    return files


def build(lesson: str, out: Path) -> Path:
    """Write the autograder zip of ``lesson`` to ``out``."""
    from coursekit.exercises import exercises_for

    lesson = f"{int(lesson):02d}"
    exercises_for(lesson)  # KeyError for a lesson without exercises
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER.format(lesson=lesson))):
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFREG | 0o755) << 16  # executable once unpacked
            archive.writestr(info, text)
        for name, path in _files(lesson).items():
            archive.write(path, name)
    return out


def _test(result: dict, number: int) -> dict:
    lines = [result.get("message", "")] if result.get("message") else []
    lines += [f"{PASS if c['passed'] else FAIL} {c['label']}" + (f": {c['message']}" if c["message"] else "")
              for c in result.get("cases", [])]
    if result.get("output"):
        lines.append("Your function printed:\n" + result["output"])
    output = "\n".join(lines) or {"not implemented": "not implemented yet", "missing": "function not defined"}.get(
        result["status"], result["status"])
    return {"name": f"{result['key']}: {result['title']}", "number": str(number), "score": result["earned"],
            "max_score": result["points"], "status": "passed" if result["status"] == "passed" else "failed",
            "output": output[:OUTPUT_LIMIT]}


def results(report: dict) -> dict:
    """Gradescope's ``results.json`` for one graded submission.

    ``report`` is a report of :func:`coursekit.grading.run.grade_submission`.
    """
    notes = [f"Graded with seed {report['seed']} in {report['seconds']:g} s."]
    if report.get("tampering", {}).get("summary"):
        notes.append(report["tampering"]["summary"])
    if report.get("kernel", {}).get("cell_errors"):
        notes.append(f"{len(report['kernel']['cell_errors'])} cell(s) of the notebook raised an error.")
    return {"score": report["earned"], "execution_time": int(round(report["seconds"])), "output": " ".join(notes),
            "tests": [_test(r, i + 1) for i, r in enumerate(report["exercises"])],
            "extra_data": {"flags": report.get("flags", []), "kernel": report.get("kernel", {})}}


def run(lesson: str, submission: Path, out: Path, release: Path | None, timeout: float) -> dict:
    """Grade the notebook in ``submission`` and write ``results.json`` to ``out``."""
    from coursekit.exercises import exercises_for
    from coursekit.grading.collect import collect
    from coursekit.grading.run import Options, grade_submission

    lesson = f"{int(lesson):02d}"
    notebooks = sorted(p for p in submission.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    preferred = [p for p in notebooks if p.name.startswith(f"{lesson}_")] or notebooks
    out.parent.mkdir(parents=True, exist_ok=True)
    if not preferred:
        doc = {"score": 0.0, "output": "No notebook (.ipynb) found in the submission.",
               "tests": [{"name": f"{e.key}: {e.title}", "score": 0.0, "max_score": e.points, "status": "failed",
                          "output": "no notebook submitted"} for e in exercises_for(lesson)]}
    else:
        release = release if release is not None and release.is_dir() else None
        sub = collect([str(preferred[0])], lesson, release)[0]
        doc = results(grade_submission(sub, Options(timeout=timeout)))
    out.write_text(json.dumps(doc, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursekit.grading.gradescope", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("build", help="write the autograder zip of a lesson")
    make.add_argument("lesson")
    make.add_argument("--out", help="the zip to write (default autograder_NN.zip)")
    grade = commands.add_parser("run", help="grade one submission, Gradescope style (what run_autograder calls)")
    grade.add_argument("lesson")
    grade.add_argument("--submission", default="/autograder/submission")
    grade.add_argument("--results", default="/autograder/results/results.json")
    grade.add_argument("--release", help="folder of the released exercise notebook (for the tampering check)")
    grade.add_argument("--timeout", type=float, default=120.0, help="seconds per cell and per exercise")
    args = parser.parse_args(argv)
    if args.command == "build":
        try:
            path = build(args.lesson, Path(args.out or f"autograder_{int(args.lesson):02d}.zip"))
        except (KeyError, ValueError) as err:
            print(f"coursekit.grading.gradescope: error: {err}", file=sys.stderr)
            return 2
        print(f"wrote {path}")
        return 0
    doc = run(args.lesson, Path(args.submission), Path(args.results), Path(args.release) if args.release else None,
              args.timeout)
    print(f"{doc['score']:g} points; results in {args.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
