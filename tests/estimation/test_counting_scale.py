"""The filter's counting-scale state, the sustained-charge model error and the sync's own sigma."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from smartbms.estimation import PackEstimator, shipped_model
from smartbms.estimation.pack import LOAD_MODEL_ERROR, SUSTAINED_CHARGE_RAMP_S
from smartbms.estimation.soc.ekf import CellBankEkf
from smartbms.estimation.soc.tables import CellTables

from .ecm_plant import EcmPlant
from .test_pack_estimator import feed

TOLD_AH = 100.0
TRUE_AH = 90.0  # the pack was sold as 100 Ah


def _nmc(scale_state: bool = True) -> PackEstimator:
    est = PackEstimator(chemistry="NMC", cells_series=1, capacity_ah=TOLD_AH, initial_soc_pct=90.0)
    if not scale_state:
        est.defaults = dataclasses.replace(est.defaults, counting_scale_sigma=0.0)
    return est


def _discharge_then_charge(est: PackEstimator) -> tuple[float, float]:
    """90 % -> about 20 % at C/2, then a 1 h C/3 charge: |error| (% SOC) at the end of each."""
    plant = EcmPlant(shipped_model("NMC"), TRUE_AH, 0.9)
    down = feed(est, [plant], [-45.0] * int(0.7 * 3600 * TRUE_AH / 45.0), temps=(25.0,))
    after_discharge = abs(down[-1].soc_pct - 100 * plant.soc)
    t0 = float(len(down))
    up = feed(est, [plant], [30.0] * 3600, t0=t0, temps=(25.0,))
    return after_discharge, abs(up[-1].soc_pct - 100 * plant.soc)


def test_a_discharge_teaches_the_filter_a_capacity_told_11_percent_too_large() -> None:
    est = _nmc()
    after_discharge, after_charge = _discharge_then_charge(est)
    ekf = est._ekf
    assert ekf is not None
    # Counted SOC change x (1 + scale) is the true one: 100 / 90 - 1 = +0.11. The voltage is trusted
    # cautiously (model errors last minutes), so one discharge teaches a good part of it (+0.08), not all.
    assert 0.05 < float(ekf.scale[0]) < 0.15
    assert est.capacity.samples == 0  # no anchors: the voltage alone taught it
    assert TRUE_AH < ekf.effective_capacity_ah < TOLD_AH  # remaining Ah and time-to-go use it
    without = _nmc(scale_state=False)
    after_discharge_without, after_charge_without = _discharge_then_charge(without)
    # Measured: 0.83 against 1.41 % at the end of the discharge, 0.84 against 1.67 % after the charge.
    assert after_discharge < 0.7 * after_discharge_without
    # The long charge trusts the voltage little: what the scale learned keeps its count closer.
    assert after_charge < 0.6 * after_charge_without


LFP_CHARGE_V = 3.50  # within reach of the plant, whose OCV table ends at the model's 100 %


def _lfp(initial_soc_pct: float | None = None) -> PackEstimator:
    return PackEstimator(
        chemistry="LFP",
        cells_series=1,
        capacity_ah=TOLD_AH,
        initial_soc_pct=initial_soc_pct,
        charge_voltage_limit_v=LFP_CHARGE_V,
    )


def _lfp_charge_to_sync(est: PackEstimator, plant: EcmPlant, t0: float = 0.0) -> float:
    """C/3 to LFP_CHARGE_V, then held there until the full-charge sync; returns the last timestamp."""
    current, t = TRUE_AH / 3.0, t0
    while est.counters.full_syncs == 0 and t < t0 + 30_000:
        t += 1
        v = plant.step(current, 1.0)
        if v >= LFP_CHARGE_V:
            current = max(0.5, current * 0.97)
        est.update(timestamp=t, current_a=current, cell_voltages_v=[v], temperatures_c=[25.0])
    return t


def test_the_lfp_counting_scale_waits_for_the_first_anchor() -> None:
    """On the flat LFP curve a wrong start is not told apart from a wrong capacity: the scale stays off
    until the full-charge sync has set SOC, and learns the capacity told wrong after it."""
    plant = EcmPlant(shipped_model("LFP"), TRUE_AH, 0.5)
    est = _lfp(initial_soc_pct=70.0)  # 20 % off
    feed(est, [plant], [TRUE_AH / 3.0] * 1800, temps=(25.0,))
    ekf = est._ekf
    assert ekf is not None and not ekf.scale_enabled
    assert float(ekf.scale[0]) == 0.0 and float(ekf.p33[0]) == 0.0
    t = _lfp_charge_to_sync(est, plant, 1800.0)
    assert est.counters.full_syncs == 1 and ekf.scale_enabled
    assert float(ekf.scale[0]) == 0.0  # the sync's own correction went to SOC, none to the scale
    assert float(np.sqrt(ekf.p33[0])) == pytest.approx(est.defaults.counting_scale_sigma)
    # Down through the plateau to the lower knee, where the voltage shows SOC falling faster than
    # counted: 100 / 90 - 1 = +0.11.
    feed(est, [plant], [-TRUE_AH / 2.0] * int(1.6 * 3600), t0=t, temps=(25.0,))
    assert 0.05 < float(ekf.scale[0]) < 0.15
    assert est.capacity.samples == 0  # the voltage taught it, not two anchors


def test_a_restored_lfp_scale_runs_from_the_first_sample() -> None:
    plant = EcmPlant(shipped_model("LFP"), TRUE_AH, 0.5)
    est = _lfp(initial_soc_pct=50.0)
    t = _lfp_charge_to_sync(est, plant)
    feed(est, [plant], [-TRUE_AH / 2.0] * 3600, t0=t, temps=(25.0,))
    state = est.export_state()
    assert "scale" in state["filter"]
    after = _lfp()
    after.restore_state(state)
    v = plant.step(0.0, 60.0)
    after.update(timestamp=t + 3700.0, current_a=0.0, cell_voltages_v=[v], temperatures_c=[25.0])
    ekf = after._ekf
    assert ekf is not None and ekf.scale_enabled
    assert ekf.scale == pytest.approx(np.asarray(state["filter"]["scale"]))


def test_the_counting_scale_starts_again_from_a_learned_capacity() -> None:
    """Rest, discharge, rest: the two rested OCVs measure the capacity, and the scale restarts from it."""
    plant = EcmPlant(shipped_model("NMC"), TRUE_AH, 0.9)
    est = _nmc()
    profile = [0.0] * 900 + [-45.0] * int(0.7 * 3600 * TRUE_AH / 45.0) + [0.0] * 900
    feed(est, [plant], profile, temps=(25.0,))
    ekf = est._ekf
    assert ekf is not None and est.capacity.samples >= 1
    assert ekf.capacity_ah == pytest.approx(TRUE_AH, rel=0.02)
    assert abs(float(ekf.scale[0])) < 0.02  # what little it learned since the anchor
    learned_sigma = est.capacity.sigma_ah / est.capacity.capacity_ah
    assert float(np.sqrt(ekf.p33[0])) <= np.hypot(learned_sigma, 0.006) + 1e-9


def test_covariance_stays_symmetric_positive_with_the_scale_state() -> None:
    tables = CellTables(shipped_model("NMC"), TOLD_AH)
    rng = np.random.default_rng(3)
    ekf = CellBankEkf(
        tables,
        TOLD_AH,
        np.array([0.8, 0.5]),
        soc_sigma0=0.1,
        offset_sigma0_a=0.25,
        current_noise_a=0.2,
        offset_walk_a_per_sqrt_h=0.05,
        scale_sigma0=0.05,
    )
    rows = np.zeros(2)
    for k in range(2000):
        current = float(rng.choice([-50.0, -10.0, 0.0, 30.0]))
        ekf.predict(1.0, current, rows, rows_changed=k == 0)
        if k % 5 == 0:
            volts = np.array([3.9, 3.7]) + rng.normal(0, 0.01, 2)
            ekf.correct_voltage(volts, current, None, np.full(2, 1e-4), relinearize=k == 0)
        if k % 400 == 399:
            ekf.observe_soc(ekf.soc + 0.01, 0.01)
            ekf.observe_offset(0.1, 0.05)
    for c in range(2):
        p = np.array(
            [
                [ekf.p00[c], ekf.p01[c], ekf.p02[c], ekf.p03[c]],
                [ekf.p01[c], ekf.p11[c], ekf.p12[c], ekf.p13[c]],
                [ekf.p02[c], ekf.p12[c], ekf.p22[c], ekf.p23[c]],
                [ekf.p03[c], ekf.p13[c], ekf.p23[c], ekf.p33[c]],
            ]
        )
        assert np.linalg.eigvalsh(p).min() > -1e-12
        assert ekf.p33[c] < 0.05**2  # the voltage on a steep curve taught it something


def test_a_long_charge_trusts_the_model_less_than_a_short_one() -> None:
    est = _nmc()
    plant = EcmPlant(shipped_model("NMC"), TOLD_AH, 0.3)
    feed(est, [plant], [30.0] * 10, temps=(25.0,))
    assert est._model_error_share(30.0) == pytest.approx(LOAD_MODEL_ERROR, abs=0.01)
    sustained = est.defaults.sustained_charge_model_error
    feed(est, [plant], [30.0] * int(SUSTAINED_CHARGE_RAMP_S), t0=10.0, temps=(25.0,))
    assert est._model_error_share(30.0) == pytest.approx(sustained)
    # A discharge ends the charge; its own share is the load figure.
    feed(est, [plant], [-30.0] * 5, t0=10.0 + SUSTAINED_CHARGE_RAMP_S, temps=(25.0,))
    assert est._model_error_share(-30.0) == LOAD_MODEL_ERROR
    assert est._model_error_share(30.0) == pytest.approx(LOAD_MODEL_ERROR)


def _cc_cv_sync_sigma(temperature_c: float) -> float:
    """CC-CV charge to 4.15 V at ``temperature_c`` until the sync: the sync anchor's sigma."""
    model = shipped_model("NMC")
    plant = EcmPlant(model, TOLD_AH, 0.5, temperature_c=temperature_c)
    est = PackEstimator(
        chemistry="NMC",
        cells_series=1,
        capacity_ah=TOLD_AH,
        initial_soc_pct=50.0,
        charge_voltage_limit_v=4.15,
    )
    current, t = 30.0, 0.0
    while est.counters.full_syncs == 0 and t < 30_000:
        t += 1
        v = plant.step(current, 1.0)
        if v >= 4.15:
            current = max(1.0, current * 0.995)
        est.update(timestamp=t, current_a=current, cell_voltages_v=[v], temperatures_c=[temperature_c])
    assert est.counters.full_syncs == 1
    last = est.capacity._last
    assert last is not None
    return last.soc_sigma


def test_a_cold_sync_is_a_weaker_anchor_than_a_warm_one() -> None:
    warm, cold = _cc_cv_sync_sigma(25.0), _cc_cv_sync_sigma(-10.0)
    # The tail current's polarisation is worth more SOC the colder the cell (its resistance).
    assert 0.005 <= warm < 0.015
    assert cold > 1.3 * warm
