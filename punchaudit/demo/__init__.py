"""`punchaudit demo`: the main job end to end on the embedded default (SQLite, local footage folder).

Steps run in order against one database and one running HTTP server; each area adds its step as a
module `punchaudit.demo.<area>` with `run(ctx: DemoContext) -> None`.
"""
from __future__ import annotations

import importlib

STEPS = [
    "punchaudit.demo.ingest",
    "punchaudit.demo.faces",
    "punchaudit.demo.presence",  # after faces: photo outcomes count; before sampling and claims
    "punchaudit.demo.footage",  # after presence (its schedules), before sampling (it films only what is missing)
    "punchaudit.demo.sampling",  # after presence: inspects the classes without punch records
    "punchaudit.demo.claims",  # keep last: builds the claims from every earlier step's evidence
]


def run_steps(ctx) -> None:  # type: ignore[no-untyped-def]
    for name in STEPS:
        importlib.import_module(name).run(ctx)
