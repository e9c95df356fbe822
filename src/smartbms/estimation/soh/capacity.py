"""Capacity from the charge counted between two well-known SOC points.

An anchor is a moment when SOC is known independently of counting: a full-charge sync (100 %)
or a rested OCV in a steep part of the curve. Between two anchors far enough apart, capacity is
charge / SOC difference. Each sample's weight follows its error (SOC errors of both anchors over the
SOC span, plus the counted charge's offset error), and samples combine as a weighted mean with
forgetting so the estimate follows ageing.

The counted charge carries the current sensor's offset times the hours between the anchors (C/100
for 3 h is 3 % of capacity), so an anchor also records the raw (uncorrected) charge and the counted
time: when the caller knows the offset (read while the current was zero), the sample uses the raw
charge minus that one offset times the time between the two anchors.

A later, better anchor at nearly the same SOC (a rested OCV after the charge that gave a full-charge
sync, or a later reading of the same rest) replaces the end point of the last sample: the sample is
taken back and formed again from the better anchor.
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
    charge_ah: float  # counter reading at that moment (offset-corrected as the filter saw it)
    raw_charge_ah: float = math.nan  # uncorrected counter reading, for a known offset
    counted_s: float = math.nan  # seconds of counting so far (the offset acts over these)


def _relative_error(start: Anchor, end: Anchor) -> float:
    """Relative error of a capacity sample from these two anchors' SOC errors."""
    return math.hypot(start.soc_sigma, end.soc_sigma) / max(abs(end.soc - start.soc), 1e-6)


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
        # (estimator state before the last sample, that sample's start anchor) while it can be redone
        self._undo: tuple[tuple[float, float, float, int], Anchor] | None = None

    @property
    def sigma_ah(self) -> float:
        return 1.0 / math.sqrt(self._weight)

    def add_anchor(
        self,
        anchor: Anchor,
        offset_sigma_a: float = 0.0,
        offset_a: float | None = None,
        *,
        supersede: bool = False,
    ) -> bool:
        """Record an anchor; returns True when it produced a new capacity sample.

        ``offset_a``: the current sensor's offset, if known; the sample then uses the raw charge.
        ``supersede``: this anchor is a later reading of the same rest as the last one and replaces it.
        """
        last = self._last
        if last is None:
            self._last = anchor
            return False
        if self._undo is not None and (supersede or abs(anchor.soc - last.soc) < MIN_SPAN_FRACTION):
            start = self._undo[1]
            if _relative_error(start, anchor) <= _relative_error(start, last):
                # A better end point of the last sample: take that sample back and form it again.
                (self._weight, self._weighted_sum, self.capacity_ah, self.samples), _ = self._undo
                self._undo = None
                return self._pair(start, anchor, offset_sigma_a, offset_a)
            if supersede:
                return False  # the earlier reading of this rest stays the better end point
        elif supersede:
            if anchor.soc_sigma <= last.soc_sigma:
                self._last = anchor
            return False
        return self._pair(last, anchor, offset_sigma_a, offset_a)

    def _pair(self, last: Anchor, anchor: Anchor, offset_sigma_a: float, offset_a: float | None) -> bool:
        self._last = anchor
        span = anchor.soc - last.soc
        if abs(span) < MIN_SPAN_FRACTION:
            # Keep the older anchor if it is the better starting point of a longer span.
            if last.soc_sigma < anchor.soc_sigma:
                self._last = last
            else:
                self._undo = None
            return False
        self._undo = None
        counted_h = (anchor.counted_s - last.counted_s) / 3600.0
        if (
            offset_a is not None
            and math.isfinite(counted_h)
            and math.isfinite(anchor.raw_charge_ah - last.raw_charge_ah)
        ):
            charge = anchor.raw_charge_ah - last.raw_charge_ah - offset_a * counted_h
            hours = counted_h
        else:
            charge = anchor.charge_ah - last.charge_ah
            hours = abs(anchor.timestamp - last.timestamp) / 3600.0
        sample = charge / span
        if not (0.5 * self.nominal_capacity_ah < sample < 1.5 * self.nominal_capacity_ah):
            return False  # a mis-detected anchor, not ageing
        sigma = math.hypot(
            sample * math.hypot(anchor.soc_sigma, last.soc_sigma) / abs(span),
            offset_sigma_a * hours / abs(span),
        )
        w = 1.0 / max(sigma, 1e-3 * sample) ** 2
        self._undo = ((self._weight, self._weighted_sum, self.capacity_ah, self.samples), last)
        self._weight = self.forgetting * self._weight + w
        self._weighted_sum = self.forgetting * self._weighted_sum + w * sample
        self.capacity_ah = self._weighted_sum / self._weight
        self.samples += 1
        return True

    def soh_pct(self) -> float:
        return 100.0 * self.capacity_ah / self.nominal_capacity_ah

    def learned(self) -> dict[str, float]:
        """What the samples so far taught, to carry over a restart (the anchors are not: the counters
        they refer to start again from zero)."""
        return {
            "capacity_ah": self.capacity_ah,
            "weight": self._weight,
            "weighted_sum": self._weighted_sum,
            "samples": self.samples,
        }

    def restore(self, learned: dict[str, float]) -> None:
        weight, total = float(learned["weight"]), float(learned["weighted_sum"])
        capacity = total / weight if weight > 0 else math.nan
        if not (weight > 0 and 0.5 * self.nominal_capacity_ah < capacity < 1.5 * self.nominal_capacity_ah):
            raise ValueError(
                f"learned capacity {capacity:g} Ah does not fit a {self.nominal_capacity_ah:g} Ah pack"
            )
        self._weight, self._weighted_sum, self.capacity_ah = weight, total, capacity
        self.samples = int(learned["samples"])
        self._last = None
        self._undo = None
