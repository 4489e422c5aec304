"""``python -m edgecourse.bench``: run the benchmark."""

import sys

from edgecourse.bench.run import main

sys.exit(main())
