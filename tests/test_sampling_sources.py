"""An inspection fed by the other areas for real: the population from a presence run, clips cut
from registered footage, the face pre-screen, and missing footage as a bad session."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from punchaudit.api.app import create_app
from punchaudit.api.auth import create_key
from punchaudit.services import footage as footage_svc
from punchaudit.services import presence as presence_svc
from punchaudit.services import sampling as svc
from punchaudit.services import sampling_sources as sources
from storage import sampling as repo
from storage.db import session_scope
from tests.footage_testkit import make_world, settings_for, write_video


@pytest.mark.slow
def test_population_clips_prescreen_and_missing_footage(engine: Engine, tmp_path: Path) -> None:
    world = make_world(engine)  # class C1, 2024-03-04 .. 2024-03-08 (Mon-Fri), no punches at all
    settings = settings_for(tmp_path)
    with session_scope(engine) as s:
        with pytest.raises(svc.PopulationUnavailable):
            svc.preview(s, settings, world["class"])
        presence_svc.set_schedule(s, settings, "C1", sessions=["08:30-08:40"])
        presence_svc.run_presence(s, settings, ["C1"])
    with session_scope(engine) as s:
        pop = svc.class_population(s, settings, world["class"])
        assert [p.day for p in pop] == [date(2024, 3, d) for d in range(4, 9)]
        assert pop[0].start_utc == datetime(2024, 3, 4, 0, 30)  # 08:30 Beijing time
        assert len(sources.presence_population(s, settings, world["class"], kind="spot_check")) == 5
        row = svc.open_inspection(s, settings, world["class"], actor="t", seed="1")
        iid = row.id
        assert row.sample_size == 5  # N 5, D 1: census
    # footage for the first day only (local 08:29 - 08:41)
    video = write_video(tmp_path / "cam1_first.mp4", seconds=720, fps=1.0)
    footage_svc.register_file(engine, settings, footage_svc.store_for(settings), video, site=world["site"],
                              camera="cam1", start=datetime(2024, 3, 4, 8, 29), end=datetime(2024, 3, 4, 8, 41),
                              actor="t", now=datetime(2024, 3, 10))
    seen = []
    prepared = sources.prepare_clips(engine, settings, iid, prescreen=True, on_item=seen.append)
    assert len(prepared) == 5 and seen == prepared
    clipped = [p for p in prepared if p.clip_path]
    assert len(clipped) == 1 and Path(clipped[0].clip_path).suffix == ".webm" and Path(clipped[0].clip_path).is_file()
    assert clipped[0].prescreen is not None and clipped[0].prescreen.get("max_faces") == 0  # an empty classroom
    assert {p.problem for p in prepared if not p.clip_path} == {"missing"}
    assert sources.prepare_clips(engine, settings, iid) == []  # idempotent
    with session_scope(engine) as s:
        ev = svc.evaluation(s, iid)
        assert ev.bad == 4 and ev.decision == "fail"  # four sessions without footage are bad by rule
        q = svc.queue(s, iid)
        assert q.items[0].presence == {"coverage": 0.0, "present": 0, "enrolled": 0, "run_version": 1}
        assert all(v.inspector == sources.SYSTEM_INSPECTOR for qi in q.items[1:] for v in qi.verdicts)
        first_item = repo.items(s, iid)[0].id
        assert repo.items(s, iid)[0].clip_id is not None
        key = create_key(s, "insp", "inspector")
    client = TestClient(create_app(settings, engine))
    client.post("/inspector/login", data={"key": key})
    page = client.get(f"/inspector/inspections/{iid}").text
    assert "打卡覆盖率 0%" in page and "人脸预筛" in page and page.count("<video") == 1
    assert client.get(f"/inspector/clips/{first_item}").headers["content-type"] == "video/webm"
