"""Helpers for the Playwright tests: Debian's Chromium, and a dashboard on a live controller.

The dashboard runs on the REAL controller with the simulated pack when those modules exist
(falling back to the fake steady controller otherwise), in real time, exactly as
``smartbms run`` starts it.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_PASSWORD = "browser-admin-pw"


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package to run the browser tests")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")


@dataclass
class LiveDashboard:
    url: str
    controller: Any
    server: Any
    real: bool


@contextmanager
def live_dashboard(data_dir: Path, speed: float = 1.0, history_s: float = 0.0) -> Iterator[LiveDashboard]:
    """A dashboard on a running controller; ``history_s`` seconds before now are simulated first, fast."""
    os.environ["SMARTBMS_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    try:
        from smartbms.app import build_main_job, start_dashboard
        from smartbms.sim.pack_source import SimulatedPackSource  # noqa: F401  (the real pack must exist)
    except ImportError:
        build_main_job = None  # type: ignore[assignment]
    if build_main_job is not None:
        job = build_main_job(data_dir)
        url = start_dashboard(job, "127.0.0.1", 0)
        assert url is not None
        controller = job.controller
        if history_s > 0:
            controller.run(duration_s=history_s, speed=math.inf, start=time.time() - history_s)
        runner = threading.Thread(target=lambda: controller.run(speed=speed), daemon=True)
        runner.start()
        try:
            yield LiveDashboard(url, controller, job.server, real=True)
        finally:
            controller.stop()
            runner.join(timeout=10)
            job.close()
        return
    from tests.server.fakes import FakeController

    from smartbms.server.embedded import start_embedded_server

    fake = FakeController()
    server = start_embedded_server(fake, data_dir=data_dir, port=0)
    stop = fake.run_in_thread(1.0)
    try:
        yield LiveDashboard(server.url, fake, server, real=False)
    finally:
        stop.set()
        server.stop()


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def log_in(page: Any, url: str, username: str, password: str) -> None:
    page.goto(url + "#/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#packs [data-pack]")
