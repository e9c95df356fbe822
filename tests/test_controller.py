"""The controller wires source -> core -> actuator -> publishers, with injected time."""

from __future__ import annotations

import math
import time
from pathlib import Path

from tests.core.helpers import healthy, pack_settings

from smartbms.balancing.base import BalancingDecision
from smartbms.controller import Controller, Snapshot
from smartbms.core.actions import Actions
from smartbms.core.measurement import Measurement
from smartbms.core.requests import RemoteMode, SetRemoteMode
from smartbms.eventlog import EventLog


class SteadyPack:
    """A source and actuator: healthy cells, current only while the matching path is on."""

    def __init__(self, current_a: float = -10.0) -> None:
        self.current_a = current_a
        self.applied: list[Actions] = []

    def read(self, now: float) -> Measurement:
        last = self.applied[-1] if self.applied else None
        flowing = last is not None and (last.discharge_enabled if self.current_a < 0 else last.charge_enabled)
        return healthy(now, current_a=self.current_a if flowing else 0.0)

    def apply(self, actions: Actions, now: float) -> None:
        self.applied.append(actions)


def test_tick_runs_the_pipeline_and_builds_telemetry(tmp_path: Path) -> None:
    pack = SteadyPack()
    log = EventLog(tmp_path / "events.sqlite")
    seen: list[Snapshot] = []
    controller = Controller(pack_settings(), pack, pack, event_log=log, publishers=[seen.append])
    for t in range(5):
        snap = controller.tick(float(t))
    assert snap.state.value == "NORMAL"
    assert snap.telemetry.current_a == -10.0
    assert snap.telemetry.voltage_v == 13.2
    assert math.isclose(snap.telemetry.power_w or 0.0, -132.0)
    assert snap.telemetry.cell_voltages_v == (3.3,) * 4
    assert snap.telemetry.charge_enabled and snap.telemetry.discharge_enabled
    assert snap.telemetry.extra["state"] == "NORMAL"
    assert len(seen) == 5 and controller.latest is snap
    assert [e.code for e in log.query(kinds=["state"])] == ["STANDBY", "NORMAL"]


def test_submitted_request_applies_at_next_tick_and_the_pack_reacts() -> None:
    pack = SteadyPack()
    controller = Controller(pack_settings(), pack, pack)
    for t in range(4):
        controller.tick(float(t))
    controller.submit(SetRemoteMode(RemoteMode.OFF_CHARGE_AND_SYSTEM))
    snap = controller.tick(4.0)
    assert not snap.actions.discharge_enabled and snap.remote_mode is RemoteMode.OFF_CHARGE_AND_SYSTEM
    assert controller.tick(5.0).telemetry.current_a == 0.0


def test_settings_update_is_logged_with_old_and_new_value(tmp_path: Path) -> None:
    pack = SteadyPack()
    log = EventLog(tmp_path / "events.sqlite")
    controller = Controller(pack_settings(), pack, pack, event_log=log)
    controller.tick(0.0)
    controller.update_settings(controller.settings.with_changes({"protection.cell_ov_delay_s": 3.0}))
    controller.tick(1.0)
    assert controller.settings.protection.cell_ov_delay_s == 3.0
    [event] = log.query(kinds=["setting"])
    assert event.code == "protection.cell_ov_delay_s" and event.data == {"old": 2.0, "new": 3.0}


def test_a_failing_publisher_is_counted_and_does_not_stop_the_bms() -> None:
    def broken(_: Snapshot) -> None:
        raise RuntimeError("consumer down")

    pack = SteadyPack()
    controller = Controller(pack_settings(), pack, pack, publishers=[broken])
    for t in range(4):
        snap = controller.tick(float(t))
    assert controller.publish_errors == 4 and snap.state.value == "NORMAL"


def test_run_walks_simulated_time_faster_than_real_time() -> None:
    pack = SteadyPack()
    controller = Controller(pack_settings(), pack, pack)
    wall = time.monotonic()
    last = controller.run(duration_s=600.0, speed=float("inf"), start=1000.0)
    assert last is not None and last.timestamp == 1600.0
    assert len(pack.applied) == 601
    assert time.monotonic() - wall < 30.0


def test_run_at_a_finite_speed_paces_itself() -> None:
    pack = SteadyPack()
    controller = Controller(pack_settings(), pack, pack)
    wall = time.monotonic()
    controller.run(duration_s=10.0, speed=50.0, start=0.0)
    assert time.monotonic() - wall >= 0.19


def test_lost_source_fails_safe() -> None:
    class Silent:
        def read(self, now: float) -> None:
            return None

    controller = Controller(pack_settings(), Silent())
    snap = controller.run(duration_s=20.0, speed=float("inf"), start=0.0)
    assert snap is not None
    assert not snap.actions.charge_enabled and not snap.actions.discharge_enabled
    assert "E-SENSOR-STALE" in snap.actions.alarms


class RecordingEstimator:
    """Records what the controller tells an estimator; returns no estimate."""

    def __init__(self) -> None:
        self.cell_currents: list[object] = []

    def update(self, **kwargs: object) -> None:
        self.cell_currents.append(kwargs.get("cell_currents_a"))

    def set_soc(self, soc_pct: float) -> None:
        pass


class BleedCellTwo:
    """A balancer that bleeds cell 2 on every tick."""

    def decide(self, inp: object) -> BalancingDecision:
        return BalancingDecision(bleed_cells=(2,))


def test_the_estimator_is_told_what_the_bleed_resistors_drew_since_the_last_tick() -> None:
    pack = SteadyPack()
    estimator = RecordingEstimator()
    settings = pack_settings()
    controller = Controller(settings, pack, pack, estimator=estimator, balancer=BleedCellTwo())
    for t in range(3):
        controller.tick(float(t))
    # The first tick has nothing before it; from the second on, cell 2 lost V / R through its resistor.
    assert estimator.cell_currents[0] is None
    ohm = settings.balancing.bleed_resistance_ohm
    assert estimator.cell_currents[1] == (0.0, -3.3 / ohm, 0.0, 0.0)
