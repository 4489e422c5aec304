"""Write a generated project folder atomically: into a temporary folder, then one rename.

A failure half-way (a template error, a full disk) leaves nothing behind: no half-written
firmware folder that builds into something wrong.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path


def write_project(files: dict[str, str | bytes], directory: Path, overwrite: bool = True) -> Path:
    """Write {name: text or bytes} into ``directory`` all at once; return the directory."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValueError(f"{directory} exists and is not a folder")
    if directory.exists() and any(directory.iterdir()) and not overwrite:
        raise ValueError(f"{directory} is not empty: choose another -o folder")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        for name, content in files.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        if directory.exists():
            old = directory.with_name(f".{directory.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            directory.rename(old)
            staging.rename(directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory
