"""Commands and settings for a pack that reaches the server through its uplink (fleet control)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.server.fakes import FakeController
from tests.server.procs import free_port

from smartbms.server.uplink import HttpUplink


def wait_for(condition: Callable[[], bool], tick: Callable[[], Any], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        tick()
        time.sleep(0.05)


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[tuple[Any, str, str, FakeController, HttpUplink]]:
    import uvicorn

    from smartbms.server.app import create_app
    from smartbms.server.config import ServerConfig
    from smartbms.server.context import ServerContext
    from smartbms.server.security import new_secret, secret_hash

    ctx = ServerContext(ServerConfig(data_dir=tmp_path / "srv", fast_password_hashing=True))
    device, admin = new_secret("sbmsd"), new_secret("sbmsk")
    ctx.storage.create_token(
        secret_hash(device), name="van", kind="device", role="viewer", pack_id="van", created_by="test"
    )
    ctx.storage.create_token(
        secret_hash(admin), name="ops", kind="api", role="admin", pack_id=None, created_by="test"
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(ctx, own_context=True), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    van = FakeController()
    uplink = HttpUplink(
        url, device, controller=van, settings_path=tmp_path / "van.toml", flush_interval_s=0.05
    )
    van.add_publisher(uplink)
    yield ctx, url, admin, van, uplink
    uplink.close()
    server.should_exit = True
    thread.join(timeout=10)


def test_a_queued_command_reaches_the_remote_controller_and_its_result_comes_back(fleet: Any) -> None:
    ctx, url, admin, van, _uplink = fleet
    tick = lambda: van.tick(time.time())  # noqa: E731
    wait_for(lambda: ctx.storage.reported_settings("van") is not None, tick)
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    assert api.get("/api/packs/van").json()["controllable"] is True
    response = api.post("/api/packs/van/commands/discharge", json={"on": False})
    assert response.status_code == 200 and response.json()["queued"] is True
    wait_for(lambda: van.discharge_switched_off, tick)
    wait_for(lambda: ctx.storage.commands("van")[0].ok is True, tick)
    # The pack reacts at its next tick; that sample then reaches the server.
    wait_for(lambda: api.get("/api/packs/van/latest").json()["discharge_enabled"] is False, tick)
    actions = [e.action for e in ctx.storage.audit_log(target_prefix="pack:van")]
    assert actions[:2] == ["command.result", "command.discharge"]
    api.close()


def test_remote_settings_are_validated_here_then_applied_and_saved_there(fleet: Any, tmp_path: Path) -> None:
    ctx, url, admin, van, _uplink = fleet
    tick = lambda: van.tick(time.time())  # noqa: E731
    wait_for(lambda: ctx.storage.reported_settings("van") is not None, tick)
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    refused = api.patch("/api/packs/van/settings", json={"changes": {"protection.cell_ov_v": 9}})
    assert refused.status_code == 422 and "between 0.5 and 5" in refused.json()["problems"][0]["message"]
    assert ctx.storage.pending_commands("van") == []
    accepted = api.patch("/api/packs/van/settings", json={"changes": {"protection.cell_ov_v": 3.61}})
    assert accepted.status_code == 200 and accepted.json()["pending"] is True
    wait_for(lambda: van.settings.protection.cell_ov_v == 3.61, tick)
    from smartbms.core.settings import load_settings

    assert load_settings(tmp_path / "van.toml").protection.cell_ov_v == 3.61
    # The uplink reports the new settings, so the server shows them as current.
    wait_for(lambda: (ctx.storage.reported_settings("van") or {})["protection"]["cell_ov_v"] == 3.61, tick)
    shown = api.get("/api/packs/van/settings").json()
    assert shown["settings"]["protection"]["cell_ov_v"] == 3.61
    api.close()


def test_a_command_the_pack_refuses_is_reported_back(fleet: Any) -> None:
    ctx, url, admin, van, _uplink = fleet
    tick = lambda: van.tick(time.time())  # noqa: E731
    wait_for(lambda: ctx.storage.reported_settings("van") is not None, tick)
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    van.soc_settable = False  # this pack has no estimator: it can only refuse set-SOC
    api.post("/api/packs/van/commands/set-soc", json={"soc_pct": 80})
    wait_for(lambda: all(c.ok is not None for c in ctx.storage.commands("van")), tick)
    newest = ctx.storage.commands("van")[0]
    assert newest.kind == "set-soc" and newest.ok is False and "no SOC estimator" in (newest.result or "")
    api.close()
