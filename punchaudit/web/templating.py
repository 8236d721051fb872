"""One Jinja2 environment for the pages and reports (autoescaped)."""
from __future__ import annotations

from datetime import datetime, timezone
from fractions import Fraction
from functools import lru_cache
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape


def local(value: datetime, tz: str = "Asia/Shanghai", fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A naive-UTC timestamp as the site's wall-clock time."""
    return value.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz)).strftime(fmt)


def percent(value: str | float, digits: int = 1) -> str:
    """"19/20" or 0.95 -> "95%"."""
    number = float(Fraction(value)) if isinstance(value, str) else float(value)
    return f"{number * 100:.{digits}f}".rstrip("0").rstrip(".") + "%"


@lru_cache(maxsize=1)
def env() -> Environment:
    e = Environment(loader=PackageLoader("punchaudit.web", "templates"), autoescape=select_autoescape(["html"]),
                    trim_blocks=True, lstrip_blocks=True)
    e.filters["local"] = local
    e.filters["percent"] = percent
    return e


def render(name: str, **context: object) -> str:
    return env().get_template(name).render(**context)
