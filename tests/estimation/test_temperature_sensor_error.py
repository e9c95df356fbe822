"""A temperature sensor's offset (the design note's +-2 degC) moves every resistance the model reads; on
a cell whose resistance climbs steeply into the cold, the voltage must be trusted less for it."""

from __future__ import annotations

import math

import pytest

from smartbms.estimation import PackEstimator, shipped_model

from .ecm_plant import EcmPlant, with_resistance_per_degree, worst_soc_error_pct

CAP = 50.0
PER_DEGC = 0.06  # like the held-out Ecker2015 cell in the cold


def _worst_error_pct(sensor_offset_c: float, **estimator_options: float) -> float:
    """Worst SOC error over an hour at C/2.5 from 60 % at -10 degC, sampled every 10 s (no clean
    current steps to learn the resistance from), with the temperature sensor ``sensor_offset_c`` off."""
    model = with_resistance_per_degree(shipped_model("NMC"), PER_DEGC)
    plant = EcmPlant(model, CAP, 0.6, temperature_c=-10.0)
    return worst_soc_error_pct(
        model,
        plant,
        [-CAP / 2.5] * 360,
        dt_s=10.0,
        sensed_temperature_c=-10.0 + sensor_offset_c,
        **estimator_options,
    )


def test_a_temperature_sensor_reading_warm_widens_the_voltage_error() -> None:
    # Read 2 degC warm, the model's resistance is 11 % low. Trusting the voltage as if the temperature
    # were exact (a caller claiming a perfect sensor) put SOC 10.5 % off within the hour; counting the
    # sensor's error, 7.4 %.
    assert _worst_error_pct(2.0) < 9.0
    assert _worst_error_pct(2.0, temperature_sensor_sigma_c=0.0) > 9.0


@pytest.mark.parametrize("sigma_c", [-0.5, math.nan, math.inf, 25.0])
def test_an_impossible_temperature_sensor_sigma_is_refused(sigma_c: float) -> None:
    with pytest.raises(ValueError, match="temperature_sensor_sigma_c"):
        PackEstimator(chemistry="NMC", cells_series=4, capacity_ah=CAP, temperature_sensor_sigma_c=sigma_c)


@pytest.mark.parametrize("offset_c", [0.0, -2.0])
def test_a_correct_or_cold_reading_temperature_sensor_keeps_soc_close(offset_c: float) -> None:
    assert _worst_error_pct(offset_c) < 1.0
