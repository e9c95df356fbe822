"""Switch failure (E-FET): current through a path the core opened means a welded contactor or a
shorted FET; the core latches FAULT with both paths off until a reset once the current is gone."""

from __future__ import annotations

from tests.core.helpers import Pack, healthy, pack_settings

from smartbms.core.requests import ResetFault

OV_CELLS = (3.7, 3.3, 3.3, 3.3)
UV_CELLS = (2.4, 3.3, 3.3, 3.3)


def _charge_blocked() -> Pack:
    pack = Pack()
    pack.warm_up()
    pack.run(lambda t: healthy(t, cell_voltages_v=OV_CELLS, current_a=0.0), 6.0, 9.0)
    assert pack.bms_state == "PROTECTION" and pack.actions is not None and not pack.actions.charge_enabled
    return pack


def test_protection_to_fault_on_switch_failure_when_charge_flows_through_opened_path_after_delay() -> None:
    pack = _charge_blocked()
    delay = pack.state.settings.protection.switch_failure_delay_s
    pack.run(lambda t: healthy(t, cell_voltages_v=OV_CELLS, current_a=20.0), 9.5, 9.5 + delay - 0.5, raw=True)
    assert pack.bms_state == "PROTECTION", "tripped before its delay"
    a = pack.run(
        lambda t: healthy(t, cell_voltages_v=OV_CELLS, current_a=20.0), 9.5 + delay, 9.5 + delay, raw=True
    )
    assert pack.bms_state == "FAULT" and "E-FET" in a.alarms
    assert not a.charge_enabled and not a.discharge_enabled


def test_protection_to_fault_on_switch_failure_when_discharge_flows_through_opened_path() -> None:
    pack = Pack()
    pack.warm_up()
    pack.run(lambda t: healthy(t, cell_voltages_v=UV_CELLS), 6.0, 9.0)
    assert pack.actions is not None and not pack.actions.discharge_enabled
    a = pack.run(lambda t: healthy(t, cell_voltages_v=UV_CELLS, current_a=-30.0), 9.5, 20.0, raw=True)
    assert pack.bms_state == "FAULT" and "E-FET" in a.alarms


def test_opened_path_without_current_is_no_switch_failure() -> None:
    pack = _charge_blocked()
    a = pack.run(
        lambda t: healthy(t, cell_voltages_v=OV_CELLS, current_a=20.0), 9.5, 60.0
    )  # the plant stops it
    assert pack.bms_state == "PROTECTION" and "E-FET" not in a.alarms


def test_small_current_through_opened_path_is_sensor_noise() -> None:
    pack = _charge_blocked()
    limit = pack.state.settings.protection.switch_failure_current_a
    a = pack.run(lambda t: healthy(t, cell_voltages_v=OV_CELLS, current_a=0.5 * limit), 9.5, 60.0, raw=True)
    assert pack.bms_state == "PROTECTION" and "E-FET" not in a.alarms


def test_fault_to_standby_on_reset_once_switch_current_has_stopped() -> None:
    pack = _charge_blocked()
    pack.run(lambda t: healthy(t, cell_voltages_v=OV_CELLS, current_a=20.0), 9.5, 20.0, raw=True)
    assert pack.bms_state == "FAULT"
    pack.ask(ResetFault())
    pack.feed(healthy(20.5, cell_voltages_v=OV_CELLS, current_a=20.0), raw=True)
    assert pack.bms_state == "FAULT"  # still flowing: refused
    pack.feed(healthy(21.0, current_a=0.0))
    pack.ask(ResetFault())
    pack.feed(healthy(21.5, current_a=0.0))
    assert pack.bms_state == "STANDBY"


def test_switch_failure_detection_can_be_turned_off_for_signal_only_systems() -> None:
    pack = Pack(pack_settings(protection__switch_failure_detection=False))
    pack.warm_up()
    a = pack.run(lambda t: healthy(t, cell_voltages_v=OV_CELLS, current_a=20.0), 6.0, 60.0, raw=True)
    assert pack.bms_state == "PROTECTION" and "E-FET" not in a.alarms
    assert all(r.id != "switch_failure" for r in pack.state.rules)
