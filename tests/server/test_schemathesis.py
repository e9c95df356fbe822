"""Property-based requests from the OpenAPI document: no input may cause a server error."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.server.conftest import Server

schemathesis = pytest.importorskip("schemathesis")


@pytest.fixture
def api_schema(server: Server) -> Any:
    # The SSE stream never ends by design, so it is left out of generated calls.
    return schemathesis.openapi.from_asgi("/openapi.json", server.client.app).exclude(path="/api/live")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_input_causes_a_server_error(case: Any, server: Server) -> None:
    response = case.call(headers=server.bearer("admin"))
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
