"""What the registry commands (institution, site, device, keys, class, trainee) share.

The CLI is the operator's tool on the server itself, so it works unscoped (as an admin would); the
REST API is where institutions act on their own data. Registry refusals end the command with the
service's message and exit code 1, never a traceback.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from punchaudit.cli.common import console, engine, fail, settings
from punchaudit.services.registry import RegistryError
from storage.db import session_scope

DATE_FORMATS = ["%Y-%m-%d"]


@contextmanager
def registry_session() -> Iterator[Session]:
    """One transaction for the command, committed when it succeeds."""
    try:
        with session_scope(engine()) as session:
            yield session
    except RegistryError as exc:
        raise fail(str(exc)) from None


def secret() -> bytes:
    return settings().secret_key.encode()


def day(value: datetime | None) -> date | None:
    return value.date() if value else None


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print rows as a table; None prints as an empty cell. Narrow terminals wrap cells, never cut them."""
    out = Table(title=title)
    for column in columns:
        out.add_column(column, overflow="fold")
    for row in rows:
        out.add_row(*("" if v is None else str(v) for v in row))
    console.print(out)


def resident_id_option() -> Any:
    """The resident ID is asked for without echo unless given, so it stays out of shell history."""
    return typer.Option(..., "--resident-id", prompt="Resident ID", hide_input=True,
                        help="18-character resident ID (asked for without echo when omitted)")
