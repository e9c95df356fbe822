"""kill -9 the server while packs post: every sample it acknowledged is there after a restart."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from tests.server.procs import cells16, device_token, free_port, start_serve, stop

pytestmark = pytest.mark.slow
PASSWORD = "crash-test-admin-pw"


def test_acknowledged_samples_survive_kill_9(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_serve(tmp_path, port, PASSWORD)
    acked: dict[str, set[float]] = {}
    try:
        tokens = {pack: device_token(base, PASSWORD, pack) for pack in ("van", "boat", "shed")}
        stop_posting = threading.Event()

        def post(pack: str, token: str) -> None:
            mine = acked.setdefault(pack, set())
            k = 0
            with httpx.Client(
                base_url=base, timeout=5, headers={"Authorization": f"Bearer {token}"}
            ) as client:
                while not stop_posting.is_set():
                    batch = [cells16(1_790_000_000.0 + k + i, k + i) for i in range(50)]
                    k += 50
                    try:
                        response = client.post("/api/ingest", json={"samples": batch})
                    except httpx.HTTPError:
                        return  # the server died mid-request: this batch was never acknowledged
                    if response.status_code == 200 and response.json()["stored"] == len(batch):
                        mine.update(s["timestamp"] for s in batch)  # type: ignore[misc]

        posters = [threading.Thread(target=post, args=item) for item in tokens.items()]
        for t in posters:
            t.start()
        time.sleep(2.0)
        stop(proc, hard=True)  # SIGKILL while the posters are mid-flight
        stop_posting.set()
        for t in posters:
            t.join(timeout=10)
    finally:
        stop(proc, hard=True)
    assert sum(len(v) for v in acked.values()) > 500, (
        "the posters should have stored something before the kill"
    )

    proc = start_serve(tmp_path, port, PASSWORD)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            me = client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
            assert me.status_code == 200
            for pack, stamps in acked.items():
                data = client.get(
                    f"/api/packs/{pack}/history",
                    params={
                        "start": 1_789_999_999,
                        "end": 1_790_100_000,
                        "resolution": "raw",
                        "limit": 50_000,
                    },
                ).json()
                stored = {p["timestamp"] for p in data["points"]}
                assert stamps <= stored, f"{pack}: {len(stamps - stored)} acknowledged samples lost"
    finally:
        stop(proc)
