"""The presence rule: which punches count, and when a trainee is on time, late, or absent.

Defaults come from `settings.presence` (config.yaml); a class may override any field (a class that
starts at 07:00 in winter may get a longer early window). The rule is frozen so that a stored run
can keep an exact snapshot of what it was computed with.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

from devices.punch import Method

DayRule = Literal["all", "any"]


class RuleError(ValueError):
    """A presence rule value is invalid; the message names the field."""


def parse_methods(names: Iterable[str | int | Method]) -> frozenset[Method]:
    """Method names as written in config.yaml (`face`, `fingerprint`, `card`, ...) to Method members."""
    out: set[Method] = set()
    for name in names:
        if isinstance(name, Method):
            out.add(name)
        elif isinstance(name, int):
            out.add(Method(name))
        else:
            try:
                out.add(Method[str(name).strip().upper()])
            except KeyError:
                known = ", ".join(m.name.lower() for m in Method)
                raise RuleError(f"methods: unknown method {name!r} (known: {known})") from None
    if not out:
        raise RuleError("methods: at least one method must count")
    return frozenset(out)


@dataclass(frozen=True)
class PresenceRule:
    """When a punch makes a trainee present for a session, and when a day counts.

    Check-in window: [start - early_window, start + late_limit] (both ends inclusive); on time up to
    start + late_grace, LATE after that. Check-out window: [end - checkout_window, end + checkout_window].
    A day needs all its sessions (`day_rule="all"`) or any one of them.
    """

    methods: frozenset[Method] = frozenset({Method.FACE, Method.FINGERPRINT})
    early_window: int = 30
    late_grace: int = 10
    late_limit: int = 30
    checkout_required: bool = False
    checkout_window: int = 15
    day_rule: DayRule = "all"
    coverage_threshold: float = 1.0
    min_session_coverage: float = 0.0

    def __post_init__(self) -> None:
        for name in ("early_window", "late_grace", "late_limit", "checkout_window"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >= 720:
                raise RuleError(f"{name}: must be whole minutes between 0 and 719, got {value!r}")
        if self.late_grace > self.late_limit:
            raise RuleError("late_grace: may not exceed late_limit")
        if self.day_rule not in ("all", "any"):
            raise RuleError(f"day_rule: must be 'all' or 'any', got {self.day_rule!r}")
        if not 0 < float(self.coverage_threshold) <= 1:
            raise RuleError("coverage_threshold: must be in (0, 1]")
        if not 0 <= float(self.min_session_coverage) <= 1:
            raise RuleError("min_session_coverage: must be in [0, 1]")
        if not self.methods:
            raise RuleError("methods: at least one method must count")

    @property
    def methods_mask(self) -> int:
        """Bit i set when Method(i) counts: lets the matcher test a punch's method with one shift."""
        mask = 0
        for m in self.methods:
            mask |= 1 << int(m)
        return mask

    def merged(self, overrides: Mapping[str, Any] | None) -> PresenceRule:
        """This rule with a class's overrides applied; unknown keys are an error, not silently ignored."""
        if not overrides:
            return self
        known = {f.name for f in fields(self)}
        changes: dict[str, Any] = {}
        for key, value in overrides.items():
            key = _ALIASES.get(key, key)
            if key not in known:
                raise RuleError(f"{key}: not a presence rule field (known: {', '.join(sorted(known))})")
            if key == "methods":
                value = parse_methods(value)
            elif key in ("checkout_required",) and isinstance(value, str):
                value = value.strip().lower() in ("1", "true", "yes", "on")
            elif key in ("coverage_threshold", "min_session_coverage"):
                value = float(value)
            elif key != "day_rule":
                value = int(value)
            changes[key] = value
        return replace(self, **changes)

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready form, stored with every run."""
        data = asdict(self)
        data["methods"] = sorted(m.name.lower() for m in self.methods)
        return data

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> PresenceRule:
        return cls().merged(data)


# config.yaml spells the minute fields with a unit suffix
_ALIASES = {
    "early_window_minutes": "early_window",
    "late_grace_minutes": "late_grace",
    "late_limit_minutes": "late_limit",
    "checkout_window_minutes": "checkout_window",
}


def rule_from_config(presence: Any) -> PresenceRule:
    """The default rule from `settings.presence` (a pydantic model or a mapping)."""
    data = presence.model_dump() if hasattr(presence, "model_dump") else dict(presence)
    return PresenceRule().merged(data)
