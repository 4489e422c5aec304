"""Load the firmware templates (files under ``edgecourse/templates``) and render them."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              trim_blocks=True, lstrip_blocks=True)


def render(template: str, context: dict) -> str:
    """Render a template file (path relative to edgecourse/templates) with the context."""
    return _environment().get_template(template).render(**context)


def template_text(template: str) -> str:
    """Return a template file's text as it is (files copied verbatim, e.g. C kernels)."""
    return (TEMPLATES / template).read_text()
