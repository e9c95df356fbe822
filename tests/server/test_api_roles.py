"""Every write endpoint × every kind of caller: anonymous, viewer, operator, admin, device token."""

from __future__ import annotations

from typing import Any

import pytest
from tests.server.conftest import Server

RANK = {"anonymous": -1, "device": -1, "viewer": 0, "operator": 1, "admin": 2}
T = 1_790_000_000.0

# (method, path template, body, least role needed). Paths use ids the fixture creates.
WRITES: list[tuple[str, str, Any, str]] = [
    ("POST", "/api/auth/logout", None, "viewer"),
    ("POST", "/api/auth/password", {"current_password": "x", "new_password": "0123456789ab"}, "viewer"),
    ("POST", "/api/packs", {"pack_id": "boat", "name": "Boat"}, "admin"),
    ("PATCH", "/api/packs/local/settings", {"changes": {"protection.cell_ov_v": 3.62}}, "admin"),
    ("POST", "/api/packs/local/commands/charge", {"on": False}, "operator"),
    ("POST", "/api/packs/local/commands/discharge", {"on": False}, "operator"),
    ("POST", "/api/packs/local/commands/remote-mode", {"mode": "off-all"}, "operator"),
    ("POST", "/api/packs/local/commands/reset-fault", None, "operator"),
    ("POST", "/api/packs/local/commands/wake", None, "operator"),
    ("POST", "/api/packs/local/commands/sleep", None, "operator"),
    ("POST", "/api/packs/local/commands/set-soc", {"soc_pct": 80}, "operator"),
    ("POST", "/api/packs/remote1/ingest", {"samples": [{"timestamp": T, "voltage_v": 52.0}]}, "admin"),
    ("POST", "/api/ingest", {"samples": [{"timestamp": T, "voltage_v": 52.0}]}, "device-only"),
    ("POST", "/api/users", {"username": "zed", "password": "0123456789ab", "role": "viewer"}, "admin"),
    ("PATCH", "/api/users/2", {"role": "operator"}, "admin"),
    ("DELETE", "/api/users/2", None, "admin"),
    ("POST", "/api/tokens", {"name": "script", "kind": "api", "role": "viewer"}, "admin"),
    ("DELETE", "/api/tokens/1", None, "admin"),
    (
        "POST",
        "/api/alerts/rules",
        {"name": "hot", "field": "temp_max_c", "op": "above", "trip": 45, "clear": 40, "duration_s": 5},
        "admin",
    ),
    ("DELETE", "/api/alerts/rules/1", None, "admin"),
    ("POST", "/api/alerts/channels", {"kind": "webhook", "target": "http://127.0.0.1:9/hook"}, "admin"),
    ("DELETE", "/api/alerts/channels/1", None, "admin"),
]
CALLERS = ["anonymous", "device", "viewer", "operator", "admin"]


def _call(server: Server, caller: str, method: str, path: str, body: Any) -> int:
    headers = {} if caller == "anonymous" else server.bearer(caller)
    response = server.client.request(method, path, json=body, headers=headers)
    return int(response.status_code)


def test_the_table_covers_every_write_endpoint(server: Server) -> None:
    spec = server.client.get("/openapi.json").json()
    writes = {
        (method.upper(), path)
        for path, ops in spec["paths"].items()
        for method in ops
        if method in ("post", "put", "patch", "delete") and path != "/api/auth/login"
    }
    covered = {
        (
            m,
            p.replace("/local/", "/{pack_id}/")
            .replace("/remote1/", "/{pack_id}/")
            .replace("users/2", "users/{user_id}")
            .replace("tokens/1", "tokens/{token_id}")
            .replace("rules/1", "rules/{rule_id}")
            .replace("channels/1", "channels/{channel_id}"),
        )
        for m, p, _, _ in WRITES
    }
    assert writes == covered


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(
    ("method", "path", "body", "needs"), WRITES, ids=[f"{m} {p}" for m, p, _, _ in WRITES]
)
def test_role_matrix(server: Server, caller: str, method: str, path: str, body: Any, needs: str) -> None:
    # Objects the DELETE/PATCH rows act on exist, so an allowed call can succeed.
    server.client.post(
        "/api/alerts/rules",
        headers=server.bearer("admin"),
        json={"name": "r", "field": "soc_pct", "op": "below", "trip": 10, "clear": 15},
    )
    server.client.post(
        "/api/alerts/channels",
        headers=server.bearer("admin"),
        json={"kind": "email", "target": "ops@example.com"},
    )
    status = _call(server, caller, method, path, body)
    if caller == "anonymous":
        assert status == 401
    elif needs == "device-only":
        assert status == (200 if caller == "device" else 403)
    elif caller == "device":
        allowed = path == "/api/packs/remote1/ingest"
        assert status == (200 if allowed else 403)
    elif RANK[caller] < RANK[needs]:
        assert status == 403
    else:
        assert status not in (401, 403) or path == "/api/auth/password", status
        assert status < 500
        if path == "/api/auth/password":
            assert status == 400  # tokens have no password to change


def test_refused_writes_change_nothing(server: Server) -> None:
    before = server.controller.settings
    assert (
        server.client.patch(
            "/api/packs/local/settings",
            headers=server.bearer("operator"),
            json={"changes": {"protection.cell_ov_v": 3.6}},
        ).status_code
        == 403
    )
    assert (
        server.client.post(
            "/api/packs/local/commands/discharge", headers=server.bearer("viewer"), json={"on": False}
        ).status_code
        == 403
    )
    assert server.controller.settings is before
    assert server.controller.requests == []
    assert server.ctx.storage.audit_log(target_prefix="pack:") == []


def test_device_token_posts_only_its_own_pack(server: Server) -> None:
    body = {"samples": [{"timestamp": T, "voltage_v": 52.0}]}
    assert (
        server.client.post("/api/packs/local/ingest", json=body, headers=server.bearer("device")).status_code
        == 403
    )
    assert server.client.get("/api/packs", headers=server.bearer("device")).status_code == 403
    ok = server.client.post("/api/ingest", json=body, headers=server.bearer("device"))
    assert ok.status_code == 200 and ok.json()["stored"] == 1
    assert server.ctx.storage.count_samples("local") == 0
    assert server.ctx.storage.count_samples("remote1") == 1


def test_unknown_or_malformed_tokens_are_rejected(server: Server) -> None:
    for header in ("Bearer nope", "Basic abc", "Bearer "):
        response = server.client.get("/api/packs", headers={"Authorization": header})
        assert response.status_code == 401
