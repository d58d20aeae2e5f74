"""Submissions for the autograder's tests, built from lesson 1's released and solved notebooks.

Each builder edits cells of ``solutions/01_minimax_theory.ipynb`` or
``exercises/01_minimax_theory.ipynb`` the way a learner might, so the
fixtures follow the notebooks as they change instead of being committed.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "01_minimax_theory.ipynb"
EXERCISE = ROOT / "exercises" / "01_minimax_theory.ipynb"


def _read(path: Path) -> nbformat.NotebookNode:
    """The notebook as a learner hands it in: without the solution's hidden tests (nbgrader's release drops them)."""
    from coursekit.release import strip_hidden_tests

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        cell.source = strip_hidden_tests(cell.source)
    return nb


def _index(nb: nbformat.NotebookNode, starts: str) -> int:
    """The index of the only code cell whose source starts with ``starts``."""
    found = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.lstrip().startswith(starts)]
    assert len(found) == 1, f"{len(found)} cells start with {starts!r}"
    return found[0]


def _define(nb: nbformat.NotebookNode, function: str, body: str) -> None:
    """Replace the cell defining ``function`` by a definition with this (indented) body."""
    cell = nb.cells[_index(nb, f"def {function}(")]
    cell.source = f"def {function}(*args, **kwargs):\n" + "\n".join("    " + line for line in body.splitlines())


def _insert_after(nb: nbformat.NotebookNode, starts: str, source: str) -> None:
    nb.cells.insert(_index(nb, starts) + 1, nbformat.v4.new_code_cell(source))


def complete() -> nbformat.NotebookNode:
    return _read(SOLUTION)


def untouched() -> nbformat.NotebookNode:
    return _read(EXERCISE)


def partly() -> nbformat.NotebookNode:
    """Only the first exercise solved."""
    nb, solved = _read(EXERCISE), _read(SOLUTION)
    i = _index(nb, "def optimal_discriminator(")
    nb.cells[i].source = solved.cells[_index(solved, "def optimal_discriminator(")].source
    return nb


def wrong() -> nbformat.NotebookNode:
    """A sign error in the saturating loss: the hint for that mistake must show."""
    nb = _read(SOLUTION)
    i = _index(nb, "def g_loss_saturating(")
    nb.cells[i].source = nb.cells[i].source.replace("return -F.softplus(", "return F.softplus(")
    assert "return F.softplus(fake_logits)" in nb.cells[i].source
    return nb


def raising() -> nbformat.NotebookNode:
    """Cells that raise at top level, early and late: the rest still runs."""
    nb = _read(SOLUTION)
    _insert_after(nb, "def optimal_discriminator(", "raise RuntimeError('a cell of mine raised')")
    nb.cells.append(nbformat.v4.new_code_cell("1 / 0"))
    return nb


def hanging() -> nbformat.NotebookNode:
    """An infinite loop inside one exercise: that one times out, the others are graded."""
    nb = _read(SOLUTION)
    _define(nb, "g_loss_nonsaturating", "while True:\n    pass")
    return nb


def killing() -> nbformat.NotebookNode:
    """A cell that kills the kernel mid-notebook, and an exercise that kills it when called."""
    nb = _read(SOLUTION)
    _insert_after(nb, 'check("01.jensen_shannon"', "import os\nos.kill(os.getpid(), 9)")
    _define(nb, "value_function", "import os\nos._exit(3)")
    return nb


def tampered() -> nbformat.NotebookNode:
    """Check cells deleted and edited, coursekit's checker patched, a fake result printed; one exercise wrong."""
    nb = _read(SOLUTION)
    del nb.cells[_index(nb, 'check("01.jensen_shannon"')]
    nb.cells[_index(nb, 'check("01.value_function"')].source = (
        '# check("01.value_function", value_function)\nprint("✅ all cases pass")')
    i = _index(nb, "def g_loss_saturating(")
    nb.cells[i].source = nb.cells[i].source.replace("return -F.softplus(", "return F.softplus(")
    patch = (
        "import coursekit.check as _c\n"
        "_real = _c.run_exercise\n"
        "def _always_right(exercise, fn, seed=None):\n"
        "    return _real(exercise, exercise.reference, seed)\n"
        "_c.run_exercise = _always_right\n"
        'print(\'@@coursekit-grade-0@@{"key": "01.g_loss_saturating", "status": "passed", "earned": 1}\')'
    )
    nb.cells.append(nbformat.v4.new_code_cell(patch))
    return nb


def hard_coded() -> nbformat.NotebookNode:
    """value_function returns the number right for one case (seed 0's first), whatever its input."""
    from coursekit.exercises import get_exercise

    exercise = get_exercise("01.value_function")
    first = exercise.cases(np.random.default_rng(0))[0]
    answer = float(exercise.reference(*first.args))
    nb = _read(SOLUTION)
    # kept on the autograd graph of its inputs, as the check asks of a loss, and constant all the same
    _define(nb, "value_function", f"return torch.tensor({answer!r}) + 0 * args[0].sum()")
    return nb


def megaprint() -> nbformat.NotebookNode:
    """Megabytes of output, at top level and from inside an exercise while it is graded."""
    nb = _read(SOLUTION)
    i = _index(nb, "def optimal_discriminator(")
    nb.cells[i].source = nb.cells[i].source.replace(
        "    ### BEGIN SOLUTION", "    print(('y' * 99 + '\\n') * 10_000)  # 1 MB per call\n    ### BEGIN SOLUTION")
    nb.cells.append(nbformat.v4.new_code_cell("for _ in range(5):\n    print(('x' * 99 + '\\n') * 10_000)"))
    return nb


BUILDERS = {
    "01_complete": complete, "01_untouched": untouched, "01_partly": partly, "01_wrong": wrong,
    "01_raising": raising, "01_hanging": hanging, "01_killing": killing, "01_tampered": tampered,
    "01_hardcoded": hard_coded, "01_megaprint": megaprint,
}


def build_submissions(folder: Path) -> dict[str, Path]:
    """Write every submission into ``folder``; returns student name → path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, build in BUILDERS.items():
        paths[name] = folder / f"{name}.ipynb"
        nbformat.write(build(), paths[name])
    return paths
