"""Demo step 1: register institutions, sites, terminals and rosters through the REST API, then let the
simulated terminals push a few training days over real HTTP, and show what the server made of it."""
from __future__ import annotations

import random
from datetime import date

from rich.table import Table
from sqlalchemy import func, select

from attendance import resident_id
from punchaudit import simulate as sim
from punchaudit.cli.simulate import print_reports
from punchaudit.demo.context import DemoContext
from storage.db import session_scope
from storage.schema.core import Punch, Quarantine, RawPayload

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红娥玲芬燕彬鹏辉丹宁博文浩宇欣怡子涵梓轩"

INSTITUTIONS = [
    ("DT-PC-001", "大同市平城区职业培训学校", "平城区"),
    ("DT-YG-002", "云冈区技能培训中心", "云冈区"),
]
SITES = [  # code, institution index, name
    ("PC-MAIN", 0, "平城区职业培训学校本部"),
    ("PC-EAST", 0, "平城区职业培训学校东校区"),
    ("YG-MAIN", 1, "云冈区技能培训中心"),
]
DEVICES = [("ZK-PC-0001", "zkteco", "PC-MAIN"), ("ZK-PC-0002", "zkteco", "PC-MAIN"), ("HIK-YG-0001", "hikvision", "YG-MAIN")]
CLASSES = [  # code, site, name, occupation, level, trainees
    ("2026-PC-DG-01", "PC-MAIN", "电工（初级）第1期", "电工", "五级/初级工", 24),
    ("2026-PC-YY-02", "PC-MAIN", "育婴员（初级）第2期", "育婴员", "五级/初级工", 20),
    ("2026-PC-ZC-03", "PC-EAST", "中式烹调师（初级）第3期", "中式烹调师", "五级/初级工", 18),  # no terminal at this site
    ("2026-YG-HG-01", "YG-MAIN", "焊工（中级）第1期", "焊工", "四级/中级工", 16),
]
TARGET_GROUPS = ["农村转移劳动力", "失业人员", "脱贫劳动力", "高校毕业生", "退役军人", "残疾人"]


def _person(rng: random.Random, seq: int) -> tuple[str, str]:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    born = date(rng.randint(1975, 2004), rng.randint(1, 12), rng.randint(1, 28))
    return name, resident_id.make("140213", born, seq % 1000)


def run(ctx: DemoContext) -> None:
    rng = random.Random(7)
    ctx.console.rule("[bold]1. Register institutions, sites, terminals and rosters (REST API)")
    days = sim.recent_weekdays(ctx.days)
    ctx.first_day = days[0]
    with ctx.client() as api:
        inst_ids = {}
        for code, name, district in INSTITUTIONS:
            r = api.post("/api/v1/institutions", json={"code": code, "name": name, "district": district})
            r.raise_for_status()
            inst_ids[code] = r.json()["id"]
            key = api.post("/api/v1/keys", json={"name": f"site key {code}", "role": "site", "institution_id": inst_ids[code]})
            ctx.site_keys[code] = key.json()["key"]
        ctx.inspector_key = api.post("/api/v1/keys", json={"name": "inspector", "role": "inspector"}).json()["key"]
        site_ids = {}
        for code, inst_index, name in SITES:
            inst_code = INSTITUTIONS[inst_index][0]
            with ctx.client(ctx.site_keys[inst_code]) as site_api:  # a site registers its own venues
                r = site_api.post("/api/v1/sites", json={"code": code, "name": name})
                r.raise_for_status()
                site_ids[code] = (r.json()["id"], inst_code)
        for serial, vendor, site in DEVICES:
            api.post("/api/v1/devices", json={"serial": serial, "vendor": vendor, "site_id": site_ids[site][0]}).raise_for_status()
        seq = 0
        for code, site, name, occupation, level, size in CLASSES:
            site_id, inst_code = site_ids[site]
            with ctx.client(ctx.site_keys[inst_code]) as site_api:
                r = site_api.post("/api/v1/classes", json={
                    "site_id": site_id, "code": code, "name": name, "occupation": occupation, "level": level,
                    "start_date": days[0].isoformat(), "end_date": days[-1].isoformat()})
                r.raise_for_status()
                class_id = r.json()["id"]
                for i in range(size):
                    seq += 1
                    person, rid = _person(rng, seq)
                    site_api.post("/api/v1/enrollments", json={
                        "class_id": class_id, "pin": f"{len(ctx.class_codes) + 1}{i + 1:03d}", "resident_id": rid,
                        "name": person}).raise_for_status()
            ctx.class_codes.append(code)
    table = Table("class", "site", "trainees", "terminals at site")
    for code, site, _, _, _, size in CLASSES:
        table.add_row(code, site, str(size), ", ".join(s for s, _, st in DEVICES if st == site) or "[yellow]none[/yellow]")
    ctx.console.print(table)

    ctx.console.rule(f"[bold]2. Simulated terminals push {len(days)} training days over HTTP ({days[0]} .. {days[-1]})")
    terms = sim.terminals_from_api(ctx.base_url, ctx.admin_key)
    plan = sim.SimPlan(terminals=tuple(terms), days=days)
    from punchaudit.cli.common import progress

    with progress() as bar:
        task = bar.add_task("terminal-days", total=len(terms) * len(days))
        reports = sim.run(ctx.base_url, plan, on_day=lambda: bar.advance(task))
    print_reports(reports)
    with session_scope(ctx.engine) as s:
        stored = s.scalar(select(func.count()).select_from(Punch)) or 0
        faults = s.scalar(select(func.count()).select_from(Punch).where(Punch.clock_fault != 0)) or 0
        failed = s.scalar(select(func.count()).select_from(Punch).where(Punch.success.is_(False))) or 0
        q_lines = s.scalar(select(func.count()).select_from(Quarantine).where(Quarantine.kind == "line")) or 0
        q_payloads = s.scalar(select(func.count()).select_from(Quarantine).where(Quarantine.kind == "payload")) or 0
        raws = s.scalar(select(func.count()).select_from(RawPayload)) or 0
    acked = sum(r.lines_acked for r in reports if r.refused == 0)
    summary = Table("what the server kept", "count")
    summary.add_row("raw payloads stored as received", str(raws))
    summary.add_row("punches accepted (stored once)", f"[green]{stored}[/green]")
    summary.add_row("duplicate lines dropped (resends)", str(acked - stored - q_lines))
    summary.add_row("lines quarantined (malformed)", f"[yellow]{q_lines}[/yellow]")
    summary.add_row("payloads quarantined (unknown device)", f"[yellow]{q_payloads}[/yellow]")
    summary.add_row("clock-fault punches (kept, never presence)", str(faults))
    summary.add_row("failed verification attempts", str(failed))
    ctx.console.print(summary)
    ctx.results["ingest"] = {"punches": stored, "quarantined_lines": q_lines, "quarantined_payloads": q_payloads,
                             "days": [d.isoformat() for d in days]}
