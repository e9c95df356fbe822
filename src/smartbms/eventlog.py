"""The persistent event log: every trip, release, state change, request and setting change.

SQLite in WAL mode; each append is one transaction, so an event the log accepted survives a
crash of the process.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from smartbms.core.events import Event, EventKind
from smartbms.errors import StorageError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp REAL NOT NULL,
    kind TEXT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_time ON events(timestamp);
"""


class EventLog:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(f"cannot open the event log {self.path}: {exc}") from exc
        self._lock = threading.Lock()

    def append(self, events: Iterable[Event]) -> int:
        rows = [
            (e.timestamp, e.kind.value, e.code, e.message, json.dumps(e.data, default=str)) for e in events
        ]
        if not rows:
            return 0
        try:
            with self._lock, self._db:
                self._db.executemany(
                    "INSERT INTO events(timestamp, kind, code, message, data) VALUES (?, ?, ?, ?, ?)", rows
                )
        except sqlite3.Error as exc:
            raise StorageError(f"cannot write to the event log {self.path}: {exc}") from exc
        return len(rows)

    def query(
        self,
        since: float | None = None,
        until: float | None = None,
        kinds: Sequence[EventKind | str] | None = None,
        limit: int = 1000,
    ) -> list[Event]:
        """Events in time order (the newest ``limit`` of the range)."""
        sql = "SELECT timestamp, kind, code, message, data FROM events WHERE 1=1"
        params: list[object] = []
        if since is not None:
            sql += " AND timestamp >= ?"
            params.append(since)
        if until is not None:
            sql += " AND timestamp <= ?"
            params.append(until)
        if kinds:
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            params.extend(str(EventKind(k).value) for k in kinds)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [
            Event(ts, EventKind(kind), code, msg, json.loads(data))
            for ts, kind, code, msg, data in reversed(rows)
        ]

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
