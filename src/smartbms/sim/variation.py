"""Seeded cell-to-cell variation: capacity, resistance, self-discharge and initial SOC.

Each spread is the full width (max − min) of a uniform distribution centred on the nominal value,
so "3 % capacity spread" means capacities between 98.5 % and 101.5 % of nominal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class CellVariation:
    capacity_spread_pct: float = 2.0
    resistance_spread_pct: float = 10.0
    # Relative spread of the self-discharge rate (a cell at +50 % leaks 1.5× the table rate).
    self_discharge_spread_pct: float = 50.0
    initial_soc_spread_pct: float = 2.0


@dataclass(frozen=True)
class CellPopulation:
    capacity_ah: FloatArray
    resistance_scale: FloatArray
    self_discharge_scale: FloatArray
    initial_soc_pct: FloatArray


def _centred(rng: np.random.Generator, shape: tuple[int, ...], width: float) -> FloatArray:
    return np.asarray(rng.uniform(-0.5, 0.5, size=shape) * width, dtype=float)


def draw_population(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    nominal_capacity_ah: float,
    mean_initial_soc_pct: float,
    variation: CellVariation,
) -> CellPopulation:
    """Draw every cell's properties; the same generator state gives the same cells."""
    capacity = nominal_capacity_ah * (1.0 + _centred(rng, shape, variation.capacity_spread_pct) / 100.0)
    resistance = 1.0 + _centred(rng, shape, variation.resistance_spread_pct) / 100.0
    leak = np.maximum(0.0, 1.0 + _centred(rng, shape, variation.self_discharge_spread_pct) / 100.0)
    soc = mean_initial_soc_pct + _centred(rng, shape, variation.initial_soc_spread_pct)
    return CellPopulation(capacity, resistance, leak, np.clip(soc, 0.0, 100.0))
