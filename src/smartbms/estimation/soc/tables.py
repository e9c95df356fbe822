"""Cell-model lookups resampled onto uniform grids, so a whole pack is looked up with index arithmetic.

``np.interp`` cannot use a different table per cell; these grids can: the SOC index and weight are
computed once per update and every table is read with the same fancy indexing.
"""

from __future__ import annotations

import numpy as np

from smartbms.estimation.cell_model import CellModel, FloatArray, butler_volmer_shape

OCV_POINTS = 10_000  # SOC steps of 0.01 %: nearest-point lookup is then as good as interpolation
RC_POINTS = 100  # SOC steps of 1 %
T_MIN_C, T_MAX_C = -40, 80  # 1 degC rows; sensors outside are clamped
# R0, R1, tau1, R2, tau2 (the mean of both sides), then R0, R1, R2, tau2 of the charge side and of the
# discharge side.
RC_COLUMNS = 13
CHARGE_COLUMNS = 5
DISCHARGE_COLUMNS = 9
TIME_CONSTANT_COLUMNS = (2, 4, 8, 12)


class CellTables:
    """OCV, slope and RC parameters of one cell model scaled to a pack's capacity."""

    def __init__(self, model: CellModel, capacity_ah: float) -> None:
        self.model = model
        fine = np.linspace(0.0, 1.0, OCV_POINTS + 1)
        self.ocv_mid = model.ocv(fine, 0.0)
        self.ocv_half = model.ocv(fine, 1.0) - self.ocv_mid
        self.slope = model.ocv_slope(fine)
        # A parallel group of k cells has 1/k the resistance: scale by the capacity ratio.
        scale = model.capacity_ah / capacity_ah
        rc_soc = np.linspace(0.0, 1.0, RC_POINTS + 1)
        temps = np.arange(T_MIN_C, T_MAX_C + 1, dtype=np.float64)
        # Axis 2: see RC_COLUMNS. A model without directional tables repeats the mean in both sides'
        # columns, so a reader of either side gets exactly what it got before the sides existed.
        rc = np.empty((temps.size, rc_soc.size, RC_COLUMNS))
        for i, t in enumerate(temps):
            mean = model.rc_tables_at(float(t))
            r0c, r1c, _, r2c, tau2c = model.rc_tables_at(float(t), 1)
            r0d, r1d, _, r2d, tau2d = model.rc_tables_at(float(t), -1)
            for j, table in enumerate((*mean, r0c, r1c, r2c, tau2c, r0d, r1d, r2d, tau2d)):
                unscaled = j in TIME_CONSTANT_COLUMNS
                rc[i, :, j] = np.interp(rc_soc, model.soc_grid, table) * (1.0 if unscaled else scale)
        self.rc_table = rc
        self.directional = model.has_directional_resistance
        self.slow_sided = model.has_sided_slow_pair
        # R0 against the current (see CellModel.r0_current_factor), per 1 degC row, currents in pack amps.
        self.current_dependent = model.has_current_dependence
        self.r0_share = np.zeros(temps.size)
        self.r0_inv_i0_a = np.zeros(temps.size)
        self.r0_inv_ref = np.ones(temps.size)
        if self.current_dependent:
            for i, t in enumerate(temps):
                params = model.r0_current_params_at(float(t))
                assert params is not None
                share, i0_c = params
                self.r0_share[i] = share
                self.r0_inv_i0_a[i] = 1.0 / (i0_c * capacity_ah)
                self.r0_inv_ref[i] = 1.0 / float(butler_volmer_shape(np.asarray(1.0 / i0_c), share))

    def ocv(self, soc: FloatArray, hysteresis: FloatArray) -> tuple[FloatArray, FloatArray]:
        """OCV and its slope dOCV/dSOC (per unit SOC) for each cell."""
        i = (np.minimum(np.maximum(soc, 0.0), 1.0) * OCV_POINTS + 0.5).astype(np.intp)
        return self.ocv_mid.take(i) + hysteresis * self.ocv_half.take(i), self.slope.take(i)

    def rc(self, soc: FloatArray, temp_rows: FloatArray) -> FloatArray:
        """Columns R0, R1, tau1, R2, tau2 (one row per cell) at each cell's SOC and temperature row.

        Then R0, R1, R2, tau2 of the charge side (from CHARGE_COLUMNS) and of the discharge side (from
        DISCHARGE_COLUMNS); the mean again for a model without directional tables.
        """
        x = np.minimum(np.maximum(soc, 0.0), 1.0) * RC_POINTS
        i = np.minimum(x.astype(np.intp), RC_POINTS - 1)
        t = temp_rows.astype(np.intp)
        lo = self.rc_table[t, i]
        out: FloatArray = lo + (x - i)[:, None] * (self.rc_table[t, i + 1] - lo)
        return out

    def r0_factor(self, current_abs_a: float, temp_rows: FloatArray) -> FloatArray:
        """R0 at ``current_abs_a`` over the tabled R0 (at 1C) for each cell's temperature row.

        All ones for a model without a current dependence.
        """
        t = temp_rows.astype(np.intp)
        if not self.current_dependent:
            return np.ones(t.size)
        share = self.r0_share.take(t)
        out: FloatArray = butler_volmer_shape(current_abs_a * self.r0_inv_i0_a.take(t), share)
        return out * self.r0_inv_ref.take(t)


def temperature_rows(temperatures_c: FloatArray) -> FloatArray:
    """Row index of each temperature in the 1 degC tables (nearest, clamped)."""
    rows: FloatArray = np.clip(np.rint(temperatures_c) - T_MIN_C, 0, T_MAX_C - T_MIN_C)
    return rows
