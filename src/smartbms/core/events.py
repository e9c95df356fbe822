"""Events: every trip, release, state change, request and setting change, as data."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EventKind(StrEnum):
    TRIP = "trip"
    RELEASE = "release"
    STATE = "state"
    REQUEST = "request"
    SETTING = "setting"
    SENSOR = "sensor"


@dataclass(frozen=True, slots=True)
class Event:
    timestamp: float
    kind: EventKind
    code: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)
