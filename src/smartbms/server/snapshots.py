"""Turn a controller Snapshot into the JSON telemetry the server stores and the uplink posts."""

from __future__ import annotations

import math
from enum import Enum
from typing import Any


def _clean(value: Any) -> Any:
    """NaN means 'not measured' in the core; JSON and the store want it absent (None)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, Enum):
        return value.value
    return value


def snapshot_sample(snapshot: Any) -> dict[str, Any]:
    """The telemetry dict of one Snapshot, completed from the actions, state and estimate."""
    telemetry = snapshot.telemetry
    if hasattr(telemetry, "with_power"):
        telemetry = telemetry.with_power()
    data: dict[str, Any] = dict(telemetry.to_dict()) if hasattr(telemetry, "to_dict") else dict(telemetry)
    actions = getattr(snapshot, "actions", None)
    estimate = getattr(snapshot, "estimate", None)
    if actions is not None:
        data.setdefault("charge_enabled", bool(actions.charge_enabled))
        data.setdefault("discharge_enabled", bool(actions.discharge_enabled))
        data.setdefault("balancing_cells", list(actions.balancing_cells))
        data.setdefault("alarms", list(actions.alarms))
    if estimate is not None:
        for name in ("soc_pct", "soh_pct", "remaining_ah", "capacity_ah"):
            value = getattr(estimate, name, None)
            if value is not None:
                data.setdefault(name, value)
    data["timestamp"] = float(data.get("timestamp") or snapshot.timestamp)
    state = getattr(snapshot, "state", None)
    if state is not None:
        data["bms_state"] = str(getattr(state, "value", state))
    mode = getattr(snapshot, "remote_mode", None)
    if mode is not None:
        data["remote_mode"] = str(getattr(mode, "value", mode))
    cleaned = {k: _clean(v) for k, v in data.items()}
    return {k: v for k, v in cleaned.items() if v is not None}


def event_dicts(snapshot: Any) -> list[dict[str, Any]]:
    return [
        {
            "timestamp": float(e.timestamp),
            "kind": str(getattr(e.kind, "value", e.kind)),
            "code": str(e.code),
            "message": str(e.message),
            "data": _clean(dict(e.data)),
        }
        for e in getattr(snapshot, "events", ()) or ()
    ]
