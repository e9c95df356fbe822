"""A small equivalent-circuit plant: a cell that behaves exactly as a cell model says.

It uses a model's own OCV and resistances (optionally scaled): R0 and R1 of the side the current flows
(the last side at rest), the slow pair of the side its own voltage is on (as the filter does), and R0
at the present current when the model has those. Tests use it as a truth whose parameters they know;
the information bound uses it as "our model, run forward".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from smartbms.estimation.cell_model import CellModel
from smartbms.estimation.traces import Trace


@dataclass
class EcmPlant:
    model: CellModel
    capacity_ah: float
    soc: float
    temperature_c: float = 25.0
    resistance_scale: float = 1.0
    v1: float = 0.0
    v2: float = 0.0
    direction: int = -1  # the side whose R0 and R1 apply: +1 charge, -1 discharge (kept at rest)

    def step(self, current_a: float, dt_s: float) -> float:
        """Advance by dt under current (positive = charging); returns the terminal voltage after it."""
        if current_a:
            self.direction = 1 if current_a > 0 else -1
        r0, r1, tau1, r2, tau2 = (
            float(np.interp(self.soc, self.model.soc_grid, t))
            for t in self.model.rc_tables_at(self.temperature_c, self.direction)
        )
        if self.model.has_sided_slow_pair:
            slow_side = (self.v2 > 0.0) if self.v2 else (current_a > 0.0)
            r2, tau2 = (
                float(np.interp(self.soc, self.model.soc_grid, t))
                for t in self.model.rc_tables_at(self.temperature_c, 1 if slow_side else -1)[3:]
            )
        r0 *= float(self.model.r0_current_factor(self.temperature_c, current_a / self.capacity_ah))
        scale = self.resistance_scale * self.model.capacity_ah / self.capacity_ah
        self.soc += current_a * dt_s / (self.capacity_ah * 3600.0)
        a1, a2 = math.exp(-dt_s / tau1), math.exp(-dt_s / tau2)
        self.v1 = a1 * self.v1 + r1 * scale * (1 - a1) * current_a
        self.v2 = a2 * self.v2 + r2 * scale * (1 - a2) * current_a
        return float(self.model.ocv(self.soc, 0.0)) + self.v1 + self.v2 + r0 * scale * current_a

    def run(self, currents: list[float], dt_s: float = 1.0, t0: float = 0.0) -> tuple[Trace, np.ndarray]:
        """Trace (time, current, voltage, temperature) and the true SOC (fraction) after each sample."""
        t, i, v, soc = [], [], [], []
        for k, current in enumerate(currents):
            v.append(self.step(current, dt_s))
            t.append(t0 + (k + 1) * dt_s)
            i.append(current)
            soc.append(self.soc)
        n = len(t)
        trace = Trace(np.array(t), np.array(i), np.array(v), np.full(n, self.temperature_c), "ecm plant")
        return trace, np.array(soc)
