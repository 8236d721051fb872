"""End to end in real headless Chromium (Debian's package, driven by Playwright): sign in with an
inspector key, open the queue, play the WebM clip, submit verdicts, see the decision.

The service runs under uvicorn in a thread on 127.0.0.1 with a free port. Needs /usr/bin/chromium
(scripts/ensure-chromium.sh installs it) and the `playwright` Python package (no browser download:
the system Chromium is used).
"""
from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import Engine

from punchaudit.api.app import create_app
from punchaudit.config import load_settings
from punchaudit.services import sampling as svc
from storage import sampling as repo
from storage.db import session_scope
from tests.sampling_testkit import make_class
from tests.seed import seed

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip package playwright is not installed")
pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="run scripts/ensure-chromium.sh")]


def _webm(path: Path, seconds: int = 4, fps: int = 10) -> Path:
    """A real VP8 WebM: a counter on a changing background, so frames differ."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"VP80"), fps, (320, 240))
    assert writer.isOpened()
    for i in range(seconds * fps):
        frame = np.full((240, 320, 3), (i * 6) % 255, np.uint8)
        cv2.putText(frame, str(i), (110, 130), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 3)
        writer.write(frame)
    writer.release()
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(engine: Engine) -> Iterator[tuple[str, object]]:
    import uvicorn

    app = create_app(load_settings(), engine)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def test_inspector_reviews_a_class_in_chromium(engine: Engine, server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, _app = server
    seeded = seed(engine)
    class_id, pop = make_class(engine, seeded.institution_id, seeded.site_id, days=3)  # 6 sessions: census
    clip = _webm(tmp_path / "clip.webm")
    with session_scope(engine) as s:
        row = svc.open_inspection(s, load_settings(), class_id, actor="admin", population=pop)
        items = repo.items(s, row.id)
        for it in items:
            svc.attach_clip(s, it.id, clip_id=None, clip_path=str(clip), footage_id=None)
        inspection_id, n = row.id, len(items)

    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page()
            # no data without signing in
            page.goto(f"{base}/inspector/inspections/{inspection_id}")
            assert page.url.endswith("/inspector/login")
            page.fill("#key", seeded.site_key)
            page.click("#sign-in")
            assert "密钥无效" in page.inner_text("#login-error")
            page.fill("#key", seeded.inspector_key)
            page.click("#sign-in")
            page.click(f"a[href^='/inspector/inspections/{inspection_id}']")
            assert "待审课次" in page.content()
            assert page.inner_text("#decision").strip() == "尚未完成"

            # the clip plays: metadata loads and currentTime advances
            page.wait_for_function("document.querySelector('video.clip').readyState >= 1", timeout=20000)
            duration = page.evaluate("document.querySelector('video.clip').duration")
            assert 3.0 <= duration <= 5.0
            page.evaluate("document.querySelector('video.clip').play()")
            page.wait_for_function("document.querySelector('video.clip').currentTime > 0.5", timeout=20000)
            assert page.evaluate("document.querySelector('video.clip').readyState") >= 2

            # verdicts: all held as declared except the last, which has only 2 of 5 trainees
            for k in range(n):
                form = page.locator("form.verdict-form").nth(k)
                if k < n - 1:
                    form.locator("input[name=held][value=yes]").check()
                    form.locator("input[name=head_count]").fill("5")
                else:
                    form.locator("input[name=held][value=no]").check()
                    form.locator("input[name=head_count]").fill("2")
                    form.locator("input[name=notes]").fill("仅两名学员在场")
                form.locator("button[type=submit]").click()
                assert "结论已保存" in page.inner_text("#flash")
            page.click("#evaluate")
            assert page.get_attribute("#decision", "data-decision") == "fail"
            assert page.inner_text("#bad-count").strip() == "1"
            page.screenshot(path=str(tmp_path / "inspector.png"), full_page=True)
        finally:
            browser.close()
    with session_scope(engine) as s:
        assert len(repo.verdicts(s, inspection_id)) == n
        assert repo.decisions(s, inspection_id)[-1].decision == "fail"
