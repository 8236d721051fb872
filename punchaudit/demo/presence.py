"""Demo step: rosters, schedules and presence.

A third class of the first institution comes with its roster as the bureau's XLSX form: a first
upload with two bad rows is refused (every bad row listed, nothing stored), the corrected one is
imported. Every class gets its schedule (the ingest step's training days, two sessions a day, in the
site's zone), presence runs for all classes at once through the API, and each class is classified:
has punch records, or needs a video sampling inspection. The sign-in sheets go to var/demo/reports.
"""
from __future__ import annotations

import random
from datetime import date, timedelta

from rich.table import Table

from attendance import resident_id
from attendance.report import mark
from attendance.roster import roster_xlsx
from punchaudit.cli.presence import summary_table
from punchaudit.demo.context import DemoContext
from punchaudit.services.presence import RunSummary

ROSTER_CLASS = ("2026-PC-SJ-04", "PC-MAIN", "数据标注员（初级）第4期", "数据标注员", "五级/初级工")
INSTITUTION = "DT-PC-001"
SESSIONS = ["08:30-11:30", "14:00-17:00"]  # the simulated terminals' sessions
NAMES = ["赵敏", "钱程", "孙悦", "李想", "周航", "吴桐", "郑爽", "王可", "冯源", "陈晨"]
GROUPS = ["农村转移劳动力", "失业人员", "脱贫劳动力", "高校毕业生", "退役军人", "残疾人"]


def _roster_rows(rng: random.Random, code: str) -> list[dict[str, str]]:
    rows = []
    for i, name in enumerate(NAMES):
        rid = resident_id.make("140202", date(rng.randint(1978, 2003), rng.randint(1, 12), rng.randint(1, 28)), 500 + i)
        rows.append({"name": name, "resident_id": rid, "gender": "男" if resident_id.gender(rid) == "M" else "女",
                     "phone": f"139{rng.randint(10**7, 10**8 - 1)}", "target_group": GROUPS[i % len(GROUPS)],
                     "class_code": code, "pin": f"5{i + 1:03d}"})
    return rows


def run(ctx: DemoContext) -> None:
    ctx.console.rule("[bold]Presence: roster import, class schedules, presence for every class")
    days = [date.fromisoformat(d) for d in ctx.results.get("ingest", {}).get("days", [])] or \
        [ctx.first_day + timedelta(days=i) for i in range(ctx.days)]
    code, site_code, name, occupation, level = ROSTER_CLASS
    site_key = ctx.site_keys[INSTITUTION]
    rng = random.Random(11)
    with ctx.client(site_key) as site_api:
        site_id = next(s["id"] for s in site_api.get("/api/v1/sites").json()["items"] if s["code"] == site_code)
        site_api.post("/api/v1/classes", json={"site_id": site_id, "code": code, "name": name, "occupation": occupation,
                                               "level": level, "start_date": days[0].isoformat(),
                                               "end_date": days[-1].isoformat()}).raise_for_status()
        rows = _roster_rows(rng, code)
        broken = [dict(r) for r in rows]
        broken[3]["resident_id"] = broken[3]["resident_id"][:17] + ("0" if broken[3]["resident_id"][17] != "0" else "1")
        broken[7]["pin"] = broken[6]["pin"]
        (ctx.workdir / "reports").mkdir(parents=True, exist_ok=True)
        refused = site_api.post("/api/v1/presence/roster", files={"file": ("名册-有误.xlsx", roster_xlsx(broken))})
        errors = Table("row", "column", "problem", title=f"roster with mistakes: HTTP {refused.status_code}, nothing imported")
        for e in refused.json()["detail"]["errors"]:
            errors.add_row(str(e["row"]), e["field"], e["reason"])
        ctx.console.print(errors)
        ok = site_api.post("/api/v1/presence/roster", files={"file": ("名册.xlsx", roster_xlsx(rows))})
        ok.raise_for_status()
        ctx.console.print(f"corrected roster for {code}: [green]{ok.json()['enrollments_created']} trainees enrolled[/green]")

    with ctx.client() as api:
        classes = [c for c in api.get("/api/v1/presence/classification").json()]
        for c in classes:
            api.put(f"/api/v1/presence/classes/{c['class_code']}/schedule",
                    json={"sessions": SESSIONS, "days": [d.isoformat() for d in days]}).raise_for_status()
        ctx.console.print(f"schedules set for {len(classes)} classes: {len(days)} training days "
                          f"({days[0]} .. {days[-1]}), sessions {', '.join(SESSIONS)}, zone of each class's site")
        ran = api.post("/api/v1/presence/runs", json={"all": True})
        ran.raise_for_status()
        runs = [RunSummary(**{k: v for k, v in r.items() if k != "classification"}) for r in ran.json()["runs"]]
        ctx.console.print(summary_table(runs))
        for r in runs:
            sheet = api.get(f"/api/v1/presence/classes/{r.class_code}/report", params={"format": "xlsx"})
            sheet.raise_for_status()
            (ctx.workdir / "reports" / f"{r.class_code}-签到表-v{r.version}.xlsx").write_bytes(sheet.content)
        example = api.get(f"/api/v1/presence/classes/{runs[0].class_code}/runs/latest").json()
    reasons: dict[str, int] = {}
    for t in example["trainees"]:
        for reason in t["reasons"]:
            reasons[reason] = reasons.get(reason, 0) + 1
    sheet = Table("姓名", *[d[5:] for d in example["days"]], "出勤天数",
                  title=f"签到表 {runs[0].class_code} v{runs[0].version} (first trainees; √ present, 迟 late, × absent, 卡 card only)")
    odd = [t for t in example["trainees"] if any(c != 0 for c in t["codes"])]
    for t in (odd + [t for t in example["trainees"] if t not in odd])[:6]:
        sheet.add_row(t["name"], *[mark(c) for c in t["codes"]], str(t["days_present"]))
    ctx.console.print(sheet)
    ctx.console.print(f"{runs[0].class_code} trainee-days by reason: " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())))
    ctx.console.print(f"sign-in sheets (签到表) written to {ctx.workdir / 'reports'}")
    ctx.results["presence"] = {r.class_code: {"run_id": r.run_id, "version": r.version, "has_records": r.has_records,
                                              "sessions_without_records": r.sessions_without_records} for r in runs}
