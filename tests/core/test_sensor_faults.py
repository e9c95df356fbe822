"""Sensor faults fail safe: both paths off until the data is valid again."""

from __future__ import annotations

import math

import pytest
from tests.core.helpers import Pack, healthy, pack_settings

from smartbms.core.measurement import Measurement

BAD_SAMPLES = {
    "stale_sample": (lambda t: healthy(t - 30.0), "E-SENSOR-STALE"),
    "sample_from_the_future": (lambda t: healthy(t + 30.0), "E-SENSOR-STALE"),
    "no_sample": (lambda t: None, "E-SENSOR-STALE"),
    "nan_cell_voltage": (lambda t: healthy(t, cell_voltages_v=(3.3, math.nan, 3.3, 3.3)), "E-SENSOR-MISSING"),
    "missing_cell": (lambda t: healthy(t, cell_voltages_v=(3.3, 3.3, 3.3)), "E-SENSOR-MISSING"),
    "nan_current": (lambda t: healthy(t, current_a=math.nan), "E-SENSOR-MISSING"),
    "nan_temperature": (lambda t: healthy(t, temperatures_c=(25.0, math.nan)), "E-SENSOR-MISSING"),
    "missing_temperature_sensor": (lambda t: healthy(t, temperatures_c=(25.0,)), "E-SENSOR-MISSING"),
    "open_sense_wire": (lambda t: healthy(t, cell_voltages_v=(3.3, 0.0, 3.3, 3.3)), "E-SENSOR-OPEN-WIRE"),
    "cell_voltage_out_of_range": (
        lambda t: healthy(t, cell_voltages_v=(3.3, 7.5, 3.3, 3.3)),
        "E-SENSOR-RANGE",
    ),
    "temperature_out_of_range": (lambda t: healthy(t, temperatures_c=(25.0, 400.0)), "E-SENSOR-RANGE"),
    "current_out_of_range": (lambda t: healthy(t, current_a=1e6), "E-SENSOR-RANGE"),
    "fet_temperature_nan": (lambda t: healthy(t, mosfet_temperature_c=math.nan), "E-SENSOR-MISSING"),
    "pack_voltage_disagrees_with_cells": (lambda t: healthy(t, voltage_v=20.0), "E-SENSOR-PLAUSIBILITY"),
}


@pytest.mark.parametrize("name", list(BAD_SAMPLES))
def test_normal_to_protection_on_sensor_fault_at_once(name: str) -> None:
    make, code = BAD_SAMPLES[name]
    pack = Pack()
    pack.warm_up()
    actions = pack.feed(make(6.0), 6.0)
    assert pack.bms_state == "PROTECTION"
    assert not actions.charge_enabled and not actions.discharge_enabled
    assert code in actions.alarms
    assert not actions.load_disconnect_closed and not actions.charge_disconnect_closed


@pytest.mark.parametrize("name", list(BAD_SAMPLES))
def test_protection_to_normal_when_sensor_data_valid_again(name: str) -> None:
    make, code = BAD_SAMPLES[name]
    pack = Pack()
    pack.warm_up()
    pack.run(make, 6.0, 20.0, dt=1.0)
    assert pack.bms_state == "PROTECTION"
    # Debounced: the first valid samples are not enough.
    pack.feed(healthy(21.0))
    assert pack.bms_state == "PROTECTION"
    actions = pack.run(lambda t: healthy(t), 22.0, 24.0, dt=1.0)
    assert pack.bms_state == "NORMAL"
    assert actions.charge_enabled and actions.discharge_enabled
    assert code in pack.event_codes("release")


def test_standby_never_leaves_without_valid_samples() -> None:
    pack = Pack()
    actions = pack.run(lambda t: None, 0.0, 60.0, dt=1.0)
    assert pack.bms_state == "STANDBY"
    assert not actions.charge_enabled and not actions.discharge_enabled


def test_pack_voltage_within_tolerance_is_used() -> None:
    pack = Pack()
    pack.warm_up()
    pack.feed(healthy(6.0, voltage_v=13.25))
    assert pack.state.last_sample is not None
    assert pack.state.last_sample.pack_voltage_v == 13.25
    assert pack.state.last_sample.valid


def test_measurement_from_telemetry_keeps_missing_values_missing() -> None:
    from smartbms.telemetry import Telemetry

    m = Measurement.from_telemetry(Telemetry(timestamp=5.0, cell_voltages_v=(3.3, 3.3)))
    assert math.isnan(m.current_a)
    pack = Pack(pack_settings())
    actions = pack.feed(m, 5.0)
    assert not actions.charge_enabled and not actions.discharge_enabled
