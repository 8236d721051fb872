"""The command line: every command has --help, and the ingest commands work on a real database."""
from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from devices.sheets import build_csv
from punchaudit.cli import app
from storage.db import session_scope
from storage.schema.core import Punch
from tests.seed import seed

runner = CliRunner()


def _commands(group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:  # type: ignore[no-untyped-def]
    out = [prefix]
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):  # a group (Typer may bring its own click)
            out += _commands(cmd, prefix + (name,))
        else:
            out.append(prefix + (name,))
    return out


def test_every_command_has_help() -> None:
    root = typer.main.get_command(app)
    assert hasattr(root, "commands")
    paths = _commands(root)
    assert len(paths) > 20
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output
        cmd = root
        for part in path:
            cmd = cmd.commands[part]  # type: ignore[attr-defined]
        assert (cmd.help or cmd.short_help or "").strip(), f"{' '.join(path)} has no help text"


def test_ingest_file_and_quarantine_commands(cli: CliRunner, engine: Engine, tmp_path: Path) -> None:
    cli_db = engine
    seed(cli_db, hik_serial="HIK-CLI-1")
    path = tmp_path / "export.csv"
    path.write_bytes(build_csv([["工号", "姓名", "打卡时间", "验证方式"], ["1", "张伟", "2026-03-02 08:55:00", "指纹"],
                                ["2", "李娜", "garbage", "人脸"]], encoding="gbk"))
    result = runner.invoke(app, ["ingest", str(path), "--device", "HIK-CLI-1"])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())  # rich wraps long temp paths
    assert "1 new" in output and "1 quarantined" in output
    with session_scope(cli_db) as s:
        assert s.scalar(select(func.count()).select_from(Punch)) == 1
    listed = runner.invoke(app, ["quarantine", "list"])
    assert listed.exit_code == 0 and "HIK-CLI-1" in listed.output and "1 entries" in " ".join(listed.output.split())
    unknown = runner.invoke(app, ["ingest", str(path), "--device", "NOPE"])
    assert unknown.exit_code == 1 and "unknown device" in " ".join(unknown.output.split())
