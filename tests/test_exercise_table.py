"""docs/exercises.md lists every graded exercise of the registry, in order, with its points."""
from __future__ import annotations

import re
from pathlib import Path

from coursekit.exercises import exercises_for, lessons

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(r"^\| (\d\d) \| `(\w+)` \| (\d+) \| (implement|derive|design|debug) \| (\d+) \|$")


def table_rows() -> list[tuple[str, str, int, str, int]]:
    rows = []
    for line in (ROOT / "docs" / "exercises.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            lesson, function, points, kind, minutes = match.groups()
            rows.append((lesson, function, int(points), kind, int(minutes)))
    return rows


def test_the_table_lists_every_exercise_in_order_with_its_points():
    registry = [(ex.lesson, ex.function, ex.points) for lesson in lessons() for ex in exercises_for(lesson)]
    assert [row[:3] for row in table_rows()] == registry


def test_every_row_says_what_it_asks_and_how_long_it_takes():
    rows = table_rows()
    assert rows and all(0 < minutes <= 60 for *_, minutes in rows)
    assert {"implement", "derive", "design"} <= {kind for _, _, _, kind, _ in rows}
