"""A running estimate of each bleed resistor's temperature, so balancing respects its thermal limit.

Each resistor is a first-order thermal node over the board temperature (the warmest cell sensor):
steady rise = power × thermal resistance. A resistor that reaches the limit rests until it has cooled
``cooldown_c`` below it.
"""

from __future__ import annotations

import math


class BleedThermalGuard:
    def __init__(
        self,
        cells: int,
        resistance_ohm: float,
        limit_c: float,
        thermal_resistance_k_per_w: float,
        time_constant_s: float,
        cooldown_c: float = 10.0,
    ) -> None:
        self.resistance_ohm = resistance_ohm
        self.limit_c = limit_c
        self.r_th = thermal_resistance_k_per_w
        self.tau_s = time_constant_s
        self.cooldown_c = cooldown_c
        self.temperature_c: list[float] | None = None
        self._resting = [False] * cells
        self._last_now: float | None = None
        self._on: tuple[int, ...] = ()

    def update(self, now: float, cell_voltages_v: tuple[float, ...], board_c: float) -> None:
        """Advance the estimate to ``now`` with the resistors that were on since the last call."""
        n = len(cell_voltages_v)
        if self.temperature_c is None or len(self.temperature_c) != n:
            self.temperature_c = [board_c] * n
            self._resting = [False] * n
        dt = 0.0 if self._last_now is None else max(0.0, now - self._last_now)
        self._last_now = now
        k = 1.0 - math.exp(-dt / self.tau_s) if dt > 0 else 0.0
        on = set(self._on)
        for i, v in enumerate(cell_voltages_v):
            power = v * v / self.resistance_ohm if (i + 1) in on else 0.0
            steady = board_c + power * self.r_th
            t = self.temperature_c[i] + (steady - self.temperature_c[i]) * k
            self.temperature_c[i] = t
            if t >= self.limit_c:
                self._resting[i] = True
            elif t <= self.limit_c - self.cooldown_c:
                self._resting[i] = False

    def allowed(self, cell: int) -> bool:
        """May the 1-based ``cell``'s resistor be on now?"""
        return not self._resting[cell - 1]

    def record(self, bleed_cells: tuple[int, ...]) -> None:
        self._on = bleed_cells
