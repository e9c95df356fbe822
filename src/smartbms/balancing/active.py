"""Active balancing: a converter moves charge from the highest cell to the lowest at a set current.

Uses the estimated per-cell SOC when there is one, otherwise the voltages (gated by the start voltage
like commercial active balancers, because on the flat LFP curve mid-SOC voltages say little). Runs
while charging, resting or discharging; stops on any protection alarm. Several pairs run at once when
the pack has many cells: top k to bottom k, k = cells // 8 (at least 1).
"""

from __future__ import annotations

from smartbms.balancing.base import IDLE, BalancingDecision, BalancingInput, finite
from smartbms.core.settings import BalancingSettings


class ActiveBalancer:
    name = "active"

    def __init__(self, cfg: BalancingSettings) -> None:
        self.cfg = cfg
        self.active = False

    def _levels(self, inp: BalancingInput) -> tuple[tuple[float, ...], float, float] | None:
        cfg = self.cfg
        socs = inp.cell_soc_pct
        if finite(socs) and socs is not None and len(socs) == len(inp.cell_voltages_v):
            return socs, cfg.soc_start_delta_pct, min(cfg.soc_stop_delta_pct, cfg.soc_start_delta_pct)
        volts = inp.cell_voltages_v
        if max(volts) < cfg.start_cell_v - 0.02:
            return None
        return volts, cfg.start_delta_v, cfg.stop_delta_v

    def decide(self, inp: BalancingInput) -> BalancingDecision:
        if inp.protection_active or not finite(inp.cell_voltages_v):
            self.active = False
            return IDLE
        found = self._levels(inp)
        if found is None:
            self.active = False
            return IDLE
        levels, start, stop = found
        delta = max(levels) - min(levels)
        if delta <= stop:
            self.active = False
        elif delta >= start:
            self.active = True
        if not self.active:
            return IDLE
        n = len(levels)
        pairs = max(1, n // 8)
        order = sorted(range(n), key=lambda i: levels[i])
        currents = [0.0] * n
        amps = self.cfg.active_transfer_current_a
        for k in range(pairs):
            low, high = order[k], order[n - 1 - k]
            if levels[high] - levels[low] <= stop or low == high:
                break
            currents[high] -= amps
            currents[low] += amps
        return BalancingDecision(currents_a=tuple(currents)) if any(currents) else IDLE
