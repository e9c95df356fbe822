"""Every protection rule's trip, trip delay, hysteresis band, release and recovery delay.

The tests are generated from one table so each rule gets the same four checks, and each
generated test is named after the transition it proves, e.g.
``test_normal_to_protection_on_cell_overvoltage_after_delay``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from tests.core.helpers import Pack, healthy, pack_settings, with_signal

from smartbms.core.rules import Rule, Signal

SCALE = {
    Signal.CELL_MAX_V: 0.05,
    Signal.CELL_MIN_V: 0.05,
    Signal.PACK_V: 0.2,
    Signal.CELL_DELTA_V: 0.05,
    Signal.TEMPERATURE_MAX_C: 3.0,
    Signal.TEMPERATURE_MIN_C: 3.0,
    Signal.FET_TEMPERATURE_C: 3.0,
}


@dataclass(frozen=True)
class Case:
    name: str  # the transition's name in test names
    rule_id: str
    blocks_charge: bool
    blocks_discharge: bool
    other_path_stays_on: bool = True
    # The pack's charge voltage limit (a normal end of charge) stops charging before this rule does.
    charge_limit_first: bool = False
    # Over-current: once the path opens the current is gone, so the hysteresis band can only be
    # seen where current still flows (a BMS that signals external switches): such tests feed raw
    # samples with switch-failure detection off, to watch this rule alone.
    signal_flows_through_path: bool = False
    settings: dict[str, Any] = field(default_factory=dict)


NO_SWITCH_CHECK = {"protection__switch_failure_detection": False}

CASES = [
    Case("cell_overvoltage", "cell_ov", True, False),
    Case("cell_undervoltage", "cell_uv", False, True),
    Case(
        "pack_overvoltage",
        "pack_ov",
        True,
        False,
        charge_limit_first=True,
        settings={"protection__cell_ov_v": 3.85},
    ),
    Case("pack_undervoltage", "pack_uv", False, True, settings={"protection__cell_uv_v": 2.2}),
    Case(
        "charge_overcurrent",
        "charge_oc",
        True,
        False,
        signal_flows_through_path=True,
        settings=NO_SWITCH_CHECK,
    ),
    Case(
        "discharge_overcurrent_level1",
        "discharge_oc1",
        False,
        True,
        signal_flows_through_path=True,
        settings=NO_SWITCH_CHECK,
    ),
    Case(
        "discharge_overcurrent_level2",
        "discharge_oc2",
        False,
        True,
        signal_flows_through_path=True,
        settings=NO_SWITCH_CHECK,
    ),
    Case("charge_overtemperature", "charge_ot", True, False),
    Case("charge_undertemperature", "charge_ut", True, False),
    # Too hot to discharge is also too hot to charge: both limits trip together.
    Case("discharge_overtemperature", "discharge_ot", False, True, other_path_stays_on=False),
    Case("discharge_undertemperature", "discharge_ut", False, True, other_path_stays_on=False),
    Case("power_stage_overtemperature", "fet_ot", True, True, other_path_stays_on=False),
    Case(
        "cell_imbalance",
        "imbalance",
        True,
        False,
        settings={
            "protection__imbalance_warning_v": 0.1,
            "protection__imbalance_protection_v": 0.5,
            "protection__imbalance_release_v": 0.3,
        },
    ),
]


def _rule(pack: Pack, rule_id: str) -> Rule:
    return next(r for r in pack.state.rules if r.id == rule_id)


def _values(rule: Rule) -> tuple[float, float]:
    """(a value past the limit, a value inside the hysteresis band)."""
    step = SCALE.get(rule.signal, 0.1 * rule.limit)
    trip = rule.limit + step if rule.above else rule.limit - step
    band = (rule.limit + rule.release) / 2
    return trip, band


def _setup(case: Case) -> tuple[Pack, Rule, float, float]:
    pack = Pack(pack_settings(**case.settings))
    pack.warm_up()
    assert pack.bms_state == "NORMAL"
    rule = _rule(pack, case.rule_id)
    trip, band = _values(rule)
    pack.run(lambda t: healthy(t), 5.5, 9.9, dt=0.1)
    return pack, rule, trip, band


def _paths(pack: Pack) -> tuple[bool, bool]:
    assert pack.actions is not None
    return pack.actions.charge_enabled, pack.actions.discharge_enabled


def _assert_blocked(pack: Pack, case: Case, rule: Rule) -> None:
    charge, discharge = _paths(pack)
    assert pack.bms_state == "PROTECTION"
    assert rule.code in pack.actions.alarms  # type: ignore[union-attr]
    if case.blocks_charge:
        assert not charge
    if case.blocks_discharge:
        assert not discharge
    if case.other_path_stays_on:
        assert charge if not case.blocks_charge else discharge if not case.blocks_discharge else True


def _trip(pack: Pack, rule: Rule, trip: float, raw: bool = False) -> float:
    """Hold the trip value until the rule has tripped; returns the trip time."""
    t_end = 10.0 + rule.trip_delay_s
    pack.run(lambda t: with_signal(rule.signal, trip, t), 10.0, t_end, dt=0.1, raw=raw)
    return t_end


def make_trip_test(case: Case) -> Callable[[], None]:
    def test() -> None:
        pack, rule, trip, _ = _setup(case)
        if rule.trip_delay_s >= 0.2:
            pack.run(
                lambda t: with_signal(rule.signal, trip, t), 10.0, 10.0 + rule.trip_delay_s - 0.1, dt=0.1
            )
            assert pack.bms_state == "NORMAL", "tripped before its delay"
            assert rule.code not in pack.actions.alarms  # type: ignore[union-attr]
            assert _paths(pack) == (not case.charge_limit_first, True)
        _trip(pack, rule, trip)
        _assert_blocked(pack, case, rule)

    return test


def make_short_pulse_test(case: Case) -> Callable[[], None]:
    def test() -> None:
        pack, rule, trip, _ = _setup(case)
        pack.run(lambda t: with_signal(rule.signal, trip, t), 10.0, 10.0 + rule.trip_delay_s / 2, dt=0.1)
        # After a pack-voltage pulse the charge limit's own re-enable hold (10 s) must pass too.
        settle = 3 * rule.trip_delay_s + (12.0 if case.charge_limit_first else 0.0)
        pack.run(lambda t: healthy(t), 10.0 + rule.trip_delay_s / 2 + 0.1, 10.0 + settle, dt=0.1)
        assert pack.bms_state == "NORMAL"
        assert _paths(pack) == (True, True)
        assert rule.code not in pack.event_codes("trip")

    return test


def make_hysteresis_test(case: Case) -> Callable[[], None]:
    def test() -> None:
        pack, rule, trip, band = _setup(case)
        raw = case.signal_flows_through_path
        t = _trip(pack, rule, trip, raw=raw)
        hold = 2 * rule.recovery_delay_s + 5
        pack.run(lambda t: with_signal(rule.signal, band, t), t + 0.5, t + hold, dt=0.5, raw=raw)
        _assert_blocked(pack, case, rule)

    return test


def make_recovery_test(case: Case) -> Callable[[], None]:
    def test() -> None:
        pack, rule, trip, _ = _setup(case)
        t = _trip(pack, rule, trip)
        released_at = t + 1.0
        if rule.recovery_delay_s >= 0.2:
            pack.run(lambda t: healthy(t), released_at, released_at + rule.recovery_delay_s - 0.1, dt=0.1)
            _assert_blocked(pack, case, rule)
        pack.run(
            lambda t: healthy(t),
            released_at + rule.recovery_delay_s - 0.05,
            released_at + rule.recovery_delay_s,
            dt=0.05,
        )
        assert pack.bms_state == "NORMAL"
        assert _paths(pack) == (True, True)
        assert rule.code in pack.event_codes("release")

    return test


for _case in CASES:
    globals()[f"test_normal_to_protection_on_{_case.name}_after_delay"] = make_trip_test(_case)
    globals()[f"test_normal_stays_normal_on_{_case.name}_shorter_than_delay"] = make_short_pulse_test(_case)
    globals()[f"test_protection_holds_on_{_case.name}_inside_hysteresis_band"] = make_hysteresis_test(_case)
    globals()[f"test_protection_to_normal_on_{_case.name}_release_after_recovery_delay"] = make_recovery_test(
        _case
    )


# Short circuit: fastest, latched, needs a reset.
def _short_circuit_pack() -> tuple[Pack, Rule]:
    pack = Pack()
    pack.warm_up()
    return pack, _rule(pack, "short_circuit")


def test_normal_to_fault_on_short_circuit_at_once() -> None:
    pack, rule = _short_circuit_pack()
    actions = pack.feed(healthy(6.0, current_a=-(rule.limit + 100)))
    assert pack.bms_state == "FAULT"
    assert not actions.charge_enabled and not actions.discharge_enabled
    assert "A-SHORT-CIRCUIT" in actions.alarms


def test_short_circuit_trips_before_both_overcurrent_levels() -> None:
    pack, _ = _short_circuit_pack()
    pack.feed(healthy(6.0, current_a=-1000.0))
    assert pack.event_codes("trip") == ["A-SHORT-CIRCUIT"]


def test_fault_holds_after_short_circuit_without_reset() -> None:
    pack, rule = _short_circuit_pack()
    pack.feed(healthy(6.0, current_a=-(rule.limit + 100)))
    actions = pack.run(lambda t: healthy(t), 7.0, 600.0, dt=5.0)
    assert pack.bms_state == "FAULT"
    assert not actions.charge_enabled and not actions.discharge_enabled


def test_fault_to_standby_on_reset_after_short_circuit_then_normal() -> None:
    from smartbms.core.requests import ResetFault

    pack, rule = _short_circuit_pack()
    pack.feed(healthy(6.0, current_a=-(rule.limit + 100)))
    pack.feed(healthy(7.0, current_a=0.0))
    pack.ask(ResetFault())
    pack.feed(healthy(8.0, current_a=0.0))
    assert pack.bms_state == "STANDBY"
    actions = pack.run(lambda t: healthy(t), 9.0, 12.0, dt=1.0)
    assert pack.bms_state == "NORMAL"
    assert actions.charge_enabled and actions.discharge_enabled


def test_fault_reset_refused_while_short_circuit_current_flows() -> None:
    from smartbms.core.requests import ResetFault

    pack, rule = _short_circuit_pack()
    pack.feed(healthy(6.0, current_a=-(rule.limit + 100)))
    pack.ask(ResetFault())
    pack.feed(healthy(7.0, current_a=-(rule.limit + 100)), raw=True)  # the short still drives current
    assert pack.bms_state == "FAULT"
    refused = [e for e in pack.events if e.kind.value == "request" and not e.data["accepted"]]
    assert refused and "short_circuit" in refused[0].message


def test_short_circuit_unlatched_setting_recovers_after_delay() -> None:
    pack = Pack(pack_settings(protection__short_circuit_latched=False))
    pack.warm_up()
    rule = _rule(pack, "short_circuit")
    pack.feed(healthy(6.0, current_a=-(rule.limit + 100)))
    assert pack.bms_state == "PROTECTION"
    pack.run(lambda t: healthy(t), 7.0, 7.0 + rule.recovery_delay_s, dt=1.0)
    assert pack.bms_state == "NORMAL"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_protection_rule_is_covered(case: Case) -> None:
    pack = Pack(pack_settings(**case.settings))
    assert _rule(pack, case.rule_id).tier.value == "protection"


def test_table_covers_all_protection_rules() -> None:
    pack = Pack()
    covered = {c.rule_id for c in CASES} | {"short_circuit", "switch_failure"}  # own tests below / elsewhere
    protection = {r.id for r in pack.state.rules if r.tier.value == "protection"}
    assert protection == covered
