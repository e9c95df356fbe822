"""Sensor errors from the design note, drawn per seed and applied to a truth trace.

Current: gain +-1 %, offset C/1000..C/100 of random sign, white noise C/500. Voltage: noise 1-2 mV,
offset +-5 mV, 1 mV quantisation. Temperature: offset +-2 degC. Sampling every 1 s or 10 s; at 10 s
the current is the window mean (a coulomb-counting ADC integrates), voltage and temperature are
instantaneous.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smartbms.estimation.cell_model import FloatArray, IntArray
from smartbms.estimation.traces import Trace

VOLTAGE_OFFSET_MAX_V = 5e-3  # the voltage sensor's offset is drawn uniform within +- this
VOLTAGE_DECIMALS = 3  # readings are rounded to 1 mV
VOLTAGE_RESOLUTION_V = 10.0**-VOLTAGE_DECIMALS


@dataclass(frozen=True)
class SensorErrors:
    current_gain: float
    current_offset_a: float
    current_noise_a: float
    voltage_noise_v: float
    voltage_offset_v: float
    temperature_offset_c: float
    sample_s: int

    @classmethod
    def draw(cls, rng: np.random.Generator, capacity_ah: float, sample_s: int = 1) -> SensorErrors:
        sign = 1.0 if rng.random() < 0.5 else -1.0
        return cls(
            current_gain=1.0 + rng.uniform(-0.01, 0.01),
            current_offset_a=sign * capacity_ah * rng.uniform(1e-3, 1e-2),
            current_noise_a=capacity_ah / 500.0,
            voltage_noise_v=rng.uniform(1e-3, 2e-3),
            voltage_offset_v=rng.uniform(-VOLTAGE_OFFSET_MAX_V, VOLTAGE_OFFSET_MAX_V),
            temperature_offset_c=rng.uniform(-2.0, 2.0),
            sample_s=sample_s,
        )

    def describe(self, capacity_ah: float) -> str:
        return (
            f"gain {100 * (self.current_gain - 1):+.2f} %, "
            f"offset C/{capacity_ah / abs(self.current_offset_a):.0f}"
            f" ({'+' if self.current_offset_a > 0 else '-'}), "
            f"V offset {1000 * self.voltage_offset_v:+.1f} mV, T offset {self.temperature_offset_c:+.1f} °C"
        )


def measure(truth: Trace, errors: SensorErrors, rng: np.random.Generator) -> tuple[Trace, IntArray]:
    """What the BMS sees, and the indices of the truth samples it saw (for scoring)."""
    idx, current = sampled_current(truth.current_a, errors.sample_s)
    n = idx.size
    current = (
        current * errors.current_gain + errors.current_offset_a + rng.normal(0, errors.current_noise_a, n)
    )
    voltage = truth.voltage_v[idx] + errors.voltage_offset_v + rng.normal(0, errors.voltage_noise_v, n)
    voltage = np.round(voltage, VOLTAGE_DECIMALS)
    temperature = np.round(truth.temperature_c[idx] + errors.temperature_offset_c, 1)
    return Trace(truth.time_s[idx], current, voltage, temperature, truth.source), idx


def sampled_current(current_a: FloatArray, sample_s: int) -> tuple[IntArray, FloatArray]:
    """The truth samples (1 s apart) a BMS sampling every ``sample_s`` seconds sees, and the current it
    reads at each: the mean over the window of ``sample_s`` samples ending there."""
    step = max(1, sample_s)
    if step == 1:
        idx = np.arange(current_a.size)
        return idx, current_a[idx]
    idx = np.arange(step, current_a.size, step)
    csum = np.concatenate(([0.0], np.cumsum(current_a)))
    means: FloatArray = (csum[idx + 1] - csum[idx + 1 - step]) / step
    return idx, means


def held_current(current_a: FloatArray, sample_s: int) -> FloatArray:
    """The current a BMS sampling every ``sample_s`` seconds knows, at the truth's 1 s resolution: each
    window's mean held over the window (samples after the last window keep their own)."""
    idx, means = sampled_current(current_a, sample_s)
    held = current_a.astype(np.float64).copy()
    step = max(1, sample_s)
    if idx.size:
        # The windows tile the samples from the first one's start to the last one read.
        held[idx[0] + 1 - step : idx[-1] + 1] = np.repeat(means, step)
    return held
