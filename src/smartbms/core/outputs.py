"""From the core state to output levels: paths, disconnect outputs, pre-alarm, charge input, LEDs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from smartbms.core.actions import Actions, LedState
from smartbms.core.alarms import CATALOG
from smartbms.core.events import Event
from smartbms.core.requests import RemoteMode
from smartbms.core.rules import CHARGE_DISCONNECT_IDS, LOAD_DISCONNECT_ID, PREALARM_ID, Rule, RuleStatus, Tier
from smartbms.core.settings import PrealarmMode
from smartbms.core.state import BmsState
from smartbms.core.validation import ValidatedSample

if TYPE_CHECKING:
    from smartbms.core.engine import CoreState

_AWAKE = frozenset(
    {BmsState.STANDBY, BmsState.NORMAL, BmsState.LOW_POWER, BmsState.PROTECTION, BmsState.FAULT}
)


def compute(
    state: CoreState,
    sample: ValidatedSample,
    now: float,
    events: tuple[Event, ...],
    engaged_rules: list[tuple[Rule, RuleStatus]],
) -> Actions:
    """The outputs for the engaged (active or recovering) rules."""
    from smartbms.core.engine import paths_allowed

    settings = state.settings
    out = settings.outputs
    charge, discharge = paths_allowed(state, sample, engaged_rules)

    engaged: dict[str, float] = {}
    alarms: set[str] = set(sample.faults)
    for rule, status in engaged_rules:
        engaged[rule.id] = status.since
        if rule.tier is not Tier.LIMIT and rule.code in CATALOG:
            alarms.add(rule.code)
    if state.remote_mode is not RemoteMode.ON:
        alarms.add("A-REMOTE-OFF")

    # Pre-alarm first; the load disconnect may follow only after the pre-alarm lead time.
    prealarm_since = engaged.get(PREALARM_ID)
    prealarm_on = prealarm_since is not None
    loads_cut = (
        LOAD_DISCONNECT_ID in engaged
        and prealarm_since is not None
        and now - prealarm_since >= out.prealarm_lead_s
    )
    if not loads_cut:
        alarms.discard("W-LOAD-DISCONNECT")
    prealarm_level = prealarm_on
    if prealarm_on and out.prealarm_mode is PrealarmMode.INTERMITTENT:
        assert prealarm_since is not None
        prealarm_level = int((now - prealarm_since) / (out.intermittent_period_s / 2.0)) % 2 == 0
    charge_cut = any(rule_id in engaged for rule_id in CHARGE_DISCONNECT_IDS)

    charge_input = settings.charge_input
    source_v = sample.charge_source_v
    # Like an ideal diode: conduct only above the start voltage and only towards the pack.
    input_on = (
        charge
        and charge_input.enabled
        and source_v is not None
        and source_v >= charge_input.start_v
        and sample.pack_voltage_v == sample.pack_voltage_v
        and source_v > sample.pack_voltage_v
    )
    limit_a = min(
        charge_input.fuse_rating_a * charge_input.limit_fraction, settings.charging.max_charge_current_a
    )

    low_power = state.bms_state in (BmsState.LOW_POWER, BmsState.SLEEP)
    current = sample.current_a
    sorted_alarms = tuple(sorted(alarms))
    leds = LedState(
        active=state.bms_state in _AWAKE,
        charging=charge and current == current and current > settings.power.idle_current_a,
        balancing=False,
        alarm=any(code[0] in "AE" for code in sorted_alarms),
        soc_bar=None,
    )
    return Actions(
        charge_enabled=charge,
        discharge_enabled=discharge,
        load_disconnect_closed=discharge and not loads_cut,
        charge_disconnect_closed=charge and not charge_cut,
        prealarm_output=prealarm_level,
        charge_input_enabled=input_on,
        charge_input_limit_a=limit_a if input_on else 0.0,
        leds=leds,
        sample_period_s=settings.power.low_power_sample_period_s
        if low_power
        else settings.power.sample_period_s,
        alarms=sorted_alarms,
        events=events,
    )


def soc_bar(soc_pct: float | None, segments: int = 5) -> int | None:
    """How many of ``segments`` LEDs a SOC lights (any charge lights the first)."""
    if soc_pct is None or soc_pct != soc_pct:
        return None
    clamped = min(max(soc_pct, 0.0), 100.0)
    return 0 if clamped <= 0.0 else min(segments, int(clamped / (100.0 / segments) + 0.999))
