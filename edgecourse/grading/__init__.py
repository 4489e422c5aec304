"""The instructor's machinery over nbgrader: course config, release, collect, grade, worker,
sandbox. Imports nothing from :mod:`edgecourse.lab` or :mod:`edgecourse.deploy`."""
