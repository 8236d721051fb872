"""ZKTeco PUSH (ADMS / iclock), server side: attendance uploads in, replies and commands out.

Wire facts are in docs/terminals.md §1. ATTLOG lines are positional TAB fields with device-local times
and no zone; resends are normal, so each punch keeps its raw verify/status codes (part of the dedupe
key) and the line it came from. One bad line is rejected with its reason while the rest of the batch is
accepted: a large body of plain lines is parsed a column at a time (`attlog_columns`), anything else
line by line here. OPERLOG/ATTPHOTO live in `zkteco_logs`, commands and replies in
`zkteco_commands`, client-side builders in `zkteco_client`; all are re-exported here.
"""
from __future__ import annotations

import gc
import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from devices.attlog_columns import parse_column_batch
from devices.encoding import BLANK, decode_text
from devices.errors import ProtocolError
from devices.localtime import LocalToUtc, parse_local_time
from devices.punch import Method, Punch, PunchSource, RejectedLine

# Spec appendix 7. A combination takes its biometric factor (face first, it is what the audit wants);
# an "or" mode that may have been satisfied without biometrics is UNKNOWN: it proves nothing either way.
VERIFY_METHODS: dict[int, Method] = {
    0: Method.UNKNOWN,  # auto: any of vein/face/fingerprint/card/password
    1: Method.FINGERPRINT,
    2: Method.OTHER,  # user ID (工号) only
    3: Method.PASSWORD,
    4: Method.CARD,
    5: Method.UNKNOWN,  # fingerprint or password
    6: Method.UNKNOWN,  # fingerprint or card
    7: Method.OTHER,  # card or password: not biometric either way
    8: Method.FINGERPRINT,  # user ID + fingerprint
    9: Method.FINGERPRINT,  # fingerprint + password
    10: Method.FINGERPRINT,  # card + fingerprint
    11: Method.CARD,  # card + password
    12: Method.FINGERPRINT,  # fingerprint + password + card
    13: Method.FINGERPRINT,  # user ID + fingerprint + password
    14: Method.FINGERPRINT,  # user ID + fingerprint, or card + fingerprint
    15: Method.FACE,
    16: Method.FACE,  # face + fingerprint
    17: Method.FACE,  # face + password
    18: Method.FACE,  # face + card
    19: Method.FACE,  # face + fingerprint + card
    20: Method.FACE,  # face + fingerprint + password
    21: Method.FINGER_VEIN,
    22: Method.FINGER_VEIN,  # finger vein + password
    23: Method.FINGER_VEIN,  # finger vein + card
    24: Method.FINGER_VEIN,  # finger vein + password + card
    25: Method.PALM,
    26: Method.PALM,  # palm + card
    27: Method.FACE,  # palm + face
    28: Method.FINGERPRINT,  # palm + fingerprint
    29: Method.FACE,  # palm + fingerprint + face
    200: Method.OTHER,
}
_METHOD_TABLE = [VERIFY_METHODS.get(code, Method.UNKNOWN) for code in range(256)]

STATUS_NAMES: dict[int, str] = {
    0: "check-in", 1: "check-out", 2: "break-out", 3: "break-in", 4: "overtime-in", 5: "overtime-out",
    255: "no state key",
}

# Positions 6.. of an ATTLOG line (spec digest §9.1); values kept in Punch.extra when they carry data.
_EXTRA_FIELDS = ("reserved1", "reserved2", "mask_flag", "temperature", "conv_temperature", "time_offset",
                 "extend_data")
_MIN_FIELDS = 4  # PIN, time, status, verify: the dedupe key needs all four
_MAX_OFFSET_S = 14 * 3600
# below about 64 lines the per-line parser is as fast, and its plain list is what small pushes expect
_COLUMNS_FROM_LINES = 64


def method_for_verify(code: int) -> Method:
    """Method for a raw ZKTeco verify code (spec table); unknown or empty (-1) codes are UNKNOWN."""
    if 0 <= code < 256:
        return _METHOD_TABLE[code]
    return Method.UNKNOWN


def _utc_from_offset(local: datetime, raw: str) -> datetime | None:
    """UTC from the line's own TimeOffset field (seconds, e.g. +28800), when it is sane."""
    try:
        seconds = int(raw)
    except ValueError:
        return None
    if abs(seconds) > _MAX_OFFSET_S:
        return None
    return local - timedelta(seconds=seconds)


_RESIDENT_ID_RE = re.compile(r"^\d{17}[\dXx]$")


def _line_extras(tail: list[str], device_type: str) -> dict[str, str]:
    """Named values of positions 6.. of an ATTLOG line; empty and "0" carry nothing and are left out.

    ID-card (人证, DeviceType=pid) devices put the holder's resident ID number at position 8 and a record
    type at 9. The ID number is never copied out (the raw payload keeps what was sent); a line is
    treated as that layout when the device says so or position 8 is shaped like a resident ID.
    """
    if len(tail) >= 4 and (device_type == "pid" or _RESIDENT_ID_RE.match(tail[2])):
        out = {name: v for name, v in zip(("reserved1", "reserved2"), tail) if v and v != "0"}
        out["record_type"] = "verification" if tail[3].strip() == "1" else "attendance"
        return out
    out = {}
    for k, value in enumerate(tail):
        if value and value != "0":
            out[_EXTRA_FIELDS[k] if k < len(_EXTRA_FIELDS) else f"field{k + 6}"] = value
    return out


def parse_attlog(body: bytes, device_sn: str, tz_name: str, *,
                 device_type: str = "att") -> tuple[Sequence[Punch], list[RejectedLine]]:
    """Parse a `table=ATTLOG` body into punches and rejected lines.

    A large body whose lines are all plain comes back as a `PunchColumns` (see devices.attlog_columns),
    any other as a list; both are sequences of equal punches.

    Blank lines are ignored. `local_time` is the device wall clock; `utc_time` comes from the line's
    TimeOffset field when present and sane, else from `tz_name`. Empty status/verify fields become -1 so
    the dedupe key stays well defined. On ID-card devices (`device_type="pid"`, the handshake's
    DeviceType) a verification record (Type=1) is a punch only when its Status is 0 (success); its
    Verify 1/2/3 all involve the face. Raises ValueError only for an unknown `tz_name`.
    """
    to_utc = LocalToUtc(tz_name)
    text = decode_text(body)
    if text.count("\n") + 1 >= _COLUMNS_FROM_LINES and device_type != "pid":  # strings only: nothing for the GC to track
        columns = parse_column_batch(text, device_sn, tz_name, to_utc, _METHOD_TABLE, min_fields=_MIN_FIELDS)
        if columns is not None:
            return columns, []
    # The batch creates no reference cycles, yet 10,000 new objects trigger a dozen cyclic-GC passes
    # (10-25% of the parse time); pause the collector for the loop if it was running.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return _parse_attlog_lines(text, device_sn, tz_name, to_utc, device_type)
    finally:
        if paused:
            gc.enable()


def _parse_attlog_lines(text: str, device_sn: str, tz_name: str, to_utc: LocalToUtc,
                        device_type: str) -> tuple[list[Punch], list[RejectedLine]]:
    offsets: dict[str, timedelta] = {}  # "YYYY-MM-DD HH" -> offset: one zone lookup per hour of data
    punches: list[Punch] = []
    rejected: list[RejectedLine] = []
    add = punches.append
    zk = PunchSource.ZKTECO
    table = _METHOD_TABLE
    unknown = Method.UNKNOWN
    parse_time = datetime.fromisoformat

    for line_no, line in enumerate(text.split("\n"), 1):
        if line and line[-1] == "\r":
            line = line[:-1]
        f = line.split("\t")
        n = len(f)
        pin = f[0].strip()
        if n < _MIN_FIELDS or not pin:
            if not line.strip(BLANK):
                continue
            reason = (f"too few fields ({n}; need at least PIN, time, status, verify)" if n < _MIN_FIELDS
                      else "missing PIN")
            rejected.append(RejectedLine(line_no, line, reason))
            continue
        ts = f[1]
        local = None
        if len(ts) == 19:
            try:
                local = parse_time(ts)
            except ValueError:
                pass
            if local is not None and local.tzinfo is not None:
                local = None
        if local is None:
            local = parse_local_time(ts)
            if local is None:
                rejected.append(RejectedLine(line_no, line, f"bad time {ts!r} (expected YYYY-MM-DD HH:MM:SS)"))
                continue
            ts = local.isoformat(" ")
        s, v = f[2], f[3]
        try:
            status = int(s) if s else -1  # int() tolerates surrounding blanks
        except ValueError:
            if s.strip():
                rejected.append(RejectedLine(line_no, line, f"non-numeric status {s!r}"))
                continue
            status = -1
        try:
            verify = int(v) if v else -1
        except ValueError:
            if v.strip():
                rejected.append(RejectedLine(line_no, line, f"non-numeric verify {v!r}"))
                continue
            verify = -1
        utc = None
        success = True
        method = table[verify] if 0 <= verify < 256 else unknown
        extra: dict[str, str]
        if n > 5:
            tail = f[5:]
            if tail.count("") + tail.count("0") == len(tail):  # the usual case: nothing informative
                extra = {}
            else:
                extra = _line_extras(tail, device_type)
                raw_off = extra.get("time_offset")
                if raw_off is not None:
                    utc = _utc_from_offset(local, raw_off)
                if extra.get("record_type") == "verification":
                    success = status == 0
                    method = Method.FACE if verify in (1, 2, 3) else unknown
        else:
            extra = {}
        if utc is None:
            key = ts[:13]
            off = offsets.get(key)
            if off is None:
                off = to_utc.hour_offset(local)
                if off is None:  # a DST switch inside this hour: exact lookup, never cached
                    off = to_utc.exact_offset(local)
                else:
                    offsets[key] = off
            utc = local - off
        add(Punch(zk, device_sn, pin, local, utc, tz_name, method, verify, status, success, None,
                  (f[4] or None) if n > 4 else None, line_no, extra,
                  # fromisoformat also takes 19-character forms such as week dates or a T separator
                  ts if ts[16] == ":" and ts[10] == " " and ts[7] == "-" else None))
    return punches, rejected


# ZKAccess event codes that mean access was granted (0 normal verify open, 1 verify in normal-open
# period, 2/3 first-/multi-person open, 14-19 fingerprint variants). Not in terminals.md; everything
# else is kept as a failed attempt, never counted as presence.
RTLOG_PASS_EVENTS = frozenset({0, 1, 2, 3, 14, 15, 16, 17, 18, 19})


def parse_rtlog(body: bytes, device_sn: str, tz_name: str) -> tuple[list[Punch], list[RejectedLine]]:
    """Parse a PUSH 3.x `table=rtlog` body (TAB-separated key=value lines, doc §1.4.3).

    Lines without a person (pin empty or 0: door and alarm events) are not punches and are skipped.
    `verifytype` is the same code table as ATTLOG's Verify; `inoutstatus` becomes the status code.
    """
    to_utc = LocalToUtc(tz_name)
    punches: list[Punch] = []
    rejected: list[RejectedLine] = []
    for line_no, line in enumerate(decode_text(body).split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip(BLANK):
            continue
        kv: dict[str, str] = {}
        for item in line.split("\t"):
            key, sep, value = item.partition("=")
            if sep:
                kv[key.strip().lower()] = value.strip()
        if "time" not in kv:
            rejected.append(RejectedLine(line_no, line, "no time= field (not an rtlog key=value line)"))
            continue
        pin = kv.get("pin", "")
        if pin in ("", "0"):
            continue
        local = parse_local_time(kv["time"])
        if local is None:
            rejected.append(RejectedLine(line_no, line, f"bad time {kv['time']!r} (expected YYYY-MM-DD HH:MM:SS)"))
            continue
        try:
            verify = int(kv.get("verifytype") or -1)
            status = int(kv.get("inoutstatus") or -1)
            event = int(kv.get("event") or 0)
        except ValueError:
            rejected.append(RejectedLine(line_no, line, "non-numeric verifytype, inoutstatus or event"))
            continue
        extra = {k: v for k, v in kv.items()
                 if k not in ("time", "pin", "verifytype", "inoutstatus") and v not in ("", "0")}
        punches.append(Punch(PunchSource.ZKTECO, device_sn, pin, local, to_utc(local), tz_name,
                             method_for_verify(verify), verify, status, event in RTLOG_PASS_EVENTS,
                             line_no=line_no, extra=extra))
    return punches, rejected


from devices.zkteco_client import (  # noqa: E402  (re-exported: one import path for the whole protocol)
    AttlogRecord, OplogRecord, UserRecord, build_attlog, build_attphoto, build_devicecmd_results,
    build_operlog, build_rtlog,
)
from devices.zkteco_commands import (  # noqa: E402
    CommandResult, HandshakeOptions, cmd_check, cmd_info, cmd_log, cmd_query_attlog, cmd_set_option,
    cmd_verify_sum_attlog, format_commands, handshake_reply, ok_reply, parse_devicecmd, parse_info,
    parse_options,
)
from devices.zkteco_logs import (  # noqa: E402
    CLOCK_OPS, OP_NAMES, TAMPER_OPS, AttPhoto, OperLogEntry, parse_attphoto, parse_operlog,
    parse_operlog_full,
)

__all__ = [
    "VERIFY_METHODS", "STATUS_NAMES", "RTLOG_PASS_EVENTS", "ProtocolError", "method_for_verify",
    "parse_local_time", "parse_attlog", "parse_rtlog",
    "AttlogRecord", "OplogRecord", "UserRecord", "build_attlog", "build_attphoto", "build_devicecmd_results",
    "build_operlog", "build_rtlog",
    "CommandResult", "HandshakeOptions", "cmd_check", "cmd_info", "cmd_log", "cmd_query_attlog",
    "cmd_set_option", "cmd_verify_sum_attlog", "format_commands", "handshake_reply", "ok_reply",
    "parse_devicecmd", "parse_info", "parse_options",
    "CLOCK_OPS", "OP_NAMES", "TAMPER_OPS", "AttPhoto", "OperLogEntry", "parse_attphoto", "parse_operlog",
    "parse_operlog_full",
]
