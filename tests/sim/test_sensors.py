"""The measurement chain: offsets, noise, quantisation, hold, and the sensor faults."""

from __future__ import annotations

import math

import numpy as np
import pytest

from smartbms.sim.faults import DriftingCurrentOffset, FailedTemperatureSensor, OpenSenseWire
from smartbms.sim.sensors import OPEN_NTC_READS_C, PackSensors, SensorSpec, spread_ntc_cells

CELLS = np.array([3.30, 3.31, 3.32, 3.33])
TEMPS = np.array([25.0, 26.0, 27.0, 28.0])


def _sensors(spec: SensorSpec | None = None, faults: tuple = (), seed: int = 0) -> PackSensors:
    return PackSensors(spec or SensorSpec(), 4, (0, 3), np.random.default_rng(seed), faults)


def test_ideal_sensors_report_the_truth() -> None:
    r = _sensors(SensorSpec.ideal()).read(0.0, CELLS, -12.345, TEMPS)
    assert r.cell_voltages_v == pytest.approx(tuple(CELLS))
    assert r.current_a == pytest.approx(-12.345)
    assert r.temperatures_c == (25.0, 28.0)


def test_readings_are_quantised_and_close_to_the_truth() -> None:
    sensors = _sensors()
    errors = []
    for k in range(200):
        r = sensors.read(float(k), CELLS, 10.0, TEMPS)
        for v in r.cell_voltages_v:
            assert round(v * 1000) == pytest.approx(v * 1000, abs=1e-6)  # 1 mV steps
        errors.append(np.array(r.cell_voltages_v) - CELLS)
        assert round(r.current_a * 100) == pytest.approx(r.current_a * 100, abs=1e-6)
    err = np.array(errors)
    assert np.all(np.abs(err) < 0.006)
    assert np.std(err[:, 0]) > 0.0003  # noise is there


def test_sample_period_holds_the_last_reading() -> None:
    sensors = _sensors(SensorSpec(sample_period_s=5.0))
    first = sensors.read(0.0, CELLS, 1.0, TEMPS)
    assert sensors.read(4.0, CELLS + 0.1, 50.0, TEMPS) is first
    assert sensors.read(5.0, CELLS + 0.1, 50.0, TEMPS) is not first


def test_same_seed_same_readings_other_seed_other_offsets() -> None:
    a = [_sensors(seed=1).read(0.0, CELLS, 1.0, TEMPS) for _ in range(2)]
    assert a[0] == a[1]
    b = _sensors(seed=2).read(0.0, CELLS, 1.0, TEMPS)
    assert b.cell_voltages_v != a[0].cell_voltages_v


def test_open_sense_wire_reads_near_zero_and_the_neighbour_reads_both() -> None:
    sensors = _sensors(SensorSpec.ideal(), (OpenSenseWire(cell=2, at_s=10.0),))
    assert sensors.read(5.0, CELLS, 0.0, TEMPS).cell_voltages_v[1] == pytest.approx(3.31)
    r = sensors.read(10.0, CELLS, 0.0, TEMPS)
    assert r.cell_voltages_v[1] < 0.1
    assert r.cell_voltages_v[2] == pytest.approx(3.31 + 3.32, abs=0.1)


def test_failed_temperature_sensor_modes() -> None:
    for mode, check in (
        ("open", lambda t: t == OPEN_NTC_READS_C),
        ("short", lambda t: t > 150),
        ("missing", math.isnan),
    ):
        sensors = _sensors(SensorSpec.ideal(), (FailedTemperatureSensor(sensor=2, mode=mode),))
        r = sensors.read(0.0, CELLS, 0.0, TEMPS)
        assert r.temperatures_c[0] == 25.0 and check(r.temperatures_c[1])


def test_current_offset_drifts_from_its_start() -> None:
    sensors = _sensors(SensorSpec.ideal(), (DriftingCurrentOffset(rate_a_per_h=3.6, at_s=100.0),))
    assert sensors.read(50.0, CELLS, 0.0, TEMPS).current_a == 0.0
    assert sensors.read(1100.0, CELLS, 0.0, TEMPS).current_a == pytest.approx(1.0)


def test_ntc_positions_spread_along_the_string() -> None:
    assert spread_ntc_cells(16, 4) == (0, 5, 10, 15)
    assert spread_ntc_cells(16, 0) == ()


def test_lists_and_arrays_read_alike_and_a_nan_cell_stays_nan() -> None:
    from_array = _sensors(seed=3).read(0.0, CELLS, 7.5, TEMPS)
    from_list = _sensors(seed=3).read(0.0, CELLS.tolist(), 7.5, TEMPS.tolist())
    assert from_array == from_list
    broken = _sensors(seed=3).read(0.0, [3.3, math.nan, 3.3, 3.3], 7.5, TEMPS.tolist())
    assert math.isnan(broken.cell_voltages_v[1]) and broken.cell_voltages_v[0] == from_list.cell_voltages_v[0]
