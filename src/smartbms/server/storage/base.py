"""The one storage interface every backend implements; callers never see SQL."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from smartbms.server.storage.records import (
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
)

Resolution = Literal["raw", "1m", "1h"]


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long each resolution is kept (None = forever)."""

    raw_days: float | None = 30.0
    minute_days: float | None = 400.0
    hour_days: float | None = None


@dataclass(frozen=True, slots=True)
class IngestResult:
    stored: int
    duplicates: int


class Storage(ABC):
    """History, events, accounts, audit and alert state of one server.

    Every write returns only once it is durable: a caller that was told a sample is stored
    may rely on it surviving a crash of the process.
    """

    retention: RetentionPolicy

    @abstractmethod
    def close(self) -> None: ...

    # -- packs and samples ------------------------------------------------------------
    @abstractmethod
    def ensure_pack(self, pack_id: str, *, source: str, name: str | None = None) -> PackRecord: ...

    @abstractmethod
    def get_pack(self, pack_id: str) -> PackRecord | None: ...

    @abstractmethod
    def list_packs(self) -> list[PackRecord]: ...

    @abstractmethod
    def add_samples(self, pack_id: str, samples: Sequence[dict[str, Any]]) -> IngestResult:
        """Store telemetry dicts (each with a ``timestamp``); a repeated timestamp is a duplicate."""

    @abstractmethod
    def latest_sample(self, pack_id: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def history(
        self, pack_id: str, start: float, end: float, resolution: Resolution, limit: int = 20_000
    ) -> list[dict[str, Any]]:
        """Points ordered by time; raw points carry the full telemetry under ``sample``."""

    @abstractmethod
    def count_samples(self, pack_id: str | None = None) -> int: ...

    @abstractmethod
    def update_rollups(self) -> int:
        """Recompute the 1-minute and 1-hour rollups touched by new samples; returns minutes redone."""

    @abstractmethod
    def apply_retention(self, now: float) -> int:
        """Delete what the retention policy no longer keeps; returns rows deleted."""

    # -- events ----------------------------------------------------------------------
    @abstractmethod
    def add_events(self, pack_id: str, events: Sequence[dict[str, Any]]) -> int: ...

    @abstractmethod
    def events(
        self,
        pack_id: str | None,
        *,
        since: float | None = None,
        until: float | None = None,
        kinds: Sequence[str] | None = None,
        limit: int = 500,
    ) -> list[StoredEvent]: ...

    # -- users, sessions, tokens -------------------------------------------------------
    @abstractmethod
    def create_user(
        self, username: str, password_hash: str, role: str, *, must_change: bool = False
    ) -> User: ...

    @abstractmethod
    def get_user(self, *, user_id: int | None = None, username: str | None = None) -> User | None: ...

    @abstractmethod
    def list_users(self) -> list[User]: ...

    @abstractmethod
    def update_user(
        self,
        user_id: int,
        *,
        role: str | None = None,
        password_hash: str | None = None,
        must_change: bool | None = None,
    ) -> None: ...

    @abstractmethod
    def delete_user(self, user_id: int) -> None: ...

    @abstractmethod
    def create_session(self, token_hash: str, user_id: int, csrf_token: str, expires_at: float) -> None: ...

    @abstractmethod
    def get_session(self, token_hash: str) -> Session | None: ...

    @abstractmethod
    def delete_session(self, token_hash: str) -> None: ...

    @abstractmethod
    def delete_user_sessions(self, user_id: int) -> None: ...

    @abstractmethod
    def create_token(
        self, token_hash: str, *, name: str, kind: str, role: str, pack_id: str | None, created_by: str
    ) -> ApiToken: ...

    @abstractmethod
    def find_token(self, token_hash: str) -> ApiToken | None: ...

    @abstractmethod
    def list_tokens(self) -> list[ApiToken]: ...

    @abstractmethod
    def delete_token(self, token_id: int) -> bool: ...

    # -- audit -----------------------------------------------------------------------
    @abstractmethod
    def add_audit(
        self, actor: str, action: str, target: str, old_value: Any, new_value: Any
    ) -> AuditEntry: ...

    @abstractmethod
    def audit_log(self, *, target_prefix: str | None = None, limit: int = 200) -> list[AuditEntry]: ...

    # -- remote packs: reported settings and queued commands ------------------------------
    @abstractmethod
    def save_reported_settings(self, pack_id: str, settings: dict[str, Any]) -> None: ...

    @abstractmethod
    def reported_settings(self, pack_id: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def queue_command(
        self, pack_id: str, kind: str, payload: dict[str, Any], created_by: str
    ) -> QueuedCommand: ...

    @abstractmethod
    def pending_commands(self, pack_id: str, limit: int = 50) -> list[QueuedCommand]:
        """Commands not yet acknowledged, oldest first (re-sent until the pack acknowledges them)."""

    @abstractmethod
    def finish_command(self, pack_id: str, command_id: int, ok: bool, result: str) -> bool: ...

    @abstractmethod
    def commands(self, pack_id: str, limit: int = 100) -> list[QueuedCommand]: ...

    # -- alerts ----------------------------------------------------------------------
    @abstractmethod
    def create_rule(self, rule: AlertRule) -> AlertRule: ...

    @abstractmethod
    def list_rules(self) -> list[AlertRule]: ...

    @abstractmethod
    def delete_rule(self, rule_id: int) -> bool: ...

    @abstractmethod
    def create_channel(self, kind: str, target: str) -> Channel: ...

    @abstractmethod
    def list_channels(self) -> list[Channel]: ...

    @abstractmethod
    def delete_channel(self, channel_id: int) -> bool: ...

    @abstractmethod
    def open_episode(self, pack_id: str, key: str, title: str, started_at: float, detail: str) -> Episode: ...

    @abstractmethod
    def close_episode(self, episode_id: int, cleared_at: float) -> None: ...

    @abstractmethod
    def episodes(
        self, *, pack_id: str | None = None, open_only: bool = False, limit: int = 200
    ) -> list[Episode]: ...
