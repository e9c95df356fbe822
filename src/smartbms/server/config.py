"""The server's own configuration (not the BMS settings): where data lives and how it is kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from smartbms.server.notifiers import SmtpConfig
from smartbms.server.storage.base import RetentionPolicy


@dataclass(frozen=True)
class ServerConfig:
    data_dir: Path
    # None = SQLite file in data_dir; "postgresql://..." = PostgreSQL.
    database: str | None = None
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    # A pack not heard from for this long is flagged on the overview and raises a no-data alert.
    no_data_after_s: float = 60.0
    rollup_interval_s: float = 10.0
    retention_interval_s: float = 3600.0
    session_ttl_s: float = 7 * 86_400.0
    # Set when served over HTTPS so the session cookie is never sent in clear.
    secure_cookies: bool = False
    login_max_failures: int = 5
    login_window_s: float = 60.0
    # Cheaper Argon2 parameters, for test suites that create many users.
    fast_password_hashing: bool = False
