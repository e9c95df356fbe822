"""An emulator plant driven by the simulator: the emulated board reports a simulated pack.

The simulator (``smartbms.sim``) is imported lazily, so the emulators work without it.
"""

from __future__ import annotations

import threading

from smartbms.drivers.emulators.state import Plant
from smartbms.telemetry import Telemetry


def simulated_pack(
    cells: int = 16,
    capacity_ah: float = 280.0,
    profile: str = "solar_day",
    seed: int = 0,
    soc_pct: float = 50.0,
) -> Plant:
    """A plant whose telemetry at time ``t`` comes from a simulated LFP pack under ``profile``."""
    from smartbms.core.settings import default_settings
    from smartbms.sim.pack_source import SimulatedPackSource

    settings = default_settings(cells_series=cells, nominal_capacity_ah=capacity_ah)
    source = SimulatedPackSource(settings, profile=profile, seed=seed, initial_soc_pct=soc_pct)
    lock = threading.Lock()  # several connections may ask at once; the plant steps forward only

    def plant(t: float) -> Telemetry:
        with lock:
            m = source.read(t)
            truth = source.truth()
        capacity = sum(truth.capacity_ah) / len(truth.capacity_ah)
        soc = sum(truth.soc_pct) / len(truth.soc_pct)
        return Telemetry(
            timestamp=t,
            voltage_v=m.voltage_v if m.voltage_v is not None else round(sum(m.cell_voltages_v), 3),
            current_a=round(m.current_a, 3),
            soc_pct=round(soc, 1),
            soh_pct=100.0,
            remaining_ah=round(capacity * soc / 100, 2),
            capacity_ah=round(capacity, 1),
            cycles=0,
            cell_voltages_v=tuple(round(v, 3) for v in m.cell_voltages_v),
            temperatures_c=tuple(round(x, 1) for x in m.temperatures_c),
            mosfet_temperature_c=m.mosfet_temperature_c,
            balancing_cells=(),
            alarms=(),
        )

    return plant
