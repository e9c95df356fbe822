"""Start ``smartbms serve`` as a real process (for the crash test and the benchmark)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(data_dir: Path, port: int, admin_password: str, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SMARTBMS_ADMIN_PASSWORD": admin_password}
    proc = subprocess.Popen(
        [sys.executable, "-m", "smartbms", "serve", "--port", str(port), "--data-dir", str(data_dir), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"smartbms serve exited: {proc.stdout.read().decode() if proc.stdout else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("smartbms serve did not come up within 30 s")


def stop(proc: subprocess.Popen[bytes], hard: bool = False) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
    proc.wait(timeout=30)


def device_token(base: str, admin_password: str, pack_id: str) -> str:
    with httpx.Client(base_url=base, timeout=10) as client:
        me = client.post("/api/auth/login", json={"username": "admin", "password": admin_password}).json()
        response = client.post(
            "/api/tokens",
            json={"name": f"{pack_id}-device", "kind": "device", "pack_id": pack_id},
            headers={"X-CSRF-Token": me["csrf_token"]},
        )
        response.raise_for_status()
        return str(response.json()["token"])


def admin_token(base: str, admin_password: str) -> str:
    with httpx.Client(base_url=base, timeout=10) as client:
        me = client.post("/api/auth/login", json={"username": "admin", "password": admin_password}).json()
        response = client.post(
            "/api/tokens",
            json={"name": "script", "kind": "api", "role": "admin"},
            headers={"X-CSRF-Token": me["csrf_token"]},
        )
        response.raise_for_status()
        return str(response.json()["token"])


def cells16(ts: float, k: int) -> dict[str, object]:
    """One 16S sample whose values vary with ``k`` (so rollups have something to do)."""
    cells = [round(3.28 + 0.001 * ((k + i) % 17), 3) for i in range(16)]
    return {
        "timestamp": ts,
        "voltage_v": round(sum(cells), 3),
        "current_a": round(-20.0 + (k % 40), 2),
        "soc_pct": 55.0,
        "cell_voltages_v": cells,
        "temperatures_c": [24.5, 25.0, 25.5, 26.0],
        "charge_enabled": True,
        "discharge_enabled": True,
        "balancing_cells": [],
        "alarms": [],
    }
