"""The simulated pack as the controller sees it: read() and apply(), determinism, truth."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from smartbms.core.actions import ALL_OFF_LEDS, Actions
from smartbms.core.settings import Settings
from smartbms.sim.faults import FaultError, SoftShort
from smartbms.sim.pack_source import SimulatedPackSource
from smartbms.sim.profiles import ConstantCurrent


def _actions(**changes: object) -> Actions:
    base = Actions(
        charge_enabled=True,
        discharge_enabled=True,
        load_disconnect_closed=True,
        charge_disconnect_closed=True,
        prealarm_output=False,
        charge_input_enabled=True,
        charge_input_limit_a=100.0,
        leds=ALL_OFF_LEDS,
        sample_period_s=1.0,
        alarms=(),
        events=(),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _trace(settings: Settings, seed: int) -> list[tuple[float, ...]]:
    src = SimulatedPackSource(settings, seed=seed, time_origin_s=0.0, max_step_s=30.0)
    out = []
    for t in range(0, 43_200, 600):
        m = src.read(float(t))
        out.append((*m.cell_voltages_v, m.current_a, *m.temperatures_c))
    return out


def test_same_seed_same_run_other_seed_other_run(lfp4: Settings) -> None:
    assert _trace(lfp4, 7) == _trace(lfp4, 7)
    assert _trace(lfp4, 7) != _trace(lfp4, 8)


def test_measurement_shape_and_units(lfp4: Settings) -> None:
    src = SimulatedPackSource(lfp4, profile=ConstantCurrent(-20.0), initial_soc_pct=60.0)
    src.read(1000.0)
    m = src.read(1010.0)
    assert len(m.cell_voltages_v) == 4 and len(m.temperatures_c) == lfp4.pack.temperature_sensors
    assert m.current_a == pytest.approx(-20.0, abs=0.3)
    assert m.voltage_v == pytest.approx(sum(m.cell_voltages_v), abs=0.05)
    assert m.source == "sim" and m.mosfet_temperature_c is not None
    truth = src.truth()
    assert truth.time_s == pytest.approx(10.0)
    assert np.mean(truth.soc_pct) < 60.0


def test_apply_opens_paths_and_switches_balancing(lfp4: Settings) -> None:
    src = SimulatedPackSource(lfp4, profile=ConstantCurrent(-20.0), time_origin_s=0.0)
    src.read(0.0)
    src.apply(_actions(discharge_enabled=False, balancing_cells=(2, 9)), 0.0)  # 9 is out of range: ignored
    src.read(10.0)
    truth = src.truth()
    assert truth.current_a == 0.0
    assert truth.balancing_currents_a[1] < -0.05 and truth.balancing_currents_a[0] == 0.0
    src.apply(_actions(balancing_currents_a=(1.0, -1.0, 0.0, 0.0)), 10.0)
    src.read(20.0)
    truth = src.truth()
    assert truth.current_a == pytest.approx(-20.0)
    assert truth.balancing_currents_a[1] == -1.0 and truth.balancing_currents_a[0] == pytest.approx(0.9)


def test_long_gaps_are_stepped_finely_and_time_never_runs_back(lfp4: Settings) -> None:
    src = SimulatedPackSource(lfp4, profile=ConstantCurrent(-50.0), time_origin_s=0.0, max_step_s=1.0)
    src.read(0.0)
    src.read(3600.0)
    soc = src.truth().soc_pct
    src.read(100.0)  # earlier than before: nothing happens
    assert src.truth().soc_pct == soc
    assert np.mean(soc) == pytest.approx(50.0 - 50.0, abs=1.5)


def test_profile_by_name_and_fault_validation(lfp4: Settings) -> None:
    src = SimulatedPackSource(lfp4, profile="constant_current:-10", time_origin_s=0.0)
    src.read(0.0)
    assert src.read(5.0).current_a == pytest.approx(-10.0, abs=0.3)
    with pytest.raises(FaultError, match="cell must lie between 1 and 4"):
        SimulatedPackSource(lfp4, faults=(SoftShort(cell=5),))
