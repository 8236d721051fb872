"""`punchaudit claims ...` through Typer on a migrated SQLite file."""
from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import Engine
from typer.testing import CliRunner

from punchaudit.cli import app
from tests.test_claims_service import employment_csv, seed


def test_import_build_submit_approve_and_package(cli: CliRunner, engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    jobs = tmp_path / "jobs.csv"
    jobs.write_bytes(employment_csv([(i, 12) for i in range(4)]))
    r = cli.invoke(app, ["claims", "employment", "import", str(jobs)])
    assert r.exit_code == 0 and "4 employment record(s)" in r.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(employment_csv([(0, 12)], class_code="NOPE"))
    r = cli.invoke(app, ["claims", "employment", "import", str(bad)])
    assert r.exit_code == 1 and "row 2: class NOPE not found" in r.output

    r = cli.invoke(app, ["claims", "build", "C1", "--out", str(tmp_path / "out"), "--by", "tester"])
    assert r.exit_code == 0, r.output
    assert "NOT PAYABLE" in r.output  # this database has no presence run: no punch records, no inspection
    [package] = (tmp_path / "out").glob("claim_C1_v1_*.xlsx")
    assert load_workbook(package).sheetnames[0] == "附件2 申请表"

    assert cli.invoke(app, ["claims", "approve", "1", "--by", "bureau"]).exit_code == 1
    assert "submitted" in cli.invoke(app, ["claims", "submit", "1", "--by", "tester"]).output
    assert "approved" in cli.invoke(app, ["claims", "approve", "1", "--by", "bureau", "--note", "ok"]).output
    r = cli.invoke(app, ["claims", "list", "--state", "approved"])
    assert r.exit_code == 0 and "C1" in r.output
    r = cli.invoke(app, ["claims", "targets", "--year", "2023", "--measure", "project"])
    assert r.exit_code == 0 and "平城区" in r.output and "400" in r.output
    assert cli.invoke(app, ["claims", "targets", "--year", "2025"]).exit_code == 1


def test_package_with_bank_details(cli: CliRunner, engine: Engine, tmp_path: Path) -> None:
    seed(engine)
    assert cli.invoke(app, ["claims", "build", "C1"]).exit_code == 0
    r = cli.invoke(app, ["claims", "package", "1", "--out", str(tmp_path), "--language", "zh", "--account-name",
                         "大同示范培训学校", "--account-no", "6222000011112222", "--bank", "中国工商银行大同分行"])
    assert r.exit_code == 0, r.output
    ws = load_workbook(tmp_path / "claim_C1_v1_zh.xlsx")["附件2 申请表"]
    assert (ws["B8"].value, ws["D8"].value, ws["B9"].value) == ("大同示范培训学校", "6222000011112222", "中国工商银行大同分行")
    assert cli.invoke(app, ["claims", "package", "99", "--out", str(tmp_path)]).exit_code == 1
