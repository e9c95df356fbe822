"""The filter's resistances follow the pulse-from-rest fit (ageing, a bad connection), not the smaller
incremental resistance between load currents."""

from __future__ import annotations

import pytest

from smartbms.estimation import PackEstimator, shipped_model

from .ecm_plant import EcmPlant
from .test_pack_estimator import feed

CAP = 100.0


def _lfp(resistance_scale: float) -> tuple[PackEstimator, EcmPlant]:
    plant = EcmPlant(shipped_model("LFP"), CAP, 0.6, resistance_scale=resistance_scale)
    est = PackEstimator(chemistry="LFP", cells_series=1, capacity_ah=CAP, initial_soc_pct=60.0)
    return est, plant


def test_pulses_from_rest_scale_the_filters_resistance() -> None:
    est, plant = _lfp(1.3)  # a contact resistance of 30 % of the cell's own
    profile: list[float] = []
    for k in range(40):
        profile += [0.0] * 50 + [(-0.5 if k % 2 else 0.4) * CAP] * 10
    feed(est, [plant], profile, temps=(25.0,))
    ekf = est._ekf
    assert ekf is not None and est.resistance.samples >= 20
    assert ekf.resistance_scale == pytest.approx(1.3, abs=0.08)
    assert ekf.resistance_scale == est.resistance_factor


def test_steps_between_load_currents_leave_the_filters_resistance_alone() -> None:
    est, plant = _lfp(1.0)
    profile: list[float] = []
    for _ in range(40):
        profile += [-0.2 * CAP] * 30 + [-0.8 * CAP] * 30
    feed(est, [plant], profile, temps=(25.0,))
    ekf = est._ekf
    assert ekf is not None
    assert est.resistance.samples == 0
    assert ekf.resistance_scale == 1.0


def test_a_restored_resistance_scales_the_filter_from_the_first_sample() -> None:
    est, plant = _lfp(1.3)
    profile: list[float] = []
    for k in range(40):
        profile += [0.0] * 50 + [(-0.5 if k % 2 else 0.4) * CAP] * 10
    feed(est, [plant], profile, temps=(25.0,))
    after = PackEstimator(chemistry="LFP", cells_series=1, capacity_ah=CAP, initial_soc_pct=60.0)
    after.restore_state(est.export_state())
    after.update(timestamp=1.0, current_a=0.0, cell_voltages_v=[plant.step(0.0, 1.0)], temperatures_c=[25.0])
    ekf = after._ekf
    assert ekf is not None
    assert ekf.resistance_scale == pytest.approx(est.resistance_factor)
    assert ekf.resistance_scale > 1.2
