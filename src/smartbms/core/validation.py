"""Validate a measurement before protection or estimation may use it.

Only validated values reach the rules. Anything unknown, stale or implausible becomes NaN
and raises a sensor-fault code; the engine opens both paths while any fault is present.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from smartbms.core.measurement import Measurement
from smartbms.core.settings import Settings

STALE = "E-SENSOR-STALE"
MISSING = "E-SENSOR-MISSING"
OPEN_WIRE = "E-SENSOR-OPEN-WIRE"
OUT_OF_RANGE = "E-SENSOR-RANGE"
IMPLAUSIBLE = "E-SENSOR-PLAUSIBILITY"

NAN = math.nan


@dataclass(frozen=True, slots=True)
class ValidatedSample:
    timestamp: float
    cell_voltages_v: tuple[float, ...]
    current_a: float
    temperatures_c: tuple[float, ...]
    mosfet_temperature_c: float
    pack_voltage_v: float
    charge_source_v: float | None
    faults: frozenset[str]
    # Per-signal aggregates the rules read (NaN when nothing valid is left).
    cell_min_v: float
    cell_max_v: float
    temperature_min_c: float
    temperature_max_c: float

    @property
    def valid(self) -> bool:
        return not self.faults


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def validate(measurement: Measurement | None, settings: Settings, now: float) -> ValidatedSample:
    sensors = settings.sensors
    faults: set[str] = set()
    if measurement is None:
        return _nothing_valid(now)
    age = now - measurement.timestamp if _finite(measurement.timestamp) else math.inf
    # A timestamp from the future is as untrustworthy as an old one.
    if not (-sensors.stale_after_s <= age <= sensors.stale_after_s):
        return _nothing_valid(measurement.timestamp if _finite(measurement.timestamp) else now)

    cells, cell_lo, cell_hi, cells_all_valid = _screen(
        measurement.cell_voltages_v,
        settings.pack.cells_series,
        max(sensors.open_wire_cell_v, sensors.cell_v_plausible_min),
        sensors.cell_v_plausible_max,
        faults,
        open_wire_v=sensors.open_wire_cell_v,
    )
    if len(cells) != settings.pack.cells_series:
        faults.add(MISSING)
    temps, temp_lo, temp_hi, _ = _screen(
        measurement.temperatures_c,
        len(measurement.temperatures_c),
        sensors.temperature_plausible_min_c,
        sensors.temperature_plausible_max_c,
        faults,
    )
    if len(temps) < settings.pack.temperature_sensors:
        faults.add(MISSING)

    current = measurement.current_a
    if not _finite(current):
        faults.add(MISSING)
        current = NAN
    elif abs(current) > sensors.current_plausible_max_a:
        faults.add(OUT_OF_RANGE)
        current = NAN

    fet = measurement.mosfet_temperature_c
    fet_value = NAN
    if fet is not None:
        if not _finite(fet):
            faults.add(MISSING)
        elif not sensors.temperature_plausible_min_c <= fet <= sensors.temperature_plausible_max_c:
            faults.add(OUT_OF_RANGE)
        else:
            fet_value = fet

    complete = cells_all_valid and len(cells) == settings.pack.cells_series
    cell_sum = sum(cells) if complete else NAN
    pack_v = cell_sum
    if measurement.voltage_v is not None:
        if not _finite(measurement.voltage_v):
            faults.add(MISSING)
        elif (
            cell_sum == cell_sum and abs(measurement.voltage_v - cell_sum) > sensors.pack_voltage_tolerance_v
        ):
            faults.add(IMPLAUSIBLE)
        else:
            pack_v = measurement.voltage_v
    return ValidatedSample(
        timestamp=measurement.timestamp,
        cell_voltages_v=cells,
        current_a=current,
        temperatures_c=temps,
        mosfet_temperature_c=fet_value,
        pack_voltage_v=pack_v,
        charge_source_v=measurement.charge_source_v if _finite(measurement.charge_source_v) else None,
        faults=frozenset(faults),
        cell_min_v=cell_lo,
        cell_max_v=cell_hi,
        temperature_min_c=temp_lo,
        temperature_max_c=temp_hi,
    )


def _screen(
    values: tuple[float, ...],
    expected: int,
    low: float,
    high: float,
    faults: set[str],
    open_wire_v: float | None = None,
) -> tuple[tuple[float, ...], float, float, bool]:
    """(values with every invalid one made NaN, lowest valid, highest valid, all valid), adding
    fault codes.

    The common case, every value present and in range, is checked in bulk: the sum is finite
    only when no value is NaN or infinite, and then min and max bound the rest.
    """
    if values and len(values) == expected and math.isfinite(sum(values)):
        lo, hi = min(values), max(values)
        if low <= lo and hi <= high:
            return values, lo, hi, True
    screened: list[float] = []
    for value in values:
        if not math.isfinite(value):
            faults.add(MISSING)
            screened.append(NAN)
        elif open_wire_v is not None and value < open_wire_v:
            faults.add(OPEN_WIRE)
            screened.append(NAN)
        elif not low <= value <= high:
            faults.add(OUT_OF_RANGE)
            screened.append(NAN)
        else:
            screened.append(value)
    valid = [v for v in screened if v == v]
    lo, hi = (min(valid), max(valid)) if valid else (NAN, NAN)
    return tuple(screened), lo, hi, len(valid) == len(screened)


def _nothing_valid(timestamp: float) -> ValidatedSample:
    return ValidatedSample(
        timestamp=timestamp,
        cell_voltages_v=(),
        current_a=NAN,
        temperatures_c=(),
        mosfet_temperature_c=NAN,
        pack_voltage_v=NAN,
        charge_source_v=None,
        faults=frozenset({STALE}),
        cell_min_v=NAN,
        cell_max_v=NAN,
        temperature_min_c=NAN,
        temperature_max_c=NAN,
    )
