"""Face enrolment and verification of punch photos (face_recognition / dlib, 128-d encodings).

A terminal can be enrolled with a stand-in's face under a trainee's PIN, so the service checks each punch
photo against the trainee's registration photo and against every other trainee enrolled at the same
institution. This module is pure: bytes and arrays in, dataclasses out, no database.

Speed (see shared/docs/faces.md §2): one encoding costs ~60-70 ms whatever the image size, HOG detection
grows with pixel count and 4x per upsample step. So detection runs on a downscaled copy, cheapest first,
and encoding runs at full resolution with the boxes mapped back (encoding moves by ~0.03 only).
face_recognition is imported lazily: it costs ~0.8 s and ~150 MB, and only worker processes need it.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Box = tuple[int, int, int, int]  # face_recognition "css" order: (top, right, bottom, left), full-size pixels

OUTCOMES = ("verified", "review", "mismatch", "proxy_suspected", "replay_suspected", "no_face")
# an outcome that means "this punch photo does not show the claimed trainee": presence does not count it
NOT_PRESENT_OUTCOMES = ("mismatch", "proxy_suspected")
NOT_ENROLLED = "not_enrolled"  # a verdict, never stored: nothing to compare with (unless a proxy is found)
ENCODING_DIM = 128
HOG_MIN_FACE_UPSAMPLE0 = 64  # HOG at upsample 0 finds faces from ~60 px (faces.md §2.1); keep a margin


class FaceError(ValueError):
    """A photo cannot be used; the message is meant for a site operator."""

    code = "face_error"


class ImageUnreadable(FaceError):
    code = "unreadable"


class NoFace(FaceError):
    code = "no_face"


class SeveralFaces(FaceError):
    code = "several_faces"

    def __init__(self, count: int) -> None:
        super().__init__(f"the photo shows {count} faces; an enrolment photo must show exactly one person")
        self.count = count


class FaceTooSmall(FaceError):
    code = "face_too_small"

    def __init__(self, size_px: int, min_px: int) -> None:
        super().__init__(f"the face is {size_px} px wide; at least {min_px} px is needed to encode it reliably")
        self.size_px = size_px
        self.min_px = min_px


@dataclass(frozen=True)
class FaceParams:
    """Thresholds and sizes; the service builds this from `settings.faces`."""

    tolerance: float = 0.5  # verified at or below
    review_upper: float = 0.6  # review band (tolerance, review_upper]; mismatch above
    replay_distance: float = 0.1  # re-encoded copies of one picture: 0.02-0.09; live captures 0.2-0.5
    min_face_px: int = 80
    detect_max_width: int = 640  # thorough detection runs on a copy at most this wide
    fast_detect_width: int = 320  # first, cheap try for punch photos (large faces near the terminal)
    model: str = "dlib_face_recognition_resnet_model_v1"


@dataclass(frozen=True)
class FoundFace:
    box: Box
    size_px: int  # box width in full-size pixels
    encoding: np.ndarray  # float32[128]


@dataclass(frozen=True)
class PhotoFaces:
    """Every face found in one photo (largest first), with the image size and content hash."""

    faces: tuple[FoundFace, ...]
    width: int
    height: int
    sha256: str = ""

    @property
    def largest(self) -> FoundFace | None:
        return self.faces[0] if self.faces else None


@dataclass(frozen=True)
class Enrolment:
    encoding: np.ndarray  # float32[128]
    box: Box
    box_px: int


# ---------------------------------------------------------------------------------------------- images

def _check_complete(data: bytes) -> None:
    """face_recognition sets PIL's LOAD_TRUNCATED_IMAGES for the whole process, so a cut-off upload
    would decode silently (grey bottom) and still yield a face: check the end markers ourselves."""
    if data[:3] == b"\xff\xd8\xff":
        tail = data.rstrip(b"\x00\r\n ")[-2:]
        if tail != b"\xff\xd9":
            raise ImageUnreadable("the JPEG is truncated (no end-of-image marker); resend the photo")
    elif data[:8] == b"\x89PNG\r\n\x1a\n":
        if b"IEND" not in data[-64:]:
            raise ImageUnreadable("the PNG is truncated (no IEND chunk); resend the photo")


def load_image(data: bytes) -> np.ndarray:
    """Decode JPEG/PNG bytes to a contiguous RGB uint8 array with the EXIF orientation applied.

    face_recognition's own loader ignores EXIF orientation (a portrait phone photo gives 0 faces) and
    dlib needs contiguous 3-channel uint8 (alpha dropped, greyscale expanded)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise ImageUnreadable("the photo is empty")
    _check_complete(data)
    try:
        with Image.open(io.BytesIO(data)) as im:
            im = ImageOps.exif_transpose(im)
            if im.mode != "RGB":
                im = im.convert("RGB")
            arr = np.asarray(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageUnreadable(f"the photo cannot be decoded as JPEG or PNG ({type(exc).__name__})") from None
    return np.ascontiguousarray(arr)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """Validate an in-memory image (e.g. a video frame already converted from BGR)."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ImageUnreadable(f"expected an RGB uint8 image, got {image.dtype} {image.shape}")
    return np.ascontiguousarray(image)


# ---------------------------------------------------------------------------------- detect + encode

def library() -> Any:
    import face_recognition  # noqa: PLC0415  (heavy: loads the dlib models)

    return face_recognition


def _downscaled(image: np.ndarray, max_width: int) -> tuple[np.ndarray, float]:
    h, w = image.shape[:2]
    if w <= max_width:
        return image, 1.0
    scale = max_width / w
    from PIL import Image

    small = Image.fromarray(image).resize((max_width, max(1, round(h * scale))), Image.BILINEAR)
    return np.asarray(small), scale


def _detect_at(image: np.ndarray, max_width: int, upsample: int) -> list[Box]:
    small, scale = _downscaled(image, max_width)
    boxes = library().face_locations(small, number_of_times_to_upsample=upsample, model="hog")
    if scale == 1.0:
        return [tuple(int(v) for v in b) for b in boxes]  # type: ignore[misc]
    h, w = image.shape[:2]
    out: list[Box] = []
    for top, right, bottom, left in boxes:
        out.append((
            max(0, round(top / scale)), min(w, round(right / scale)),
            min(h, round(bottom / scale)), max(0, round(left / scale)),
        ))
    return out


def detect(image: np.ndarray, params: FaceParams, *, thorough: bool = True) -> list[Box]:
    """HOG face boxes in full-size pixels, largest first.

    Cheapest first: a copy `fast_detect_width` wide at upsample 0 finds the large face of a terminal
    photo in a few ms (punch photos only, `thorough=False`). Otherwise, and when that finds nothing, a
    copy `detect_max_width` wide at upsample 0 if the smallest acceptable face stays >= 64 px there,
    else upsample 1; if still nothing, upsample 1 so that a too-small face is reported as such rather
    than as "no face". Enrolment always runs thorough, so a second, smaller face is not missed."""
    boxes: list[Box] = []
    w = image.shape[1]
    if not thorough and params.fast_detect_width < min(w, params.detect_max_width):
        boxes = _detect_at(image, params.fast_detect_width, 0)
    if not boxes:
        scale = min(1.0, params.detect_max_width / w)
        upsample = 0 if params.min_face_px * scale >= HOG_MIN_FACE_UPSAMPLE0 else 1
        boxes = _detect_at(image, params.detect_max_width, upsample)
        if not boxes and upsample == 0:
            boxes = _detect_at(image, params.detect_max_width, 1)
    return sorted(boxes, key=lambda b: (b[1] - b[3]) * (b[2] - b[0]), reverse=True)


def encode(image: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """float32 (k, 128) encodings at full resolution for known boxes (5-point landmarks, 1 jitter: the
    encoding is deterministic, which the replay check relies on)."""
    if not boxes:
        return np.empty((0, ENCODING_DIM), dtype=np.float32)
    enc = library().face_encodings(image, known_face_locations=boxes, num_jitters=1, model="small")
    return np.asarray(enc, dtype=np.float32).reshape(len(boxes), ENCODING_DIM)


def analyse(image: bytes | np.ndarray, params: FaceParams, *, thorough: bool = False,
            max_faces: int | None = None) -> PhotoFaces:
    """Detect and encode the faces of one photo (the unit of work of a verification worker).

    `max_faces` encodes only the largest ones (a punch photo needs one; each costs ~65 ms)."""
    import hashlib

    sha = ""
    if isinstance(image, bytes | bytearray | memoryview):
        raw = bytes(image)
        sha = hashlib.sha256(raw).hexdigest()
        arr = load_image(raw)
    else:
        arr = as_rgb(image)
    boxes = detect(arr, params, thorough=thorough)
    chosen = boxes if max_faces is None else boxes[:max_faces]
    encodings = encode(arr, chosen)
    faces = tuple(FoundFace(box=b, size_px=b[1] - b[3], encoding=e) for b, e in zip(chosen, encodings, strict=True))
    # faces beyond max_faces are still counted, without an encoding
    extra = tuple(FoundFace(box=b, size_px=b[1] - b[3], encoding=np.empty(0, np.float32)) for b in boxes[len(chosen):])
    return PhotoFaces(faces=faces + extra, width=arr.shape[1], height=arr.shape[0], sha256=sha)


def enrol(image: bytes | np.ndarray, params: FaceParams) -> Enrolment:
    """The reference encoding from a registration photo: exactly one face, at least `min_face_px` wide."""
    arr = load_image(bytes(image)) if isinstance(image, bytes | bytearray | memoryview) else as_rgb(image)
    boxes = detect(arr, params, thorough=True)
    if not boxes:
        raise NoFace("no face was found in the photo; use a frontal, well-lit head-and-shoulders photo")
    if len(boxes) > 1:
        raise SeveralFaces(len(boxes))
    box = boxes[0]
    size = box[1] - box[3]
    if size < params.min_face_px:
        raise FaceTooSmall(size, params.min_face_px)
    return Enrolment(encoding=encode(arr, [box])[0], box=box, box_px=size)


# ---------------------------------------------------------------------------------------- verifying

@dataclass(frozen=True)
class Gallery:
    """The active enrolment encodings of every trainee enrolled at one institution."""

    trainee_ids: np.ndarray  # int64 (n,)
    encodings: np.ndarray  # float32 (n, 128)

    @classmethod
    def empty(cls) -> Gallery:
        return cls(np.empty(0, np.int64), np.empty((0, ENCODING_DIM), np.float32))


@dataclass(frozen=True)
class Probe:
    """One punch photo to classify: its face encoding (None if no face), the trainee it claims to be,
    the photo's hash, and what it must not be a copy of (the claimed trainee's enrolment photo and
    earlier punch photos: encodings and SHA-256 hashes)."""

    claimed_trainee_id: int
    encoding: np.ndarray | None
    sha256: str = ""
    previous_encodings: np.ndarray = field(default_factory=lambda: np.empty((0, ENCODING_DIM), np.float32))
    previous_hashes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Verdict:
    outcome: str
    distance: float | None  # to the claimed trainee's enrolment
    nearest_other_trainee_id: int | None
    nearest_other_distance: float | None
    reason: str


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances (len(a), len(b)) in float32 by one matrix product and precomputed norms."""
    a = np.asarray(a, np.float32).reshape(-1, ENCODING_DIM)
    b = np.asarray(b, np.float32).reshape(-1, ENCODING_DIM)
    sq = np.einsum("ij,ij->i", a, a)[:, None] + np.einsum("ij,ij->i", b, b)[None, :] - 2.0 * (a @ b.T)
    return np.sqrt(np.maximum(sq, 0.0, out=sq), out=sq)


def verify_batch(probes: list[Probe], gallery: Gallery, params: FaceParams) -> list[Verdict]:
    """Classify punch photos of one institution at once: one distance matrix probes x gallery.

    Order of the checks: no face; replay (identical bytes, or an encoding within `replay_distance` of
    the enrolment or an earlier punch photo: independent live captures land at 0.2-0.5); proxy (another
    enrolled trainee is within tolerance and nearer than the claimed one); then verified / review /
    mismatch by the distance to the claimed trainee."""
    with_face = [i for i, p in enumerate(probes) if p.encoding is not None and p.encoding.size == ENCODING_DIM]
    dist = np.empty((0, len(gallery.trainee_ids)), np.float32)
    if with_face and len(gallery.trainee_ids):
        dist = pairwise_distances(np.stack([probes[i].encoding for i in with_face]), gallery.encodings)  # type: ignore[misc]
    row_of = {i: r for r, i in enumerate(with_face)}
    out: list[Verdict] = []
    for i, probe in enumerate(probes):
        if i not in row_of:
            out.append(Verdict("no_face", None, None, None, "no face found in the punch photo"))
            continue
        d = dist[row_of[i]] if dist.shape[0] else np.empty(0, np.float32)
        out.append(_classify(probe, d, gallery, params))
    return out


def verify(probe: Probe, gallery: Gallery, params: FaceParams) -> Verdict:
    return verify_batch([probe], gallery, params)[0]


def _classify(probe: Probe, d: np.ndarray, gallery: Gallery, params: FaceParams) -> Verdict:
    own = gallery.trainee_ids == probe.claimed_trainee_id
    d_own = float(d[own].min()) if own.any() else None
    others = ~own
    other_id: int | None = None
    d_other: float | None = None
    if others.any():
        j = int(np.flatnonzero(others)[np.argmin(d[others])])
        other_id, d_other = int(gallery.trainee_ids[j]), float(d[j])

    if probe.sha256 and probe.sha256 in probe.previous_hashes:
        return Verdict("replay_suspected", d_own, other_id, d_other,
                       "the photo is byte-identical to the enrolment photo or an earlier punch photo")
    if len(probe.previous_encodings):
        d_prev = float(pairwise_distances(probe.encoding, probe.previous_encodings).min())  # type: ignore[arg-type]
        if d_prev <= params.replay_distance:
            return Verdict("replay_suspected", d_own, other_id, d_other,
                           f"the face is {d_prev:.3f} from an earlier photo of this trainee (a live capture is 0.2-0.5)")
    if d_other is not None and d_other <= params.tolerance and (d_own is None or d_other < d_own):
        return Verdict("proxy_suspected", d_own, other_id, d_other,
                       f"another trainee of the institution matches at {d_other:.3f}"
                       + (f", nearer than the claimed trainee ({d_own:.3f})" if d_own is not None else ""))
    if d_own is None:
        return Verdict(NOT_ENROLLED, None, other_id, d_other, "the claimed trainee has no enrolment photo")
    if d_own <= params.tolerance:
        return Verdict("verified", d_own, other_id, d_other, f"matches the enrolment photo at {d_own:.3f}")
    if d_own <= params.review_upper:
        return Verdict("review", d_own, other_id, d_other,
                       f"distance {d_own:.3f} is between the tolerance {params.tolerance} and {params.review_upper}")
    return Verdict("mismatch", d_own, other_id, d_other, f"distance {d_own:.3f} is above {params.review_upper}")
