"""A balancer's currents flow through single cells, past the string's current sensor: the estimator
counts them when told, so a bled cell's SOC falls with the charge it lost, not only once its voltage
shows it (a SOC-based balancer kept bleeding such cells: 30 simulated days, usable 99 -> 74 %)."""

from __future__ import annotations

import math

import pytest

from smartbms.estimation import PackEstimator
from smartbms.estimation.pack import PackEstimate

CAP = 100.0


def _estimator() -> PackEstimator:
    return PackEstimator(chemistry="LFP", cells_series=2, capacity_ah=CAP, initial_soc_pct=50.0)


CellCurrents = list[float] | tuple[float, ...] | None


def _run(est: PackEstimator, cell_currents: CellCurrents, seconds: int) -> PackEstimate:
    # A rest on the LFP plateau: the voltages say nothing about the SOC difference.
    for t in range(seconds + 1):
        last = est.update(
            timestamp=float(t),
            current_a=0.0,
            cell_voltages_v=[3.30, 3.30],
            temperatures_c=[25.0],
            cell_currents_a=cell_currents if t else None,
        )
    return last


def test_a_bled_cell_loses_the_charge_its_resistor_drew() -> None:
    est = _estimator()
    # Cell 2 bled at 10 A for 15 minutes (2.5 Ah, 2.5 % of 100 Ah), before the rest counts as rested.
    # Both voltages read the same, so the filter takes part of it back; counted, most of it stays.
    soc = _run(est, (0.0, -10.0), 900).cell_soc_pct
    assert 1.0 < soc[0] - soc[1] <= 2.5


def test_without_cell_currents_both_cells_stay_together() -> None:
    est = _estimator()
    soc = _run(est, None, 900).cell_soc_pct
    assert abs(soc[0] - soc[1]) < 0.05


@pytest.mark.parametrize("bad", [[0.0], [0.0, math.nan], [0.0, 1.0, 2.0]])
def test_bad_cell_currents_are_counted_and_ignored(bad: list[float]) -> None:
    est = _estimator()
    soc = _run(est, bad, 60).cell_soc_pct
    assert est.counters.bad_cell_currents == 60
    assert abs(soc[0] - soc[1]) < 0.05
