"""The server inside ``smartbms run``: uvicorn in a background thread, fed by the controller.

The controller calls our publisher at every tick; samples go through a small queue so a slow
disk never stalls the control loop, and are stored (and pushed live) as pack ``local``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path
from typing import Any

from smartbms.errors import SmartBmsError
from smartbms.server.config import ServerConfig
from smartbms.server.context import ServerContext
from smartbms.server.control import ControllerLike, LocalPackControl
from smartbms.server.snapshots import event_dicts, snapshot_sample

log = logging.getLogger(__name__)
LOCAL_PACK_ID = "local"


class EmbeddedServer:
    def __init__(
        self,
        controller: ControllerLike,
        *,
        data_dir: Path,
        host: str = "127.0.0.1",
        port: int = 8080,
        settings_path: Path | None = None,
        config: ServerConfig | None = None,
        pack_id: str = LOCAL_PACK_ID,
    ) -> None:
        import uvicorn

        from smartbms.server.app import create_app

        self.pack_id = pack_id
        self.context = ServerContext(config or ServerConfig(data_dir=Path(data_dir)))
        self.admin_password = self.context.bootstrap_admin()
        self.context.storage.ensure_pack(pack_id, source="local")
        self.context.controls[pack_id] = LocalPackControl(controller, settings_path)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=100_000)
        self._feeder = threading.Thread(target=self._feed, name="embedded-server-feed", daemon=True)
        self._feeder.start()
        self.dropped = 0
        app = create_app(self.context)
        self._server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on")
        )
        self._thread = threading.Thread(target=self._server.run, name="embedded-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._stop_feeder()
                self.context.close()
                raise SmartBmsError(f"the dashboard server could not listen on {host}:{port}")
            time.sleep(0.02)
        bound_port = self._server.servers[0].sockets[0].getsockname()[1]
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.url = f"http://{shown_host}:{bound_port}/"
        controller.add_publisher(self.publish)

    def publish(self, snapshot: Any) -> None:
        """The controller's publisher: never blocks the control loop."""
        try:
            self._queue.put_nowait(snapshot)
        except queue.Full:
            self.dropped += 1

    def _feed(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < 1000:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._store(batch)
                    return
                batch.append(item)
            self._store(batch)

    def _store(self, snapshots: list[Any]) -> None:
        try:
            samples = [snapshot_sample(s) for s in snapshots]
            events = [e for s in snapshots for e in event_dicts(s)]
            self.context.ingest(self.pack_id, samples, events, source="local")
        except Exception as exc:  # keep feeding; a failed batch is logged, the next one retried
            log.error("storing the local pack's telemetry failed: %s", exc)

    def _stop_feeder(self) -> None:
        self._queue.put(None)
        self._feeder.join(timeout=30)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._stop_feeder()
        self.context.close()


def start_embedded_server(
    controller: ControllerLike,
    *,
    data_dir: Path,
    host: str = "127.0.0.1",
    port: int = 8080,
    settings_path: Path | None = None,
) -> EmbeddedServer:
    """Serve the dashboard for ``controller``'s pack (id ``local``); ``.url`` to show, ``.stop()`` at exit."""
    return EmbeddedServer(controller, data_dir=data_dir, host=host, port=port, settings_path=settings_path)
