"""Jinja templates for every prompt the model sees; `render` is the only way in."""
from pathlib import Path

import jinja2

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=False,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(template: str, **values) -> str:
    return _env.get_template(template).render(**values).strip() + "\n"
