"""A wrong or unknown start: the first voltages must be read where the OCV curve actually is."""

from __future__ import annotations

import numpy as np

from smartbms.estimation import PackEstimator, shipped_model
from smartbms.estimation.soc.ekf import CellBankEkf
from smartbms.estimation.soc.tables import CellTables, temperature_rows

from .ecm_plant import EcmPlant

CAP = 100.0


def _bank(soc0: float) -> tuple[CellBankEkf, np.ndarray]:
    model = shipped_model("NMC")
    ekf = CellBankEkf(
        CellTables(model, CAP),
        CAP,
        np.array([soc0]),
        soc_sigma0=0.2,
        offset_sigma0_a=CAP / 400,
        current_noise_a=CAP / 500,
        offset_walk_a_per_sqrt_h=CAP / 2000,
    )
    rows = temperature_rows(np.array([25.0]))
    ekf.predict(1.0, 0.0, rows)
    return ekf, np.asarray(model.ocv(np.array([0.8]), 0.0))


def test_relinearised_update_lands_on_the_soc_the_voltage_points_to() -> None:
    # Linearised at a SOC 40 % off, the slope there is wrong and one update overshoots or stops short;
    # linearised where the voltage points, it lands there and its sigma is that of the voltage.
    plain, v = _bank(0.4)
    plain.correct_voltage(v, 0.0, None, np.array([0.003**2]))
    relin, _ = _bank(0.4)
    relin.correct_voltage(v, 0.0, None, np.array([0.003**2]), relinearize=True)
    assert abs(relin.soc[0] - 0.8) < 0.005
    assert abs(relin.soc[0] - 0.8) < abs(plain.soc[0] - 0.8)
    assert np.sqrt(relin.p00[0]) < 0.01


def test_relinearised_update_skips_invalid_cells() -> None:
    ekf, v = _bank(0.4)
    ekf.correct_voltage(v, 0.0, np.array([False]), np.array([0.003**2]), relinearize=True)
    assert ekf.soc[0] == 0.4


def _start(current_a: float) -> tuple[float, float]:
    model = shipped_model("NMC")
    plants = [EcmPlant(model, CAP, 0.7) for _ in range(4)]
    est = PackEstimator(chemistry="NMC", cells_series=4, capacity_ah=CAP, initial_soc_pct=50.0)
    e = None
    for k in range(10):
        volts = [p.step(current_a, 1.0) for p in plants]
        e = est.update(timestamp=k + 1, current_a=current_a, cell_voltages_v=volts, temperatures_c=(25.0,))
    assert e is not None
    return e.soc_pct - 100 * plants[0].soc, e.soc_sigma_pct


def test_a_20_percent_wrong_start_at_rest_is_fixed_by_the_first_voltage() -> None:
    err, sigma = _start(0.0)
    assert abs(err) < 1.0
    assert abs(err) < 2 * sigma


def test_a_wrong_start_under_load_admits_the_unknown_rc_voltage() -> None:
    # Under load the RC pairs hold a voltage the estimator never saw build up: the first reading is
    # less certain, and the sigma must say so (truth inside 2 sigma), yet most of the error is gone.
    err, sigma = _start(-30.0)
    rest_sigma = _start(0.0)[1]
    assert abs(err) < 6.0
    assert abs(err) < 2 * sigma
    assert sigma > rest_sigma
