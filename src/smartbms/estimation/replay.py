"""Replay a recorded single-string trace through the pack estimator (``smartbms estimate``, validation)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from smartbms.estimation.cell_model import CellModel, FloatArray
from smartbms.estimation.pack import PackEstimator
from smartbms.estimation.traces import Trace


@dataclass
class ReplayResult:
    time_s: FloatArray
    soc_pct: FloatArray
    soc_sigma_pct: FloatArray
    soh_pct: FloatArray
    estimator: PackEstimator
    sync_indices: list[int] = field(default_factory=list)


def replay(
    trace: Trace,
    model: CellModel,
    capacity_ah: float,
    *,
    initial_soc_pct: float | None = None,
    cells_series: int = 1,
    charge_cell_v: float | None = None,
) -> ReplayResult:
    """Feed every sample of ``trace`` (voltage = the cell's, or the string's divided equally)."""
    est = PackEstimator(
        chemistry=model.chemistry,
        cells_series=cells_series,
        capacity_ah=capacity_ah,
        cell_model=model,
        initial_soc_pct=initial_soc_pct,
        charge_voltage_limit_v=charge_cell_v * cells_series if charge_cell_v else None,
    )
    n = len(trace)
    soc = np.empty(n)
    sigma = np.empty(n)
    soh = np.empty(n)
    syncs: list[int] = []
    t, i, v, temp = (
        x.tolist() for x in (trace.time_s, trace.current_a, trace.voltage_v, trace.temperature_c)
    )
    per_cell = 1.0 / cells_series
    for k in range(n):
        before = est.counters.full_syncs
        e = est.update(
            timestamp=t[k],
            current_a=i[k],
            cell_voltages_v=[v[k] * per_cell] * cells_series,
            temperatures_c=(temp[k],),
        )
        if est.counters.full_syncs != before:
            syncs.append(k)
        soc[k], sigma[k], soh[k] = e.soc_pct, e.soc_sigma_pct, e.soh_pct
    return ReplayResult(trace.time_s, soc, sigma, soh, est, syncs)
