"""No hint and no exercise-notebook text gives away an exercise's solution code.

Each statement between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` in
``solutions/`` is compared, whitespace removed, with every hint a check can
print (each exercise's hints, its typical mistakes' hints, and every other
string in its lesson's ``coursekit/exercises/lessonNN.py``, since judges build
messages from them) and with the markdown of the generated exercise notebook.
A whole statement found there fails the test. Trivial statements (short ones,
``return x``, ``return a, b``, argument-free calls such as ``opt.step()`` that any
training loop has) are ignored.
"""
from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import nbformat
import pytest

from coursekit.exercises import exercises_for, lessons

ROOT = Path(__file__).resolve().parent.parent
MIN_CHARS = 12  # shorter statements (whitespace removed) are too generic to give anything away
BLOCK = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
COMPOUND = (ast.FunctionDef, ast.For, ast.While, ast.If, ast.With, ast.Try, ast.ClassDef)


def squash(text: str) -> str:
    """``text`` without any whitespace, so that spacing and line breaks do not hide a match."""
    return re.sub(r"\s+", "", text)


def _only_names(node: ast.AST | None) -> bool:
    elements = node.elts if isinstance(node, ast.Tuple) else [node]
    return all(isinstance(e, ast.Name) for e in elements)


def _bare_call(node: ast.stmt) -> bool:
    """``obj.method()``: a call without arguments, as a statement of its own."""
    call = node.value if isinstance(node, ast.Expr) else None
    return isinstance(call, ast.Call) and not call.args and not call.keywords


def statements(code: str) -> list[str]:
    """The simple statements of a solution block (a return counts by its expression), trivial ones left out."""
    code = textwrap.dedent(code)
    found = []
    for node in ast.walk(ast.parse(code)):
        if not isinstance(node, ast.stmt) or isinstance(node, COMPOUND) or _bare_call(node):
            continue
        if isinstance(node, ast.Return):
            if _only_names(node.value):
                continue
            node = node.value
        text = ast.get_source_segment(code, node) or ""
        if len(squash(text)) >= MIN_CHARS:
            found.append(text)
    return found


def solution_statements(lesson: str) -> list[str]:
    (path,) = (ROOT / "solutions").glob(f"{lesson}_*.py")
    return [s for block in BLOCK.findall(path.read_text(encoding="utf-8")) for s in statements(block)]


def _docstrings(tree: ast.AST) -> set[int]:
    owners = (ast.Module, ast.FunctionDef, ast.ClassDef)
    return {id(n.body[0].value) for n in ast.walk(tree) if isinstance(n, owners) and n.body
            and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}


def hint_texts(lesson: str) -> list[str]:
    """Every text a check of ``lesson`` can print as a hint, and every other string of its module."""
    texts = []
    for ex in exercises_for(lesson):
        texts += [*ex.hints, *(m.hint for m in ex.mistakes)]
    tree = ast.parse((ROOT / "coursekit" / "exercises" / f"lesson{lesson}.py").read_text(encoding="utf-8"))
    skip = _docstrings(tree)
    texts += [n.value for n in ast.walk(tree)
              if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip]
    return texts


def exercise_markdown(lesson: str) -> list[str]:
    (path,) = (ROOT / "exercises").glob(f"{lesson}_*.ipynb")
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]


def leaks(solution: list[str], texts: list[str]) -> list[str]:
    """The solution statements that appear whole in one of ``texts``."""
    squashed = [squash(t) for t in texts]
    return [s for s in solution if any(squash(s) in t for t in squashed)]


def test_the_statement_extractor_and_matcher():
    code = ("    fake = G(z)\n    d_loss = d_loss_bce(D(real),\n                    D(fake.detach()))\n"
            "    for _ in range(3):\n        u = F.normalize(W @ v, dim=0)\n    return share, counts\n"
            "    opt_d.zero_grad()\n    return (top >= threshold).float().mean()\n")
    found = statements(code)
    assert sorted(squash(s) for s in found) == sorted(
        ["d_loss=d_loss_bce(D(real),D(fake.detach()))", "(top>=threshold).float().mean()", "u=F.normalize(W@v,dim=0)"])
    found.sort(key=lambda s: not s.startswith("d_loss"))
    assert leaks(found, ["use `d_loss = d_loss_bce(D(real), D(fake.detach()))`"]) == [found[0]]
    assert leaks(found, ["use the BCE of D on real and detached fakes"]) == []


@pytest.mark.parametrize("lesson", lessons())
def test_every_lesson_has_solution_statements_to_compare(lesson):
    assert solution_statements(lesson), f"lesson {lesson}: no solution block found in solutions/"


@pytest.mark.parametrize("lesson", lessons())
def test_no_hint_contains_a_solution_statement(lesson):
    found = leaks(solution_statements(lesson), hint_texts(lesson))
    assert not found, f"lesson {lesson}: hints give away solution code: {found}"


@pytest.mark.parametrize("lesson", lessons())
def test_no_exercise_markdown_contains_a_solution_statement(lesson):
    found = leaks(solution_statements(lesson), exercise_markdown(lesson))
    assert not found, f"lesson {lesson}: the exercise notebook's text gives away solution code: {found}"


def lesson_cells(lesson: str, kind: str) -> list[str]:
    (path,) = (ROOT / "notebooks").glob(f"{lesson}_*.py")
    nb = nbformat.read(path.with_suffix(".ipynb"), as_version=4)
    return [c.source for c in nb.cells if c.cell_type == kind]


@pytest.mark.parametrize("lesson", lessons())
def test_no_lesson_markdown_contains_a_solution_statement(lesson):
    found = leaks(solution_statements(lesson), lesson_cells(lesson, "markdown"))
    assert not found, f"lesson {lesson}: the lesson's text gives away solution code: {found}"


# Lessons whose code cells are checked too. Lesson 8 builds IS and FID from scratch in the
# lesson itself (the course's design), with the same lines its exercises ask for.
CODE_CHECKED = ("01", "02", "05", "06", "07")


@pytest.mark.parametrize("lesson", CODE_CHECKED)
def test_no_lesson_code_writes_out_an_exercise_solution(lesson):
    found = leaks(solution_statements(lesson), lesson_cells(lesson, "code"))
    assert not found, f"lesson {lesson}: a lesson cell writes out solution code: {found}"
