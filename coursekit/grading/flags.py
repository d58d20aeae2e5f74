"""Lines of a submission that reach into coursekit's or the grader's internals, flagged for review.

The trust boundary of :mod:`coursekit.grade` does not depend on this: the
verdict is reached outside the learner's kernel and the references are sealed
inside it. What no process boundary can stop is code that re-reads coursekit's
source from disk (``inspect.getsource`` of a module, ``importlib.reload``,
``exec`` of a file) or digs the original out of a sealed wrapper; such code
names a few telltale things, listed here, and the grade report shows each
line that does (``flags``), without changing the score. Only the learner's
own code is scanned: code cells that are not given cells of the release.
"""
from __future__ import annotations

import re

import nbformat

PATTERNS = {
    "coursekit's exercise registry": r"coursekit\.exercises|get_exercise|exercises_for|\.reference\b",
    "the grader's modules": r"coursekit\.grad(e|ing)\b|\bharness\b|SEALED_CALLS|_GRADING",
    "reading source code": r"getsource|getsourcelines|linecache|__file__|\.py['\"]",
    "re-importing modules": r"importlib|reload\s*\(|__import__|sys\.modules",
    "running generated code": r"\bexec\s*\(|\beval\s*\(|\bcompile\s*\(",
    "function internals": r"__closure__|__wrapped__|__code__|__globals__|cell_contents|gc\.get_(objects|referrers)",
    "patching output or serialisation": r"sys\.(stdout|stderr|__stdout__)(\.\w+)?\s*=[^=]|\bbuiltins\b"
                                        r"|(json|pickle|torch)\.\w+\s*=[^=]",
    "patching a comparison": r"(allclose|isclose|array_equal|equal|compare)\s*=[^=]",
    "processes": r"os\.fork|setsid|subprocess|multiprocessing|os\.system|Popen|/proc/",
}


def _given(released: nbformat.NotebookNode | None) -> set[str]:
    if released is None:
        return set()
    return {_normal(c.source) for c in released.cells if c.cell_type == "code"}


def _normal(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def flags(submitted: nbformat.NotebookNode, released: nbformat.NotebookNode | None) -> list[dict]:
    """``{"cell", "line", "why"}`` for each line of the learner's own code cells matching a pattern."""
    given, found = _given(released), []
    code = [c for c in submitted.cells if c.cell_type == "code"]
    for index, cell in enumerate(code):
        if _normal(cell.source) in given:
            continue
        for line in cell.source.splitlines():
            for why, pattern in PATTERNS.items():
                if re.search(pattern, line):
                    found.append({"cell": index, "line": line.strip()[:120], "why": why})
                    break
    return found
