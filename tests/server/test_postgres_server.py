"""The whole server on PostgreSQL: same API, storage swapped behind the interface."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.services


@pytest.fixture
def pg_dsn(postgres_dsn: str) -> Iterator[str]:
    import psycopg

    schema = f"srv_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in postgres_dsn else "?"
    yield f"{postgres_dsn}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def test_ingest_history_and_accounts_on_postgres(
    pg_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from smartbms.server.app import create_app
    from smartbms.server.config import ServerConfig
    from smartbms.server.context import ServerContext

    monkeypatch.setenv("SMARTBMS_ADMIN_PASSWORD", "pg-admin-password")
    ctx = ServerContext(ServerConfig(data_dir=tmp_path, database=pg_dsn, fast_password_hashing=True))
    ctx.bootstrap_admin()
    assert not list(tmp_path.glob("*.sqlite3"))  # nothing went to SQLite
    with TestClient(create_app(ctx, own_context=True)) as client:
        csrf = client.post(
            "/api/auth/login", json={"username": "admin", "password": "pg-admin-password"}
        ).json()["csrf_token"]
        token = client.post(
            "/api/tokens",
            json={"name": "d", "kind": "device", "pack_id": "pg1"},
            headers={"X-CSRF-Token": csrf},
        ).json()["token"]
        samples = [
            {"timestamp": 1_790_000_000.0 + i, "voltage_v": 50.0 + i, "current_a": 2.0} for i in range(100)
        ]
        posted = client.post(
            "/api/ingest", json={"samples": samples}, headers={"Authorization": f"Bearer {token}"}
        )
        assert posted.json()["stored"] == 100
        ctx.storage.update_rollups()
        minutes = client.get(
            "/api/packs/pg1/history",
            params={"start": 1_789_999_900, "end": 1_790_000_200, "resolution": "1m"},
        ).json()["points"]
        assert sum(p["n"] for p in minutes) == 100
        assert client.get("/api/packs/pg1/latest").json()["power_w"] == 2 * 149.0
        assert [e.action for e in ctx.storage.audit_log()][:1] == ["token.create"]
