"""A terminal simulator that speaks the real protocols to a running punchaudit server.

It plays what sites actually see: ZKTeco terminals that handshake, poll, upload the day's records in
batches, go offline and replay their buffer, resend a batch whose acknowledgement was lost, carry one
garbled line, and have their clock reset; a terminal nobody registered; Hikvision face terminals
pushing AccessControllerEvent JSON. Bodies are built with the devices package's client-side builders,
so the server parses exactly what a terminal would send.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx

from devices import hikvision
from devices.zkteco_client import AttlogRecord, build_attlog


@dataclass(frozen=True)
class SimTerminal:
    serial: str
    vendor: str  # zkteco | hikvision
    pins: tuple[str, ...]
    timezone: str = "Asia/Shanghai"


@dataclass(frozen=True)
class SimPlan:
    terminals: tuple[SimTerminal, ...]
    days: tuple[date, ...]
    sessions: tuple[tuple[time, time], ...] = ((time(8, 30), time(11, 30)), (time(14, 0), time(17, 0)))
    absent_rate: float = 0.06
    card_rate: float = 0.03  # punches by card: not biometric, do not count as presence by default
    batch_lines: int = 40
    offline_day: int | None = 1  # index of a day on which the first ZKTeco terminal is offline
    resend_batch: bool = True  # one batch whose OK was lost is sent again
    garbled_line: bool = True
    clock_reset: bool = True
    unknown_serial: str | None = "ZK-UNREGISTERED-01"
    seed: int = 2026


@dataclass
class TerminalReport:
    serial: str
    pushes: int = 0
    lines_sent: int = 0
    lines_acked: int = 0
    resent_lines: int = 0
    refused: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)


def _session_punches(rng: random.Random, plan: SimPlan, pins: tuple[str, ...], day: date) -> list[tuple[str, datetime, int]]:
    """(pin, local time, verify code) for a day: a check-in before each session, some check-outs."""
    out = []
    for start, end in plan.sessions:
        for pin in pins:
            if rng.random() < plan.absent_rate:
                continue
            verify = 4 if rng.random() < plan.card_rate else (15 if rng.random() < 0.7 else 1)
            arrive = datetime.combine(day, start) - timedelta(seconds=rng.randint(60, 25 * 60))
            if rng.random() < 0.04:  # a late arrival
                arrive = datetime.combine(day, start) + timedelta(seconds=rng.randint(2 * 60, 20 * 60))
            out.append((pin, arrive, verify))
            if rng.random() < 0.5:
                out.append((pin, datetime.combine(day, end) + timedelta(seconds=rng.randint(0, 10 * 60)), verify))
    out.sort(key=lambda x: x[1])
    return out


class _Zk:
    def __init__(self, client: httpx.Client, term: SimTerminal, report: TerminalReport) -> None:
        self.client, self.term, self.report = client, term, report

    def handshake(self) -> None:
        r = self.client.get("/iclock/cdata", params={"SN": self.term.serial, "options": "all", "pushver": "2.4.1"})
        if r.status_code == 403:
            self.report.refused += 1

    def poll(self) -> None:
        self.client.get("/iclock/getrequest", params={"SN": self.term.serial})

    def upload(self, records: list[AttlogRecord], *, extra: bytes = b"", resend: bool = False) -> None:
        body = build_attlog(records, line_ending="\r\n" if len(records) % 2 else "\n", field_count=7) + extra
        r = self.client.post("/iclock/cdata", params={"SN": self.term.serial, "table": "ATTLOG", "Stamp": "9999"},
                             content=body)
        self.report.pushes += 1
        n = len(records) + (1 if extra else 0)
        self.report.lines_sent += n
        if resend:
            self.report.resent_lines += len(records)
        if r.status_code == 200 and r.text.startswith("OK"):
            self.report.lines_acked += n
        elif r.status_code == 403:
            self.report.refused += 1
        elif r.status_code == 400:
            self.report.rejected += 1
        else:
            self.report.errors.append(f"{r.status_code} {r.text[:100]}")


def _run_zkteco(client: httpx.Client, plan: SimPlan, term: SimTerminal, index: int, tick: Callable[[], None]) -> TerminalReport:
    rng = random.Random(f"{plan.seed}:{term.serial}")
    report = TerminalReport(term.serial)
    zk = _Zk(client, term, report)
    zk.handshake()
    buffered: list[AttlogRecord] = []
    resent = False
    # Past days arrive as the terminal's interval uploads (TransInterval batches), not as realtime pushes.
    for d_index, day in enumerate(plan.days):
        records = [AttlogRecord(pin, when, status=0, verify=verify)
                   for pin, when, verify in _session_punches(rng, plan, term.pins, day)]
        if index == 0 and plan.offline_day == d_index:
            buffered.extend(records)  # the network is down: the terminal keeps its log
            tick()
            continue
        if buffered:  # back online: the whole buffer comes first, in one upload
            zk.handshake()
            zk.upload(buffered)
            buffered = []
        for start in range(0, len(records), plan.batch_lines):
            batch = records[start:start + plan.batch_lines]
            garble = b"\xb9\xa4\xba\xc5\t2026-02-30 08:61:00\t0\t15\r\n" if plan.garbled_line and index == 0 and d_index == 0 and start == 0 else b""
            zk.upload(batch, extra=garble)
            if plan.resend_batch and not resent and index == 0:
                zk.upload(batch, resend=True)  # the OK was lost on the way back: the terminal resends
                resent = True
        tick()
    if buffered:
        zk.upload(buffered)
    if plan.clock_reset and index == 0 and term.pins:
        zk.poll()  # polling: the next single record is a realtime push
        zk.upload([AttlogRecord(term.pins[0], datetime(2000, 1, 1, 8, 30), verify=15)])
    return report


def _run_hikvision(client: httpx.Client, plan: SimPlan, term: SimTerminal, tick: Callable[[], None]) -> TerminalReport:
    rng = random.Random(f"{plan.seed}:{term.serial}")
    report = TerminalReport(term.serial)
    zone = ZoneInfo(term.timezone)
    serial_no = 0
    for day in plan.days:
        for pin, when, verify in _session_punches(rng, plan, term.pins, day):
            serial_no += 1
            if rng.random() < 0.02:
                serial_no += 1  # an event lost on the way: the server reports the gap
            minor = {15: 75, 1: 38, 4: 1}[verify]
            if verify == 15 and rng.random() < 0.03:  # the face was not recognised at first: a failed attempt
                serial_no += 1
                failed = hikvision.build_event_json(pin=pin, when=(when - timedelta(seconds=4)).replace(tzinfo=zone),
                                                    minor=76, serial_no=serial_no - 1, current_event=False)
                r = client.post(f"/ISAPI/events/{term.serial}", content=failed, headers={"content-type": "application/json"})
                report.pushes += 1
                report.lines_sent += 1
                report.lines_acked += r.status_code == 200
            body = hikvision.build_event_json(pin=pin, when=when.replace(tzinfo=zone), minor=minor, serial_no=serial_no,
                                              current_event=False)
            r = client.post(f"/ISAPI/events/{term.serial}", content=body, headers={"content-type": "application/json"})
            report.pushes += 1
            report.lines_sent += 1
            if r.status_code == 200:
                report.lines_acked += 1
            else:
                report.errors.append(f"{r.status_code} {r.text[:100]}")
        tick()
    return report


def run(base_url: str, plan: SimPlan, *, on_day: Callable[[], None] = lambda: None, workers: int = 4) -> list[TerminalReport]:
    """Play `plan` against the server at `base_url`; one thread per terminal, as on a real network."""
    def one(index_term: tuple[int, SimTerminal]) -> TerminalReport:
        index, term = index_term
        with httpx.Client(base_url=base_url, timeout=60, headers={"User-Agent": "iClock Proxy/1.09"}) as client:
            if term.vendor == "hikvision":
                return _run_hikvision(client, plan, term, on_day)
            return _run_zkteco(client, plan, term, index, on_day)

    zk_index = 0
    jobs = []
    for term in plan.terminals:
        jobs.append((zk_index if term.vendor == "zkteco" else -1, term))
        zk_index += term.vendor == "zkteco"
    with ThreadPoolExecutor(max_workers=workers) as pool:
        reports = list(pool.map(one, jobs))
    if plan.unknown_serial:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            rogue = _Zk(client, SimTerminal(plan.unknown_serial, "zkteco", ("9999",)), TerminalReport(plan.unknown_serial))
            rogue.handshake()
            rogue.upload([AttlogRecord("9999", datetime.combine(plan.days[-1], time(8, 20)), verify=15)])
            reports.append(rogue.report)
    return reports


def terminals_from_api(base_url: str, admin_key: str) -> list[SimTerminal]:
    """Every enabled terminal with the PINs of the classes at its site, read through the REST API."""
    with httpx.Client(base_url=base_url, headers={"X-API-Key": admin_key}, timeout=60) as c:
        devices = _all(c, "/api/v1/devices")
        classes = _all(c, "/api/v1/classes")
        pins_by_site: dict[int, set[str]] = {}
        for cls in classes:
            for enr in _all(c, "/api/v1/enrollments", class_id=cls["id"]):
                pins_by_site.setdefault(cls["site_id"], set()).add(enr["pin"])
    return [SimTerminal(d["serial"], d["vendor"], tuple(sorted(pins_by_site.get(d["site_id"], ()))), d["timezone"])
            for d in devices if d["enabled"] and d["vendor"] in ("zkteco", "hikvision")]


def _all(client: httpx.Client, path: str, **params: object) -> list[dict]:
    items: list[dict] = []
    offset = 0
    while True:
        r = client.get(path, params={**params, "limit": 1000, "offset": offset})
        r.raise_for_status()
        page = r.json()["items"]
        items.extend(page)
        if len(page) < 1000:
            return items
        offset += 1000


def recent_weekdays(count: int, before: date | None = None) -> tuple[date, ...]:
    """The `count` weekdays before `before` (default today, China time), oldest first."""
    day = before or datetime.now(timezone(timedelta(hours=8))).date()
    out: list[date] = []
    while len(out) < count:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            out.append(day)
    return tuple(reversed(out))
