"""Tampering: given code cells of the released notebook that a submission edited or deleted."""
from __future__ import annotations

import difflib

import nbformat

from coursekit.release import STUB

SOLUTION_STUB = STUB[0]  # the first line coursekit.release leaves where a solution was


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
