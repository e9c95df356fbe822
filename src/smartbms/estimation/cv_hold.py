"""Tells a charger holding a constant voltage (the CV or absorption phase) from the cell's own behaviour.

The pack estimator needs it to keep a CV tail out of the current sensor's zero reading: a tail that
tapers into the rest band reads as a rest to the current sensor. The BMS's own charge voltage setting
does not say where a charger holds: many are set below it (a solar charger's absorption at 3.45 V per
LFP cell against the BMS's 3.55 V). What does: the voltage stays flat while the charge current falls.
Without a charger holding it, a fading charge (a solar panel at dusk) lowers the voltage with the
current, by the I*R drop it no longer drives: on a large LFP cell only millivolts, so the test is
against the cell's own resistance, not a fixed band.
"""

from __future__ import annotations

import math
from collections.abc import Callable

FILTER_S = 60.0  # the mean cell voltage is smoothed over this long: a millivolt of noise is not a change
BAND_V = 0.003  # a held voltage stays within this of where the hold began
MIN_HOLD_S = 300.0  # flat this long while charging
MIN_TAPER = 0.3  # and the current fell by at least this share of its peak in the hold
# ... while the voltage fell by less than this share of the I*R drop that fall of the current releases
FALL_SHARE = 0.3


class CvHoldDetector:
    """Feed every sample; ``held`` says whether a charger is holding the cells at a constant voltage now.

    A hold starts with a charge whose smoothed voltage stays inside ``BAND_V`` for ``MIN_HOLD_S`` while
    the current falls by ``MIN_TAPER`` of its peak, and the voltage by less than ``FALL_SHARE`` of
    that fall times the cell's resistance. It lasts while both stay true, through a tail tapering into
    the rest band, and ends when the voltage leaves them or a discharge starts.
    """

    def __init__(self, charging_above_a: float) -> None:
        self._charging_above_a = charging_above_a
        self._v_smooth = math.nan
        self._ref_v = math.nan
        self._hold_s = 0.0
        self._peak_a = 0.0
        self._v_at_peak = math.nan
        self._tapered = False
        self.held = False

    def update(self, dt_s: float, current_a: float, v_mean: float, r_total_ohm: Callable[[], float]) -> None:
        """One sample: pack current (A, + charging), mean cell voltage, and how to get one cell's
        steady-state resistance (ohm; asked for only when the rest of a hold is there)."""
        if not math.isfinite(v_mean):
            return
        if math.isfinite(self._v_smooth) and dt_s > 0.0:
            self._v_smooth += min(1.0, dt_s / FILTER_S) * (v_mean - self._v_smooth)
        else:
            self._v_smooth = v_mean
        in_band = abs(self._v_smooth - self._ref_v) <= BAND_V  # False while the reference is unset
        if current_a < -self._charging_above_a:
            self._restart(math.nan, 0.0)
        elif current_a > self._charging_above_a:
            if in_band:
                self._hold_s += dt_s
                if current_a > self._peak_a:
                    self._peak_a, self._v_at_peak = current_a, self._v_smooth
                self._tapered = self._tapered or current_a <= (1.0 - MIN_TAPER) * self._peak_a
            else:
                self._restart(self._v_smooth, current_a)
        elif not in_band:
            self._restart(math.nan, 0.0)
        self.held = in_band and self._hold_s >= MIN_HOLD_S and self._tapered
        if self.held:
            released = r_total_ohm() * (self._peak_a - min(current_a, self._peak_a))
            self.held = self._v_at_peak - self._v_smooth < FALL_SHARE * released

    def _restart(self, ref_v: float, current_a: float) -> None:
        self._ref_v, self._peak_a, self._v_at_peak = ref_v, current_a, ref_v
        self._hold_s = 0.0
        self._tapered = False
