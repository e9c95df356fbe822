"""Alert rules with hysteresis and hold time, no-data, core alarms; webhook and SMTP delivery."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from tests.server.procs import free_port

from smartbms.server.alerts import AlertEngine
from smartbms.server.notifiers import Notifier, SmtpConfig
from smartbms.server.storage.records import AlertRule
from smartbms.server.storage.sqlite import SQLiteStorage

T = 1_790_000_000.0


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/hook", received
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def smtp() -> Iterator[tuple[int, list[Any]]]:
    aiosmtpd = pytest.importorskip("aiosmtpd.controller")
    messages: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            messages.append(message_from_bytes(envelope.content))
            return "250 OK"

    port = free_port()
    controller = aiosmtpd.Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, messages
    controller.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStorage]:
    s = SQLiteStorage(tmp_path / "db.sqlite3")
    s.ensure_pack("van", source="remote")
    yield s
    s.close()


def temp_sample(ts: float, temp: float, alarms: list[str] | None = None) -> dict[str, Any]:
    return {"timestamp": ts, "temperatures_c": [25.0, temp], "alarms": alarms or []}


def test_rule_trips_once_after_its_duration_and_recovers_past_the_clear_threshold(
    store: SQLiteStorage, webhook: tuple[str, list[dict[str, Any]]], smtp: tuple[int, list[Any]]
) -> None:
    url, posted = webhook
    port, mails = smtp
    store.create_channel("webhook", url)
    store.create_channel("email", "owner@example.com")
    store.create_rule(AlertRule(0, "Pack too hot", None, "temp_max_c", "above", 45.0, 40.0, 10.0))
    notifier = Notifier(store, SmtpConfig(host="127.0.0.1", port=port))
    engine = AlertEngine(store, notifier)
    # Hot for 5 s only: no alert. Then hot for 20 s: one alert. 42 °C is inside the hysteresis band.
    temps = [50.0] * 5 + [30.0] + [50.0] * 20 + [42.0] * 5 + [50.0] * 5 + [39.0] * 3
    engine.on_samples("van", [temp_sample(T + i, t) for i, t in enumerate(temps)])
    notifier.flush()
    assert [p["state"] for p in posted] == ["alert", "recovered"]
    assert posted[0]["title"] == "Pack too hot" and posted[0]["timestamp"] == T + 16
    assert posted[1]["timestamp"] == T + len(temps) - 3
    assert [m["Subject"] for m in mails] == [
        "[smartbms] ALERT van: Pack too hot",
        "[smartbms] RECOVERED van: Pack too hot",
    ]
    assert mails[0]["To"] == "owner@example.com"
    [episode] = store.episodes()
    assert episode.cleared_at == T + len(temps) - 3
    notifier.close()


def test_core_alarms_and_no_data_make_episodes(store: SQLiteStorage, webhook: tuple[str, Any]) -> None:
    url, posted = webhook
    store.create_channel("webhook", url)
    notifier = Notifier(store)
    engine = AlertEngine(store, notifier, no_data_after_s=60.0)
    engine.on_samples("van", [temp_sample(T + i, 25.0, ["A-CELL-OV"]) for i in range(3)])
    engine.on_samples("van", [temp_sample(T + 3, 25.0, [])])
    store.add_samples("van", [temp_sample(T + 3, 25.0)])
    engine.check_no_data(now=T + 30)
    engine.check_no_data(now=T + 100)
    engine.check_no_data(now=T + 200)  # still silent: no second notification
    engine.on_samples("van", [temp_sample(T + 210, 25.0)])
    notifier.flush()
    assert [(p["key"], p["state"]) for p in posted] == [
        ("alarm:A-CELL-OV", "alert"),
        ("alarm:A-CELL-OV", "recovered"),
        ("no-data", "alert"),
        ("no-data", "recovered"),
    ]
    assert "over-voltage" in posted[0]["title"].lower()
    notifier.close()


def test_open_episodes_survive_a_restart_without_repeating(
    store: SQLiteStorage, webhook: tuple[str, Any]
) -> None:
    url, posted = webhook
    store.create_channel("webhook", url)
    rule = store.create_rule(AlertRule(0, "low", "van", "soc_pct", "below", 10.0, 15.0, 0.0))
    first = Notifier(store)
    AlertEngine(store, first).on_samples("van", [{"timestamp": T, "soc_pct": 5.0}])
    first.flush()
    first.close()
    second = Notifier(store)
    engine = AlertEngine(store, second)
    engine.on_samples("van", [{"timestamp": T + 1, "soc_pct": 4.0}, {"timestamp": T + 2, "soc_pct": 20.0}])
    second.flush()
    assert [p["state"] for p in posted] == ["alert", "recovered"]
    assert rule.id == 1
    second.close()


def test_a_failing_channel_does_not_stop_the_others(store: SQLiteStorage, webhook: tuple[str, Any]) -> None:
    url, posted = webhook
    store.create_channel("webhook", "http://127.0.0.1:9/nothing-listens-here")
    store.create_channel("webhook", url)
    notifier = Notifier(store, attempts=1)
    AlertEngine(store, notifier).on_samples("van", [temp_sample(T, 25.0, ["E-AFE-COMM"])])
    notifier.flush()
    assert len(posted) == 1 and notifier.failed == 1
    notifier.close()


def test_rule_api_refuses_a_clear_threshold_beyond_the_trip(server: Any) -> None:
    bad = server.client.post(
        "/api/alerts/rules",
        headers=server.bearer("admin"),
        json={"name": "x", "field": "soc_pct", "op": "below", "trip": 10, "clear": 5},
    )
    assert bad.status_code == 422
    good = server.client.post(
        "/api/alerts/rules",
        headers=server.bearer("admin"),
        json={"name": "x", "field": "soc_pct", "op": "below", "trip": 10, "clear": 15},
    )
    assert good.status_code == 201
    server.ctx.ingest("remote1", [{"timestamp": time.time(), "soc_pct": 5.0}])
    episodes = server.client.get(
        "/api/alerts/episodes?open_only=true", headers=server.bearer("viewer")
    ).json()
    assert [e["title"] for e in episodes] == ["x"]
