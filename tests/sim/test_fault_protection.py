"""Each injected fault trips the right protection of the BMS core within its configured delay.

The BMS only sees sensor readings; the checks compare the moment the *measured* signal crossed the
limit with the moment the core raised the alarm, and then look at the plant's true current.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from smartbms.controller import Controller
from smartbms.core.settings import Settings, default_settings
from smartbms.sim.faults import (
    ChargerIgnoresDisconnect,
    DriftingCurrentOffset,
    FailedTemperatureSensor,
    Fault,
    OpenSenseWire,
    SoftShort,
    WeldedContactor,
)
from smartbms.sim.pack_source import SimulatedPackSource
from smartbms.sim.profiles import ConstantCurrent, Profile
from smartbms.sim.setup import make_profile
from smartbms.sim.variation import CellVariation

TICK_S = 1.0


@dataclass
class Run:
    source: SimulatedPackSource
    ticks: list[Any] = field(default_factory=list)
    currents: list[float] = field(default_factory=list)

    def first(self, code: str) -> float | None:
        for snap in self.ticks:
            if code in snap.actions.alarms:
                return float(snap.timestamp)
        return None

    def first_when(self, condition: Callable[[Any], bool]) -> float | None:
        for snap in self.ticks:
            if condition(snap):
                return float(snap.timestamp)
        return None

    def current_after(self, t: float) -> list[float]:
        return [i for snap, i in zip(self.ticks, self.currents, strict=True) if snap.timestamp > t + TICK_S]


def _small_pack(**changes: Any) -> Settings:
    s = default_settings(chemistry="LFP", cells_series=4, nominal_capacity_ah=10)
    return s.with_changes(changes) if changes else s


def _run(
    settings: Settings,
    faults: tuple[Fault, ...],
    profile: Profile,
    soc: float,
    duration_s: float,
    variation: CellVariation | None = None,
    stop_on: str | None = None,
) -> Run:
    src = SimulatedPackSource(
        settings,
        seed=3,
        profile=profile,
        initial_soc_pct=soc,
        faults=faults,
        variation=variation,
        time_origin_s=0.0,
    )
    controller = Controller(settings, src, src)
    run = Run(src)
    t = 0.0
    stop_at = None
    while t <= duration_s:
        snap = controller.tick(t)
        run.ticks.append(snap)
        run.currents.append(src.truth().current_a)
        if stop_on and stop_at is None and stop_on in snap.actions.alarms:
            stop_at = t + 60.0
        if stop_at is not None and t >= stop_at:
            break
        t += TICK_S
    return run


def _spread(snap: Any) -> float:
    v = snap.telemetry.cell_voltages_v or ()
    return max(v) - min(v) if v else 0.0


def test_soft_short_trips_the_imbalance_protection_within_its_delay() -> None:
    s = _small_pack()
    run = _run(
        s,
        (SoftShort(cell=2, resistance_ohm=0.5, at_s=60.0),),
        ConstantCurrent(0.0),
        30.0,
        2400.0,
        stop_on="A-IMBALANCE",
    )
    crossed = run.first_when(lambda snap: _spread(snap) >= s.protection.imbalance_protection_v)
    tripped = run.first("A-IMBALANCE")
    assert crossed is not None and tripped is not None
    assert crossed <= tripped <= crossed + s.protection.imbalance_delay_s + 2 * TICK_S
    # The shorted cell is the low one; the engine stops charging an imbalanced pack.
    truth = run.source.truth()
    assert min(range(4), key=lambda i: truth.soc_pct[i]) == 1
    assert not run.ticks[-1].actions.charge_enabled


def test_open_sense_wire_is_a_sensor_fault_at_once_and_both_paths_open() -> None:
    s = _small_pack()
    run = _run(s, (OpenSenseWire(cell=2, at_s=30.0),), ConstantCurrent(-3.0), 50.0, 60.0)
    assert run.first("E-SENSOR-OPEN-WIRE") == 30.0
    assert run.first_when(lambda snap: snap.timestamp < 30.0 and snap.actions.alarms) is None
    after = run.current_after(30.0)
    assert after and all(i == 0.0 for i in after)


@pytest.mark.parametrize(
    ("mode", "code"),
    [("open", "E-SENSOR-RANGE"), ("short", "E-SENSOR-RANGE"), ("missing", "E-SENSOR-MISSING")],
)
def test_failed_temperature_sensor_is_a_sensor_fault_at_once(mode: str, code: str) -> None:
    s = _small_pack()
    run = _run(
        s, (FailedTemperatureSensor(sensor=1, mode=mode, at_s=30.0),), ConstantCurrent(-3.0), 50.0, 45.0
    )
    assert run.first(code) == 30.0
    assert all(i == 0.0 for i in run.current_after(30.0))


def test_drifting_current_offset_is_caught_when_it_reaches_an_over_current_limit() -> None:
    # The core has no offset plausibility check: a drifting shunt is seen as a real current. With the
    # pack at rest the reading climbs until it crosses the charge over-current limit, which then trips.
    s = _small_pack()
    run = _run(
        s,
        (DriftingCurrentOffset(rate_a_per_h=600.0, at_s=0.0),),
        ConstantCurrent(0.0),
        50.0,
        120.0,
        stop_on="A-CHG-OC",
    )
    crossed = run.first_when(lambda snap: (snap.telemetry.current_a or 0.0) > s.protection.charge_oc_a)
    tripped = run.first("A-CHG-OC")
    assert crossed is not None and tripped is not None
    assert crossed <= tripped <= crossed + s.protection.charge_oc_delay_s + 2 * TICK_S


def test_charger_ignoring_the_charge_disconnect_is_stopped_by_cell_over_voltage() -> None:
    s = _small_pack()
    profile = make_profile("cccv", s, charger_absorption_v=15.0, charger_max_current_a=5.0)
    run = _run(
        s,
        (ChargerIgnoresDisconnect(),),
        profile,
        88.0,
        3000.0,
        variation=CellVariation(initial_soc_spread_pct=8.0),
        stop_on="A-CELL-OV",
    )
    released = run.first_when(lambda snap: not snap.actions.charge_disconnect_closed)
    crossed = run.first_when(
        lambda snap: max(snap.telemetry.cell_voltages_v or (0.0,)) > s.protection.cell_ov_v
    )
    tripped = run.first("A-CELL-OV")
    assert released is not None and crossed is not None and tripped is not None
    assert released < crossed  # the output was released, the charger kept going
    assert crossed <= tripped <= crossed + s.protection.cell_ov_delay_s + 2 * TICK_S
    # The charge FET then really stops the current.
    assert all(i <= 0.0 for i in run.current_after(tripped))


def _welded_run(stop_on: str = "A-CELL-OV") -> tuple[Run, float]:
    s = _small_pack()
    profile = make_profile("cccv", s, charger_absorption_v=15.0, charger_max_current_a=5.0)
    run = _run(
        s,
        (ChargerIgnoresDisconnect(), WeldedContactor(path="charge")),
        profile,
        88.0,
        3000.0,
        variation=CellVariation(initial_soc_spread_pct=8.0),
        stop_on=stop_on,
    )
    # The first time the BMS opens a charge path it had closed (not the open path of start-up).
    closed_at = run.first_when(lambda snap: snap.actions.charge_enabled)
    assert closed_at is not None
    opened = run.first_when(lambda snap: snap.timestamp > closed_at and not snap.actions.charge_enabled)
    assert opened is not None
    return run, opened


def test_welded_contactor_keeps_conducting_after_the_bms_opens_the_path() -> None:
    run, opened = _welded_run()
    after = run.current_after(opened)
    assert after and all(i > 0.0 for i in after)


def test_welded_contactor_is_reported_as_a_switch_failure() -> None:
    run, opened = _welded_run(stop_on="E-FET")
    tripped = run.first("E-FET")
    assert tripped is not None and tripped <= opened + 10.0
    assert run.ticks[-1].state.value == "FAULT"
