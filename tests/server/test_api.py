"""Sessions, CSRF, login rate limit, settings validation, commands, audit, history, ingest."""

from __future__ import annotations

import csv
import io
import logging
import time

import pytest
from tests.server.conftest import ADMIN_PASSWORD, Server

from smartbms.core.requests import Path, SetPath

T = 1_790_000_000.0


def test_openapi_document_is_served(server: Server) -> None:
    spec = server.client.get("/openapi.json").json()
    assert "/api/packs/{pack_id}/history" in spec["paths"]
    assert "/api/packs/{pack_id}/commands/discharge" in spec["paths"]


def test_session_login_needs_csrf_header_for_writes(server: Server) -> None:
    csrf = server.login("admin")
    assert server.client.get("/api/packs").status_code == 200
    body = {"changes": {"protection.cell_ov_v": 3.62}}
    missing = server.client.patch("/api/packs/local/settings", json=body)
    assert missing.status_code == 403 and "X-CSRF-Token" in missing.json()["detail"]
    wrong = server.client.patch("/api/packs/local/settings", json=body, headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403
    ok = server.client.patch("/api/packs/local/settings", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200
    assert server.controller.settings.protection.cell_ov_v == 3.62


def test_session_cookie_is_http_only_and_same_site(server: Server) -> None:
    response = server.client.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_logout_ends_the_session(server: Server) -> None:
    csrf = server.login("viewer")
    assert server.client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert server.client.get("/api/packs").status_code == 401


def test_login_is_rate_limited(server: Server) -> None:
    for _ in range(5):
        assert (
            server.client.post("/api/auth/login", json={"username": "admin", "password": "bad"}).status_code
            == 401
        )
    blocked = server.client.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1


def test_out_of_range_setting_is_refused_with_the_settings_models_message(server: Server) -> None:
    response = server.client.patch(
        "/api/packs/local/settings",
        headers=server.bearer("admin"),
        json={"changes": {"protection.cell_ov_v": 9.0}},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["problems"][0]["field"] == "protection.cell_ov_v"
    assert "between 0.5 and 5" in body["problems"][0]["message"] and "9" in body["detail"]
    assert server.controller.settings.protection.cell_ov_v != 9.0


def test_settings_change_is_applied_saved_and_audited_with_old_and_new(server: Server) -> None:
    old = server.controller.settings.protection.cell_ov_v
    response = server.client.patch(
        "/api/packs/local/settings",
        headers=server.bearer("admin"),
        json={"changes": {"protection.cell_ov_v": 3.62}},
    )
    assert response.status_code == 200
    from smartbms.core.settings import load_settings

    assert load_settings(server.ctx.config.data_dir / "settings.toml").protection.cell_ov_v == 3.62
    [entry] = [e for e in server.ctx.storage.audit_log() if e.action == "settings.change"]
    assert (entry.actor, entry.target, entry.old_value, entry.new_value) == (
        "token:admin",
        "pack:local/protection.cell_ov_v",
        old,
        3.62,
    )
    shown = server.client.get("/api/audit?target=pack:local", headers=server.bearer("viewer")).json()
    assert shown[0]["new_value"] == 3.62


def test_discharge_off_switches_only_the_discharge_path_and_is_audited(server: Server) -> None:
    server.controller.tick(time.time())
    response = server.client.post(
        "/api/packs/local/commands/discharge", headers=server.bearer("operator"), json={"on": False}
    )
    assert response.status_code == 200
    assert server.controller.requests == [SetPath(Path.DISCHARGE, False)]
    snapshot = server.controller.tick(time.time())
    # Only the loads are cut: charging stays allowed.
    assert snapshot.telemetry.discharge_enabled is False and snapshot.telemetry.charge_enabled is True
    [entry] = server.ctx.storage.audit_log(target_prefix="pack:local")
    assert (entry.action, entry.old_value, entry.new_value) == ("command.discharge", "on", "off")


def test_set_soc_reaches_the_estimator(server: Server) -> None:
    response = server.client.post(
        "/api/packs/local/commands/set-soc", headers=server.bearer("operator"), json={"soc_pct": 100}
    )
    assert response.status_code == 200 and server.controller.soc_pct == 100


def test_commands_on_a_monitored_only_pack_are_refused(server: Server) -> None:
    response = server.client.post(
        "/api/packs/remote1/commands/discharge", headers=server.bearer("admin"), json={"on": False}
    )
    assert response.status_code == 409 and "monitored only" in response.json()["detail"]


def test_ingest_stores_good_samples_and_lists_bad_ones(server: Server) -> None:
    samples = [
        {"timestamp": T, "voltage_v": 52.0, "cell_voltages_v": [3.2, 3.3]},
        {"timestamp": T + 1, "voltage_v": "high"},
        {"voltage_v": 52.0},
        {"timestamp": T + 2, "soc_pct": 140},
        {"timestamp": T + 3, "voltage_v": 52.1, "firmware": "1.2"},
    ]
    response = server.client.post("/api/ingest", headers=server.bearer("device"), json={"samples": samples})
    body = response.json()
    assert (body["stored"], [r["index"] for r in body["rejected"]]) == (2, [1, 2, 3])
    assert server.ctx.stats.samples_rejected == 3
    assert server.ctx.storage.latest_sample("remote1") == {
        "timestamp": T + 3,
        "voltage_v": 52.1,
        "firmware": "1.2",
    }
    repeat = server.client.post("/api/ingest", headers=server.bearer("device"), json={"samples": samples[:1]})
    assert repeat.json()["duplicates"] == 1


def test_ids_beyond_the_database_integer_range_are_refused_not_a_server_error(server: Server) -> None:
    # Found by schemathesis: an ack id of 2**63 overflowed SQLite's INTEGER and answered 500.
    huge = 2**63
    ack = server.client.post(
        "/api/ingest",
        headers=server.bearer("device"),
        json={"samples": [], "acks": [{"id": huge, "ok": True}]},
    )
    assert ack.status_code == 422
    for path in (f"/api/users/{huge}", f"/api/tokens/{huge}", f"/api/alerts/rules/{huge}"):
        assert server.client.delete(path, headers=server.bearer("admin")).status_code == 422, path


def test_history_json_and_csv_export(server: Server) -> None:
    samples = [
        {"timestamp": T + i, "voltage_v": 52.0 + i, "cell_voltages_v": [3.2, 3.3, 3.25]} for i in range(5)
    ]
    server.client.post("/api/ingest", headers=server.bearer("device"), json={"samples": samples})
    viewer = server.bearer("viewer")
    data = server.client.get(f"/api/packs/remote1/history?start={T}&end={T + 10}", headers=viewer).json()
    assert data["resolution"] == "raw" and [p["voltage_v"] for p in data["points"]] == [52, 53, 54, 55, 56]
    response = server.client.get(f"/api/packs/remote1/history.csv?start={T}&end={T + 10}", headers=viewer)
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 5 and rows[0]["cell_3_v"] == "3.25" and rows[4]["voltage_v"] == "56.0"
    server.ctx.storage.update_rollups()
    minutes = server.client.get(
        f"/api/packs/remote1/history?start={T - 60}&end={T + 60}&resolution=1m", headers=viewer
    ).json()
    assert sum(p["n"] for p in minutes["points"]) == 5


def test_overview_lists_alarmed_packs_first_and_flags_silent_ones(server: Server) -> None:
    now = time.time()
    server.ctx.storage.ensure_pack("quiet", source="remote")
    server.ctx.ingest("quiet", [{"timestamp": now - 3600, "voltage_v": 50.0}])
    server.ctx.ingest("alarmed", [{"timestamp": now, "voltage_v": 50.0, "alarms": ["A-CELL-OV"]}])
    server.ctx.ingest("remote1", [{"timestamp": now, "voltage_v": 50.0}])
    packs = server.client.get("/api/packs", headers=server.bearer("viewer")).json()
    assert packs[0]["pack_id"] == "alarmed" and packs[0]["alarms"][0]["advice"]
    quiet = next(p for p in packs if p["pack_id"] == "quiet")
    fresh = next(p for p in packs if p["pack_id"] == "remote1")
    assert quiet["stale"] and not fresh["stale"]


def test_users_and_tokens_admin_flow(server: Server) -> None:
    admin = server.bearer("admin")
    created = server.client.post(
        "/api/users",
        headers=admin,
        json={"username": "bob", "password": "bob-password-1", "role": "operator"},
    )
    assert created.status_code == 201
    assert (
        server.client.post(
            "/api/users", headers=admin, json={"username": "bob", "password": "bob-password-1"}
        ).status_code
        == 409
    )
    token = server.client.post(
        "/api/tokens", headers=admin, json={"name": "van", "kind": "device", "pack_id": "van"}
    )
    secret = token.json()["token"]
    assert secret.startswith("sbmsd_")
    listed = server.client.get("/api/tokens", headers=admin).json()
    assert all("token" not in t for t in listed)
    ok = server.client.post(
        "/api/ingest", headers={"Authorization": f"Bearer {secret}"}, json={"samples": [{"timestamp": T}]}
    )
    assert ok.status_code == 200
    server.client.delete(f"/api/tokens/{token.json()['id']}", headers=admin)
    gone = server.client.post(
        "/api/ingest", headers={"Authorization": f"Bearer {secret}"}, json={"samples": [{"timestamp": T + 1}]}
    )
    assert gone.status_code == 401
    admin_user = server.ctx.storage.get_user(username="admin")
    assert admin_user is not None
    assert server.client.delete(f"/api/users/{admin_user.id}", headers=admin).status_code == 409


def test_one_time_password_must_be_changed_before_any_write(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from smartbms.server.app import create_app
    from smartbms.server.config import ServerConfig
    from smartbms.server.context import ServerContext

    monkeypatch.delenv("SMARTBMS_ADMIN_PASSWORD", raising=False)
    out = io.StringIO()
    ctx = ServerContext(ServerConfig(data_dir=tmp_path, fast_password_hashing=True))
    password = ctx.bootstrap_admin(out)
    assert password and password in out.getvalue()
    assert ctx.bootstrap_admin(out) is None  # only the first start creates it
    with TestClient(create_app(ctx, own_context=True)) as client:
        csrf = client.post("/api/auth/login", json={"username": "admin", "password": password}).json()[
            "csrf_token"
        ]
        blocked = client.post(
            "/api/users", headers={"X-CSRF-Token": csrf}, json={"username": "x", "password": "0123456789ab"}
        )
        assert blocked.status_code == 403 and "one-time" in blocked.json()["detail"]
        changed = client.post(
            "/api/auth/password",
            headers={"X-CSRF-Token": csrf},
            json={"current_password": password, "new_password": "a-new-password"},
        )
        assert changed.status_code == 204
        assert client.get("/api/auth/me").json()["must_change_password"] is False


def test_no_secret_reaches_the_logs(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server.login("admin")
    token = server.client.post(
        "/api/tokens", headers=server.bearer("admin"), json={"name": "x", "kind": "api"}
    )
    secret = token.json()["token"]
    server.client.get("/api/packs", headers={"Authorization": f"Bearer {secret}"})
    text = caplog.text
    for value in (ADMIN_PASSWORD, secret, *server.tokens.values()):
        assert value not in text
    assert all(value not in str(e.new_value) for e in server.ctx.storage.audit_log() for value in (secret,))
