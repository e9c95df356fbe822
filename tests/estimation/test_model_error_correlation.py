"""A cell that polarises more than its model says (a cold cell's diffusion beyond the slow pair) gives
voltage errors that last as long as that polarisation: the filter must not count them as fresh evidence
every few minutes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from smartbms.estimation import PackEstimator, shipped_model
from smartbms.estimation.cell_model import CellModel

from .ecm_plant import EcmPlant

CAP = 50.0


def _slow_model(tau2_s: float) -> CellModel:
    model = shipped_model("NMC")
    assert model.tau2_s is not None
    return replace(model, tau2_s=np.full_like(model.tau2_s, tau2_s))


def _worst_error_pct(tau2_s: float) -> float:
    """Worst SOC error over an hour of C/2 discharge from 80 %, the cell's slow pair 3x the model's."""
    model = _slow_model(tau2_s)
    assert model.r2_ohm is not None
    plant = EcmPlant(replace(model, r2_ohm=3.0 * model.r2_ohm), CAP, 0.8)
    est = PackEstimator(
        chemistry="NMC", cells_series=1, capacity_ah=CAP, cell_model=model, initial_soc_pct=80.0
    )
    worst = 0.0
    for k in range(3600):
        v = plant.step(-CAP / 2, 1.0)
        e = est.update(timestamp=float(k + 1), current_a=-CAP / 2, cell_voltages_v=[v], temperatures_c=[25.0])
        worst = max(worst, abs(e.soc_pct - 100.0 * plant.soc))
    return worst


def test_a_slow_pairs_time_constant_sets_how_long_model_errors_last() -> None:
    # Model errors counted as independent every 5 minutes pulled SOC 7.6 % off through this hour; counted
    # once per 20 minutes (the slow pair's own time constant), 6.4 %.
    assert _worst_error_pct(1200.0) < 7.0
