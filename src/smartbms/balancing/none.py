"""No balancing: the baseline the other strategies are compared with."""

from __future__ import annotations

from smartbms.balancing.base import IDLE, BalancingDecision, BalancingInput


class NoBalancing:
    name = "none"

    def decide(self, inp: BalancingInput) -> BalancingDecision:
        return IDLE
