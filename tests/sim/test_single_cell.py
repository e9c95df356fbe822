"""The scalar one-cell path computes exactly what the vectorised model computes."""

from __future__ import annotations

import numpy as np
import pytest

from smartbms.sim.models import EquivalentCircuitModel
from smartbms.sim.params import load_cell_parameters
from smartbms.sim.single_cell import SingleCell


@pytest.mark.parametrize("chemistry", ["LFP", "NMC", "LTO"])
def test_single_cell_matches_the_vector_model_step_for_step(chemistry: str) -> None:
    params = load_cell_parameters(chemistry)
    ones = np.ones((1, 1))
    vector = EquivalentCircuitModel(params, 50.0 * ones, 1.1 * ones, 0.8 * ones)
    state = vector.initial_state(np.full((1, 1), 70.0), 10.0)
    cell = SingleCell(params, 50.0, 70.0, 10.0, resistance_scale=1.1, self_discharge_scale=0.8)
    rng = np.random.default_rng(1)
    coeffs = None
    for k in range(3000):
        dt = 1.0 if k < 2000 else 30.0
        if k % 10 == 0 or coeffs is None or coeffs.dt_s != dt:
            coeffs = vector.coefficients(state, dt)
            cell.refresh(dt)
        i = float(rng.normal(0.0, 40.0))
        v_vec = float(vector.step(state, np.full((1, 1), i), dt, 20.0, coeffs=coeffs)[0, 0])
        v_one = cell.step(i, dt, 20.0)
        assert v_one == pytest.approx(v_vec, abs=1e-9)
    assert cell.soc_pct == pytest.approx(float(state.soc_pct[0, 0]), abs=1e-9)
    assert cell.temperature_c == pytest.approx(float(state.temperature_c[0, 0]), abs=1e-9)
    assert cell.hysteresis == pytest.approx(float(state.hysteresis[0, 0]), abs=1e-9)
