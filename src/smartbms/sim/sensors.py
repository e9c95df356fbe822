"""Sensors between the plant and the BMS: the BMS only ever sees these readings.

Each channel has a fixed offset and gain error drawn once from the seed, white noise per sample,
quantisation to the converter's step, and a sample period (between samples a reading is held).
Defaults are typical of a BMS analog front end: 1 mV cell resolution with a few mV of offset,
a shunt with 10 mA resolution, NTCs with 0.1 °C resolution and ±0.5 °C offset.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from smartbms.sim.faults import DriftingCurrentOffset, FailedTemperatureSensor, Fault, OpenSenseWire
from smartbms.sim.pairwise import pairwise_sum

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
        self._cell_offset_list: list[float] = self._cell_offset.tolist()
        self._cell_gain_list: list[float] = self._cell_gain.tolist()
        self._temp_offset_list: list[float] = self._temp_offset.tolist()
        self._ntc_cell_list: list[int] = self.ntc_cells.tolist()
        # This pack's faults by kind, so a quiet read tests four empty tuples.
        mine = tuple(f for f in faults if f.pack == pack)
        self._open_wires = tuple(f for f in mine if isinstance(f, OpenSenseWire))
        self._drifts = tuple(f for f in mine if isinstance(f, DriftingCurrentOffset))
        self._failed_ntcs = tuple(f for f in mine if isinstance(f, FailedTemperatureSensor))
        self._last: Reading | None = None
        # Noise drawn in blocks: one generator call per 1024 samples instead of three per sample.
        self._width = cells + 1 + len(ntc_cells)
        self._noise: list[list[float]] = []
        self._noise_pos = 0

    def _next_noise(self) -> list[float]:
        if self._noise_pos >= len(self._noise):
            self._noise = self._rng.normal(0.0, 1.0, (1024, self._width)).tolist()
            self._noise_pos = 0
        row = self._noise[self._noise_pos]
        self._noise_pos += 1
        return row

    def read(
        self,
        now: float,
        cell_v: FloatArray | Sequence[float],
        current_a: float,
        temperature_c: FloatArray | Sequence[float],
    ) -> Reading:
        s = self.spec
        if (
            self._last is not None
            and s.sample_period_s > 0
            and now - self._last.timestamp < s.sample_period_s
        ):
            return self._last
        # Plain floats: for one pack numpy's per-call overhead costs more than the arithmetic. The
        # operations keep the order of the array formulas, so readings do not depend on the path.
        noise = self._next_noise()
        n = self.cells
        true_cells = cell_v.tolist() if isinstance(cell_v, np.ndarray) else list(cell_v)
        gain, off, sd = self._cell_gain_list, self._cell_offset_list, s.cell_noise_v
        q = s.cell_quantum_v
        cells: list[float] | None = None
        if not self._open_wires and q > 0:
            # The usual case in one pass: gain, offset, noise, clip at 0 V, quantise, 6 decimals.
            try:
                cells = [
                    round(round((0.0 if c < 0.0 else c) / q) * q * 1e6) / 1e6
                    for c in [
                        v * g + o + z * sd
                        for v, g, o, z in zip(true_cells, gain, off, noise[:n], strict=True)
                    ]
                ]
            except (ValueError, OverflowError):  # a NaN or infinite cell: the general path below
                cells = None
        if cells is None:
            cells = [true_cells[k] * gain[k] + off[k] + noise[k] * sd for k in range(n)]
            for fault in self._active(self._open_wires, now):
                # The channel floats towards 0 V and its neighbour measures across both cells.
                k = fault.cell - 1  # type: ignore[union-attr]
                if k + 1 < n:
                    cells[k + 1] += cells[k]
                cells[k] = abs(self._rng.normal(0.0, 0.02))
            # Clipped at 0 V (a NaN stays NaN, as in np.clip).
            cells = _quantise_list([0.0 if c < 0.0 else c for c in cells], q)
        offset = s.current_offset_a
        if self._drifts:
            for drift in self._active(self._drifts, now):
                offset += drift.rate_a_per_h * (now - drift.at_s) / 3600.0  # type: ignore[union-attr]
        current = current_a * (1.0 + s.current_gain_error) + offset + noise[n] * s.current_noise_a
        current = round(_quantise_float(current, s.current_quantum_a), 6)
        true_temps = temperature_c.tolist() if isinstance(temperature_c, np.ndarray) else temperature_c
        t_off, t_sd = self._temp_offset_list, s.temperature_noise_c
        temps = _quantise_list(
            [true_temps[c] + t_off[j] + noise[n + 1 + j] * t_sd for j, c in enumerate(self._ntc_cell_list)],
            s.temperature_quantum_c,
        )
        if self._failed_ntcs:
            for ntc in self._active(self._failed_ntcs, now):
                temps[ntc.sensor - 1] = {  # type: ignore[union-attr]
                    "open": OPEN_NTC_READS_C,
                    "short": SHORTED_NTC_READS_C,
                }.get(ntc.mode, math.nan)  # type: ignore[union-attr]
        pack_v = round(
            _quantise_float(
                pairwise_sum(true_cells) * (1.0 + s.pack_voltage_gain_error), s.pack_voltage_quantum_v
            ),
            6,
        )
        reading = Reading(now, tuple(cells), current, tuple(temps), pack_v)
        self._last = reading
        return reading

    @staticmethod
    def _active(faults: tuple[Fault, ...], now: float) -> list[Fault]:
        return [f for f in faults if now >= f.at_s]


def _quantise_float(x: float, step: float) -> float:
    """``_quantise`` for one value without numpy's per-call cost (round() rounds half to even too)."""
    if step > 0 and math.isfinite(x / step):
        return round(x / step) * step
    return float(_quantise(x, step))


def _quantise_list(values: list[float], step: float) -> list[float]:
    """Round to the converter's step, then to 6 decimals as ``np.round(x, 6)`` does (×1e6, rint, ÷1e6)."""
    try:
        if step > 0:
            return [round(round(v / step) * step * 1e6) / 1e6 for v in values]
        return [round(v * 1e6) / 1e6 for v in values]
    except (ValueError, OverflowError):  # a NaN or infinite value: numpy keeps it as it is
        return [float(x) for x in np.round(_quantise(np.asarray(values, dtype=float), step), 6)]


def spread_ntc_cells(cells: int, sensors: int) -> tuple[int, ...]:
    """NTC positions spread evenly along the string (0-based cell index)."""
    if sensors <= 0:
        return ()
    return tuple(round(float(x)) for x in np.linspace(0, cells - 1, sensors))
