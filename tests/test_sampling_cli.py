"""`punchaudit sample ...` end to end on a migrated database: plan, draw, review, evaluate, close,
verify and report."""
from __future__ import annotations

import re
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import Engine
from typer.testing import CliRunner

from punchaudit.cli import app
from punchaudit.config import load_settings
from punchaudit.services import presence as presence_svc
from sampling.plan import hypergeometric_plan
from storage import sampling as repo
from storage.db import session_scope
from tests.sampling_testkit import make_class
from tests.seed import seed


def test_sample_commands(cli: CliRunner, engine: Engine, tmp_path: Path) -> None:
    r = cli.invoke(app, ["sample", "plan", "--sessions", "40"])
    assert r.exit_code == 0, r.output
    assert re.search(rf"sample size n\D+{hypergeometric_plan(40).sample_size}\b", r.output), r.output
    assert "defects_rounding" in r.output and "ceil" in r.output
    s = seed(engine)
    make_class(engine, s.institution_id, s.site_id, code="C7", days=10, trainees=3)
    assert cli.invoke(app, ["sample", "plan", "C7"]).exit_code == 1  # no presence run yet: clear error
    with session_scope(engine) as ses:
        presence_svc.set_schedule(ses, load_settings(), "C7", sessions=["08:30-11:30", "14:00-17:00"])
        presence_svc.run_presence(ses, load_settings(), ["C7"])
    r = cli.invoke(app, ["sample", "draw", "C7", "--seed", "dice-31415", "--no-clips"])
    assert r.exit_code == 0, r.output
    assert "dice-31415" in r.output and "stratified" in r.output
    with session_scope(engine) as ses:
        row = repo.list_inspections(ses)[0]
        items = [i.id for i in repo.items(ses, row.id)]
    assert cli.invoke(app, ["sample", "draw", "C7"]).exit_code == 1  # one open inspection per class
    for k, item in enumerate(items):
        flag = "--held" if k else "--not-held"
        r = cli.invoke(app, ["sample", "review", str(row.id), "--item", str(item), flag, "--head-count", "3",
                             "--inspector", "王检查员"])
        assert r.exit_code == 0, r.output
    r = cli.invoke(app, ["sample", "evaluate", str(row.id)])
    assert "decision: fail" in r.output and "D_U" in r.output
    assert cli.invoke(app, ["sample", "verify", str(row.id)]).exit_code == 0
    assert cli.invoke(app, ["sample", "close", str(row.id)]).exit_code == 0
    r = cli.invoke(app, ["sample", "report", str(row.id), "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    xlsx = next(tmp_path.glob("*.xlsx"))
    html = next(tmp_path.glob("*.html")).read_text(encoding="utf-8")
    assert "dice-31415" in html and "不合格" in html
    assert load_workbook(xlsx).worksheets[2].max_row == 1 + len(items)
    r = cli.invoke(app, ["sample", "list", "--status", "closed"])
    assert "dice-31415" in r.output
