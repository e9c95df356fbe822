"""Passwords, tokens, roles and the login rate limit. Secrets are only ever stored hashed."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"  # reads everything
    OPERATOR = "operator"  # plus commands (on/off, fault reset, set SOC)
    ADMIN = "admin"  # plus settings, users, tokens, alert rules

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANKS = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


class PasswordHasher:
    """Argon2id (argon2-cffi's defaults follow RFC 9106's recommended parameters)."""

    def __init__(self, *, fast_for_tests: bool = False) -> None:
        from argon2 import PasswordHasher as Argon2Hasher

        self._hasher = Argon2Hasher(time_cost=1, memory_cost=8192) if fast_for_tests else Argon2Hasher()

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return bool(self._hasher.verify(stored_hash, password))
        except (VerificationError, InvalidHashError):
            return False


def new_secret(prefix: str) -> str:
    """A random bearer secret; the prefix tells a leaked one's kind at a glance (and to scanners)."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def secret_hash(secret: str) -> str:
    """Tokens are high-entropy, so a plain SHA-256 is enough to keep the database from holding them."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


class LoginRateLimiter:
    """At most ``max_failures`` failed logins per client and per username within ``window_s``."""

    def __init__(self, max_failures: int = 5, window_s: float = 60.0) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        stamps = self._failures.setdefault(key, deque())
        while stamps and stamps[0] <= now - self.window_s:
            stamps.popleft()
        if len(self._failures) > 10_000:  # forget quiet keys so guessing many names cannot grow memory
            for quiet in [k for k, v in self._failures.items() if not v or v[-1] <= now - self.window_s]:
                del self._failures[quiet]
            stamps = self._failures.setdefault(key, stamps)
        return stamps

    def retry_after(self, keys: list[str], now: float | None = None) -> float:
        """Seconds until a login for these keys may be tried again (0 = now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            waits = [
                stamps[0] + self.window_s - now
                for stamps in (self._recent(k, now) for k in keys)
                if len(stamps) >= self.max_failures
            ]
        return max(waits, default=0.0)

    def failed(self, keys: list[str], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
