"""The registry commands on a real database: what they store, what they print, what they refuse."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date

import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from attendance import resident_id as rid
from punchaudit.api.app import create_app
from punchaudit.cli import app as cli_app
from punchaudit.cli import common
from punchaudit.config import load_settings
from storage.db import session_scope
from storage.schema.core import Device, Trainee

NOUNS = ("institution", "site", "device", "keys", "class", "trainee")
PERSON = rid.make("140203", date(1998, 7, 1), 35)


@pytest.fixture
def cli(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A runner whose commands use the test database."""
    monkeypatch.setenv("PUNCHAUDIT_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("PUNCHAUDIT_LOGGING__FORMAT", "text")
    monkeypatch.setenv("PUNCHAUDIT_LOGGING__LEVEL", "WARNING")
    monkeypatch.setattr(common.console, "width", 200)  # whole table rows on one line
    common.settings.cache_clear()
    common.engine.cache_clear()
    yield CliRunner()
    common.engine().dispose()
    common.settings.cache_clear()
    common.engine.cache_clear()


def run(cli: CliRunner, *args: str, code: int = 0, stdin: str | None = None) -> str:
    """Invoke a command; the root logger it reconfigures (to the runner's stderr) is restored after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        result = cli.invoke(cli_app, list(args), input=stdin)
    finally:
        root.handlers[:], root.level = handlers, level
    assert result.exit_code == code, f"{args}: {result.output}"
    return result.output


def test_every_registry_command_has_help(cli: CliRunner) -> None:
    group = typer.main.get_command(cli_app)
    for noun in NOUNS:
        sub = group.commands[noun]  # type: ignore[attr-defined]
        assert sub.help, noun
        for name, command in sub.commands.items():
            assert command.help, f"{noun} {name} has no help"
            assert "Usage" in run(cli, noun, name, "--help")


def test_register_a_site_end_to_end(cli: CliRunner, engine: Engine) -> None:
    run(cli, "institution", "add", "PC-JX01", "平城职业培训学校", "--district", "平城区")
    run(cli, "site", "add", "PC-S1", "主校区", "--institution", "PC-JX01")
    out = run(cli, "device", "add", "CQZ7232460193", "--vendor", "zkteco", "--site", "PC-S1", "--tz", "Asia/Shanghai",
              "--token", "terminal-token-1", "--allow", "10.8.0.0/16")
    assert "CQZ7232460193" in out
    assert "CQZ7232460193" in run(cli, "device", "list")
    run(cli, "device", "disable", "CQZ7232460193")
    with session_scope(engine) as s:
        device = s.scalars(select(Device)).one()
        assert device.enabled is False and device.ip_allowlist == "10.8.0.0/16" and device.token_hash
    assert "already registered" in run(cli, "device", "add", "CQZ7232460193", "--vendor", "zkteco", "--site", "PC-S1", code=1)
    assert "not found" in run(cli, "device", "add", "X1", "--vendor", "zkteco", "--site", "NOPE", code=1)

    run(cli, "class", "add", "PC-2026-01", "育婴员初级班", "--institution", "PC-JX01", "--site", "PC-S1",
        "--start", "2026-03-02", "--end", "2026-03-20", "--occupation", "育婴员")
    assert "2026-03-27" in run(cli, "class", "set", "PC-2026-01", "--end", "2026-03-27")
    assert "ends before" in run(cli, "class", "set", "PC-2026-01", "--start", "2026-03-28", code=1)
    out = run(cli, "trainee", "enroll", "PC-2026-01", "12", "--name", "刘一", stdin=PERSON + "\n")
    assert "PIN 12" in out and PERSON not in out
    roster = run(cli, "trainee", "list", "--class", "PC-2026-01")
    assert rid.mask(PERSON) in roster and "刘一" in roster and PERSON not in roster
    assert "刘一" in run(cli, "trainee", "find", "--resident-id", PERSON)
    bad = PERSON[:17] + ("1" if PERSON[17] != "1" else "2")
    refused = run(cli, "trainee", "add", "错号", "--resident-id", bad, code=1)
    assert "check digit" in refused and bad not in refused
    with session_scope(engine) as s:
        assert [t.name for t in s.scalars(select(Trainee))] == ["刘一"]


def test_keys_are_printed_once_and_revocable(cli: CliRunner, engine: Engine) -> None:
    run(cli, "institution", "add", "PC-JX02", "云冈培训中心")
    out = run(cli, "keys", "create", "pingcheng office", "--role", "site", "--institution", "PC-JX02")
    key = next(line.strip() for line in out.splitlines() if line.strip().startswith("pa_"))
    listing = run(cli, "keys", "list")
    assert "pingcheng office" in listing and key not in listing
    api = TestClient(create_app(load_settings(), engine))
    mine = api.get("/api/v1/institutions", headers={"X-API-Key": key})
    assert mine.status_code == 200 and [i["code"] for i in mine.json()["items"]] == ["PC-JX02"]
    key_id = out.split()[1]
    run(cli, "keys", "revoke", key_id)
    assert api.get("/api/v1/institutions", headers={"X-API-Key": key}).status_code == 401
    assert "pingcheng office" not in run(cli, "keys", "list") and "pingcheng office" in run(cli, "keys", "list", "--all")
    assert "needs an institution" in run(cli, "keys", "create", "x", "--role", "site", code=1)
