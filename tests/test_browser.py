"""The app in real headless Chromium: the deck.gl canvas draws, tooltips show a district's
figures, the year slider updates the figures without resetting the user's zoom, and no request
leaves the machine. Fails (never skips) without a browser."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--use-angle=swiftshader", "--enable-unsafe-swiftshader",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-quic", "--disable-default-apps", "--no-sandbox"]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(port: int) -> subprocess.Popen | None:
    """Streamlit on ``port``, once it answers; None if it stopped (another program took the
    port between _free_port() and now). Answers count only while our server is alive."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
         "--server.headless", "true", "--server.port", str(port), "--server.address",
         "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(120):
        try:
            ok = urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health",
                                        timeout=1).read() == b"ok"
        except OSError:
            ok = False
        if proc.poll() is not None:
            return None
        if ok:
            return proc
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGTERM)
    raise RuntimeError("streamlit did not start")


@pytest.fixture(scope="module")
def server():
    for _ in range(5):
        port = _free_port()
        if proc := _start(port):
            break
    else:
        raise RuntimeError("streamlit stopped at start five times (ports taken?)")
    url = f"http://127.0.0.1:{port}"
    try:
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def _coloured_pixels(png: bytes) -> int:
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(1 for r, g, b in img.get_flattened_data() if max(r, g, b) - min(r, g, b) > 40)


def _headline(page) -> str:
    return " | ".join(page.locator("[data-testid=stMetric]").all_inner_texts())


def _tooltip(page, x: float, y: float, timeout: float = 40) -> str | None:
    """The deck.gl tooltip's text when pointing at (x, y), or None. Picking is slow on a
    software GPU, so point once and wait rather than moving the mouse again."""
    tip = page.locator(".deck-tooltip")
    deadline = time.time() + timeout
    nudge = 0
    while time.time() < deadline:
        page.mouse.move(x + nudge, y)
        until = min(deadline, time.time() + 10)
        while time.time() < until:
            if tip.count() and tip.first.is_visible():
                text = tip.first.inner_text().strip()
                if text:
                    return text
            page.wait_for_timeout(200)
        nudge = 1 - nudge
    return None


def _probe_points(canvas) -> tuple[tuple[float, float], tuple[float, float]]:
    """A zoom pivot over the English Midlands and a probe point beside it, in page pixels."""
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    return (cx + 45, cy + 100), (cx + 85, cy + 130)


def test_app_in_headless_chromium(server):
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is required (make test installs it)"
    ARTIFACTS.mkdir(exist_ok=True)
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        # a busy 2-core machine draws slowly: deadlines generous enough never to decide a run
        page.set_default_timeout(120_000)
        page.on("request", lambda r: requests.append(r.url))
        page.goto(server, wait_until="domcontentloaded")
        canvas = page.locator("[data-testid=stDeckGlJsonChart] canvas").first
        canvas.wait_for(state="visible", timeout=180_000)
        deadline = time.time() + 120
        while time.time() < deadline and (canvas.bounding_box() or {}).get("width", 0) <= 300:
            time.sleep(0.5)
        drawn = 0
        while time.time() < deadline:
            # the page's pixels where the canvas is (an element screenshot first waits for the
            # element to stop moving, which a slow software GPU may not manage in time)
            canvas.scroll_into_view_if_needed()
            drawn = _coloured_pixels(page.screenshot(clip=canvas.bounding_box()))
            if drawn > 5000:
                break
            time.sleep(1)
        assert drawn > 5000, f"deck.gl canvas drew only {drawn} coloured pixels"
        # tooltips: a district's name and figures in words
        pivot, probe = _probe_points(canvas)
        first = _tooltip(page, *probe)
        assert first and "Headcount" in first and "coldspot" in first.lower(), first
        # zoom in: the district under the probe changes
        page.mouse.move(*pivot)
        page.mouse.wheel(0, -600)
        page.wait_for_timeout(1500)
        zoomed = _tooltip(page, *probe)
        assert zoomed and zoomed.splitlines()[0] != first.splitlines()[0], (first, zoomed)
        before = _headline(page)
        slider = page.locator('[data-testid=stSlider] input[type=range][aria-label="Year"]')
        slider.focus()
        for _ in range(8):
            slider.press("ArrowLeft")
        page.wait_for_timeout(500)
        deadline = time.time() + 120
        after = before
        while time.time() < deadline and after == before:
            time.sleep(1)
            after = _headline(page)
        assert after != before, "figures did not change with the year"
        # the map redrew for the new year but kept the user's zoom
        _, probe = _probe_points(canvas)
        kept = _tooltip(page, *probe)
        assert kept and kept.splitlines()[0] == zoomed.splitlines()[0], (zoomed, kept)
        page.screenshot(path=str(ARTIFACTS / "app.png"), full_page=True)
        browser.close()
    local = [u for u in requests if not u.startswith((server, "data:", "blob:"))]
    assert not local, f"requests left the machine: {local[:5]}"
