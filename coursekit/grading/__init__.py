"""The instructor's side of the course: the autograder.

``python -m coursekit.grading`` (also ``python -m coursekit.grade``) grades
submissions; see :mod:`coursekit.grading.run` for how. Modules:

    collect     the submissions: notebooks, students, lessons, released notebooks
    tampering   given cells a submission edited or deleted
    replay      the definitions a fresh kernel re-runs after a death
    limits      resource limits of a kernel (its launcher) and leftover processes
    session     the kernel one submission runs in
    harness     what runs INSIDE the learner's kernel: sealing, calling the learner's function
    judge       the grader's side of an exercise: inputs out, outputs in, the verdict
    flags       lines of a submission to review
    run         grading one submission, or many in parallel
    report      the table, CSV and JSON, and merging shards
    cli         the command line
    gradescope  the Gradescope export

The learner's side stays in :mod:`coursekit.check`, the exercises and their
cases in :mod:`coursekit.exercises`.
"""
