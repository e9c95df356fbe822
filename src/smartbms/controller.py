"""The loop that wires a source, the core and the actuators.

source -> validate -> core.step -> estimation -> balancing -> apply actions -> publish.
Time is injected: ``tick(now)`` is one step at ``now``, and ``run`` walks simulated time at
any speed (``float('inf')`` for as fast as the machine goes), so the same controller runs a
real pack in real time and a simulated month in minutes.
"""

from __future__ import annotations

import functools
import importlib
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from smartbms.core.actions import Actions, LedState
from smartbms.core.engine import CoreState, apply_settings, initial_state, request, step
from smartbms.core.events import Event, EventKind
from smartbms.core.measurement import Measurement
from smartbms.core.outputs import soc_bar
from smartbms.core.requests import RemoteMode, Request
from smartbms.core.settings import Settings
from smartbms.core.state import BmsState
from smartbms.errors import SmartBmsError
from smartbms.eventlog import EventLog
from smartbms.telemetry import Telemetry

log = logging.getLogger(__name__)


class Source(Protocol):
    def read(self, now: float) -> Measurement | None: ...


class Actuator(Protocol):
    def apply(self, actions: Actions, now: float) -> None: ...


class Estimator(Protocol):
    def update(
        self,
        *,
        timestamp: float,
        current_a: float,
        cell_voltages_v: Any,
        temperatures_c: Any,
        cell_currents_a: Any = None,
    ) -> Any: ...

    def set_soc(self, soc_pct: float) -> None: ...


class Balancer(Protocol):
    def decide(self, inp: Any) -> Any: ...


@dataclass(frozen=True)  # no slots: the cached telemetry lives in __dict__
class Snapshot:
    """One tick's outcome. ``telemetry`` is built on first use: a closed-loop simulation that
    publishes nothing should not pay for it."""

    timestamp: float
    state: BmsState
    actions: Actions
    estimate: Any
    remote_mode: RemoteMode
    events: tuple[Event, ...]
    measurement: Measurement | None
    core_state: CoreState

    @functools.cached_property
    def telemetry(self) -> Telemetry:
        m, actions, estimate, core = self.measurement, self.actions, self.estimate, self.core_state
        sample = core.last_sample
        voltage = sample.pack_voltage_v if sample is not None else math.nan
        current = m.current_a if m is not None else None
        extra: dict[str, Any] = {
            "state": core.bms_state.value,
            "remote_mode": core.remote_mode.value,
            "charge_switched_off": core.charge_switched_off,
            "discharge_switched_off": core.discharge_switched_off,
            "load_disconnect_closed": actions.load_disconnect_closed,
            "charge_disconnect_closed": actions.charge_disconnect_closed,
            "prealarm_output": actions.prealarm_output,
        }
        if estimate is not None:
            for name in _ESTIMATE_EXTRAS:
                value = getattr(estimate, name, None)
                if value is not None:
                    extra[name] = value
        power = voltage * current if current is not None else math.nan
        return Telemetry(
            timestamp=self.timestamp,
            voltage_v=voltage if math.isfinite(voltage) else None,
            current_a=current,
            power_w=power if math.isfinite(power) else None,
            soc_pct=getattr(estimate, "soc_pct", None),
            soh_pct=getattr(estimate, "soh_pct", None),
            remaining_ah=getattr(estimate, "remaining_ah", None),
            capacity_ah=getattr(estimate, "capacity_ah", None),
            cell_voltages_v=m.cell_voltages_v if m is not None else None,
            temperatures_c=m.temperatures_c if m is not None else None,
            mosfet_temperature_c=m.mosfet_temperature_c if m is not None else None,
            charge_enabled=actions.charge_enabled,
            discharge_enabled=actions.discharge_enabled,
            balancing_cells=actions.balancing_cells,
            alarms=actions.alarms,
            extra=extra,
        )


# Estimate fields that telemetry carries beyond the shared vocabulary.
_ESTIMATE_EXTRAS = (
    "soc_sigma_pct",
    "energy_wh",
    "time_to_empty_s",
    "time_to_full_s",
    "charge_voltage_limit_v",
    "charge_current_limit_a",
    "discharge_current_limit_a",
)


Publisher = Callable[[Snapshot], None]


@dataclass(frozen=True, slots=True)
class _SetSoc:
    soc_pct: float


@dataclass(frozen=True, slots=True)
class _NewSettings:
    settings: Settings


class Controller:
    def __init__(
        self,
        settings: Settings,
        source: Source,
        actuator: Actuator | None = None,
        *,
        estimator: Estimator | None = None,
        balancer: Balancer | None = None,
        event_log: EventLog | None = None,
        publishers: Iterable[Publisher] = (),
    ) -> None:
        self.source = source
        self.actuator = actuator
        self.estimator = estimator
        self.balancer = balancer
        self.event_log = event_log
        self._publishers: list[Publisher] = list(publishers)
        self._inbox: queue.SimpleQueue[Request | _SetSoc | _NewSettings] = queue.SimpleQueue()
        self._state: CoreState = initial_state(settings)
        self._balancing_input: Callable[..., Any] | None = None
        if balancer is not None:
            # The strategies' own input type; imported lazily so the core runs without them.
            self._balancing_input = importlib.import_module("smartbms.balancing").BalancingInput
        self.latest: Snapshot | None = None
        # Each cell's balancing current (A, + = into the cell) since the last tick: the estimator
        # counts it, the string's current sensor never sees it.
        self._cell_currents: tuple[float, ...] | None = None
        self.publish_errors = 0
        self._stop = threading.Event()

    # -- thread-safe entry points ------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        return self._state.settings

    @property
    def core_state(self) -> CoreState:
        return self._state

    def submit(self, req: Request) -> None:
        """Queue a request for the core; it is decided at the next tick."""
        self._inbox.put(req)

    def set_soc(self, soc_pct: float) -> None:
        if not 0.0 <= soc_pct <= 100.0:
            raise SmartBmsError(f"SOC must lie between 0 and 100 % (got {soc_pct})")
        self._inbox.put(_SetSoc(soc_pct))

    def update_settings(self, settings: Settings) -> None:
        self._inbox.put(_NewSettings(settings))

    def add_publisher(self, publisher: Publisher) -> None:
        self._publishers.append(publisher)

    def stop(self) -> None:
        self._stop.set()

    # -- the loop ----------------------------------------------------------------------------
    def tick(self, now: float) -> Snapshot:
        state = self._state
        extra_events: list[Event] = []
        while not self._inbox.empty():  # cheaper than raising queue.Empty on every tick
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _NewSettings):
                state, changed = apply_settings(state, item.settings, now)
                extra_events.extend(changed)
            elif isinstance(item, _SetSoc):
                if self.estimator is not None:
                    self.estimator.set_soc(item.soc_pct)
                extra_events.append(
                    Event(
                        now,
                        EventKind.REQUEST,
                        "SetSoc",
                        f"SOC set to {item.soc_pct:g} %",
                        {"soc_pct": item.soc_pct, "accepted": self.estimator is not None},
                    )
                )
            else:
                state = request(state, item)

        measurement = self.source.read(now)
        state, actions = step(state, measurement, now)
        self._state = state
        sample = state.last_sample
        estimate = None
        if self.estimator is not None and measurement is not None and sample is not None:
            estimate = self.estimator.update(
                timestamp=now,
                current_a=sample.current_a,
                cell_voltages_v=sample.cell_voltages_v,
                temperatures_c=sample.temperatures_c,
                cell_currents_a=self._cell_currents,
            )
        actions = self._with_balancing_and_leds(actions, estimate, now)
        self._cell_currents = self._balancing_currents(actions, sample)
        if self.actuator is not None:
            self.actuator.apply(actions, now)
        events = (*extra_events, *actions.events)
        if self.event_log is not None and events:
            self.event_log.append(events)
        snapshot = Snapshot(
            timestamp=now,
            state=state.bms_state,
            actions=actions,
            estimate=estimate,
            remote_mode=state.remote_mode,
            events=events,
            measurement=measurement,
            core_state=state,
        )
        self.latest = snapshot
        for publisher in self._publishers:
            try:
                publisher(snapshot)
            except Exception:  # one broken consumer must not stop the BMS
                self.publish_errors += 1
                log.exception("publisher failed")
        return snapshot

    def run(
        self,
        duration_s: float | None = None,
        speed: float = 1.0,
        start: float | None = None,
        on_tick: Callable[[Snapshot], None] | None = None,
    ) -> Snapshot | None:
        """Step until ``duration_s`` simulated seconds have passed (or :meth:`stop`)."""
        if speed <= 0:
            raise SmartBmsError(f"speed must be positive (got {speed})")
        t0 = time.time() if start is None else start
        now = t0
        wall0 = time.monotonic()
        last: Snapshot | None = None
        while not self._stop.is_set() and (duration_s is None or now - t0 <= duration_s + 1e-9):
            last = self.tick(now)
            if on_tick is not None:
                on_tick(last)
            now += last.actions.sample_period_s
            if math.isfinite(speed):
                delay = wall0 + (now - t0) / speed - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    break
        return last

    # -- helpers -----------------------------------------------------------------------------
    def _balancing_currents(self, actions: Actions, sample: Any) -> tuple[float, ...] | None:
        """What each cell will carry on its own until the next tick: a bleed resistor's V / R out of
        it, an active balancer's transfer current."""
        if actions.balancing_currents_a:
            return tuple(actions.balancing_currents_a)
        if not actions.balancing_cells or sample is None:
            return None
        voltages = sample.cell_voltages_v
        ohm = self._state.settings.balancing.bleed_resistance_ohm
        out = [0.0] * len(voltages)
        for cell in actions.balancing_cells:
            if 1 <= cell <= len(out) and math.isfinite(voltages[cell - 1]):
                out[cell - 1] = -voltages[cell - 1] / ohm
        return tuple(out)

    def _with_balancing_and_leds(self, actions: Actions, estimate: Any, now: float) -> Actions:
        sample = self._state.last_sample
        bleed: tuple[int, ...] = ()
        currents: tuple[float, ...] = ()
        if (
            self.balancer is not None
            and self._balancing_input is not None
            and sample is not None
            and sample.valid
        ):
            decision = self.balancer.decide(
                self._balancing_input(
                    now=now,
                    cell_voltages_v=sample.cell_voltages_v,
                    cell_soc_pct=getattr(estimate, "cell_soc_pct", None),
                    current_a=sample.current_a,
                    temperatures_c=sample.temperatures_c,
                    protection_active=any(code[0] == "A" for code in actions.alarms),
                    charge_allowed=actions.charge_enabled,
                )
            )
            bleed, currents = tuple(decision.bleed_cells), tuple(decision.currents_a)
        soc = getattr(estimate, "soc_pct", None)
        core_leds = actions.leds
        leds = LedState(
            active=core_leds.active,
            charging=core_leds.charging,
            balancing=bool(bleed) or any(currents),
            alarm=core_leds.alarm,
            soc_bar=soc_bar(soc),
        )
        # Built field by field: dataclasses.replace costs several µs on every tick.
        return Actions(
            charge_enabled=actions.charge_enabled,
            discharge_enabled=actions.discharge_enabled,
            load_disconnect_closed=actions.load_disconnect_closed,
            charge_disconnect_closed=actions.charge_disconnect_closed,
            prealarm_output=actions.prealarm_output,
            charge_input_enabled=actions.charge_input_enabled,
            charge_input_limit_a=actions.charge_input_limit_a,
            leds=leds,
            sample_period_s=actions.sample_period_s,
            alarms=actions.alarms,
            events=actions.events,
            balancing_cells=bleed,
            balancing_currents_a=currents,
        )
