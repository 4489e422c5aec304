"""Render the firmware templates (``templates/``) and read the C runtime files (``runtime/``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

TEMPLATES = Path(__file__).resolve().parent / "templates"
RUNTIME = Path(__file__).resolve().parent / "runtime"


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              trim_blocks=True, lstrip_blocks=True)


def render(template: str, context: dict) -> str:
    """Render a template file (path relative to ``templates/``) with the context."""
    return _environment().get_template(template).render(**context)


def runtime_text(name: str) -> str:
    """Return a C runtime file's text (copied verbatim into generated projects)."""
    return (RUNTIME / name).read_text()
