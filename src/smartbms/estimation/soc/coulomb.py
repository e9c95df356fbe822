"""Coulomb counting: the baseline every BMS board ships, and the charge meter SOH learning reads."""

from __future__ import annotations

import math

SECONDS_PER_HOUR = 3600.0


class CoulombCounter:
    """Integrates current into SOC; optionally subtracts a known current-sensor offset.

    ``charge_ah`` is the net charge counted since creation (positive = charged), never clamped, so two
    readings of it bracket exactly the charge moved between two events.
    """

    def __init__(self, capacity_ah: float, soc_pct: float, offset_a: float = 0.0) -> None:
        if capacity_ah <= 0:
            raise ValueError("capacity_ah must be positive")
        self.capacity_ah = capacity_ah
        self.soc_pct = soc_pct
        self.offset_a = offset_a
        self.charge_ah = 0.0
        self.skipped_samples = 0

    def update(self, dt_s: float, current_a: float) -> float:
        """Add one sample (trapezoid-free: sample-and-hold, as a BMS board does); returns SOC %."""
        if not (math.isfinite(current_a) and math.isfinite(dt_s)) or dt_s <= 0:
            self.skipped_samples += 1
            return self.soc_pct
        delta_ah = (current_a - self.offset_a) * dt_s / SECONDS_PER_HOUR
        self.charge_ah += delta_ah
        self.soc_pct = min(100.0, max(0.0, self.soc_pct + 100.0 * delta_ah / self.capacity_ah))
        return self.soc_pct

    def sync_full(self) -> None:
        self.soc_pct = 100.0
