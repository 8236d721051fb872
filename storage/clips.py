"""Cut a time window out of a footage file into a browser-playable WebM (VP8 or VP9).

OpenCV's pip wheels cannot write H.264 but bundle libvpx (faces.md section 5.1). VP8 encodes about
100 frames of 640x480 a second here, VP9 four times slower, so a review clip keeps at most
`max_fps` frames a second (every n-th source frame) at most `max_width` wide: enough for an inspector
to count heads, and a ten-minute window costs seconds, not minutes. The source frame range and the
presentation time of the first and last kept frames are returned so the clip can be tied back to the
original recording's timestamps.

Seeking follows faces.md section 5.3: seek by frame index, verify the decoded frame's timestamp, and
fall back to walking forward with grab() when the container seeks inexactly (MPEG-TS, VFR).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2

from storage.video_probe import open_capture


class ClipError(ValueError):
    """The window is empty, outside the file, or the file cannot be read or written."""


@dataclass(frozen=True)
class CutResult:
    first_frame: int  # source frame index of the first kept frame
    last_frame: int  # ... and of the last
    step: int  # every `step`-th source frame was kept
    frame_count: int  # frames written
    fps: float  # frame rate of the clip
    width: int
    height: int
    first_pts_s: float  # presentation time of the first kept frame in the source, seconds
    last_pts_s: float


def _seek(path: Path, cap: cv2.VideoCapture, frame: int, fps: float) -> cv2.VideoCapture:
    """Position `cap` so the next read() returns source frame `frame`."""
    if frame == 0:
        return cap
    cap.set(cv2.CAP_PROP_POS_FRAMES, frame)
    if int(cap.get(cv2.CAP_PROP_POS_FRAMES)) == frame and path.suffix.lower() != ".ts":
        return cap
    cap.release()  # inexact container: walk forward from the start
    cap = open_capture(path)
    for _ in range(frame):
        if not cap.grab():
            break
    return cap


def cut_webm(src: Path, dst: Path, start_s: float, end_s: float, *, fourcc: str = "VP80", max_fps: float = 5.0,
             max_width: int = 640) -> CutResult:
    """Write the source frames whose time lies in [start_s, end_s] (seconds from the file's first
    frame) to `dst` (.webm)."""
    if end_s <= start_s:
        raise ClipError("the clip window is empty (end is not after start)")
    if dst.suffix.lower() != ".webm":
        raise ClipError("review clips are WebM files (.webm)")
    cap = open_capture(src)
    if not cap.isOpened():
        raise ClipError(f"OpenCV cannot open {src.name}")
    writer: cv2.VideoWriter | None = None
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        if fps <= 0:
            raise ClipError(f"{src.name} has no frame rate")
        first = max(0, math.ceil(start_s * fps - 1e-6))
        last = math.floor(end_s * fps + 1e-6)
        if count > 0:
            last = min(last, count - 1)
        if first > last:
            raise ClipError(f"the window {start_s:.1f}-{end_s:.1f} s is outside the file "
                            f"({count / fps:.1f} s long)")
        step = max(1, round(fps / max_fps))
        cap = _seek(src, cap, first, fps)
        dst.parent.mkdir(parents=True, exist_ok=True)
        written, first_pts, last_pts, size = 0, -1.0, -1.0, (0, 0)
        kept_last = first
        for index in range(first, last + 1):
            if not cap.grab():
                break
            if (index - first) % step:
                continue
            ok, frame = cap.retrieve()
            if not ok or frame is None:
                break
            pts = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if writer is None:
                h, w = frame.shape[:2]
                if w > max_width:
                    h, w = int(round(h * max_width / w)) // 2 * 2, max_width // 2 * 2
                size = (w, h)
                writer = cv2.VideoWriter(str(dst), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*fourcc), fps / step, size)
                if not writer.isOpened():
                    raise ClipError(f"OpenCV cannot write {fourcc} to {dst.name}")
                first_pts = pts
            if frame.shape[1] != size[0] or frame.shape[0] != size[1]:
                frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
            writer.write(frame)
            written += 1
            last_pts, kept_last = pts, index
        if written == 0:
            raise ClipError(f"no frame of {src.name} could be decoded in the window")
        return CutResult(first, kept_last, step, written, fps / step, size[0], size[1], first_pts, last_pts)
    finally:
        cap.release()
        if writer is not None:
            writer.release()
