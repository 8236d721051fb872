"""Bridge from the presence area to sampling: a class's population is the latest presence run's
sessions without punch records (`punchaudit.services.sampling.class_population` looks this up)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from punchaudit.config import Settings
from punchaudit.services import presence
from storage.sampling import PopulationSession


def population(session: Session, settings: Settings, class_id: int) -> list[PopulationSession]:
    try:
        rows = presence.population(session, class_id)
    except presence.NotFound as exc:
        from punchaudit.services.sampling import PopulationUnavailable

        raise PopulationUnavailable(str(exc)) from None
    return [PopulationSession(day, index, start, end) for day, index, start, end in rows]
