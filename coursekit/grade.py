"""``python -m coursekit.grade``: the autograder's command under its first name (see :mod:`coursekit.grading`)."""
from coursekit.grading.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
