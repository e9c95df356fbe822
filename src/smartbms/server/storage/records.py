"""Plain records the storage interface hands out; no database types leak to callers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# Columns kept next to the raw JSON of each sample: the ones history charts and rollups need.
SAMPLE_COLUMNS: tuple[str, ...] = (
    "voltage_v",
    "current_a",
    "power_w",
    "soc_pct",
    "cell_min_v",
    "cell_max_v",
    "cell_spread_v",
    "temp_min_c",
    "temp_max_c",
)


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    role: str
    password_hash: str
    must_change_password: bool
    created_at: float


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    name: str
    kind: str  # "api" (scripts, acts with a role) or "device" (may only post its own pack)
    role: str
    pack_id: str | None
    created_by: str
    created_at: float
    last_used_at: float | None = None


@dataclass(frozen=True, slots=True)
class Session:
    user_id: int
    csrf_token: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    timestamp: float
    actor: str
    action: str
    target: str
    old_value: Any
    new_value: Any


@dataclass(frozen=True, slots=True)
class PackRecord:
    pack_id: str
    name: str
    source: str  # "local" (a controller in this process) or "remote" (posts over HTTP)
    created_at: float
    last_seen: float | None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    pack_id: str
    timestamp: float
    kind: str
    code: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AlertRule:
    id: int
    name: str
    pack_id: str | None  # None = every pack
    field: str
    op: str  # "above" or "below"
    trip: float
    clear: float
    duration_s: float
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Channel:
    id: int
    kind: str  # "webhook" or "email"
    target: str
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class QueuedCommand:
    """A command for a pack that only posts telemetry, delivered in the answers to its posts."""

    id: int
    pack_id: str
    kind: str
    payload: dict[str, Any]
    created_by: str
    created_at: float
    done_at: float | None = None
    ok: bool | None = None
    result: str | None = None


@dataclass(frozen=True, slots=True)
class Episode:
    id: int
    pack_id: str
    key: str
    title: str
    started_at: float
    cleared_at: float | None
    detail: str


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def sample_columns(sample: dict[str, Any]) -> dict[str, float | None]:
    """The derived columns of one telemetry dict (cell min/max/spread, temperature range, power)."""
    cells = [v for v in (_finite(c) for c in sample.get("cell_voltages_v") or ()) if v is not None]
    temps = [v for v in (_finite(t) for t in sample.get("temperatures_c") or ()) if v is not None]
    voltage = _finite(sample.get("voltage_v"))
    current = _finite(sample.get("current_a"))
    power = _finite(sample.get("power_w"))
    if power is None and voltage is not None and current is not None:
        power = voltage * current
    return {
        "voltage_v": voltage,
        "current_a": current,
        "power_w": power,
        "soc_pct": _finite(sample.get("soc_pct")),
        "cell_min_v": min(cells) if cells else None,
        "cell_max_v": max(cells) if cells else None,
        "cell_spread_v": (max(cells) - min(cells)) if cells else None,
        "temp_min_c": min(temps) if temps else None,
        "temp_max_c": max(temps) if temps else None,
    }
