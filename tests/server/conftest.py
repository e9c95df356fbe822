"""Fixtures for the server tests: a server context with one controllable pack and a user per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient
from tests.server.fakes import FakeController

from smartbms.server.app import create_app
from smartbms.server.config import ServerConfig
from smartbms.server.context import ServerContext
from smartbms.server.control import LocalPackControl
from smartbms.server.security import new_secret, secret_hash

ADMIN_PASSWORD = "admin-password-1"
PASSWORDS = {"viewer": "viewer-password-1", "operator": "operator-password-1", "admin": ADMIN_PASSWORD}


@dataclass
class Server:
    ctx: ServerContext
    client: TestClient
    controller: FakeController
    tokens: dict[str, str]  # role or "device" -> bearer secret

    def bearer(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def login(self, username: str, password: str | None = None) -> str:
        """Log the test client in; returns the session's CSRF token."""
        response = self.client.post(
            "/api/auth/login", json={"username": username, "password": password or PASSWORDS[username]}
        )
        assert response.status_code == 200, response.text
        return str(response.json()["csrf_token"])


def build_context(data_dir: Path) -> tuple[ServerContext, FakeController, dict[str, str]]:
    """A server with users admin/operator/viewer, an API token per role, pack "local" under a fake
    controller and pack "remote1" with a device token."""
    config = ServerConfig(data_dir=data_dir, fast_password_hashing=True, rollup_interval_s=3600)
    ctx = ServerContext(config)
    ctx.bootstrap_admin()
    for role in ("viewer", "operator"):
        ctx.storage.create_user(role, ctx.hasher.hash(PASSWORDS[role]), role)
    controller = FakeController()
    ctx.storage.ensure_pack("local", source="local")
    ctx.controls["local"] = LocalPackControl(controller, data_dir / "settings.toml")
    tokens: dict[str, str] = {}
    for role in ("viewer", "operator", "admin"):
        tokens[role] = new_secret("sbmsk")
        ctx.storage.create_token(
            secret_hash(tokens[role]), name=role, kind="api", role=role, pack_id=None, created_by="test"
        )
    ctx.storage.ensure_pack("remote1", source="remote")
    tokens["device"] = new_secret("sbmsd")
    ctx.storage.create_token(
        secret_hash(tokens["device"]),
        name="dev",
        kind="device",
        role="viewer",
        pack_id="remote1",
        created_by="test",
    )
    return ctx, controller, tokens


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("SMARTBMS_ADMIN_PASSWORD", ADMIN_PASSWORD)
    ctx, controller, tokens = build_context(tmp_path)
    with TestClient(create_app(ctx, own_context=True)) as client:
        yield Server(ctx, client, controller, tokens)
