"""What a source delivers to the core: raw readings with a header, before validation.

A missing value is NaN (or an absent optional). The core never trusts a measurement as it
comes: :mod:`smartbms.core.validation` decides which values are valid first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from smartbms.telemetry import Telemetry


@dataclass(frozen=True, slots=True)
class Measurement:
    timestamp: float
    cell_voltages_v: tuple[float, ...]
    current_a: float
    temperatures_c: tuple[float, ...] = ()
    mosfet_temperature_c: float | None = None
    # Measured pack voltage; None when the source only measures cells.
    voltage_v: float | None = None
    # Voltage at the limited charge input (e.g. alternator side); None when there is none.
    charge_source_v: float | None = None
    source: str = "unknown"
    # Readings a source reports but the core does not act on (SOC from a board, cycles ...).
    extra: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_telemetry(cls, telemetry: Telemetry, source: str = "board") -> Measurement:
        """Build a measurement from a board's telemetry; what the board lacks stays missing."""
        return cls(
            timestamp=telemetry.timestamp if telemetry.timestamp is not None else math.nan,
            cell_voltages_v=tuple(telemetry.cell_voltages_v or ()),
            current_a=telemetry.current_a if telemetry.current_a is not None else math.nan,
            temperatures_c=tuple(telemetry.temperatures_c or ()),
            mosfet_temperature_c=telemetry.mosfet_temperature_c,
            voltage_v=telemetry.voltage_v,
            source=source,
        )
