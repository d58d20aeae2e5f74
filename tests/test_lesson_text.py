"""Lessons speak to a learner: no talk about the project's own process in their text.

What the project measured about itself (targets met or not, machine and thread notes,
runs tried while writing, benchmark and docs files) belongs in ``docs/``. A lesson may
point to ``docs/`` or ``bench/`` only from a final "Further reading" cell.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))

# Lessons whose text pass is still open, each with the issue that owns it. A lesson
# leaves this set when its pass lands; the test then holds it to the rule.
PENDING: dict[str, str] = {}

PROCESS_TALK = re.compile(
    r"bench/|docs/|\btargets?\b[^\n]{0,40}?\b(?:met|not met)\b|while writing|2-core|shared CPU"
    r"|this run took|we also trained|the chapter this course grew from",
    re.IGNORECASE,
)


def markdown_cells(path: Path) -> list[str]:
    """The markdown cells of a jupytext percent file, as text with the leading '# ' removed."""
    cells = re.split(r"^# %%", path.read_text(encoding="utf-8"), flags=re.M)
    out = []
    for cell in cells:
        if cell.startswith(" [markdown]"):
            lines = cell.splitlines()[1:]
            out.append("\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines))
    return out


def process_talk(cells: list[str]) -> list[str]:
    """Lines that talk about the project's process; a last cell headed 'Further reading' may cite docs/."""
    hits = []
    for i, cell in enumerate(cells):
        further_reading = i == len(cells) - 1 and "further reading" in cell.lower()
        for line in cell.splitlines():
            match = PROCESS_TALK.search(line)
            if match and not (further_reading and match.group(0).lower() in ("docs/", "bench/")):
                hits.append(line.strip())
    return hits


def test_the_scan_finds_process_talk_and_spares_ordinary_text():
    bad = ["While writing this lesson we also trained a wider G.", "Target ≤ 0.05: met.",
           "The numbers are in `docs/benchmarks.md`.", "On a 2-core CPU one thread is faster.",
           "the targets are NOT met"]
    good = ["D is trained towards the target 0.9 on real samples.", "Lesson 5 meets the Wasserstein distance.",
            "The generator's targets are the real labels."]
    assert len(process_talk(["\n".join(bad)])) == len(bad)
    assert process_talk(["\n".join(good)]) == []
    # docs/ is allowed in a final further-reading cell, nowhere else
    assert process_talk(["text", "## Further reading\nSee `docs/mode_collapse_runs.md`."]) == []
    assert process_talk(["## Further reading\nSee `docs/x.md`.", "the end"]) != []


def test_every_lesson_is_found():
    assert [p.name[:2] for p in LESSONS] == [f"{i:02d}" for i in range(1, 9)]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_text_has_no_process_talk(path):
    if path.name[:2] in PENDING:
        pytest.skip(f"text pass open: {PENDING[path.name[:2]]}")
    hits = process_talk(markdown_cells(path))
    assert not hits, f"{path.name}: move what the project measured about itself to docs/:\n" + "\n".join(hits)


# What a cell prints about the run itself (its seconds, the machine), rather than about the GAN.
RUN_TALK = re.compile(
    r"notebook (?:took|time)|wall-clock so far|measured in \d|trained in \d|ms/step|steps? in \d+(?:\.\d+)? s\b"
    r"|this lesson (?:runs|trains) on the CPU",
    re.IGNORECASE,
)


def printed_lines(notebook: Path) -> list[str]:
    """The text the notebook's code cells printed (stream outputs and plain-text results)."""
    import json

    lines = []
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        for out in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            text = out.get("text") or out.get("data", {}).get("text/plain", "")
            lines += "".join(text).splitlines()
    return lines


def test_the_output_scan_finds_run_talk():
    bad = ["Closing note: mode = full; this notebook took 141 s on cpu.", "measured in 3 s",
           "16000 steps in 575 s (36 ms/step)", "lesson wall-clock so far: 375 s", "200 hand-written steps in 8.3 s",
           "this lesson trains on the CPU, 1 thread"]
    good = ["200 hand-written steps; D loss 1.401 -> 1.252", "section 5: 80.6% confident after 182 s (4750 steps)",
            "WGAN-GP : 3 seeds × 645 generator updates in 45.1 s wall"]
    assert [bool(RUN_TALK.search(line)) for line in bad] == [True] * len(bad)
    assert [bool(RUN_TALK.search(line)) for line in good] == [False] * len(good)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_outputs_do_not_time_the_notebook(path):
    notebook = path.with_suffix(".ipynb")
    hits = [line.strip() for line in printed_lines(notebook) if RUN_TALK.search(line)]
    assert not hits, f"{notebook.name} prints how long it ran; a learner's machine differs:\n" + "\n".join(hits)
