"""Routes into the course tools instructors already use, one module each.

:mod:`~grader.integrations.otter`
    an otter-assign master notebook generated from an assignment's
    declaration, and :func:`~grader.integrations.otter.otter_check` for its
    test cells;
:mod:`~grader.integrations.gradescope`
    a Gradescope autograder zip that runs the sandboxed grader;
:mod:`~grader.integrations.github`
    a student repository's workflow (``python -m grader.integrations.github``)
    and the Markdown job summary of ``bptt-grader check --summary`` it shows;
:mod:`~grader.integrations.package`
    a wheel of this installation (the one ``pip wheel .`` builds, with the
    shipped instance lists), so an autograder can install the very grader
    that made it, and its other requirements, bounded rather than pinned.

Nothing here changes how a submission is graded: each route calls the same
engine (:func:`grader.grading.grade`).
"""
