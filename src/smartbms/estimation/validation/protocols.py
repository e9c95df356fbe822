"""Usage protocols the truth cells are driven through, as PyBaMM experiment steps.

- ``drive``: an EV-like day: UDDS/US06 down to about 10 % SOC, a rest, a CC-CV charge to full, a rest,
  and a partial drive (about 8 h). One full cycle, so capacity learning can be judged on it.
- ``mixed24h``: 24 h of solar/van/boat use: CC-CV to full, inverter load, evening load, a night of
  near-rest, a morning load, a partial solar charge, more load, a second full charge.

Drive cycles are scaled to the cell's capacity (the files are for a ~5 Ah cell).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from smartbms.estimation.validation.plant import drive_cycle

PROTOCOLS = ("drive", "mixed24h")


def _cycles(pybamm: Any, names: list[str], scale: float) -> Any:
    parts: list[np.ndarray] = []
    offset = 0.0
    for name in names:
        cycle = drive_cycle(name, scale)
        shifted = cycle.copy()
        shifted[:, 0] += offset
        if parts:
            shifted = shifted[1:]
        parts.append(shifted)
        offset = shifted[-1, 0] + 1.0
    return pybamm.step.current(np.vstack(parts), period=1.0)


def steps_for(
    pybamm: Any, protocol: str, capacity_ah: float, v_min: float, v_max: float, charge_v: float
) -> tuple[list[Any], float]:
    """(steps, initial true SOC) of a protocol for a cell of ``capacity_ah``."""
    scale = capacity_ah / 5.0
    if protocol == "drive":
        steps = [
            _cycles(pybamm, ["UDDS", "US06"] * 6, 1.5 * scale),
            f"Discharge at C/3 for 25 minutes or until {v_min + 0.05:.3f} V",
            "Rest for 30 minutes",
            f"Charge at 0.5C until {charge_v:.3f} V",
            f"Hold at {charge_v:.3f} V until C/50",
            "Rest for 20 minutes",
            _cycles(pybamm, ["US06", "UDDS"] * 2, 1.5 * scale),
            "Rest for 10 minutes",
        ]
        return steps, 0.9
    if protocol == "mixed24h":
        load = ["UDDS"] * 6
        steps = [
            f"Charge at 0.3C until {charge_v:.3f} V",
            f"Hold at {charge_v:.3f} V until C/50",
            "Rest for 1 hour",
            _cycles(pybamm, load, 0.5 * scale),
            "Discharge at C/10 for 3 hours",
            "Discharge at C/200 for 6 hours",
            "Discharge at C/5 for 1 hour",
            "Charge at 0.2C for 2 hours",
            _cycles(pybamm, load, 0.5 * scale),
            f"Charge at 0.3C until {charge_v:.3f} V",
            f"Hold at {charge_v:.3f} V until C/50",
            "Rest for 1 hour",
        ]
        return steps, 0.5
    raise ValueError(f"unknown protocol {protocol!r}; choose from {PROTOCOLS}")
