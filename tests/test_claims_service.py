"""Claims end to end on the database: build, versions frozen on submit, transitions, imports,
packages and the targets report. Runs on SQLite, and on PostgreSQL when configured."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from attendance import resident_id as rid
from punchaudit.config import load_settings
from punchaudit.services import claims as svc
from punchaudit.services.claims import InspectionEvidence, PresenceEvidence
from storage.db import session_scope
from storage.schema.claims import Claim, ClaimLine
from storage.schema.core import Enrollment, Institution, Site, Trainee, TrainingClass
from subsidy import forms

pytestmark = pytest.mark.postgres
SETTINGS = load_settings()
KEY = SETTINGS.secret_key.encode()


def resident(n: int) -> str:
    return rid.make("140202", date(1990, 1, 1) + timedelta(days=n), n % 1000)


def seed(engine: Engine, n: int = 5, district: str = "平城区", kind: str = "project", code: str = "C1",
         inst_code: str = "I1") -> dict[str, int]:
    with session_scope(engine) as s:
        inst = s.scalar(select(Institution).where(Institution.code == inst_code))
        if inst is None:
            inst = Institution(code=inst_code, name="大同示范培训学校", district=district)
            s.add(inst)
            s.flush()
            s.add(Site(institution_id=inst.id, code=inst_code + "-S", name="校区"))
            s.flush()
        site = s.scalar(select(Site).where(Site.institution_id == inst.id))
        cls = TrainingClass(code=code, institution_id=inst.id, site_id=site.id, name="数据标注员班", occupation="数据标注员",
                            kind=kind, start_date=date(2023, 3, 1), end_date=date(2023, 4, 9))
        s.add(cls)
        s.flush()
        ids = []
        for i in range(n):
            number = resident(len(code) * 100 + i if code != "C1" else i)
            t = s.scalar(select(Trainee).where(Trainee.id_hash == rid.keyed_hash(number, KEY)))
            if t is None:
                t = Trainee(name=f"学员{i}", id_masked=rid.mask(number), id_hash=rid.keyed_hash(number, KEY),
                            gender=rid.gender(number), target_group="失业人员")
                s.add(t)
                s.flush()
            s.add(Enrollment(class_id=cls.id, trainee_id=t.id, pin=str(i + 1)))
            ids.append(t.id)
        return {"institution": inst.id, "class": cls.id, **{f"t{i}": tid for i, tid in enumerate(ids)}}


def employment_csv(rows: list[tuple[int, int]], class_code: str = "C1") -> bytes:
    lines = ["身份证号,班级编号,就业单位,合同开始日期,合同期限（月）,证明材料"]
    lines += [f"{resident(i)},{class_code},大同数据标注有限公司,2023-04-20,{m},HT-{i}" for i, m in rows]
    return "\n".join(lines).encode()


def presence(ids: dict[str, int], days: list[int], *, records: bool = True) -> PresenceEvidence:
    return PresenceEvidence(41, 30, records, {ids[f"t{i}"]: d for i, d in enumerate(days)}, "2023-04-10T01:30:00")


def build(engine: Engine, ids: dict[str, int], days: list[int], **kw) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        return svc.build_claim(s, SETTINGS, "C1", "ops", presence=presence(ids, days), **kw).id


def test_build_submit_freeze_and_new_version(engine: Engine) -> None:
    ids = seed(engine)
    with session_scope(engine) as s:
        assert svc.import_records(s, SETTINGS, "employment", "jobs.csv", employment_csv([(0, 12), (1, 6), (2, 5)])) == 3
    claim_id = build(engine, ids, [30, 40, 10, 30, 30])
    with session_scope(engine) as s:
        d = svc.detail(s, claim_id)
        # 2 of 5 employed (trainee 2 has 5 months): 40% < 80% -> general subsidy, at most 1,000 each
        assert d["employment_rate"] == "2/5" and d["total_fen"] == 5 * 100000
        assert d["reasons"][0]["code"] == "general_cap"
        assert d["lines"][0]["id_masked"].count("*") == 10
        svc.transition(s, claim_id, "submit", "site-user")
    with session_scope(engine) as s:
        with pytest.raises(svc.ClaimStateError):
            svc.transition(s, claim_id, "submit", "site-user")
    # the database refuses to change a submitted claim's amounts or lines
    for statement in ("UPDATE claim SET total_fen = 1 WHERE id = :i", "UPDATE claim_line SET amount_fen = 1 WHERE claim_id = :i",
                      "DELETE FROM claim_line WHERE claim_id = :i", "DELETE FROM claim WHERE id = :i"):
        with pytest.raises(DBAPIError, match="frozen"):
            with engine.begin() as conn:
                conn.execute(text(statement), {"i": claim_id})
    # more contracts arrive: a rebuild is a new version, the submitted one does not move
    with session_scope(engine) as s:
        svc.import_records(s, SETTINGS, "employment", "more.xlsx", _xlsx(employment_csv([(2, 12), (3, 24)])))
    second = build(engine, ids, [30, 40, 10, 30, 30])
    with session_scope(engine) as s:
        first, new = s.get(Claim, claim_id), s.get(Claim, second)
        assert (first.version, first.state, first.total_fen) == (1, "submitted", 500000)
        # the submitted version's package still shows the 5-month contract it was computed from
        _, data = svc.package_bytes(s, SETTINGS, claim_id)
        roster = load_workbook(BytesIO(data))["附件3 人员名册"]
        assert [roster.cell(r, 11).value for r in range(5, 10)] == [12, 6, 5, None, None]
        _, data = svc.package_bytes(s, SETTINGS, second)
        roster = load_workbook(BytesIO(data))["附件3 人员名册"]
        assert [roster.cell(r, 11).value for r in range(5, 10)] == [12, 6, 12, 24, None]
        assert roster.cell(7, 12).value == "HT-2"
        # 4 of 5 employed = 80%: full rates for the employed, trainee 4 not employed
        assert (new.version, new.state, new.total_fen) == (2, "draft", 350000 + 400000 + 150000 + 350000)
    # only the latest version can be submitted
    third = build(engine, ids, [30, 40, 10, 30, 30])
    with session_scope(engine) as s:
        with pytest.raises(svc.ClaimStateError, match="not the latest"):
            svc.transition(s, second, "submit", "site-user")
        assert svc.transition(s, third, "submit", "site-user").state == "submitted"


def _xlsx(csv_bytes: bytes) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    for line in csv_bytes.decode().splitlines():
        wb.active.append(line.split(","))
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_state_history_and_decisions(engine: Engine) -> None:
    ids = seed(engine)
    claim_id = build(engine, ids, [12] * 5)
    with session_scope(engine) as s:
        with pytest.raises(svc.ClaimStateError):
            svc.transition(s, claim_id, "approve", "inspector")
        svc.transition(s, claim_id, "submit", "site")
        svc.transition(s, claim_id, "reject", "inspector", note="合同材料不全")
        events = svc.detail(s, claim_id)["events"]
    assert [(e["from"], e["to"], e["actor"]) for e in events] == [
        (None, "draft", "ops"), ("draft", "submitted", "site"), ("submitted", "rejected", "inspector")]
    assert events[-1]["note"] == "合同材料不全"


def test_inspection_gate(engine: Engine) -> None:
    ids = seed(engine, n=3)
    with session_scope(engine) as s:
        pending = svc.build_claim(s, SETTINGS, "C1", "ops", presence=presence(ids, [0, 0, 0], records=False))
        failed = svc.build_claim(s, SETTINGS, "C1", "ops", presence=presence(ids, [0, 0, 0], records=False),
                                 inspection=InspectionEvidence(9, "fail", "2023-04-20T00:00:00"))
        passed = svc.build_claim(s, SETTINGS, "C1", "ops", presence=presence(ids, [0, 0, 0], records=False),
                                 inspection=InspectionEvidence(10, "pass", "2023-04-20T00:00:00"))
        assert (pending.total_fen, pending.payable) == (0, False)
        assert svc.summary(failed, "C1")["reasons"][0]["code"] == "inspection_failed"
        # no contracts on file: rate 0 -> general subsidy of 1,000 for 30 scheduled days
        assert passed.payable and passed.total_fen == 3 * 100000 and passed.inspection_id == 10


def test_site_scope(engine: Engine) -> None:
    ids = seed(engine)
    other = seed(engine, n=1, code="C2", inst_code="I2", district="云冈区")
    claim_id = build(engine, ids, [5] * 5)
    with session_scope(engine) as s:
        with pytest.raises(svc.NotFound):
            svc.detail(s, claim_id, scope=other["institution"])
        with pytest.raises(svc.NotFound):
            svc.build_claim(s, SETTINGS, "C1", "x", scope=other["institution"])
        assert svc.list_claims(s, scope=other["institution"]) == []
        assert [c["id"] for c in svc.list_claims(s, scope=ids["institution"])] == [claim_id]


def test_import_is_all_or_nothing(engine: Engine) -> None:
    seed(engine)
    bad_id = resident(1)[:17] + ("0" if resident(1)[17] != "0" else "1")
    data = employment_csv([(0, 12)]) + f"\n{bad_id},C1,某公司,2023-05-01,12,\n{resident(3)},C9,某公司,2023-05-01,12,\n".encode()
    with session_scope(engine) as s:
        with pytest.raises(svc.ImportRejected) as exc:
            svc.import_records(s, SETTINGS, "employment", "jobs.csv", data)
        assert [e.split(":")[0] for e in exc.value.errors] == ["row 3", "row 4"]
        assert bad_id not in str(exc.value)
    with session_scope(engine) as s:
        assert s.scalar(text("SELECT count(*) FROM employment_record")) == 0


def test_certificates_first_time_and_repeat(engine: Engine) -> None:
    ids = seed(engine, n=3, kind="certification")
    csv = ("身份证号,班级编号,证书等级,证书编号,发证日期,初次取证\n"
           f"{resident(0)},C1,初级工,Z-1,2023-05-01,是\n"
           f"{resident(1)},C1,中级工,Z-2,2023-05-01,否\n"
           f"{resident(2)},,高级工,Z-0,2021-01-01,是\n"
           f"{resident(2)},C1,高级工,Z-3,2023-05-01,是\n").encode()
    with session_scope(engine) as s:
        assert svc.import_records(s, SETTINGS, "certificates", "certs.csv", csv) == 4
        claim = svc.build_claim(s, SETTINGS, "C1", "ops", presence=PresenceEvidence(None, 0, False))
        lines = svc.detail(s, claim.id)["lines"]
    assert [(l["level"], l["amount_fen"]) for l in lines] == [("junior", 40000), ("intermediate", 0), ("senior", 0)]
    assert lines[2]["reasons"][0]["code"] == "cert_already_held"  # held a senior certificate since 2021
    assert ids["class"]


def test_assessment_results_set_the_rate_base(engine: Engine) -> None:
    ids = seed(engine, n=5)
    results = "身份证号,班级编号,结业考核\n" + "".join(f"{resident(i)},C1,{'合格' if i < 4 else '不合格'}\n" for i in range(5))
    with session_scope(engine) as s:
        svc.import_records(s, SETTINGS, "assessment", "r.csv", results.encode())
        svc.import_records(s, SETTINGS, "employment", "e.csv", employment_csv([(i, 12) for i in range(4)]))
    claim_id = build(engine, ids, [30] * 5)
    with session_scope(engine) as s:
        d = svc.detail(s, claim_id)
    assert (d["passed"], d["employed"], d["employment_rate"]) == (4, 4, "4/4")
    assert d["total_fen"] == 4 * 350000 and d["lines"][4]["reasons"][0]["code"] == "not_passed"


def test_package_matches_the_frozen_claim(engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ids = seed(engine)
    with session_scope(engine) as s:
        svc.import_records(s, SETTINGS, "employment", "jobs.csv", employment_csv([(i, 12) for i in range(5)]))
    claim_id = build(engine, ids, [30, 40, 10, 3, 0])
    with session_scope(engine) as s:
        path = svc.write_package(s, SETTINGS, claim_id, tmp_path)
        total = s.get(Claim, claim_id).total_fen
        n_lines = len(list(s.scalars(select(ClaimLine).where(ClaimLine.claim_id == claim_id))))
    wb = load_workbook(path)
    roster = wb["附件3 人员名册"]
    amounts = [forms.decimal_cell(roster.cell(r, 16).value) for r in range(5, 5 + n_lines)]
    assert amounts == [Decimal("3500"), Decimal("4000"), Decimal("1500"), Decimal("450"), Decimal("0")]
    assert sum(amounts) * 100 == total
    annex2 = wb["附件2 申请表"]
    total_row = next(r for r in range(12, 20) if annex2.cell(r, 1).value == "合计")
    assert forms.decimal_cell(annex2.cell(total_row, 4).value) * 1_000_000 == total
    evidence = {r[0].value: r[1].value for r in wb["证据摘要"].iter_rows(min_row=2, max_col=2) if r[0].value}
    assert evidence["出勤核验运算编号"] == "41" and evidence["就业率"] == "5/5 = 100.0%"
    name, data = svc_package_en(engine, claim_id)
    assert name.endswith("_en.xlsx") and load_workbook(BytesIO(data)).sheetnames[0] == "Annex 2 application"


def svc_package_en(engine: Engine, claim_id: int) -> tuple[str, bytes]:
    with session_scope(engine) as s:
        return svc.package_bytes(s, SETTINGS, claim_id, language="en")


def test_targets_report_counts_submitted_and_approved(engine: Engine) -> None:
    ids = seed(engine, n=4, district="云冈区")
    with session_scope(engine) as s:
        svc.import_records(s, SETTINGS, "employment", "e.csv", employment_csv([(i, 12) for i in range(4)]))
    claim_id = build(engine, ids, [30, 30, 30, 0])
    with session_scope(engine) as s:
        rows, _ = svc.targets_report(s, SETTINGS, [2023])
        assert next(r for r in rows if r.district == "云冈区" and r.measure == "project").verified == 0  # draft
        svc.transition(s, claim_id, "submit", "site")
        svc.transition(s, claim_id, "approve", "inspector")
        rows, unknown = svc.targets_report(s, SETTINGS, [2023])
    row = next(r for r in rows if r.district == "云冈区" and r.measure == "project")
    assert (row.year_target, row.verified) == (480, 3)  # trainee 3 had no verified days
    assert unknown == {}
