"""Helpers for driving the officer's page in real headless Chromium (Debian's ``chromium`` with
the PyPI ``playwright`` package; never ``playwright install``): the app served by uvicorn on
127.0.0.1 in a thread, a fake camera fed from a .y4m video of a QR carousel, and a fresh
browser per video (Chromium reads the fake camera's file from its command line)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
from PIL import Image

from edl.qr import render_png

CHROMIUM = Path("/usr/bin/chromium")
WIDTH, HEIGHT = 640, 480


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 and a free port in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


def qr_frame(text: str, *, size: int = 440) -> np.ndarray:
    """One 640x480 grey video frame: the QR code of ``text`` (quiet zone included), scaled to
    ``size`` pixels square, on a plain light background."""
    import io

    qr = Image.open(io.BytesIO(render_png(text, scale=1))).convert("L")
    qr = qr.resize((size, size), Image.Resampling.NEAREST)
    frame = Image.new("L", (WIDTH, HEIGHT), 235)
    frame.paste(qr, ((WIDTH - size) // 2, (HEIGHT - size) // 2))
    return np.asarray(frame, dtype=np.uint8)


def write_y4m(path: Path, texts: Sequence[str], *, fps: int = 10, hold: int = 3) -> Path:
    """A .y4m (4:2:0) video of the carousel ``texts``, each QR code held ``hold`` video frames
    at ``fps``; Chromium's fake camera plays it in a loop."""
    chroma = bytes([128]) * ((WIDTH // 2) * (HEIGHT // 2))
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for text in texts:
            # Full-range grey -> limited-range luma, as Chromium reads a .y4m.
            y = (qr_frame(text).astype(np.uint16) * 219 // 255 + 16).astype(np.uint8).tobytes()
            for _ in range(hold):
                f.write(b"FRAME\n")
                f.write(y)
                f.write(chroma)
                f.write(chroma)
    return path


def chromium_args(video: Path) -> list[str]:
    return [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
    ]


@contextlib.contextmanager
def browser_page(
    playwright: Any,
    video: Path,
    user_data: Path,
    *,
    locale: str = "en-GB",
    viewport: tuple[int, int] = (390, 844),
) -> Iterator[tuple[Any, list[str]]]:
    """A fresh Chromium (own user-data-dir) whose camera plays ``video``; yields the page and
    the list of every URL it requests (filled as it goes)."""
    context = playwright.chromium.launch_persistent_context(
        str(user_data),
        executable_path=str(CHROMIUM),
        headless=True,
        args=chromium_args(video),
        locale=locale,
        viewport={"width": viewport[0], "height": viewport[1]},
        permissions=["camera"],
    )
    requests: list[str] = []
    try:
        context.on("request", lambda r: requests.append(r.url))
        page = context.pages[0] if context.pages else context.new_page()
        yield page, requests
    finally:
        context.close()


def scan(page: Any, base: str, *, timeout_ms: int = 15000) -> tuple[str, float]:
    """Open the page, press Scan, wait for a verdict; returns it and the seconds from the
    press (the camera starts) to the verdict on screen, timed in the page (performance.now at
    the click and when ``#result`` is shown with its ``data-verdict``)."""
    page.goto(base + "/")
    page.wait_for_function("document.getElementById('lang').value !== ''")
    page.wait_for_selector("#start:not([hidden])")
    page.evaluate(
        """() => {
          const box = document.getElementById("result");
          window.__verdictAt = null;
          new MutationObserver(() => {
            if (window.__verdictAt === null && box.dataset.verdict && !box.hidden)
              window.__verdictAt = performance.now();
          }).observe(box, { attributes: true });
          window.__scanAt = performance.now();
          document.getElementById("start").click();
        }"""
    )
    page.wait_for_selector("#result[data-verdict]:not([data-verdict=''])", timeout=timeout_ms)
    ms = page.evaluate("window.__verdictAt - window.__scanAt")
    return str(page.get_attribute("#result", "data-verdict")), float(ms) / 1000
