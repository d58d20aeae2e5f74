"""Collecting submissions: every notebook under the given paths, its student name, lesson and release."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the course: exercises/ lives here


class UsageError(Exception):
    """A problem with the command line: exit status 2."""

@dataclass(frozen=True)
class Submission:
    path: str
    student: str
    lesson: str
    exercises: tuple[tuple[str, str, str, int], ...]  # (key, function, title, points)
    released: str | None  # the released exercise notebook to compare with


# ------------------------------------------------------------- collecting


def lesson_of(path: Path) -> str | None:
    """The lesson number of a submission from its file name prefix (``01_...``), or None."""
    match = re.match(r"(\d{1,2})_", path.name)
    return f"{int(match.group(1)):02d}" if match else None


def find_notebooks(paths: list[str]) -> list[Path]:
    """Every ``.ipynb`` named on the command line or inside a named folder (recursively)."""
    found = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            inside = [p for p in sorted(path.rglob("*.ipynb")) if ".ipynb_checkpoints" not in p.parts]
            if not inside:
                raise UsageError(f"no .ipynb files in folder {path}")
            found += inside
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"no such file or folder: {path}")
    return found


def _students(paths: list[Path]) -> list[str]:
    """File stems; where stems clash (a folder per student), as many parent folders as tell them apart.

    ``alice/01_minimax_theory.ipynb`` → ``alice/01_minimax_theory``; nbgrader's
    ``submitted/alice/ps1/01_x.ipynb`` → ``alice/ps1/01_x``.
    """
    parts = [p.resolve().with_suffix("").parts for p in paths]
    depth = [1] * len(paths)
    while True:
        names = ["/".join(pp[-d:]) for pp, d in zip(parts, depth)]
        clashes = {i for i, n in enumerate(names) if names.count(n) > 1 and depth[i] < len(parts[i])}
        if not clashes:
            return names
        for i in clashes:
            depth[i] += 1


def released_notebook(lesson: str, release_dir: Path, stem: str = "") -> Path | None:
    """The released exercise notebook of ``lesson`` in ``release_dir`` (same name preferred)."""
    same = release_dir / f"{stem}.ipynb"
    if stem and same.is_file():
        return same
    candidates = sorted(release_dir.glob(f"{lesson}_*.ipynb"))
    return candidates[0] if candidates else None


def collect(paths: list[str], lesson: str | None = None, release_dir: Path | None = None) -> list[Submission]:
    """The submissions to grade; raises :class:`UsageError` for anything the instructor must fix."""
    from coursekit.exercises import exercises_for, lessons  # imports torch: only in the parent, once

    release_dir = release_dir or ROOT / "exercises"
    notebooks = find_notebooks(paths)
    submissions = []
    for path, student in zip(notebooks, _students(notebooks)):
        number = f"{int(lesson):02d}" if lesson else lesson_of(path)
        if number is None:
            raise UsageError(f"{path}: cannot tell the lesson; name it NN_something.ipynb or pass --lesson NN")
        if number not in lessons():
            raise UsageError(f"{path}: lesson {number} has no exercises "
                             f"(lessons with exercises: {', '.join(lessons())})")
        exercises = tuple((e.key, e.function, e.title, e.points) for e in exercises_for(number))
        released = released_notebook(number, release_dir, path.stem)
        submissions.append(Submission(str(path), student, number, exercises, str(released) if released else None))
    return submissions
