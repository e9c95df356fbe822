"""Passive top balancing, as commercial BMSes expose it.

Starts when the highest cell reaches ``start_cell_v`` and the max−min difference reaches
``start_delta_v``; only while charging or resting (a discharge above ``rest_current_a`` stops it).
Bleeds every cell more than ``stop_delta_v`` above the lowest, highest first, and stops when the
difference has fallen to ``stop_delta_v``, on any protection alarm, or when a resistor is too hot.
"""

from __future__ import annotations

from smartbms.balancing.base import IDLE, BalancingDecision, BalancingInput, finite
from smartbms.balancing.thermal import BleedThermalGuard
from smartbms.core.settings import BalancingSettings


def board_temperature_c(temperatures_c: tuple[float, ...]) -> float:
    valid = [t for t in temperatures_c if t == t]
    return max(valid) if valid else 25.0


class BleedSelector:
    """Which cells to bleed, given a per-cell level (volts or SOC) and a stop margin."""

    def __init__(self, cfg: BalancingSettings) -> None:
        self.cfg = cfg
        self.guard = BleedThermalGuard(
            0,
            cfg.bleed_resistance_ohm,
            cfg.max_resistor_temperature_c,
            cfg.bleed_thermal_resistance_k_per_w,
            cfg.bleed_thermal_time_constant_s,
        )

    def select(self, inp: BalancingInput, levels: tuple[float, ...], margin: float) -> tuple[int, ...]:
        low = min(levels)
        ranked = sorted(range(len(levels)), key=levels.__getitem__, reverse=True)
        allowed = self.guard.allowed
        chosen = [i + 1 for i in ranked if levels[i] - low > margin and allowed(i + 1)]
        limit = self.cfg.max_bleed_cells
        if limit:
            chosen = chosen[:limit]
        return tuple(sorted(chosen))

    def update_thermal(self, inp: BalancingInput) -> None:
        self.guard.update(inp.now, inp.cell_voltages_v, board_temperature_c(inp.temperatures_c))

    def commit(self, cells: tuple[int, ...]) -> BalancingDecision:
        self.guard.record(cells)
        return BalancingDecision(bleed_cells=cells) if cells else IDLE


class PassiveTopBalancer:
    name = "passive"

    def __init__(self, cfg: BalancingSettings) -> None:
        self.cfg = cfg
        self.selector = BleedSelector(cfg)
        self.active = False

    def decide(self, inp: BalancingInput) -> BalancingDecision:
        cfg = self.cfg
        volts = inp.cell_voltages_v
        if not finite(volts):
            self.active = False
            return self.selector.commit(())
        self.selector.update_thermal(inp)
        high, low = max(volts), min(volts)
        delta = high - low
        allowed = not inp.protection_active and inp.current_a >= -cfg.rest_current_a
        if not allowed or delta <= cfg.stop_delta_v or high < cfg.start_cell_v - 0.02:
            # Small release band on the start voltage so a resting cell's sag does not chatter.
            self.active = False
        elif high >= cfg.start_cell_v and delta >= cfg.start_delta_v:
            self.active = True
        if not self.active:
            return self.selector.commit(())
        return self.selector.commit(self.selector.select(inp, volts, cfg.stop_delta_v))
