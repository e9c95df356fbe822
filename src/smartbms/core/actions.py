"""What the core wants done, as data; the controller applies it to the actuators."""

from __future__ import annotations

from dataclasses import dataclass

from smartbms.core.events import Event


@dataclass(frozen=True, slots=True)
class LedState:
    """What a row of indicator LEDs shows."""

    active: bool
    charging: bool
    balancing: bool
    alarm: bool
    # Lit segments of a 5-LED SOC bar (0-5); None when no SOC is known.
    soc_bar: int | None


@dataclass(frozen=True, slots=True)
class Actions:
    charge_enabled: bool
    discharge_enabled: bool
    # High while loads may run; released on imminent cell under-voltage.
    load_disconnect_closed: bool
    # High while charge sources may run; released on imminent over-voltage or bad temperature.
    charge_disconnect_closed: bool
    # The pre-alarm output level now (an intermittent pre-alarm toggles).
    prealarm_output: bool
    # Limited charge input (alternator port): conducts only above its start voltage, never backwards.
    charge_input_enabled: bool
    charge_input_limit_a: float
    leds: LedState
    # How often the source should sample in the present power mode.
    sample_period_s: float
    alarms: tuple[str, ...]
    events: tuple[Event, ...]
    # 1-based cells whose bleed resistor is on (passive balancing).
    balancing_cells: tuple[int, ...] = ()
    # Per-cell current from an active balancer, + = the cell receives charge.
    balancing_currents_a: tuple[float, ...] = ()


ALL_OFF_LEDS = LedState(active=False, charging=False, balancing=False, alarm=False, soc_bar=None)
