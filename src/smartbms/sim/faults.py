"""Faults to inject at a chosen simulated time.

Each fault is a small frozen record; the plant and the sensors ask "which faults are active now"
and change their behaviour. Cells are 1-based like everywhere the user sees them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smartbms.errors import SmartBmsError


class FaultError(SmartBmsError, ValueError):
    """A fault description is invalid."""


@dataclass(frozen=True)
class SoftShort:
    """A cell discharges itself through an internal resistance (dendrite, separator damage)."""

    cell: int
    resistance_ohm: float = 1.0
    at_s: float = 0.0
    pack: int = 0


@dataclass(frozen=True)
class OpenSenseWire:
    """The sense wire at the top of ``cell`` broke: that channel reads near 0 V, the next one the sum."""

    cell: int
    at_s: float = 0.0
    pack: int = 0


@dataclass(frozen=True)
class FailedTemperatureSensor:
    """An NTC that broke open (reads far below any real value), shorted (far above) or vanished (NaN)."""

    sensor: int
    mode: str = "open"
    at_s: float = 0.0
    pack: int = 0


@dataclass(frozen=True)
class DriftingCurrentOffset:
    """The current sensor's offset grows by ``rate_a_per_h`` from ``at_s`` on."""

    rate_a_per_h: float = 10.0
    at_s: float = 0.0
    pack: int = 0


@dataclass(frozen=True)
class WeldedContactor:
    """A path that no longer opens: "charge", "discharge" or "both"."""

    path: str = "both"
    at_s: float = 0.0
    pack: int = 0


@dataclass(frozen=True)
class ChargerIgnoresDisconnect:
    """The charger keeps charging after the BMS released its charge-disconnect output."""

    at_s: float = 0.0
    pack: int = 0


Fault = (
    SoftShort
    | OpenSenseWire
    | FailedTemperatureSensor
    | DriftingCurrentOffset
    | WeldedContactor
    | ChargerIgnoresDisconnect
)

FAULT_KINDS: dict[str, type[Any]] = {
    "soft_short": SoftShort,
    "open_sense_wire": OpenSenseWire,
    "failed_temperature_sensor": FailedTemperatureSensor,
    "drifting_current_offset": DriftingCurrentOffset,
    "welded_contactor": WeldedContactor,
    "charger_ignores_disconnect": ChargerIgnoresDisconnect,
}


def validate_fault(fault: Fault, cells_series: int, temperature_sensors: int) -> None:
    if isinstance(fault, SoftShort | OpenSenseWire) and not 1 <= fault.cell <= cells_series:
        raise FaultError(
            f"{type(fault).__name__}: cell must lie between 1 and {cells_series} (got {fault.cell})"
        )
    if isinstance(fault, SoftShort) and fault.resistance_ohm <= 0:
        raise FaultError(f"SoftShort: resistance_ohm must be > 0 (got {fault.resistance_ohm})")
    if isinstance(fault, FailedTemperatureSensor):
        if not 1 <= fault.sensor <= temperature_sensors:
            raise FaultError(
                f"FailedTemperatureSensor: sensor must lie between 1 and {temperature_sensors} "
                f"(got {fault.sensor})"
            )
        if fault.mode not in ("open", "short", "missing"):
            raise FaultError(
                f"FailedTemperatureSensor: mode must be open, short or missing (got {fault.mode!r})"
            )
    if isinstance(fault, WeldedContactor) and fault.path not in ("charge", "discharge", "both"):
        raise FaultError(f"WeldedContactor: path must be charge, discharge or both (got {fault.path!r})")


def fault_from_dict(data: dict[str, Any]) -> Fault:
    """``{"kind": "soft_short", "cell": 3, "at_s": 600}`` -> SoftShort(cell=3, at_s=600)."""
    data = dict(data)
    kind = data.pop("kind", None)
    cls = FAULT_KINDS.get(str(kind))
    if cls is None:
        raise FaultError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
    try:
        fault: Fault = cls(**data)
    except TypeError as exc:
        raise FaultError(f"fault {kind}: {exc}") from None
    return fault


def active(faults: tuple[Fault, ...], now_s: float, kind: type[Any], pack: int = 0) -> list[Any]:
    return [f for f in faults if isinstance(f, kind) and f.pack == pack and now_s >= f.at_s]
