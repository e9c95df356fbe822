"""The exact-physics bound's Bayes arithmetic, on candidate cells whose answer is known in closed form."""

from __future__ import annotations

import numpy as np
import pytest

from smartbms.estimation.validation.information_bound import best_interval_mass, initial_soc_posterior

SHIFTS = np.arange(-0.10, 0.10 + 1e-9, 0.0025)
SLOPE_V = 0.17  # 1.7 mV per % SOC: Ecker2015's flat middle
OFFSET_MAX_V = 5e-3
NOISE_VAR = 1.5e-3**2


def flat_curve(samples: int) -> np.ndarray:
    """Candidates that differ only by a constant: SOC and the sensor's offset cannot be told apart."""
    return 3.7 + SLOPE_V * SHIFTS[:, None] + np.zeros((1, samples))


def test_an_offset_the_voltage_cannot_separate_spreads_the_posterior_over_its_range() -> None:
    rng = np.random.default_rng(3)
    candidates = flat_curve(300)
    readings = candidates[np.argmin(np.abs(SHIFTS))] + rng.normal(0, 1.5e-3, 300)
    weights = initial_soc_posterior(candidates, readings, NOISE_VAR, OFFSET_MAX_V)
    # Every start within +-5 mV / 1.7 mV per % = +-2.9 % explains the readings equally well.
    inside = np.abs(SLOPE_V * SHIFTS) < OFFSET_MAX_V - 0.5e-3
    assert weights[inside].min() > 0.8 * weights[inside].max()
    assert weights[np.abs(SLOPE_V * SHIFTS) > OFFSET_MAX_V + 1e-3].sum() < 1e-3
    chance, centre = best_interval_mass(SHIFTS, weights, 0.02)
    # A +-2 % interval holds about 4 of the window's 5.9 %: no estimator can be sure here.
    assert chance == pytest.approx(4.0 / 5.88, abs=0.05)
    assert abs(centre) <= 0.01


def test_a_start_that_shapes_the_response_is_found_despite_the_offset() -> None:
    rng = np.random.default_rng(4)
    t = np.arange(300.0)
    # The response's shape depends on the start (as resistance does on SOC): the offset cannot mimic it.
    candidates = flat_curve(t.size) + 0.2 * SHIFTS[:, None] * (t[None, :] / 300.0)
    true_shift = 0.03
    j = int(np.argmin(np.abs(SHIFTS - true_shift)))
    readings = candidates[j] + 4e-3 + rng.normal(0, 1.5e-3, t.size)
    weights = initial_soc_posterior(candidates, readings, NOISE_VAR, OFFSET_MAX_V)
    chance, centre = best_interval_mass(SHIFTS, weights, 0.02)
    assert chance > 0.99
    assert float(weights @ SHIFTS) == pytest.approx(true_shift, abs=0.005)
    assert abs(centre - true_shift) <= 0.02


def test_an_offset_outside_the_sensors_range_rules_a_start_out() -> None:
    candidates = flat_curve(50)
    # The readings sit 8 mV above the zero-shift candidate: only starts >= 1.8 % up fit within +-5 mV.
    readings = candidates[np.argmin(np.abs(SHIFTS))] + 8e-3
    weights = initial_soc_posterior(candidates, readings, NOISE_VAR, OFFSET_MAX_V)
    assert weights[SHIFTS < 0.01].sum() < 1e-6
    assert float(weights @ SHIFTS) == pytest.approx(8e-3 / SLOPE_V, abs=0.003)


def test_readings_no_candidate_explains_are_an_error_not_a_posterior() -> None:
    candidates = flat_curve(20)
    with pytest.raises(ValueError, match="no candidate start"):
        initial_soc_posterior(candidates, candidates[0] + 1.0, NOISE_VAR, OFFSET_MAX_V)


def test_best_interval_mass_picks_the_densest_window() -> None:
    grid = np.array([0.0, 0.01, 0.02, 0.03, 0.04, 0.05])
    weights = np.array([0.3, 0.0, 0.0, 0.2, 0.25, 0.25])
    chance, centre = best_interval_mass(grid, weights, 0.01)
    assert chance == pytest.approx(0.7)
    assert centre == pytest.approx(0.04)


def test_one_noise_for_all_readings_or_one_each_give_the_same_posterior() -> None:
    rng = np.random.default_rng(5)
    candidates = flat_curve(40) + 0.05 * SHIFTS[:, None] * np.linspace(0.0, 1.0, 40)[None, :]
    readings = candidates[30] + 2e-3 + rng.normal(0, 1.5e-3, 40)
    shared = initial_soc_posterior(candidates, readings, NOISE_VAR, OFFSET_MAX_V)
    each = initial_soc_posterior(candidates, readings, np.full(40, NOISE_VAR), OFFSET_MAX_V)
    assert each == pytest.approx(shared, rel=1e-9, abs=1e-15)


def test_a_reading_known_to_be_far_off_weighs_nothing() -> None:
    rng = np.random.default_rng(6)
    t = np.arange(100.0)
    candidates = flat_curve(t.size) + 0.2 * SHIFTS[:, None] * (t[None, :] / 100.0)
    readings = candidates[50] + rng.normal(0, 1.5e-3, t.size)
    clean = initial_soc_posterior(candidates[:, 1:], readings[1:], NOISE_VAR, OFFSET_MAX_V)
    # The first reading 60 mV off (a current step inside its window), with that much variance declared:
    readings[0] += 0.06
    variance = np.full(t.size, NOISE_VAR)
    variance[0] += 0.06**2 * 1e6
    weighed = initial_soc_posterior(candidates, readings, variance, OFFSET_MAX_V)
    assert weighed == pytest.approx(clean, abs=1e-6)
    # Counted as ordinary noise, the same reading drags the answer away.
    dragged = initial_soc_posterior(candidates, readings, NOISE_VAR, OFFSET_MAX_V)
    assert abs(float(dragged @ SHIFTS) - float(clean @ SHIFTS)) > 0.005
