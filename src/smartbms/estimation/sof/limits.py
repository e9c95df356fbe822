"""Charge/discharge limits an inverter or charger obeys: CVL with absorption/float, CCL and DCL.

Each current limit is the maximum current times the smallest of a few derating factors (cell
voltage, temperature, SOC). The output may fall at once (safety) but rises only after the computed
value has stayed above it by a margin for ``raise_hold_s``: a limit that flaps makes inverters hunt.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LimitSettings:
    cells_series: int
    charge_cell_v: float  # absorption voltage per cell
    float_cell_v: float
    max_charge_current_a: float
    max_discharge_current_a: float
    cell_ov_v: float
    cell_uv_v: float
    charge_ut_c: float
    charge_ot_c: float
    discharge_ut_c: float
    discharge_ot_c: float
    absorption_time_s: float = 7200.0
    tail_current_a: float = 0.0  # 0: tail detection off, only the absorption timer ends absorption
    rebulk_soc_pct: float = 90.0
    raise_hold_s: float = 30.0
    raise_margin_fraction: float = 0.05


def _ramp(x: float, zero_at: float, one_at: float) -> float:
    """0 at ``zero_at``, 1 at ``one_at``, linear between, clamped (either direction)."""
    if zero_at == one_at:
        return 1.0 if x >= one_at else 0.0
    return min(1.0, max(0.0, (x - zero_at) / (one_at - zero_at)))


class _HysteresisLimit:
    """Falls immediately, rises only after the higher value has held for a while."""

    def __init__(self, initial: float, margin: float, hold_s: float) -> None:
        self.value = initial
        self.margin = margin
        self.hold_s = hold_s
        self._above_since: float | None = None

    def update(self, timestamp: float, computed: float) -> float:
        if computed <= self.value:
            self.value = computed
            self._above_since = None
        elif computed >= self.value + self.margin or computed >= self.value * 1.5:
            if self._above_since is None:
                self._above_since = timestamp
            elif timestamp - self._above_since >= self.hold_s:
                self.value = computed
                self._above_since = None
        else:
            self._above_since = None
        return self.value


class ChargeDischargeLimits:
    def __init__(self, settings: LimitSettings) -> None:
        self.settings = settings
        s = settings
        self.in_float = False
        self._absorb_s = 0.0
        self._tail_s = 0.0
        self._ccl = _HysteresisLimit(0.0, s.raise_margin_fraction * s.max_charge_current_a, s.raise_hold_s)
        self._dcl = _HysteresisLimit(0.0, s.raise_margin_fraction * s.max_discharge_current_a, s.raise_hold_s)
        # The first update may set the limits directly: nothing has flapped yet.
        self._first = True

    @property
    def charge_voltage_limit_v(self) -> float:
        s = self.settings
        return s.cells_series * (s.float_cell_v if self.in_float else s.charge_cell_v)

    def update(
        self,
        timestamp: float,
        dt_s: float,
        *,
        current_a: float,
        cell_v_max: float,
        cell_v_min: float,
        cell_v_mean: float,
        temp_min_c: float,
        temp_max_c: float,
        soc_pct: float,
    ) -> tuple[float, float, float]:
        """Returns (charge voltage limit V, charge current limit A, discharge current limit A)."""
        self._update_stage(dt_s, current_a, cell_v_mean, soc_pct)
        s = self.settings
        ccl = s.max_charge_current_a * self._charge_factor(cell_v_max, temp_min_c, temp_max_c, soc_pct)
        dcl = s.max_discharge_current_a * self._discharge_factor(cell_v_min, temp_min_c, temp_max_c, soc_pct)
        if self._first:
            self._ccl.value, self._dcl.value, self._first = ccl, dcl, False
        return (
            self.charge_voltage_limit_v,
            self._ccl.update(timestamp, ccl),
            self._dcl.update(timestamp, dcl),
        )

    def _update_stage(self, dt_s: float, current_a: float, cell_v_mean: float, soc_pct: float) -> None:
        s = self.settings
        if self.in_float:
            if soc_pct < s.rebulk_soc_pct:
                self.in_float = False
                self._absorb_s = self._tail_s = 0.0
            return
        if not cell_v_mean >= s.charge_cell_v - 0.03:  # also catches NaN
            self._tail_s = 0.0
            return
        self._absorb_s += dt_s
        tail = s.tail_current_a > 0 and 0.0 <= current_a <= s.tail_current_a
        self._tail_s = self._tail_s + dt_s if tail else 0.0
        if self._absorb_s >= s.absorption_time_s or self._tail_s >= 60.0:
            self.in_float = True

    # The factors run on every sample: plain float arithmetic, and the common case (nothing to derate)
    # returns before any ramp is computed. NaN fails every comparison, so ``x == x`` tests for it.

    def _charge_factor(self, v_max: float, t_min: float, t_max: float, soc_pct: float) -> float:
        s = self.settings
        if not (v_max == v_max and t_min == t_min and t_max == t_max):
            return 0.0  # cannot prove charging is safe
        f = 1.0
        knee_v = min(s.charge_cell_v - 0.1, s.cell_ov_v - 0.03)
        if v_max > knee_v:
            f = min(f, _ramp(v_max, s.cell_ov_v - 0.02, knee_v))
        # Cold charging plates lithium: nothing at the limit, full current 10 degC above it.
        if t_min < s.charge_ut_c + 10.0:
            f = min(f, _ramp(t_min, s.charge_ut_c, s.charge_ut_c + 10.0))
        if t_max > s.charge_ot_c - 5.0:
            f = min(f, _ramp(t_max, s.charge_ot_c, s.charge_ot_c - 5.0))
        # Taper above 90 % SOC to 10 % of the maximum at full, so cells top off gently.
        if soc_pct > 90.0:
            f = min(f, max(0.1, 1.0 - 0.09 * (soc_pct - 90.0)))
        return f

    def _discharge_factor(self, v_min: float, t_min: float, t_max: float, soc_pct: float) -> float:
        s = self.settings
        if not (v_min == v_min and t_min == t_min and t_max == t_max):
            return 0.0
        f = 1.0
        if v_min < s.cell_uv_v + 0.3:
            f = min(f, _ramp(v_min, s.cell_uv_v + 0.02, s.cell_uv_v + 0.3))
        if t_min < s.discharge_ut_c + 10.0:
            f = min(f, _ramp(t_min, s.discharge_ut_c, s.discharge_ut_c + 10.0))
        if t_max > s.discharge_ot_c - 5.0:
            f = min(f, _ramp(t_max, s.discharge_ot_c, s.discharge_ot_c - 5.0))
        if soc_pct < 10.0:
            f = min(f, max(0.1, soc_pct / 10.0))
        return f
