"""`punchaudit device`: punch terminals, known by serial number."""
from __future__ import annotations

import typer

from punchaudit.cli.admin import registry_session, table
from punchaudit.cli.common import console
from punchaudit.services import registry as reg
from punchaudit.services import registry_devices as devices

app = typer.Typer(help="Punch terminals (ZKTeco, Hikvision, spreadsheet sources).", no_args_is_help=True)


@app.command("add")
def add(
    serial: str = typer.Argument(..., help="Serial number the terminal reports (SN)"),
    vendor: str = typer.Option(..., "--vendor", help="zkteco, hikvision or sheet"),
    site: str = typer.Option(..., "--site", help="Site code"),
    tz: str = typer.Option("Asia/Shanghai", "--tz", help="IANA zone the terminal's clock runs in"),
    token: str = typer.Option(None, "--token", help="Token the terminal must send as ?token= (stored hashed)"),
    allow: list[str] = typer.Option(None, "--allow", help="Allowed source address or network; repeatable"),
    disabled: bool = typer.Option(False, "--disabled", help="Register but refuse its pushes for now"),
) -> None:
    """Register a terminal at a site."""
    with registry_session() as session:
        site_row = reg.site_by_code(session, None, site)
        row = devices.create_device(session, None, serial, vendor, site_row.id, timezone=tz, enabled=not disabled,
                                    token=token, ip_allowlist=allow or None)
        console.print(f"device {row.serial} ({row.vendor}) registered at {site_row.code} (id {row.id})")


@app.command("list")
def list_(
    site: str = typer.Option(None, "--site", help="Only this site's terminals"),
    limit: int = typer.Option(1000, help="At most this many rows"),
) -> None:
    """List terminals with their state and last contact."""
    with registry_session() as session:
        site_id = reg.site_by_code(session, None, site).id if site else None
        page = devices.list_devices(session, None, site_id=site_id, limit=limit)
        table("devices", ["id", "serial", "vendor", "site", "timezone", "enabled", "token", "allowlist", "last seen"],
              ((r.id, r.serial, r.vendor, r.site_id, r.timezone, "yes" if r.enabled else "NO",
                "yes" if r.token_hash else "", r.ip_allowlist, r.last_seen_at) for r in page.items))


def _set_enabled(serial: str, enabled: bool) -> None:
    with registry_session() as session:
        row = devices.device_by_serial(session, None, serial)
        devices.update_device(session, None, row.id, enabled=enabled)
        console.print(f"device {serial} {'enabled' if enabled else 'disabled'}")


@app.command("disable")
def disable(serial: str = typer.Argument(..., help="Serial number")) -> None:
    """Refuse a terminal's pushes from now on (they are quarantined for replay)."""
    _set_enabled(serial, False)


@app.command("enable")
def enable(serial: str = typer.Argument(..., help="Serial number")) -> None:
    """Accept a terminal's pushes again."""
    _set_enabled(serial, True)


@app.command("token")
def token(
    serial: str = typer.Argument(..., help="Serial number"),
    value: str = typer.Argument(None, help="New token; omit with --clear"),
    clear: bool = typer.Option(False, "--clear", help="Remove the token requirement"),
) -> None:
    """Set, rotate or clear a terminal's token."""
    if (value is None) != clear:
        raise typer.BadParameter("give a token or --clear")
    with registry_session() as session:
        row = devices.device_by_serial(session, None, serial)
        devices.update_device(session, None, row.id, token=None if clear else value)
        console.print(f"device {serial} token {'cleared' if clear else 'set'}")
