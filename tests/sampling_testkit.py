"""A class with trainees and a population of sessions without punch records, for sampling tests."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Engine

from attendance import resident_id as rid
from storage.db import session_scope
from storage.sampling import PopulationSession
from storage.schema.core import Enrollment, Trainee, TrainingClass


def make_class(engine: Engine, institution_id: int, site_id: int, *, code: str = "C-SAMPLE",
               first: date = date(2026, 3, 2), days: int = 20, trainees: int = 5,
               pin_base: int = 1) -> tuple[int, list[PopulationSession]]:
    """A class on weekdays from `first`, two sessions a day (08:30-11:30, 14:00-17:00 Beijing time)."""
    day_list: list[date] = []
    d = first
    while len(day_list) < days:
        if d.isoweekday() <= 5:
            day_list.append(d)
        d += timedelta(days=1)
    with session_scope(engine) as s:
        cls = TrainingClass(code=code, institution_id=institution_id, site_id=site_id, name="电工培训班",
                            start_date=day_list[0], end_date=day_list[-1])
        s.add(cls)
        s.flush()
        for k in range(trainees):
            number = rid.make("140202", date(1990, 1, 1 + k), 100 + k)
            t = Trainee(name=f"学员{k + 1}", id_masked=rid.mask(number), id_hash=rid.keyed_hash(number, code.encode()))
            s.add(t)
            s.flush()
            s.add(Enrollment(class_id=cls.id, trainee_id=t.id, pin=str(pin_base + k)))
        class_id = cls.id
    pop = []
    for day in day_list:
        for index, (h0, m0, h1, m1) in enumerate([(8, 30, 11, 30), (14, 0, 17, 0)]):
            base = datetime(day.year, day.month, day.day) - timedelta(hours=8)  # Asia/Shanghai -> UTC
            pop.append(PopulationSession(day, index, base + timedelta(hours=h0, minutes=m0),
                                         base + timedelta(hours=h1, minutes=m1)))
    return class_id, pop
