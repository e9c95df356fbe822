"""Extended Kalman filter for every cell of a series string at once.

Why an EKF and not a UKF: the only nonlinearity is the OCV curve, which is smooth and monotone
between the knees; its slope is known in closed form from the table, so linearisation costs nothing
and loses little, while a UKF would need 7 sigma points per cell. Keeping the covariance as six
arrays (the unique entries of a symmetric 3x3) makes one update of 16 cells a few dozen numpy ops.

State per cell: SOC (fraction), RC-pair voltage v1 (V), current-sensor offset b (A; measured =
true + b). The offset is shared physically but estimated per cell; the pack reports the mean.
Hysteresis (LFP) is a deterministic per-cell state driven by the measured current (Plett's
one-state model), not a filter state: it is observable only at rest and costs nothing this way.
"""

from __future__ import annotations

import numpy as np

from smartbms.estimation.cell_model import FloatArray
from smartbms.estimation.soc.tables import CellTables

SECONDS_PER_HOUR = 3600.0


class CellBankEkf:
    """One 3-state EKF per cell, vectorised over the cells."""

    def __init__(
        self,
        tables: CellTables,
        capacity_ah: float,
        soc0: FloatArray,
        *,
        soc_sigma0: float,
        offset_sigma0_a: float,
        current_noise_a: float,
        offset_walk_a_per_sqrt_h: float,
    ) -> None:
        n = soc0.size
        self.tables = tables
        self.capacity_ah = capacity_ah
        self.soc = soc0.astype(np.float64).copy()
        self.v1 = np.zeros(n)
        self.offset = np.zeros(n)
        self.hyst = np.zeros(n)
        self.p00 = np.full(n, soc_sigma0**2)
        self.p01 = np.zeros(n)
        self.p02 = np.zeros(n)
        self.p11 = np.full(n, 1e-4)
        self.p12 = np.zeros(n)
        self.p22 = np.full(n, offset_sigma0_a**2)
        self.current_noise_a = current_noise_a
        self.offset_walk_var_per_s = offset_walk_a_per_sqrt_h**2 / SECONDS_PER_HOUR
        self.rejected_measurements = 0
        # Last RC parameters, kept so correct() reuses predict()'s lookups.
        self._r0 = np.zeros(n)

    def predict(self, dt_s: float, current_a: float, temp_rows: FloatArray) -> None:
        """Advance every cell by ``dt_s`` under the measured pack current."""
        q_as = self.capacity_ah * SECONDS_PER_HOUR
        r0, r1, tau = self.tables.rc(self.soc, temp_rows)
        self._r0 = r0
        true_i = current_a - self.offset
        a = np.exp(-dt_s / tau)
        c = -dt_s / q_as
        d = -r1 * (1.0 - a)
        self.soc = self.soc + true_i * (dt_s / q_as)
        self.v1 = a * self.v1 + r1 * (1.0 - a) * true_i
        # Hysteresis decays towards the branch of the current's direction, faster with more charge moved.
        if abs(current_a) > 1e-3 * self.capacity_ah:
            e = np.exp(-abs(current_a) * dt_s * self.tables.model.hysteresis_rate / q_as)
            self.hyst = e * self.hyst + (1.0 - e) * np.sign(current_a)
        p00, p01, p02, p11, p12, p22 = self.p00, self.p01, self.p02, self.p11, self.p12, self.p22
        n00 = p00 + 2 * c * p02 + c * c * p22
        n01 = a * (p01 + c * p12) + d * (p02 + c * p22)
        n02 = p02 + c * p22
        n11 = a * a * p11 + 2 * a * d * p12 + d * d * p22
        n12 = a * p12 + d * p22
        noise = self.current_noise_a * dt_s
        self.p00 = n00 + (noise / q_as) ** 2 + (1e-6 * dt_s) ** 2
        self.p01 = n01
        self.p02 = n02
        self.p11 = n11 + (r1 * (1.0 - a) * self.current_noise_a) ** 2 + 1e-8 * dt_s
        self.p12 = n12
        self.p22 = p22 + self.offset_walk_var_per_s * dt_s

    def correct(
        self, voltages_v: FloatArray, current_a: float, valid: FloatArray, voltage_sigma_v: FloatArray | float
    ) -> None:
        """Fuse one cell-voltage measurement per cell; cells with ``valid`` False are skipped."""
        ocv, g = self.tables.ocv(self.soc, self.hyst)
        r0 = self._r0
        predicted = ocv + self.v1 + r0 * (current_a - self.offset)
        y = np.where(valid, voltages_v - predicted, 0.0)
        # A jump of half a volt is a sensor glitch, not information about SOC.
        glitch = np.abs(y) > 0.5
        if glitch.any():
            self.rejected_measurements += int(glitch.sum())
            y = np.where(glitch, 0.0, y)
        use = valid & ~glitch
        p00, p01, p02, p11, p12, p22 = self.p00, self.p01, self.p02, self.p11, self.p12, self.p22
        k0 = p00 * g + p01 - r0 * p02
        k1 = p01 * g + p11 - r0 * p12
        k2 = p02 * g + p12 - r0 * p22
        s = g * k0 + k1 - r0 * k2 + np.asarray(voltage_sigma_v) ** 2
        inv_s = np.where(use, 1.0 / s, 0.0)
        self.soc = self.soc + k0 * inv_s * y
        self.v1 = self.v1 + k1 * inv_s * y
        self.offset = self.offset + k2 * inv_s * y
        self.p00 = np.maximum(p00 - k0 * k0 * inv_s, 1e-10)
        self.p01 = p01 - k0 * k1 * inv_s
        self.p02 = p02 - k0 * k2 * inv_s
        self.p11 = np.maximum(p11 - k1 * k1 * inv_s, 1e-12)
        self.p12 = p12 - k1 * k2 * inv_s
        self.p22 = np.maximum(p22 - k2 * k2 * inv_s, 1e-12)
        # Keep SOC physical; a little headroom lets the filter see it overshot.
        np.clip(self.soc, -0.02, 1.02, out=self.soc)

    def inflate(self, soc_var: float) -> None:
        """Add SOC variance, e.g. while the current sensor is missing."""
        self.p00 = self.p00 + soc_var

    def set_soc(self, soc: FloatArray, sigma: float) -> None:
        """Overwrite SOC (sync or user command) and forget its correlations."""
        self.soc = soc.astype(np.float64).copy()
        self.p00 = np.full(self.soc.size, sigma**2)
        self.p01 = np.zeros(self.soc.size)
        self.p02 = np.zeros(self.soc.size)

    def rescale_capacity(self, capacity_ah: float) -> None:
        self.capacity_ah = capacity_ah
