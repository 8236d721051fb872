"""What every demo step shares."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from sqlalchemy import Engine

from punchaudit.config import Settings


@dataclass
class DemoContext:
    settings: Settings
    engine: Engine
    console: Console
    workdir: Path  # var/demo: database, footage, clips, reports
    base_url: str  # the running server
    admin_key: str
    inspector_key: str
    site_keys: dict[str, str]  # institution code -> site API key
    class_codes: list[str]
    first_day: date
    days: int
    results: dict[str, Any] = field(default_factory=dict)  # steps leave figures for later steps

    def client(self, key: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"X-API-Key": key or self.admin_key}, timeout=60)
