"""ZKTeco PUSH server replies: handshake options, command queue lines, and what devices send back
(options, INFO, command results).

The handshake layout follows the spec example byte for byte (docs/terminals.md §1.3) because firmware
parses it line by line and silently ignores what it does not recognise. Command lines are built here so
that nothing can inject a second command through a newline in a value.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from devices.encoding import decode_text
from devices.errors import ProtocolError

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_CMD_ID_RE = re.compile(r"^[0-9A-Za-z]{1,16}$")  # spec: digits and letters, at most 16 characters
_OPTION_KEY_RE = re.compile(r"^\s*(~?[A-Za-z_][\w.~-]*)=(.*)$", re.S)

DEFAULT_TRANS_FLAG = ("AttLog", "OpLog", "AttPhoto", "EnrollUser", "ChgUser", "EnrollFP", "ChgFP", "UserPic")

# getrequest INFO= positions (spec §1.8); attlog_count lets us notice records that were never uploaded.
INFO_FIELDS = ("firmware", "user_count", "fp_count", "attlog_count", "ip", "fp_algorithm", "face_algorithm",
               "face_enroll_needed", "face_count", "features", "card_count", "user_photo_count",
               "attphoto_count")


@dataclass(slots=True)
class HandshakeOptions:
    """What the server tells a terminal on `GET /iclock/cdata?options=all`. Defaults are the spec example.

    `stamps` maps table name (ATTLOG, OPERLOG, ATTPHOTO, ...) to its resume stamp; "0" makes the device
    re-upload that table. `timezone` is whole hours (8) or minutes for half/quarter zones (330). `None`
    omits a line. `extra` lines (feature switches such as SupportPing) are appended in order.
    """

    stamps: dict[str, str] = field(default_factory=lambda: {"ATTLOG": "None", "OPERLOG": "9999",
                                                           "ATTPHOTO": "None"})
    error_delay: int | None = 30
    delay: int | None = 10
    trans_times: str | None = "00:00;14:05"
    trans_interval: int | None = 1
    trans_flag: tuple[str, ...] | None = DEFAULT_TRANS_FLAG
    timezone: int | str | None = 8
    realtime: int | None = 1
    encrypt: str | None = "None"
    server_ver: str | None = None
    push_prot_ver: str | None = None
    push_options_flag: int | None = None
    push_options: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def timezone_option(tz_offset: timedelta) -> int:
    """The handshake `TimeZone` value for an offset: whole hours, or minutes for half/quarter zones."""
    minutes = int(tz_offset.total_seconds()) // 60
    return minutes // 60 if minutes % 60 == 0 else minutes


def handshake_reply(sn: str, options: HandshakeOptions) -> str:
    """The handshake body: `GET OPTION FROM: <SN>` then one `Key=Value` per LF-separated line.

    TransFlag uses format 2 (`TransData AttLog\\tOpLog...`), which the spec says servers should send.
    """
    lines = [f"GET OPTION FROM: {sn}"]
    lines += [f"{table}Stamp={stamp}" for table, stamp in options.stamps.items()]
    pairs = [
        ("ErrorDelay", options.error_delay), ("Delay", options.delay), ("TransTimes", options.trans_times),
        ("TransInterval", options.trans_interval),
        ("TransFlag", None if options.trans_flag is None else "TransData " + "\t".join(options.trans_flag)),
        ("TimeZone", options.timezone), ("Realtime", options.realtime), ("Encrypt", options.encrypt),
        ("ServerVer", options.server_ver), ("PushProtVer", options.push_prot_ver),
        ("PushOptionsFlag", options.push_options_flag), ("PushOptions", options.push_options),
        *options.extra.items(),
    ]
    lines += [f"{key}={value}" for key, value in pairs if value is not None]
    for line in lines:
        if "\n" in line or "\r" in line:
            raise ValueError(f"handshake line contains a line break: {line!r}")
    return "\n".join(lines)


def ok_reply(n: int | None = None) -> str:
    """`OK: <n>` (records processed, sent only after they are committed) or plain `OK`."""
    return "OK" if n is None else f"OK: {n}"


def format_commands(commands: list[tuple[int | str, str]]) -> str:
    """getrequest reply: `C:<id>:<cmd>` lines, LF-terminated, or `OK` when nothing is queued."""
    if not commands:
        return "OK"
    out = []
    for cmd_id, cmd in commands:
        if not _CMD_ID_RE.match(str(cmd_id)):
            raise ValueError(f"command id {cmd_id!r} must be 1-16 digits or letters")
        if "\n" in cmd or "\r" in cmd:
            raise ValueError(f"command {cmd!r} contains a line break")
        out.append(f"C:{cmd_id}:{cmd}\n")
    return "".join(out)


def cmd_info() -> str:
    """Ask for device info; the reply carries the record count that reveals missing uploads."""
    return "INFO"


def cmd_check() -> str:
    """Make the device compare stamps and re-send what the server lacks."""
    return "CHECK"


def cmd_log() -> str:
    """Upload new records now."""
    return "LOG"


def _window(start: datetime, end: datetime) -> str:
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    return f"StartTime={start.strftime(TIME_FORMAT)}\tEndTime={end.strftime(TIME_FORMAT)}"


def cmd_query_attlog(start: datetime, end: datetime) -> str:
    """Backfill: the device re-uploads punches between two device-local times as normal ATTLOG posts."""
    return f"DATA QUERY ATTLOG {_window(start, end)}"


def cmd_verify_sum_attlog(start: datetime, end: datetime) -> str:
    """Reconcile: the device answers with its punch count (`AttlogSum`) between two local times."""
    return f"VERIFY SUM ATTLOG {_window(start, end)}"


def cmd_set_option(key: str, value: str | int) -> str:
    """Set one device option (for example the clock)."""
    if "\t" in key or "=" in key:
        raise ValueError(f"bad option key {key!r}")
    return f"SET OPTION {key}={value}"


def cmd_update_user(pin: str, name: str = "", *, pri: int = 0, card: str = "", passwd: str = "") -> str:
    """Put a trainee on the terminal (DATA UPDATE USERINFO)."""
    for value in (pin, name, card, passwd):
        if "\t" in value:
            raise ValueError(f"TAB in user field {value!r}")
    return f"DATA UPDATE USERINFO PIN={pin}\tName={name}\tPri={pri}\tPasswd={passwd}\tCard={card}"


def cmd_delete_user(pin: str) -> str:
    return f"DATA DELETE USERINFO PIN={pin}"


def parse_options(body: bytes) -> dict[str, str]:
    """Parse a `table=options` body (`key=value,key=value`, sometimes LF-separated).

    A comma inside a value ("~OEMVendor=ZKTECO CO., LTD.") is kept: a segment that does not start a
    new `key=` continues the previous value.
    """
    out: dict[str, str] = {}
    last: str | None = None
    for raw_line in decode_text(body).replace("\r", "").split("\n"):
        for segment in raw_line.split(","):
            m = _OPTION_KEY_RE.match(segment)
            if m:
                last = m.group(1)
                out[last] = m.group(2)
            elif last is not None and segment:
                out[last] += "," + segment
    return out


def parse_info(info: str) -> dict[str, str]:
    """Name the comma-separated values of getrequest's `INFO=` (already URL-decoded)."""
    values = info.split(",")
    return {(INFO_FIELDS[i] if i < len(INFO_FIELDS) else f"field{i + 1}"): v.strip()
            for i, v in enumerate(values)}


@dataclass(frozen=True, slots=True)
class CommandResult:
    """One `ID=..&Return=..&CMD=..` line. `command_id` is None when the id is not numeric (ours are)."""

    command_id: int | None
    return_code: int
    cmd: str
    extra: dict[str, str] = field(default_factory=dict)
    raw_id: str = ""


def parse_devicecmd(body: bytes) -> list[CommandResult]:
    """Parse `POST /iclock/devicecmd` results (batched, LF or CRLF).

    Lines that follow a result without `ID=` (the INFO reply's `Key=Value` lines) go into its `extra`.
    A malformed result line is skipped; a non-empty body with no result at all raises ProtocolError.
    """
    results: list[CommandResult] = []
    text = decode_text(body)
    for line in text.replace("\r", "").split("\n"):
        if not line.strip():
            continue
        if line[:3].upper() == "ID=":
            pairs: dict[str, str] = {}
            for item in line.split("&"):
                key, _, value = item.partition("=")
                pairs[key.strip()] = value
            norm = {k.lower(): k for k in pairs}
            raw_id = pairs.pop(norm["id"], "")
            try:
                ret = int(pairs.pop(norm["return"]).strip()) if "return" in norm else None
            except ValueError:
                ret = None
            if ret is None or not raw_id:
                continue
            cmd = pairs.pop(norm["cmd"], "") if "cmd" in norm else ""
            cid = int(raw_id) if raw_id.isdigit() else None
            results.append(CommandResult(cid, ret, cmd, pairs, raw_id))
        elif results:
            key, sep, value = line.partition("=")
            if sep:
                results[-1].extra[key.strip()] = value
    if not results and text.strip():
        raise ProtocolError(f"devicecmd body has no ID=..&Return=..&CMD=.. line: {text[:80]!r}")
    return results
