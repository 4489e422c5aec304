"""The instructor's machinery over nbgrader, one step per module.

course (the config as one value: repository, course folder, gradebook), names, release, collect,
submissions (make any upload gradable), grade (plan / run / merge / report for a class),
gradebook (snapshots, merging scores, the CSV), executors (local processes or Dask), task (one
submission, wherever it runs), worker (one nbgrader autograde), sandbox (limits and Landlock).
Imports nothing from :mod:`edgecourse.lab` or :mod:`edgecourse.deploy`.
"""
