"""The registry of graded exercises: one module per lesson, ``lessonNN.py``, each with ``EXERCISES``."""
from __future__ import annotations

import importlib
import pkgutil

from coursekit.check import Exercise


def lessons() -> list[str]:
    """Lesson numbers that have exercises, e.g. ``["01", "02"]``."""
    names = (m.name for m in pkgutil.iter_modules(__path__))
    return sorted(name[len("lesson"):] for name in names if name.startswith("lesson"))


def exercises_for(lesson: str | int) -> tuple[Exercise, ...]:
    """The exercises of one lesson, in the order the notebook asks for them."""
    lesson = f"{int(lesson):02d}"
    if lesson not in lessons():
        raise KeyError(f"no exercises for lesson {lesson}; lessons with exercises: {', '.join(lessons())}")
    return importlib.import_module(f"{__name__}.lesson{lesson}").EXERCISES


def get_exercise(key: str) -> Exercise:
    """The exercise ``key`` (``"01.optimal_discriminator"``)."""
    lesson = key.split(".")[0]
    for exercise in exercises_for(lesson):
        if exercise.key == key:
            return exercise
    known = ", ".join(e.key for e in exercises_for(lesson))
    raise KeyError(f"unknown exercise {key!r}; lesson {lesson} has: {known}")
