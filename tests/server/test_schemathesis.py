"""Property-based requests from the OpenAPI document: no input may cause a server error."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from tests.server.conftest import ADMIN_PASSWORD, build_context

from smartbms.server.app import create_app

schemathesis = pytest.importorskip("schemathesis")

# The schema is read when the module loads, so the app under test is built here once.
_DATA_DIR = Path(tempfile.mkdtemp(prefix="smartbms-schemathesis-"))
os.environ.setdefault("SMARTBMS_ADMIN_PASSWORD", ADMIN_PASSWORD)
_CTX, _CONTROLLER, _TOKENS = build_context(_DATA_DIR)
_CONTROLLER.tick(1_790_000_000.0)
_APP = create_app(_CTX)
# The SSE stream never ends by design, so it is left out of generated calls.
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP).exclude(path="/api/live")


@pytest.fixture(scope="module", autouse=True)
def _close_context() -> Iterator[None]:
    yield
    _CTX.close()
    shutil.rmtree(_DATA_DIR, ignore_errors=True)


@schema.parametrize()  # type: ignore[untyped-decorator]
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_input_causes_a_server_error(case: Any) -> None:
    response = case.call(headers={"Authorization": f"Bearer {_TOKENS['admin']}"})
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
    )
