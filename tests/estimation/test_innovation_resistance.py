"""At 10 s sampling a drive gives the resistance fit hardly a clean current step; the voltage's
innovations, averaged over two minutes, still show the resistance a temperature sensor's offset
makes the model read wrong."""

from __future__ import annotations

import math

import numpy as np
import pytest

from smartbms.estimation import PackEstimator, shipped_model
from smartbms.estimation.cell_model import CellModel

from .ecm_plant import EcmPlant, with_resistance_per_degree

CAP = 50.0
DT_S = 10.0
PER_DEGC = 0.07  # resistance climbing 7 %/degC into the cold, like the held-out Ecker2015 (4-8 %)


def _drive(hours: float) -> list[float]:
    """A new current every sample (never steady around a step, so the step fit gets none): mostly
    discharge with some regeneration, C/2.2 on average."""
    rng = np.random.default_rng(3)
    return [float(x) for x in CAP * rng.uniform(-1.2, 0.3, int(hours * 3600 / DT_S))]


def _run(
    plant: EcmPlant, model: CellModel, sensed_c: float, currents: list[float], **options: float
) -> tuple[PackEstimator, float]:
    """The estimator after ``currents`` from the plant's SOC, and its SOC error (%) at the end."""
    est = PackEstimator(
        chemistry="NMC",
        cells_series=1,
        capacity_ah=CAP,
        cell_model=model,
        initial_soc_pct=100.0 * plant.soc,
        **options,
    )
    soc_pct = math.nan
    for k, current in enumerate(currents):
        v = plant.step(current, DT_S)
        soc_pct = est.update(
            timestamp=(k + 1) * DT_S, current_a=current, cell_voltages_v=[v], temperatures_c=[sensed_c]
        ).soc_pct
    return est, soc_pct - 100.0 * plant.soc


def _cold(sensed_c: float, **options: float) -> tuple[PackEstimator, float]:
    model = with_resistance_per_degree(shipped_model("NMC"), PER_DEGC)
    return _run(EcmPlant(model, CAP, 0.9, temperature_c=-10.0), model, sensed_c, _drive(1.5), **options)


def test_a_temperature_sensor_reading_warm_in_the_cold_is_learned_away() -> None:
    # Read 2 degC warm at -10 degC, the model's resistance is 13 % low for the whole drive. Unlearned,
    # SOC was 10.5 % low after 1.5 h; learned (from 20 minutes in), 3.1 %.
    est, error_pct = _cold(-8.0)
    ekf = est._ekf
    assert ekf is not None
    assert est.resistance.samples < 20  # the step fit never took over
    assert est.innovation_resistance_factor == pytest.approx(math.exp(PER_DEGC * 2.0), abs=0.03)
    assert ekf.resistance_scale == est.innovation_resistance_factor
    assert abs(error_pct) < 4.0


def test_a_temperature_sensor_reading_right_leaves_the_resistance_alone() -> None:
    est, error_pct = _cold(-10.0)
    assert est.innovation_resistance_factor == pytest.approx(1.0, abs=0.02)
    assert abs(error_pct) < 1.0


def test_a_calibrated_temperature_sensor_learns_nothing() -> None:
    # A caller who vouches for the temperature (sigma 0) gets no correction of it either.
    est, _ = _cold(-8.0, temperature_sensor_sigma_c=0.0)
    assert est.innovation_resistance_factor == 1.0


def test_in_the_warm_the_innovations_are_not_used() -> None:
    # At 25 degC the model's resistance changes about 1 %/degC, so a +-2 degC sensor moves it little,
    # while a cell's own diffusion (slower than the model's pairs) shows in the innovations as 10-20 %
    # more resistance: the innovations would teach the wrong thing, and 25 % more resistance here is
    # the step fit's to find.
    model = shipped_model("NMC")
    est, _ = _run(EcmPlant(model, CAP, 0.9, resistance_scale=1.25), model, 25.0, _drive(1.5))
    assert est.innovation_resistance_factor == 1.0


def test_a_steady_current_teaches_nothing() -> None:
    # Under a steady current the polarisation still changes (the pairs building up, the resistance
    # along SOC), but the model's time constants and its SOC error change the innovation as much: with
    # a sensor 2 degC warm, learning there drove the factor to 0.88 instead of 1.13.
    model = with_resistance_per_degree(shipped_model("NMC"), PER_DEGC)
    plant = EcmPlant(model, CAP, 0.9, temperature_c=-10.0)
    est, _ = _run(plant, model, -8.0, [-CAP / 2] * 540)
    assert est.innovation_resistance_factor == 1.0
