"""Run lessons in a fresh kernel, save the executed notebooks, and write a timing report.

    python scripts/execute_notebooks.py                 # every lesson, full mode, outputs saved
    python scripts/execute_notebooks.py --quick-too     # also time quick mode (outputs not saved)
    python scripts/execute_notebooks.py 03 05           # only lessons whose name starts with these
    python scripts/execute_notebooks.py --fallbacks-only # only rewrite saved widgets' static fallbacks

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
import resource
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

from coursekit.widget_fallbacks import add_static_fallbacks

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "timings.md"
RESULTS = ROOT / "docs" / "timings.json"


def cell_seconds(cell) -> float:
    """Wall time of one executed code cell, from the timestamps nbclient records in its metadata."""
    ex = cell.get("metadata", {}).get("execution", {})
    start, stop = ex.get("iopub.execute_input"), ex.get("shell.execute_reply")
    if not (start and stop):
        return 0.0
    return (datetime.fromisoformat(stop.replace("Z", "+00:00"))
            - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()


def execute_here(path: Path, save: bool, timeout: int) -> dict:
    """Run ``path`` in a fresh kernel (this process is its parent); return time, CPU, memory, slowest cells."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    t0, error = time.perf_counter(), None
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    except Exception as err:  # a failing cell is reported, not raised
        lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
        error = f"{type(err).__name__}: {lines[-1] if lines else ''}"[:300]  # the last line names the cause
    wall = time.perf_counter() - t0
    if save and error is None:
        add_static_fallbacks(nb)  # saved widgets show their final state where no widget can be drawn
        nbformat.write(nb, path)
    kids, me = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    code_cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    slowest = sorted(((round(cell_seconds(c), 1), i, (c.source.splitlines() or [""])[0][:70]) for i, c in code_cells),
                     reverse=True)[:3]
    return {"seconds": wall, "cpu_seconds": kids.ru_utime + kids.ru_stime + me.ru_utime + me.ru_stime,
            "peak_mib": max(kids.ru_maxrss, me.ru_maxrss) / 1024, "error": error, "slowest_cells": slowest}


def run_one(path: Path, quick: bool, save: bool, timeout: int) -> dict:
    """Execute ``path`` in a child process (so that its memory and CPU are its own); return its measurements."""
    env = dict(os.environ, COURSEKIT_QUICK="1" if quick else "0")
    load_before = os.getloadavg()[0]
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(path), "--timeout", str(timeout)] + ([] if save else ["--no-save"]),
        env=env, capture_output=True, text=True, cwd=ROOT, check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    out = json.loads(lines[-1]) if lines else {"seconds": None, "peak_mib": None, "error": proc.stderr.strip()[-300:]}
    out["load"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    return out


def minutes(value: float | None) -> str:
    """``125.0`` -> ``"2 min 05 s"``; ``None`` (not run, or no result) -> ``"not measured"``."""
    if value is None:
        return "not measured"
    whole = round(value)  # round once, then split: 599.9 s is "10 min 00 s", not "9 min 60 s"
    return f"{whole // 60} min {whole % 60:02d} s"


def seconds(entry: dict | None) -> str:
    """The wall time of one run's result, or "not measured"."""
    return minutes(entry.get("seconds") if entry else None)


def write_report(results: dict) -> None:
    """``docs/timings.md`` from every entry of ``docs/timings.json``."""
    lines = [
        "# Lesson run times",
        "",
        "Written by `python scripts/execute_notebooks.py --quick-too` (`make execute`), which runs each notebook",
        "in a fresh kernel, in its own process, one after another. Full mode is the default a learner runs;",
        "quick mode (`COURSEKIT_QUICK=1`) is what CI runs. Peak memory is the largest resident set of the",
        "kernel or its parent; CPU is the CPU time of both (the lessons use one torch thread). "
        "Load is the machine's 1-minute load average before / after the notebook",
        "(above the number of cores: the notebook shared the CPU with other work).",
        "",
    ]
    machines = sorted({r["machine"] for r in results.values()})
    setups = {m.split(": ", 1)[-1] for m in machines}  # a machine string is "date: setup"
    if len(machines) == 1:  # say it once, no column
        lines += [f"Measured on {machines[0]}.", ""]
        column, where = "", lambda machine: ""
    elif len(setups) == 1:  # several dates, one setup: the setup once, a date per row
        lines += [f"Measured on {setups.pop()}, on the dates in the table.", ""]
        column, where = " date |", lambda machine: f"{machine.split(': ', 1)[0]} | "
    else:
        column, where = " measured on |", lambda machine: f"{machine} | "
    lines += [
        "| notebook | quick mode | full mode | full mode, CPU | peak memory (full) | load |" + column + " status |",
        "|---|---|---|---|---|---|" + ("---|" if column else "") + "---|",
    ]
    for stem in sorted(results):
        r = results[stem]
        quick, full = r.get("quick"), r["full"]
        errors = [e for e in (full.get("error"), quick and quick.get("error")) if e]
        peak = f"{full['peak_mib']:.0f} MiB" if full.get("peak_mib") is not None else "-"
        load = " / ".join(f"{x:.1f}" for x in full.get("load", []))
        cpu = minutes(full.get("cpu_seconds"))
        lines.append(f"| {stem} | {seconds(quick)} | {seconds(full)} | {cpu} | {peak} | {load} | "
                     + where(r["machine"]) + f"{'ok' if not errors else errors[0]} |")
    lines += ["", "## Slowest cells (full mode)", "",
              "Cell index in the notebook, seconds, and the cell's first line.", ""]
    for stem in sorted(results):
        cells = results[stem]["full"].get("slowest_cells") or []
        lines.append(f"- **{stem}**: " + "; ".join(f"cell {i}, {t:.0f} s (`{first}`)" for t, i, first in cells))
    REPORT.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("only", nargs="*", help="lesson prefixes, e.g. 01 03")
    parser.add_argument("--quick-too", action="store_true", help="also time each notebook in quick mode")
    parser.add_argument("--no-save", action="store_true", help="time only; leave the notebooks unchanged")
    parser.add_argument("--timeout", type=int, default=900, help="per-cell time limit in seconds")
    parser.add_argument("--fallbacks-only", action="store_true",
                        help="do not execute: only rewrite the saved widgets' static fallbacks from their saved state")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)  # internal: run this one notebook here
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(execute_here(args.child.resolve(), not args.no_save, args.timeout)))
        return 0

    paths = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if args.only:
        paths = [p for p in paths if any(p.name.startswith(o) for o in args.only)]
    if args.fallbacks_only:
        import nbformat

        for path in paths:
            nb = nbformat.read(path, as_version=4)
            print(f"{path.name}: {add_static_fallbacks(nb)} widget outputs")
            nbformat.write(nb, path)
        return 0
    import torch

    machine = (f"{date.today().isoformat()}: {os.cpu_count()} cores, {platform.machine()}, Python "
               f"{platform.python_version()}, torch {torch.__version__}, "
               f"{'CUDA' if torch.cuda.is_available() else 'no GPU'}"
               + (", offline MNIST (COURSEKIT_OFFLINE=1)" if os.environ.get("COURSEKIT_OFFLINE") == "1" else ""))
    rows = []
    for path in paths:
        quick = run_one(path, True, False, args.timeout) if args.quick_too else None
        full = run_one(path, False, not args.no_save, args.timeout)
        rows.append((path.stem, quick, full))
        print(f"{path.stem}: quick {seconds(quick)}, full {seconds(full)}, load {full['load']}"
              + (f", ERROR {full['error']}" if full["error"] else ""), flush=True)
        # re-read before writing: another run of this script may have written its rows meanwhile
        results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        results[path.stem] = {"quick": quick, "full": full, "machine": machine}
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
        write_report(results)
    print(f"wrote {RESULTS.relative_to(ROOT)} and {REPORT.relative_to(ROOT)}")
    return 0 if all(not f["error"] for _, _, f in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
