"""History and account storage behind one interface (:class:`Storage`): SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from smartbms.server.storage.base import IngestResult, RetentionPolicy, Storage


def open_storage(database: str | None, data_dir: Path, retention: RetentionPolicy | None = None) -> Storage:
    """``postgresql://...`` opens PostgreSQL; anything else (or nothing) a SQLite file in ``data_dir``."""
    if database and database.startswith(("postgresql://", "postgres://")):
        from smartbms.server.storage.postgres import PostgresStorage

        return PostgresStorage(database, retention)
    from smartbms.server.storage.sqlite import SQLiteStorage

    path = Path(database) if database else Path(data_dir) / "smartbms-server.sqlite3"
    return SQLiteStorage(path, retention)


__all__ = ["IngestResult", "RetentionPolicy", "Storage", "open_storage"]
