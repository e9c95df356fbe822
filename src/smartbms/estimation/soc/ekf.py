"""Extended Kalman filter for every cell of a series string at once.

Why an EKF and not a UKF: the only nonlinearity is the OCV curve, smooth and monotone between the
knees, with its slope known from the table; linearising it costs nothing and loses little, while a
UKF would need sigma points per cell. A UKF's advantage, no Jacobian, buys nothing here.

Filter state per cell: SOC (fraction), the current-sensor offset b (A; measured = true + b) and a
voltage bias d (V: sensor offset plus OCV-table error). The offset is what makes counting drift; once
the filter links SOC errors to it (through their covariance), every anchor (voltage on a steep part
of the curve, a full-charge sync, a rested OCV) also corrects the offset, so the drift shrinks between
anchors. The voltage bias is what would otherwise pull SOC along the flat LFP plateau: a constant
5 mV error never averages out, and 5 mV there is 7 % SOC; as a state it is learned where the curve
is steep and costs the plateau nothing.

A fourth state, the counting scale error e (counted SOC change x (1 + e) is the true one), stands for
a capacity told wrong (a nameplate, an aged pack) and the current sensor's gain. A discharge over a
steep part of the curve then teaches the filter the scale long before two anchors can (a full cycle),
so the charge that follows counts right. With its prior sigma zero the state stays off.

The RC-pair voltages and the LFP hysteresis are deterministic functions of the current history given
the model, so they are propagated outside the covariance. The covariance is then ten arrays (the
unique entries of a symmetric 4x4) and a 16-cell update a few dozen numpy operations.
"""

from __future__ import annotations

import copy
import math
from typing import NamedTuple

import numpy as np

from smartbms.estimation.cell_model import BoolArray, FloatArray
from smartbms.estimation.soc.tables import CHARGE_COLUMNS, DISCHARGE_COLUMNS, T_MAX_C, T_MIN_C, CellTables

SECONDS_PER_HOUR = 3600.0
REFRESH_S = 10.0  # RC parameters are re-read this often (they follow SOC slowly)
# R0 and R1 follow the current's direction (charge- or discharge-side tables) once |I| exceeds this
# share of the capacity (C/50); below it the last side is kept (the slow pair follows its own voltage,
# see _slow_sides). A sensor offset (up to
# C/100) plus noise must not make a rest flap between the sides, and at such currents the R*I terms
# the choice affects are a few tenths of a millivolt. Keeping the side also lets a step ending at rest
# (a pulse's end) be compared with the resistance of the side it came from.
DIRECTION_DEADBAND_C = 0.02
# A relative counting error is systematic over a swing, not white per sample: its variance is spread
# over a typical swing of this much SOC (a wider swing is then slightly under-, a narrower over-stated).
COUNT_ERROR_SPAN = 0.3
SCALE_LIMIT = 0.3  # the counting scale error is held within +-30 %


class _Side(NamedTuple):
    """One current direction's R0 and R1, for every cell."""

    r0: FloatArray  # R0 at 1C when the model has a current dependence
    r1: FloatArray
    b1: FloatArray  # R1 (1 - a1): the fast pair's gain per step


class _SlowPair(NamedTuple):
    """The slow RC pair of one side (or the only one), for every cell."""

    r2: FloatArray
    a2: FloatArray  # exp(-dt / tau2)
    b2: FloatArray  # R2 (1 - a2)
    tau2: FloatArray


class CellBankEkf:
    """A 4-state EKF per cell (SOC, current offset, voltage bias, counting scale), vectorised."""

    def __init__(
        self,
        tables: CellTables,
        capacity_ah: float,
        soc0: FloatArray,
        *,
        soc_sigma0: float,
        offset_sigma0_a: float,
        current_noise_a: float,
        current_gain_error: float = 0.01,
        offset_walk_a_per_sqrt_h: float,
        soc_walk_per_sqrt_h: float = 0.01,
        count_scale_error: float = 0.0,
        voltage_bias_sigma0_v: float = 0.002,
        voltage_bias_walk_v_per_sqrt_h: float = 0.001,
        scale_sigma0: float = 0.0,
    ) -> None:
        n = soc0.size
        self.tables = tables
        self.capacity_ah = capacity_ah
        self.soc = soc0.astype(np.float64).copy()
        self.offset = np.zeros(n)
        self.vbias = np.zeros(n)
        self.v1 = np.zeros(n)
        self.v2 = np.zeros(n)
        self.hyst = np.zeros(n)
        self.p00 = np.full(n, soc_sigma0**2)
        self.p01 = np.zeros(n)
        self.p11 = np.full(n, offset_sigma0_a**2)
        self.p02 = np.zeros(n)
        self.p12 = np.zeros(n)
        self.p22 = np.full(n, voltage_bias_sigma0_v**2)
        self.scale = np.zeros(n)
        self.p03 = np.zeros(n)
        self.p13 = np.zeros(n)
        self.p23 = np.zeros(n)
        self.p33 = np.full(n, scale_sigma0**2)
        self.scale_enabled = scale_sigma0 > 0.0
        self.vbias_walk_var_per_s = voltage_bias_walk_v_per_sqrt_h**2 / SECONDS_PER_HOUR
        self.current_noise_a = current_noise_a
        self.current_gain_error = current_gain_error
        self.offset_walk_var_per_s = offset_walk_a_per_sqrt_h**2 / SECONDS_PER_HOUR
        self.soc_walk_var_per_s = soc_walk_per_sqrt_h**2 / SECONDS_PER_HOUR
        # Counting errors that scale with the charge moved (a wrong capacity, the sensor's gain): added
        # per unit of SOC counted, so that a swing of COUNT_ERROR_SPAN gains count_scale_error of it.
        self.count_var_per_soc = count_scale_error**2 * COUNT_ERROR_SPAN
        self.rejected_measurements = 0
        # Learned resistance relative to the model (ageing, a wrong capacity scaling), set by the pack.
        self.resistance_scale = 1.0
        # RC parameters at the last refresh (columns R0, R1, tau1, R2, tau2) and the step factors.
        self._rc_dt = -1.0
        self._rc_age_s = 0.0
        self.slow_tau_s = 0.0  # the slow pair's time constant now (the longest over the cells)
        # R0 (at 1C when the model has a current dependence), R1 and R2 of the side in use.
        self._r0_table = np.zeros(n)
        self._r1 = np.zeros(n)
        self._r2 = np.zeros(n)
        self._r0 = np.zeros(n)
        self._r_total = np.zeros(n)
        self._rows = np.zeros(n)
        self._a1 = self._b1 = self._a2 = self._b2 = np.zeros(n)
        # Direction of the R0/R1 side in use: +1 charge, -1 discharge (a start at rest takes discharge).
        self.direction = -1
        self._deadband_a = DIRECTION_DEADBAND_C * capacity_ah
        # Both sides from the last refresh: a sign change between refreshes swaps them in without
        # another table read.
        self._sides: tuple[_Side, ...] = ()
        # A model with a slow pair per side: (discharge, charge) from the last refresh, and which cells
        # use the charge side now. The side follows the sign of the pair's own voltage, not the current:
        # a sustained charge's polarisation and its relaxation are the charge side's, while a drive's
        # regen pulses leave a discharged cell's diffusion on the discharge side.
        self._slow_sides: tuple[_SlowPair, ...] = ()
        self._slow_charging: BoolArray | None = None
        # R0 falling with the current (models fitted to pulses at several currents): R0 and R0 + R1 + R2
        # at the present |current| are worked out when read (every few seconds), not on every step.
        self._current_dependent = tables.current_dependent
        self._current_abs_a = 0.0
        self._r_stale = False

    def copy(self) -> CellBankEkf:
        """An independent copy of the filter's state; the tables (read only, and large) are shared."""
        return copy.deepcopy(self, {id(self.tables): self.tables})

    @property
    def effective_capacity_ah(self) -> float:
        """The capacity the counting works with: the learned one corrected by the scale state."""
        if not self.scale_enabled:
            return self.capacity_ah
        return self.capacity_ah / (1.0 + float(np.mean(self.scale)))

    @property
    def r0(self) -> FloatArray:
        """R0 of every cell at the present current and direction (ohm)."""
        if self._r_stale:
            self._update_r()
        return self._r0

    @property
    def r_total(self) -> FloatArray:
        """R0 + R1 + R2 of every cell at the present current and direction (ohm)."""
        if self._r_stale:
            self._update_r()
        return self._r_total

    def r0_at(self, current_abs_a: float) -> FloatArray:
        """R0 of the side in use at another |current| (r0 itself without a current dependence)."""
        if not self._current_dependent:
            return self.r0
        out: FloatArray = self._r0_table * self.tables.r0_factor(current_abs_a, self._rows)
        return out

    def resistance_per_degree(self, current_abs_a: float) -> FloatArray:
        """|d ln(R0 + R1 + R2) / dT| of every cell at its SOC and temperature and at ``current_abs_a``
        (per degC): how far a wrong temperature reading moves the polarisation the model predicts."""
        rows = self._rows
        lo_rows = np.maximum(rows - 1.0, 0.0)
        hi_rows = np.minimum(rows + 1.0, float(T_MAX_C - T_MIN_C))
        span = np.maximum(hi_rows - lo_rows, 1.0)

        def total(at: FloatArray) -> FloatArray:
            rc = self.tables.rc(self.soc, at)
            r0 = rc[:, 0] * self.tables.r0_factor(current_abs_a, at)
            out: FloatArray = r0 + rc[:, 1] + rc[:, 3]
            return out

        out: FloatArray = np.abs(np.log(total(hi_rows) / total(lo_rows))) / span
        return out

    def _update_r(self) -> None:
        self._r_stale = False
        if self._current_dependent:
            self._r0 = self._r0_table * self.tables.r0_factor(self._current_abs_a, self._rows)
        else:
            self._r0 = self._r0_table
        self._r_total = self._r0 + self._r1 + self._r2

    def _refresh_rc(self, dt_s: float, temp_rows: FloatArray) -> None:
        rc = self.tables.rc(self.soc, temp_rows)
        k = self.resistance_scale
        self._a1 = np.exp(-dt_s / rc[:, 2])
        self._rows = temp_rows
        if self.tables.directional:
            sides = []
            for first in (DISCHARGE_COLUMNS, CHARGE_COLUMNS):  # index (direction + 1) // 2
                r1 = rc[:, first + 1] * k
                sides.append(_Side(rc[:, first] * k, r1, r1 * (1.0 - self._a1)))
            self._sides = tuple(sides)
            self._use_side(self._sides[(self.direction + 1) // 2])
        else:
            r1 = rc[:, 1] * k
            self._use_side(_Side(rc[:, 0] * k, r1, r1 * (1.0 - self._a1)))
        if self.tables.slow_sided:
            self._slow_sides = tuple(
                self._slow_pair(dt_s, rc[:, first + 2] * k, rc[:, first + 3])
                for first in (DISCHARGE_COLUMNS, CHARGE_COLUMNS)
            )
            self._use_slow(self.v2 > 0.0 if self._slow_charging is None else self._slow_charging)
        else:
            self._set_slow(self._slow_pair(dt_s, rc[:, 3] * k, rc[:, 4]))
        self._update_r()
        self._rc_dt = dt_s
        self._rc_age_s = 0.0

    @staticmethod
    def _slow_pair(dt_s: float, r2: FloatArray, tau2: FloatArray) -> _SlowPair:
        a2 = np.exp(-dt_s / tau2)
        return _SlowPair(r2, a2, r2 * (1.0 - a2), tau2)

    def _use_side(self, side: _Side) -> None:
        self._r0_table, self._r1, self._b1 = side
        self._r_stale = True

    def _use_slow(self, charging: BoolArray) -> None:
        """Each cell's slow pair from the side ``charging`` says (True: the charge side)."""
        discharge, charge = self._slow_sides
        self._set_slow(_SlowPair(*(np.where(charging, c, d) for c, d in zip(charge, discharge, strict=True))))
        self._slow_charging = charging

    def _set_slow(self, pair: _SlowPair) -> None:
        self._r2, self._a2, self._b2 = pair.r2, pair.a2, pair.b2
        if self.tables.model.has_second_rc:  # (without one, tau2 is a placeholder)
            self.slow_tau_s = float(np.max(pair.tau2))
        self._r_stale = True

    def predict(
        self, dt_s: float, current_a: float, temp_rows: FloatArray, rows_changed: bool = True
    ) -> None:
        """Advance every cell by ``dt_s`` under the measured pack current."""
        if self.tables.directional and abs(current_a) > self._deadband_a:
            direction = 1 if current_a > 0 else -1
            if direction != self.direction:
                self.direction = direction
                if self._sides:
                    self._use_side(self._sides[(direction + 1) // 2])
        if self._current_dependent:
            self._current_abs_a = abs(current_a)
            self._r_stale = True
        # RC parameters change slowly with SOC: re-read them every REFRESH_S or on any other change.
        if rows_changed or dt_s != self._rc_dt or self._rc_age_s >= REFRESH_S:
            self._refresh_rc(dt_s, temp_rows)
        else:
            self._rc_age_s += dt_s
        q_as = self.capacity_ah * SECONDS_PER_HOUR
        true_i = current_a - self.offset
        counted = true_i * (dt_s / q_as)
        self._add_counted(counted)
        if self._slow_sides:
            # A pair at rest (zero) takes the side the current is about to push it to.
            charging = np.where(self.v2 != 0.0, self.v2 > 0.0, true_i > 0.0)
            if self._slow_charging is None or not np.array_equal(charging, self._slow_charging):
                self._use_slow(charging)
        self.v1 = self._a1 * self.v1 + self._b1 * true_i
        self.v2 = self._a2 * self.v2 + self._b2 * true_i
        # Hysteresis moves towards the branch of the current's direction, faster with more charge moved.
        if abs(current_a) > 1e-3 * self.capacity_ah:
            e = math.exp(-abs(current_a) * dt_s * self.tables.model.hysteresis_rate / q_as)
            self.hyst = e * self.hyst + (1.0 - e) * math.copysign(1.0, current_a)
        c = -dt_s / q_as
        # Counting error: sensor noise, gain error on this current, plus a slow model random walk.
        count_var = (self.current_noise_a * c) ** 2 + (self.current_gain_error * current_a * c) ** 2
        if self.count_var_per_soc:
            count_var += self.count_var_per_soc * abs(current_a * c)
        p01, p11 = self.p01, self.p11
        walk = count_var + self.soc_walk_var_per_s * dt_s
        if self.scale_enabled:
            # F = [[1, c (1 + e), 0, counted], I...]: the offset's and the scale's columns.
            cf = c * (1.0 + self.scale)
            p03, p13, p33 = self.p03, self.p13, self.p33
            self.p00 = (
                self.p00
                + (2.0 * cf) * p01
                + (cf * cf) * p11
                + counted * (2.0 * p03 + (2.0 * cf) * p13 + counted * p33)
                + walk
            )
            self.p01 = p01 + cf * p11 + counted * p13
            self.p02 = self.p02 + cf * self.p12 + counted * self.p23
            self.p03 = p03 + cf * p13 + counted * p33
        else:
            self.p00 = self.p00 + (2.0 * c) * p01 + (c * c) * p11 + walk
            self.p01 = p01 + c * p11
            self.p02 = self.p02 + c * self.p12
        self.p11 = p11 + self.offset_walk_var_per_s * dt_s
        self.p22 = self.p22 + self.vbias_walk_var_per_s * dt_s

    def correct_voltage(
        self,
        voltages_v: FloatArray,
        current_a: float,
        valid: BoolArray | None,
        voltage_var: FloatArray,
        *,
        relinearize: bool = False,
        ocv_soc_var: float = 0.0,
    ) -> None:
        """Fuse one terminal-voltage measurement per cell (variance ``voltage_var``, V^2).

        ``valid`` None means every cell is valid; otherwise cells with False are skipped.
        ``relinearize``: linearise the OCV curve at the SOC the voltage itself points to, not at the
        estimate. Worth it while the estimate may be far off (an uncertain start): the slope at a
        wrong SOC makes one update move only part of the way and then believe itself, and the rest
        of the error is then worked off at the pace the model error allows (tens of minutes).
        ``ocv_soc_var``: how far along SOC the OCV curve itself may be misplaced (fraction^2); it adds
        slope^2 times it to the voltage variance, so it weighs only where the curve is steep.
        """
        r0 = self.r0
        known = self.v1 + self.v2 + self.vbias + r0 * (current_a - self.offset)
        if relinearize:
            h = float(np.mean(self.hyst))
            fill = voltages_v if valid is None else np.where(valid, voltages_v, 0.0)
            lin = np.asarray(self.tables.model.soc_from_ocv(fill - known, h), dtype=np.float64)
            ocv, g = self.tables.ocv(lin, self.hyst)
            resid = voltages_v - (ocv + known)
            # h(x) ~ OCV(lin) + g (x - lin): the innovation is taken about the new point.
            y = resid + g * (lin - self.soc)
        else:
            ocv, g = self.tables.ocv(self.soc, self.hyst)
            y = resid = voltages_v - (ocv + known)
        # A jump of half a volt is a sensor glitch, not information about SOC. (Skipping the voltage on
        # the LFP plateau altogether was tried and measured worse: with the variance inflation below it
        # still carries some information.)
        glitch = resid * resid > 0.25
        if valid is not None or glitch.any():
            use = ~glitch if valid is None else valid & ~glitch
            self.rejected_measurements += int(np.count_nonzero(glitch))
            y = np.where(use, y, 0.0)
        else:
            use = None
        # P H^T with H = [g, -R0, 1, 0] (the scale's column, k3, below).
        k0 = self.p00 * g - self.p01 * r0 + self.p02
        k1 = self.p01 * g - self.p11 * r0 + self.p12
        k2 = self.p02 * g - self.p12 * r0 + self.p22
        # Huber-style robustness: an innovation beyond 3 sigma is model mismatch (a knee, a cold
        # cell), not proof; widening S to fit it caps its pull at what a 3-sigma error may do.
        if ocv_soc_var:
            voltage_var = voltage_var + g * g * ocv_soc_var
        inv_s = 1.0 / np.maximum(g * k0 - r0 * k1 + k2 + voltage_var, y * y * (1.0 / 9.0))
        if use is not None:
            inv_s = inv_s * use
        # The offset is a "consider" state here (Schmidt-Kalman): voltage residuals are mostly model
        # error, and letting them steer the offset made the counting between anchors worse in the
        # validation. The offset learns from anchors (observe_soc) and from the sensor's reading in
        # rests (observe_offset) only; its covariance terms stay consistent.
        gain_y = inv_s * y
        self.soc = np.minimum(np.maximum(self.soc + k0 * gain_y, -0.02), 1.02)
        self.vbias = self.vbias + k2 * gain_y
        k0_s = k0 * inv_s
        self.p00 = np.maximum(self.p00 - k0_s * k0, 1e-10)
        self.p01 = self.p01 - k0_s * k1
        self.p02 = self.p02 - k0_s * k2
        self.p12 = self.p12 - k1 * k2 * inv_s
        self.p22 = np.maximum(self.p22 - k2 * k2 * inv_s, 1e-12)
        if self.scale_enabled:
            k3 = self.p03 * g - self.p13 * r0 + self.p23
            self._update_scale(k0, k1, k2, k3, inv_s, gain_y)

    def _update_scale(
        self,
        k0: FloatArray,
        k1: FloatArray,
        k2: FloatArray,
        k3: FloatArray,
        inv_s: FloatArray,
        gain_y: FloatArray,
    ) -> None:
        # The scale's row and column of P - K S K^T (K = P H^T / S), and its state.
        self.scale = np.clip(self.scale + k3 * gain_y, -SCALE_LIMIT, SCALE_LIMIT)
        k3_s = k3 * inv_s
        self.p03 = self.p03 - k3_s * k0
        self.p13 = self.p13 - k3_s * k1
        self.p23 = self.p23 - k3_s * k2
        self.p33 = np.maximum(self.p33 - k3_s * k3, 1e-10)

    def observe_soc(self, soc: FloatArray, sigma: FloatArray | float, mask: BoolArray | None = None) -> None:
        """Fuse a direct SOC reading (full-charge sync, rested OCV) with its own uncertainty."""
        y = soc - self.soc
        k0, k1, k2 = self.p00, self.p01, self.p02
        inv_s = 1.0 / (self.p00 + np.asarray(sigma) ** 2)
        if mask is not None:
            inv_s = inv_s * mask
        self._apply(k0, k1, k2, self.p03, inv_s, y)

    def observe_offset(self, offset_a: float, sigma_a: float) -> None:
        """Fuse a direct reading of the current-sensor offset (the mean current of a rest).

        H = [0, 1, 0, 0] for every cell (one sensor measures the string's current). Through p01 the SOC
        counted with the wrong offset since the last anchor moves back as well, and through p12 the
        voltage bias, so offset, SOC and their covariance stay consistent.
        """
        y = offset_a - self.offset
        inv_s = 1.0 / (self.p11 + sigma_a * sigma_a)
        self._apply(self.p01, self.p11, self.p12, self.p13, inv_s, y)

    def _apply(
        self,
        k0: FloatArray,
        k1: FloatArray,
        k2: FloatArray,
        k3: FloatArray,
        inv_s: FloatArray,
        y: FloatArray,
    ) -> None:
        gain_y = inv_s * y
        if self.scale_enabled:
            self._update_scale(k0, k1, k2, k3, inv_s, gain_y)
        self.soc = np.minimum(np.maximum(self.soc + k0 * gain_y, -0.02), 1.02)
        self.offset = self.offset + k1 * gain_y
        self.vbias = self.vbias + k2 * gain_y
        k0_s = k0 * inv_s
        k1_s = k1 * inv_s
        self.p00 = np.maximum(self.p00 - k0_s * k0, 1e-10)
        self.p01 = self.p01 - k0_s * k1
        self.p02 = self.p02 - k0_s * k2
        self.p11 = np.maximum(self.p11 - k1_s * k1, 1e-12)
        self.p12 = self.p12 - k1_s * k2
        self.p22 = np.maximum(self.p22 - k2 * k2 * inv_s, 1e-12)

    def count_cell_charge(self, charge_ah: FloatArray) -> None:
        """Add charge each cell took on its own (balancing; + = into the cell), counted like the rest."""
        self._add_counted(charge_ah / self.capacity_ah)

    def _add_counted(self, counted: FloatArray | float) -> None:
        # Counted SOC change x (1 + scale) is the true one.
        self.soc = self.soc + (counted * (1.0 + self.scale) if self.scale_enabled else counted)

    def inflate(self, soc_var: float) -> None:
        """Add SOC variance, e.g. while the current sensor is missing."""
        self.p00 = self.p00 + soc_var

    def set_soc(self, soc: FloatArray, sigma: float) -> None:
        """Overwrite SOC (user command) and forget its correlation with the offset."""
        self.soc = soc.astype(np.float64).copy()
        self.p00 = np.full(self.soc.size, sigma**2)
        self.p01 = np.zeros(self.soc.size)
        self.p02 = np.zeros(self.soc.size)
        self.p03 = np.zeros(self.soc.size)

    def reset_scale(self, sigma: float) -> None:
        """Start the counting scale afresh (a new capacity is in use, or the first anchor for a scale that
        waits for one) with this uncertainty; a zero sigma leaves the filter as it is."""
        if sigma <= 0.0:
            return
        self.scale_enabled = True
        n = self.soc.size
        self.scale = np.zeros(n)
        self.p03, self.p13, self.p23 = np.zeros(n), np.zeros(n), np.zeros(n)
        self.p33 = np.full(n, sigma * sigma)
