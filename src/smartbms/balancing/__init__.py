"""Cell balancing strategies side by side behind one interface.

``make_balancer(settings).decide(BalancingInput(...)) -> BalancingDecision``; the controller copies the
decision into ``Actions.balancing_cells`` (bleed resistors) and ``Actions.balancing_currents_a``
(active balancer).
"""

from __future__ import annotations

from smartbms.balancing.active import ActiveBalancer
from smartbms.balancing.base import Balancer, BalancingDecision, BalancingInput
from smartbms.balancing.none import NoBalancing
from smartbms.balancing.passive import PassiveTopBalancer
from smartbms.balancing.soc_based import SocBalancer
from smartbms.core.settings import BalancingStrategyName, Settings

__all__ = [
    "ActiveBalancer",
    "Balancer",
    "BalancingDecision",
    "BalancingInput",
    "NoBalancing",
    "PassiveTopBalancer",
    "SocBalancer",
    "make_balancer",
]


def make_balancer(settings: Settings) -> Balancer:
    """The strategy ``settings.balancing.strategy`` names, configured from ``settings.balancing``."""
    cfg = settings.balancing
    strategy = cfg.strategy
    if strategy == BalancingStrategyName.NONE:
        return NoBalancing()
    if strategy == BalancingStrategyName.PASSIVE:
        return PassiveTopBalancer(cfg)
    if strategy == BalancingStrategyName.SOC:
        return SocBalancer(cfg)
    return ActiveBalancer(cfg)
