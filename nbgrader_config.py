"""nbgrader configuration for the edgecourse repository (instructor side).

The instructor edits ``solutions/NN_name/NN_name.ipynb``; ``make release`` writes the student
version to ``notebooks/NN_name/NN_name.ipynb``. Grading runs in a course directory outside the
repository (``edgecourse grade``), which loads this same file.
"""

c = get_config()  # noqa: F821  (nbgrader provides it)

c.CourseDirectory.course_id = "edgecourse"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
# Keep the gradebook out of the repository: `make release` writes none here.
c.CourseDirectory.db_url = "sqlite:///.nbgrader-release.db"

# The heaviest cell (training a model in lessons 02-05) takes seconds; leave room on a slow machine.
c.Execute.timeout = 300
c.Execute.kernel_name = "python3"

# A student who deletes or edits a test cell gets the instructor's cell back, and it is scored.
c.OverwriteCells.add_missing_cells = True
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
