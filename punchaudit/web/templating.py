"""One Jinja2 environment for the pages and reports (autoescaped)."""
from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, select_autoescape


@lru_cache(maxsize=1)
def env() -> Environment:
    return Environment(loader=PackageLoader("punchaudit.web", "templates"), autoescape=select_autoescape(["html"]),
                       trim_blocks=True, lstrip_blocks=True)


def render(name: str, **context: object) -> str:
    return env().get_template(name).render(**context)
