"""Outputs: pre-alarm before load disconnect, charge disconnect, charge input, LEDs, charge limit."""

from __future__ import annotations

from tests.core.helpers import Pack, healthy, pack_settings

from smartbms.core.outputs import soc_bar


def _falling(start_v: float, rate_v_per_s: float, t0: float):  # type: ignore[no-untyped-def]
    return lambda t: healthy(t, cell_voltages_v=(max(start_v - rate_v_per_s * (t - t0), 2.55), 3.3, 3.3, 3.3))


def _first(pack_times: list[tuple[float, bool]]) -> float:
    return next(t for t, on in pack_times if on)


def _trace(pack: Pack, make, start: float, end: float, dt: float = 0.5):  # type: ignore[no-untyped-def]
    pre, cut = [], []
    t = start
    while t <= end:
        a = pack.feed(make(t), t)
        pre.append((t, a.prealarm_output))
        cut.append((t, not a.load_disconnect_closed))
        t += dt
    return pre, cut


def test_prealarm_trips_at_least_30s_before_load_disconnect_on_slowly_falling_cell() -> None:
    pack = Pack()
    pack.warm_up()
    pre, cut = _trace(pack, _falling(3.2, 0.002, 6.0), 6.0, 400.0)
    assert _first(cut) - _first(pre) >= 30.0


def test_prealarm_trips_at_least_30s_before_load_disconnect_on_sudden_drop() -> None:
    pack = Pack()
    pack.warm_up()
    # Straight from healthy to below the load-disconnect level (but above the UV protection).
    pre, cut = _trace(pack, lambda t: healthy(t, cell_voltages_v=(2.7, 3.3, 3.3, 3.3)), 6.0, 100.0)
    assert _first(cut) - _first(pre) >= 30.0
    assert pack.actions is not None and pack.actions.discharge_enabled  # the FETs stay on: it is an output


def test_load_disconnect_reconnects_after_cells_recover() -> None:
    pack = Pack()
    pack.warm_up()
    _trace(pack, lambda t: healthy(t, cell_voltages_v=(2.7, 3.3, 3.3, 3.3)), 6.0, 60.0)
    assert pack.actions is not None and not pack.actions.load_disconnect_closed
    pack.run(lambda t: healthy(t), 61.0, 80.0)
    assert pack.actions.load_disconnect_closed and not pack.actions.prealarm_output


def test_intermittent_prealarm_toggles() -> None:
    pack = Pack(pack_settings(outputs__prealarm_mode="intermittent", outputs__intermittent_period_s=2.0))
    pack.warm_up()
    levels = [
        pack.feed(healthy(t / 2, cell_voltages_v=(2.95, 3.3, 3.3, 3.3)), t / 2).prealarm_output
        for t in range(12, 40)
    ]
    assert True in levels and False in levels[10:]


def test_charge_disconnect_released_on_imminent_cell_overvoltage_before_protection() -> None:
    pack = Pack()
    pack.warm_up()
    a = pack.run(lambda t: healthy(t, cell_voltages_v=(3.62, 3.3, 3.3, 3.3)), 6.0, 10.0)
    assert not a.charge_disconnect_closed
    assert a.charge_enabled and pack.bms_state == "NORMAL"  # protection has not acted yet
    assert "W-CHARGE-DISCONNECT" in a.alarms


def test_charge_disconnect_released_on_cold_and_hot_cells() -> None:
    for temp in (1.0, 44.0):
        pack = Pack()
        pack.warm_up()
        a = pack.run(lambda t, temp=temp: healthy(t, temperatures_c=(temp, 25.0)), 6.0, 10.0)
        assert not a.charge_disconnect_closed, temp
        assert a.load_disconnect_closed


def test_charge_limit_stops_charging_without_alarm_and_reenables_only_after_hold() -> None:
    pack = Pack()  # 4S LFP: limit 14.2 V, re-enable 0.5 V below for 10 s
    pack.warm_up()
    a = pack.feed(healthy(6.0, cell_voltages_v=(3.56,) * 4, current_a=20.0))
    assert not a.charge_enabled and a.discharge_enabled
    assert pack.bms_state == "NORMAL" and "W-CHARGE-FULL" not in a.alarms
    # 0.4 V below the limit is not enough.
    a = pack.run(lambda t: healthy(t, cell_voltages_v=(3.45,) * 4, current_a=0.0), 7.0, 40.0)
    assert not a.charge_enabled
    # 0.6 V below for 9.5 s, then a bump back above the re-enable level restarts the hold.
    pack.run(lambda t: healthy(t, cell_voltages_v=(3.40,) * 4, current_a=0.0), 41.0, 50.5)
    a = pack.feed(healthy(51.0, cell_voltages_v=(3.43,) * 4, current_a=0.0))
    assert not a.charge_enabled
    a = pack.run(lambda t: healthy(t, cell_voltages_v=(3.40,) * 4, current_a=0.0), 51.5, 61.0)
    assert not a.charge_enabled
    a = pack.feed(healthy(61.5, cell_voltages_v=(3.40,) * 4, current_a=0.0))
    assert a.charge_enabled


def test_charge_input_conducts_only_above_start_voltage_and_towards_the_pack() -> None:
    pack = Pack()  # 4S LFP: start 13.0 V, fuse 100 A x 0.9, capped by the 50 A max charge current
    pack.warm_up()
    below = pack.feed(healthy(6.0, charge_source_v=12.8))
    assert not below.charge_input_enabled and below.charge_input_limit_a == 0.0
    above = pack.feed(healthy(7.0, charge_source_v=14.0))
    assert above.charge_input_enabled and above.charge_input_limit_a == 50.0
    # Above the start voltage but below the pack: a diode would block, so must we.
    reverse = pack.feed(healthy(8.0, cell_voltages_v=(3.35,) * 4, charge_source_v=13.2))
    assert not reverse.charge_input_enabled


def test_charge_input_limit_is_fraction_of_fuse_rating() -> None:
    pack = Pack(pack_settings(charge_input__fuse_rating_a=40.0))
    pack.warm_up()
    a = pack.feed(healthy(6.0, charge_source_v=14.0))
    assert a.charge_input_limit_a == 36.0


def test_charge_input_off_when_charging_is_blocked() -> None:
    pack = Pack()
    pack.warm_up()
    a = pack.run(lambda t: healthy(t, temperatures_c=(-5.0, 25.0), charge_source_v=14.0), 6.0, 20.0)
    assert not a.charge_enabled and not a.charge_input_enabled


def test_leds_show_activity_charging_and_alarm() -> None:
    pack = Pack()
    pack.warm_up()
    a = pack.feed(healthy(6.0, current_a=10.0))
    assert a.leds.active and a.leds.charging and not a.leds.alarm
    a = pack.run(lambda t: healthy(t, cell_voltages_v=(3.8, 3.3, 3.3, 3.3)), 7.0, 12.0)
    assert a.leds.alarm


def test_soc_bar_segments() -> None:
    assert soc_bar(None) is None
    assert [soc_bar(v) for v in (0, 1, 20, 21, 55, 99, 100)] == [0, 1, 1, 2, 3, 5, 5]
