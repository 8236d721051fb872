"""Demo step: face enrolment and verification of punch photos.

SAMPLE PHOTOS: the face_recognition project's public test pictures (public figures) stand in for
trainees' registration and punch photos; they are test fixtures, not trainee data. Enrolment photos
are uploaded through the API with a site key, a terminal pushes punches with their photos over the
real ZKTeco PUSH protocol, the verifier runs, and the outcomes (one proxy, one replay) are printed.
"""
from __future__ import annotations

import io
from datetime import datetime, time, timedelta
from pathlib import Path

from PIL import Image
from rich.table import Table
from sqlalchemy import select

from devices.zkteco_client import AttlogRecord, build_attlog, build_attphoto
from punchaudit.demo.context import DemoContext
from punchaudit.services import faces as svc
from storage.db import session_scope
from storage.schema.core import Enrollment, PunchPhoto, Trainee, TrainingClass
from storage.schema.faces import FaceVerification

FACES = Path(__file__).resolve().parents[3] / "shared" / "data" / "faces" / "ageitgey_face_recognition"
if not FACES.exists():
    FACES = Path("/work/shared/data/faces/ageitgey_face_recognition")

CLASS, DEVICE, INSTITUTION = "2026-PC-DG-01", "ZK-PC-0001", "DT-PC-001"
OTHER_CLASS, OTHER_INSTITUTION = "2026-YG-HG-01", "DT-YG-002"
# trainee slot -> (sample enrolment photo, who it shows)
ENROL = [
    ("tests/test_images/obama.jpg", "Barack Obama"),
    ("tests/test_images/biden.jpg", "Joe Biden"),
    ("examples/lin-manuel-miranda.png", "Lin-Manuel Miranda"),
    ("examples/knn_examples/train/kit_harington/john1.jpeg", "Kit Harington"),
]
# (trainee slot whose PIN is used, punch photo, minutes after 08:30 on the day, what it is meant to show)
PUNCHES = [
    (0, "tests/test_images/obama2.jpg", 15, "the trainee, in another photo"),
    (1, "examples/knn_examples/train/biden/biden2.jpg", 16, "the trainee, in another photo"),
    (3, "examples/knn_examples/train/kit_harington/john2.jpeg", 18, "the trainee, in another photo"),
    (2, "examples/lin-manuel-miranda.png", 17, "the enrolment picture shown to the terminal again"),
    (0, "examples/knn_examples/test/obama_and_biden.jpg", 20, "another trainee (Biden) under the first PIN"),
    (3, None, 19, "a photo without a face (lens covered)"),
]


def _jpeg(rel: str | None, crop_left: bool = False) -> bytes:
    if rel is None:
        img = Image.new("RGB", (640, 480), (40, 40, 40))
    else:
        img = Image.open(FACES / rel).convert("RGB")
        if crop_left:  # Biden stands on the left of obama_and_biden.jpg
            img = img.crop((500, 250, 1150, 900))
    img.thumbnail((640, 640))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=88)
    return out.getvalue()


def run(ctx: DemoContext) -> None:
    ctx.console.rule("[bold]Faces: enrolment, punch-photo verification, proxy and replay detection")
    ctx.console.print("[yellow]Sample photos:[/yellow] public test pictures of public figures from the "
                      "face_recognition project stand in for trainees' registration and punch photos.")
    with session_scope(ctx.engine) as s:
        rows = s.execute(
            select(Trainee.id, Trainee.name, Enrollment.pin).join(Enrollment, Enrollment.trainee_id == Trainee.id)
            .join(TrainingClass, TrainingClass.id == Enrollment.class_id).where(TrainingClass.code == CLASS)
            .order_by(Enrollment.pin).limit(len(ENROL))
        ).all()
        other = s.execute(
            select(Trainee.id, Trainee.name).join(Enrollment, Enrollment.trainee_id == Trainee.id)
            .join(TrainingClass, TrainingClass.id == Enrollment.class_id).where(TrainingClass.code == OTHER_CLASS)
            .order_by(Enrollment.pin).limit(1)
        ).first()
    enrol_table = Table("trainee", "PIN", "sample enrolment photo (shows)", "face px")
    with ctx.client(ctx.site_keys[INSTITUTION]) as api:
        for (tid, name, pin), (rel, who) in zip(rows, ENROL, strict=False):
            r = api.post(f"/api/v1/faces/enrolments/{tid}", files={"photo": (Path(rel).name, (FACES / rel).read_bytes())})
            r.raise_for_status()
            enrol_table.add_row(name, pin, f"{Path(rel).name} ({who})", str(r.json()["box_px"]))
        refused = api.post(f"/api/v1/faces/enrolments/{rows[0][0]}",
                           files={"photo": ("two_people.jpg", (FACES / "examples/two_people.jpg").read_bytes())})
    ctx.console.print(enrol_table)
    ctx.console.print(f"an enrolment photo with two people is refused: HTTP {refused.status_code} "
                      f"{refused.json()['detail']['message']}")
    if other is not None:  # the same person enrolled at another institution under another resident ID
        with ctx.client(ctx.site_keys[OTHER_INSTITUTION]) as api:
            api.post(f"/api/v1/faces/enrolments/{other[0]}",
                     files={"photo": ("obama3.jpg", (FACES / "tests/test_images/obama3.jpg").read_bytes())}).raise_for_status()

    day = datetime.combine(ctx.first_day, time(8, 30))
    with ctx.client() as terminal:
        for slot, rel, minute, _ in PUNCHES:
            pin = rows[slot][2]
            when = day + timedelta(minutes=minute)
            body = build_attlog([AttlogRecord(pin=pin, local_time=when, status=0, verify=15)])
            terminal.post(f"/iclock/cdata?SN={DEVICE}&table=ATTLOG&Stamp=9999", content=body).raise_for_status()
            photo = _jpeg(rel, crop_left=rel is not None and "obama_and_biden" in rel)
            terminal.post(f"/iclock/cdata?SN={DEVICE}&table=ATTPHOTO&Stamp=9999",
                          content=build_attphoto(pin, when, photo, sn=DEVICE)).raise_for_status()
    ctx.console.print(f"terminal {DEVICE} pushed {len(PUNCHES)} face punches with photos (ATTLOG + ATTPHOTO)")

    stats = svc.verify_pending(ctx.engine, ctx.settings)
    with session_scope(ctx.engine) as s:
        results = s.execute(
            select(FaceVerification, PunchPhoto.pin, PunchPhoto.local_time)
            .join(PunchPhoto, PunchPhoto.id == FaceVerification.punch_photo_id).order_by(PunchPhoto.local_time)
        ).all()
    names = {tid: name for tid, name, _ in rows}
    meant = {(rows[slot][2], day + timedelta(minutes=minute)): what for slot, _, minute, what in PUNCHES}
    table = Table("time", "PIN owner", "outcome", "distance", "nearest other trainee", "the photo shows")
    for v, pin, when in results:
        colour = {"verified": "green", "review": "yellow"}.get(v.outcome, "red")
        other_txt = (f"{names.get(v.nearest_other_trainee_id, v.nearest_other_trainee_id)} {v.nearest_other_distance:.3f}"
                     if v.nearest_other_distance is not None else "")
        table.add_row(f"{when:%H:%M}", names.get(v.trainee_id, str(v.trainee_id)), f"[{colour}]{v.outcome}[/{colour}]",
                      "-" if v.distance is None else f"{v.distance:.3f}", other_txt, meant.get((pin, when), ""))
    ctx.console.print(table)
    with ctx.client(ctx.inspector_key) as api:
        dups = api.get("/api/v1/faces/duplicates").json()
    for d in dups:
        ctx.console.print(f"duplicate identity suspected: {d['a']['name']} ({', '.join(d['a']['institutions'])}) and "
                          f"{d['b']['name']} ({', '.join(d['b']['institutions'])}) at distance {d['distance']:.3f}")
    clip = FACES / "examples/short_hamilton_clip.mp4"
    with session_scope(ctx.engine) as s:
        scan = svc.scan_class_footage(s, ctx.settings, CLASS, clip, start_s=0, end_s=4, step_s=1.0)
    seen = ", ".join(f"{names.get(t, t)} in {n} of {len(scan.frames)} frames" for t, n in scan.identified.items())
    ctx.console.print(f"footage pre-screen (sample clip {clip.name}, 0-4 s, one frame a second): faces per frame "
                      f"{scan.face_counts.tolist()}, identified: {seen or 'nobody'}")
    ctx.results["faces"] = {"outcomes": stats.outcomes, "duplicates": len(dups), "video_identified": scan.identified}

