"""Live updates: a tiny publish/subscribe hub feeding the browsers' Server-Sent Events streams.

Publishers may be any thread (the ingest workers, the controller's loop); subscribers are
asyncio queues on the server's event loop. A slow browser only loses its own oldest messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from typing import Any


class LiveHub:
    def __init__(self, queue_size: int = 256) -> None:
        self.queue_size = queue_size
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribers: set[tuple[asyncio.Queue[str], str | None]] = set()
        self._lock = threading.Lock()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def subscribe(self, pack_id: str | None) -> asyncio.Queue[str]:
        q: asyncio.Queue[str] = asyncio.Queue(self.queue_size)
        with self._lock:
            self._subscribers.add((q, pack_id))
        return q

    def unsubscribe(self, q: asyncio.Queue[str]) -> None:
        with self._lock:
            self._subscribers = {s for s in self._subscribers if s[0] is not q}

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(self, pack_id: str, kind: str, payload: dict[str, Any]) -> None:
        """Send ``payload`` as an SSE event of type ``kind`` to everyone watching ``pack_id``."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with self._lock:
            targets = [q for q, wanted in self._subscribers if wanted is None or wanted == pack_id]
        if not targets:
            return
        message = f"event: {kind}\ndata: {json.dumps({'pack_id': pack_id, **payload}, default=str)}\n\n"

        def deliver() -> None:
            for q in targets:
                if q.full():
                    q.get_nowait()
                q.put_nowait(message)

        with contextlib.suppress(RuntimeError):  # the loop closed while we were publishing
            loop.call_soon_threadsafe(deliver)
