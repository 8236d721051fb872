"""Enrolment storage, background verification end to end, duplicates across institutions (real photos)."""
from __future__ import annotations

import io
from datetime import datetime

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import Engine, func, select

from attendance import faces as fc
from punchaudit.config import load_settings
from punchaudit.services import faces as svc
from storage import faces as repo
from storage.db import session_scope
from storage.schema.core import PunchPhoto
from storage.schema.faces import FaceEnrolment, FaceJob, FaceVerification
from tests.test_faces_support import World, enrolment, photo, punch_jpeg

T0 = datetime(2026, 11, 25, 8, 55)


def _settings():  # type: ignore[no-untyped-def]
    return load_settings(secret_key="test-secret-key-0123456789")


@pytest.mark.postgres
def test_enrolment_round_trip_and_history(engine: Engine) -> None:
    w = World(engine, ["obama"])
    e1, e2 = enrolment("obama"), enrolment("obama2")
    with session_scope(engine) as s:
        repo.save_enrolment(s, w.trainee["obama"], e1, photo=b"x", photo_sha256="a" * 64, model="m", source="test")
    with session_scope(engine) as s:
        repo.save_enrolment(s, w.trainee["obama"], e2, photo=None, photo_sha256="b" * 64, model="m", source="test")
    with session_scope(engine) as s:
        rows = s.scalars(select(FaceEnrolment).order_by(FaceEnrolment.id)).all()
        assert [r.active for r in rows] == [False, True] and rows[0].replaced_at is not None
        gallery = repo.institution_gallery(s, w.institution_id)
        assert gallery.trainee_ids.tolist() == [w.trainee["obama"]]
        np.testing.assert_array_equal(gallery.encodings[0], e2.encoding)  # bit-exact float32
        assert (rows[1].box_top, rows[1].box_right, rows[1].box_bottom, rows[1].box_left) == e2.box
        hist = repo.trainee_history(s, w.trainee["obama"], before_photo_id=10**9)
        assert hist.hashes == {"a" * 64, "b" * 64} and hist.encodings.shape == (2, 128)


def _blank_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 90, 90)).save(out, "JPEG")
    return out.getvalue()


@pytest.mark.slow
@pytest.mark.postgres
def test_verify_pending_end_to_end_inline(engine: Engine) -> None:
    settings = _settings()
    w = World(engine, ["obama", "biden", "lin"])
    with session_scope(engine) as s:
        for name, pic in (("obama", "obama"), ("biden", "biden")):
            svc.enrol_photo(s, settings, w.trainee[name], photo(pic))
    ob = w.pin["obama"]
    ids = {
        "verified": w.add_photo(ob, punch_jpeg("obama2"), T0)[0],
        "proxy": w.add_photo(ob, punch_jpeg("biden2"), T0.replace(hour=9))[0],
        "replay": w.add_photo(ob, photo("obama"), T0.replace(hour=10))[0],  # the enrolment photo's bytes
        "no_face": w.add_photo(ob, _blank_jpeg(), T0.replace(hour=11), with_punch=False)[0],
        "unknown": w.add_photo("999", punch_jpeg("obama3"), T0)[0],
        "lin": w.add_photo(w.pin["lin"], punch_jpeg("lin"), T0)[0],  # lin is not enrolled yet
    }
    stats = svc.verify_pending(engine, settings, workers=0)
    assert stats.processed == 6
    assert stats.outcomes == {"verified": 1, "proxy_suspected": 1, "replay_suspected": 1, "no_face": 1}
    assert stats.skipped == {"unknown_pin": 1, "not_enrolled": 1}
    with session_scope(engine) as s:
        by_photo = {v.punch_photo_id: v for v in s.scalars(select(FaceVerification))}
        assert by_photo[ids["verified"]].outcome == "verified" and by_photo[ids["verified"]].distance < 0.5
        proxy = by_photo[ids["proxy"]]
        assert proxy.outcome == "proxy_suspected" and proxy.nearest_other_trainee_id == w.trainee["biden"]
        assert by_photo[ids["replay"]].outcome == "replay_suspected"
        assert by_photo[ids["no_face"]].outcome == "no_face" and by_photo[ids["no_face"]].punch_id is None
        for v in by_photo.values():
            assert v.model == settings.faces.model and v.tolerance == settings.faces.tolerance
        # photos were matched to their punches, both in the result and on the photo itself
        assert by_photo[ids["verified"]].punch_id is not None
        assert s.get(PunchPhoto, ids["verified"]).punch_id == by_photo[ids["verified"]].punch_id
        assert s.get(FaceJob, ids["unknown"]).status == "skipped"
        assert repo.count_pending(s) == 0
    # nothing left: a second run does nothing
    assert svc.verify_pending(engine, settings, workers=0).processed == 0
    # enrolling lin puts lin's skipped photo back in the queue; it then verifies
    with session_scope(engine) as s:
        res = svc.enrol_photo(s, settings, w.trainee["lin"], photo("lin"))
    assert res.requeued == 1
    again = svc.verify_pending(engine, settings, workers=0)
    assert again.outcomes == {"replay_suspected": 1}  # that punch photo is a re-compressed copy of the enrolment
    # a second, different live photo of obama later is not a replay of the first punch photo
    w.add_photo(ob, punch_jpeg("obama3", 600), T0.replace(day=26))
    assert svc.verify_pending(engine, settings, workers=0).outcomes == {"verified": 1}


@pytest.mark.slow
def test_worker_pool_processes_pending_photos(engine: Engine) -> None:
    settings = _settings()
    w = World(engine, ["obama", "biden"])
    with session_scope(engine) as s:
        svc.enrol_photo(s, settings, w.trainee["obama"], photo("obama"))
        svc.enrol_photo(s, settings, w.trainee["biden"], photo("biden"))
    for k, name in enumerate(["obama2", "obama3", "biden2", "obama2"]):
        w.add_photo(w.pin["obama"], punch_jpeg(name, 600 + k), T0.replace(minute=k))
    batches: list[tuple[int, int]] = []
    stats = svc.verify_pending(engine, settings, workers=2, on_batch=lambda d, p: batches.append((d, p)))
    # the 4th photo is the 1st picture again (resized): a replay of an earlier punch photo
    assert stats.processed == 4 and stats.outcomes == {"verified": 2, "proxy_suspected": 1, "replay_suspected": 1}
    assert batches[-1] == (4, 0)
    with session_scope(engine) as s:
        assert s.scalar(select(func.count()).select_from(FaceVerification)) == 4


def test_claims_do_not_overlap(engine: Engine) -> None:
    w = World(engine, ["obama"])
    with session_scope(engine) as s:
        assert not repo.has_pending(s, 30)
    for k in range(5):
        w.add_photo(w.pin["obama"], bytes([k]) * 10, T0.replace(minute=k), with_punch=False)
    with session_scope(engine, immediate=True) as s:
        assert repo.has_pending(s, 30)
        first = repo.claim_pending(s, 3, lease_minutes=30)
    with session_scope(engine, immediate=True) as s:
        second = repo.claim_pending(s, 10, lease_minutes=30)
    assert len(first) == 3 and len(second) == 2 and not set(first) & set(second)
    with session_scope(engine, immediate=True) as s:
        assert repo.claim_pending(s, 10, lease_minutes=30) == []
        assert not repo.has_pending(s, 30) and repo.has_pending(s, 0)
        assert repo.claim_pending(s, 10, lease_minutes=0) != []  # past the lease: taken over (attempt 2)
        repo.claim_pending(s, 10, lease_minutes=0)  # attempt 3
        assert repo.claim_pending(s, 10, lease_minutes=0) == []  # given up
        assert {j.status for j in s.scalars(select(FaceJob))} == {"error"}


@pytest.mark.slow
def test_duplicates_across_institutions(engine: Engine) -> None:
    settings = _settings()
    w = World(engine, ["obama", "biden"], second_institution=["obama-again", "kit"])
    with session_scope(engine) as s:
        svc.enrol_photo(s, settings, w.trainee["obama"], photo("obama"))
        svc.enrol_photo(s, settings, w.trainee["biden"], photo("biden"))
        assert svc.enrol_photo(s, settings, w.trainee["obama-again@B"], photo("obama2")).look_alikes == 1
        assert svc.enrol_photo(s, settings, w.trainee["kit@B"], photo("kit")).look_alikes == 0
    with session_scope(engine) as s:
        rows = svc.find_duplicates(s, settings)
        assert len(rows) == 1
        r = rows[0]
        assert {r.a.trainee_id, r.b.trainee_id} == {w.trainee["obama"], w.trainee["obama-again@B"]}
        assert r.distance < 0.5
        assert {r.a.institutions, r.b.institutions} == {("Institution A",), ("Institution B",)}
        assert {r.a.classes, r.b.classes} == {("CLASS-A",), ("CLASS-B",)}
        # a site key of institution A sees the pair (one of its trainees), a third institution would not
        assert len(svc.find_duplicates(s, settings, scope=w.institution_id)) == 1
        assert svc.find_duplicates(s, settings, scope=10_000) == []
        # the check at enrolment sees the same pair, once, from the side of the trainee asked about
        alike = svc.look_alikes(s, settings, [w.trainee["obama"], w.trainee["obama-again@B"]])
        assert len(alike) == 1 and alike[0].distance == pytest.approx(r.distance, abs=1e-3)
        assert svc.look_alikes(s, settings, [w.trainee["kit@B"]]) == []


@pytest.mark.slow
def test_background_verifier_in_the_api_process(engine: Engine) -> None:
    """The API's background thread picks up a photo stored after start-up; the terminal's request
    path never waits for it. Off when faces.background is false."""
    import time

    from punchaudit.api.app import create_app

    base = _settings()
    off = create_app(base.model_copy(update={"faces": base.faces.model_copy(update={"background": False})}), engine)
    assert svc.start_background_verifier(off) is None
    settings = base.model_copy(update={"faces": base.faces.model_copy(update={"workers": 1, "poll_seconds": 0.2,
                                                                                     "background": True})})
    app = create_app(settings, engine)
    w = World(engine, ["obama"])
    with session_scope(engine) as s:
        svc.enrol_photo(s, settings, w.trainee["obama"], photo("obama"))
    verifier = svc.start_background_verifier(app)
    assert verifier is not None
    try:
        photo_id, _ = w.add_photo(w.pin["obama"], punch_jpeg("obama2"), T0)
        deadline = time.monotonic() + 120
        outcome = None
        while outcome is None and time.monotonic() < deadline:
            time.sleep(0.3)
            with session_scope(engine) as s:
                outcome = s.scalar(select(FaceVerification.outcome).where(FaceVerification.punch_photo_id == photo_id))
        assert outcome == "verified"
    finally:
        verifier.stop()


def test_limit_batches_and_unreadable_photos(engine: Engine) -> None:
    settings = _settings()
    settings = settings.model_copy(update={"faces": settings.faces.model_copy(update={"batch_size": 2})})
    w = World(engine, ["obama"])
    for k in range(5):
        w.add_photo(w.pin["obama"], b"\xff\xd8\xff" + bytes([k]) * 20, T0.replace(minute=k), with_punch=False)
    first = svc.verify_pending(engine, settings, limit=3, workers=0)
    assert first.processed == 3 and first.errors == 3 and first.outcomes == {}
    rest = svc.verify_pending(engine, settings, workers=0)
    assert rest.processed == 2
    with session_scope(engine) as s:
        jobs = s.scalars(select(FaceJob)).all()
        assert len(jobs) == 5 and {j.status for j in jobs} == {"error"}
        assert all("truncated" in (j.reason or "") for j in jobs)


def test_background_scan_window(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The background probe looks only near the newest claimed photo; an explicit run finds everything."""
    monkeypatch.setattr(repo, "RESCAN_WINDOW", 2)
    w = World(engine, ["obama"])
    ids = [w.add_photo(w.pin["obama"], bytes([k]) * 10, T0.replace(minute=k), with_punch=False)[0] for k in range(6)]
    with session_scope(engine) as s:  # pretend the newest was claimed while the oldest was still uncommitted
        s.add(FaceJob(punch_photo_id=ids[-1], status="done", attempts=1))
    with session_scope(engine, immediate=True) as s:
        assert repo.claim_pending(s, 10, 30, full_scan=False) == ids[4:5]  # ids above newest - window
        assert not repo.has_pending(s, 30)
        assert repo.claim_pending(s, 10, 30, full_scan=True) == ids[:4]
