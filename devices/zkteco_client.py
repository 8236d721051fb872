"""Client side of ZKTeco PUSH: bodies as a terminal sends them.

Used by the tests and the terminal simulator, so everything the server parses is exercised with real
protocol bodies, including the awkward variants real firmware produces (CRLF, trailing TABs, short and
long lines, GB18030 names, `\\0` before a binary photo).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from devices.zkteco_commands import TIME_FORMAT, CommandResult


@dataclass(frozen=True, slots=True)
class AttlogRecord:
    """One ATTLOG line's fields; None writes an empty field."""

    pin: str
    local_time: datetime
    status: int | None = 0
    verify: int | None = 15
    workcode: str = "0"
    reserved1: str = ""
    reserved2: str = ""
    mask_flag: str = ""
    temperature: str = ""
    conv_temperature: str = ""
    time_offset: str = ""
    extend_data: str = ""

    def fields(self) -> list[str]:
        return [self.pin, self.local_time.strftime(TIME_FORMAT), "" if self.status is None else str(self.status),
                "" if self.verify is None else str(self.verify), self.workcode, self.reserved1, self.reserved2,
                self.mask_flag, self.temperature, self.conv_temperature, self.time_offset, self.extend_data]


def build_attlog(records: Iterable[AttlogRecord], *, line_ending: str = "\n", field_count: int = 7,
                 trailing_tabs: int = 0, encoding: str = "gb18030", final_newline: bool = True) -> bytes:
    """An ATTLOG body: `field_count` positional TAB fields per line (4..12; more pads empty fields)."""
    if field_count < 4:
        raise ValueError("an ATTLOG line has at least 4 fields (PIN, time, status, verify)")
    lines = []
    for rec in records:
        fields = rec.fields()
        fields = fields[:field_count] + [""] * (field_count - len(fields))
        lines.append("\t".join(fields) + "\t" * trailing_tabs)
    text = line_ending.join(lines) + (line_ending if final_newline and lines else "")
    return text.encode(encoding)


def build_rtlog(records: Iterable[AttlogRecord], *, event: int = 0, line_ending: str = "\n") -> bytes:
    """A PUSH 3.x `table=rtlog` body: one key=value line per record (status -> inoutstatus)."""
    lines = []
    for index, rec in enumerate(records):
        lines.append(f"time={rec.local_time.strftime(TIME_FORMAT)}\tpin={rec.pin}\tcardno=0\teventaddr=1\t"
                     f"event={event}\tinoutstatus={'' if rec.status is None else rec.status}\t"
                     f"verifytype={'' if rec.verify is None else rec.verify}\tindex={index}")
    return (line_ending.join(lines) + line_ending).encode("utf-8")


@dataclass(frozen=True, slots=True)
class OplogRecord:
    """`OPLOG <code>\\t<operator>\\t<time>\\t<who>\\t<v1>\\t<v2>\\t<v3>`."""

    op_code: int
    when: datetime
    operator: str = "0"
    op_who: str = "0"
    value1: str = "0"
    value2: str = "0"
    value3: str = "0"

    def line(self) -> str:
        return (f"OPLOG {self.op_code}\t{self.operator}\t{self.when.strftime(TIME_FORMAT)}\t{self.op_who}\t"
                f"{self.value1}\t{self.value2}\t{self.value3}")


@dataclass(frozen=True, slots=True)
class UserRecord:
    """`USER PIN=..\\tName=..\\t...` as the device uploads an enrolled user."""

    pin: str
    name: str
    pri: int = 0
    passwd: str = ""
    card: str = ""
    grp: int = 1
    tz: str = "0000000000000000"
    verify: int = 0
    vice_card: str = ""

    def line(self) -> str:
        return (f"USER PIN={self.pin}\tName={self.name}\tPri={self.pri}\tPasswd={self.passwd}\tCard={self.card}\t"
                f"Grp={self.grp}\tTZ={self.tz}\tVerify={self.verify}\tViceCard={self.vice_card}")


def build_operlog(records: Iterable[OplogRecord | UserRecord], *, encoding: str = "gb18030",
                  line_ending: str = "\n") -> bytes:
    """An OPERLOG body; Chinese-market firmware encodes names in GB2312, hence GB18030 by default."""
    lines = [rec.line() for rec in records]
    return (line_ending.join(lines) + line_ending).encode(encoding)


def photo_file_name(pin: str, local_time: datetime, photo_type: int | None = None) -> str:
    """`20230103120000-1234.jpg`, or the ID-card form `time-type-pin.jpg` when a photo type is given."""
    stamp = local_time.strftime("%Y%m%d%H%M%S")
    return f"{stamp}-{pin}.jpg" if photo_type is None else f"{stamp}-{photo_type}-{pin}.jpg"


def build_attphoto(pin: str, local_time: datetime, jpeg: bytes, *, sn: str = "",
                   photo_type: int | None = None, marker: bytes = b"CMD=uploadphoto") -> bytes:
    """An ATTPHOTO body: `PIN=<file>\\nSN=..\\nsize=..\\nCMD=uploadphoto\\0` then the JPEG bytes."""
    head = f"PIN={photo_file_name(pin, local_time, photo_type)}\nSN={sn}\nsize={len(jpeg)}\n"
    return head.encode("ascii") + marker + b"\0" + jpeg


def build_devicecmd_results(results: Iterable[CommandResult | tuple[int | str, int, str]], *,
                            line_ending: str = "\n") -> bytes:
    """A `POST /iclock/devicecmd` body. An INFO result's extras follow as `Key=Value` lines (as devices
    answer INFO); other extras are appended as `&Key=Value` (as in the VERIFY SUM reply)."""
    lines = []
    for res in results:
        if not isinstance(res, CommandResult):
            cid, ret, cmd = res
            res = CommandResult(int(cid) if str(cid).isdigit() else None, ret, cmd, {}, str(cid))
        cid_text = res.raw_id or str(res.command_id)
        head = f"ID={cid_text}&Return={res.return_code}&CMD={res.cmd}"
        if res.cmd == "INFO":
            lines.append(head)
            lines += [f"{k}={v}" for k, v in res.extra.items()]
        else:
            lines.append(head + "".join(f"&{k}={v}" for k, v in res.extra.items()))
    return (line_ending.join(lines) + line_ending).encode("utf-8")
