"""Test helpers around the equivalent-circuit plant (a "cell" whose truth we know exactly), so tests
can check that the estimators recover what was put in. PyBaMM-based checks live in
test_validation_pybamm.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest

from smartbms.estimation import PackEstimator
from smartbms.estimation.cell_model import CellModel
from smartbms.estimation.defaults import DEFAULTS
from smartbms.estimation.traces import Trace
from smartbms.estimation.validation.ecm_plant import EcmPlant


def pin_nmc_counting_scale_sigma(monkeypatch: pytest.MonkeyPatch, sigma: float) -> None:
    """Run a test with the NMC counting scale's prior at ``sigma``: the model-error tests were measured
    at 5 %, and a wider prior lets the scale take up part of their (severe, 3x) slow-pair error as
    well, which raises their worst error by about 1 %."""
    monkeypatch.setitem(DEFAULTS, "NMC", replace(DEFAULTS["NMC"], counting_scale_sigma=sigma))


def with_slow_pair_scaled(model: CellModel, factor: float) -> CellModel:
    """The model with its slow pair's resistance times ``factor`` (a cell polarising more than its model)."""
    assert model.r2_ohm is not None
    return replace(model, r2_ohm=factor * model.r2_ohm)


def with_resistance_per_degree(model: CellModel, per_degc: float) -> CellModel:
    """The model with every resistance at its 25 degC value times exp(per_degc * (25 - T)): a cell whose
    resistance climbs this steeply into the cold (Ecker2015: 4-8 % per degC; Chen2020: 1-3 %)."""
    temps = model.temperatures_c
    factor = np.exp(per_degc * (25.0 - temps))[:, None]
    steeper = {}
    sided = ("r0_charge_ohm", "r0_discharge_ohm", "r1_charge_ohm", "r1_discharge_ohm")
    for name in ("r0_ohm", "r1_ohm", "r2_ohm", *sided):
        table = getattr(model, name)
        if table is not None:
            at_25 = np.array([np.interp(25.0, temps, column) for column in table.T])
            steeper[name] = at_25[None, :] * factor
    return replace(model, **steeper)


def worst_soc_error_pct(
    model: CellModel,
    plant: EcmPlant,
    currents: Sequence[float],
    *,
    dt_s: float = 1.0,
    sensed_temperature_c: float | None = None,
    **estimator_options: float,
) -> float:
    """Worst SOC error (%) of an estimator on ``model`` that follows ``plant`` through ``currents``
    (``dt_s`` apart), started at the plant's true SOC. Its temperature sensor reads
    ``sensed_temperature_c`` (default: the plant's own temperature); ``estimator_options`` go to the
    estimator."""
    sensed = plant.temperature_c if sensed_temperature_c is None else sensed_temperature_c
    est = PackEstimator(
        chemistry=model.chemistry,
        cells_series=1,
        capacity_ah=plant.capacity_ah,
        cell_model=model,
        initial_soc_pct=100.0 * plant.soc,
        **estimator_options,
    )
    worst = 0.0
    for k, current in enumerate(currents):
        v = plant.step(current, dt_s)
        e = est.update(
            timestamp=(k + 1) * dt_s, current_a=current, cell_voltages_v=[v], temperatures_c=[sensed]
        )
        worst = max(worst, abs(e.soc_pct - 100.0 * plant.soc))
    return worst


def lab_tests(model: CellModel, capacity_ah: float) -> dict[str, Trace]:
    """Slow discharge, slow charge and an HPPC-style pulse test on an ECM plant built from ``model``."""
    c = capacity_ah
    dis, _ = EcmPlant(model, c, 1.0).run([0.0] * 6 + [-c / 20] * 7_300 + [0.0] * 6, dt_s=10.0)
    keep = dis.voltage_v > model.voltage_min_v
    dis = dis.slice(0, int(np.argmin(keep)) if not keep.all() else len(dis))
    chg, _ = EcmPlant(model, c, 0.0).run([0.0] * 6 + [c / 20] * 7_300 + [0.0] * 6, dt_s=10.0)
    keep = chg.voltage_v < model.voltage_max_v
    chg = chg.slice(0, int(np.argmin(keep)) if not keep.all() else len(chg))
    currents = [0.0] * 600
    for _ in range(9):
        currents += [-c / 2] * 720 + [0.0] * 1200 + [-c] * 10 + [0.0] * 60 + [0.75 * c] * 10 + [0.0] * 60
    pulse, _ = EcmPlant(model, c, 1.0).run(currents, dt_s=1.0)
    named = {}
    for name, tr in (("discharge", dis), ("charge", chg), ("pulse", pulse)):
        named[name] = Trace(tr.time_s, tr.current_a, tr.voltage_v, tr.temperature_c, name)
    return named
