"""What a grading course calls things: student ids, submission file names, its default folder.

Plain constants (no nbgrader import), so the command line can show them cheaply.
"""

import re
from pathlib import Path

# nbgrader uses the student id as a folder name and a database key.
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")
# An LMS download names each file after its student: ``alice_01_flash_budgets.ipynb``, ``bob.zip``.
DEFAULT_PATTERN = r"^(?P<student>[A-Za-z0-9][A-Za-z0-9.@+-]*)"
DEFAULT_COURSE_DIR = Path.home() / "edgecourse-grading"
DB_HELP = ("gradebook database: postgresql://USER:PASSWORD@HOST:5432/DB or a SQLite file "
           "(default: db_url in COURSE_DIR/nbgrader_config.py, else COURSE_DIR/gradebook.db)")
