"""The storage interface, run against SQLite and (when reachable) PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartbms.server.storage.base import RetentionPolicy, Storage
from smartbms.server.storage.records import AlertRule
from smartbms.server.storage.sqlite import SQLiteStorage

T0 = 1_790_000_000.0  # a fixed UTC second inside a minute boundary's reach


def sample(ts: float, **over: object) -> dict[str, object]:
    data: dict[str, object] = {
        "timestamp": ts,
        "voltage_v": 53.0,
        "current_a": 10.0,
        "soc_pct": 50.0,
        "cell_voltages_v": [3.30, 3.35, 3.32],
        "temperatures_c": [20.0, 26.0],
    }
    data.update(over)
    return data


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.services)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    retention = RetentionPolicy(raw_days=1.0, minute_days=10.0, hour_days=None)
    if request.param == "sqlite":
        storage: Storage = SQLiteStorage(tmp_path / "db.sqlite3", retention)
    else:
        import psycopg

        dsn = request.getfixturevalue("postgres_dsn")
        schema = f"t_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        from smartbms.server.storage.postgres import PostgresStorage

        sep = "&" if "?" in dsn else "?"
        storage = PostgresStorage(f"{dsn}{sep}options=-csearch_path%3D{schema}", retention)
    yield storage
    storage.close()
    if request.param == "postgres":
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def test_samples_round_trip_and_duplicates_are_counted(store: Storage) -> None:
    store.ensure_pack("p", source="remote")
    first = store.add_samples("p", [sample(T0 + i) for i in range(10)])
    again = store.add_samples("p", [sample(T0 + 5), sample(T0 + 10)])
    assert (first.stored, first.duplicates) == (10, 0)
    assert (again.stored, again.duplicates) == (1, 1)
    assert store.count_samples("p") == 11
    assert store.latest_sample("p") == sample(T0 + 10)
    raw = store.history("p", T0, T0 + 3, "raw")
    assert [p["timestamp"] for p in raw] == [T0, T0 + 1, T0 + 2, T0 + 3]
    assert raw[0]["cell_spread_v"] == pytest.approx(0.05)
    assert raw[0]["power_w"] == pytest.approx(530.0)
    assert raw[0]["temp_max_c"] == 26.0
    pack = store.get_pack("p")
    assert pack is not None and pack.last_seen == T0 + 10


def test_rollups_average_minutes_and_hours_and_follow_late_samples(store: Storage) -> None:
    store.ensure_pack("p", source="remote")
    start = T0 - T0 % 3600
    # Two minutes: voltage 50 then 54, one sample per second.
    store.add_samples("p", [sample(start + i, voltage_v=50.0 if i < 60 else 54.0) for i in range(120)])
    assert store.update_rollups() == 2
    minutes = store.history("p", start, start + 3600, "1m")
    assert [m["n"] for m in minutes] == [60, 60]
    assert [m["voltage_v_avg"] for m in minutes] == [pytest.approx(50.0), pytest.approx(54.0)]
    hour = store.history("p", start, start + 3600, "1h")
    assert hour[0]["n"] == 120 and hour[0]["voltage_v_avg"] == pytest.approx(52.0)
    assert hour[0]["voltage_v_min"] == 50.0 and hour[0]["voltage_v_max"] == 54.0
    assert hour[0]["cell_max_v_max"] == pytest.approx(3.35)
    # A late sample (a buffered uplink catching up) redoes its minute and hour.
    store.add_samples("p", [sample(start + 0.5, voltage_v=110.0)])
    assert store.update_rollups() == 1
    assert store.history("p", start, start + 59, "1m")[0]["voltage_v_max"] == 110.0
    assert store.history("p", start, start, "1h")[0]["n"] == 121
    assert store.update_rollups() == 0


def test_retention_drops_old_raw_samples_but_keeps_rollups(store: Storage) -> None:
    store.ensure_pack("p", source="remote")
    now = time.time()
    store.add_samples("p", [sample(now - 2 * 86_400), sample(now - 60)])
    store.update_rollups()
    deleted = store.apply_retention(now)
    assert deleted == 1
    assert [p["timestamp"] for p in store.history("p", 0, now, "raw")] == [now - 60]
    assert len(store.history("p", 0, now, "1m")) == 2


def test_accounts_tokens_audit_alerts(store: Storage) -> None:
    user = store.create_user("ann", "hash", "viewer")
    store.update_user(user.id, role="operator", must_change=True)
    again = store.get_user(username="ann")
    assert again is not None and again.role == "operator" and again.must_change_password
    store.create_session("s1", user.id, "csrf", time.time() + 60)
    session = store.get_session("s1")
    assert session is not None and session.user_id == user.id
    token = store.create_token("th", name="t", kind="device", role="viewer", pack_id="p", created_by="ann")
    found = store.find_token("th")
    assert found is not None and found.pack_id == "p"
    assert store.delete_token(token.id) and store.find_token("th") is None
    store.add_audit("ann", "settings.change", "pack:p/protection.cell_ov_v", 3.65, 3.6)
    [entry] = store.audit_log(target_prefix="pack:p")
    assert (entry.old_value, entry.new_value, entry.actor) == (3.65, 3.6, "ann")
    rule = store.create_rule(AlertRule(0, "hot", None, "temp_max_c", "above", 45.0, 40.0, 10.0))
    assert store.list_rules() == [rule]
    episode = store.open_episode("p", "rule:1", "hot", T0, "detail")
    assert store.episodes(open_only=True) == [episode]
    store.close_episode(episode.id, T0 + 5)
    assert store.episodes(open_only=True) == []
    store.delete_user(user.id)
    assert store.get_session("s1") is None


def test_events_filter_by_kind_and_time(store: Storage) -> None:
    store.add_events(
        "p",
        [
            {"timestamp": T0, "kind": "trip", "code": "A-CELL-OV", "message": "over", "data": {"cell": 3}},
            {"timestamp": T0 + 1, "kind": "state", "code": "NORMAL", "message": "normal"},
        ],
    )
    assert [e.code for e in store.events("p")] == ["NORMAL", "A-CELL-OV"]
    [trip] = store.events("p", kinds=["trip"])
    assert trip.data == {"cell": 3}
    assert [e.code for e in store.events("p", since=T0 + 0.5)] == ["NORMAL"]


def test_a_failing_write_does_not_take_its_commit_group_down(tmp_path: Path) -> None:
    store = SQLiteStorage(tmp_path / "db.sqlite3")
    store.create_user("ann", "h", "viewer")
    with pytest.raises(Exception, match="UNIQUE"):
        store.create_user("ann", "h", "viewer")
    store.ensure_pack("p", source="remote")
    assert store.add_samples("p", [sample(T0)]).stored == 1
    store.close()
