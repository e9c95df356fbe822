"""The storage interface in portable SQL, shared by the SQLite and PostgreSQL backends.

All writes go through one writer thread that groups whatever is queued into a single
transaction (group commit) and only then acknowledges each caller: many small ingest posts
cost one commit, and nothing is acknowledged before it is on disk. Each job runs inside its
own savepoint so one bad job cannot take the others of its group down. Reads use one
connection per thread.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from abc import abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

from smartbms.errors import StorageError
from smartbms.server.storage.base import IngestResult, Resolution, RetentionPolicy, Storage
from smartbms.server.storage.records import (
    SAMPLE_COLUMNS,
    AlertRule,
    ApiToken,
    AuditEntry,
    Channel,
    Episode,
    PackRecord,
    QueuedCommand,
    Session,
    StoredEvent,
    User,
    sample_columns,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
Cursor = Any  # sqlite3.Cursor or psycopg.Cursor: both speak execute/executemany/fetch*
Conn = Any

# Aggregates kept per rollup bucket: (column, function over the finer level, source column).
_ROLLUP_AGGS: tuple[tuple[str, str], ...] = (
    ("voltage_v", "avg"),
    ("voltage_v", "min"),
    ("voltage_v", "max"),
    ("current_a", "avg"),
    ("current_a", "min"),
    ("current_a", "max"),
    ("power_w", "avg"),
    ("soc_pct", "avg"),
    ("soc_pct", "min"),
    ("soc_pct", "max"),
    ("cell_min_v", "min"),
    ("cell_max_v", "max"),
    ("cell_spread_v", "avg"),
    ("cell_spread_v", "max"),
    ("temp_min_c", "min"),
    ("temp_max_c", "max"),
)
ROLLUP_COLUMNS: tuple[str, ...] = tuple(f"{col}_{fn}" for col, fn in _ROLLUP_AGGS)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS packs (
    pack_id TEXT PRIMARY KEY, name TEXT NOT NULL, source TEXT NOT NULL,
    created_at {real} NOT NULL, last_seen {real});
CREATE TABLE IF NOT EXISTS samples (
    pack_id TEXT NOT NULL, ts {real} NOT NULL, {sample_cols}, data TEXT NOT NULL,
    PRIMARY KEY (pack_id, ts)){without_rowid};
CREATE TABLE IF NOT EXISTS rollup_1m (
    pack_id TEXT NOT NULL, ts {real} NOT NULL, n INTEGER NOT NULL, {rollup_cols},
    PRIMARY KEY (pack_id, ts)){without_rowid};
CREATE TABLE IF NOT EXISTS rollup_1h (
    pack_id TEXT NOT NULL, ts {real} NOT NULL, n INTEGER NOT NULL, {rollup_cols},
    PRIMARY KEY (pack_id, ts)){without_rowid};
CREATE TABLE IF NOT EXISTS dirty_minutes (
    pack_id TEXT NOT NULL, ts {real} NOT NULL, PRIMARY KEY (pack_id, ts));
CREATE TABLE IF NOT EXISTS events (
    id {id}, pack_id TEXT NOT NULL, ts {real} NOT NULL, kind TEXT NOT NULL,
    code TEXT NOT NULL, message TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_pack_ts ON events (pack_id, ts);
CREATE TABLE IF NOT EXISTS users (
    id {id}, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, role TEXT NOT NULL,
    must_change INTEGER NOT NULL, created_at {real} NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL, csrf_token TEXT NOT NULL,
    expires_at {real} NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    id {id}, token_hash TEXT NOT NULL UNIQUE, name TEXT NOT NULL, kind TEXT NOT NULL,
    role TEXT NOT NULL, pack_id TEXT, created_by TEXT NOT NULL, created_at {real} NOT NULL,
    last_used_at {real});
CREATE TABLE IF NOT EXISTS audit (
    id {id}, ts {real} NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,
    old_value TEXT, new_value TEXT);
CREATE TABLE IF NOT EXISTS alert_rules (
    id {id}, name TEXT NOT NULL, pack_id TEXT, field TEXT NOT NULL, op TEXT NOT NULL,
    trip {real} NOT NULL, clear_at {real} NOT NULL, duration_s {real} NOT NULL, enabled INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS channels (
    id {id}, kind TEXT NOT NULL, target TEXT NOT NULL, enabled INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS reported_settings (
    pack_id TEXT PRIMARY KEY, settings TEXT NOT NULL, reported_at {real} NOT NULL);
CREATE TABLE IF NOT EXISTS commands (
    id {id}, pack_id TEXT NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL, created_by TEXT NOT NULL,
    created_at {real} NOT NULL, done_at {real}, ok INTEGER, result TEXT);
CREATE INDEX IF NOT EXISTS commands_pack ON commands (pack_id, id);
CREATE TABLE IF NOT EXISTS episodes (
    id {id}, pack_id TEXT NOT NULL, key TEXT NOT NULL, title TEXT NOT NULL,
    started_at {real} NOT NULL, cleared_at {real}, detail TEXT NOT NULL);
"""


class _Job:
    __slots__ = ("fn", "future")

    def __init__(self, fn: Callable[[Cursor], Any]) -> None:
        self.fn = fn
        self.future: Future[Any] = Future()


class SqlStorage(Storage):
    """Everything but connecting and a few dialect words; see the two subclasses."""

    real = "REAL"
    id_column = "INTEGER PRIMARY KEY AUTOINCREMENT"
    without_rowid = ""
    max_jobs_per_commit = 500

    def __init__(self, retention: RetentionPolicy | None = None) -> None:
        self.retention = retention or RetentionPolicy()
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._local = threading.local()
        self._readers: list[Conn] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        self.commits = 0
        ready: Future[None] = Future()
        self._writer = threading.Thread(
            target=self._writer_loop, args=(ready,), name="storage-writer", daemon=True
        )
        self._writer.start()
        ready.result()  # re-raises a failure to open or migrate the database

    # -- dialect hooks ----------------------------------------------------------------
    @abstractmethod
    def _connect(self) -> Conn:
        """A new connection in autocommit mode (transactions are explicit)."""

    def _sql(self, text: str) -> str:
        return text

    def _insert_sample_rows(self, cur: Cursor, rows: list[tuple[Any, ...]]) -> int:
        cols = ", ".join(("pack_id", "ts", *SAMPLE_COLUMNS, "data"))
        marks = ", ".join("?" for _ in range(len(SAMPLE_COLUMNS) + 3))
        cur.executemany(
            self._sql(f"INSERT INTO samples ({cols}) VALUES ({marks}) ON CONFLICT (pack_id, ts) DO NOTHING"),
            rows,
        )
        return int(cur.rowcount)

    # -- plumbing ---------------------------------------------------------------------
    def _schema_statements(self) -> list[str]:
        text = _SCHEMA.format(
            real=self.real,
            id=self.id_column,
            without_rowid=self.without_rowid,
            sample_cols=", ".join(f"{c} {self.real}" for c in SAMPLE_COLUMNS),
            rollup_cols=", ".join(f"{c} {self.real}" for c in ROLLUP_COLUMNS),
        )
        return [s.strip() for s in text.split(";") if s.strip()]

    def _writer_loop(self, ready: Future[None]) -> None:
        try:
            conn = self._connect()
            cur = conn.cursor()
            cur.execute("BEGIN")
            for statement in self._schema_statements():
                cur.execute(statement)
            cur.execute("COMMIT")
        except Exception as exc:
            ready.set_exception(StorageError(f"cannot open the history store: {exc}"))
            return
        ready.set_result(None)
        while True:
            job = self._jobs.get()
            if job is None:
                break
            batch = [job]
            stop = False
            while len(batch) < self.max_jobs_per_commit:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._run_batch(cur, batch)
            if stop:
                break
        conn.close()

    def _run_batch(self, cur: Cursor, batch: list[_Job]) -> None:
        outcomes: list[tuple[_Job, Any, BaseException | None]] = []
        try:
            cur.execute("BEGIN")
            for job in batch:
                cur.execute("SAVEPOINT job")
                try:
                    result = job.fn(cur)
                except Exception as exc:
                    cur.execute("ROLLBACK TO SAVEPOINT job")
                    cur.execute("RELEASE SAVEPOINT job")
                    outcomes.append((job, None, exc))
                else:
                    cur.execute("RELEASE SAVEPOINT job")
                    outcomes.append((job, result, None))
            cur.execute("COMMIT")
            self.commits += 1
        except Exception as exc:  # the commit itself failed: nothing of the group is stored
            log.error("history store commit failed: %s", exc)
            with contextlib.suppress(Exception):
                cur.execute("ROLLBACK")
            for job in batch:
                job.future.set_exception(StorageError(f"the history store could not commit: {exc}"))
            return
        for job, result, error in outcomes:
            if error is None:
                job.future.set_result(result)
            else:
                job.future.set_exception(error)

    def _write(self, fn: Callable[[Cursor], T]) -> T:
        if self._closed:
            raise StorageError("the history store is closed")
        job = _Job(fn)
        self._jobs.put(job)
        return job.future.result(timeout=120)  # type: ignore[no-any-return]

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        cur = conn.cursor()
        cur.execute(self._sql(sql), tuple(params))
        rows = cur.fetchall()
        cur.close()
        return [tuple(r) for r in rows]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._jobs.put(None)
        self._writer.join(timeout=30)
        with self._readers_lock:
            for conn in self._readers:
                with contextlib.suppress(Exception):
                    conn.close()
            self._readers.clear()

    def _exec(self, cur: Cursor, sql: str, params: Sequence[Any] = ()) -> Cursor:
        cur.execute(self._sql(sql), tuple(params))
        return cur

    # -- packs and samples --------------------------------------------------------------
    def ensure_pack(self, pack_id: str, *, source: str, name: str | None = None) -> PackRecord:
        now = time.time()

        def job(cur: Cursor) -> None:
            self._exec(
                cur,
                "INSERT INTO packs (pack_id, name, source, created_at, last_seen) VALUES (?, ?, ?, ?, NULL) "
                "ON CONFLICT (pack_id) DO NOTHING",
                (pack_id, name or pack_id, source, now),
            )
            if name:
                self._exec(cur, "UPDATE packs SET name = ? WHERE pack_id = ?", (name, pack_id))

        self._write(job)
        record = self.get_pack(pack_id)
        assert record is not None
        return record

    def get_pack(self, pack_id: str) -> PackRecord | None:
        rows = self._read(
            "SELECT pack_id, name, source, created_at, last_seen FROM packs WHERE pack_id = ?", (pack_id,)
        )
        return PackRecord(*rows[0]) if rows else None

    def list_packs(self) -> list[PackRecord]:
        rows = self._read("SELECT pack_id, name, source, created_at, last_seen FROM packs ORDER BY pack_id")
        return [PackRecord(*r) for r in rows]

    def add_samples(self, pack_id: str, samples: Sequence[dict[str, Any]]) -> IngestResult:
        if not samples:
            return IngestResult(0, 0)
        rows: list[tuple[Any, ...]] = []
        minutes: set[float] = set()
        for sample in samples:
            ts = float(sample["timestamp"])
            cols = sample_columns(sample)
            rows.append((pack_id, ts, *(cols[c] for c in SAMPLE_COLUMNS), json.dumps(sample)))
            minutes.add(float(int(ts // 60) * 60))
        last = max(r[1] for r in rows)

        def job(cur: Cursor) -> int:
            stored = self._insert_sample_rows(cur, rows)
            cur.executemany(
                self._sql("INSERT INTO dirty_minutes (pack_id, ts) VALUES (?, ?) ON CONFLICT DO NOTHING"),
                [(pack_id, m) for m in minutes],
            )
            self._exec(
                cur,
                "UPDATE packs SET last_seen = ? WHERE pack_id = ? AND (last_seen IS NULL OR last_seen < ?)",
                (last, pack_id, last),
            )
            return stored

        stored = self._write(job)
        return IngestResult(stored=stored, duplicates=len(rows) - stored)

    def latest_sample(self, pack_id: str) -> dict[str, Any] | None:
        rows = self._read("SELECT data FROM samples WHERE pack_id = ? ORDER BY ts DESC LIMIT 1", (pack_id,))
        return dict(json.loads(rows[0][0])) if rows else None

    def history(
        self, pack_id: str, start: float, end: float, resolution: Resolution, limit: int = 20_000
    ) -> list[dict[str, Any]]:
        if resolution == "raw":
            cols = ("ts", *SAMPLE_COLUMNS, "data")
            rows = self._read(
                f"SELECT {', '.join(cols)} FROM samples WHERE pack_id = ? AND ts >= ? AND ts <= ? "
                "ORDER BY ts LIMIT ?",
                (pack_id, start, end, limit),
            )
            out = []
            for row in rows:
                point: dict[str, Any] = {"timestamp": row[0]}
                point.update(zip(SAMPLE_COLUMNS, row[1:-1], strict=True))
                point["sample"] = json.loads(row[-1])
                out.append(point)
            return out
        table = "rollup_1m" if resolution == "1m" else "rollup_1h"
        cols = ("ts", "n", *ROLLUP_COLUMNS)
        rows = self._read(
            f"SELECT {', '.join(cols)} FROM {table} "
            "WHERE pack_id = ? AND ts >= ? AND ts <= ? ORDER BY ts LIMIT ?",
            (pack_id, start, end, limit),
        )
        return [{"timestamp": r[0], "n": r[1], **dict(zip(ROLLUP_COLUMNS, r[2:], strict=True))} for r in rows]

    def count_samples(self, pack_id: str | None = None) -> int:
        if pack_id is None:
            return int(self._read("SELECT COUNT(*) FROM samples")[0][0])
        return int(self._read("SELECT COUNT(*) FROM samples WHERE pack_id = ?", (pack_id,))[0][0])

    def update_rollups(self) -> int:
        minute_aggs = ", ".join(f"{fn.upper()}({col})" for col, fn in _ROLLUP_AGGS)
        # An hour aggregates minutes: averages weighted by the sample count, extremes of extremes.
        hour_aggs = ", ".join(
            f"SUM({col}_{fn} * n) / NULLIF(SUM(CASE WHEN {col}_{fn} IS NULL THEN 0 ELSE n END), 0)"
            if fn == "avg"
            else f"{fn.upper()}({col}_{fn})"
            for col, fn in _ROLLUP_AGGS
        )
        cols = ", ".join(("pack_id", "ts", "n", *ROLLUP_COLUMNS))
        updates = ", ".join(f"{c} = excluded.{c}" for c in ("n", *ROLLUP_COLUMNS))

        def job(cur: Cursor) -> int:
            dirty = self._exec(cur, "SELECT pack_id, ts FROM dirty_minutes").fetchall()
            if not dirty:
                return 0
            hours: set[tuple[str, float]] = set()
            for pack_id, minute in dirty:
                self._exec(
                    cur,
                    f"INSERT INTO rollup_1m ({cols}) SELECT ?, ?, COUNT(*), {minute_aggs} FROM samples "
                    f"WHERE pack_id = ? AND ts >= ? AND ts < ? "
                    f"ON CONFLICT (pack_id, ts) DO UPDATE SET {updates}",
                    (pack_id, minute, pack_id, minute, minute + 60),
                )
                hours.add((pack_id, float(int(minute // 3600) * 3600)))
            for pack_id, hour in hours:
                self._exec(
                    cur,
                    f"INSERT INTO rollup_1h ({cols}) SELECT ?, ?, SUM(n), {hour_aggs} FROM rollup_1m "
                    f"WHERE pack_id = ? AND ts >= ? AND ts < ? "
                    f"ON CONFLICT (pack_id, ts) DO UPDATE SET {updates}",
                    (pack_id, hour, pack_id, hour, hour + 3600),
                )
            cur.executemany(self._sql("DELETE FROM dirty_minutes WHERE pack_id = ? AND ts = ?"), dirty)
            return len(dirty)

        return self._write(job)

    def apply_retention(self, now: float) -> int:
        limits = (
            ("samples", self.retention.raw_days),
            ("rollup_1m", self.retention.minute_days),
            ("rollup_1h", self.retention.hour_days),
        )

        def job(cur: Cursor) -> int:
            deleted = 0
            for table, days in limits:
                if days is not None:
                    self._exec(cur, f"DELETE FROM {table} WHERE ts < ?", (now - days * 86_400.0,))
                    deleted += max(int(cur.rowcount), 0)
            self._exec(cur, "DELETE FROM sessions WHERE expires_at < ?", (now,))
            return deleted

        return self._write(job)

    # -- events ---------------------------------------------------------------------------
    def add_events(self, pack_id: str, events: Sequence[dict[str, Any]]) -> int:
        rows = [
            (
                pack_id,
                float(e["timestamp"]),
                str(e.get("kind", "")),
                str(e.get("code", "")),
                str(e.get("message", "")),
                json.dumps(e.get("data") or {}, default=str),
            )
            for e in events
        ]
        if not rows:
            return 0

        def job(cur: Cursor) -> int:
            cur.executemany(
                self._sql(
                    "INSERT INTO events (pack_id, ts, kind, code, message, data) VALUES (?, ?, ?, ?, ?, ?)"
                ),
                rows,
            )
            return len(rows)

        return self._write(job)

    def events(
        self,
        pack_id: str | None,
        *,
        since: float | None = None,
        until: float | None = None,
        kinds: Sequence[str] | None = None,
        limit: int = 500,
    ) -> list[StoredEvent]:
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if pack_id is not None:
            where.append("pack_id = ?")
            params.append(pack_id)
        if since is not None:
            where.append("ts >= ?")
            params.append(since)
        if until is not None:
            where.append("ts <= ?")
            params.append(until)
        if kinds:
            where.append(f"kind IN ({', '.join('?' for _ in kinds)})")
            params.extend(kinds)
        rows = self._read(
            f"SELECT id, pack_id, ts, kind, code, message, data FROM events WHERE {' AND '.join(where)} "
            "ORDER BY ts DESC, id DESC LIMIT ?",
            (*params, limit),
        )
        return [StoredEvent(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6])) for r in rows]

    # -- users, sessions, tokens ---------------------------------------------------------
    _USER_COLS = "id, username, role, password_hash, must_change, created_at"

    @staticmethod
    def _user(row: tuple[Any, ...]) -> User:
        return User(row[0], row[1], row[2], row[3], bool(row[4]), row[5])

    def create_user(self, username: str, password_hash: str, role: str, *, must_change: bool = False) -> User:
        def job(cur: Cursor) -> int:
            self._exec(
                cur,
                "INSERT INTO users (username, password_hash, role, must_change, created_at) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id",
                (username, password_hash, role, int(must_change), time.time()),
            )
            return int(cur.fetchone()[0])

        user_id = self._write(job)
        user = self.get_user(user_id=user_id)
        assert user is not None
        return user

    def get_user(self, *, user_id: int | None = None, username: str | None = None) -> User | None:
        if user_id is not None:
            rows = self._read(f"SELECT {self._USER_COLS} FROM users WHERE id = ?", (user_id,))
        else:
            rows = self._read(f"SELECT {self._USER_COLS} FROM users WHERE username = ?", (username,))
        return self._user(rows[0]) if rows else None

    def list_users(self) -> list[User]:
        return [self._user(r) for r in self._read(f"SELECT {self._USER_COLS} FROM users ORDER BY username")]

    def update_user(
        self,
        user_id: int,
        *,
        role: str | None = None,
        password_hash: str | None = None,
        must_change: bool | None = None,
    ) -> None:
        def job(cur: Cursor) -> None:
            if role is not None:
                self._exec(cur, "UPDATE users SET role = ? WHERE id = ?", (role, user_id))
            if password_hash is not None:
                self._exec(cur, "UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))
            if must_change is not None:
                self._exec(cur, "UPDATE users SET must_change = ? WHERE id = ?", (int(must_change), user_id))

        self._write(job)

    def delete_user(self, user_id: int) -> None:
        def job(cur: Cursor) -> None:
            self._exec(cur, "DELETE FROM sessions WHERE user_id = ?", (user_id,))
            self._exec(cur, "DELETE FROM users WHERE id = ?", (user_id,))

        self._write(job)

    def create_session(self, token_hash: str, user_id: int, csrf_token: str, expires_at: float) -> None:
        self._write(
            lambda cur: (
                self._exec(
                    cur,
                    "INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at) VALUES (?, ?, ?, ?)",
                    (token_hash, user_id, csrf_token, expires_at),
                )
                and None
            )
        )

    def get_session(self, token_hash: str) -> Session | None:
        rows = self._read(
            "SELECT user_id, csrf_token, expires_at FROM sessions WHERE token_hash = ?", (token_hash,)
        )
        return Session(*rows[0]) if rows else None

    def delete_session(self, token_hash: str) -> None:
        self._write(
            lambda cur: self._exec(cur, "DELETE FROM sessions WHERE token_hash = ?", (token_hash,)) and None
        )

    def delete_user_sessions(self, user_id: int) -> None:
        self._write(
            lambda cur: self._exec(cur, "DELETE FROM sessions WHERE user_id = ?", (user_id,)) and None
        )

    _TOKEN_COLS = "id, name, kind, role, pack_id, created_by, created_at, last_used_at"

    def create_token(
        self, token_hash: str, *, name: str, kind: str, role: str, pack_id: str | None, created_by: str
    ) -> ApiToken:
        def job(cur: Cursor) -> int:
            self._exec(
                cur,
                "INSERT INTO tokens (token_hash, name, kind, role, pack_id, created_by, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (token_hash, name, kind, role, pack_id, created_by, time.time()),
            )
            return int(cur.fetchone()[0])

        token_id = self._write(job)
        rows = self._read(f"SELECT {self._TOKEN_COLS} FROM tokens WHERE id = ?", (token_id,))
        return ApiToken(*rows[0])

    def find_token(self, token_hash: str) -> ApiToken | None:
        rows = self._read(f"SELECT {self._TOKEN_COLS} FROM tokens WHERE token_hash = ?", (token_hash,))
        return ApiToken(*rows[0]) if rows else None

    def list_tokens(self) -> list[ApiToken]:
        return [ApiToken(*r) for r in self._read(f"SELECT {self._TOKEN_COLS} FROM tokens ORDER BY id")]

    def delete_token(self, token_id: int) -> bool:
        def job(cur: Cursor) -> bool:
            self._exec(cur, "DELETE FROM tokens WHERE id = ?", (token_id,))
            return int(cur.rowcount) > 0

        return self._write(job)

    # -- audit ----------------------------------------------------------------------------
    def add_audit(self, actor: str, action: str, target: str, old_value: Any, new_value: Any) -> AuditEntry:
        now = time.time()
        old_text = json.dumps(old_value, default=str)
        new_text = json.dumps(new_value, default=str)

        def job(cur: Cursor) -> int:
            self._exec(
                cur,
                "INSERT INTO audit (ts, actor, action, target, old_value, new_value) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (now, actor, action, target, old_text, new_text),
            )
            return int(cur.fetchone()[0])

        entry_id = self._write(job)
        return AuditEntry(entry_id, now, actor, action, target, old_value, new_value)

    def audit_log(self, *, target_prefix: str | None = None, limit: int = 200) -> list[AuditEntry]:
        where, params = "", []
        if target_prefix:
            where = "WHERE substr(target, 1, ?) = ?"
            params = [len(target_prefix), target_prefix]
        rows = self._read(
            f"SELECT id, ts, actor, action, target, old_value, new_value FROM audit {where} "
            "ORDER BY id DESC LIMIT ?",
            (*params, limit),
        )
        return [
            AuditEntry(r[0], r[1], r[2], r[3], r[4], json.loads(r[5] or "null"), json.loads(r[6] or "null"))
            for r in rows
        ]

    # -- alerts ----------------------------------------------------------------------------
    def create_rule(self, rule: AlertRule) -> AlertRule:
        def job(cur: Cursor) -> int:
            self._exec(
                cur,
                "INSERT INTO alert_rules (name, pack_id, field, op, trip, clear_at, duration_s, enabled) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    rule.name,
                    rule.pack_id,
                    rule.field,
                    rule.op,
                    rule.trip,
                    rule.clear,
                    rule.duration_s,
                    int(rule.enabled),
                ),
            )
            return int(cur.fetchone()[0])

        rule_id = self._write(job)
        return AlertRule(
            rule_id,
            rule.name,
            rule.pack_id,
            rule.field,
            rule.op,
            rule.trip,
            rule.clear,
            rule.duration_s,
            rule.enabled,
        )

    def list_rules(self) -> list[AlertRule]:
        rows = self._read(
            "SELECT id, name, pack_id, field, op, trip, clear_at, duration_s, enabled "
            "FROM alert_rules ORDER BY id"
        )
        return [AlertRule(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8])) for r in rows]

    def delete_rule(self, rule_id: int) -> bool:
        def job(cur: Cursor) -> bool:
            self._exec(cur, "DELETE FROM alert_rules WHERE id = ?", (rule_id,))
            return int(cur.rowcount) > 0

        return self._write(job)

    def create_channel(self, kind: str, target: str) -> Channel:
        def job(cur: Cursor) -> int:
            self._exec(
                cur,
                "INSERT INTO channels (kind, target, enabled) VALUES (?, ?, 1) RETURNING id",
                (kind, target),
            )
            return int(cur.fetchone()[0])

        return Channel(self._write(job), kind, target, True)

    def list_channels(self) -> list[Channel]:
        rows = self._read("SELECT id, kind, target, enabled FROM channels ORDER BY id")
        return [Channel(r[0], r[1], r[2], bool(r[3])) for r in rows]

    def delete_channel(self, channel_id: int) -> bool:
        def job(cur: Cursor) -> bool:
            self._exec(cur, "DELETE FROM channels WHERE id = ?", (channel_id,))
            return int(cur.rowcount) > 0

        return self._write(job)

    def open_episode(self, pack_id: str, key: str, title: str, started_at: float, detail: str) -> Episode:
        def job(cur: Cursor) -> int:
            self._exec(
                cur,
                "INSERT INTO episodes (pack_id, key, title, started_at, cleared_at, detail) "
                "VALUES (?, ?, ?, ?, NULL, ?) RETURNING id",
                (pack_id, key, title, started_at, detail),
            )
            return int(cur.fetchone()[0])

        return Episode(self._write(job), pack_id, key, title, started_at, None, detail)

    def close_episode(self, episode_id: int, cleared_at: float) -> None:
        self._write(
            lambda cur: (
                self._exec(cur, "UPDATE episodes SET cleared_at = ? WHERE id = ?", (cleared_at, episode_id))
                and None
            )
        )

    def episodes(
        self, *, pack_id: str | None = None, open_only: bool = False, limit: int = 200
    ) -> list[Episode]:
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if pack_id is not None:
            where.append("pack_id = ?")
            params.append(pack_id)
        if open_only:
            where.append("cleared_at IS NULL")
        rows = self._read(
            f"SELECT id, pack_id, key, title, started_at, cleared_at, detail FROM episodes "
            f"WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
            (*params, limit),
        )
        return [Episode(*r) for r in rows]

    # -- remote packs ----------------------------------------------------------------------
    def save_reported_settings(self, pack_id: str, settings: dict[str, Any]) -> None:
        text = json.dumps(settings)
        self._write(
            lambda cur: (
                self._exec(
                    cur,
                    "INSERT INTO reported_settings (pack_id, settings, reported_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (pack_id) DO UPDATE SET settings = excluded.settings, "
                    "reported_at = excluded.reported_at",
                    (pack_id, text, time.time()),
                )
                and None
            )
        )

    def reported_settings(self, pack_id: str) -> dict[str, Any] | None:
        rows = self._read("SELECT settings FROM reported_settings WHERE pack_id = ?", (pack_id,))
        return dict(json.loads(rows[0][0])) if rows else None

    _COMMAND_COLS = "id, pack_id, kind, payload, created_by, created_at, done_at, ok, result"

    @staticmethod
    def _command(row: tuple[Any, ...]) -> QueuedCommand:
        ok = None if row[7] is None else bool(row[7])
        return QueuedCommand(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6], ok, row[8])

    def queue_command(
        self, pack_id: str, kind: str, payload: dict[str, Any], created_by: str
    ) -> QueuedCommand:
        now = time.time()

        def job(cur: Cursor) -> int:
            self._exec(
                cur,
                "INSERT INTO commands (pack_id, kind, payload, created_by, created_at) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id",
                (pack_id, kind, json.dumps(payload), created_by, now),
            )
            return int(cur.fetchone()[0])

        return QueuedCommand(self._write(job), pack_id, kind, payload, created_by, now)

    def pending_commands(self, pack_id: str, limit: int = 50) -> list[QueuedCommand]:
        rows = self._read(
            f"SELECT {self._COMMAND_COLS} FROM commands "
            "WHERE pack_id = ? AND done_at IS NULL ORDER BY id LIMIT ?",
            (pack_id, limit),
        )
        return [self._command(r) for r in rows]

    def finish_command(self, pack_id: str, command_id: int, ok: bool, result: str) -> bool:
        def job(cur: Cursor) -> bool:
            self._exec(
                cur,
                "UPDATE commands SET done_at = ?, ok = ?, result = ? "
                "WHERE id = ? AND pack_id = ? AND done_at IS NULL",
                (time.time(), int(ok), result, command_id, pack_id),
            )
            return int(cur.rowcount) > 0

        return self._write(job)

    def commands(self, pack_id: str, limit: int = 100) -> list[QueuedCommand]:
        rows = self._read(
            f"SELECT {self._COMMAND_COLS} FROM commands WHERE pack_id = ? ORDER BY id DESC LIMIT ?",
            (pack_id, limit),
        )
        return [self._command(r) for r in rows]
