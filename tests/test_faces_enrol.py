"""Enrolment photos: what is accepted, what is refused and why (real photos)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from attendance import faces as fc
from tests.test_faces_support import PARAMS, enrolment, photo


def _jpeg(img: Image.Image, **kw) -> bytes:  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90, **kw)
    return out.getvalue()


def test_two_people_refused_with_the_count() -> None:
    with pytest.raises(fc.SeveralFaces) as err:
        fc.enrol(photo("two_people"), PARAMS)
    assert err.value.count == 2 and "2 faces" in str(err.value)


def test_small_face_refused() -> None:
    with pytest.raises(fc.FaceTooSmall) as err:
        fc.enrol(photo("obama_240p"), PARAMS)  # the face is ~70 px wide
    assert err.value.size_px < PARAMS.min_face_px
    assert fc.enrol(photo("obama_240p"), fc.FaceParams(min_face_px=50)).box_px >= 50


def test_rgba_png_works_and_matches_the_jpeg_of_the_same_photo() -> None:
    e = enrolment("32bit")
    assert e.box_px >= 200
    assert float(np.linalg.norm(e.encoding - enrolment("obama2").encoding)) < 0.05


def test_blank_image_has_no_face() -> None:
    with pytest.raises(fc.NoFace):
        fc.enrol(_jpeg(Image.new("RGB", (400, 300), (120, 130, 140))), PARAMS)


def test_exif_rotated_photo_still_finds_the_face() -> None:
    """A phone photo: pixels stored rotated, with the EXIF orientation tag saying how to show them."""
    with Image.open(io.BytesIO(photo("obama_small"))) as im:
        upright = im.convert("RGB")
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what the sensor wrote
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display", which undoes ROTATE_90 (counter-clockwise)
    data = _jpeg(stored, exif=exif.tobytes())
    no_tag = _jpeg(stored)
    with pytest.raises(fc.NoFace):  # without the tag HOG sees a sideways face
        fc.enrol(no_tag, PARAMS)
    e = fc.enrol(data, PARAMS)
    assert fc.load_image(data).shape == (upright.height, upright.width, 3)
    assert float(np.linalg.norm(e.encoding - fc.enrol(_jpeg(upright), PARAMS).encoding)) < 0.1


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\0" * 100])
def test_unreadable_bytes(data: bytes) -> None:
    with pytest.raises(fc.ImageUnreadable):
        fc.load_image(data)


def test_truncated_jpeg_refused_although_pil_is_told_to_load_it() -> None:
    import face_recognition  # noqa: F401  (sets PIL LOAD_TRUNCATED_IMAGES=True for the process)

    data = photo("obama")
    with pytest.raises(fc.ImageUnreadable, match="truncated"):
        fc.load_image(data[: len(data) // 2])


def test_errors_are_face_errors_with_codes() -> None:
    assert issubclass(fc.SeveralFaces, fc.FaceError) and fc.SeveralFaces(3).code == "several_faces"
    assert fc.FaceTooSmall(50, 80).code == "face_too_small" and fc.NoFace("x").code == "no_face"
