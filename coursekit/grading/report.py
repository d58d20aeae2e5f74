"""The autograder's outputs: the table it prints, and its CSV and JSON files.

Each takes the submission reports :func:`coursekit.grading.run.grade_submission`
returns (one dict per submission, with its ``exercises`` results).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

__all__ = ["first_problem", "table", "write_csv", "write_json", "merge", "CSV_FIELDS"]


def first_problem(result: dict) -> str:
    """The one-line reason shown in the table: the first failing case, or the status's reason."""
    if result.get("message"):
        return result["message"]
    for case in result.get("cases", []):
        if not case["passed"]:
            return f"{case['label']}: {case['message']}"
    return {"not implemented": "not implemented yet", "missing": "function not defined"}.get(result["status"], "")


def _notes(report: dict) -> str:
    kinfo = report.get("kernel", {})
    notes = [f"seed {report['seed']}", f"{report['seconds']:g} s"]
    if report["tampering"].get("summary"):
        notes.append(report["tampering"]["summary"])
    if kinfo.get("cell_errors"):
        notes.append(f"{len(kinfo['cell_errors'])} cell(s) raised")
    if kinfo.get("timeouts"):
        notes.append(f"{len(kinfo['timeouts'])} cell(s) timed out")
    if kinfo.get("deaths"):
        notes.append(f"kernel died {len(kinfo['deaths'])}×")
    if kinfo.get("restarts"):
        notes.append(f"{kinfo['restarts']} fresh kernel(s), definitions replayed")
    if kinfo.get("processes_killed"):
        notes.append(f"{kinfo['processes_killed']} leftover process(es) killed")
    if report.get("flags"):
        notes.append(f"flagged: {len(report['flags'])} line(s) to review")
    return "; ".join(notes)


def table(reports: list[dict], width: int = 90) -> str:
    """The plain-text table printed to stdout: one row per exercise, a total per student."""
    rows = [("student", "exercise", "score", "status", "first failure / hint")]
    for report in reports:
        for i, r in enumerate(report["exercises"]):
            rows.append((report["student"] if i == 0 else "", r["key"], f"{r['earned']:g}/{r['points']}",
                         r["status"], first_problem(r)))
        rows.append(("", "TOTAL", f"{report['earned']:g}/{report['points']}", "", _notes(report)))
    widths = [max(len(row[c]) for row in rows) for c in range(4)]
    lines = []
    for row in rows:
        text = "  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  "
        reason = row[4] if len(row[4]) <= width else row[4][: width - 1] + "…"
        lines.append((text + reason).rstrip())
    return "\n".join(lines)


CSV_FIELDS = ("student", "file", "lesson", "exercise", "title", "earned", "points", "status", "message",
              "seed", "tampering", "seconds")


def write_csv(reports: list[dict], path: str) -> None:
    """One row per student per exercise, then a TOTAL row per student."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for rep in reports:
            common = {"student": rep["student"], "file": rep["file"], "lesson": rep["lesson"], "seed": rep["seed"],
                      "tampering": rep["tampering"].get("summary", "")}
            for r in rep["exercises"]:
                writer.writerow({**common, "exercise": r["key"], "title": r["title"], "earned": r["earned"],
                                 "points": r["points"], "status": r["status"], "message": first_problem(r),
                                 "seconds": r.get("seconds", "")})
            writer.writerow({**common, "exercise": "TOTAL", "earned": rep["earned"], "points": rep["points"],
                             "message": _notes(rep), "seconds": rep["seconds"]})


def write_json(reports: list[dict], path: str, options: dict, seconds: float, shard: list | None = None) -> None:
    """Every detail: the grader's options, the run's seconds and each submission's full report."""
    doc = {"grader": "coursekit.grade", "options": options, "seconds": round(seconds, 2),
           "shard": shard, "submissions": reports}
    Path(path).write_text(json.dumps(doc, indent=1, ensure_ascii=False, default=str), encoding="utf-8")


def merge(paths: list[str]) -> dict:
    """One report from the JSON files of the shards of a run (``--shard K/N``), in the unsharded order.

    Raises ``ValueError`` when the files are not the N distinct shards of one run.
    """
    docs = [json.loads(Path(p).read_text(encoding="utf-8")) for p in paths]
    shards = [tuple(d.get("shard") or (1, 1)) for d in docs]
    total = {n for _, n in shards}
    if len(total) != 1 or sorted(k for k, _ in shards) != list(range(1, total.pop() + 1)):
        raise ValueError(f"expected shards 1/N … N/N of one run, got {', '.join(f'{k}/{n}' for k, n in shards)}")
    reports = sorted((r for d in docs for r in d["submissions"]), key=lambda r: r["index"])
    if [r["index"] for r in reports] != list(range(len(reports))):
        raise ValueError("the shards do not add up to one run (a submission is missing or graded twice)")
    options = {k: v for k, v in docs[0]["options"].items()}
    return {"grader": "coursekit.grade", "options": options, "seconds": round(sum(d["seconds"] for d in docs), 2),
            "shard": None, "merged": [str(p) for p in paths], "submissions": reports}
