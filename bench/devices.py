"""Parse speed of the device adapters, against baselines measured in the same run.

ATTLOG: `parse_attlog` on a 10,000-line body versus the naive way (csv.reader + strptime + a zoneinfo
localisation per line, building the same Punch records), and versus the floor (splitting the body into
fields and nothing else). Also Hikvision events per second (multipart with a JPEG) and a CSV export.
"""
from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from devices.hikvision import build_event_json, build_multipart, parse_event
from devices.punch import Punch, PunchSource
from devices.sheets import build_csv, parse_sheet
from devices.zkteco import AttlogRecord, build_attlog, method_for_verify, parse_attlog

TZ = "Asia/Shanghai"


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _best_interleaved(fns: list[Callable[[], object]], repeat: int) -> list[float]:
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            best[i] = min(best[i], _best(fn, 1))
    return best


def naive_attlog(body: bytes, device_sn: str, tz_name: str) -> list[Punch]:
    """What a straightforward implementation does: csv module, strptime, zoneinfo per line."""
    tz = ZoneInfo(tz_name)
    out = []
    for n, row in enumerate(csv.reader(io.StringIO(body.decode("gb18030")), delimiter="\t"), 1):
        if not row:
            continue
        local = datetime.strptime(row[1], "%Y-%m-%d %H:%M:%S")
        utc = local.replace(tzinfo=tz).astimezone(timezone.utc).replace(tzinfo=None)
        verify = int(row[3]) if row[3] else -1
        out.append(Punch(PunchSource.ZKTECO, device_sn, row[0], local, utc, tz_name, method_for_verify(verify),
                         verify, int(row[2]) if row[2] else -1, work_code=row[4] or None, line_no=n))
    return out


def floor_split(body: bytes) -> int:
    return sum(len(line.split("\t")) for line in body.decode("utf-8").split("\n"))


def _attlog_body(n: int) -> bytes:
    base = datetime(2026, 3, 2, 7, 30)
    recs = [AttlogRecord(str(100000 + i % 3000), base + timedelta(seconds=3 * i), i % 2, (1, 15, 4)[i % 3])
            for i in range(n)]
    return build_attlog(recs, line_ending="\r\n", field_count=7, trailing_tabs=1)


def main(quick: bool = False) -> None:
    repeat = 3 if quick else 7
    for n in ([1_000] if quick else [100, 10_000, 100_000]):
        body = _attlog_body(n)
        assert len(parse_attlog(body, "SN", TZ)[0]) == len(naive_attlog(body, "SN", TZ)) == n
        # interleaved, best of each: the machine is shared, so load hits all three alike
        ours, naive, floor = _best_interleaved([lambda: parse_attlog(body, "SN", TZ),
                                                lambda: naive_attlog(body, "SN", TZ),
                                                lambda: floor_split(body)], repeat)
        print(f"ATTLOG {n:>7,} lines: parse_attlog {ours * 1e3:8.2f} ms ({n / ours:,.0f} lines/s) | "
              f"naive csv+strptime {naive * 1e3:8.2f} ms -> {naive / ours:.1f}x faster | "
              f"split-only floor {floor * 1e3:6.2f} ms ({ours / floor:.1f}x the floor)")

    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 120 + b"\xff\xd9"
    when = datetime(2026, 3, 2, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    events = [build_multipart(build_event_json(pin=str(i), when=when, serial_no=i), jpeg) for i in range(200)]
    t = _best(lambda: [parse_event(b, ct) for b, ct in events], repeat)
    print(f"Hikvision multipart events (31 KB picture): {len(events) / t:,.0f} events/s")

    rows = [["工号", "姓名", "打卡时间", "验证方式", "状态"]] + [
        [str(1000 + i % 500), "张伟", f"2026-03-02 08:{i // 60 % 60:02d}:{i % 60:02d}", "人脸", "签到"]
        for i in range(1_000 if quick else 10_000)]
    data = build_csv(rows, encoding="gbk")
    t = _best(lambda: parse_sheet(data, "x.csv", "SN", TZ), max(1, repeat // 2))
    print(f"CSV export (GBK) {len(rows) - 1:,} rows: {t * 1e3:.1f} ms ({(len(rows) - 1) / t:,.0f} rows/s)")


if __name__ == "__main__":
    main()
