"""Where edgecourse keeps what it can rebuild: $EDGECOURSE_CACHE, else ~/.cache/edgecourse."""

import os
from pathlib import Path


def cache_root() -> Path:
    """Return the cache folder (TFLM library builds, hidden-test references)."""
    return Path(os.environ.get("EDGECOURSE_CACHE") or Path.home() / ".cache" / "edgecourse")
