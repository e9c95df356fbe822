"""Where the OCV curve is steep, how far along SOC the table may sit weighs in the voltage's variance:
a rest at the top of an LFP charge must not teach the voltage bias the table's misplacement."""

from __future__ import annotations

import numpy as np

from smartbms.estimation import shipped_model
from smartbms.estimation.pack import OCV_SOC_ERROR
from smartbms.estimation.soc.ekf import CellBankEkf
from smartbms.estimation.soc.tables import CellTables


def _bias_after_a_rest_at_the_top(ocv_soc_var: float) -> float:
    """Half an hour of rest just after a full-charge sync (99.9 %, sigma 0.05 %) while the cell reads
    10 mV above the table's top (its steep end sits a fraction of a percent off this cell's), then the
    rested OCV's own SOC reading, as the pack estimator takes it."""
    tables = CellTables(shipped_model("LFP"), 100.0)
    ekf = CellBankEkf(
        tables,
        100.0,
        np.array([0.999]),
        soc_sigma0=0.0005,
        offset_sigma0_a=0.25,
        current_noise_a=0.2,
        offset_walk_a_per_sqrt_h=0.05,
    )
    ekf.hyst = np.ones(1)
    rows = np.zeros(1)
    top, _ = tables.ocv(np.ones(1), ekf.hyst)
    for k in range(360):
        ekf.predict(5.0, 0.0, rows, rows_changed=k == 0)
        ekf.correct_voltage(top + 0.010, 0.0, None, np.full(1, 0.002**2), ocv_soc_var=ocv_soc_var)
    ekf.observe_soc(np.array([0.999]), 0.0005)
    return float(ekf.vbias[0])


def test_a_steep_knee_does_not_teach_the_voltage_bias_its_misplacement() -> None:
    with_alignment = _bias_after_a_rest_at_the_top(OCV_SOC_ERROR**2)
    without = _bias_after_a_rest_at_the_top(0.0)
    # Without it the voltage tied SOC and bias together so tightly that the rest reading, moving SOC
    # back below full, moved the bias by as many millivolts as the curve climbs there (PyBaMM Prada2013
    # at -10 degC: +25 mV, which then pulled SOC along the plateau for hours).
    assert without > 0.008
    assert abs(with_alignment) < 0.5 * without
