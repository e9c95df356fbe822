"""Send this instance's telemetry to a standalone ``smartbms serve`` over HTTP.

``HttpUplink(url, device_token)`` is a controller publisher: each Snapshot becomes a sample in
a buffer (a SQLite file when ``buffer_path`` is given, so even a restart of this process loses
nothing; memory otherwise), and a background thread posts batches to ``{url}/api/ingest``.
A sample leaves the buffer only once the server acknowledged it; while the server is down
the thread backs off and retries. The server drops duplicates, so a retried batch is harmless.

Given the ``controller`` (and its ``settings_path``), the uplink also reports the pack's
settings and carries out the commands and settings changes the server queued for the pack
(they arrive in the answers to its posts), acknowledging each in its next post.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from smartbms.server.snapshots import event_dicts, snapshot_sample

log = logging.getLogger(__name__)


class _MemoryBuffer:
    def __init__(self, limit: int) -> None:
        self._items: deque[tuple[int, dict[str, Any]]] = deque()
        self._next = 0
        self.limit = limit
        self.dropped = 0

    def add(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            self._items.append((self._next, item))
            self._next += 1
        while len(self._items) > self.limit:
            self._items.popleft()
            self.dropped += 1

    def peek(self, n: int) -> list[tuple[int, dict[str, Any]]]:
        return [self._items[i] for i in range(min(n, len(self._items)))]

    def remove_upto(self, last_id: int) -> None:
        while self._items and self._items[0][0] <= last_id:
            self._items.popleft()

    def __len__(self) -> int:
        return len(self._items)

    def close(self) -> None:
        pass


class _FileBuffer:
    """Pending samples in a small SQLite file next to the data (WAL, one row per sample)."""

    def __init__(self, path: Path, limit: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS pending (id INTEGER PRIMARY KEY AUTOINCREMENT, item TEXT)"
        )
        self.limit = limit
        self.dropped = 0

    def add(self, items: list[dict[str, Any]]) -> None:
        self._db.execute("BEGIN")
        self._db.executemany("INSERT INTO pending (item) VALUES (?)", [(json.dumps(i),) for i in items])
        excess = len(self) - self.limit
        if excess > 0:
            self._db.execute(
                "DELETE FROM pending WHERE id IN (SELECT id FROM pending ORDER BY id LIMIT ?)", (excess,)
            )
            self.dropped += excess
        self._db.execute("COMMIT")

    def peek(self, n: int) -> list[tuple[int, dict[str, Any]]]:
        rows = self._db.execute("SELECT id, item FROM pending ORDER BY id LIMIT ?", (n,)).fetchall()
        return [(int(r[0]), json.loads(r[1])) for r in rows]

    def remove_upto(self, last_id: int) -> None:
        self._db.execute("DELETE FROM pending WHERE id <= ?", (last_id,))

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM pending").fetchone()[0])

    def close(self) -> None:
        self._db.close()


class HttpUplink:
    def __init__(
        self,
        url: str,
        device_token: str,
        *,
        buffer_path: Path | None = None,
        batch_size: int = 500,
        flush_interval_s: float = 1.0,
        max_buffered: int = 2_000_000,
        timeout_s: float = 10.0,
        controller: Any = None,
        settings_path: Path | None = None,
        settings_every_s: float = 300.0,
    ) -> None:
        self.endpoint = url.rstrip("/") + "/api/ingest"
        self._headers = {"Authorization": f"Bearer {device_token}"}
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.timeout_s = timeout_s
        self._buffer: _MemoryBuffer | _FileBuffer = (
            _FileBuffer(Path(buffer_path), max_buffered) if buffer_path else _MemoryBuffer(max_buffered)
        )
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.sent = 0
        self.rejected = 0
        self.failures = 0
        self.last_error: str | None = None
        self.controller = controller
        self._control: Any = None
        if controller is not None:
            from smartbms.server.control import LocalPackControl

            self._control = LocalPackControl(controller, settings_path)
        self.settings_every_s = settings_every_s
        self._settings_sent: tuple[float, str] | None = None
        self._acks: dict[int, dict[str, Any]] = {}  # command id -> ack not yet delivered
        self._done: set[int] = set()  # commands carried out (the server may re-send one before its ack)
        self.commands_done = 0
        self._thread = threading.Thread(target=self._run, name="http-uplink", daemon=True)
        self._thread.start()

    def __call__(self, snapshot: Any) -> None:
        sample = snapshot_sample(snapshot)
        self.add({"sample": sample, "events": event_dicts(snapshot)})

    def add(self, item: dict[str, Any]) -> None:
        """Queue one {"sample": ..., "events": [...]} item (for sources that have no Snapshot)."""
        with self._lock:
            self._buffer.add([item])
            full = len(self._buffer) >= self.batch_size
        if full:
            self._wake.set()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._buffer)

    def _run(self) -> None:
        import httpx

        backoff = 0.5
        with httpx.Client(timeout=self.timeout_s) as client:
            while True:
                self._wake.wait(self.flush_interval_s)
                self._wake.clear()
                while True:
                    with self._lock:
                        batch = self._buffer.peek(self.batch_size)
                    if not batch and not self._acks and not self._settings_due():
                        break
                    if not self._post(client, batch):
                        self._stop.wait(backoff)
                        backoff = min(backoff * 2, 30.0)
                        break
                    backoff = 0.5
                if self._stop.is_set():
                    return

    def _settings_due(self) -> bool:
        if self._control is None:
            return False
        text = json.dumps(self._control.settings().model_dump(mode="json"), sort_keys=True)
        return (
            self._settings_sent is None
            or self._settings_sent[1] != text
            or time.monotonic() - self._settings_sent[0] > self.settings_every_s
        )

    def _run_commands(self, commands: list[dict[str, Any]]) -> None:
        from smartbms.server.control import execute_command

        for command in commands:
            command_id = int(command["id"])
            if command_id in self._done:
                continue
            try:
                result = execute_command(
                    self._control, str(command["kind"]), dict(command.get("payload") or {})
                )
                ack = {"id": command_id, "ok": True, "result": result}
            except Exception as exc:  # refused (bad settings, not allowed now): tell the server why
                ack = {"id": command_id, "ok": False, "result": str(exc)[:2000]}
            self._done.add(command_id)
            self._acks[command_id] = ack
            self.commands_done += 1

    def _post(self, client: Any, batch: list[tuple[int, dict[str, Any]]]) -> bool:
        body: dict[str, Any] = {
            "samples": [item["sample"] for _, item in batch],
            "events": [e for _, item in batch for e in item.get("events", ())],
        }
        acks = list(self._acks.values())
        settings_text = None
        if self._control is not None:
            body["acks"] = acks
            if self._settings_due():
                settings = self._control.settings().model_dump(mode="json")
                settings_text = json.dumps(settings, sort_keys=True)
                body["settings"] = settings
        try:
            response = client.post(self.endpoint, json=body, headers=self._headers)
        except Exception as exc:  # server down or network gone: keep the batch, retry later
            self.failures += 1
            self.last_error = type(exc).__name__
            return False
        if response.status_code == 200:
            result = response.json()
            self.sent += int(result.get("stored", 0)) + int(result.get("duplicates", 0))
            self.rejected += len(result.get("rejected", []))
            for ack in acks:
                self._acks.pop(ack["id"], None)
            if settings_text is not None:
                self._settings_sent = (time.monotonic(), settings_text)
            if self._control is not None and result.get("commands"):
                self._run_commands(result["commands"])
        elif response.status_code == 422:
            # The server refused the batch's shape: retrying cannot help, so count it and move on.
            self.rejected += len(batch)
            log.error("uplink: the server refused a batch of %d samples: %s", len(batch), response.text[:200])
        else:
            self.failures += 1
            self.last_error = f"HTTP {response.status_code}"
            if response.status_code in (401, 403):
                log.error("uplink: the server refuses the device token (HTTP %d)", response.status_code)
            return False
        if batch:
            with self._lock:
                self._buffer.remove_upto(batch[-1][0])
        return True

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until everything buffered was acknowledged; False if the server stayed unreachable."""
        deadline = time.monotonic() + timeout_s
        while self.pending and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.05)
        return not self.pending

    def close(self, timeout_s: float = 5.0) -> None:
        self.flush(timeout_s)
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=timeout_s + 5)
        with self._lock:
            self._buffer.close()
