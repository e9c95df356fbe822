"""Capacity from the charge counted between two well-known SOC points.

An anchor is a moment when SOC is known independently of counting: a full-charge sync (100 %)
or a rested OCV in a steep part of the curve. Between two anchors far enough apart, capacity is
charge / SOC difference. Each sample's weight follows its error (SOC errors of both anchors over the
SOC span, plus the counted charge's offset error), and samples combine as a weighted mean with
forgetting so the estimate follows ageing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_SPAN_FRACTION = 0.6  # shorter spans amplify anchor errors too much


@dataclass(frozen=True)
class Anchor:
    timestamp: float
    soc: float  # fraction
    soc_sigma: float  # fraction
    charge_ah: float  # counter reading at that moment


class CapacityEstimator:
    def __init__(self, nominal_capacity_ah: float, *, forgetting: float = 0.9) -> None:
        self.nominal_capacity_ah = nominal_capacity_ah
        self.capacity_ah = nominal_capacity_ah
        # Prior: the nameplate to 10 % (cells ship 0-5 % over it, aged packs well under), so one good
        # cycle dominates it.
        self._weight = 1.0 / (0.10 * nominal_capacity_ah) ** 2
        self._weighted_sum = self._weight * nominal_capacity_ah
        self.forgetting = forgetting
        self.samples = 0
        self._last: Anchor | None = None

    @property
    def sigma_ah(self) -> float:
        return 1.0 / math.sqrt(self._weight)

    def add_anchor(self, anchor: Anchor, offset_sigma_a: float = 0.0) -> bool:
        """Record an anchor; returns True when it produced a new capacity sample."""
        last, self._last = self._last, anchor
        if last is None:
            return False
        span = anchor.soc - last.soc
        if abs(span) < MIN_SPAN_FRACTION:
            # Keep the older anchor if it is the better starting point of a longer span.
            if last.soc_sigma < anchor.soc_sigma:
                self._last = last
            return False
        sample = (anchor.charge_ah - last.charge_ah) / span
        if not (0.5 * self.nominal_capacity_ah < sample < 1.5 * self.nominal_capacity_ah):
            return False  # a mis-detected anchor, not ageing
        hours = abs(anchor.timestamp - last.timestamp) / 3600.0
        sigma = math.hypot(
            sample * math.hypot(anchor.soc_sigma, last.soc_sigma) / abs(span),
            offset_sigma_a * hours / abs(span),
        )
        w = 1.0 / max(sigma, 1e-3 * sample) ** 2
        self._weight = self.forgetting * self._weight + w
        self._weighted_sum = self.forgetting * self._weighted_sum + w * sample
        self.capacity_ah = self._weighted_sum / self._weight
        self.samples += 1
        return True

    def soh_pct(self) -> float:
        return 100.0 * self.capacity_ah / self.nominal_capacity_ah
