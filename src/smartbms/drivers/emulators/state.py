"""What an emulated board knows: a plant giving the pack's telemetry at time t, plus the
switches and settings a host can change over the wire."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from smartbms.telemetry import Telemetry

Plant = Callable[[float], Telemetry]
"""The seam to the simulator: the pack's true state at time ``t`` (s since epoch)."""


def steady_pack(
    cells: int = 4,
    cell_voltage_v: float = 3.3,
    current_a: float = 0.0,
    soc_pct: float = 50.0,
    capacity_ah: float = 100.0,
    temperature_c: float = 25.0,
    cycles: int = 12,
) -> Plant:
    """A pack that does not change: cells spread by a few mV so each cell is recognisable."""
    volts = tuple(round(cell_voltage_v + 0.001 * (i % 5), 3) for i in range(cells))
    sample = Telemetry(
        voltage_v=round(sum(volts), 2),
        current_a=current_a,
        soc_pct=soc_pct,
        soh_pct=100.0,
        remaining_ah=round(capacity_ah * soc_pct / 100, 2),
        capacity_ah=capacity_ah,
        cycles=cycles,
        cell_voltages_v=volts,
        temperatures_c=(temperature_c, round(temperature_c + 1, 1)),
        mosfet_temperature_c=round(temperature_c + 3, 1),
        balancing_cells=(),
        alarms=(),
    )
    return lambda t: replace(sample, timestamp=t)


@dataclass
class BoardState:
    plant: Plant
    clock: Callable[[], float] = time.time
    charge_enabled: bool = True
    discharge_enabled: bool = True
    soc_override: float | None = None
    # Settings in smartbms units (V, A, Ah), keyed like the protocol's SettingSpec keys.
    settings: dict[str, float] = field(default_factory=dict)
    factory_mode: bool = False
    requests_served: int = 0

    def sample(self) -> Telemetry:
        """The plant's sample with the host's switches applied (an open FET blocks its current)."""
        now = self.clock()
        s = self.plant(now)
        current = s.current_a or 0.0
        if (current > 0 and not self.charge_enabled) or (current < 0 and not self.discharge_enabled):
            current = 0.0
        soc = self.soc_override if self.soc_override is not None else s.soc_pct
        remaining = s.remaining_ah
        if self.soc_override is not None and s.capacity_ah:
            remaining = round(s.capacity_ah * self.soc_override / 100, 2)
        return replace(
            s,
            timestamp=now,
            current_a=current,
            soc_pct=soc,
            remaining_ah=remaining,
            charge_enabled=self.charge_enabled,
            discharge_enabled=self.discharge_enabled,
        )
