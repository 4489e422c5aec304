"""``python -m edgecourse``: the same as the ``edgecourse`` command."""

import sys

from edgecourse.cli import main

sys.exit(main())
