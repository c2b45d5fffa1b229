"""The one Jinja environment: every template deskhand renders is a package data file
under ``agent/prompts/`` rendered here.

Invariants:
- Undefined variables raise (`StrictUndefined`): a template that names a value its caller
  did not pass fails loudly instead of rendering an empty string into a prompt.
- No autoescaping (the output is model text, not HTML); block tags drop their own
  newline and indentation (``trim_blocks``, ``lstrip_blocks``), and the template's final
  newline is dropped.
- Only files shipped with the package are templates. Task files are data: their
  placeholders are substituted by tools/placeholders.py, never rendered here.
- The environment is built on first use and then reused (no work at import time).
"""

from __future__ import annotations

import functools
from typing import Any

import jinja2


@functools.cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("agent", "prompts"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )


def render(name: str, **values: Any) -> str:
    """The template ``agent/prompts/NAME`` rendered with `values`, stripped."""
    return environment().get_template(name).render(**values).strip()
