"""Everything one server instance holds: storage, live hub, alerts, accounts, pack controls.

The routes reach it through :func:`smartbms.server.deps.get_context`; the embedded server
and the HTTP ingest both store telemetry through :meth:`ServerContext.ingest`.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from smartbms.server.alerts import AlertEngine
from smartbms.server.config import ServerConfig
from smartbms.server.control import LocalPackControl
from smartbms.server.live import LiveHub
from smartbms.server.notifiers import Notifier
from smartbms.server.security import LoginRateLimiter, PasswordHasher, Role
from smartbms.server.storage import Storage, open_storage
from smartbms.server.storage.base import IngestResult

log = logging.getLogger(__name__)

ADMIN_PASSWORD_ENV = "SMARTBMS_ADMIN_PASSWORD"


@dataclass
class IngestStats:
    samples_stored: int = 0
    samples_duplicate: int = 0
    samples_rejected: int = 0
    posts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def with_power(sample: dict[str, Any]) -> dict[str, Any]:
    """Fill ``power_w`` from voltage × current when the source did not report it."""
    if sample.get("power_w") is None:
        voltage, current = sample.get("voltage_v"), sample.get("current_a")
        if isinstance(voltage, int | float) and isinstance(current, int | float):
            return {**sample, "power_w": float(voltage) * float(current)}
    return sample


class ServerContext:
    def __init__(self, config: ServerConfig, storage: Storage | None = None) -> None:
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.storage = storage or open_storage(config.database, config.data_dir, config.retention)
        self.hub = LiveHub()
        self.hasher = PasswordHasher(fast_for_tests=config.fast_password_hashing)
        self.limiter = LoginRateLimiter(config.login_max_failures, config.login_window_s)
        self.notifier = Notifier(self.storage, config.smtp)
        self.alerts = AlertEngine(
            self.storage,
            self.notifier,
            no_data_after_s=config.no_data_after_s,
            on_change=lambda pack_id: self.hub.publish(pack_id, "alerts", {}),
        )
        self.controls: dict[str, LocalPackControl] = {}
        self.stats = IngestStats()
        self._latest: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._maintenance: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start_maintenance(self) -> None:
        if self._maintenance is None:
            self._maintenance = threading.Thread(
                target=self._maintain, name="server-maintenance", daemon=True
            )
            self._maintenance.start()

    def _maintain(self) -> None:
        next_retention = 0.0
        while not self._stop.wait(self.config.rollup_interval_s):
            try:
                self.storage.update_rollups()
                self.alerts.check_no_data()
                if time.monotonic() >= next_retention:
                    self.storage.apply_retention(time.time())
                    next_retention = time.monotonic() + self.config.retention_interval_s
            except Exception as exc:  # keep maintaining; the next round retries
                log.error("server maintenance failed: %s", exc)

    def close(self) -> None:
        self._stop.set()
        if self._maintenance is not None:
            self._maintenance.join(timeout=30)
        self.notifier.close()
        self.storage.close()

    def bootstrap_admin(self, out: TextIO | None = None) -> str | None:
        """Create the first admin; returns the one-time password when one was generated (and printed)."""
        if self.storage.list_users():
            return None
        given = os.environ.get(ADMIN_PASSWORD_ENV)
        password = given or secrets.token_urlsafe(12)
        self.storage.create_user("admin", self.hasher.hash(password), Role.ADMIN, must_change=not given)
        self.storage.add_audit("system", "user.create", "user:admin", None, {"role": "admin"})
        if given:
            return None
        # Printed once to the console on purpose (never logged): the operator's only way in.
        print(
            f"smartbms server: created user 'admin' with one-time password: {password}\n"
            "  (change it at first login; set SMARTBMS_ADMIN_PASSWORD to choose it instead)",
            file=out or sys.stderr,
            flush=True,
        )
        return password

    # -- telemetry ------------------------------------------------------------------------
    def ingest(
        self,
        pack_id: str,
        samples: Sequence[dict[str, Any]],
        events: Sequence[dict[str, Any]] = (),
        *,
        source: str = "remote",
    ) -> IngestResult:
        """Store samples durably, then evaluate alerts and push the newest sample to browsers."""
        samples = [with_power(s) for s in samples]
        if pack_id not in self._latest and self.storage.get_pack(pack_id) is None:
            self.storage.ensure_pack(pack_id, source=source)
        result = self.storage.add_samples(pack_id, samples)
        if events:
            self.storage.add_events(pack_id, events)
        with self.stats.lock:
            self.stats.posts += 1
            self.stats.samples_stored += result.stored
            self.stats.samples_duplicate += result.duplicates
        if samples:
            newest = max(samples, key=lambda s: float(s["timestamp"]))
            current = self._latest.get(pack_id)
            if current is None or float(newest["timestamp"]) >= float(current["timestamp"]):
                self._latest[pack_id] = newest
                self.hub.publish(pack_id, "sample", {"sample": newest})
            self.alerts.on_samples(pack_id, samples)
        if events:
            self.hub.publish(pack_id, "events", {"count": len(events)})
        return result

    def latest(self, pack_id: str) -> dict[str, Any] | None:
        cached = self._latest.get(pack_id)
        if cached is not None:
            return cached
        sample = self.storage.latest_sample(pack_id)
        if sample is not None:
            self._latest[pack_id] = sample
        return sample

    def count_rejected(self, n: int) -> None:
        with self.stats.lock:
            self.stats.samples_rejected += n
