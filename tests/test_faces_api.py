"""The faces API and CLI on a real database with real photos, under the role rules."""
from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from punchaudit.api.app import create_app
from punchaudit.api.auth import create_key
from punchaudit.config import load_settings
from storage.db import session_scope
from tests.test_faces_support import World, path, photo, punch_jpeg


@pytest.fixture
def world(engine: Engine) -> World:
    return World(engine, ["obama", "biden"], second_institution=["obama-again"])


def _keys(engine: Engine, w: World) -> dict[str, str]:
    with session_scope(engine) as s:
        return {
            "site_a": create_key(s, "a", "site", w.institution_id),
            "site_b": create_key(s, "b", "site", w.institution_b),
            "inspector": create_key(s, "i", "inspector"),
            "admin": create_key(s, "adm", "admin"),
        }


@pytest.mark.slow
def test_enrol_upload_results_and_duplicates_by_role(engine: Engine, world: World) -> None:
    settings = load_settings(secret_key="test-secret-key-0123456789")
    client = TestClient(create_app(settings, engine))
    keys = _keys(engine, world)
    h = {k: {"X-API-Key": v} for k, v in keys.items()}
    obama = world.trainee["obama"]

    def up(trainee: int, name: str, key: str):  # type: ignore[no-untyped-def]
        return client.post(f"/api/v1/faces/enrolments/{trainee}", headers=h[key],
                           files={"photo": (f"{name}.jpg", photo(name), "image/jpeg")})

    assert client.post(f"/api/v1/faces/enrolments/{obama}", files={"photo": ("x.jpg", b"x")}).status_code == 401
    assert up(obama, "obama", "site_b").status_code == 404  # another institution's trainee
    assert up(obama, "obama", "inspector").status_code == 403
    bad = up(obama, "two_people", "site_a")
    assert bad.status_code == 422 and bad.json()["detail"]["code"] == "several_faces"
    ok = up(obama, "obama", "site_a")
    assert ok.status_code == 201 and ok.json()["box_px"] >= 200
    assert up(world.trainee["biden"], "biden", "admin").status_code == 201
    again = up(world.trainee["obama-again@B"], "obama2", "site_b")
    assert again.status_code == 201 and again.json()["possible_duplicates"] == 1
    assert ok.json()["possible_duplicates"] == 0
    got = client.get(f"/api/v1/faces/enrolments/{obama}", headers=h["site_a"]).json()
    assert got["enrolment_id"] == ok.json()["enrolment_id"] and "encoding" not in got

    # a proxy punch, verified in the background work the server would run
    from punchaudit.services.faces import verify_pending

    when = datetime(2026, 11, 25, 9, 0)
    _, punch_id = world.add_photo(world.pin["obama"], punch_jpeg("obama2", 500), when)  # a punch (and a photo)
    form = {"device": "DEV-A", "pin": world.pin["obama"], "local_time": (when.replace(second=30)).isoformat()}
    jpeg = punch_jpeg("biden2")

    def send(key: str, data: bytes, **changes: str):  # type: ignore[no-untyped-def]
        return client.post("/api/v1/faces/punch-photos", headers=h[key], data={**form, **changes},
                           files={"photo": ("p.jpg", data, "image/jpeg")})

    assert send("site_b", jpeg).status_code == 404  # not its device
    assert send("site_a", b"garbage").json()["detail"]["code"] == "unreadable"
    sent = send("site_a", jpeg)
    assert sent.status_code == 202 and sent.json()["punch_id"] == punch_id and not sent.json()["duplicate"]
    assert send("site_a", jpeg).json() == {**sent.json(), "duplicate": True}
    assert verify_pending(engine, settings, workers=0).outcomes == {"proxy_suspected": 1, "verified": 1}
    a = client.get("/api/v1/faces/verifications", headers=h["site_a"]).json()
    assert [r["outcome"] for r in a] == ["proxy_suspected", "verified"]
    assert a[0]["nearest_other_trainee_id"] == world.trainee["biden"] and a[0]["punch_id"] == punch_id
    assert client.get("/api/v1/faces/verifications", headers=h["site_b"]).json() == []
    assert client.get(f"/api/v1/faces/verifications?institution_id={world.institution_id}", headers=h["site_b"]).status_code == 404
    assert client.get("/api/v1/faces/verifications/summary", headers=h["inspector"]).json() == {"proxy_suspected": 1, "verified": 1, "pending": 0}

    assert client.get("/api/v1/faces/duplicates", headers=h["site_a"]).status_code == 403
    dups = client.get("/api/v1/faces/duplicates", headers=h["inspector"]).json()
    assert len(dups) == 1
    pair = {dups[0]["a"]["trainee_id"], dups[0]["b"]["trainee_id"]}
    assert pair == {obama, world.trainee["obama-again@B"]}
    assert {tuple(dups[0][s]["institutions"]) for s in "ab"} == {("Institution A",), ("Institution B",)}


@pytest.mark.slow
def test_cli_enroll_roster_by_resident_id_and_pin(engine: Engine, world: World, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from punchaudit.cli import app
    from punchaudit.cli import common

    monkeypatch.setenv("PUNCHAUDIT_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("PUNCHAUDIT_SECRET_KEY", "test-secret-key-0123456789")
    common.settings.cache_clear()
    common.engine.cache_clear()
    by_id = tmp_path / "by_id"
    by_id.mkdir()
    (by_id / f"{world.resident['obama']}.jpg").write_bytes(photo("obama_small"))
    (by_id / "not-an-id.jpg").write_bytes(photo("biden"))
    (by_id / f"{world.resident['obama-again@B']}.jpg").write_bytes(photo("obama2"))  # the same face, another ID
    by_pin = tmp_path / "by_pin"
    by_pin.mkdir()
    (by_pin / f"{world.pin['biden']}.png").write_bytes(photo("alex"))
    (by_pin / f"{world.pin['obama']}.jpg").write_bytes(photo("two_people"))
    try:
        runner = CliRunner()
        r1 = runner.invoke(app, ["faces", "enroll", "--roster", str(by_id)])
        assert "enrolled 2 of 3" in r1.output and "not-an-id.jpg" in r1.output
        assert "faces matching another resident ID" in r1.output
        r2 = runner.invoke(app, ["faces", "enroll", "--roster", str(by_pin), "--class", "CLASS-A"])
        assert "enrolled 1 of 2" in r2.output and "2 faces" in r2.output
        r3 = runner.invoke(app, ["faces", "duplicates"])
        assert r3.exit_code == 0 and "1 suspected duplicate identities" in r3.output
        world.add_photo(world.pin["obama"], punch_jpeg("obama2"), datetime(2026, 11, 25, 9, 0))
        r4 = runner.invoke(app, ["faces", "verify", "--workers", "0"])
        assert r4.exit_code == 0 and "verified 1 photos" in r4.output and "verified" in r4.output
        r5 = runner.invoke(app, ["faces", "video", str(path("clip")), "--class", "CLASS-A", "--end", "1.2", "--step", "0.5"])
        assert r5.exit_code == 0 and "3 frames sampled" in r5.output, r5.output
        r6 = runner.invoke(app, ["faces", "video", str(path("clip")), "--class", "NO-SUCH"])
        assert r6.exit_code == 1 and "not found" in r6.output
    finally:
        common.settings.cache_clear()
        common.engine.cache_clear()
