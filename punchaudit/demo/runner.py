"""Set up the demo's own database and folders, start the server in-process on a free port, run the steps."""
from __future__ import annotations

import logging
import shutil
import socket
import threading
import time
from datetime import date
from pathlib import Path

import uvicorn
from rich.console import Console

from punchaudit.api.app import create_app
from punchaudit.api.auth import create_key
from punchaudit.config import Settings
from punchaudit.demo import run_steps
from punchaudit.demo.context import DemoContext
from punchaudit.logs import JsonFormatter
from storage import migrate
from storage.db import make_engine, session_scope


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_settings(settings: Settings, workdir: Path) -> Settings:
    return settings.model_copy(update={
        "database_url": f"sqlite:///{workdir / 'punchaudit.db'}",
        "footage": settings.footage.model_copy(update={"root": str(workdir / "footage"),
                                                        "clips_dir": str(workdir / "clips")}),
    })


def _log_to_file(path: Path) -> None:
    """The demo prints tables; its structured log lines go to a file beside its database."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def run_demo(settings: Settings, workdir: Path, days: int, console: Console) -> DemoContext:
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    settings = demo_settings(settings, workdir)
    _log_to_file(workdir / "punchaudit.log")
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    with session_scope(engine) as s:
        admin_key = create_key(s, "demo admin", "admin")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, engine), host="127.0.0.1", port=port,
                                           log_config=None, access_log=False, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the demo server did not start")
        time.sleep(0.05)
    console.print(f"server on http://127.0.0.1:{port} (OpenAPI at /docs), database {settings.database_url}, "
                  f"log {workdir / 'punchaudit.log'}")
    ctx = DemoContext(settings=settings, engine=engine, console=console, workdir=workdir,
                      base_url=f"http://127.0.0.1:{port}", admin_key=admin_key, inspector_key="", site_keys={},
                      class_codes=[], first_day=date.today(), days=days)
    try:
        run_steps(ctx)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return ctx
