"""Extended Kalman filter for every cell of a series string at once.

Why an EKF and not a UKF: the only nonlinearity is the OCV curve, smooth and monotone between the
knees, with its slope known from the table; linearising it costs nothing and loses little, while a
UKF would need sigma points per cell. A UKF's advantage, no Jacobian, buys nothing here.

Filter state per cell: SOC (fraction) and the current-sensor offset b (A; measured = true + b). The
offset is what makes counting drift; once the filter links SOC errors to it (through their
covariance), every anchor (voltage on a steep part of the curve, a full-charge sync, a rested OCV)
also corrects the offset, so the drift shrinks between anchors. That matters most for LFP.

The RC-pair voltages and the LFP hysteresis are deterministic functions of the current history given
the model, so they are propagated outside the covariance. This keeps the covariance three arrays
(p00, p01, p11) and a 16-cell update to a few dozen numpy operations.
"""

from __future__ import annotations

import numpy as np

from smartbms.estimation.cell_model import FloatArray
from smartbms.estimation.soc.tables import CellTables

SECONDS_PER_HOUR = 3600.0
REFRESH_SOC = 0.01  # re-read RC parameters after this much SOC change
REFRESH_S = 60.0


class CellBankEkf:
    """A 2-state EKF per cell (SOC, current offset), vectorised over the cells."""

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
        soc_walk_per_sqrt_h: float = 0.005,
    ) -> None:
        n = soc0.size
        self.tables = tables
        self.capacity_ah = capacity_ah
        self.soc = soc0.astype(np.float64).copy()
        self.offset = np.zeros(n)
        self.v1 = np.zeros(n)
        self.v2 = np.zeros(n)
        self.hyst = np.zeros(n)
        self.p00 = np.full(n, soc_sigma0**2)
        self.p01 = np.zeros(n)
        self.p11 = np.full(n, offset_sigma0_a**2)
        self.current_noise_a = current_noise_a
        self.current_gain_error = current_gain_error
        self.offset_walk_var_per_s = offset_walk_a_per_sqrt_h**2 / SECONDS_PER_HOUR
        self.soc_walk_var_per_s = soc_walk_per_sqrt_h**2 / SECONDS_PER_HOUR
        self.rejected_measurements = 0
        # RC parameters at the last refresh (columns R0, R1, tau1, R2, tau2) and the step factors.
        self._rc_soc = np.full(n, -1.0)
        self._rc_rows = np.full(n, -1.0)
        self._rc_dt = -1.0
        self._rc_age_s = 0.0
        self.r0 = np.zeros(n)
        self.r_total = np.zeros(n)
        self._a1 = self._b1 = self._a2 = self._b2 = np.zeros(n)

    def _refresh_rc(self, dt_s: float, temp_rows: FloatArray) -> None:
        stale = (
            dt_s != self._rc_dt
            or self._rc_age_s >= REFRESH_S
            or not np.array_equal(temp_rows, self._rc_rows)
            or float(np.max(np.abs(self.soc - self._rc_soc))) > REFRESH_SOC
        )
        if not stale:
            self._rc_age_s += dt_s
            return
        rc = self.tables.rc(self.soc, temp_rows)
        r0, r1, tau1, r2, tau2 = rc[:, 0], rc[:, 1], rc[:, 2], rc[:, 3], rc[:, 4]
        self.r0 = r0
        self.r_total = r0 + r1 + r2
        self._a1 = np.exp(-dt_s / tau1)
        self._b1 = r1 * (1.0 - self._a1)
        self._a2 = np.exp(-dt_s / tau2)
        self._b2 = r2 * (1.0 - self._a2)
        self._rc_soc = self.soc.copy()
        self._rc_rows = temp_rows.copy()
        self._rc_dt = dt_s
        self._rc_age_s = 0.0

    def predict(self, dt_s: float, current_a: float, temp_rows: FloatArray) -> None:
        """Advance every cell by ``dt_s`` under the measured pack current."""
        self._refresh_rc(dt_s, temp_rows)
        q_as = self.capacity_ah * SECONDS_PER_HOUR
        true_i = current_a - self.offset
        self.soc = self.soc + true_i * (dt_s / q_as)
        self.v1 = self._a1 * self.v1 + self._b1 * true_i
        self.v2 = self._a2 * self.v2 + self._b2 * true_i
        # Hysteresis moves towards the branch of the current's direction, faster with more charge moved.
        if abs(current_a) > 1e-3 * self.capacity_ah:
            e = np.exp(-abs(current_a) * dt_s * self.tables.model.hysteresis_rate / q_as)
            self.hyst = e * self.hyst + (1.0 - e) * np.sign(current_a)
        c = -dt_s / q_as
        # Counting error: sensor noise, gain error on this current, plus a slow model random walk.
        count_var = (self.current_noise_a * c) ** 2 + (self.current_gain_error * current_a * c) ** 2
        p01, p11 = self.p01, self.p11
        self.p00 = self.p00 + 2.0 * c * p01 + c * c * p11 + count_var + self.soc_walk_var_per_s * dt_s
        self.p01 = p01 + c * p11
        self.p11 = p11 + self.offset_walk_var_per_s * dt_s

    def correct_voltage(
        self, voltages_v: FloatArray, current_a: float, valid: FloatArray, voltage_sigma_v: FloatArray | float
    ) -> None:
        """Fuse one terminal-voltage measurement per cell; cells with ``valid`` False are skipped."""
        ocv, g = self.tables.ocv(self.soc, self.hyst)
        r0 = self.r0
        y = voltages_v - (ocv + self.v1 + self.v2 + r0 * (current_a - self.offset))
        # A jump of half a volt is a sensor glitch, not information about SOC.
        use = valid & (np.abs(y) < 0.5)
        if not use.all():
            self.rejected_measurements += int(np.sum(valid & ~use))
            y = np.where(use, y, 0.0)
        p00, p01, p11 = self.p00, self.p01, self.p11
        k0 = p00 * g - p01 * r0
        k1 = p01 * g - p11 * r0
        inv_s = use / (g * k0 - r0 * k1 + voltage_sigma_v * voltage_sigma_v)
        self._apply(k0, k1, inv_s, y)

    def observe_soc(self, soc: FloatArray, sigma: FloatArray | float, mask: FloatArray | None = None) -> None:
        """Fuse a direct SOC reading (full-charge sync, rested OCV) with its own uncertainty."""
        y = soc - self.soc
        k0, k1 = self.p00, self.p01
        inv_s = 1.0 / (self.p00 + np.asarray(sigma) ** 2)
        if mask is not None:
            inv_s = inv_s * mask
        self._apply(k0, k1, inv_s, y)

    def _apply(self, k0: FloatArray, k1: FloatArray, inv_s: FloatArray, y: FloatArray) -> None:
        self.soc = np.clip(self.soc + k0 * inv_s * y, -0.02, 1.02)
        self.offset = self.offset + k1 * inv_s * y
        self.p00 = np.maximum(self.p00 - k0 * k0 * inv_s, 1e-10)
        self.p01 = self.p01 - k0 * k1 * inv_s
        self.p11 = np.maximum(self.p11 - k1 * k1 * inv_s, 1e-12)

    def inflate(self, soc_var: float) -> None:
        """Add SOC variance, e.g. while the current sensor is missing."""
        self.p00 = self.p00 + soc_var

    def set_soc(self, soc: FloatArray, sigma: float) -> None:
        """Overwrite SOC (user command) and forget its correlation with the offset."""
        self.soc = soc.astype(np.float64).copy()
        self.p00 = np.full(self.soc.size, sigma**2)
        self.p01 = np.zeros(self.soc.size)
