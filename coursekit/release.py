"""Make the learner's notebooks: ``exercises/`` is generated from ``solutions/``.

Solution code sits between nbgrader's markers::

    ### BEGIN SOLUTION
    ...
    ### END SOLUTION

and becomes ``# YOUR CODE HERE`` + ``raise NotImplementedError()`` at the same
indentation. The ``.py`` (jupytext percent) file of each notebook is the
reviewed source; ``.ipynb`` files are written from it, keeping their outputs.

The solution notebooks are also nbgrader source notebooks: :func:`nbgrader_notebook`
gives each cell nbgrader's metadata (an exercise cell is an autograded answer,
a check cell an autograder test worth the registry's points, every other cell
locked) and appends to each check cell a hidden-tests region that asserts the
check. ``nbgrader generate_assignment`` then releases, in its code, exactly
the notebook that ``exercises/`` holds.

    python -m coursekit.release --sync     # rewrite .ipynb from .py, regenerate exercises/
    python -m coursekit.release --check    # exit 1 when exercises/ or a pair has drifted
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import re
import sys
from pathlib import Path

import jupytext
import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
NBGRADER_SCHEMA = 3  # the version of nbgrader's cell metadata (nbgrader >= 0.6)
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("notebooks", "solutions", "exercises")
FORMAT = "py:percent"


def strip_hidden_tests(source: str) -> str:
    """Remove each hidden-tests region (markers included), as nbgrader's ``ClearHiddenTests`` does."""
    out, inside = [], False
    for line in source.split("\n"):
        if HIDDEN_BEGIN in line:
            if inside:
                raise ValueError(f"nested {HIDDEN_BEGIN!r}")
            inside = True
        elif HIDDEN_END in line:
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{HIDDEN_BEGIN!r} without {HIDDEN_END!r}")
    return "\n".join(out)


def strip_solutions(source: str) -> str:
    """Replace each solution block of a cell's source with the stub, keeping indentation.

    Hidden-tests regions go too: what is left is what nbgrader releases.
    """
    out, inside = [], False
    for line in strip_hidden_tests(source).splitlines():
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise ValueError(f"nested {BEGIN!r}")
            inside, indent = True, re.match(r"\s*", line).group(0)
            out.extend(indent + s for s in STUB)
        elif marker == END:
            if not inside:
                raise ValueError(f"{END!r} without {BEGIN!r}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{BEGIN!r} without {END!r}")
    return "\n".join(out)


def exercise_notebook(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The learner's notebook made from a solution notebook: no solutions, no outputs."""
    nb = nbformat.from_dict(solution)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source)
            cell.outputs, cell.execution_count = [], None
    return nb


# ---------------------------------------------------------------- nbgrader


def grade_id(key: str) -> str:
    """nbgrader's id for exercise ``key``: ``"01.jensen_shannon"`` -> ``"01-jensen_shannon"``.

    nbgrader's ids allow only letters, digits, ``_`` and ``-``; the lesson is the part before the
    first ``-``, so the key can be read back (a Python name has no ``-``).
    """
    return key.replace(".", "-", 1)


def checks_in(source: str) -> list[tuple[str, str]]:
    """The ``check("KEY", FUNCTION)`` calls at the top level of a code cell: ``[(key, function source)]``."""
    try:
        tree = ast.parse(strip_hidden_tests(source))
    except SyntaxError:
        return []
    found = []
    for node in tree.body:
        call = node.value if isinstance(node, ast.Expr) else None
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "check"
                and len(call.args) >= 2 and isinstance(call.args[0], ast.Constant)
                and isinstance(call.args[0].value, str)):
            found.append((call.args[0].value, ast.unparse(call.args[1])))
    return found


def defined_names(source: str) -> set[str]:
    """Names a code cell defines at its top level (functions, classes, plain assignments)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def hidden_tests(checks: list[tuple[str, str]]) -> str:
    """The hidden-tests region of a check cell: each check asserted, for nbgrader's autograder.

    :func:`coursekit.nbgrader_tests.assert_passes` runs the same randomised cases (a fresh draw)
    with the same hints as the check above it and raises, with the check's report, unless all pass.
    """
    lines = [HIDDEN_BEGIN, "from coursekit.nbgrader_tests import assert_passes", ""]
    lines += [f'assert_passes("{key}", {function})' for key, function in checks]
    return "\n".join(lines + [HIDDEN_END])


def _nbgrader_meta(grade_id_: str, *, grade: bool = False, solution: bool = False, locked: bool = False,
                   points: int | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id_, "locked": locked, "schema_version": NBGRADER_SCHEMA,
            "solution": solution}
    if grade:
        meta["points"] = points
    return meta


def nbgrader_notebook(nb: nbformat.NotebookNode, lesson: str) -> nbformat.NotebookNode:
    """Give a solution notebook (read from its ``.py``) nbgrader's cell metadata, in place.

    - a code cell with a solution region: an autograded answer (``solution``, not ``grade``),
      ``grade_id`` the exercise's key (:func:`grade_id`): the exercise whose function the cell
      defines, else that of the next check cell;
    - a cell with ``check("KEY", fn)``: an autograder test (``grade``, locked) worth the registry's
      points, ``grade_id`` the key's + ``-check``, with :func:`hidden_tests` appended (unless the
      cell already has a hidden-tests region);
    - every other cell, markdown included: locked (read-only for the learner, restored by
      ``nbgrader autograde``).

    Raises ``KeyError`` for a check of an exercise the registry does not know.
    """
    from coursekit.exercises import get_exercise

    cells = nb.cells
    checks = [checks_in(c.source) if c.cell_type == "code" else [] for c in cells]
    for found in checks:
        for key, _ in found:
            if not key.startswith(f"{lesson}."):
                raise KeyError(f"lesson {lesson}'s notebook checks {key!r}, an exercise of another lesson")
            get_exercise(key)  # a clear KeyError for an unknown key
    functions = {key.split(".", 1)[1]: key for found in checks for key, _ in found}
    used: set[str] = set()

    def unique(name: str) -> str:
        candidate, n = name, 2
        while candidate in used:
            candidate, n = f"{name}-{n}", n + 1
        used.add(candidate)
        return candidate

    for i, cell in enumerate(cells):
        if cell.cell_type == "code" and BEGIN in cell.source:
            keys = [functions[name] for name in sorted(defined_names(cell.source)) if name in functions]
            later = [found[0][0] for found in checks[i + 1:] if found]
            key = keys[0] if keys else (later[0] if later else f"{lesson}.answer")
            cell.metadata["nbgrader"] = _nbgrader_meta(unique(grade_id(key)), solution=True)
        elif checks[i]:
            points = sum(get_exercise(key).points for key, _ in checks[i])
            if HIDDEN_BEGIN not in cell.source:
                cell.source = cell.source.rstrip("\n") + "\n" + hidden_tests(checks[i])
            cell.metadata["nbgrader"] = _nbgrader_meta(unique(grade_id(checks[i][0][0]) + "-check"), grade=True,
                                                       locked=True, points=points)
        else:
            cell.metadata["nbgrader"] = _nbgrader_meta(unique(f"{lesson}-given-{i:02d}"), locked=True)
    return nb


def exercise_text(solution_py: Path) -> str:
    """The ``.py`` text of the exercise notebook generated from ``solution_py``.

    Without the header's ``jupytext_version`` line: the text does not depend on the jupytext installed.
    """
    text = jupytext.writes(exercise_notebook(jupytext.read(solution_py)), fmt=FORMAT)
    return re.sub(r"^#\s+jupytext_version: .*\n", "", text, count=1, flags=re.M)


def is_solution_notebook(py: Path) -> bool:
    """A lesson's solution notebook (``solutions/NN_name.py``): its ``.ipynb`` is nbgrader's source."""
    return py.parent.name == "solutions" and re.match(r"\d\d_", py.name) is not None


def notebook_from_py(py: Path) -> nbformat.NotebookNode:
    """The cells ``py``'s ``.ipynb`` gets from it: a solution notebook's with nbgrader's metadata."""
    nb = jupytext.read(py)
    if is_solution_notebook(py):
        nbgrader_notebook(nb, py.name[:2])
    return nb


def write_ipynb_from_py(py: Path) -> None:
    """Write ``py``'s paired ``.ipynb``: inputs from the ``.py``, outputs kept where cells match.

    A kept output keeps what an executed notebook stores with it: the cell's
    execution timestamps, the notebook's saved widget state and its language info (so a widget
    still renders on a page that shows the notebook without a kernel). A solution notebook's
    cells get nbgrader's metadata (:func:`nbgrader_notebook`).
    """
    nb = notebook_from_py(py)
    ipynb = py.with_suffix(".ipynb")
    if ipynb.exists():
        old = nbformat.read(ipynb, as_version=4)
        outputs = {c.source: c for c in old.cells if c.cell_type == "code"}
        for cell in nb.cells:
            if cell.cell_type == "code" and cell.source in outputs:
                kept = outputs[cell.source]
                cell.outputs = kept.get("outputs", [])
                cell.execution_count = kept.get("execution_count")
                if "execution" in kept.get("metadata", {}):
                    cell.metadata["execution"] = kept.metadata["execution"]
        for key in ("widgets", "language_info"):  # written by the kernel that executed the notebook
            if key in old.metadata:
                nb.metadata[key] = old.metadata[key]
    for i, cell in enumerate(nb.cells):  # ids derived from the content: re-syncing changes nothing
        cell.id = hashlib.sha1(f"{i}\n{cell.cell_type}\n{cell.source}".encode()).hexdigest()[:8]
    nb.metadata.pop("jupytext", None)
    nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
    nbformat.write(nb, ipynb)


def sync(root: Path = ROOT, only: str = "") -> None:
    """Regenerate ``exercises/`` from ``solutions/`` and write each ``.ipynb`` from its ``.py``.

    ``only`` restricts both to notebooks whose name starts with it (e.g. ``"01"``).
    """
    (root / "exercises").mkdir(exist_ok=True)
    for solution in sorted((root / "solutions").glob(f"{only}*.py")):
        (root / "exercises" / solution.name).write_text(exercise_text(solution))
    for folder in FOLDERS:
        for py in sorted((root / folder).glob(f"{only}*.py")):
            write_ipynb_from_py(py)
            print(f"wrote {py.with_suffix('.ipynb').relative_to(root)}")


def cell_sources(path: Path) -> list[tuple[str, str]]:
    """``(cell type, source)`` of each cell, hidden-tests regions (only in a solution's ``.ipynb``) left out."""
    nb = jupytext.read(path)
    return [(c.cell_type, strip_hidden_tests(c.source).strip()) for c in nb.cells]


def nbgrader_drift(py: Path) -> list[str]:
    """How a solution ``.ipynb``'s nbgrader cells differ from what :func:`notebook_from_py` makes of its ``.py``."""
    ipynb = py.with_suffix(".ipynb")
    expected = [(c.source, c.metadata.get("nbgrader")) for c in notebook_from_py(py).cells]
    actual = [(c.source, c.metadata.get("nbgrader")) for c in nbformat.read(ipynb, as_version=4).cells]
    if len(expected) != len(actual):
        return [f"{ipynb.name} has {len(actual)} cells, its .py makes {len(expected)}"]
    return [f"{ipynb.name}, cell {i}: nbgrader's metadata or hidden tests are out of date"
            for i, (e, a) in enumerate(zip(expected, actual)) if e != a]


def drift(root: Path = ROOT) -> list[str]:
    """Every problem: exercises out of date, a notebook without its pair, a pair that differs."""
    problems = []
    for solution in sorted((root / "solutions").glob("*.py")):
        exercise = root / "exercises" / solution.name
        if not exercise.exists() or exercise.read_text() != exercise_text(solution):
            problems.append(f"{exercise.relative_to(root)} is not generated from {solution.relative_to(root)}")
    for folder in FOLDERS:
        for path in sorted((root / folder).glob("*.py")) + sorted((root / folder).glob("*.ipynb")):
            other = path.with_suffix(".ipynb" if path.suffix == ".py" else ".py")
            if not other.exists():
                problems.append(f"{path.relative_to(root)} has no paired {other.suffix}")
            elif path.suffix == ".py" and cell_sources(path) != cell_sources(other):
                problems.append(f"{path.relative_to(root)} and its .ipynb differ")
            elif path.suffix == ".py" and is_solution_notebook(path):
                problems.extend(f"{folder}/{p}" for p in nbgrader_drift(path))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sync", action="store_true", help="regenerate exercises/ and every .ipynb")
    parser.add_argument("--check", action="store_true", help="report drift, exit 1 if any")
    parser.add_argument("--only", default="", help="only notebooks whose name starts with this, e.g. 01")
    args = parser.parse_args(argv)
    if args.sync:
        sync(only=args.only)
    problems = drift()
    for problem in problems:
        print(f"drift: {problem}", file=sys.stderr)
    if args.check and problems:
        print("run `make sync` to regenerate", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
