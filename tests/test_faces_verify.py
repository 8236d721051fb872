"""Verification outcomes: the decision rules on constructed encodings, then on the real photos."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attendance import faces as fc
from tests.test_faces_support import PARAMS, enrolment, punch_encoding, punch_jpeg

RNG = np.random.default_rng(7)


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def _at(base: np.ndarray, distance: float) -> np.ndarray:
    """A vector exactly `distance` from `base`."""
    return (base + distance * _unit(RNG.normal(size=128))).astype(np.float32)


BASE = RNG.normal(0, 0.12, (3, 128)).astype(np.float32)  # three trainees, far apart (~1.9)
GALLERY = fc.Gallery(np.array([1, 2, 3]), BASE)


@pytest.mark.parametrize(("d", "outcome"), [(0.3, "verified"), (0.5, "verified"), (0.55, "review"),
                                            (0.6, "review"), (0.75, "mismatch")])
def test_distance_bands(d: float, outcome: str) -> None:
    probe = fc.Probe(1, _at(BASE[0], d - 1e-4 if d in (0.5, 0.6) else d))
    v = fc.verify(probe, GALLERY, PARAMS)
    assert v.outcome == outcome
    assert v.distance == pytest.approx(d, abs=2e-3)
    assert v.nearest_other_trainee_id in (2, 3)


def test_proxy_when_another_trainee_is_nearer_and_within_tolerance() -> None:
    v = fc.verify(fc.Probe(1, _at(BASE[1], 0.2)), GALLERY, PARAMS)
    assert v.outcome == "proxy_suspected"
    assert v.nearest_other_trainee_id == 2 and v.nearest_other_distance == pytest.approx(0.2, abs=1e-3)


def test_no_proxy_when_the_other_is_beyond_tolerance() -> None:
    v = fc.verify(fc.Probe(1, _at(BASE[1], 0.55)), GALLERY, PARAMS)
    assert v.outcome == "mismatch"


def test_replay_by_hash_and_by_encoding() -> None:
    enc = _at(BASE[0], 0.25)
    by_hash = fc.verify(fc.Probe(1, enc, sha256="abc", previous_hashes=frozenset({"abc"})), GALLERY, PARAMS)
    assert by_hash.outcome == "replay_suspected"
    near_copy = fc.verify(fc.Probe(1, enc, previous_encodings=_at(enc, 0.01)[None, :]), GALLERY, PARAMS)
    assert near_copy.outcome == "replay_suspected"
    live = fc.verify(fc.Probe(1, enc, previous_encodings=_at(enc, 0.2)[None, :]), GALLERY, PARAMS)
    assert live.outcome == "verified"


def test_no_face_and_not_enrolled() -> None:
    assert fc.verify(fc.Probe(1, None), GALLERY, PARAMS).outcome == "no_face"
    assert fc.verify(fc.Probe(9, _at(BASE[0], 0.9)), GALLERY, PARAMS).outcome == fc.NOT_ENROLLED
    # not enrolled, but the face is another enrolled trainee's: that is a proxy
    assert fc.verify(fc.Probe(9, _at(BASE[2], 0.1)), GALLERY, PARAMS).outcome == "proxy_suspected"


def _oracle(probe: fc.Probe, gallery: fc.Gallery, p: fc.FaceParams) -> str:
    """The rules written out one comparison at a time (float64)."""
    if probe.encoding is None:
        return "no_face"
    if probe.sha256 and probe.sha256 in probe.previous_hashes:
        return "replay_suspected"
    q = probe.encoding.astype(np.float64)
    if any(np.linalg.norm(q - e) <= p.replay_distance for e in probe.previous_encodings):
        return "replay_suspected"
    own = [float(np.linalg.norm(q - e)) for t, e in zip(gallery.trainee_ids, gallery.encodings) if t == probe.claimed_trainee_id]
    other = [float(np.linalg.norm(q - e)) for t, e in zip(gallery.trainee_ids, gallery.encodings) if t != probe.claimed_trainee_id]
    d_own = min(own) if own else None
    d_other = min(other) if other else None
    if d_other is not None and d_other <= p.tolerance and (d_own is None or d_other < d_own):
        return "proxy_suspected"
    if d_own is None:
        return fc.NOT_ENROLLED
    return "verified" if d_own <= p.tolerance else "review" if d_own <= p.review_upper else "mismatch"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.floats(0.0, 0.9), st.integers(1, 4)), min_size=1, max_size=12),
       st.integers(0, 2**32 - 1))
def test_batch_matches_rule_by_rule_oracle(cases: list[tuple[int, float, int]], seed: int) -> None:
    rng = np.random.default_rng(seed)
    gallery = fc.Gallery(np.array([1, 2, 3, 3]), np.vstack([BASE, BASE[2:3] + 0.05]).astype(np.float32))
    probes = []
    for who, d, claimed in cases:
        v = rng.normal(size=128)
        probes.append(fc.Probe(claimed, (BASE[who] + d * v / np.linalg.norm(v)).astype(np.float32)))
    got = [v.outcome for v in fc.verify_batch(probes, gallery, PARAMS)]
    # skip knife-edge cases where float32 vs float64 could differ
    want = [_oracle(p, gallery, PARAMS) for p in probes]
    for g, w, p in zip(got, want, probes):
        d = np.linalg.norm(gallery.encodings.astype(np.float64) - p.encoding.astype(np.float64), axis=1)
        if np.min(np.abs(d - PARAMS.tolerance)) > 1e-4 and np.min(np.abs(d - PARAMS.review_upper)) > 1e-4:
            assert g == w


# -------------------------------------------------------------------------------- real photos

@pytest.mark.slow
def test_obama_photos_verify_against_each_other_and_biden_does_not() -> None:
    names = ["obama", "obama2", "obama3"]
    for enrolled in names:
        gallery = fc.Gallery(np.array([1]), enrolment(enrolled).encoding[None, :])
        for other in names:
            if other != enrolled:
                assert fc.verify(fc.Probe(1, punch_encoding(other)), gallery, PARAMS).outcome == "verified", (enrolled, other)
        biden = fc.verify(fc.Probe(1, punch_encoding("biden")), gallery, PARAMS)
        assert biden.outcome == "mismatch" and biden.distance > 0.6


@pytest.mark.slow
def test_real_proxy_biden_under_obamas_pin() -> None:
    gallery = fc.Gallery(np.array([1, 2]), np.stack([enrolment("obama").encoding, enrolment("biden").encoding]))
    v = fc.verify(fc.Probe(1, punch_encoding("biden2")), gallery, PARAMS)
    assert v.outcome == "proxy_suspected" and v.nearest_other_trainee_id == 2


@pytest.mark.slow
def test_real_replay_of_the_enrolment_photo_reencoded() -> None:
    """The enrolment picture re-sent as a (re-compressed, smaller) punch photo lands within replay
    distance even though its bytes differ."""
    enrolled = enrolment("lin")
    gallery = fc.Gallery(np.array([1]), enrolled.encoding[None, :])
    copy = fc.analyse(punch_jpeg("lin", 640), PARAMS, max_faces=1).largest
    assert copy is not None
    v = fc.verify(fc.Probe(1, copy.encoding, previous_encodings=enrolled.encoding[None, :]), gallery, PARAMS)
    assert v.outcome == "replay_suspected"
