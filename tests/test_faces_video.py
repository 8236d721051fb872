"""Faces in footage: the real Hamilton clip, and frame sampling on a generated video."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from attendance import faces as fc
from attendance.video import FootageUnreadable, VideoParams, sample_frames, scan_video
from tests.test_faces_support import enrolment, path


@pytest.mark.slow
def test_hamilton_clip_identifies_the_enrolled_performer_in_its_first_frames() -> None:
    lin, obama = enrolment("lin"), enrolment("obama")
    gallery = fc.Gallery(np.array([7, 8]), np.stack([lin.encoding, obama.encoding]))
    scan = scan_video(path("clip"), gallery, VideoParams(step_seconds=0.5, tolerance=0.6), 0.0, 1.5)
    assert [f.t_seconds < 1.5 for f in scan.frames] == [True] * len(scan.frames)
    assert len(scan.frames) == 3  # 0.0, 0.5, 1.0
    assert scan.identified.get(7, 0) >= 1 and 8 not in scan.identified
    assert scan.max_faces >= 1 and scan.face_counts.dtype == np.int32


def test_sample_frames_every_step_on_a_generated_video(tmp_path: Path) -> None:
    import cv2

    file = tmp_path / "frames.avi"
    writer = cv2.VideoWriter(str(file), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    assert writer.isOpened()
    for k in range(50):  # 5 s at 10 fps; the frame index is written into the pixels
        writer.write(np.full((48, 64, 3), k * 5, np.uint8))
    writer.release()
    got = list(sample_frames(file, start_s=1.0, end_s=4.0, step_s=1.0))
    assert [round(t, 1) for t, _ in got] == [1.0, 2.0, 3.0]
    assert [int(round(frame.mean() / 5)) for _, frame in got] == [10, 20, 30]  # exact frames, not neighbours
    assert got[0][1].shape == (48, 64, 3) and got[0][1].flags.c_contiguous


def test_missing_or_broken_footage(tmp_path: Path) -> None:
    with pytest.raises(FootageUnreadable):
        list(sample_frames(tmp_path / "absent.mp4"))
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video" * 100)
    with pytest.raises(FootageUnreadable):
        list(sample_frames(bad))
