"""The power paths, chargers, loads and balancing hardware around the cells."""

from __future__ import annotations

import numpy as np
import pytest

from smartbms.sim.faults import ChargerIgnoresDisconnect, SoftShort, WeldedContactor
from smartbms.sim.params import load_cell_parameters
from smartbms.sim.plant import ABSORPTION, FLOAT, HardwareSpec, PackPlant
from smartbms.sim.profiles import ChargerDemand, Demand
from smartbms.sim.variation import CellVariation, draw_population

NO_SPREAD = CellVariation(0.0, 0.0, 0.0, 0.0)


def _plant(cells: int = 4, soc: float = 50.0, packs: int = 1, **kwargs: object) -> PackPlant:
    pop = draw_population(np.random.default_rng(0), (packs, cells), 100.0, soc, NO_SPREAD)
    return PackPlant(load_cell_parameters("LFP"), pop, **kwargs)  # type: ignore[arg-type]


def test_open_paths_carry_no_current() -> None:
    plant = _plant()
    plant.commands.charge_closed[0] = False
    plant.step(1.0, Demand(direct_a=50.0))
    assert plant.pack_current_a[0] == 0.0
    plant.step(1.0, Demand(direct_a=-50.0))  # discharge still flows through the closed discharge path
    assert plant.pack_current_a[0] == pytest.approx(-50.0)
    plant.commands.discharge_closed[0] = False
    plant.step(1.0, Demand(direct_a=-50.0))
    assert plant.pack_current_a[0] == 0.0
    soc = plant.state.soc_pct.copy()
    plant.step(600.0, Demand(direct_a=-50.0))
    assert np.allclose(plant.state.soc_pct, soc, atol=0.01)  # only self-discharge


def test_a_welded_contactor_keeps_conducting() -> None:
    plant = _plant(faults=(WeldedContactor(path="discharge", at_s=10.0),))
    plant.commands.discharge_closed[0] = False
    plant.step(10.0, Demand(direct_a=-50.0))  # the weld happens at 10 s
    assert plant.pack_current_a[0] == 0.0
    plant.step(1.0, Demand(direct_a=-50.0))
    assert plant.pack_current_a[0] == pytest.approx(-50.0)


def test_loads_and_chargers_obey_the_bms_outputs_unless_the_charger_is_faulty() -> None:
    charger = ChargerDemand(max_current_a=40.0, absorption_v=14.2, float_v=13.5)
    plant = _plant()
    plant.commands.charge_disconnect_closed[0] = False
    plant.step(1.0, Demand(charger=charger))
    assert plant.pack_current_a[0] == 0.0
    plant.commands.load_disconnect_closed[0] = False
    plant.step(1.0, Demand(load_w=500.0))
    assert plant.pack_current_a[0] == 0.0
    faulty = _plant(faults=(ChargerIgnoresDisconnect(),))
    faulty.commands.charge_disconnect_closed[0] = False
    faulty.step(1.0, Demand(charger=charger))
    assert faulty.pack_current_a[0] == pytest.approx(40.0)
    faulty.commands.charge_closed[0] = False  # the charge FET is the last line of defence
    faulty.step(1.0, Demand(charger=charger))
    assert faulty.pack_current_a[0] == 0.0


def test_cc_cv_charger_holds_absorption_then_floats() -> None:
    plant = _plant(soc=90.0)
    charger = ChargerDemand(max_current_a=50.0, absorption_v=14.0, float_v=13.5, absorption_time_s=1800.0)
    stages = []
    for _ in range(3 * 3600):
        plant.step(1.0, Demand(charger=charger))
        stages.append(int(plant.charger_stage[0]))
        if stages[-1] == ABSORPTION:
            assert plant.cell_voltage_v[0].sum() == pytest.approx(14.0, abs=0.02)
    assert ABSORPTION in stages and stages[-1] == FLOAT
    # In float the charger only tops up: the full pack rests above the float voltage and takes nothing.
    assert plant.cell_voltage_v[0].sum() >= 13.5 - 0.01
    assert plant.pack_current_a[0] == pytest.approx(0.0, abs=0.5)


def test_alternator_is_limited_by_the_charge_input() -> None:
    plant = _plant(soc=30.0)
    plant.commands.charge_input_limit_a[0] = 25.0
    plant.step(1.0, Demand(alternator_a=80.0, alternator_v=14.4))
    assert plant.pack_current_a[0] == pytest.approx(25.0)
    plant.commands.charge_input_enabled[0] = False
    plant.step(1.0, Demand(alternator_a=80.0, alternator_v=14.4))
    assert plant.pack_current_a[0] == 0.0


def test_bleed_resistor_drains_its_cell_and_heats() -> None:
    plant = _plant(hardware=HardwareSpec(bleed_resistance_ohm=10.0))
    plant.commands.bleed[0, 1] = True
    for _ in range(3600):
        plant.step(1.0, Demand())
    soc = plant.state.soc_pct[0]
    # About V/R = 0.33 A for an hour = 0.33 % of 100 Ah more than its neighbours lost.
    assert soc[0] - soc[1] == pytest.approx(0.33, abs=0.03)
    assert plant.bleed_resistor_temp_c[0, 1] > plant.bleed_resistor_temp_c[0, 0] + 20.0
    assert plant.state.temperature_c[0, 1] > plant.state.temperature_c[0, 3]
    assert plant.bled_ah[0, 1] == pytest.approx(0.33, abs=0.03)


def test_active_balancer_moves_charge_with_losses() -> None:
    plant = _plant()
    plant.commands.active_a[0] = np.array([-2.0, 2.0, 0.0, 0.0])
    plant.step(3600.0, Demand())
    soc = plant.state.soc_pct[0]
    assert soc[0] == pytest.approx(soc[2] - 2.0, abs=0.01)
    assert soc[1] == pytest.approx(soc[2] + 2.0 * 0.9, abs=0.01)


def test_soft_short_drains_one_cell() -> None:
    plant = _plant(faults=(SoftShort(cell=3, resistance_ohm=1.0),))
    for _ in range(60):
        plant.step(60.0, Demand())
    soc = plant.state.soc_pct[0]
    # ~3.26 A for an hour: 3.3 % of 100 Ah.
    assert soc[0] - soc[2] == pytest.approx(3.26, abs=0.1)
