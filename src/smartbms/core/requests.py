"""Requests callers make of the core. Callers request; only the core changes its state."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RemoteMode(StrEnum):
    """Remote on/off, in the three modes commercial BMSes offer (e.g. Victron Lynx Smart BMS)."""

    ON = "on"
    # Charge sources and the system (load) port off; the BMS keeps monitoring.
    OFF_CHARGE_AND_SYSTEM = "off-charge-and-system"
    # Only the charge sources off; loads keep running.
    OFF_CHARGE_ONLY = "off-charge-only"
    # Everything off: paths open and the BMS goes to sleep until switched on again.
    OFF_ALL = "off-all"


class WakeSource(StrEnum):
    CHARGER = "charger"
    COMMUNICATION = "communication"
    TIMER = "timer"
    BUTTON = "button"


@dataclass(frozen=True, slots=True)
class ResetFault:
    """Leave FAULT; honoured only once the fault's condition is gone."""


@dataclass(frozen=True, slots=True)
class Wake:
    source: WakeSource = WakeSource.BUTTON


@dataclass(frozen=True, slots=True)
class Sleep:
    """Go to SLEEP now (e.g. storage), with both paths open."""


@dataclass(frozen=True, slots=True)
class SetRemoteMode:
    mode: RemoteMode


class Path(StrEnum):
    CHARGE = "charge"
    DISCHARGE = "discharge"


@dataclass(frozen=True, slots=True)
class SetPath:
    """Switch one path on or off by hand, like the FET switches of commercial BMS apps.

    Switching on only removes the user's veto: protection and remote mode still decide.
    """

    path: Path
    enabled: bool


Request = ResetFault | Wake | Sleep | SetRemoteMode | SetPath
