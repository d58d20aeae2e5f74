"""Run lessons in a fresh kernel, save the executed notebooks, and write a timing report.

    python scripts/execute_notebooks.py                 # every lesson, full mode, outputs saved
    python scripts/execute_notebooks.py --quick-too     # also time quick mode (outputs not saved)
    python scripts/execute_notebooks.py 03 05           # only lessons whose name starts with these

Each notebook runs in its own process (and kernel), so the peak memory measured
is that notebook's. Outputs are written back into ``notebooks/`` only from a
full-mode run that finished without an error; they are never edited by hand.
The measurements are kept in ``docs/timings.json`` (one entry per notebook,
so a run over some lessons updates only theirs) and the report
``docs/timings.md`` is written from it. Each entry records the machine's
1-minute load average before and after the run: a load above the number of
cores means the notebook shared the CPU with other work.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "timings.md"
RESULTS = ROOT / "docs" / "timings.json"


def run_one(path: Path, quick: bool, save: bool, timeout: int) -> dict:
    """Execute ``path`` in a child process; return its time, peak memory and status."""
    env = dict(os.environ, COURSEKIT_QUICK="1" if quick else "0")
    load_before = os.getloadavg()[0]
    code = (
        "import json, resource, sys, time, nbformat\n"
        "from nbclient import NotebookClient\n"
        "path, save, timeout = sys.argv[1], sys.argv[2] == '1', int(sys.argv[3])\n"
        "nb = nbformat.read(path, as_version=4)\n"
        "t0 = time.perf_counter(); error = None\n"
        "try:\n"
        "    NotebookClient(nb, timeout=timeout, kernel_name='python3',\n"
        "                   resources={'metadata': {'path': str(__import__('pathlib').Path(path).parent)}}).execute()\n"
        "except Exception as err:\n"
        "    error = f'{type(err).__name__}: {str(err).splitlines()[0] if str(err) else err}'\n"
        "seconds = time.perf_counter() - t0\n"
        "if save and error is None:\n"
        "    nbformat.write(nb, path)\n"
        "kids, me = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)\n"
        "peak = max(kids.ru_maxrss, me.ru_maxrss)\n"
        "cpu = kids.ru_utime + kids.ru_stime + me.ru_utime + me.ru_stime\n"
        "print(json.dumps({'seconds': seconds, 'cpu_seconds': cpu, 'peak_mib': peak / 1024, 'error': error}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path), "1" if save else "0", str(timeout)],
        env=env, capture_output=True, text=True, cwd=ROOT, check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    out = json.loads(lines[-1]) if lines else {"seconds": None, "peak_mib": None, "error": proc.stderr.strip()[-300:]}
    out["load"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    return out


def seconds(entry: dict | None) -> str:
    if not entry or entry.get("seconds") is None:
        return "not measured"
    return f"{entry['seconds'] // 60:.0f} min {entry['seconds'] % 60:02.0f} s"


def write_report(results: dict) -> None:
    """``docs/timings.md`` from every entry of ``docs/timings.json``."""
    lines = [
        "# Lesson run times",
        "",
        "Written by `python scripts/execute_notebooks.py --quick-too` (`make execute`), which runs each notebook",
        "in a fresh kernel, in its own process, one after another. Full mode is the default a learner runs;",
        "quick mode (`COURSEKIT_QUICK=1`) is what CI runs. Peak memory is the largest resident set of the",
        "kernel or its parent; CPU is the CPU time of both (the lessons use one torch thread). Load is the machine's 1-minute load average before / after the notebook",
        "(above the number of cores: the notebook shared the CPU with other work).",
        "",
        "| notebook | quick mode | full mode | full mode, CPU | peak memory (full) | load | measured on | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for stem in sorted(results):
        r = results[stem]
        quick, full = r.get("quick"), r["full"]
        errors = [e for e in (full.get("error"), quick and quick.get("error")) if e]
        peak = f"{full['peak_mib']:.0f} MiB" if full.get("peak_mib") is not None else "-"
        load = " / ".join(f"{x:.1f}" for x in full.get("load", []))
        cpu = seconds({"seconds": full.get("cpu_seconds")})
        lines.append(f"| {stem} | {seconds(quick)} | {seconds(full)} | {cpu} | {peak} | {load} | {r['machine']} | "
                     f"{'ok' if not errors else errors[0]} |")
    REPORT.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("only", nargs="*", help="lesson prefixes, e.g. 01 03")
    parser.add_argument("--quick-too", action="store_true", help="also time each notebook in quick mode")
    parser.add_argument("--no-save", action="store_true", help="time only; leave the notebooks unchanged")
    parser.add_argument("--timeout", type=int, default=900, help="per-cell time limit in seconds")
    args = parser.parse_args(argv)

    paths = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if args.only:
        paths = [p for p in paths if any(p.name.startswith(o) for o in args.only)]
    import torch

    machine = (f"{date.today().isoformat()}: {os.cpu_count()} cores, {platform.machine()}, Python "
               f"{platform.python_version()}, torch {torch.__version__}, "
               f"{'CUDA' if torch.cuda.is_available() else 'no GPU'}")
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    rows = []
    for path in paths:
        quick = run_one(path, True, False, args.timeout) if args.quick_too else None
        full = run_one(path, False, not args.no_save, args.timeout)
        rows.append((path.stem, quick, full))
        print(f"{path.stem}: quick {seconds(quick)}, full {seconds(full)}, load {full['load']}"
              + (f", ERROR {full['error']}" if full["error"] else ""), flush=True)
        results[path.stem] = {"quick": quick, "full": full, "machine": machine}
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
        write_report(results)
    print(f"wrote {RESULTS.relative_to(ROOT)} and {REPORT.relative_to(ROOT)}")
    return 0 if all(not f["error"] for _, _, f in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
