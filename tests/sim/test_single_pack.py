"""The plain-float single-pack plant against the vectorised PackPlant: the same physics, step for step."""

from __future__ import annotations

import numpy as np
import pytest

from smartbms.sim.faults import ChargerIgnoresDisconnect, Fault, SoftShort, WeldedContactor
from smartbms.sim.pairwise import pairwise_sum
from smartbms.sim.params import load_cell_parameters
from smartbms.sim.plant import HardwareSpec, PackPlant
from smartbms.sim.profiles import ChargerDemand, Demand
from smartbms.sim.single_pack import SinglePackPlant
from smartbms.sim.variation import CellVariation, draw_population

CHARGER = ChargerDemand(max_current_a=60.0, absorption_v=56.0, float_v=54.0, absorption_time_s=120.0)


def _pair(
    chemistry: str, cells: int, faults: tuple[Fault, ...] = (), soc: float = 60.0
) -> tuple[PackPlant, SinglePackPlant]:
    pop = draw_population(
        np.random.default_rng(4), (1, cells), 100.0, soc, CellVariation(3.0, 10.0, 50.0, 10.0)
    )
    params = load_cell_parameters(chemistry)
    hw = HardwareSpec(bleed_resistance_ohm=10.0)
    kwargs = {"ambient_c": 15.0, "hardware": hw, "faults": faults, "initial_temperature_c": 20.0}
    return PackPlant(params, pop, **kwargs), SinglePackPlant(params, pop, **kwargs)  # type: ignore[arg-type]


def _command(vector: PackPlant, single: SinglePackPlant, k: int, cells: int) -> None:
    """Switch paths, outputs, bleed resistors and the active balancer in turn, on both plants alike."""
    bleed = [c % 3 == 0 for c in range(cells)] if 50 <= k < 120 else []
    active = (
        [(2.0 if c == 0 else (-1.5 if c == cells - 1 else 0.0)) for c in range(cells)]
        if 90 <= k < 150
        else []
    )
    flags = {
        "charge_closed": not 160 <= k < 180,
        "discharge_closed": not 180 <= k < 200,
        "charge_disconnect_closed": not 200 <= k < 215,
        "load_disconnect_closed": not 215 <= k < 230,
        "charge_input_enabled": not 230 <= k < 240,
    }
    for name, value in flags.items():
        getattr(vector.commands, name)[0] = value
        setattr(single.commands, name, value)
    vector.commands.charge_input_limit_a[0] = single.commands.charge_input_limit_a = 25.0
    vector.commands.bleed[0] = bleed or [False] * cells
    vector.commands.active_a[0] = active or [0.0] * cells
    single.commands.bleed = bleed
    single.commands.active_a = active


def _demand(k: int) -> Demand:
    if k % 100 < 40:
        return Demand(charger=CHARGER, load_w=300.0)
    if k % 100 < 70:
        return Demand(direct_w=-2500.0, alternator_a=30.0, alternator_v=55.0)
    return Demand(direct_a=-40.0 if k % 2 else 10.0, load_a=5.0)


@pytest.mark.parametrize(
    ("chemistry", "cells", "faults"),
    [
        ("LFP", 16, ()),
        (
            "NMC",
            16,
            (SoftShort(cell=3, resistance_ohm=2.0, at_s=30.0), WeldedContactor("charge", at_s=170.0)),
        ),
        ("LTO", 5, (ChargerIgnoresDisconnect(at_s=0.0),)),
        ("LFP", 1, ()),
    ],
)
def test_single_pack_matches_the_vectorised_plant(
    chemistry: str, cells: int, faults: tuple[Fault, ...]
) -> None:
    vector, single = _pair(chemistry, cells, faults)
    for k in range(260):
        _command(vector, single, k, cells)
        dt = 1.0 if k % 50 else 30.0  # a long step now and then: several thermal sub-steps
        demand = _demand(k)
        vector.step(dt, demand)
        single.step(dt, demand)
        assert single.pack_current_a[0] == pytest.approx(vector.pack_current_a[0], rel=1e-12, abs=1e-12)
        np.testing.assert_allclose(single.cell_voltage_v, vector.cell_voltage_v, rtol=1e-12)
    for name in ("soc_pct", "v1_v", "v2_v", "hysteresis", "temperature_c"):
        np.testing.assert_allclose(
            getattr(single.state, name), getattr(vector.state, name), rtol=1e-11, atol=1e-13
        )
    for name in (
        "balancing_current_a",
        "bleed_resistor_temp_c",
        "fet_temperature_c",
        "charged_ah",
        "discharged_ah",
        "bled_ah",
    ):
        np.testing.assert_allclose(getattr(single, name), getattr(vector, name), rtol=1e-11, atol=1e-13)
    assert single.charger_stage[0] == vector.charger_stage[0]
    assert vector.bled_ah.sum() > 0.0 and vector.discharged_ah[0] > 0.0 and vector.charged_ah[0] > 0.0


def test_set_state_moves_the_cells() -> None:
    _, single = _pair("LFP", 4)
    before = list(single.cell_v)
    single.set_state(soc_pct=[90.0, 90.0, 90.0, 90.0])
    assert single.state.soc_pct.tolist() == [[90.0] * 4]
    assert min(single.cell_v) > max(before)


def test_single_pack_refuses_a_fleet() -> None:
    pop = draw_population(np.random.default_rng(0), (2, 4), 100.0, 50.0, CellVariation())
    with pytest.raises(ValueError, match="one pack"):
        SinglePackPlant(load_cell_parameters("LFP"), pop)


@pytest.mark.parametrize("n", [0, 1, 5, 8, 15, 16, 17, 24, 130, 300])
def test_pairwise_sum_is_numpys_sum(n: int) -> None:
    values = np.random.default_rng(n).uniform(-4.0, 4.0, n) * 1.000001
    assert pairwise_sum(values.tolist()) == float(np.sum(values))


def test_the_non_uniform_ocv_grid_path_gives_the_same_steps() -> None:
    # Every shipped chemistry has a uniform OCV grid; a user table may not. Force that path.
    vector, single = _pair("LFP", 4)
    single._table = None
    for k in range(40):
        demand = _demand(k)
        vector.step(1.0, demand)
        single.step(1.0, demand)
    np.testing.assert_allclose(single.cell_voltage_v, vector.cell_voltage_v, rtol=1e-12)
    np.testing.assert_allclose(single.state.temperature_c, vector.state.temperature_c, rtol=1e-12)


def test_long_steps_take_several_thermal_sub_steps_alike() -> None:
    # 0.2 × the shortest thermal time constant is a few minutes: a 20-minute step needs sub-steps.
    vector, single = _pair("LFP", 6)
    for k in range(12):
        _command(vector, single, 60 + k, 6)  # bleed resistors on: heat that the sub-steps spread
        demand = Demand(direct_a=-30.0 if k % 2 else 20.0)
        vector.step(1200.0, demand)
        single.step(1200.0, demand)
    assert single._step_constants(1200.0)[3] > 1
    np.testing.assert_allclose(single.cell_voltage_v, vector.cell_voltage_v, rtol=1e-12)
    np.testing.assert_allclose(single.state.temperature_c, vector.state.temperature_c, rtol=1e-12)
