"""Live push over SSE, the embedded server on a controller, and the HTTP uplink's buffer."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.server.fakes import FakeController
from tests.server.procs import free_port

from smartbms.server.embedded import start_embedded_server
from smartbms.server.uplink import HttpUplink

PASSWORD = "embedded-admin-pw"


def read_sse(response: httpx.Response, wanted: int, out: list[dict[str, Any]]) -> None:
    kind = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: ") and kind == "sample":
            out.append(json.loads(line[6:]))
            if len(out) >= wanted:
                return


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("SMARTBMS_ADMIN_PASSWORD", PASSWORD)
    controller = FakeController()
    server = start_embedded_server(controller, data_dir=tmp_path, port=0, settings_path=tmp_path / "s.toml")
    yield controller, server
    server.stop()


def logged_in(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=10)
    me = client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD}).json()
    client.headers["X-CSRF-Token"] = me["csrf_token"]
    return client


def test_embedded_server_stores_snapshots_as_pack_local_and_pushes_them_live(embedded: Any) -> None:
    controller, server = embedded
    assert controller.publishers == [server.publish]
    client = logged_in(server.url)
    received: list[dict[str, Any]] = []
    with client.stream("GET", "/api/live", params={"pack_id": "local"}, timeout=10) as response:
        reader = threading.Thread(target=read_sse, args=(response, 3, received), daemon=True)
        reader.start()
        time.sleep(0.3)
        for i in range(3):
            controller.tick(1_790_000_000.0 + i)
            time.sleep(0.2)  # ticks a second apart in real life; a burst is pushed as its newest sample
        reader.join(timeout=5)
    assert [m["sample"]["timestamp"] for m in received] == [1_790_000_000.0 + i for i in range(3)]
    sample = received[0]["sample"]
    assert (
        sample["bms_state"] == "NORMAL"
        and sample["remote_mode"] == "on"
        and len(sample["cell_voltages_v"]) == 16
    )
    history = client.get(
        "/api/packs/local/history", params={"start": 1_789_999_999, "end": 1_790_000_010}
    ).json()
    assert len(history["points"]) == 3
    client.close()


def test_embedded_commands_reach_the_controller_and_settings_are_saved(embedded: Any, tmp_path: Path) -> None:
    controller, server = embedded
    controller.tick(time.time())
    client = logged_in(server.url)
    assert client.post("/api/packs/local/commands/remote-mode", json={"mode": "off-all"}).status_code == 200
    controller.tick(time.time())
    assert controller.remote_mode.value == "off-all"
    response = client.patch("/api/packs/local/settings", json={"changes": {"power.sample_period_s": 2.0}})
    assert response.status_code == 200
    from smartbms.core.settings import load_settings

    assert load_settings(tmp_path / "s.toml").power.sample_period_s == 2.0
    client.close()


def test_uplink_buffers_while_the_server_is_down_and_delivers_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMARTBMS_ADMIN_PASSWORD", PASSWORD)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # The "remote" pack's controller posts through the uplink before any server listens.
    remote = FakeController()
    uplink = HttpUplink(
        url, "not-yet", buffer_path=tmp_path / "uplink.sqlite3", batch_size=20, flush_interval_s=0.1
    )
    remote.add_publisher(uplink)
    for i in range(50):
        remote.tick(1_790_000_000.0 + i)
    time.sleep(0.5)
    assert uplink.pending == 50 and uplink.failures >= 1
    # Now a standalone server comes up; give the uplink a real device token.
    from smartbms.server.app import create_app
    from smartbms.server.config import ServerConfig
    from smartbms.server.context import ServerContext
    from smartbms.server.security import new_secret, secret_hash

    ctx = ServerContext(ServerConfig(data_dir=tmp_path / "srv", fast_password_hashing=True))
    secret = new_secret("sbmsd")
    ctx.storage.create_token(
        secret_hash(secret), name="van", kind="device", role="viewer", pack_id="van", created_by="test"
    )
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_app(ctx, own_context=True), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        uplink._headers["Authorization"] = f"Bearer {secret}"
        for i in range(50, 60):
            remote.tick(1_790_000_000.0 + i)
        assert uplink.flush(20)
        assert ctx.storage.count_samples("van") == 60
        assert uplink.sent == 60
    finally:
        uplink.close()
        server.should_exit = True
        thread.join(timeout=10)


def test_uplink_file_buffer_survives_a_restart_of_the_sender(tmp_path: Path) -> None:
    port = free_port()
    first = HttpUplink(
        f"http://127.0.0.1:{port}", "t", buffer_path=tmp_path / "u.sqlite3", flush_interval_s=60
    )
    first.add({"sample": {"timestamp": 1.0}, "events": []})
    first.add({"sample": {"timestamp": 2.0}, "events": []})
    first._stop.set()
    first._wake.set()
    first._thread.join(timeout=5)
    first._buffer.close()
    second = HttpUplink(
        f"http://127.0.0.1:{port}", "t", buffer_path=tmp_path / "u.sqlite3", flush_interval_s=60
    )
    assert second.pending == 2
    second._stop.set()
    second._wake.set()
    second._thread.join(timeout=5)
    second._buffer.close()
