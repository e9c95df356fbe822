"""Operating states, power modes, wake-up sources and remote on/off."""

from __future__ import annotations

from tests.core.helpers import Pack, healthy, pack_settings

from smartbms.core.engine import apply_settings
from smartbms.core.requests import RemoteMode, ResetFault, SetRemoteMode, Sleep, Wake, WakeSource


def test_init_to_standby_to_normal_after_startup_samples() -> None:
    pack = Pack()
    a = pack.feed(healthy(0.0))
    assert pack.bms_state == "STANDBY" and not a.charge_enabled and not a.discharge_enabled
    pack.feed(healthy(1.0))
    a = pack.feed(healthy(2.0))
    assert pack.bms_state == "NORMAL" and a.charge_enabled and a.discharge_enabled
    assert [e.code for e in pack.events if e.kind.value == "state"] == ["STANDBY", "NORMAL"]


def test_standby_to_protection_when_a_limit_is_violated_at_start() -> None:
    pack = Pack()
    pack.run(lambda t: healthy(t, cell_voltages_v=(2.4, 3.3, 3.3, 3.3)), 0.0, 5.0)
    assert pack.bms_state == "PROTECTION"
    assert pack.actions is not None and not pack.actions.discharge_enabled and pack.actions.charge_enabled


def _idle(t: float):  # type: ignore[no-untyped-def]
    return healthy(t, current_a=0.1)


def test_normal_to_low_power_after_idle_time_and_back_on_current() -> None:
    pack = Pack(pack_settings(power__low_power_after_s=60.0))
    pack.warm_up()
    pack.run(_idle, 6.0, 60.0, dt=1.0)
    assert pack.bms_state == "NORMAL"
    a = pack.run(_idle, 61.0, 70.0, dt=1.0)
    assert pack.bms_state == "LOW_POWER"
    assert a.charge_enabled and a.discharge_enabled  # low power keeps the paths on
    assert a.sample_period_s == 10.0
    pack.feed(healthy(71.0, current_a=-8.0))
    assert pack.bms_state == "NORMAL"


def test_low_power_to_sleep_after_sleep_time_with_paths_open() -> None:
    pack = Pack(pack_settings(power__low_power_after_s=60.0, power__sleep_after_s=600.0))
    pack.warm_up()
    a = pack.run(_idle, 6.0, 620.0, dt=2.0)
    assert pack.bms_state == "SLEEP"
    assert not a.charge_enabled and not a.discharge_enabled


def _asleep() -> Pack:
    pack = Pack()
    pack.warm_up()
    pack.ask(Sleep())
    pack.feed(healthy(6.0, current_a=0.0))
    assert pack.bms_state == "SLEEP"
    return pack


def test_sleep_to_standby_on_charger_current() -> None:
    pack = _asleep()
    pack.feed(healthy(7.0, current_a=0.0))
    assert pack.bms_state == "SLEEP"
    # Seen where the current sensor is outside the BMS's own switches (signal-only systems).
    pack.feed(healthy(8.0, current_a=3.0), raw=True)
    assert pack.bms_state == "STANDBY"
    assert any("charger" in e.message for e in pack.events)


def test_sleep_to_standby_on_charger_voltage_at_charge_input() -> None:
    pack = _asleep()
    pack.feed(healthy(7.0, current_a=0.0, charge_source_v=14.4))
    assert pack.bms_state == "STANDBY"


def test_sleep_to_standby_on_wake_timer() -> None:
    pack = Pack(pack_settings(power__sleep_wake_interval_s=100.0))
    pack.warm_up()
    pack.ask(Sleep())
    pack.feed(healthy(6.0, current_a=0.0))
    pack.run(lambda t: healthy(t, current_a=0.0), 7.0, 105.0, dt=1.0)
    assert pack.bms_state == "SLEEP"
    pack.feed(healthy(106.0, current_a=0.0))
    assert pack.bms_state == "STANDBY"


def test_sleep_to_standby_on_communication_and_button() -> None:
    for source in (WakeSource.COMMUNICATION, WakeSource.BUTTON):
        pack = _asleep()
        pack.ask(Wake(source))
        pack.feed(healthy(7.0, current_a=0.0))
        assert pack.bms_state == "STANDBY"
        a = pack.run(lambda t: healthy(t, current_a=0.0), 8.0, 10.0, dt=1.0)
        assert pack.bms_state == "NORMAL" and a.discharge_enabled


def test_protection_to_sleep_after_cell_undervoltage_held() -> None:
    pack = Pack(pack_settings(power__sleep_on_cell_uv_after_s=300.0))
    pack.warm_up()
    pack.run(lambda t: healthy(t, cell_voltages_v=(2.4, 3.3, 3.3, 3.3), current_a=0.0), 6.0, 300.0, dt=2.0)
    assert pack.bms_state == "PROTECTION"
    a = pack.run(
        lambda t: healthy(t, cell_voltages_v=(2.4, 3.3, 3.3, 3.3), current_a=0.0), 302.0, 320.0, dt=2.0
    )
    assert pack.bms_state == "SLEEP" and not a.charge_enabled and not a.discharge_enabled


def test_remote_off_charge_and_system_opens_both_paths_and_keeps_monitoring() -> None:
    pack = Pack()
    pack.warm_up()
    pack.ask(SetRemoteMode(RemoteMode.OFF_CHARGE_AND_SYSTEM))
    a = pack.feed(healthy(6.0))
    assert not a.charge_enabled and not a.discharge_enabled
    assert pack.bms_state == "NORMAL" and "A-REMOTE-OFF" in a.alarms


def test_remote_off_charge_only_keeps_discharge() -> None:
    pack = Pack()
    pack.warm_up()
    pack.ask(SetRemoteMode(RemoteMode.OFF_CHARGE_ONLY))
    a = pack.feed(healthy(6.0))
    assert not a.charge_enabled and a.discharge_enabled


def test_remote_off_all_to_sleep_and_only_remote_on_wakes() -> None:
    pack = Pack()
    pack.warm_up()
    pack.ask(SetRemoteMode(RemoteMode.OFF_ALL))
    a = pack.feed(healthy(6.0))
    assert pack.bms_state == "SLEEP" and not a.charge_enabled and not a.discharge_enabled
    pack.ask(Wake(WakeSource.BUTTON))
    pack.feed(healthy(7.0, current_a=5.0))
    assert pack.bms_state == "SLEEP"
    pack.ask(SetRemoteMode(RemoteMode.ON))
    pack.feed(healthy(8.0))
    assert pack.bms_state == "STANDBY"
    a = pack.run(lambda t: healthy(t), 9.0, 11.0, dt=1.0)
    assert pack.bms_state == "NORMAL" and a.charge_enabled and a.discharge_enabled


def test_remote_on_restores_paths() -> None:
    pack = Pack()
    pack.warm_up()
    pack.ask(SetRemoteMode(RemoteMode.OFF_CHARGE_AND_SYSTEM))
    pack.feed(healthy(6.0))
    pack.ask(SetRemoteMode(RemoteMode.ON))
    a = pack.feed(healthy(7.0))
    assert a.charge_enabled and a.discharge_enabled and "A-REMOTE-OFF" not in a.alarms


def test_reset_refused_outside_fault_and_sleep_refused_in_fault() -> None:
    pack = Pack()
    pack.warm_up()
    pack.ask(ResetFault())
    pack.feed(healthy(6.0))
    assert pack.bms_state == "NORMAL"
    pack.feed(healthy(7.0, current_a=-5000.0 + 1))  # short circuit (> 400 A) but plausible
    assert pack.bms_state == "FAULT"
    pack.ask(Sleep())
    pack.feed(healthy(8.0))
    assert pack.bms_state == "FAULT"
    assert [e.data["accepted"] for e in pack.events if e.kind.value == "request"] == [False, False]


def test_settings_change_keeps_an_active_protection() -> None:
    pack = Pack()
    pack.warm_up()
    pack.run(lambda t: healthy(t, cell_voltages_v=(3.7, 3.3, 3.3, 3.3)), 6.0, 10.0)
    assert pack.bms_state == "PROTECTION"
    new = pack.state.settings.with_changes({"protection.cell_ov_recovery_s": 5.0})
    pack.state, events = apply_settings(pack.state, new, 10.5)
    assert [e.code for e in events] == ["protection.cell_ov_recovery_s"]
    a = pack.feed(healthy(11.0, cell_voltages_v=(3.7, 3.3, 3.3, 3.3)))
    assert pack.bms_state == "PROTECTION" and not a.charge_enabled
    pack.run(lambda t: healthy(t), 12.0, 17.0)
    assert pack.bms_state == "NORMAL"


def test_events_record_trip_and_release_with_values() -> None:
    pack = Pack()
    pack.warm_up()
    pack.run(lambda t: healthy(t, cell_voltages_v=(3.7, 3.3, 3.3, 3.3)), 6.0, 10.0)
    trip = next(e for e in pack.events if e.kind.value == "trip" and e.code == "A-CELL-OV")
    assert trip.data["value"] == 3.7 and trip.data["limit"] == 3.65


def test_switching_discharge_off_by_hand_keeps_charge_and_on_restores_it() -> None:
    from smartbms.core.requests import Path, SetPath

    pack = Pack()
    pack.warm_up()
    pack.ask(SetPath(Path.DISCHARGE, False))
    a = pack.feed(healthy(6.0))
    assert a.charge_enabled and not a.discharge_enabled and pack.bms_state == "NORMAL"
    pack.ask(SetPath(Path.DISCHARGE, True))
    a = pack.feed(healthy(7.0))
    assert a.charge_enabled and a.discharge_enabled


def test_switching_charge_on_by_hand_does_not_override_protection() -> None:
    from smartbms.core.requests import Path, SetPath

    pack = Pack()
    pack.warm_up()
    pack.ask(SetPath(Path.CHARGE, False))
    pack.run(lambda t: healthy(t, cell_voltages_v=(3.7, 3.3, 3.3, 3.3)), 6.0, 10.0)
    pack.ask(SetPath(Path.CHARGE, True))
    a = pack.feed(healthy(10.5, cell_voltages_v=(3.7, 3.3, 3.3, 3.3)))
    assert not a.charge_enabled and pack.bms_state == "PROTECTION"
