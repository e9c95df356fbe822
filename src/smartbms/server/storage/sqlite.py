"""SQLite backend: the default, one file in the data directory, WAL mode, group commits."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Literal

from smartbms.server.storage.base import RetentionPolicy
from smartbms.server.storage.sql import SqlStorage


class SQLiteStorage(SqlStorage):
    without_rowid = " WITHOUT ROWID"

    def __init__(
        self,
        path: Path,
        retention: RetentionPolicy | None = None,
        *,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # FULL fsyncs the WAL at every commit, so an acknowledged sample survives even a power cut;
        # NORMAL is enough to survive a killed process and is faster on slow disks.
        self.synchronous = synchronous
        super().__init__(retention)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn
