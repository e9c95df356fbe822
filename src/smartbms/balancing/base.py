"""The one interface every balancing strategy implements, and the inputs it decides from."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class BalancingInput:
    """What the controller knows at one tick (validated measurements and the estimate)."""

    now: float
    cell_voltages_v: tuple[float, ...]
    # Estimated per-cell SOC; None when no estimator runs.
    cell_soc_pct: tuple[float, ...] | None
    # + = charging.
    current_a: float
    temperatures_c: tuple[float, ...]
    protection_active: bool
    charge_allowed: bool


@dataclass(frozen=True, slots=True)
class BalancingDecision:
    # 1-based cells whose bleed resistor is switched on.
    bleed_cells: tuple[int, ...] = ()
    # Per-cell active balancer current, + = the cell receives charge; empty = no active balancing.
    currents_a: tuple[float, ...] = ()


IDLE = BalancingDecision()


class Balancer(Protocol):
    name: str

    def decide(self, inp: BalancingInput) -> BalancingDecision: ...


def finite(values: tuple[float, ...] | None) -> bool:
    """True when there are values and every one is a number (a NaN cell stops balancing)."""
    if not values:
        return False
    # A NaN or infinity makes the sum non-finite; a finite sum needs no per-value check (called every tick).
    return math.isfinite(sum(values)) or all(math.isfinite(v) for v in values)
