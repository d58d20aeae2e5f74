"""The autograder's command line: grade, shard, merge.

    python -m coursekit.grading NOTEBOOK_OR_FOLDER... [options]   (also: python -m coursekit.grade)
    python -m coursekit.grading merge SHARD.json... [--json FILE] [--csv FILE]

See :mod:`coursekit.grading.run` for what happens to each submission.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import asdict
from pathlib import Path

from coursekit.grading.collect import Submission, UsageError, collect
from coursekit.grading.limits import Limits
from coursekit.grading.report import merge, table, write_csv, write_json
from coursekit.grading.run import Options, grade_all


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m coursekit.grade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", metavar="NOTEBOOK_OR_FOLDER")
    parser.add_argument("--json", metavar="FILE",
                        help="write every detail (cases, seed, timings, tampering, kernel errors)")
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
    limits = parser.add_argument_group("limits of each submission's kernel (see coursekit.grading.limits)")
    limits.add_argument("--memory-mb", type=int, default=Limits.memory_mb, metavar="MB",
                        help="address space (default %(default)s; torch alone maps about 3,500)")
    limits.add_argument("--cpu-seconds", type=int, default=Limits.cpu_seconds, metavar="S",
                        help="CPU seconds of the kernel process (default %(default)s)")
    limits.add_argument("--file-mb", type=int, default=Limits.file_mb, metavar="MB",
                        help="largest file the kernel may write (default %(default)s)")
    limits.add_argument("--processes", type=int, default=Limits.processes, metavar="N",
                        help="processes + threads the kernel's user may add (default %(default)s)")
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
    limits = Limits(args.memory_mb, args.cpu_seconds, args.file_mb, args.processes)
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
