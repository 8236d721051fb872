"""The footage, audit and jobs commands end to end on a SQLite file."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from footage_testkit import make_world, write_video


@pytest.fixture
def run(cli: CliRunner, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The conftest CLI runner, with a small world and the footage store in a temporary folder."""
    make_world(engine, class_start=date(2026, 11, 2), class_end=date(2026, 11, 6))
    monkeypatch.setenv("PUNCHAUDIT_FOOTAGE__ROOT", str(tmp_path / "footage"))
    monkeypatch.setenv("PUNCHAUDIT_FOOTAGE__AUDIT_HEAD_FILE", str(tmp_path / "head.json"))
    from punchaudit.cli import app

    return lambda *args: cli.invoke(app, list(args), catch_exceptions=False)


def test_footage_commands(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "footage"
    write_video(root / "S1" / "cam1" / "cam1_20261102T083000_20261102T083002.mp4", seconds=2)
    (root / "S1" / "cam1" / "cam1_20261102T090000_20261102T100000.mp4").write_bytes(b"\0" * 4096)
    r = run("footage", "scan", str(root))
    assert r.exit_code == 0 and "2 new (1 defective)" in r.output, r.output
    assert "0 new (0 defective), 2 already registered" in run("footage", "scan", str(root)).output
    outside = write_video(tmp_path / "export" / "door.avi", seconds=1, fourcc="MJPG")
    r = run("footage", "register", str(outside), "--site", "S1", "--camera", "door",
            "--start", "2026-11-03T08:00:00", "--end", "2026-11-03T08:00:01")
    assert r.exit_code == 0 and "S1/door/door.avi ok" in r.output.replace("[green]", ""), r.output
    r = run("footage", "delete", "1")
    assert r.exit_code == 1 and "retained until 2028-11-05" in r.output, r.output
    r = run("footage", "hold", "--class", "C1", "--reason", "inspection 9", "--by", "inspector-wang")
    assert r.exit_code == 0 and "hold 1 set" in r.output
    assert "legal hold 1" in run("footage", "delete", "1").output
    assert run("footage", "release", "1", "--reason", "done").exit_code == 0
    assert run("footage", "verify", "--all").exit_code == 0
    assert run("footage", "verify", "--all", "--digest", "sha256").exit_code == 0
    r = run("footage", "verify", "--digest", "md5")
    assert r.exit_code == 1 and "choose blake3 or sha256" in r.output, r.output
    (root / "S1" / "cam1" / "cam1_20261102T083000_20261102T083002.mp4").unlink()
    with open(root / "S1" / "door" / "door.avi", "r+b") as f:
        f.seek(-1, 2)
        last = f.read(1)
        f.seek(-1, 2)
        f.write(bytes([last[0] ^ 1]))
    r = run("footage", "verify", "--all")
    assert r.exit_code == 1 and "missing footage 1" in r.output
    assert "altered footage 3 S1/door/door.avi: blake3 " in " ".join(r.output.split()), r.output
    r = run("footage", "status", "--json")
    counts = json.loads(r.output)["counts"]
    assert counts["missing"]["files"] == 1 and counts["defective"]["files"] == 1 and counts["altered"]["files"] == 1
    r = run("footage", "coverage", "C1")
    assert r.exit_code == 0 and "0 of 10 sessions filmed" in r.output
    assert run("audit", "export-head").exit_code == 0
    r = run("audit", "verify", "--head", str(tmp_path / "head.json"))
    assert r.exit_code == 0 and "audit log intact" in r.output
    r = run("jobs", "--run", "retention_sweep", "--date", "2026-11-30")
    assert r.exit_code == 0 and "retention_sweep 2026-11-30: ok" in r.output
    assert "skipped" in run("jobs", "--run", "retention_sweep", "--date", "2026-11-30").output
    runs = json.loads(run("jobs", "--json").output)
    assert [(x["job"], x["status"]) for x in runs] == [("retention_sweep", "ok")]
    assert "retention_sweep" in run("scheduler", "--list").output
