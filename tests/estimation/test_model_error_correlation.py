"""A cell that polarises more than its model says (a cold cell's diffusion beyond the slow pair) gives
voltage errors that last as long as that polarisation: the filter must not count them as fresh evidence
every few minutes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from smartbms.estimation import shipped_model
from smartbms.estimation.cell_model import CellModel

from .ecm_plant import EcmPlant, pin_nmc_counting_scale_sigma, with_slow_pair_scaled, worst_soc_error_pct

CAP = 50.0


def _slow_model(tau2_s: float) -> CellModel:
    model = shipped_model("NMC")
    assert model.tau2_s is not None
    return replace(model, tau2_s=np.full_like(model.tau2_s, tau2_s))


def _worst_error_pct(tau2_s: float) -> float:
    """Worst SOC error over an hour of C/2 discharge from 80 %, the cell's slow pair 3x the model's."""
    model = _slow_model(tau2_s)
    plant = EcmPlant(with_slow_pair_scaled(model, 3.0), CAP, 0.8)
    return worst_soc_error_pct(model, plant, [-CAP / 2] * 3600)


def test_a_slow_pairs_time_constant_sets_how_long_model_errors_last(monkeypatch: pytest.MonkeyPatch) -> None:
    pin_nmc_counting_scale_sigma(monkeypatch, 0.05)
    # Model errors counted as independent every 5 minutes pulled SOC 7.6 % off through this hour; counted
    # once per 20 minutes (the slow pair's own time constant), 6.4 %.
    assert _worst_error_pct(1200.0) < 7.0
