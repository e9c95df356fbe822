"""Small PyBaMM checks of the validation harness (the full sweep is `smartbms validate`)."""

from __future__ import annotations

import os

import numpy as np
import pytest

pybamm = pytest.importorskip("pybamm")
os.environ.setdefault("PYBAMM_DISABLE_TELEMETRY", "true")

from smartbms.estimation import shipped_model  # noqa: E402
from smartbms.estimation.replay import replay  # noqa: E402
from smartbms.estimation.validation.metrics import soc_metrics  # noqa: E402
from smartbms.estimation.validation.plant import CELLS, DRIVE_CYCLE_DIR, drive_cycle, simulate  # noqa: E402
from smartbms.estimation.validation.runner import _score_case  # noqa: E402
from smartbms.estimation.validation.sensors import SensorErrors, measure  # noqa: E402


@pytest.fixture(scope="module")
def udds_run():
    if not (DRIVE_CYCLE_DIR / "UDDS.csv").exists():
        pytest.skip("drive cycles not found; set SMARTBMS_DRIVE_CYCLES")
    spec = CELLS["chen2020"]
    steps = [pybamm.step.current(drive_cycle("UDDS", 1.0)[:900], period=1.0)]
    return simulate(spec, steps, temperature_c=25.0, initial_soc=0.8, model="SPM")


def test_truth_soc_follows_the_charge_balance(udds_run) -> None:
    trace = udds_run.trace
    assert udds_run.completed and len(trace) >= 890
    counted = 0.8 + np.concatenate(([0.0], np.cumsum(trace.current_a[:-1] * np.diff(trace.time_s)))) / (
        3600 * udds_run.capacity_ah
    )
    assert np.max(np.abs(counted - udds_run.soc)) < 2e-3
    assert udds_run.capacity_ah == pytest.approx(5.15, rel=0.02)  # measured at C/50, not the 5.0 Ah nameplate


def test_shipped_nmc_model_tracks_a_pybamm_cell_with_sensor_errors(udds_run) -> None:
    rng = np.random.default_rng(11)
    errors = SensorErrors.draw(rng, udds_run.capacity_ah)
    measured, idx = measure(udds_run.trace, errors, rng)
    result = replay(measured, shipped_model("NMC"), udds_run.capacity_ah, initial_soc_pct=60.0)
    metrics = soc_metrics(measured.time_s, 100 * udds_run.soc[idx], result.soc_pct, result.soc_sigma_pct)
    assert metrics.convergence_s < 300  # from 20 % wrong
    assert metrics.rmse < 2.0


def test_a_replay_without_the_voltage_offset_keeps_every_other_draw(udds_run) -> None:
    model = shipped_model("NMC")
    args = ("chen2020", model, udds_run, "drive", 25.0, 3, 1, 4.15)
    drawn = _score_case(*args)
    calibrated = _score_case(*args, voltage_offset=False)
    parts, calibrated_parts = drawn.sensors.split(", "), calibrated.sensors.split(", ")
    offset_at = next(k for k, p in enumerate(parts) if p.startswith("V offset"))
    assert parts[offset_at] != "V offset +0.0 mV"
    assert calibrated_parts[offset_at] == "V offset +0.0 mV"
    del parts[offset_at], calibrated_parts[offset_at]
    assert parts == calibrated_parts  # the current, temperature and noise draws are the same
    assert calibrated.ekf != drawn.ekf


def test_the_information_bound_finds_the_start_the_exact_physics_shows(udds_run, monkeypatch) -> None:
    from smartbms.estimation.validation import information_bound

    monkeypatch.setattr(information_bound, "START_SPAN", 0.03)
    monkeypatch.setattr(information_bound, "START_STEP", 0.005)
    case = information_bound.bound_case(
        "chen2020", shipped_model("NMC"), udds_run, "drive", 25.0, 2, (1, 10), 120.0, 4.15, model_name="SPM"
    )
    assert case.plant_check_mv < 0.01  # the zero-shift candidate is the truth run again
    assert len(case.runs) == 4
    for run in case.runs:
        # Two minutes of a drive cycle with the cell's own physics pin the start despite a +-5 mV offset.
        assert run.best_chance > 0.95
        assert abs(run.posterior_mean_pct) < 0.5
        assert np.isfinite(run.circuit_bayes_error_pct) and np.isfinite(run.estimator_error_pct)
        if run.sample_s == 1:
            # The BMS reads every second's current: knowing it as the BMS samples it is the same.
            assert run.sampled_best_chance == run.best_chance
            assert run.sampled_posterior_sd_pct == run.posterior_sd_pct
        else:
            # Only the 10 s means: a posterior of its own, and the readings between steps still pin it.
            assert run.sampled_posterior_sd_pct != run.posterior_sd_pct
            assert run.sampled_best_chance > 0.9
    assert case.expected_misses < 0.1
    # The held current reaches the plant: inside the drive's steps the readings move by tens of mV.
    shifts, exact = information_bound.candidate_voltages("chen2020", udds_run, 25.0, 120.0, "SPM")
    _, held = information_bound.candidate_voltages("chen2020", udds_run, 25.0, 120.0, "SPM", sample_s=10)
    zero = int(np.argmin(np.abs(shifts)))
    assert np.max(np.abs(held[zero] - exact[zero])) > 0.01
