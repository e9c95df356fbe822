"""Password hashing, token hashing and the login rate limiter."""

from __future__ import annotations

from smartbms.server.security import LoginRateLimiter, PasswordHasher, Role, new_secret, secret_hash


def test_passwords_are_argon2id_and_verify() -> None:
    hasher = PasswordHasher(fast_for_tests=True)
    stored = hasher.hash("correct horse")
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert hasher.verify(stored, "correct horse")
    assert not hasher.verify(stored, "wrong")
    assert not hasher.verify("not-a-hash", "correct horse")


def test_token_secrets_are_random_and_stored_hashed() -> None:
    a, b = new_secret("sbmsd"), new_secret("sbmsd")
    assert a != b and a.startswith("sbmsd_") and len(a) > 40
    assert secret_hash(a) != a and len(secret_hash(a)) == 64


def test_limiter_blocks_after_max_failures_until_the_window_passes() -> None:
    limiter = LoginRateLimiter(max_failures=3, window_s=60.0)
    keys = ["ip:1.2.3.4", "user:admin"]
    for t in (0.0, 1.0, 2.0):
        assert limiter.retry_after(keys, now=t) == 0
        limiter.failed(keys, now=t)
    assert limiter.retry_after(keys, now=3.0) == 57.0
    assert limiter.retry_after(["user:admin"], now=3.0) == 57.0  # another address, same user: still blocked
    assert limiter.retry_after(keys, now=61.0) == 0


def test_limiter_forgets_quiet_keys() -> None:
    limiter = LoginRateLimiter(max_failures=3, window_s=10.0)
    for n in range(10_001):
        limiter.failed([f"user:{n}"], now=0.0)
    limiter.failed(["user:new"], now=100.0)
    assert len(limiter._failures) <= 2


def test_roles_are_ordered() -> None:
    assert Role.ADMIN.allows(Role.OPERATOR) and Role.OPERATOR.allows(Role.VIEWER)
    assert not Role.VIEWER.allows(Role.OPERATOR)
