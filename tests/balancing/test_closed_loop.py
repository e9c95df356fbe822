"""Balancing in the loop: the simulated pack, the BMS core and each strategy together."""

from __future__ import annotations

import pytest

from smartbms.core.settings import default_settings
from smartbms.sim.simulation import Scenario, Simulation
from smartbms.sim.variation import CellVariation


def _spread_after_charging(strategy: str) -> tuple[float, float, float]:
    s = default_settings(chemistry="LFP", cells_series=4, nominal_capacity_ah=10).with_changes(
        {
            "balancing.strategy": strategy,
            "balancing.bleed_resistance_ohm": 3.3,
            "balancing.bleed_thermal_resistance_k_per_w": 10.0,
            "balancing.active_transfer_current_a": 1.0,
        }
    )
    scenario = Scenario(
        settings=s,
        profile="cccv",
        profile_options={
            "charger_absorption_v": 13.8,
            "charger_max_current_a": 3.0,
            "charger_absorption_time_s": 6 * 3600.0,
        },
        duration_s=8 * 3600.0,
        tick_s=5.0,
        plant_step_s=5.0,
        seed=6,
        initial_soc_pct=70.0,
        variation=CellVariation(capacity_spread_pct=0.0, initial_soc_spread_pct=6.0),
        estimator=strategy in ("soc", "active"),
        record_every_s=3600.0,
    )
    sim = Simulation(scenario)
    sim.run()
    truth = sim.source.truth()
    initial = sim.source.plant.population.initial_soc_pct[0]
    return (
        (max(truth.cell_voltages_v) - min(truth.cell_voltages_v)) * 1000,
        max(truth.soc_pct) - min(truth.soc_pct),
        float(initial.max() - initial.min()),
    )


@pytest.mark.slow
def test_passive_top_balancing_closes_the_gap_that_no_balancing_leaves() -> None:
    none_mv, none_soc, initial = _spread_after_charging("none")
    passive_mv, passive_soc, _ = _spread_after_charging("passive")
    assert initial > 3.0
    assert none_soc == pytest.approx(initial, abs=0.3)  # no balancing: the initial spread stays
    assert passive_soc < initial / 3
    assert passive_mv < 20.0 < none_mv
