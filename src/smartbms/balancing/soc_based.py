"""SOC-based balancing: bleeds the cells whose estimated SOC is above the lowest.

It works anywhere on the flat LFP curve because it uses the estimator's per-cell SOC, not the
voltage. Runs whenever no protection acts (bleeding during a discharge is harmless: the charge the
high cell loses would have been left unused at the bottom anyway). Without a per-cell SOC it falls
back to passive top balancing on voltage.
"""

from __future__ import annotations

from smartbms.balancing.base import BalancingDecision, BalancingInput, finite
from smartbms.balancing.passive import BleedSelector, PassiveTopBalancer
from smartbms.core.settings import BalancingSettings


class SocBalancer:
    name = "soc"

    def __init__(self, cfg: BalancingSettings) -> None:
        self.cfg = cfg
        self.selector = BleedSelector(cfg)
        self.fallback = PassiveTopBalancer(cfg)
        self.active = False

    def decide(self, inp: BalancingInput) -> BalancingDecision:
        cfg = self.cfg
        socs = inp.cell_soc_pct
        if not finite(socs) or socs is None or len(socs) != len(inp.cell_voltages_v):
            return self.fallback.decide(inp)
        if not finite(inp.cell_voltages_v):
            self.active = False
            return self.selector.commit(())
        self.selector.update_thermal(inp)
        delta = max(socs) - min(socs)
        stop = min(cfg.soc_stop_delta_pct, cfg.soc_start_delta_pct)
        if inp.protection_active or delta <= stop:
            self.active = False
        elif delta >= cfg.soc_start_delta_pct:
            self.active = True
        if not self.active:
            return self.selector.commit(())
        return self.selector.commit(self.selector.select(inp, socs, stop))
