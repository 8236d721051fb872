"""Shared helpers for the face tests: real photos, cached encodings, a small registry in the database.

Encodings of the real photos are computed once per test process (each costs ~0.1-0.5 s of dlib), so
the face tests stay modest on a shared 2-core machine.
"""
from __future__ import annotations

import io
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy import Engine

from attendance import faces as fc
from attendance import resident_id as rid
from storage.db import session_scope
from storage.schema.core import Device, Enrollment, Institution, Punch, PunchPhoto, Site, Trainee, TrainingClass
from tests.conftest import FACES

PARAMS = fc.FaceParams()
SECRET = b"test-secret-key-0123456789"

PHOTOS = {
    "obama": "tests/test_images/obama.jpg",
    "obama2": "tests/test_images/obama2.jpg",
    "obama3": "tests/test_images/obama3.jpg",
    "biden": "tests/test_images/biden.jpg",
    "biden2": "examples/knn_examples/train/biden/biden2.jpg",
    "32bit": "tests/test_images/32bit.png",
    "two_people": "examples/two_people.jpg",
    "obama_small": "examples/obama_small.jpg",
    "obama_240p": "examples/obama-240p.jpg",
    "lin": "examples/lin-manuel-miranda.png",
    "alex": "examples/alex-lacamoire.png",
    "kit": "examples/knn_examples/train/kit_harington/john2.jpeg",
    "rose": "examples/knn_examples/train/rose_leslie/img2.jpg",
    "clip": "examples/short_hamilton_clip.mp4",
}


def path(name: str) -> Path:
    return FACES / PHOTOS[name]


@lru_cache(maxsize=None)
def photo(name: str) -> bytes:
    return path(name).read_bytes()


@lru_cache(maxsize=None)
def punch_jpeg(name: str, width: int = 640) -> bytes:
    """A terminal-sized JPEG of a real photo (re-encoded, so its bytes differ from the original)."""
    with Image.open(io.BytesIO(photo(name))) as im:
        im = im.convert("RGB")
        h = round(im.height * width / im.width)
        out = io.BytesIO()
        im.resize((width, h), Image.BILINEAR).save(out, "JPEG", quality=88)
    return out.getvalue()


@lru_cache(maxsize=None)
def enrolment(name: str) -> fc.Enrolment:
    return fc.enrol(photo(name), PARAMS)


@lru_cache(maxsize=None)
def punch_encoding(name: str) -> np.ndarray:
    faces = fc.analyse(punch_jpeg(name), PARAMS, thorough=False, max_faces=1)
    assert faces.largest is not None, name
    return faces.largest.encoding


class World:
    """One institution (two if asked) with a site, a terminal, a class running today, and trainees."""

    def __init__(self, engine: Engine, names: list[str], *, second_institution: list[str] | None = None) -> None:
        self.engine = engine
        self.trainee: dict[str, int] = {}
        self.pin: dict[str, str] = {}
        self.resident: dict[str, str] = {}
        today = date(2026, 11, 25)
        with session_scope(engine) as s:
            self.device_id, self.class_id, self.institution_id = self._institution(s, "A", names, today, 0)
            if second_institution:
                self.device_b, self.class_b, self.institution_b = self._institution(s, "B", second_institution, today, 50)

    def _institution(self, s, code: str, names: list[str], today: date, offset: int):  # type: ignore[no-untyped-def]
        inst = Institution(code=f"INST-{code}", name=f"Institution {code}")
        s.add(inst)
        s.flush()
        site = Site(institution_id=inst.id, code=f"SITE-{code}", name=f"Site {code}")
        s.add(site)
        s.flush()
        dev = Device(serial=f"DEV-{code}", vendor="zkteco", site_id=site.id)
        klass = TrainingClass(code=f"CLASS-{code}", institution_id=inst.id, site_id=site.id, name=f"Class {code}",
                              start_date=date(2026, 11, 1), end_date=date(2026, 12, 31))
        s.add_all([dev, klass])
        s.flush()
        for k, name in enumerate(names):
            number = rid.make("110105", date(1990, 1, 1), offset + k + 1)
            t = Trainee(name=name, id_masked=rid.mask(number), id_hash=rid.keyed_hash(number, SECRET))
            s.add(t)
            s.flush()
            pin = str(100 + offset + k)
            s.add(Enrollment(class_id=klass.id, trainee_id=t.id, pin=pin))
            key = name if code == "A" else f"{name}@{code}"
            self.trainee[key], self.pin[key], self.resident[key] = t.id, pin, number
        return dev.id, klass.id, inst.id

    def add_photo(self, pin: str, image: bytes, when: datetime, *, device_id: int | None = None,
                  with_punch: bool = True) -> tuple[int, int | None]:
        import hashlib

        device_id = device_id or self.device_id
        with session_scope(self.engine) as s:
            punch_id = None
            if with_punch:
                p = Punch(device_id=device_id, source="zkteco", pin=pin, local_time=when, tz_name="Asia/Shanghai",
                          utc_time=when, method=15, verify_code=15, status_code=0, received_at=when)
                s.add(p)
                s.flush()
                punch_id = p.id
            ph = PunchPhoto(device_id=device_id, pin=pin, local_time=when, image=image,
                            sha256=hashlib.sha256(image).hexdigest())
            s.add(ph)
            s.flush()
            return ph.id, punch_id
