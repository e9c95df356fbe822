"""Shared test helpers."""

from __future__ import annotations

import os
import socket

import pytest


def require_service(host: str, port: int, name: str) -> None:
    """Skip when a service is unreachable, or fail when SMARTBMS_REQUIRE_SERVICES=1 (CI)."""
    try:
        with socket.create_connection((host, port), timeout=2.0):
            return
    except OSError as exc:
        reason = f"{name} is not reachable at {host}:{port} ({exc})"
    if os.environ.get("SMARTBMS_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}; SMARTBMS_REQUIRE_SERVICES=1 requires it")
    pytest.skip(reason)


@pytest.fixture
def postgres_dsn() -> str:
    require_service("127.0.0.1", 5432, "PostgreSQL")
    return os.environ.get("SMARTBMS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def mqtt_broker() -> tuple[str, int]:
    require_service("127.0.0.1", 1883, "the MQTT broker")
    return "127.0.0.1", 1883
