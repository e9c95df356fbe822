"""Cell-model lookups resampled onto uniform grids, so a whole pack is looked up with index arithmetic.

``np.interp`` cannot use a different table per cell; these grids can: the SOC index and weight are
computed once per update and every table is read with the same fancy indexing.
"""

from __future__ import annotations

import numpy as np

from smartbms.estimation.cell_model import CellModel, FloatArray

OCV_POINTS = 400  # SOC steps of 0.25 %
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
        r0 = np.empty((temps.size, rc_soc.size))
        r1 = np.empty_like(r0)
        tau = np.empty_like(r0)
        for i, t in enumerate(temps):
            a, b, c = model.rc_tables_at(float(t))
            r0[i] = np.interp(rc_soc, model.soc_grid, a) * scale
            r1[i] = np.interp(rc_soc, model.soc_grid, b) * scale
            tau[i] = np.interp(rc_soc, model.soc_grid, c)
        self.r0, self.r1, self.tau = r0, r1, tau

    def ocv(self, soc: FloatArray, hysteresis: FloatArray) -> tuple[FloatArray, FloatArray]:
        """OCV and its slope dOCV/dSOC (per unit SOC) for each cell."""
        x = np.clip(soc, 0.0, 1.0) * OCV_POINTS
        i = np.minimum(x.astype(np.intp), OCV_POINTS - 1)
        w = x - i
        mid = self.ocv_mid[i] + w * (self.ocv_mid[i + 1] - self.ocv_mid[i])
        half = self.ocv_half[i] + w * (self.ocv_half[i + 1] - self.ocv_half[i])
        slope = self.slope[i] + w * (self.slope[i + 1] - self.slope[i])
        return mid + hysteresis * half, slope

    def rc(self, soc: FloatArray, temp_rows: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """R0, R1, tau1 for each cell at its SOC and temperature row (see ``temperature_rows``)."""
        x = np.clip(soc, 0.0, 1.0) * RC_POINTS
        i = np.minimum(x.astype(np.intp), RC_POINTS - 1)
        w = x - i
        t = temp_rows.astype(np.intp)
        out = []
        for tab in (self.r0, self.r1, self.tau):
            lo = tab[t, i]
            out.append(lo + w * (tab[t, i + 1] - lo))
        return out[0], out[1], out[2]


def temperature_rows(temperatures_c: FloatArray) -> FloatArray:
    """Row index of each temperature in the 1 degC tables (nearest, clamped)."""
    return np.clip(np.rint(temperatures_c) - T_MIN_C, 0, T_MAX_C - T_MIN_C)
