"""Sensors between the plant and the BMS: the BMS only ever sees these readings.

Each channel has a fixed offset and gain error drawn once from the seed, white noise per sample,
quantisation to the converter's step, and a sample period (between samples a reading is held).
Defaults are typical of a BMS analog front end: 1 mV cell resolution with a few mV of offset,
a shunt with 10 mA resolution, NTCs with 0.1 °C resolution and ±0.5 °C offset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from smartbms.sim.faults import DriftingCurrentOffset, FailedTemperatureSensor, Fault, OpenSenseWire, active

FloatArray = NDArray[np.float64]

# What a broken NTC reads after the board's conversion: far outside any plausible temperature.
OPEN_NTC_READS_C = -70.0
SHORTED_NTC_READS_C = 200.0


@dataclass(frozen=True)
class SensorSpec:
    cell_noise_v: float = 0.0008
    cell_offset_spread_v: float = 0.004
    cell_gain_spread: float = 0.001
    cell_quantum_v: float = 0.001
    current_noise_a: float = 0.05
    current_offset_a: float = 0.0
    current_gain_error: float = 0.0
    current_quantum_a: float = 0.01
    temperature_noise_c: float = 0.05
    temperature_offset_spread_c: float = 1.0
    temperature_quantum_c: float = 0.1
    pack_voltage_gain_error: float = 0.0
    pack_voltage_quantum_v: float = 0.01
    sample_period_s: float = 0.0

    @classmethod
    def ideal(cls) -> SensorSpec:
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def _quantise(x: FloatArray | float, step: float) -> FloatArray:
    arr = np.asarray(x, dtype=float)
    return np.asarray(np.round(arr / step) * step, dtype=float) if step > 0 else arr


@dataclass(frozen=True)
class Reading:
    timestamp: float
    cell_voltages_v: tuple[float, ...]
    current_a: float
    temperatures_c: tuple[float, ...]
    voltage_v: float


class PackSensors:
    """The measurement chain of one pack: cells, shunt, NTCs at chosen cells, pack voltage."""

    def __init__(
        self,
        spec: SensorSpec,
        cells: int,
        ntc_cells: tuple[int, ...],
        rng: np.random.Generator,
        faults: tuple[Fault, ...] = (),
        pack: int = 0,
    ) -> None:
        self.spec = spec
        self.cells = cells
        # 0-based cell index each NTC sits on.
        self.ntc_cells = np.asarray(ntc_cells, dtype=np.intp)
        self._rng = rng
        self.faults = faults
        self.pack = pack
        self._cell_offset = rng.uniform(-0.5, 0.5, cells) * spec.cell_offset_spread_v
        self._cell_gain = 1.0 + rng.uniform(-0.5, 0.5, cells) * spec.cell_gain_spread
        self._temp_offset = rng.uniform(-0.5, 0.5, len(ntc_cells)) * spec.temperature_offset_spread_c
        self._last: Reading | None = None
        # Noise drawn in blocks: one generator call per 1024 samples instead of three per sample.
        self._noise = np.empty((0, cells + 1 + len(ntc_cells)))
        self._noise_pos = 0

    def _next_noise(self) -> FloatArray:
        if self._noise_pos >= len(self._noise):
            self._noise = self._rng.normal(0.0, 1.0, (1024, self._noise.shape[1]))
            self._noise_pos = 0
        row: FloatArray = self._noise[self._noise_pos]
        self._noise_pos += 1
        return row

    def read(self, now: float, cell_v: FloatArray, current_a: float, temperature_c: FloatArray) -> Reading:
        s = self.spec
        if (
            self._last is not None
            and s.sample_period_s > 0
            and now - self._last.timestamp < s.sample_period_s
        ):
            return self._last
        rng = self._rng
        noise = self._next_noise()
        n = self.cells
        true_cells = np.asarray(cell_v, dtype=float)
        cells = true_cells * self._cell_gain + self._cell_offset + noise[:n] * s.cell_noise_v
        for fault in active(self.faults, now, OpenSenseWire, self.pack):
            # The channel floats towards 0 V and its neighbour measures across both cells.
            k = fault.cell - 1
            if k + 1 < self.cells:
                cells[k + 1] += cells[k]
            cells[k] = abs(rng.normal(0.0, 0.02))
        cells = np.round(_quantise(np.clip(cells, 0.0, None), s.cell_quantum_v), 6)
        offset = s.current_offset_a
        for drift in active(self.faults, now, DriftingCurrentOffset, self.pack):
            offset += drift.rate_a_per_h * (now - drift.at_s) / 3600.0
        current = current_a * (1.0 + s.current_gain_error) + offset + float(noise[n]) * s.current_noise_a
        current = round(float(_quantise(current, s.current_quantum_a)), 6)
        temps = (
            np.asarray(temperature_c, dtype=float)[self.ntc_cells]
            + self._temp_offset
            + noise[n + 1 :] * s.temperature_noise_c
        )
        temps = np.round(_quantise(temps, s.temperature_quantum_c), 6)
        for ntc in active(self.faults, now, FailedTemperatureSensor, self.pack):
            temps[ntc.sensor - 1] = {"open": OPEN_NTC_READS_C, "short": SHORTED_NTC_READS_C}.get(
                ntc.mode, math.nan
            )
        pack_v = round(
            float(
                _quantise(
                    float(np.sum(true_cells)) * (1.0 + s.pack_voltage_gain_error), s.pack_voltage_quantum_v
                )
            ),
            6,
        )
        reading = Reading(now, tuple(cells.tolist()), current, tuple(temps.tolist()), pack_v)
        self._last = reading
        return reading


def spread_ntc_cells(cells: int, sensors: int) -> tuple[int, ...]:
    """NTC positions spread evenly along the string (0-based cell index)."""
    if sensors <= 0:
        return ()
    return tuple(round(float(x)) for x in np.linspace(0, cells - 1, sensors))
