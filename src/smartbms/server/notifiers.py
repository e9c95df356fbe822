"""Deliver alert notifications by webhook (JSON POST) and e-mail (SMTP), off the ingest path."""

from __future__ import annotations

import logging
import queue
import smtplib
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from smartbms.server.storage.base import Storage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "smartbms@localhost"
    starttls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Notification:
    pack_id: str
    key: str
    title: str
    state: str  # "alert" or "recovered"
    timestamp: float
    detail: str

    def subject(self) -> str:
        word = "ALERT" if self.state == "alert" else "RECOVERED"
        return f"[smartbms] {word} {self.pack_id}: {self.title}"

    def as_json(self) -> dict[str, Any]:
        return {
            "pack_id": self.pack_id,
            "key": self.key,
            "title": self.title,
            "state": self.state,
            "timestamp": self.timestamp,
            "detail": self.detail,
        }


class Notifier:
    """A background thread sending each notification to every enabled channel, with retries."""

    def __init__(self, storage: Storage, smtp: SmtpConfig | None = None, *, attempts: int = 3) -> None:
        self.storage = storage
        self.smtp = smtp or SmtpConfig()
        self.attempts = attempts
        self.sent = 0
        self.failed = 0
        self._queue: queue.Queue[Notification | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="alert-notifier", daemon=True)
        self._thread.start()

    def notify(self, notification: Notification) -> None:
        self._queue.put(notification)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything queued so far was handled (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                for channel in self.storage.list_channels():
                    if channel.enabled:
                        self._deliver(channel.kind, channel.target, item)
            except Exception as exc:  # never let one bad channel stop the notifier
                log.error("alert notification failed: %s", exc)
            finally:
                self._queue.task_done()

    def _deliver(self, kind: str, target: str, item: Notification) -> None:
        for attempt in range(self.attempts):
            try:
                if kind == "webhook":
                    self._post(target, item)
                else:
                    self._mail(target, item)
                self.sent += 1
                return
            except Exception as exc:
                log.warning(
                    "%s notification to channel failed (attempt %d): %s",
                    kind,
                    attempt + 1,
                    type(exc).__name__,
                )
                time.sleep(0.2 * (attempt + 1))
        self.failed += 1

    @staticmethod
    def _post(url: str, item: Notification) -> None:
        import httpx

        response = httpx.post(url, json=item.as_json(), timeout=5.0)
        response.raise_for_status()

    def _mail(self, to: str, item: Notification) -> None:
        msg = EmailMessage()
        msg["Subject"] = item.subject()
        msg["From"] = self.smtp.sender
        msg["To"] = to
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(item.timestamp))
        msg.set_content(f"{item.subject()}\n\nAt {when}: {item.detail}\n")
        with smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=10) as smtp:
            if self.smtp.starttls:
                smtp.starttls()
            if self.smtp.username and self.smtp.password:
                smtp.login(self.smtp.username, self.smtp.password)
            smtp.send_message(msg)
