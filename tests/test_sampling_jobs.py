"""The monthly sampling job through the scheduler's run_job: due classes get an inspection, classes
with punch records are spot-checked by risk weight, and a second run does nothing twice."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from punchaudit.scheduler import run_job
from punchaudit.services import presence as presence_svc
from storage import sampling as repo
from storage.db import session_scope
from storage.schema.core import Device, Enrollment, Punch
from tests.footage_testkit import settings_for
from tests.sampling_testkit import make_class
from tests.seed import seed

FIRST = date(2026, 3, 2)


def _punch_every_day(engine: Engine, serial: str, class_id: int, days: list[date], card_pin: str | None = None) -> None:
    with session_scope(engine) as s:
        dev = s.scalar(select(Device).where(Device.serial == serial))
        pins = s.scalars(select(Enrollment.pin).where(Enrollment.class_id == class_id)).all()
        for d in days:
            for pin in pins:
                local = datetime.combine(d, datetime.min.time()).replace(hour=8, minute=25)
                method = 3 if pin == card_pin else 2  # 3: card (not biometric), 2: fingerprint
                s.add(Punch(device_id=dev.id, source="zkteco", pin=pin, local_time=local, tz_name="Asia/Shanghai",
                            utc_time=local - timedelta(hours=8), method=method, verify_code=1, status_code=0,
                            received_at=local))


def test_monthly_job_opens_due_inspections_and_spot_checks(engine: Engine, tmp_path: Path) -> None:
    seeded = seed(engine)
    settings = settings_for(tmp_path).model_copy(
        update={"sampling": settings_for(tmp_path).sampling.model_copy(update={"spot_checks_per_month": 1})})
    none_id, _ = make_class(engine, seeded.institution_id, seeded.site_id, code="C-NONE", days=5, trainees=2)
    rec1, _ = make_class(engine, seeded.institution_id, seeded.site_id, code="C-REC1", days=5, trainees=3, pin_base=11)
    rec2, _ = make_class(engine, seeded.institution_id, seeded.site_id, code="C-REC2", days=5, trainees=3, pin_base=21)
    days = [FIRST + timedelta(days=i) for i in range(5)]
    _punch_every_day(engine, seeded.zk_serial, rec1, days, card_pin="12")  # one trainee only ever uses a card
    _punch_every_day(engine, seeded.zk_serial, rec2, days)
    with session_scope(engine) as s:
        for code in ("C-NONE", "C-REC1", "C-REC2"):
            presence_svc.set_schedule(s, settings, code, sessions=["08:30-11:30"])
        runs, _ = presence_svc.run_presence(s, settings)
        assert {r.class_code: r.has_records for r in runs} == {"C-NONE": False, "C-REC1": True, "C-REC2": True}

    now = datetime(2026, 3, 31, 20, 30)  # 04:30 on 1 April in Beijing
    result = run_job("sampling_monthly", engine, settings, now=now, logical_date=date(2026, 4, 1))
    assert result.status == "ok", result.outcome
    out = result.outcome
    assert out["due"] == ["C-NONE"] and out["errors"] == {}
    assert out["spot_weights"] == {"C-REC1": 1 + 0.5 * 5, "C-REC2": 1.0}  # 5 card-only trainee-days
    assert len(out["spot_checks"]) == 1 and len(out["opened"]) == 2
    with session_scope(engine) as s:
        kinds = {r.class_id: r.kind for r in repo.list_inspections(s)}
        assert kinds[none_id] == "no_records"
        assert set(kinds) - {none_id} <= {rec1, rec2} and "spot_check" in kinds.values()
        spot = next(r for r in repo.list_inspections(s) if r.kind == "spot_check")
        assert spot.population_size == 5  # all sessions of a class with records
    # the same month again: claimed already; next month: nothing new is due
    assert run_job("sampling_monthly", engine, settings, now=now, logical_date=date(2026, 4, 1)).status == "skipped"
    again = run_job("sampling_monthly", engine, settings, now=now + timedelta(days=30), logical_date=date(2026, 5, 1))
    assert again.outcome["due"] == [] and len(again.outcome["opened"]) <= 1
