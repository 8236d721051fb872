"""Review clips (WebM, VP8) with original timestamps, and session coverage."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st
from sqlalchemy import Engine, select

from footage_testkit import make_world, settings_for, write_video
from punchaudit.services import footage as svc
from storage import coverage
from storage.clips import ClipError, cut_webm
from storage.schema.footage import FootageClip

NOW = datetime(2024, 3, 10, 12, 0)


def _frames(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        out.append(frame)
    cap.release()
    return out


@pytest.mark.postgres
def test_make_clip_is_webm_with_original_times(engine: Engine, tmp_path: Path) -> None:
    make_world(engine)
    settings = settings_for(tmp_path, clip_max_fps=5.0)
    store = svc.store_for(settings)
    src = write_video(tmp_path / "in" / "cam1_20240304T083000_20240304T083006.mp4", seconds=6, fps=10, size=(160, 120))
    reg = svc.register_file(engine, settings, store, src, site="S1", actor="t", now=NOW)
    start = datetime(2024, 3, 4, 0, 30, 2)  # 08:30:02 local, 2 s into the file
    clip = svc.make_clip(engine, settings, reg.id, start, start + timedelta(seconds=2), actor="inspector")
    assert clip.path.suffix == ".webm" and clip.path.is_file()
    assert (clip.first_frame, clip.last_frame, clip.frame_step) == (20, 40, 2)
    frames = _frames(clip.path)
    assert len(frames) == clip.frame_count == 11
    cap = cv2.VideoCapture(str(clip.path))
    assert cv2.VideoCapture(str(clip.path)).isOpened()
    fourcc = int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode()
    cap.release()
    assert fourcc == "VP80"
    # the frames are the right ones: the red channel carries the source index * 7
    reds = [int(np.median(f[5:15, 100:150, 2])) for f in frames]
    assert all(abs(r - (i * 7) % 256) <= 12 for r, i in zip(reds, range(20, 41, 2))), reds
    assert clip.window_start_utc == start and clip.window_end_utc == start + timedelta(seconds=2)
    side = json.loads(clip.path.with_suffix(".json").read_text())
    assert side["first_frame"] == 20 and side["window_start_utc"] == start.isoformat()
    assert side["source_key"] == reg.key
    with engine.connect() as conn:
        row = conn.execute(select(FootageClip)).one()
    assert row.footage_id == reg.id and row.frame_count == 11 and row.codec == "VP80"


def test_cut_every_frame_and_refuse_outside_window(tmp_path: Path) -> None:
    src = write_video(tmp_path / "v.avi", seconds=3, fps=10, fourcc="MJPG")
    res = cut_webm(src, tmp_path / "c.webm", 0.0, 1.0, max_fps=100)
    assert (res.first_frame, res.last_frame, res.step, res.frame_count) == (0, 10, 1, 11)
    assert len(_frames(tmp_path / "c.webm")) == 11
    with pytest.raises(ClipError, match="outside the file"):
        cut_webm(src, tmp_path / "d.webm", 10.0, 12.0)
    with pytest.raises(ClipError, match="empty"):
        cut_webm(src, tmp_path / "e.webm", 2.0, 2.0)


def _brute(a: float, b: float, fs: list[float], fe: list[float]) -> float:
    grid = np.linspace(a, b, 2001)[:-1] + (b - a) / 4000
    inside = np.zeros(grid.size, bool)
    for s, e in zip(fs, fe):
        inside |= (grid >= s) & (grid < e)
    return inside.mean() * (b - a)


@hsettings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1000), st.integers(1, 300)), max_size=8),
       st.integers(0, 900), st.integers(1, 400))
def test_covered_seconds_matches_brute_force(intervals: list[tuple[int, int]], a: int, length: int) -> None:
    fs = [float(s) for s, _ in intervals]
    fe = [float(s + d) for s, d in intervals]
    got = coverage.covered_seconds(np.array([a]), np.array([a + length]), np.array(fs), np.array(fe))[0]
    assert got == pytest.approx(_brute(a, a + length, fs, fe), abs=length / 1000 + 1e-9)


@pytest.mark.postgres
def test_class_coverage_marks_filmed_sessions(engine: Engine, tmp_path: Path) -> None:
    make_world(engine, class_start=date(2024, 3, 4), class_end=date(2024, 3, 5))
    settings = settings_for(tmp_path)
    store = svc.store_for(settings)
    # day 1 morning (08:30-11:30) filmed in two files; afternoon (14:00-17:00) only half; day 2 nothing
    for name in ("cam1_20240304T082500_20240304T100000.mp4", "cam2_20240304T095000_20240304T113000.mp4",
                 "cam1_20240304T140000_20240304T153000.mp4"):
        src = write_video(tmp_path / "in" / name, seconds=1)
        reg = svc.register_file(engine, settings, store, src, site="S1", actor="t", now=NOW)
        assert reg.status == "defective"  # 1 s of video declared as hours: not counted as coverage
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE footage SET status = 'ok', defect_reason = NULL")
    cov = svc.class_coverage(engine, settings, "C1")
    got = {(c.day.isoformat(), c.session): (c.covered, round(c.share, 3)) for c in cov}
    assert got == {("2024-03-04", "08:30-11:30"): (True, 1.0), ("2024-03-04", "14:00-17:00"): (False, 0.5),
                   ("2024-03-05", "08:30-11:30"): (False, 0.0), ("2024-03-05", "14:00-17:00"): (False, 0.0)}
