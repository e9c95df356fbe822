"""Fleet mode steps N packs together; each pack behaves exactly as it would alone."""

from __future__ import annotations

import numpy as np
import pytest

from smartbms.core.settings import Settings
from smartbms.sim.fleet import Fleet
from smartbms.sim.params import load_cell_parameters
from smartbms.sim.plant import PackPlant
from smartbms.sim.profiles import ConstantCurrent, Demand
from smartbms.sim.variation import CellPopulation, CellVariation


def test_fleet_packs_match_the_same_packs_run_alone(lfp4: Settings) -> None:
    fleet = Fleet(
        lfp4, 5, seed=4, profile=ConstantCurrent(-30.0), variation=CellVariation(3.0, 10.0, 50.0, 10.0)
    )
    pop = fleet.plant.population
    fleet.commands.discharge_closed[3] = False  # one pack's BMS opened its path
    fleet.run(1800.0)
    for p in range(5):
        alone = PackPlant(
            load_cell_parameters("LFP"),
            CellPopulation(
                pop.capacity_ah[p : p + 1],
                pop.resistance_scale[p : p + 1],
                pop.self_discharge_scale[p : p + 1],
                pop.initial_soc_pct[p : p + 1],
            ),
        )
        alone.commands.discharge_closed[0] = p != 3
        for _ in range(1800):
            alone.step(1.0, Demand(direct_a=-30.0))
        assert np.allclose(alone.state.soc_pct[0], fleet.soc_pct[p], atol=1e-9)
        assert np.allclose(alone.cell_voltage_v[0], fleet.cell_voltages_v[p], atol=1e-9)
    assert fleet.plant.pack_current_a[3] == 0.0 and fleet.plant.pack_current_a[0] == pytest.approx(-30.0)


def test_fleet_cells_differ_by_seeded_variation(lfp4: Settings) -> None:
    a = Fleet(lfp4, 100, seed=1, variation=CellVariation(capacity_spread_pct=3.0))
    b = Fleet(lfp4, 100, seed=1, variation=CellVariation(capacity_spread_pct=3.0))
    cap = a.plant.model.capacity_ah
    assert np.array_equal(cap, b.plant.model.capacity_ah)
    assert cap.max() - cap.min() == pytest.approx(3.0, abs=0.1)  # 3 % of 100 Ah, full width
    with pytest.raises(ValueError, match="at least one pack"):
        Fleet(lfp4, 0)
