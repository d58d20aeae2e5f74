"""Run lessons in a fresh kernel, save the executed notebooks, and write a timing report.

    python scripts/execute_notebooks.py                 # every lesson, full mode, outputs saved
    python scripts/execute_notebooks.py --quick-too     # also time quick mode (outputs not saved)
    python scripts/execute_notebooks.py 03 05           # only lessons whose name starts with these

Each notebook runs in its own process (and kernel), so the peak memory measured
is that notebook's. Outputs are written back into ``notebooks/`` only from a
full-mode run that finished without an error; they are never edited by hand.
The report goes to ``docs/timings.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "timings.md"


def run_one(path: Path, quick: bool, save: bool, timeout: int) -> dict:
    """Execute ``path`` in a child process; return its time, peak memory and status."""
    env = dict(os.environ, COURSEKIT_QUICK="1" if quick else "0")
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
        "peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
        "print(json.dumps({'seconds': seconds, 'peak_mib': peak / 1024, 'error': error}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path), "1" if save else "0", str(timeout)],
        env=env, capture_output=True, text=True, cwd=ROOT,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        return {"seconds": float("nan"), "peak_mib": float("nan"), "error": proc.stderr.strip()[-300:]}
    return json.loads(lines[-1])


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
    rows = []
    for path in paths:
        quick = run_one(path, True, False, args.timeout) if args.quick_too else None
        full = run_one(path, False, not args.no_save, args.timeout)
        rows.append((path.stem, quick, full))
        q = f"{quick['seconds']:.0f} s" if quick else "-"
        print(f"{path.stem}: quick {q}, full {full['seconds']:.0f} s, peak {full['peak_mib']:.0f} MiB"
              + (f", ERROR {full['error']}" if full["error"] else ""), flush=True)

    import torch

    lines = [
        "# Lesson run times",
        "",
        f"Measured by `python scripts/execute_notebooks.py{' --quick-too' if args.quick_too else ''}` on "
        f"{date.today().isoformat()}: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}, torch {torch.__version__}, "
        f"{'CUDA' if torch.cuda.is_available() else 'no GPU'}. Each notebook in a fresh kernel.",
        "",
        "| notebook | quick mode | full mode | peak memory (full) | status |",
        "|---|---|---|---|---|",
    ]
    for stem, quick, full in rows:
        q = f"{quick['seconds']:.0f} s" if quick else "not measured"
        status = "ok" if not full["error"] and not (quick and quick["error"]) else (full["error"] or quick["error"])
        lines.append(f"| {stem} | {q} | {full['seconds']:.0f} s | {full['peak_mib']:.0f} MiB | {status} |")
    REPORT.parent.mkdir(exist_ok=True)
    if not args.only:
        REPORT.write_text("\n".join(lines) + "\n")
        print(f"wrote {REPORT.relative_to(ROOT)}")
    return 0 if all(not f["error"] for _, _, f in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
