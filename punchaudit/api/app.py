"""The FastAPI application: terminal protocols at their vendor paths, the REST API under /api/v1."""
from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from sqlalchemy import Engine

from punchaudit import __version__
from punchaudit.api.limits import BodySizeLimit
from punchaudit.config import Settings, get_settings
from storage.db import make_engine, session_factory

log = logging.getLogger("punchaudit.api")

# Each module defines `router`; add a module here to mount it.
ROUTERS = [
    "punchaudit.api.iclock",
    "punchaudit.api.isapi",
    "punchaudit.api.rest",
    "punchaudit.api.presence",
    "punchaudit.api.claims",
    "punchaudit.api.uploads",
    "punchaudit.api.sampling",
    "punchaudit.api.faces",
    "punchaudit.api.footage",
]


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Punch photos are verified in the background, never on a terminal's request path.
        from punchaudit.services.faces import start_background_verifier

        verifier = start_background_verifier(app)
        yield
        if verifier is not None:
            await run_in_threadpool(verifier.stop)

    app = FastAPI(
        lifespan=lifespan,
        title="punchaudit",
        version=__version__,
        description="Attendance verification and audit sampling for subsidised vocational training.",
        docs_url="/docs" if settings.public_docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.public_docs else None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    for name in ROUTERS:
        module = importlib.import_module(name)
        app.include_router(module.router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.ingest.max_body_bytes)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
