"""Cell-model lookups resampled onto uniform grids, so a whole pack is looked up with index arithmetic.

``np.interp`` cannot use a different table per cell; these grids can: the SOC index and weight are
computed once per update and every table is read with the same fancy indexing.
"""

from __future__ import annotations

import numpy as np

from smartbms.estimation.cell_model import CellModel, FloatArray

OCV_POINTS = 10_000  # SOC steps of 0.01 %: nearest-point lookup is then as good as interpolation
RC_POINTS = 100  # SOC steps of 1 %
T_MIN_C, T_MAX_C = -40, 80  # 1 degC rows; sensors outside are clamped


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
        # Axis 2: R0, R1, tau1, R2, tau2.
        rc = np.empty((temps.size, rc_soc.size, 5))
        for i, t in enumerate(temps):
            for j, table in enumerate(model.rc_tables_at(float(t))):
                rc[i, :, j] = np.interp(rc_soc, model.soc_grid, table) * (scale if j in (0, 1, 3) else 1.0)
        self.rc_table = rc

    def ocv(self, soc: FloatArray, hysteresis: FloatArray) -> tuple[FloatArray, FloatArray]:
        """OCV and its slope dOCV/dSOC (per unit SOC) for each cell."""
        i = (np.minimum(np.maximum(soc, 0.0), 1.0) * OCV_POINTS + 0.5).astype(np.intp)
        return self.ocv_mid.take(i) + hysteresis * self.ocv_half.take(i), self.slope.take(i)

    def rc(self, soc: FloatArray, temp_rows: FloatArray) -> FloatArray:
        """Columns R0, R1, tau1, R2, tau2 (one row per cell) at each cell's SOC and temperature row."""
        x = np.minimum(np.maximum(soc, 0.0), 1.0) * RC_POINTS
        i = np.minimum(x.astype(np.intp), RC_POINTS - 1)
        t = temp_rows.astype(np.intp)
        lo = self.rc_table[t, i]
        out: FloatArray = lo + (x - i)[:, None] * (self.rc_table[t, i + 1] - lo)
        return out


def temperature_rows(temperatures_c: FloatArray) -> FloatArray:
    """Row index of each temperature in the 1 degC tables (nearest, clamped)."""
    rows: FloatArray = np.clip(np.rint(temperatures_c) - T_MIN_C, 0, T_MAX_C - T_MIN_C)
    return rows
