"""The BMS operating states."""

from __future__ import annotations

from enum import StrEnum


class BmsState(StrEnum):
    INIT = "INIT"
    STANDBY = "STANDBY"
    NORMAL = "NORMAL"
    PROTECTION = "PROTECTION"
    FAULT = "FAULT"
    LOW_POWER = "LOW_POWER"
    SLEEP = "SLEEP"
