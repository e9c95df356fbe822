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
        self._k_dt: float | None = None
        self._k = 0.0

    def update(self, now: float, cell_voltages_v: tuple[float, ...], board_c: float) -> None:
        """Advance the estimate to ``now`` with the resistors that were on since the last call."""
        n = len(cell_voltages_v)
        if self.temperature_c is None or len(self.temperature_c) != n:
            self.temperature_c = [board_c] * n
            self._resting = [False] * n
        dt = 0.0 if self._last_now is None else max(0.0, now - self._last_now)
        self._last_now = now
        if dt != self._k_dt:
            # The same tick length every time: compute the decay once.
            self._k_dt, self._k = dt, (1.0 - math.exp(-dt / self.tau_s) if dt > 0 else 0.0)
        k = self._k
        temps = self.temperature_c
        if self._on:
            on = self._on
            r, r_th = self.resistance_ohm, self.r_th
            temps = [
                t + ((board_c + (v * v / r if (i + 1) in on else 0.0) * r_th) - t) * k
                for i, (t, v) in enumerate(zip(temps, cell_voltages_v, strict=True))
            ]
        else:
            # Nothing on: every resistor cools towards the board (board + 0 W, as above).
            temps = [t + ((board_c + 0.0) - t) * k for t in temps]
        self.temperature_c = temps
        limit, release = self.limit_c, self.limit_c - self.cooldown_c
        if max(temps) >= release or any(self._resting):
            for i, t in enumerate(temps):
                if t >= limit:
                    self._resting[i] = True
                elif t <= release:
                    self._resting[i] = False

    def allowed(self, cell: int) -> bool:
        """May the 1-based ``cell``'s resistor be on now?"""
        return not self._resting[cell - 1]

    def record(self, bleed_cells: tuple[int, ...]) -> None:
        self._on = bleed_cells
