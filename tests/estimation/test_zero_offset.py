"""The current sensor's zero reading in rests, fused into the filter's offset state."""

from __future__ import annotations

import numpy as np
import pytest

from smartbms.estimation import PackEstimator, shipped_model
from smartbms.estimation.soc.ekf import CellBankEkf
from smartbms.estimation.soc.tables import CellTables

from .ecm_plant import EcmPlant

CAP = 100.0


def run(
    est: PackEstimator, plant: EcmPlant, true_currents: list[float], offset_a: float, seed: int = 1
) -> float:
    """Feed true currents to the plant and the sensor's reading (true + offset + noise) to the estimator;
    returns the final SOC error in % SOC."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, CAP / 500.0, len(true_currents))
    t = est._last_t or 0.0
    e = None
    for k, current in enumerate(true_currents):
        t += 1.0
        v = plant.step(current, 1.0)
        e = est.update(
            timestamp=t,
            current_a=current + offset_a + float(noise[k]),
            cell_voltages_v=[v],
            temperatures_c=[25.0],
        )
    assert e is not None
    return e.soc_pct - 100.0 * plant.soc


def lfp(max_sensor_offset_a: float | None = None, soc_pct: float = 65.0) -> tuple[PackEstimator, EcmPlant]:
    plant = EcmPlant(shipped_model("LFP"), CAP, soc_pct / 100.0)
    est = PackEstimator(
        chemistry="LFP",
        cells_series=1,
        capacity_ah=CAP,
        initial_soc_pct=soc_pct,
        initial_soc_sigma_pct=1.0,
        max_sensor_offset_a=max_sensor_offset_a,
    )
    return est, plant


def test_observe_offset_moves_offset_and_the_soc_counted_with_it() -> None:
    tables = CellTables(shipped_model("LFP"), CAP)
    ekf = CellBankEkf(
        tables,
        CAP,
        np.array([0.5]),
        soc_sigma0=0.01,
        offset_sigma0_a=0.25,
        current_noise_a=0.2,
        offset_walk_a_per_sqrt_h=0.05,
    )
    rows = np.zeros(1)
    for _ in range(3600):  # one hour at zero current: SOC and offset become correlated (p01 < 0)
        ekf.predict(1.0, 0.0, rows, False)
    assert ekf.p01[0] < 0.0
    p01, p11 = float(ekf.p01[0]), float(ekf.p11[0])
    ekf.observe_offset(0.5, 0.01)
    gain = 0.5 / (p11 + 0.01**2)
    assert ekf.offset[0] == pytest.approx(p11 * gain, rel=1e-9)
    # A positive offset means the sensor over-read: the SOC counted with it moves down.
    assert ekf.soc[0] == pytest.approx(0.5 + p01 * gain, rel=1e-9)
    assert ekf.soc[0] < 0.5
    assert ekf.p11[0] < p11


def test_offset_read_in_a_rest_stops_the_drift_on_a_later_plateau() -> None:
    offset = CAP / 125.0  # 0.8 A: the sensor reads this much too high
    profile = [0.0] * 1500 + [-CAP / 20.0] * (4 * 3600)  # a rest, then 4 h at C/20 on the plateau
    errors = {}
    for name, bound in (("fused", None), ("ignored", 0.0)):
        est, plant = lfp(bound)
        errors[name] = run(est, plant, profile, offset)
        if name == "fused":
            assert est.counters.zero_offset_fusions >= 2
            assert est.current_offset_a == pytest.approx(offset, abs=0.1)
        else:
            assert est.counters.zero_offset_fusions == 0
            assert est.counters.implausible_zero_readings >= 1
            assert abs(est.current_offset_a) < 0.2
    # Uncorrected, 0.8 A over 4.4 h is 3.5 % SOC; the (here perfect) model's voltage holds back half.
    assert abs(errors["ignored"]) > 1.5
    assert abs(errors["fused"]) < 0.5
    assert abs(errors["fused"]) < 0.3 * abs(errors["ignored"])


def test_a_zero_reading_beyond_a_plausible_sensor_offset_is_ignored_and_counted() -> None:
    est, plant = lfp(max_sensor_offset_a=CAP / 500.0)
    # The sensor reads 0.6 A in a rest: inside the rest band (C/100) but three times what it may be off.
    run(est, plant, [0.0] * 2000, CAP / 170.0)
    assert est.counters.implausible_zero_readings >= 1
    assert est.counters.zero_offset_fusions == 0
    assert abs(est.current_offset_a) < 0.05


def test_a_quiet_load_after_a_true_rest_is_not_taken_for_offset() -> None:
    offset = CAP / 300.0
    est, plant = lfp()
    run(est, plant, [0.0] * 1500, offset)
    learned = est.current_offset_a
    assert learned == pytest.approx(offset, abs=0.1)
    # A standby load of C/200 for 4 h: quiet enough to look like a rest to the current sensor.
    err = run(est, plant, [-CAP / 200.0] * (4 * 3600), offset, seed=2)
    assert est.counters.inconsistent_zero_readings >= 1
    assert est.current_offset_a == pytest.approx(learned, abs=0.05)
    # The load was counted (2 % SOC), not explained away as offset.
    assert abs(err) < 0.7


def test_an_offset_at_the_rest_band_is_still_read_at_10_s_sampling() -> None:
    # The worst sensor the design note lists (C/100) sits right on the rest band. At 10 s sampling the
    # smoothed current carries most of the sensor noise, so without a noise margin the rest restarted
    # every few samples and was never read (a PyBaMM LFP run drifted 6 % SOC overnight).
    offset = -CAP / 101.0
    est, plant = lfp()
    rng = np.random.default_rng(3)
    t = 0.0
    for _ in range(360):  # one hour of rest, a sample every 10 s
        t += 10.0
        v = plant.step(0.0, 10.0)
        est.update(
            timestamp=t,
            current_a=offset + float(rng.normal(0.0, CAP / 500.0)),
            cell_voltages_v=[v],
            temperatures_c=[25.0],
        )
    assert est.counters.zero_offset_fusions >= 1
    assert est.current_offset_a == pytest.approx(offset, abs=0.05)


def test_a_quiet_load_refused_as_offset_gives_no_ocv_reading_either() -> None:
    # A standby draw of C/150 looks like a rest to the current sensor. Its reading is refused as an
    # offset (beyond this sensor's C/500), so the "rest" is a load: its voltage is not an OCV.
    est, plant = lfp(max_sensor_offset_a=CAP / 500.0, soc_pct=25.0)
    run(est, plant, [-CAP / 150.0] * (3 * 3600), 0.0)
    assert est.counters.implausible_zero_readings >= 1
    assert est.counters.rest_anchors == 0


def _charge_tail_then_rest(
    offset_a: float, charge_cell_v: float, rest_v: float, seed: int = 4, bms_charge_cell_v: float = 0.0
) -> PackEstimator:
    """A charger's CV tail gliding from C/20 to C/50 while the cell sits at the charger's voltage, the
    charger stopping, an hour of rest; the sensor reads true + offset + noise. The BMS's own charge
    voltage setting is the charger's unless ``bms_charge_cell_v`` says otherwise."""
    est = PackEstimator(
        chemistry="NMC",
        cells_series=1,
        capacity_ah=CAP,
        initial_soc_pct=97.0,
        charge_voltage_limit_v=bms_charge_cell_v or charge_cell_v,
    )
    tail = list(np.linspace(CAP / 20.0, CAP / 50.0, 1200)) + [CAP / 50.0] * 900
    rng = np.random.default_rng(seed)
    t = 0.0
    for current in tail:
        t += 1.0
        est.update(
            timestamp=t,
            current_a=current + offset_a + rng.normal(0.0, CAP / 500.0),
            cell_voltages_v=[charge_cell_v + rng.normal(0.0, 0.001)],
            temperatures_c=[25.0],
        )
    for k in range(3600):
        t += 1.0
        v = rest_v + (charge_cell_v - rest_v) * np.exp(-k / 120.0)
        est.update(
            timestamp=t,
            current_a=offset_a + rng.normal(0.0, CAP / 500.0),
            cell_voltages_v=[v + rng.normal(0.0, 0.001)],
            temperatures_c=[25.0],
        )
    return est


def test_a_cv_tail_gliding_into_the_rest_band_is_not_read_as_the_offset() -> None:
    # Offset -C/100: the C/50 tail reads +C/100, inside the rest band, for a quarter of an hour.
    est = _charge_tail_then_rest(-CAP / 100.0, 4.15, 4.13)
    assert est.current_offset_a == pytest.approx(-CAP / 100.0, abs=CAP / 1000.0)
    assert est.counters.inconsistent_zero_readings == 0
    assert est.counters.zero_offset_fusions >= 1


def test_a_rest_at_full_that_began_with_the_chargers_step_reads_the_offset() -> None:
    # Offset +C/130: the tail reads above the band; the charger's stop is a step, and the rest after it
    # sits within 10 mV of the charge voltage (as an LFP cell's does) yet still reads the offset.
    est = _charge_tail_then_rest(CAP / 130.0, 4.15, 4.145)
    assert est.current_offset_a == pytest.approx(CAP / 130.0, abs=CAP / 1000.0)


def test_a_cv_tail_of_a_charger_set_below_the_bms_is_not_read_as_the_offset() -> None:
    # Many chargers hold less than the BMS allows (a solar charger's 4.10 V against the BMS's 4.15 V):
    # the tail is told by the voltage held flat while the current tapers, not by the BMS's setting.
    est = _charge_tail_then_rest(-CAP / 100.0, 4.10, 4.08, bms_charge_cell_v=4.15)
    assert est.current_offset_a == pytest.approx(-CAP / 100.0, abs=CAP / 1000.0)
    assert est.counters.inconsistent_zero_readings == 0
    assert est.counters.zero_offset_fusions >= 1


def test_a_charge_fading_at_dusk_still_reads_the_offset() -> None:
    # A solar charge fading out: the current glides to zero with no step, but nothing holds the voltage,
    # which falls with the current. The rest that follows is a rest and reads the offset.
    est = PackEstimator(chemistry="NMC", cells_series=1, capacity_ah=CAP, initial_soc_pct=80.0)
    offset_a = CAP / 130.0
    rng = np.random.default_rng(5)
    t = 0.0
    fade = list(np.linspace(CAP / 20.0, 0.0, 1800)) + [0.0] * 3600
    for k, current in enumerate(fade):
        t += 1.0
        v = 4.02 + 0.6 * current / CAP * (1.0 - np.exp(-k / 60.0))
        est.update(
            timestamp=t,
            current_a=current + offset_a + rng.normal(0.0, CAP / 500.0),
            cell_voltages_v=[v + rng.normal(0.0, 0.001)],
            temperatures_c=[25.0],
        )
    assert est.current_offset_a == pytest.approx(offset_a, abs=CAP / 1000.0)
    assert est.counters.zero_offset_fusions >= 1
