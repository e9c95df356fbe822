from __future__ import annotations

import numpy as np
import pytest

from smartbms.estimation.soh.capacity import Anchor, CapacityEstimator
from smartbms.estimation.soh.resistance import ResistanceEstimator


def test_capacity_from_two_distant_anchors() -> None:
    est = CapacityEstimator(100.0)
    assert not est.add_anchor(Anchor(0.0, 1.0, 0.005, 0.0))
    assert est.add_anchor(Anchor(36_000.0, 0.1, 0.01, -81.0))  # 81 Ah over 90 % SOC: 90 Ah
    assert est.capacity_ah == pytest.approx(90.0, rel=0.01)
    assert est.soh_pct() == pytest.approx(90.0, abs=1.0)


def test_short_spans_and_absurd_samples_are_ignored() -> None:
    est = CapacityEstimator(100.0)
    est.add_anchor(Anchor(0.0, 1.0, 0.005, 0.0))
    assert not est.add_anchor(Anchor(100.0, 0.8, 0.01, -20.0))  # 20 % span: too short
    assert not est.add_anchor(Anchor(200.0, 0.2, 0.01, -5.0))  # 6 Ah for 80 %: a bad anchor
    assert est.capacity_ah == 100.0 and est.samples == 0


def test_resistance_rls_recovers_a_grown_resistance() -> None:
    rng = np.random.default_rng(3)
    est = ResistanceEstimator(min_step_a=1.0)
    r0_model = 0.002
    for _ in range(200):
        di = rng.choice([-1.0, 1.0]) * rng.uniform(5, 50)
        dv = 1.3 * r0_model * di + rng.normal(0, 0.0005)
        est.add_step(di, dv, r0_model)
    assert est.factor == pytest.approx(1.3, rel=0.03)
    assert est.soh_pct() == pytest.approx(94.0, abs=1.0)
    assert not est.add_step(0.5, 0.001, r0_model)  # too small a step to mean anything


def test_known_offset_corrects_the_raw_charge_between_anchors() -> None:
    # 90 Ah over 90 % SOC truly, but the sensor read +1 A too much for the 10 h in between.
    est = CapacityEstimator(100.0)
    est.add_anchor(Anchor(0.0, 1.0, 0.005, 0.0, raw_charge_ah=0.0, counted_s=0.0), 0.01, 1.0)
    assert est.add_anchor(
        Anchor(36_000.0, 0.1, 0.005, -71.0, raw_charge_ah=-71.0, counted_s=36_000.0), 0.01, 1.0
    )
    assert est.capacity_ah == pytest.approx(90.0, rel=0.01)


def test_a_better_end_point_redoes_the_last_sample() -> None:
    est = CapacityEstimator(100.0)
    est.add_anchor(Anchor(0.0, 0.1, 0.002, 0.0))
    assert est.add_anchor(Anchor(3600.0, 0.95, 0.02, 90.0))  # a poor full-charge anchor: 105.9 Ah
    first = est.capacity_ah
    # A rested OCV soon after, at nearly the same SOC and far better known: it replaces the end point.
    assert est.add_anchor(Anchor(5400.0, 0.96, 0.003, 77.4))  # 77.4 Ah over 86 %: 90 Ah
    assert est.samples == 1
    assert est.capacity_ah < first
    assert est.capacity_ah == pytest.approx(90.0, rel=0.02)
    # A later reading of the same rest that is worse known leaves the sample alone.
    before = est.capacity_ah
    assert not est.add_anchor(Anchor(6000.0, 0.96, 0.02, 70.0), supersede=True)
    assert est.capacity_ah == before and est.samples == 1


def test_resistance_ignores_steps_between_two_load_currents() -> None:
    est = ResistanceEstimator(min_step_a=1.0, max_base_a=0.5)
    assert est.add_step(10.0, 0.02, 0.002, base_current_a=0.1)  # from rest: like the pulse test
    assert not est.add_step(10.0, 0.01, 0.002, base_current_a=20.0)  # between loads: incremental
    assert est.samples == 1


def test_rests_read_the_current_sensor_offset() -> None:
    from smartbms.estimation.pack import PackEstimator

    est = PackEstimator(chemistry="NMC", cells_series=1, capacity_ah=5.0, initial_soc_pct=50.0)
    rng = np.random.default_rng(1)
    offset = 0.03  # C/170, inside the rest band
    t = 0.0
    for _ in range(600):  # a load, then a long rest, then a load again
        t += 1.0
        est.update(timestamp=t, current_a=-5.0 + offset, cell_voltages_v=[3.6], temperatures_c=[25.0])
    for _ in range(1200):
        t += 1.0
        i = offset + rng.normal(0.0, 0.01)
        est.update(timestamp=t, current_a=i, cell_voltages_v=[3.65], temperatures_c=[25.0])
    for _ in range(30):
        t += 1.0
        est.update(timestamp=t, current_a=-5.0 + offset, cell_voltages_v=[3.6], temperatures_c=[25.0])
    zero = est._zero_offset()
    assert zero is not None
    assert zero[0] == pytest.approx(offset, abs=0.002)


def _rest_until_reading(last_current_a: float, last_drop_v: float) -> object:
    """A load, then a rest up to the sample its first OCV reading falls on, which carries this current."""
    from smartbms.estimation.pack import PackEstimator

    est = PackEstimator(chemistry="NMC", cells_series=1, capacity_ah=5.0, initial_soc_pct=20.0)
    ocv = float(est.model.ocv(0.2, 0.0))
    t = 0.0
    for _ in range(300):
        t += 1.0
        est.update(timestamp=t, current_a=-2.0, cell_voltages_v=[ocv - 0.05], temperatures_c=[-10.0])
    while est._rest_s + 1.0 < est.defaults.rest_time_s:
        t += 1.0
        est.update(timestamp=t, current_a=0.0, cell_voltages_v=[ocv], temperatures_c=[-10.0])
    # The rest clock runs on a filtered current: the first sample of a load still reads as rest.
    t += 1.0
    v = ocv - last_drop_v
    est.update(timestamp=t, current_a=last_current_a, cell_voltages_v=[v], temperatures_c=[-10.0])
    return est


def test_a_load_starting_at_the_rest_reading_is_no_ocv_anchor() -> None:
    quiet = _rest_until_reading(0.0, 0.0)
    assert quiet.counters.rest_anchors == 1  # type: ignore[attr-defined]
    assert quiet.capacity._last.soc == pytest.approx(0.2, abs=0.01)  # type: ignore[attr-defined]
    # A cold cell's first second of a drive: C/6 and 60 mV below OCV would read as SOC far too low.
    loaded = _rest_until_reading(-0.8, 0.06)
    assert loaded.counters.rest_anchors == 0  # type: ignore[attr-defined]
    assert loaded.capacity._last is None  # type: ignore[attr-defined]
