"""Make the learner's notebooks: ``exercises/`` is generated from ``solutions/``.

Solution code sits between nbgrader's markers::

    ### BEGIN SOLUTION
    ...
    ### END SOLUTION

and becomes ``# YOUR CODE HERE`` + ``raise NotImplementedError()`` at the same
indentation. The ``.py`` (jupytext percent) file of each notebook is the
reviewed source; ``.ipynb`` files are written from it, keeping their outputs.

    python -m coursekit.release --sync     # rewrite .ipynb from .py, regenerate exercises/
    python -m coursekit.release --check    # exit 1 when exercises/ or a pair has drifted
"""
from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

import jupytext
import nbformat

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("notebooks", "solutions", "exercises")
FORMAT = "py:percent"


def strip_solutions(source: str) -> str:
    """Replace each solution block of a cell's source with the stub, keeping indentation."""
    out, inside = [], False
    for line in source.splitlines():
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


def exercise_text(solution_py: Path) -> str:
    """The ``.py`` text of the exercise notebook generated from ``solution_py``."""
    return jupytext.writes(exercise_notebook(jupytext.read(solution_py)), fmt=FORMAT)


def write_ipynb_from_py(py: Path) -> None:
    """Write ``py``'s paired ``.ipynb``: inputs from the ``.py``, outputs kept where cells match.

    A kept output keeps what an executed notebook stores with it: the cell's
    execution timestamps, the notebook's saved widget state and its language info (so a widget
    still renders on a page that shows the notebook without a kernel).
    """
    nb = jupytext.read(py)
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
    nb = jupytext.read(path)
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


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
