"""Shared set-up for the footage, retention, scheduler and audit tests: small real videos written with
OpenCV and an institution / site / class in the database."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy import Engine

from punchaudit.config import Settings, load_settings
from storage.db import session_scope
from storage.schema.core import Institution, Site, TrainingClass


def write_video(path: Path, seconds: float, fps: float = 10.0, size: tuple[int, int] = (96, 64),
                fourcc: str = "mp4v") -> Path:
    """A real video whose frame i has its index in the red channel, so decoded frames can be told apart."""
    path.parent.mkdir(parents=True, exist_ok=True)
    w = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*fourcc), fps, size)
    assert w.isOpened()
    for i in range(int(round(seconds * fps))):
        frame = np.zeros((size[1], size[0], 3), np.uint8)
        frame[:, :, 2] = (i * 7) % 256
        cv2.putText(frame, str(i), (5, size[1] // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
        w.write(frame)
    w.release()
    return path


def make_world(engine: Engine, *, class_start: date = date(2024, 3, 4), class_end: date = date(2024, 3, 8),
               inst_code: str = "INST1", site_code: str = "S1", class_code: str = "C1") -> dict[str, int]:
    with session_scope(engine) as s:
        inst = Institution(code=inst_code, name="培训学校 " + inst_code)
        s.add(inst)
        s.flush()
        site = Site(institution_id=inst.id, code=site_code, name="site " + site_code, timezone="Asia/Shanghai")
        s.add(site)
        s.flush()
        cls = TrainingClass(code=class_code, institution_id=inst.id, site_id=site.id, name="class " + class_code,
                            start_date=class_start, end_date=class_end)
        s.add(cls)
        s.flush()
        return {"institution": inst.id, "site": site.id, "class": cls.id}


def settings_for(tmp_path: Path, **footage: object) -> Settings:
    base = load_settings()
    cfg = base.footage.model_copy(update={"root": str(tmp_path / "footage"), "clips_dir": str(tmp_path / "clips"),
                                          "audit_head_file": str(tmp_path / "head.json"), **footage})
    return base.model_copy(update={"footage": cfg})
