"""PostgreSQL backend behind the same interface; samples go in with COPY (bulk) then one upsert."""

from __future__ import annotations

from typing import Any

from smartbms.server.storage.base import RetentionPolicy
from smartbms.server.storage.records import SAMPLE_COLUMNS
from smartbms.server.storage.sql import Cursor, SqlStorage


class PostgresStorage(SqlStorage):
    real = "DOUBLE PRECISION"
    id_column = "BIGSERIAL PRIMARY KEY"

    def __init__(self, dsn: str, retention: RetentionPolicy | None = None) -> None:
        self.dsn = dsn
        super().__init__(retention)

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(self.dsn, autocommit=True)

    def _sql(self, text: str) -> str:
        return text.replace("?", "%s")

    def _insert_sample_rows(self, cur: Cursor, rows: list[tuple[Any, ...]]) -> int:
        cols = ", ".join(("pack_id", "ts", *SAMPLE_COLUMNS, "data"))
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS samples_in (LIKE samples INCLUDING DEFAULTS) "
            "ON COMMIT DELETE ROWS"
        )
        with cur.copy(f"COPY samples_in ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(
            f"INSERT INTO samples ({cols}) SELECT {cols} FROM samples_in ON CONFLICT (pack_id, ts) DO NOTHING"
        )
        inserted = int(cur.rowcount)
        cur.execute("DELETE FROM samples_in")
        return inserted
