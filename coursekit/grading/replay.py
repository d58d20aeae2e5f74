"""Replaying definitions: the part of a learner's cell a fresh kernel may re-run after the first one died."""
from __future__ import annotations

import ast


def _is_constant(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def definitions_only(source: str) -> str:
    """The imports, ``def``/``class`` statements and constant assignments of a cell (best effort).

    Used to rebuild the learner's functions in a fresh kernel after theirs
    died, without re-running what killed it. IPython magics are dropped;
    a cell that does not parse gives "".
    """
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return ""
    keep = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            keep.append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and _is_constant(node.value):
            keep.append(node)
    return "\n\n".join(ast.unparse(node) for node in keep)
