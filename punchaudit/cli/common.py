"""What every CLI command needs: settings, an engine, a console and progress bars."""
from __future__ import annotations

import sys
from functools import lru_cache

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from punchaudit.config import ConfigError, Settings, load_settings
from storage.db import make_engine

# Piped output (CI logs, `make demo | tee`) gets 120 columns instead of rich's 80, so tables stay readable.
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True)


@lru_cache(maxsize=1)
def settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


@lru_cache(maxsize=1)
def engine() -> Engine:
    return make_engine(settings().database_url)


def progress() -> Progress:
    """A progress bar on a terminal; silent when output goes to a file or CI log."""
    return Progress(
        SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(),
        MofNCompleteColumn(), TimeElapsedColumn(), console=console, disable=not sys.stdout.isatty(),
    )


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)
