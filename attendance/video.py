"""Faces in classroom footage: who of a class's enrolled trainees appears in a time window.

Used as a pre-screen by the sampling review: per sampled frame the number of faces and which trainees
were identified. Frames are sampled, not all decoded into the detector: a 1080p frame costs ~0.7 s of
HOG at upsample 1 plus ~65 ms per face, so one frame every few seconds is what a review can afford.

Reading follows faces.md §5: sequential `grab()` and `retrieve()` only on the chosen frames (exact for
every container, including MPEG-TS and variable frame rate where seeking is wrong), the PTS read back
with `CAP_PROP_POS_MSEC` after each grab, frames converted BGR -> RGB with `cv2.cvtColor` (a `[:, :, ::-1]`
view breaks `face_encodings`). `sample_frames` is the only function here that touches a file.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from attendance.face_index import FaceIndex
from attendance.faces import Box, FaceParams, Gallery, encode, library


class FootageUnreadable(ValueError):
    """The footage file cannot be opened or decoded."""


@dataclass(frozen=True)
class VideoParams:
    step_seconds: float = 2.0  # one frame every this many seconds of footage
    upsample: int = 1  # HOG upsample: faces from ~30 px at 1, ~20 px at 2
    detect_max_width: int = 1280  # frames wider than this are downscaled for detection
    min_face_px: int = 40  # below ~40 px an encoding uses most of the 0.6 margin by itself
    tolerance: float = 0.5
    margin: float = 0.0  # a match also needs the runner-up trainee this much further away


@dataclass(frozen=True)
class FrameFaces:
    t_seconds: float  # presentation time from the start of the file
    face_count: int  # faces detected (any size)
    usable: int  # faces large enough to identify
    trainee_ids: tuple[int, ...]
    distances: tuple[float, ...]


@dataclass(frozen=True)
class VideoScan:
    frames: tuple[FrameFaces, ...]

    @property
    def identified(self) -> dict[int, int]:
        """Trainee id -> number of sampled frames they were identified in."""
        out: dict[int, int] = {}
        for f in self.frames:
            for t in set(f.trainee_ids):
                out[t] = out.get(t, 0) + 1
        return out

    @property
    def face_counts(self) -> np.ndarray:
        return np.array([f.face_count for f in self.frames], dtype=np.int32)

    @property
    def max_faces(self) -> int:
        return int(self.face_counts.max()) if self.frames else 0


def sample_frames(path: str | Path, start_s: float = 0.0, end_s: float | None = None,
                  step_s: float = 2.0) -> Iterator[tuple[float, np.ndarray]]:
    """(t_seconds, RGB frame) every `step_s` seconds of presentation time in [start_s, end_s)."""
    import cv2

    p = Path(path)
    if not p.is_file():
        raise FootageUnreadable(f"footage file not found: {p.name}")
    cap = cv2.VideoCapture(str(p), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        raise FootageUnreadable(f"OpenCV cannot open {p.name}")
    try:
        next_t = start_s
        got_any = False
        while True:
            if not cap.grab():
                break
            got_any = True
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if end_s is not None and t >= end_s:
                break
            if t + 1e-6 < next_t:
                continue
            ok, frame = cap.retrieve()
            if not ok or frame is None:
                continue
            yield t, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            while next_t <= t + 1e-6:
                next_t += step_s
        if not got_any:
            raise FootageUnreadable(f"no frame could be decoded from {p.name}")
    finally:
        cap.release()


def detect_frame(frame: np.ndarray, params: VideoParams) -> list[Box]:
    """HOG boxes in full-frame pixels (downscaled detection above `detect_max_width`)."""
    h, w = frame.shape[:2]
    scale = min(1.0, params.detect_max_width / w)
    small = frame
    if scale < 1.0:
        import cv2

        small = cv2.resize(frame, (params.detect_max_width, round(h * scale)), interpolation=cv2.INTER_AREA)
    boxes = library().face_locations(small, number_of_times_to_upsample=params.upsample, model="hog")
    return [(max(0, round(t / scale)), min(w, round(r / scale)), min(h, round(b / scale)), max(0, round(left / scale)))
            for t, r, b, left in boxes]


def scan_frames(frames: Iterable[tuple[float, np.ndarray]], gallery: Gallery, params: VideoParams) -> VideoScan:
    """Identify enrolled trainees in each frame: nearest trainee within tolerance (and `margin` ahead of
    the runner-up), one GEMM per frame against the class gallery."""
    index = FaceIndex(gallery.encodings, gallery.trainee_ids)
    out: list[FrameFaces] = []
    for t, frame in frames:
        frame = np.ascontiguousarray(frame)
        boxes = detect_frame(frame, params)
        usable = [b for b in boxes if b[1] - b[3] >= params.min_face_px]
        ids: list[int] = []
        dists: list[float] = []
        if usable and len(index):
            ids_k, d_k = index.nearest(encode(frame, usable), k=2)
            for row_ids, row_d in zip(ids_k, d_k, strict=True):
                second = float(row_d[1]) if len(row_d) > 1 and row_ids[1] != row_ids[0] else np.inf
                if row_d[0] <= params.tolerance and second - row_d[0] >= params.margin:
                    ids.append(int(row_ids[0]))
                    dists.append(round(float(row_d[0]), 4))
        out.append(FrameFaces(round(t, 3), len(boxes), len(usable), tuple(ids), tuple(dists)))
    return VideoScan(tuple(out))


def scan_video(path: str | Path, gallery: Gallery, params: VideoParams, start_s: float = 0.0,
               end_s: float | None = None) -> VideoScan:
    """Sample a footage window and identify the class's enrolled trainees in it."""
    return scan_frames(sample_frames(path, start_s, end_s, params.step_seconds), gallery, params)


def video_params(face: FaceParams, **overrides: float) -> VideoParams:
    return VideoParams(tolerance=face.tolerance, **overrides)  # type: ignore[arg-type]
