"""`punchaudit roster|presence ...` through Typer on a migrated SQLite file."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine
from typer.testing import CliRunner

from punchaudit.cli import app, common
from storage.db import session_scope
from tests.test_presence_service import IDS, MON, add_punch, roster, world  # noqa: F401  (fixture)


@pytest.fixture
def cli(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("PUNCHAUDIT_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setattr(common.console, "_width", 200)  # wide enough that table cells are not cut
    common.settings.cache_clear()
    common.engine.cache_clear()
    yield CliRunner()
    common.engine.cache_clear()
    common.settings.cache_clear()


def test_roster_schedule_run_report(cli: CliRunner, engine: Engine, world: dict, tmp_path: Path) -> None:  # noqa: F811
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(roster([("甲", IDS[0], "1"), ("乙", IDS[0], "2")]))
    r = cli.invoke(app, ["roster", "import", str(bad)])
    assert r.exit_code == 1 and "nothing imported" in r.output and "already on row 3" in r.output and IDS[0] not in r.output
    good = tmp_path / "good.xlsx"
    good.write_bytes(roster([("甲", IDS[0], "1"), ("乙", IDS[1], "2")]))
    r = cli.invoke(app, ["roster", "import", str(good)])
    assert r.exit_code == 0 and "2 new trainees" in r.output, r.output

    r = cli.invoke(app, ["presence", "run", "--class", "C1"])
    assert r.exit_code == 1 and "no schedule" in r.output
    r = cli.invoke(app, ["presence", "schedule", "C1", "-s", "08:30-11:30", "-s", "14:00-17:00", "--rest-weekday", "3",
                         "--rule", "day_rule=any"])
    assert r.exit_code == 0 and "4 training days" in r.output, r.output
    with session_scope(engine) as s:
        add_punch(s, "ZK1", "1", datetime.combine(MON, datetime.min.time()).replace(hour=13, minute=55))
    r = cli.invoke(app, ["presence", "run", "--all"])
    assert r.exit_code == 0 and "needs sampling" in r.output and "C9" in r.output, r.output
    r = cli.invoke(app, ["presence", "status"])
    assert r.exit_code == 0 and "v1" in r.output
    out = tmp_path / "sheet.xlsx"
    r = cli.invoke(app, ["presence", "report", "C1", "--format", "xlsx", "--out", str(out)])
    assert r.exit_code == 0, r.output
    ws = load_workbook(out).active
    assert any(c.value == "√" for row in ws.iter_rows() for c in row)
    sched = tmp_path / "s.csv"
    sched.write_text("class_code,sessions,from,to\nC1,08:30-11:30,2026-03-02,2026-03-03\n")
    r = cli.invoke(app, ["presence", "schedule-import", str(sched)])
    assert r.exit_code == 0 and "C1" in r.output
    r = cli.invoke(app, ["presence", "run", "--class", "C1", "--date", (MON + timedelta(days=1)).isoformat()])
    assert r.exit_code == 0 and "v2" in r.output
