"""``python -m coursekit.grading``: the autograder's command line."""
from coursekit.grading.cli import main

raise SystemExit(main())
