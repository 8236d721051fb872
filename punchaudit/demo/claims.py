"""Demo step (last): institutions upload contracts, certificates and assessment results over HTTP,
build each class's claim from its latest presence run and inspection decision, and the bureau sees
every class's amount with the reasons for every reduction. XLSX packages go to <workdir>/claims."""
from __future__ import annotations

import csv
import io
import random
from collections import defaultdict

from rich.table import Table
from sqlalchemy import select

from attendance import resident_id
from punchaudit.demo import ingest
from punchaudit.demo.context import DemoContext
from punchaudit.services import claims as svc
from storage.db import session_scope
from storage.schema.core import Trainee
from subsidy.rules import format_yuan

# per class (in ingest.CLASSES order): trainees with a >= 6-month contract, with a 3-month one, failed the
# final assessment (the last ones), first-time junior certificates, repeated junior certificates
SCENARIO = [(20, 1, 0, 5, 1), (15, 0, 0, 0, 0), (18, 0, 0, 0, 0), (13, 1, 2, 0, 0)]


def _roster_ids() -> dict[str, list[str]]:
    """The demo roster's resident IDs, regenerated the way the ingest step drew them (same seed)."""
    rng, seq, out = random.Random(7), 0, {}
    for code, _site, _name, _occ, _level, size in ingest.CLASSES:
        ids = []
        for _ in range(size):
            seq += 1
            ids.append(ingest._person(rng, seq)[1])
        out[code] = ids
    return out


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode()


def _institution_of(class_code: str) -> str:
    site = next(c[1] for c in ingest.CLASSES if c[0] == class_code)
    return ingest.INSTITUTIONS[next(s[1] for s in ingest.SITES if s[0] == site)][0]


def _upload_records(ctx: DemoContext) -> None:
    rosters = _roster_ids()
    key = ctx.settings.secret_key.encode()
    with session_scope(ctx.engine) as s:
        known = set(s.scalars(select(Trainee.id_hash)))
    issued = (ctx.first_day.isoformat())
    for (code, ids), (employed, short, failed, certs, repeats) in zip(rosters.items(), SCENARIO, strict=True):
        ids = [i for i in ids if resident_id.keyed_hash(i, key) in known]
        jobs = [[i, code, "大同云数据标注有限公司", issued, "12", f"HT-{code}-{n + 1:03d}"] for n, i in enumerate(ids[:employed])]
        jobs += [[i, code, "平城区家政服务公司", issued, "3", f"HT-{code}-S{n + 1}"]
                 for n, i in enumerate(ids[employed:employed + short])]
        results = [[i, code, "不合格" if n >= len(ids) - failed else "合格"] for n, i in enumerate(ids)]
        cert_rows = [[i, code, "初级工", f"ZS-{code}-{n + 1:03d}", issued, "是"] for n, i in enumerate(ids[:certs])]
        cert_rows += [[i, code, "初级工", f"ZS-{code}-R{n + 1:03d}", issued, "否"]
                      for n, i in enumerate(ids[certs:certs + repeats])]
        uploads = [("employment", _csv(["身份证号", "班级编号", "就业单位", "合同开始日期", "合同期限（月）", "证明材料"], jobs)),
                   ("assessment", _csv(["身份证号", "班级编号", "结业考核"], results))]
        if cert_rows:
            uploads.append(("certificates", _csv(["身份证号", "班级编号", "证书等级", "证书编号", "发证日期", "初次取证"], cert_rows)))
        with ctx.client(ctx.site_keys[_institution_of(code)]) as api:
            for kind, data in uploads:
                r = api.post(f"/api/v1/claims/records/{kind}", files={"file": (f"{code}-{kind}.csv", data, "text/csv")})
                r.raise_for_status()


def _reductions(detail: dict, language: str) -> list[tuple[str, str, int, int]]:
    """(code, text, trainees, fen reduced) per reason; a line's cut is charged to its last reason."""
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    text = {}
    for line in detail["lines"]:
        if not line["reasons"]:
            continue
        last = line["reasons"][-1]
        text[last["code"]] = last["en" if language == "en" else "zh"]
        per[last["code"]][0] += 1
        per[last["code"]][1] += line["base_fen"] - line["amount_fen"]
    return [(code, text[code], n, fen) for code, (n, fen) in per.items()]


def run(ctx: DemoContext) -> None:
    ctx.console.rule("[bold]Claims: subsidy per class from verified attendance (附件2 申请表, 附件3 人员名册)")
    _upload_records(ctx)
    out_dir = ctx.workdir / "claims"
    built = {}
    for code in ctx.class_codes:
        with ctx.client(ctx.site_keys[_institution_of(code)]) as api:
            r = api.post("/api/v1/claims", json={"class_code": code})
            r.raise_for_status()
            built[code] = r.json()
    summary = Table("class", "presence run", "punch records", "inspection", "employment", "claimed CNY", "training payable",
                    title="claims built (draft, version shown)")
    for code, d in built.items():
        summary.add_row(f"{code} v{d['version']}", str(d["presence_run_id"] or "none"), "yes" if d["has_punch_records"] else "no",
                        f"{d['inspection_id'] or '-'} {d['inspection_decision'] or ('not needed' if d['has_punch_records'] else 'pending')}",
                        d["employment_rate"] or "-", d["total_yuan"], "[green]yes[/green]" if d["payable"] else "[red]no[/red]")
    ctx.console.print(summary)
    for code, d in built.items():
        cut = _reductions(d, ctx.settings.language)
        table = Table("reason", "trainees", "reduced CNY", title=f"{code}: {d['total_yuan']} CNY claimed, reductions")
        for reason_code, text, n, fen in cut:
            table.add_row(f"{reason_code}: {text}", str(n), format_yuan(fen))
        if not cut:
            table.add_row("none", "0", "0.00")
        ctx.console.print(table)
    with session_scope(ctx.engine) as s:
        paths = [svc.write_package(s, ctx.settings, d["id"], out_dir) for d in built.values()]
    ctx.console.print(f"{len(paths)} claim packages written to {out_dir}")

    # an institution files its claim and the bureau decides; a rebuild afterwards is a new version
    first = next((c for c, d in built.items() if d["payable"]), ctx.class_codes[0])
    cid = built[first]["id"]
    with ctx.client(ctx.site_keys[_institution_of(first)]) as api:
        api.post(f"/api/v1/claims/{cid}/submit").raise_for_status()
    action, note = ("approve", "材料齐全") if built[first]["payable"] else ("reject", "无打卡记录且抽验未通过，不予补贴")
    with ctx.client(ctx.inspector_key) as api:
        decided = api.post(f"/api/v1/claims/{cid}/{action}", json={"note": note}).json()
    with ctx.client(ctx.site_keys[_institution_of(first)]) as api:
        again = api.post("/api/v1/claims", json={"class_code": first}).json()
    ctx.console.print(f"{first}: version {decided['version']} {decided['state']} at {decided['total_yuan']} CNY "
                      f"(frozen); rebuilt as version {again['version']} ({again['state']}, {again['total_yuan']} CNY)")
    years = sorted({int(y[:4]) for y in ctx.results.get("ingest", {}).get("days", [])})
    if years and not set(years) & {2022, 2023, 2024}:
        ctx.console.print(f"annex 1 targets cover 2022-2024; the demo's classes run in {years[0]}, so "
                          "`punchaudit claims targets` shows them as outside the policy period")
    ctx.results["claims"] = {code: {"id": d["id"], "total_fen": d["total_fen"], "payable": d["payable"],
                                    "reasons": [r["code"] for r in d["reasons"]]} for code, d in built.items()}
