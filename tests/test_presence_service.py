"""Presence end to end on a real database: roster import, schedule, punches, runs, versions."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from attendance.presence import Reason
from attendance.resident_id import keyed_hash, make
from attendance.roster import roster_xlsx
from punchaudit.config import load_settings
from punchaudit.services import presence as svc
from storage import presence as repo
from storage.db import session_scope
from storage.schema.core import Device, Institution, Punch, PunchPhoto, Site, Trainee, TrainingClass
from storage.schema.faces import FaceVerification
from storage.schema.presence import PresenceRun

pytestmark = pytest.mark.postgres
MON = date(2026, 3, 2)
IDS = [make("140213", date(1990, 1, 1) + timedelta(days=400 * i), i + 1) for i in range(4)]


@pytest.fixture
def world(engine: Engine) -> dict:
    with session_scope(engine) as s:
        inst = Institution(code="I1", name="平城区职业培训学校")
        other = Institution(code="I2", name="其他机构")
        s.add_all([inst, other])
        s.flush()
        main = Site(institution_id=inst.id, code="MAIN", name="本部", timezone="Asia/Shanghai")
        east = Site(institution_id=inst.id, code="EAST", name="东校区", timezone="Asia/Shanghai")
        s.add_all([main, east])
        s.flush()
        s.add_all([Device(serial="ZK1", vendor="zkteco", site_id=main.id, timezone="Asia/Shanghai"),
                   Device(serial="ZK2", vendor="zkteco", site_id=east.id, timezone="Asia/Shanghai")])
        s.add(TrainingClass(code="C1", institution_id=inst.id, site_id=main.id, name="电工第1期",
                            start_date=MON, end_date=MON + timedelta(days=4)))
        s.add(TrainingClass(code="C9", institution_id=other.id, site_id=main.id, name="别家的班",
                            start_date=MON, end_date=MON + timedelta(days=4)))
        s.flush()
        return {"inst": inst.id, "other": other.id}


def roster(rows: list[tuple[str, str, str]]) -> bytes:
    return roster_xlsx([{"name": n, "resident_id": r, "class_code": "C1", "pin": p, "target_group": "失业人员"} for n, r, p in rows])


def add_punch(s, serial: str, pin: str, local: datetime, method: int = 2, **kw) -> Punch:  # type: ignore[no-untyped-def]
    dev = s.scalar(select(Device).where(Device.serial == serial))
    p = Punch(device_id=dev.id, source="zkteco", pin=pin, local_time=local, tz_name="Asia/Shanghai",
              utc_time=local - timedelta(hours=8), method=method, verify_code=15, status_code=0,
              received_at=local, **kw)
    s.add(p)
    s.flush()
    return p


def test_roster_import_is_all_or_nothing_and_scoped(engine: Engine, world: dict) -> None:
    settings = load_settings()
    bad = IDS[1][:17] + ("0" if IDS[1][17] != "0" else "1")
    with session_scope(engine) as s:
        out = svc.import_roster(s, settings, roster([("甲", IDS[0], "1"), ("乙", bad, "2")]), "r.xlsx")
        assert not out.ok and [(e.row_no, e.field) for e in out.errors] == [(4, "身份证号")]
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(Trainee)) == 0
        # a site key of another institution cannot see class C1: unknown class
        out = svc.import_roster(s, settings, roster([("甲", IDS[0], "1")]), "r.xlsx", scope=world["other"])
        assert [e.reason for e in out.errors] == ["unknown class 'C1'"]
        out = svc.import_roster(s, settings, roster([("甲", IDS[0], "1"), ("乙", IDS[1], "2")]), "r.xlsx", scope=world["inst"])
        assert out.ok and out.trainees_created == 2 and out.enrollments_created == 2
    with session_scope(engine) as s:
        t = s.scalar(select(Trainee).where(Trainee.name == "甲"))
        assert t.id_hash == keyed_hash(IDS[0], settings.secret_key.encode()) and IDS[0] not in t.id_masked
        again = svc.import_roster(s, settings, roster([("甲", IDS[0], "3")]), "r.xlsx")
        assert [e.reason for e in again.errors] == ["already enrolled in class C1"]
        renamed = svc.import_roster(s, settings, roster([("丙", IDS[1], "3")]), "r.xlsx")
        assert [(e.field, e.reason) for e in renamed.errors] == [("姓名", "the resident ID is registered under another name"),
                                                                 ("身份证号", "already enrolled in class C1")]


def test_runs_are_versioned_and_reason_codes_come_from_the_database(engine: Engine, world: dict) -> None:
    settings = load_settings()
    with session_scope(engine) as s:
        assert svc.import_roster(s, settings, roster([(n, IDS[i], str(i + 1)) for i, n in enumerate("甲乙丙丁")]), "r.xlsx").ok
        svc.set_schedule(s, settings, "C1", sessions=["08:30-11:30", "13:30-17:00"], rest_days=[MON + timedelta(days=2)],
                         rule={"day_rule": "any"})
        day = datetime.combine(MON, datetime.min.time())
        add_punch(s, "ZK1", "1", day.replace(hour=8, minute=25))  # present
        add_punch(s, "ZK1", "2", day.replace(hour=8, minute=45))  # late
        add_punch(s, "ZK1", "3", day.replace(hour=8, minute=30), method=3)  # card only
        add_punch(s, "ZK2", "4", day.replace(hour=8, minute=30))  # other site of the institution
        add_punch(s, "ZK1", "1", day.replace(hour=8, minute=26), success=False)  # failed attempt: ignored
        add_punch(s, "ZK1", "2", day.replace(hour=13, minute=30) + timedelta(days=1), clock_fault=1)
    with session_scope(engine) as s:
        runs, skipped = svc.run_presence(s, settings, ["C1"], trigger="test")
    assert skipped == [] and len(runs) == 1 and runs[0].new and runs[0].version == 1
    assert runs[0].days == 4 and runs[0].trainees == 4 and runs[0].punches == 5 and not runs[0].has_records
    with session_scope(engine) as s:
        view = svc.load_run(s, "C1", None)
        assert view.names == ["甲", "乙", "丙", "丁"] and view.days[2] == MON + timedelta(days=3)
        assert view.codes[:, 0].tolist() == [Reason.PRESENT, Reason.LATE, Reason.NON_BIOMETRIC_ONLY, Reason.WRONG_SITE]
        assert view.session_codes[1, 1].tolist() == [Reason.ABSENT, Reason.CLOCK_FAULT]
        assert repo.claim_evidence(s, view.run.class_id)["attended_days"] == {int(view.trainee_ids[0]): 1,
                                                                              int(view.trainee_ids[1]): 1,
                                                                              int(view.trainee_ids[2]): 0,
                                                                              int(view.trainee_ids[3]): 0}
        # unchanged inputs: no new version
        again, _ = svc.run_presence(s, settings, ["C1"])
        assert not again[0].new and again[0].version == 1
    with session_scope(engine) as s:  # a late replay brings trainee 丙's face punch and a proxy photo for 甲
        p = add_punch(s, "ZK1", "3", datetime.combine(MON, datetime.min.time()).replace(hour=13, minute=31))
        first = s.scalar(select(Punch).where(Punch.pin == "1", Punch.success.is_(True)))
        photo = PunchPhoto(device_id=first.device_id, punch_id=first.id, image=b"x", sha256="0" * 64)
        s.add(photo)
        s.flush()
        s.add(FaceVerification(punch_photo_id=photo.id, punch_id=first.id, trainee_id=1, outcome="proxy_suspected",
                               model="m", tolerance=0.5, review_upper=0.6))
        assert p.id
    with session_scope(engine) as s:
        runs, _ = svc.run_presence(s, settings, ["C1"])
        assert runs[0].new and runs[0].version == 2
        view = svc.load_run(s, "C1", None)
        assert view.codes[:, 0].tolist()[:3] == [Reason.PROXY_SUSPECTED, Reason.LATE, Reason.PRESENT]
        old = svc.load_run(s, "C1", None, version=1)
        assert old.codes[0, 0] == Reason.PRESENT
        assert s.scalar(select(func.count()).select_from(PresenceRun)) == 2
        with pytest.raises(svc.NotFound):
            svc.load_run(s, "C1", world["other"])


def test_classification_population_and_schedule_errors(engine: Engine, world: dict) -> None:
    settings = load_settings()
    with session_scope(engine) as s:
        assert svc.import_roster(s, settings, roster([("甲", IDS[0], "1")]), "r.xlsx").ok
        with pytest.raises(svc.PresenceError, match="overlap"):
            svc.set_schedule(s, settings, "C1", sessions=["08:00-08:40", "08:50-10:00"])
        with pytest.raises(svc.PresenceError, match="outside the class dates"):
            svc.set_schedule(s, settings, "C1", sessions=["08:30-11:30"], last=MON + timedelta(days=30))
        with pytest.raises(svc.PresenceError, match="no schedule"):
            svc.run_presence(s, settings, ["C1"])
        done = svc.import_schedules(s, settings, b"C1:\n  sessions: [08:30-11:30]\n  rest_weekdays: [3]\n", "s.yaml")
        assert done == ["C1"]
        for d in range(5):
            if d != 2:
                add_punch(s, "ZK1", "1", datetime.combine(MON + timedelta(days=d), datetime.min.time()).replace(hour=8, minute=29))
    with session_scope(engine) as s:
        runs, skipped = svc.run_presence(s, settings)
        assert skipped == ["C9"] and runs[0].has_records and runs[0].days == 4
        status = {c.class_code: c.classification for c in svc.classification(s)}
        assert status == {"C1": "has punch records", "C9": "not computed"}
        assert svc.population(s, runs[0].class_id) == []
        svc.set_schedule(s, settings, "C1", sessions=["08:30-11:30", "14:00-17:00"], rest_weekdays=[3])
        runs, _ = svc.run_presence(s, settings, ["C1"])
        pop = svc.population(s, runs[0].class_id)
        assert runs[0].has_records  # every training day has punches, though no afternoon session has any
        assert [(d, i) for d, i, _, _ in pop] == [(MON + timedelta(days=d), 1) for d in (0, 1, 3, 4)]
        assert pop[0][2] == datetime(2026, 3, 2, 6, 0) and pop[0][3] == datetime(2026, 3, 2, 9, 0)


def test_sign_in_sheet_xlsx_and_csv(engine: Engine, world: dict) -> None:
    from openpyxl import load_workbook

    settings = load_settings()
    with session_scope(engine) as s:
        assert svc.import_roster(s, settings, roster([("甲", IDS[0], "1"), ("乙", IDS[1], "2")]), "r.xlsx").ok
        svc.set_schedule(s, settings, "C1", sessions=["08:30-11:30"], last=MON + timedelta(days=1))
        add_punch(s, "ZK1", "1", datetime.combine(MON, datetime.min.time()).replace(hour=8, minute=31))
        add_punch(s, "ZK1", "2", datetime.combine(MON, datetime.min.time()).replace(hour=8, minute=50))
        svc.run_presence(s, settings, ["C1"])
        data, name, media = svc.report(s, "C1", "xlsx")
        assert name == "C1-presence-v1.xlsx" and media.endswith("sheet")
        ws = load_workbook(__import__("io").BytesIO(data)).active
        cells = {(c.row, c.column): c for row in ws.iter_rows() for c in row}
        header_row = next(r for (r, c), cell in cells.items() if cell.value == "姓名")
        assert cells[(header_row, 5)].value == "03-02 一" and cells[(header_row, 7)].value == "出勤天数"
        assert [cells[(header_row + 1, c)].value for c in (2, 5, 6, 7, 8)] == ["甲", "√", "×", 1, 0.5]
        assert cells[(header_row + 1, 8)].number_format == "0%"
        late = cells[(header_row + 2, 5)]
        assert late.value == "迟" and "迟到" in late.comment.text and "08:30-11:30" in late.comment.text
        assert cells[(header_row + 3, 5)].value == 2  # present per day
        assert IDS[0] not in str([c.value for c in cells.values()])
        text = svc.report(s, "C1", "csv", lang="en")[0].decode("utf-8-sig")
        assert "Days present" in text and "late (within the limit" in text and "1,甲," in text
        with pytest.raises(svc.PresenceError):
            svc.report(s, "C1", "pdf")


def test_punches_at_other_sites_and_other_institutions(engine: Engine, world: dict) -> None:
    """A punch at another site of the institution is WRONG_SITE, unless its PIN belongs to a trainee of
    a class at that site; another institution's terminal knowing the same PIN is ignored."""
    settings = load_settings()
    with session_scope(engine) as s:
        east = s.scalar(select(Site).where(Site.code == "EAST"))
        far = Site(institution_id=world["other"], code="FAR", name="别家", timezone="Asia/Shanghai")
        s.add(far)
        s.flush()
        s.add(Device(serial="ZK9", vendor="zkteco", site_id=far.id, timezone="Asia/Shanghai"))
        s.add(TrainingClass(code="C2", institution_id=world["inst"], site_id=east.id, name="东校区班",
                            start_date=MON, end_date=MON + timedelta(days=4)))
        s.flush()
        rows = [("甲", IDS[0], "1", "C1"), ("乙", IDS[1], "2", "C1"), ("丙", IDS[2], "2", "C2")]
        data = roster_xlsx([{"name": n, "resident_id": r, "pin": p, "class_code": c} for n, r, p, c in rows])
        assert svc.import_roster(s, settings, data, "r.xlsx").ok
        svc.set_schedule(s, settings, "C1", sessions=["08:30-11:30"], last=MON)
        day = datetime.combine(MON, datetime.min.time()).replace(hour=8, minute=30)
        add_punch(s, "ZK2", "1", day)  # 甲 at the east site: wrong site
        add_punch(s, "ZK2", "2", day)  # PIN 2 at the east site is 丙 of class C2: not 乙's punch
        add_punch(s, "ZK9", "2", day)  # another institution's terminal: not ours at all
        runs, _ = svc.run_presence(s, settings, ["C1"])
        view = svc.load_run(s, "C1", None)
    assert runs[0].punches == 1
    assert view.codes[:, 0].tolist() == [Reason.WRONG_SITE, Reason.ABSENT]


def test_other_areas_read_presence_through_their_hooks(engine: Engine, world: dict) -> None:
    """Sampling takes its population, footage the schedule (on a Core connection), claims the evidence."""
    from punchaudit.services.sampling import PopulationUnavailable, class_population

    settings = load_settings()
    with session_scope(engine) as s:
        assert svc.import_roster(s, settings, roster([("甲", IDS[0], "1")]), "r.xlsx").ok
        svc.set_schedule(s, settings, "C1", sessions=["08:30-11:30", "14:00-17:00"], last=MON + timedelta(days=1))
        cid = svc.class_by_code(s, "C1", None).id
        with pytest.raises(PopulationUnavailable):
            class_population(s, settings, cid)
        assert repo.claim_evidence(s, cid) is None
        add_punch(s, "ZK1", "1", datetime.combine(MON, datetime.min.time()).replace(hour=8, minute=20))
        svc.run_presence(s, settings, ["C1"])
        pop = class_population(s, settings, cid)
        assert [(p.day, p.index) for p in pop] == [(MON, 1), (MON + timedelta(days=1), 0), (MON + timedelta(days=1), 1)]
        assert pop[0].start_utc == datetime(2026, 3, 2, 6, 0) and pop[0].end_utc == datetime(2026, 3, 2, 9, 0)
        evidence = repo.claim_evidence(s, cid)
        assert evidence["scheduled_days"] == 2 and not evidence["has_punch_records"]
    with engine.connect() as conn:
        schedule = repo.load_schedule(conn, cid)
        assert schedule is not None and [x.label() for x in schedule.sessions] == ["08:30-11:30", "14:00-17:00"]
        assert repo.load_schedule(conn, cid + 99) is None


def test_punch_times_are_judged_in_the_site_zone_near_midnight(engine: Engine, world: dict) -> None:
    """A terminal whose clock runs in another zone: its local 00:25 is 23:25 at the site, the evening before."""
    settings = load_settings()
    with session_scope(engine) as s:
        main = s.scalar(select(Site).where(Site.code == "MAIN"))
        s.add(Device(serial="ZK-TOKYO", vendor="zkteco", site_id=main.id, timezone="Asia/Tokyo"))
        assert svc.import_roster(s, settings, roster([("甲", IDS[0], "1"), ("乙", IDS[1], "2")]), "r.xlsx").ok
        svc.set_schedule(s, settings, "C1", sessions=["00:10-03:00"], first=MON + timedelta(days=1), last=MON + timedelta(days=1))
        tokyo_local = datetime.combine(MON + timedelta(days=1), datetime.min.time()).replace(hour=0, minute=25)
        dev = s.scalar(select(Device).where(Device.serial == "ZK-TOKYO"))
        s.add(Punch(device_id=dev.id, source="zkteco", pin="1", local_time=tokyo_local, tz_name="Asia/Tokyo",
                    utc_time=tokyo_local - timedelta(hours=9), method=2, verify_code=15, status_code=0, received_at=tokyo_local))
        add_punch(s, "ZK1", "2", datetime.combine(MON, datetime.min.time()).replace(hour=23, minute=59))  # Shanghai 23:59
        runs, _ = svc.run_presence(s, settings, ["C1"])
        view = svc.load_run(s, "C1", None)
    # 23:25 site time is 45 minutes early (the window opens at 23:40 the evening before); 23:59 is in it
    assert view.codes.tolist() == [[Reason.ABSENT], [Reason.PRESENT]]


def test_nightly_run_all_recomputes_running_classes(engine: Engine, world: dict) -> None:
    from datetime import timezone

    settings = load_settings()
    with session_scope(engine) as s:
        assert svc.import_roster(s, settings, roster([("甲", IDS[0], "1")]), "r.xlsx").ok
        svc.set_schedule(s, settings, "C1", sessions=["08:30-11:30"])
        add_punch(s, "ZK1", "1", datetime.combine(MON, datetime.min.time()).replace(hour=8, minute=30))
    long_after = datetime(2026, 6, 1, tzinfo=timezone.utc)
    assert svc.run_all(engine, settings, now=long_after) == {"classes": 0, "new_versions": 0, "needs_sampling": []}
    during = datetime(2026, 3, 4, 18, tzinfo=timezone.utc)
    assert svc.run_all(engine, settings, now=during) == {"classes": 1, "new_versions": 1, "needs_sampling": ["C1"]}
    assert svc.run_all(engine, settings, now=during)["new_versions"] == 0
