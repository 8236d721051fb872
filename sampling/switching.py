"""ISO 2859-1 (GB/T 2828.1 clause 9) switching rules as a pure state machine.

A training institution's successive classes are a continuing series, so the switching logic applies
per institution with one class = one lot (docs/sampling.md 1.6): 2 failed classes among 5 or fewer
consecutive ones tighten inspection; 5 consecutive passes on tightened return to normal; 5 failures
on tightened discontinue (no more acceptance by sampling until the authority accepts corrective
action); reduced needs a switching score of 30, steady production and the authority's approval.
How severity maps to plan parameters (e.g. a lower tolerable rate when tightened) is the caller's.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

Severity = Literal["normal", "tightened", "reduced", "discontinued"]
SCORE_TO_REDUCED = 30


@dataclass(frozen=True)
class LotOutcome:
    """One class's result under original inspection."""

    accepted: bool
    acceptance_number: int = 0
    accepted_one_step_tighter: bool | None = None  # for Ac >= 2 plans (switching score +3)
    production_steady: bool = True
    authority_approves_reduced: bool = False
    reinstate_normal: bool = False  # reduced plan with Ac < d < Re, or other condition warranting


@dataclass(frozen=True)
class SwitchingState:
    severity: Severity = "normal"
    normal_window: tuple[bool, ...] = ()  # acceptance of the last <= 5 lots on normal inspection
    score: int = 0  # switching score (normal -> reduced)
    tightened_accepts: int = 0  # consecutive accepted lots on tightened
    tightened_rejects: int = 0  # lots not accepted since tightened began
    lots: int = 0
    history: tuple[str, ...] = field(default=())  # transitions, e.g. "3:normal->tightened"

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity, "normal_window": list(self.normal_window), "score": self.score,
            "tightened_accepts": self.tightened_accepts, "tightened_rejects": self.tightened_rejects,
            "lots": self.lots, "history": list(self.history),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> SwitchingState:
        if not data:
            return cls()
        return cls(
            severity=data["severity"], normal_window=tuple(data.get("normal_window", ())),
            score=int(data.get("score", 0)), tightened_accepts=int(data.get("tightened_accepts", 0)),
            tightened_rejects=int(data.get("tightened_rejects", 0)), lots=int(data.get("lots", 0)),
            history=tuple(data.get("history", ())),
        )


class Discontinued(RuntimeError):
    """Inspection is discontinued for this institution; `resume` after corrective action."""


def _moved(state: SwitchingState, to: Severity, **changes: Any) -> SwitchingState:
    note = f"{state.lots}:{state.severity}->{to}"
    base = dict(normal_window=(), score=0, tightened_accepts=0, tightened_rejects=0)
    base.update(changes)
    return replace(state, severity=to, history=state.history + (note,), **base)


def _score(state: SwitchingState, o: LotOutcome) -> int:
    if not o.accepted:
        return 0
    if o.acceptance_number >= 2:
        return state.score + 3 if o.accepted_one_step_tighter else 0
    return state.score + 2


def step(state: SwitchingState, outcome: LotOutcome) -> SwitchingState:
    """The state after one more lot (class) of this institution."""
    if state.severity == "discontinued":
        raise Discontinued("sampling inspection is discontinued for this institution until corrective action")
    state = replace(state, lots=state.lots + 1)
    if state.severity == "normal":
        window = (state.normal_window + (outcome.accepted,))[-5:]
        if window.count(False) >= 2:
            return _moved(state, "tightened")
        score = _score(state, outcome)
        if score >= SCORE_TO_REDUCED and outcome.production_steady and outcome.authority_approves_reduced:
            return _moved(state, "reduced")
        return replace(state, normal_window=window, score=score)
    if state.severity == "tightened":
        if outcome.accepted:
            accepts = state.tightened_accepts + 1
            if accepts >= 5:
                return _moved(state, "normal")
            return replace(state, tightened_accepts=accepts)
        rejects = state.tightened_rejects + 1
        if rejects >= 5:
            return _moved(state, "discontinued")
        return replace(state, tightened_accepts=0, tightened_rejects=rejects)
    # reduced
    if not outcome.accepted or outcome.reinstate_normal or not outcome.production_steady:
        return _moved(state, "normal")
    return state


def resume(state: SwitchingState) -> SwitchingState:
    """After the authority accepts corrective action, inspection resumes on tightened."""
    if state.severity != "discontinued":
        return state
    return _moved(state, "tightened")


def replay(outcomes: list[LotOutcome], state: SwitchingState | None = None) -> SwitchingState:
    """Apply a sequence of classes in order (stops raising at discontinuation)."""
    state = state or SwitchingState()
    for o in outcomes:
        state = step(state, o)
    return state
