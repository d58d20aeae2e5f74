"""exercises/ is generated from solutions/, and every notebook is paired with its .py."""
import pytest

from coursekit import release


def test_solution_blocks_become_stubs_at_their_indentation():
    src = "def f(x):\n    ### BEGIN SOLUTION\n    y = x + 1\n    return y\n    ### END SOLUTION\n\nprint(f)"
    assert release.strip_solutions(src) == (
        "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\nprint(f)")


@pytest.mark.parametrize("bad", ["### BEGIN SOLUTION\nx", "### END SOLUTION", "### BEGIN SOLUTION\n### BEGIN SOLUTION"])
def test_unbalanced_markers_are_errors(bad):
    with pytest.raises(ValueError):
        release.strip_solutions(bad)


def test_no_drift_between_solutions_exercises_and_pairs():
    assert release.drift() == []


def test_every_lesson_exists_in_every_folder():
    names = {p.stem for p in (release.ROOT / "notebooks").glob("*.py")}
    for folder in ("solutions", "exercises"):
        assert {p.stem for p in (release.ROOT / folder).glob("*.py")} <= names


def test_no_markdown_heading_swallowed_by_a_code_cell():
    """A missing `# %% [markdown]` turns a section's text into comments at the end of a code cell."""
    import re

    for folder in release.FOLDERS:
        for py in (release.ROOT / folder).glob("*.py"):
            for kind, source in release.cell_sources(py):
                if kind == "code":
                    assert not re.search(r"^# #{1,4} ", source, re.M), f"{py.name}: a heading inside a code cell"


def test_writing_a_notebook_twice_gives_the_same_bytes(tmp_path):
    """Cell ids come from the content, so a re-sync leaves unchanged notebooks untouched."""
    import shutil

    py = tmp_path / "01_minimax_theory.py"
    shutil.copy(release.ROOT / "notebooks" / py.name, py)
    release.write_ipynb_from_py(py)
    first = py.with_suffix(".ipynb").read_bytes()
    release.write_ipynb_from_py(py)
    assert py.with_suffix(".ipynb").read_bytes() == first


def test_a_resync_keeps_outputs_timestamps_and_widget_state_of_unchanged_cells(tmp_path):
    """Editing one cell of an executed notebook must not strip what the other cells' outputs need."""
    import nbformat

    py = tmp_path / "lesson.py"
    py.write_text("# %%\nx = 1\n\n# %%\ny = 2\n")
    release.write_ipynb_from_py(py)
    ipynb = py.with_suffix(".ipynb")
    nb = nbformat.read(ipynb, as_version=4)
    for i, cell in enumerate(nb.cells):
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"out {i}\n")]
        cell.execution_count = i + 1
        cell.metadata["execution"] = {"iopub.status.busy": f"2026-01-01T00:00:0{i}Z"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"m": {}}}}
    nbformat.write(nb, ipynb)

    py.write_text("# %%\nx = 1\n\n# %%\ny = 3\n")  # the second cell changes
    release.write_ipynb_from_py(py)
    new = nbformat.read(ipynb, as_version=4)
    kept, changed = new.cells
    assert kept.outputs[0]["text"] == "out 0\n" and kept.execution_count == 1
    assert kept.metadata["execution"] == {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    assert changed.outputs == [] and changed.execution_count is None and "execution" not in changed.metadata
    assert new.metadata["widgets"] == nb.metadata["widgets"]


def test_exercise_text_does_not_depend_on_the_jupytext_installed():
    """The header keeps no jupytext version: a fresh install with a newer jupytext finds no drift."""
    text = release.exercise_text(release.ROOT / "solutions" / "01_minimax_theory.py")
    assert "jupytext_version" not in text and text.startswith("# ---\n# jupyter:")


def test_writing_a_solution_notebook_twice_gives_the_same_bytes(tmp_path):
    """A solution notebook gets nbgrader's metadata and hidden tests once: a re-sync changes nothing."""
    import shutil

    py = tmp_path / "solutions" / "01_minimax_theory.py"
    py.parent.mkdir()
    shutil.copy(release.ROOT / "solutions" / py.name, py)
    release.write_ipynb_from_py(py)
    first = py.with_suffix(".ipynb").read_bytes()
    release.write_ipynb_from_py(py)
    assert py.with_suffix(".ipynb").read_bytes() == first
    assert first.count(release.HIDDEN_BEGIN.encode()) == len(release.checks_in(py.read_text())) > 0
    assert release.nbgrader_drift(py) == []
