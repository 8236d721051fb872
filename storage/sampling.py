"""Repository for sampling inspections: store and load inspections, sampled sessions, verdicts,
decisions and switching state. Functions flush but never commit; the caller owns the transaction."""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sampling.evaluate import VerdictView
from sampling.switching import SwitchingState
from storage.schema.base import utcnow
from storage.schema.sampling import (
    SamplingDecision, SamplingInspection, SamplingItem, SamplingSwitching, SamplingVerdict,
)


@dataclass(frozen=True)
class PopulationSession:
    """One session of a class in the sampling population (site-local day, 0-based session index)."""

    day: date
    index: int
    start_utc: datetime
    end_utc: datetime

    @property
    def key(self) -> str:
        return f"{self.day.isoformat()}/{self.index}"

    @property
    def stratum(self) -> str:
        year, week, _ = self.day.isocalendar()
        return f"{year}-W{week:02d}"

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "day": self.day.isoformat(), "index": self.index,
                "start_utc": self.start_utc.isoformat(), "end_utc": self.end_utc.isoformat()}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PopulationSession:
        return cls(date.fromisoformat(d["day"]), int(d["index"]), datetime.fromisoformat(d["start_utc"]),
                   datetime.fromisoformat(d["end_utc"]))


def add_inspection(session: Session, **fields: Any) -> SamplingInspection:
    row = SamplingInspection(**fields)
    session.add(row)
    session.flush()
    return row


def add_items(session: Session, inspection_id: int, items: Sequence[dict[str, Any]]) -> list[SamplingItem]:
    rows = [SamplingItem(inspection_id=inspection_id, **item) for item in items]
    session.add_all(rows)
    session.flush()
    return rows


def get(session: Session, inspection_id: int) -> SamplingInspection | None:
    return session.get(SamplingInspection, inspection_id)


def items(session: Session, inspection_id: int) -> list[SamplingItem]:
    return list(session.scalars(
        select(SamplingItem).where(SamplingItem.inspection_id == inspection_id).order_by(SamplingItem.day, SamplingItem.session_index)
    ))


def population(row: SamplingInspection) -> list[PopulationSession]:
    return [PopulationSession.from_json(d) for d in json.loads(row.population_json)]


def list_inspections(session: Session, *, institution_id: int | None = None, class_id: int | None = None,
                     status: str | None = None, limit: int = 200) -> list[SamplingInspection]:
    stmt = select(SamplingInspection).order_by(SamplingInspection.id.desc()).limit(limit)
    if institution_id is not None:
        stmt = stmt.where(SamplingInspection.institution_id == institution_id)
    if class_id is not None:
        stmt = stmt.where(SamplingInspection.class_id == class_id)
    if status is not None:
        stmt = stmt.where(SamplingInspection.status == status)
    return list(session.scalars(stmt))


def classes_with_inspections(session: Session, kind: str | None = None) -> set[int]:
    stmt = select(SamplingInspection.class_id)
    if kind is not None:
        stmt = stmt.where(SamplingInspection.kind == kind)
    return set(session.scalars(stmt))


def add_verdict(session: Session, **fields: Any) -> SamplingVerdict:
    row = SamplingVerdict(at=fields.pop("at", None) or utcnow(), **fields)
    session.add(row)
    session.flush()
    return row


def verdicts(session: Session, inspection_id: int) -> list[SamplingVerdict]:
    return list(session.scalars(
        select(SamplingVerdict).where(SamplingVerdict.inspection_id == inspection_id).order_by(SamplingVerdict.id)
    ))


def verdict_views(rows: Sequence[SamplingVerdict]) -> list[VerdictView]:
    return [VerdictView(v.item_id, v.inspector, v.held_as_declared, v.footage_problem, v.id) for v in rows]


def add_decision(session: Session, **fields: Any) -> SamplingDecision:
    row = SamplingDecision(at=fields.pop("at", None) or utcnow(), **fields)
    session.add(row)
    session.flush()
    return row


def decisions(session: Session, inspection_id: int) -> list[SamplingDecision]:
    return list(session.scalars(
        select(SamplingDecision).where(SamplingDecision.inspection_id == inspection_id).order_by(SamplingDecision.id)
    ))


def switching(session: Session, institution_id: int) -> SwitchingState:
    row = session.scalar(select(SamplingSwitching).where(SamplingSwitching.institution_id == institution_id))
    return SwitchingState.from_json(json.loads(row.state_json)) if row else SwitchingState()


def save_switching(session: Session, institution_id: int, state: SwitchingState, inspection_id: int | None) -> None:
    row = session.scalar(select(SamplingSwitching).where(SamplingSwitching.institution_id == institution_id))
    if row is None:
        row = SamplingSwitching(institution_id=institution_id, state_json="{}")
        session.add(row)
    row.severity = state.severity
    row.state_json = json.dumps(state.to_json())
    row.last_inspection_id = inspection_id
    row.updated_at = utcnow()
    session.flush()
