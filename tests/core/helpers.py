"""Builders shared by the core tests: a 4S LFP 100 Ah pack and samples with one signal moved."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from smartbms.core.actions import Actions
from smartbms.core.engine import CoreState, initial_state, request, step
from smartbms.core.measurement import Measurement
from smartbms.core.requests import Request
from smartbms.core.rules import Signal
from smartbms.core.settings import Settings, settings_from_dict

HEALTHY_CELL_V = 3.30
HEALTHY_TEMP_C = 25.0


def pack_settings(**overrides: Any) -> Settings:
    """4S LFP 100 Ah; the imbalance limits are widened so single-cell tests move one rule only."""
    data: dict[str, Any] = {
        "pack": {
            "chemistry": "LFP",
            "cells_series": 4,
            "nominal_capacity_ah": 100.0,
            "temperature_sensors": 2,
        },
        "protection": {"imbalance_warning_v": 1.5, "imbalance_protection_v": 1.9, "imbalance_release_v": 1.7},
    }
    for key, value in overrides.items():
        section, name = key.split("__")
        data.setdefault(section, {})[name] = value
    return settings_from_dict(data)


def healthy(now: float, **changes: Any) -> Measurement:
    values: dict[str, Any] = {
        "timestamp": now,
        "cell_voltages_v": (HEALTHY_CELL_V,) * 4,
        "current_a": -5.0,
        "temperatures_c": (HEALTHY_TEMP_C,) * 2,
        "mosfet_temperature_c": 30.0,
    }
    values.update(changes)
    return Measurement(**values)


def with_signal(signal: Signal, value: float, now: float) -> Measurement:
    """A healthy sample with one signal set to ``value``."""
    cells = [HEALTHY_CELL_V] * 4
    if signal is Signal.CELL_MAX_V or signal is Signal.CELL_MIN_V:
        cells[0] = value
        return healthy(now, cell_voltages_v=tuple(cells))
    if signal is Signal.PACK_V:
        return healthy(now, cell_voltages_v=(value / 4,) * 4)
    if signal is Signal.CHARGE_CURRENT_A:
        return healthy(now, current_a=value)
    if signal is Signal.DISCHARGE_CURRENT_A:
        return healthy(now, current_a=-value)
    if signal is Signal.TEMPERATURE_MAX_C or signal is Signal.TEMPERATURE_MIN_C:
        return healthy(now, temperatures_c=(value, HEALTHY_TEMP_C))
    if signal is Signal.FET_TEMPERATURE_C:
        return healthy(now, mosfet_temperature_c=value)
    if signal is Signal.CELL_DELTA_V:
        return healthy(now, cell_voltages_v=(3.35, 3.35, 3.35, 3.35 - value))
    raise AssertionError(signal)


class Pack:
    """Drives the pure core the way the controller does, keeping state and the last actions."""

    def __init__(self, settings: Settings | None = None, start: float = 0.0) -> None:
        self.state: CoreState = initial_state(settings or pack_settings(), start)
        self.now = start
        self.actions: Actions | None = None
        self.events: list[Any] = []

    def feed(self, measurement: Measurement | None, now: float | None = None, raw: bool = False) -> Actions:
        """Step the core. Like a real pack with working switches, no current flows through a
        path the core opened at its previous step, unless ``raw`` (a failed switch, or a BMS
        that only signals external equipment)."""
        if measurement is not None and not raw:
            charge_on = self.actions is not None and self.actions.charge_enabled
            discharge_on = self.actions is not None and self.actions.discharge_enabled
            current = measurement.current_a
            if (current > 0.0 and not charge_on) or (current < 0.0 and not discharge_on):
                measurement = replace(measurement, current_a=0.0)
        self.now = (
            now if now is not None else (measurement.timestamp if measurement is not None else self.now)
        )
        self.state, self.actions = step(self.state, measurement, self.now)
        self.events.extend(self.actions.events)
        return self.actions

    def run(self, make: Any, start: float, end: float, dt: float = 0.5, raw: bool = False) -> Actions:
        """Feed ``make(t)`` for t in [start, end] every dt seconds; returns the last actions."""
        t = start
        actions = None
        while t <= end + 1e-9:
            actions = self.feed(make(t), t, raw=raw)
            t = round(t + dt, 9)
        assert actions is not None
        return actions

    def ask(self, req: Request) -> None:
        self.state = request(self.state, req)

    def warm_up(self, until: float = 5.0) -> Actions:
        return self.run(lambda t: healthy(t), 0.0, until)

    @property
    def bms_state(self) -> str:
        return self.state.bms_state.value

    def event_codes(self, kind: str | None = None) -> list[str]:
        return [e.code for e in self.events if kind is None or e.kind.value == kind]


def times(start: float, end: float, dt: float) -> Iterable[float]:
    t = start
    while t <= end + 1e-9:
        yield t
        t = round(t + dt, 9)
