"""The simulated pack and the balancers give the same trace as the recorded reference run.

``tests/sim/data/trace_pin.json`` was recorded with the original all-numpy pack path (before the
single-pack fast path existed); a change to the physics, the sensors or a balancing decision shows here.
Re-record deliberately, after checking a change is intended:

    .venv/bin/python tests/sim/test_trace_pin.py --record
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from smartbms.balancing import ActiveBalancer, BalancingInput, NoBalancing, PassiveTopBalancer, SocBalancer
from smartbms.core.actions import ALL_OFF_LEDS, Actions
from smartbms.core.settings import Settings, default_settings
from smartbms.sim.faults import (
    ChargerIgnoresDisconnect,
    DriftingCurrentOffset,
    FailedTemperatureSensor,
    Fault,
    OpenSenseWire,
    SoftShort,
    WeldedContactor,
)
from smartbms.sim.pack_source import SimulatedPackSource
from smartbms.sim.sensors import SensorSpec
from smartbms.sim.variation import CellVariation

REFERENCE = Path(__file__).parent / "data" / "trace_pin.json"
_ON = Actions(
    charge_enabled=True,
    discharge_enabled=True,
    load_disconnect_closed=True,
    charge_disconnect_closed=True,
    prealarm_output=False,
    charge_input_enabled=True,
    charge_input_limit_a=40.0,
    leds=ALL_OFF_LEDS,
    sample_period_s=1.0,
    alarms=(),
    events=(),
)


def _scripted(tick: int) -> Actions:
    """Every actuator in turn: bleed resistors, the active balancer, each path and output opened."""
    if 100 <= tick < 400:
        return replace(_ON, balancing_cells=(3, 7, 16))
    if 400 <= tick < 600:
        return replace(_ON, balancing_currents_a=(2.0, -2.0) + (0.0,) * 12 + (1.0, -3.0))
    if 600 <= tick < 700:
        return replace(_ON, discharge_enabled=False)
    if 700 <= tick < 800:
        return replace(_ON, charge_enabled=False, balancing_cells=(1,))
    if 800 <= tick < 900:
        return replace(_ON, charge_disconnect_closed=False, load_disconnect_closed=False)
    if 900 <= tick < 1000:
        return replace(_ON, charge_input_enabled=False)
    return _ON


def _pack_run(settings: Settings, faults: tuple[Fault, ...], **kwargs: Any) -> list[list[float]]:
    src = SimulatedPackSource(
        settings,
        seed=11,
        variation=CellVariation(capacity_spread_pct=3.0, initial_soc_spread_pct=10.0),
        faults=faults,
        **kwargs,
    )
    rows: list[list[float]] = []
    now = 0.0
    for tick in range(1100):
        m = src.read(now)
        src.apply(_scripted(tick), now)
        if tick % 25 == 0:
            truth = src.truth()
            rows.append(
                [
                    now,
                    *m.cell_voltages_v,
                    m.current_a,
                    *m.temperatures_c,
                    m.voltage_v if m.voltage_v is not None else math.nan,
                    m.mosfet_temperature_c if m.mosfet_temperature_c is not None else math.nan,
                    m.charge_source_v or 0.0,
                    *truth.soc_pct,
                    *truth.cell_voltages_v,
                    *truth.temperatures_c,
                    truth.current_a,
                    *truth.balancing_currents_a,
                    *truth.bleed_resistor_temperatures_c,
                    float(truth.charge_closed),
                    float(truth.discharge_closed),
                    float(truth.charger_stage),
                    float(src.plant.charged_ah[0]),
                    float(src.plant.discharged_ah[0]),
                    float(np.sum(src.plant.bled_ah[0])),
                ]
            )
        # Mostly 1 s ticks, with a few longer gaps that the pack fills with sub-steps.
        now += 7.0 if tick % 97 == 0 else 1.0
    return rows


def _balancer_run() -> dict[str, list[list[float]]]:
    settings = default_settings(chemistry="LFP", cells_series=16, nominal_capacity_ah=280)
    cfg = settings.balancing
    rng = np.random.default_rng(5)
    out: dict[str, list[list[float]]] = {}
    for balancer in (NoBalancing(), PassiveTopBalancer(cfg), SocBalancer(cfg), ActiveBalancer(cfg)):
        rows: list[list[float]] = []
        for k in range(600):
            top = 3.30 + 0.35 * (k % 200) / 200.0
            volts = tuple(float(v) for v in np.round(top - rng.uniform(0.0, 0.06, 16), 3))
            socs = (
                tuple(float(s) for s in np.round(90.0 - rng.uniform(0.0, 8.0, 16), 2))
                if k % 150 < 120
                else None
            )
            decision = balancer.decide(
                BalancingInput(
                    now=float(k),
                    cell_voltages_v=volts,
                    cell_soc_pct=socs,
                    current_a=float(rng.choice([-20.0, -1.0, 0.0, 15.0])),
                    temperatures_c=(25.0 + 10.0 * (k % 300) / 300.0, 26.0),
                    protection_active=k % 170 > 160,
                    charge_allowed=True,
                )
            )
            rows.append([float(c) for c in decision.bleed_cells] + [-1.0] + list(decision.currents_a))
        out[balancer.name] = rows
    return out


def reference_runs() -> dict[str, Any]:
    lfp16 = default_settings(chemistry="LFP", cells_series=16, nominal_capacity_ah=280)
    faults: tuple[Fault, ...] = (
        SoftShort(cell=2, resistance_ohm=0.5, at_s=50.0),
        OpenSenseWire(cell=5, at_s=300.0),
        FailedTemperatureSensor(sensor=1, mode="missing", at_s=400.0),
        DriftingCurrentOffset(rate_a_per_h=20.0, at_s=200.0),
        WeldedContactor(path="discharge", at_s=620.0),
        ChargerIgnoresDisconnect(at_s=0.0),
    )
    return {
        # Solar day from 11:00 on a nearly full pack: bulk, absorption and the charger state machine.
        "solar": _pack_run(lfp16, (), profile="solar_day", initial_soc_pct=94.0, time_origin_s=-11 * 3600.0),
        # A van day while driving (alternator through the charge input) with every fault injected.
        "van_faults": _pack_run(
            lfp16,
            faults,
            profile="van_day",
            initial_soc_pct=60.0,
            time_origin_s=-8.5 * 3600.0,
            sensors=replace(
                SensorSpec(), current_offset_a=0.03, current_gain_error=0.002, sample_period_s=2.0
            ),
        ),
        # NMC with its entropic OCV term, a discharge at constant power, longer plant steps.
        "nmc": _pack_run(
            default_settings(chemistry="NMC", cells_series=16, nominal_capacity_ah=50),
            (),
            profile="constant_power:-1500",
            initial_soc_pct=70.0,
            max_step_s=0.5,
            ambient_c=5.0,
        ),
        "balancers": _balancer_run(),
    }


@pytest.fixture(scope="module")
def runs() -> dict[str, Any]:
    return reference_runs()


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(REFERENCE.read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("name", ["solar", "van_faults", "nmc"])
def test_pack_trace_matches_the_reference(name: str, runs: dict[str, Any], reference: dict[str, Any]) -> None:
    got = np.asarray(runs[name], dtype=float)
    want = np.asarray(reference[name], dtype=float)
    assert got.shape == want.shape
    # Floating-point noise only (exp and summation order may differ in the last bits).
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, equal_nan=True)


def test_balancer_decisions_match_the_reference(runs: dict[str, Any], reference: dict[str, Any]) -> None:
    assert runs["balancers"] == reference["balancers"]


if __name__ == "__main__" and "--record" in sys.argv:
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    REFERENCE.write_text(json.dumps(reference_runs()), encoding="utf-8")
    print(f"recorded {REFERENCE}")
