"""The upstream face_recognition checks (faces.md §1.2), reproduced through our wrapper.

Detection here uses the upstream settings (full resolution, upsample 1) by giving the wrapper a
detect width above every image and a minimum face that forces upsample 1, so the exact boxes must
come out; the distances go through our float32 matrix code and must agree with `face_distance`.
"""
from __future__ import annotations

import csv

import numpy as np
import pytest

from attendance import faces as fc
from attendance.face_index import FaceIndex
from tests.conftest import SHARED
from tests.test_faces_support import enrolment, path, photo

UPSTREAM = fc.FaceParams(detect_max_width=100_000, min_face_px=40)  # scale 1, upsample 1 = face_locations(img)


def test_load_image_shapes_and_alpha_dropped() -> None:
    assert fc.load_image(photo("obama")).shape == (1137, 910, 3)
    rgba = fc.load_image(photo("32bit"))
    assert rgba.shape == (1200, 626, 3) and rgba.dtype == np.uint8 and rgba.flags.c_contiguous


def test_load_image_matches_upstream_pixels() -> None:
    import face_recognition

    ours = fc.load_image(photo("obama2"))
    assert np.array_equal(ours, face_recognition.load_image_file(str(path("obama2"))))


@pytest.mark.slow
def test_hog_boxes_exact_as_upstream(faces_dir) -> None:  # type: ignore[no-untyped-def]
    img = fc.load_image(photo("obama"))
    assert fc.detect(img, UPSTREAM) == [(142, 617, 409, 349)]
    top, _, bottom, _ = fc.detect(fc.load_image(photo("32bit")), UPSTREAM)[0]
    assert (top, bottom) == (290, 558)
    partial = faces_dir / "tests/test_images/obama_partial_face.jpg"
    partial2 = faces_dir / "tests/test_images/obama_partial_face2.jpg"
    assert fc.detect(fc.load_image(partial.read_bytes()), UPSTREAM) == [(142, 191, 365, 0)]  # clipped to bounds
    assert fc.detect(fc.load_image(partial2.read_bytes()), UPSTREAM) == [(142, 551, 409, 349)]


def test_encoding_is_128_float32_and_deterministic() -> None:
    e = enrolment("obama").encoding
    assert e.shape == (128,) and e.dtype == np.float32
    again = fc.enrol(photo("obama"), fc.FaceParams())
    assert float(np.linalg.norm(again.encoding - e)) == 0.0  # upstream CLI: same image -> 0.0
    assert 1.2 < float(np.linalg.norm(e)) < 1.6  # not unit length (faces.md §1.2 row 15)


def test_face_distance_checks_through_our_matrix_code() -> None:
    import face_recognition

    known = np.stack([enrolment(n).encoding for n in ("obama2", "obama3", "biden")])
    probe = enrolment("obama").encoding
    ours = FaceIndex(known).distances(probe)
    theirs = face_recognition.face_distance(known.astype(np.float64), probe.astype(np.float64))
    assert ours[0] <= 0.6 and ours[1] <= 0.6 and ours[2] > 0.6
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    matches = [bool(d <= 0.6) for d in ours]  # compare_faces at its default tolerance
    assert matches == [True, True, False]


def test_empty_gallery_gives_empty_distances() -> None:
    probe = enrolment("obama").encoding
    assert FaceIndex(np.empty((0, 128), np.float32)).distances(probe).shape == (0,)
    assert fc.pairwise_distances(probe, np.empty((0, 128))).shape == (1, 0)


@pytest.mark.slow
def test_manifest_face_counts_and_boxes(faces_dir) -> None:  # type: ignore[no-untyped-def]
    """Every small single-image entry of the manifest: same HOG face count and boxes (upstream settings)."""
    rows = list(csv.DictReader((SHARED / "data/faces/manifest.csv").open(encoding="utf-8")))
    checked = 0
    for row in rows:
        if row["kind"] != "image" or int(row["width"]) * int(row["height"]) > 1_000_000:
            continue  # keep the suite's dlib time modest: the large ones are covered above
        img = fc.load_image((SHARED / row["path"]).read_bytes())
        boxes = sorted(fc.detect(img, UPSTREAM), key=lambda b: b[3])
        expected = [tuple(int(v) for v in b.split()) for b in row["hog_boxes_top_right_bottom_left"].split(";")]
        assert len(boxes) == int(row["hog_faces_up1"]), row["path"]
        assert boxes == expected, row["path"]
        checked += 1
    assert checked >= 8
