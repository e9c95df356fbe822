"""The pure BMS core: ``step(state, sample, now) -> (state, actions)``.

No I/O and no clock: time comes in as ``now``, so a month can be simulated in seconds and
every transition is testable. Callers never set the operating state; they queue requests
with :func:`request` and the next step decides.

Fail-safe rule: a path is enabled only when the newest sample is fully valid, no rule
blocks it, the state allows it and the remote mode allows it. Every other combination,
including anything unknown, leaves it open.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from smartbms.core import outputs
from smartbms.core.actions import Actions
from smartbms.core.events import Event, EventKind
from smartbms.core.measurement import Measurement
from smartbms.core.requests import (
    Path,
    RemoteMode,
    Request,
    ResetFault,
    SetPath,
    SetRemoteMode,
    Sleep,
    Wake,
    WakeSource,
)
from smartbms.core.rules import (
    IDLE,
    Phase,
    Rule,
    RuleStatus,
    Tier,
    advance,
    build_rules,
    signal_values,
)
from smartbms.core.settings import Settings
from smartbms.core.state import BmsState
from smartbms.core.validation import ValidatedSample, validate

_PATH_STATES = frozenset({BmsState.NORMAL, BmsState.LOW_POWER, BmsState.PROTECTION})


@dataclass(frozen=True, slots=True)
class CoreState:
    settings: Settings
    rules: tuple[Rule, ...]
    statuses: tuple[RuleStatus, ...]
    bms_state: BmsState = BmsState.INIT
    state_since: float = 0.0
    remote_mode: RemoteMode = RemoteMode.ON
    # Paths switched off by hand (SetPath); protection and remote mode act on top of these.
    charge_switched_off: bool = False
    discharge_switched_off: bool = False
    # What the previous step commanded, to notice current through an opened path.
    charge_commanded: bool = False
    discharge_commanded: bool = False
    sensor_faults: frozenset[str] = frozenset()
    valid_streak: int = 0
    # When the current last rose above the idle level (for LOW_POWER / SLEEP).
    busy_at: float | None = None
    pending: tuple[Request, ...] = ()
    active_alarms: tuple[str, ...] = ()
    last_sample: ValidatedSample | None = None

    def status_of(self, rule_id: str) -> RuleStatus:
        for rule, status in zip(self.rules, self.statuses, strict=True):
            if rule.id == rule_id:
                return status
        raise KeyError(rule_id)


def initial_state(settings: Settings, now: float = 0.0) -> CoreState:
    rules = build_rules(settings)
    return CoreState(settings=settings, rules=rules, statuses=(IDLE,) * len(rules), state_since=now)


def request(state: CoreState, req: Request) -> CoreState:
    """Queue a request; it is decided at the next :func:`step`."""
    return replace(state, pending=(*state.pending, req))


def setting_change_events(old: Settings, new: Settings, now: float) -> tuple[Event, ...]:
    """One SETTING event per changed field, with the old and the new value."""
    events: list[Event] = []
    old_data, new_data = old.model_dump(mode="json"), new.model_dump(mode="json")
    for section, values in new_data.items():
        for key, value in values.items():
            before = old_data.get(section, {}).get(key)
            if before != value:
                events.append(
                    Event(
                        now,
                        EventKind.SETTING,
                        f"{section}.{key}",
                        f"{section}.{key}: {before} -> {value}",
                        {"old": before, "new": value},
                    )
                )
    return tuple(events)


def apply_settings(state: CoreState, settings: Settings, now: float) -> tuple[CoreState, tuple[Event, ...]]:
    """Swap in new settings. Rule progress is kept for rules that still exist, so a settings
    change can never clear an active protection by itself."""
    events = setting_change_events(state.settings, settings, now)
    rules = build_rules(settings)
    previous = {rule.id: status for rule, status in zip(state.rules, state.statuses, strict=True)}
    statuses = tuple(previous.get(rule.id, IDLE) for rule in rules)
    return replace(state, settings=settings, rules=rules, statuses=statuses), tuple(events)


def step(state: CoreState, measurement: Measurement | None, now: float) -> tuple[CoreState, Actions]:
    settings = state.settings
    sample = validate(measurement, settings, now)
    events: list[Event] = []

    # 1. Rules: every rule advances on every sample, whatever the state.
    # In SLEEP the BMS is not watching its switches; a welded one shows up once awake.
    watching = state.bms_state is not BmsState.SLEEP
    values = signal_values(
        sample, watching and not state.charge_commanded, watching and not state.discharge_commanded
    )
    new_statuses = []
    engaged: list[tuple[Rule, RuleStatus]] = []
    idle, active = Phase.IDLE, Phase.ACTIVE
    for rule, status in zip(state.rules, state.statuses, strict=True):
        value = values[rule.signal]
        # Fast path for the common case, an idle rule far from its limit.
        if status.phase is idle and (
            value != value or not (value > rule.limit if rule.above else value < rule.limit)
        ):
            new_statuses.append(status)
            continue
        updated = advance(rule, status, value, now)
        if updated is not status:
            _rule_event(events, rule, status, updated, value, now)
        new_statuses.append(updated)
        if updated.phase >= active:
            engaged.append((rule, updated))
    statuses = tuple(new_statuses)

    for code in sorted(sample.faults - state.sensor_faults):
        events.append(Event(now, EventKind.TRIP, code, f"sensor fault {code}: both paths off", {}))
    for code in sorted(state.sensor_faults - sample.faults):
        events.append(Event(now, EventKind.RELEASE, code, f"sensor fault {code} cleared", {}))

    current = sample.current_a
    idle_level = settings.power.idle_current_a
    # An unknown current counts as busy: never drift into a low-power mode on bad data.
    busy = current != current or abs(current) >= idle_level
    busy_at = now if busy or state.busy_at is None else state.busy_at

    pending = state.pending
    state = replace(
        state,
        statuses=statuses,
        sensor_faults=sample.faults,
        valid_streak=state.valid_streak + 1 if sample.valid else 0,
        busy_at=busy_at,
        last_sample=sample,
        pending=(),
    )

    # 2. Requests, then the automatic transitions.
    for req in pending:
        state = _handle_request(state, req, now, events)
    protection = tuple(rule for rule, _ in engaged if rule.tier is Tier.PROTECTION)
    latched = tuple(rule for rule, status in engaged if rule.latched and status.phase is Phase.ACTIVE)
    if pending and latched:  # a reset may have cleared them
        latched = _latched_active(state)
    state = _transition(state, sample, now, events, protection, latched)

    # 3. Outputs.
    actions = outputs.compute(state, sample, now, tuple(events), engaged)
    if (
        actions.alarms != state.active_alarms
        or actions.charge_enabled != state.charge_commanded
        or actions.discharge_enabled != state.discharge_commanded
    ):
        state = replace(
            state,
            active_alarms=actions.alarms,
            charge_commanded=actions.charge_enabled,
            discharge_commanded=actions.discharge_enabled,
        )
    return state, actions


def _rule_event(
    events: list[Event], rule: Rule, old: RuleStatus, new: RuleStatus, value: float, now: float
) -> None:
    data = {
        "rule": rule.id,
        "value": value,
        "limit": rule.limit,
        "release": rule.release,
        "tier": rule.tier.value,
    }
    if new.phase is Phase.ACTIVE and old.phase in (Phase.IDLE, Phase.PENDING):
        events.append(
            Event(
                now,
                EventKind.TRIP,
                rule.code,
                f"{rule.id} tripped at {value:.4g} (limit {rule.limit:.4g})",
                data,
            )
        )
    elif new.phase is Phase.IDLE and old.phase in (Phase.ACTIVE, Phase.RECOVERING):
        events.append(Event(now, EventKind.RELEASE, rule.code, f"{rule.id} released at {value:.4g}", data))


def _set_state(state: CoreState, new: BmsState, now: float, events: list[Event], reason: str) -> CoreState:
    if new is state.bms_state:
        return state
    events.append(
        Event(
            now,
            EventKind.STATE,
            new.value,
            f"{state.bms_state.value} -> {new.value}: {reason}",
            {"from": state.bms_state.value, "to": new.value, "reason": reason},
        )
    )
    return replace(state, bms_state=new, state_since=now)


def _latched_active(state: CoreState) -> tuple[Rule, ...]:
    return tuple(
        r for r, s in zip(state.rules, state.statuses, strict=True) if r.latched and s.phase is Phase.ACTIVE
    )


def _handle_request(state: CoreState, req: Request, now: float, events: list[Event]) -> CoreState:
    def refuse(reason: str) -> CoreState:
        events.append(
            Event(now, EventKind.REQUEST, type(req).__name__, f"refused: {reason}", {"accepted": False})
        )
        return state

    def accept(detail: str) -> None:
        events.append(Event(now, EventKind.REQUEST, type(req).__name__, detail, {"accepted": True}))

    if isinstance(req, ResetFault):
        if state.bms_state is not BmsState.FAULT:
            return refuse("not in FAULT")
        last = state.last_sample
        values = (
            signal_values(last, not state.charge_commanded, not state.discharge_commanded)
            if last is not None
            else None
        )
        still = [r.id for r in _latched_active(state) if values is None or not r.released(values[r.signal])]
        if still:
            return refuse(f"condition still present: {', '.join(still)}")
        if last is None or not last.valid:
            return refuse("no valid measurement to confirm the fault is gone")
        statuses = tuple(
            IDLE if r.latched and s.phase is Phase.ACTIVE else s
            for r, s in zip(state.rules, state.statuses, strict=True)
        )
        accept("fault reset")
        return _set_state(
            replace(state, statuses=statuses, valid_streak=0), BmsState.STANDBY, now, events, "fault reset"
        )
    if isinstance(req, SetRemoteMode):
        accept(f"remote mode {req.mode.value}")
        state = replace(state, remote_mode=req.mode)
        if req.mode is RemoteMode.OFF_ALL and state.bms_state is not BmsState.FAULT:
            return _set_state(state, BmsState.SLEEP, now, events, "remote off (everything)")
        if req.mode is not RemoteMode.OFF_ALL and state.bms_state is BmsState.SLEEP:
            return _set_state(replace(state, valid_streak=0), BmsState.STANDBY, now, events, "remote on")
        return state
    if isinstance(req, SetPath):
        accept(f"{req.path.value} switched {'on' if req.enabled else 'off'}")
        if req.path is Path.CHARGE:
            return replace(state, charge_switched_off=not req.enabled)
        return replace(state, discharge_switched_off=not req.enabled)
    if isinstance(req, Wake):
        if state.remote_mode is RemoteMode.OFF_ALL:
            return refuse("switched off remotely: switch on first")
        woken = _wake(state, req.source, now, events)
        if woken is None:
            return refuse("already awake")
        accept(f"wake by {req.source.value}")
        return woken
    if isinstance(req, Sleep):
        if state.bms_state is BmsState.FAULT:
            return refuse("in FAULT: reset first")
        accept("sleep")
        return _set_state(state, BmsState.SLEEP, now, events, "sleep requested")
    return refuse("unknown request")  # pragma: no cover - the Request union is closed


def _wake(state: CoreState, source: WakeSource, now: float, events: list[Event]) -> CoreState | None:
    """The woken state, or None when there is nothing to wake from."""
    if state.bms_state is BmsState.SLEEP:
        return _set_state(
            replace(state, valid_streak=0), BmsState.STANDBY, now, events, f"wake-up: {source.value}"
        )
    if state.bms_state is BmsState.LOW_POWER:
        return _set_state(
            replace(state, busy_at=now), BmsState.NORMAL, now, events, f"wake-up: {source.value}"
        )
    return None


def _transition(
    state: CoreState,
    sample: ValidatedSample,
    now: float,
    events: list[Event],
    protection: tuple[Rule, ...],
    latched: tuple[Rule, ...],
) -> CoreState:
    settings = state.settings
    power = settings.power
    current_state = state.bms_state

    if current_state is BmsState.INIT:
        return _set_state(state, BmsState.STANDBY, now, events, "initialised")
    if current_state is BmsState.FAULT:
        return state  # only ResetFault leaves FAULT
    if latched:
        return _set_state(
            state,
            BmsState.FAULT,
            now,
            events,
            "latched protection: " + ", ".join(r.id for r in latched),
        )
    if current_state is BmsState.SLEEP:
        if state.remote_mode is RemoteMode.OFF_ALL:
            return state
        charger = sample.current_a == sample.current_a and sample.current_a >= power.wake_current_a
        if sample.charge_source_v is not None and sample.pack_voltage_v == sample.pack_voltage_v:
            charger = charger or sample.charge_source_v > sample.pack_voltage_v + 0.2
        if charger:
            return _wake(state, WakeSource.CHARGER, now, events) or state
        if now - state.state_since >= power.sleep_wake_interval_s:
            return _wake(state, WakeSource.TIMER, now, events) or state
        return state

    ready = state.valid_streak >= settings.sensors.startup_valid_samples
    if current_state is BmsState.STANDBY:
        if not ready:
            return state
        if protection:
            return _set_state(state, BmsState.PROTECTION, now, events, "protection active at start")
        return _set_state(state, BmsState.NORMAL, now, events, "measurements valid")

    if current_state in (BmsState.NORMAL, BmsState.LOW_POWER):
        if not sample.valid:
            return _set_state(
                state, BmsState.PROTECTION, now, events, "sensor fault: " + ", ".join(sorted(sample.faults))
            )
        if protection:
            return _set_state(state, BmsState.PROTECTION, now, events, ", ".join(r.id for r in protection))
        idle_for = now - state.busy_at if state.busy_at is not None else 0.0
        if current_state is BmsState.NORMAL:
            if power.low_power_after_s > 0.0 and idle_for >= power.low_power_after_s:
                return _set_state(state, BmsState.LOW_POWER, now, events, f"idle for {idle_for:.0f} s")
            return state
        if abs(sample.current_a) >= power.wake_current_a:
            return _set_state(state, BmsState.NORMAL, now, events, "current flows")
        if power.sleep_after_s > 0.0 and idle_for >= power.sleep_after_s:
            return _set_state(state, BmsState.SLEEP, now, events, f"idle for {idle_for:.0f} s")
        return state

    # PROTECTION
    cell_uv = [r for r in protection if r.id == "cell_uv"]
    if cell_uv and power.sleep_on_cell_uv_after_s > 0.0:
        since = state.status_of("cell_uv").since
        if now - since >= power.sleep_on_cell_uv_after_s:
            return _set_state(
                state, BmsState.SLEEP, now, events, "cell under-voltage held: sleep to save the cells"
            )
    if not protection and ready:
        return _set_state(replace(state, busy_at=now), BmsState.NORMAL, now, events, "protection released")
    return state


def paths_allowed(
    state: CoreState, sample: ValidatedSample, engaged: list[tuple[Rule, RuleStatus]]
) -> tuple[bool, bool]:
    """(charge, discharge) as the state, the engaged rules and the remote mode allow them."""
    if state.bms_state not in _PATH_STATES or not sample.valid:
        return False, False
    charge = discharge = True
    for rule, _ in engaged:
        if rule.blocks.charge:
            charge = False
        if rule.blocks.discharge:
            discharge = False
    charge = charge and not state.charge_switched_off
    discharge = discharge and not state.discharge_switched_off
    mode = state.remote_mode
    if mode is not RemoteMode.ON:
        charge = False
        if mode is not RemoteMode.OFF_CHARGE_ONLY:
            discharge = False
    return charge, discharge
