"""The validation sweep: characterise each truth cell, drive it, replay noisy sensors, score.

Sensor errors, initial-SOC errors and capacity errors are applied after the physics run, so one PyBaMM
solve serves every seed of a (cell, protocol, temperature) case.
"""

from __future__ import annotations

import math
import multiprocessing
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from smartbms.estimation.cell_model import CellModel, FloatArray, IntArray
from smartbms.estimation.replay import replay
from smartbms.estimation.soc.coulomb import CoulombCounter
from smartbms.estimation.traces import Trace
from smartbms.estimation.validation.lab_tests import characterize_cell
from smartbms.estimation.validation.metrics import SocMetrics, soc_metrics
from smartbms.estimation.validation.plant import CELLS, TruthRun, _pybamm, simulate, voltage_limits
from smartbms.estimation.validation.protocols import steps_for
from smartbms.estimation.validation.sensors import SensorErrors, measure

CAPACITY_ERRORS_PCT = (0.0, -5.0, -10.0)  # true capacity vs what the estimator is told
INITIAL_ERROR_PCT = 20.0
FULL_SWEEP_TEMPERATURES_C = (-10.0, 0.0, 25.0, 45.0)  # the design note's ambient temperatures
COLD_START_ERROR_PCT = 50.0
ACCEPTANCE_SEEDS = 5


@dataclass(frozen=True)
class RunConfig:
    cells: tuple[str, ...] = ("chen2020", "prada2013", "ecker2015")
    temperatures_c: tuple[float, ...] = (0.0, 25.0)
    protocols: tuple[str, ...] = ("drive", "mixed24h")
    seeds: int = 3
    sample_s: tuple[int, ...] = (1,)
    model: str = "SPMe"
    lfp_protocol_only_24h: bool = True  # LFP targets are about 24 h of mixed use
    resistance_check: bool = True
    jobs: int = 1  # cases solved at once, each in its own process
    # One seed per case is also replayed from a start this far off (the design note's cold start).
    cold_start_error_pct: float | None = None
    # Acceptance runs with a second, finer PyBaMM model: (cell, protocol, degC) each, up to 5 seeds.
    acceptance_model: str | None = None
    acceptance_cases: tuple[tuple[str, str, float], ...] = ()


@dataclass
class CaseResult:
    cell: str
    chemistry: str
    tuned_on: bool
    protocol: str
    temperature_c: float
    seed: int
    sample_s: int
    hours: float
    completed: bool
    initial_error_pct: float
    model: str
    capacity_error_pct: float
    sensors: str
    ekf: SocMetrics
    coulomb: SocMetrics
    coulomb_true_start: SocMetrics
    capacity_true_ah: float
    capacity_learned_ah: float
    capacity_samples: int
    syncs: int
    after_sync_err_pct: list[float] = field(default_factory=list)
    between_sync_max_pct: float = math.nan
    replay_us_per_step: float = math.nan
    # The same run with the voltage sensor's offset removed (None: not replayed so).
    ekf_without_voltage_offset: SocMetrics | None = None


@dataclass
class ResistanceResult:
    cell: str
    temperature_c: float
    contact_ohm: float
    expected_factor: float
    learned_factor: float
    fresh_factor: float


@dataclass
class ValidationReport:
    config: RunConfig
    cases: list[CaseResult]
    resistance: list[ResistanceResult]
    models: dict[str, CellModel]
    seconds: float
    truncated: list[str]


def _charge_voltage(v_max: float) -> float:
    # A typical BMS charge setting a little below the cell's maximum (LFP 3.55 of 3.6, NMC 4.15 of 4.2).
    return v_max - 0.05


def run_validation(config: RunConfig, progress: Callable[[str], None] = print) -> ValidationReport:
    """Run the sweep, ``config.jobs`` cases at a time (each case is one PyBaMM solve and its seeds)."""
    _pybamm()  # fail early, in this process, when the extra is missing
    started = time.perf_counter()
    cases: list[CaseResult] = []
    resistances: list[ResistanceResult] = []
    models: dict[str, CellModel] = {}
    truncated: list[str] = []
    with _pool(config.jobs) as pool:
        temps = tuple(sorted(set(config.temperatures_c) | {25.0}))
        characterised = {key: pool.submit(_characterise_job, key, temps) for key in config.cells}
        for key, future in characterised.items():
            model, lines, failure = future.result()
            _report(lines, progress)
            if model is None:
                truncated.append(failure)
            else:
                models[key] = model
        jobs = []
        for key, model in models.items():
            for protocol in _protocols_for(key, config):
                for temp in config.temperatures_c:
                    jobs.append(pool.submit(_case_job, key, model, protocol, temp, config))
            if config.resistance_check:
                jobs.append(pool.submit(_resistance_job, key, model, config))
        if config.acceptance_model:
            fine = replace(
                config,
                model=config.acceptance_model,
                seeds=min(config.seeds, ACCEPTANCE_SEEDS),
                sample_s=config.sample_s[:1],
                cold_start_error_pct=None,
            )
            for key, protocol, temp in config.acceptance_cases:
                if key in models:
                    jobs.append(pool.submit(_case_job, key, models[key], protocol, temp, fine))
        for future in jobs:
            result, lines, failures = future.result()
            _report(lines, progress)
            truncated += failures
            if isinstance(result, ResistanceResult):
                resistances.append(result)
            else:
                cases += result
    return ValidationReport(config, cases, resistances, models, time.perf_counter() - started, truncated)


def _pool(jobs: int) -> Any:
    if jobs <= 1:
        return _InlinePool()
    # fork: the workers inherit the imported PyBaMM instead of importing it again.
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork"))


class _InlinePool:
    """The executor interface in this process (``jobs=1``): each job runs when its result is asked
    for, so progress is printed as the sweep goes and tracebacks stay simple."""

    def __enter__(self) -> _InlinePool:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def submit(self, fn: Callable[..., Any], *args: Any) -> _Deferred:
        return _Deferred(fn, args)


class _Deferred:
    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self._fn, self._args = fn, args

    def result(self) -> Any:
        return self._fn(*self._args)


def _report(lines: list[str], progress: Callable[[str], None]) -> None:
    for line in lines:
        progress(line)


def _protocols_for(key: str, config: RunConfig) -> tuple[str, ...]:
    protocols = config.protocols
    if CELLS[key].chemistry == "LFP" and config.lfp_protocol_only_24h and "mixed24h" in protocols:
        return ("mixed24h",)
    return protocols


def _characterise_job(key: str, temps: tuple[float, ...]) -> tuple[CellModel | None, list[str], str]:
    t0 = time.perf_counter()
    try:
        model = characterize_cell(CELLS[key], temps)
    except Exception as exc:  # a solver failure on one cell must not lose the others' results
        return (
            None,
            [f"[{key}] characterisation failed: {exc}"],
            (f"{key}: characterisation failed ({type(exc).__name__}: {exc})"),
        )
    line = f"[{key}] characterised in {time.perf_counter() - t0:.0f} s: {model.capacity_ah:.3f} Ah"
    return model, [line], ""


def simulate_protocol(
    key: str, model: CellModel, protocol: str, temp: float, model_name: str = "SPMe"
) -> TruthRun:
    """The truth cell driven through a whole protocol, scaled to its characterised capacity."""
    spec = CELLS[key]
    v_min, v_max = voltage_limits(spec)
    steps, soc0 = steps_for(_pybamm(), protocol, model.capacity_ah, v_min, v_max, _charge_voltage(v_max))
    return simulate(spec, steps, temperature_c=temp, initial_soc=soc0, model=model_name)


def _case_job(
    key: str, model: CellModel, protocol: str, temp: float, config: RunConfig
) -> tuple[list[CaseResult], list[str], list[str]]:
    """One PyBaMM solve of (cell, protocol, temperature) and every seed and sampling period on it."""
    spec = CELLS[key]
    charge_v = _charge_voltage(voltage_limits(spec)[1])
    t0 = time.perf_counter()
    try:
        truth = simulate_protocol(key, model, protocol, temp, config.model)
    except Exception as exc:  # e.g. the solver fails in the cold: report it, go on
        return (
            [],
            [f"[{key}] {protocol} at {temp:g} degC failed: {exc}"],
            [f"{key} {protocol} {temp:g} degC: PyBaMM failed ({type(exc).__name__})"],
        )
    hours = float(truth.trace.time_s[-1] / 3600.0)
    lines = [
        f"[{key}] {protocol} at {temp:g} degC: {hours:.1f} h simulated in "
        f"{time.perf_counter() - t0:.0f} s{'' if truth.completed else ' (stopped early)'}"
    ]
    failures = [] if truth.completed else [f"{key} {protocol} {temp:g} degC stopped after {hours:.1f} h"]
    runs = [
        (seed, sample_s, INITIAL_ERROR_PCT) for seed in range(config.seeds) for sample_s in config.sample_s
    ]
    if config.cold_start_error_pct:
        runs.append((0, config.sample_s[0], config.cold_start_error_pct))
    cases = []
    # NMC drive runs are replayed once more with the voltage sensor's offset removed (all else alike):
    # how much of a miss the offset explains, where a flat stretch of the curve turns millivolts into %.
    offset_check = spec.chemistry != "LFP" and protocol == "drive"
    for seed, sample_s, start_error in runs:
        args = (key, model, truth, protocol, temp, seed, sample_s, charge_v, start_error, config.model)
        case = _score_case(*args)
        if offset_check:
            case.ekf_without_voltage_offset = _score_case(*args, voltage_offset=False).ekf
        cases.append(case)
        lines.append(
            f"    {key} {config.model} {protocol} {temp:g} degC seed {seed} {sample_s:d}s "
            f"start {case.initial_error_pct:+.0f} %: EKF rmse {case.ekf.rmse:.2f} max {case.ekf.max:.2f} "
            f"conv {case.ekf.convergence_s:.0f}s | CC rmse {case.coulomb.rmse_all:.2f} | "
            f"cap {100 * (case.capacity_learned_ah / case.capacity_true_ah - 1):+.1f} %"
        )
    return cases, lines, failures


def _resistance_job(
    key: str, model: CellModel, config: RunConfig
) -> tuple[ResistanceResult, list[str], list[str]]:
    lines: list[str] = []
    v_min, v_max = voltage_limits(CELLS[key])
    result = _resistance_case(key, model, v_min, v_max, _charge_voltage(v_max), config, lines.append)
    return result, lines, []


def _initial_error(soc0_pct: float, seed: int, magnitude: float = INITIAL_ERROR_PCT) -> float:
    sign = 1.0 if seed % 2 == 0 else -1.0
    if soc0_pct + sign * magnitude > 100.0 or soc0_pct + sign * magnitude < 0.0:
        sign = -sign
    return sign * magnitude


@dataclass(frozen=True)
class MeasuredRun:
    """What the BMS of one seeded run sees, and what it is told, before any estimator runs."""

    errors: SensorErrors
    measured: Trace
    indices: IntArray  # the truth samples it saw
    truth_pct: FloatArray  # true SOC at those samples
    capacity_error_pct: float  # true capacity vs the told one
    told_capacity_ah: float
    initial_error_pct: float
    initial_pct: float  # the SOC the estimator is told at the start


def measured_run(
    key: str,
    truth: TruthRun,
    protocol: str,
    temp: float,
    seed: int,
    sample_s: int,
    start_error_pct: float = INITIAL_ERROR_PCT,
    *,
    voltage_offset: bool = True,
) -> MeasuredRun:
    """One seed's sensor errors, noisy samples, told capacity and told start: the same for every
    estimator (and bound) replayed on it. ``voltage_offset`` False: a voltage sensor without its offset,
    every other draw alike."""
    rng = np.random.default_rng(zlib.crc32(f"{key}/{protocol}/{temp}/{seed}/{sample_s}".encode()))
    errors = SensorErrors.draw(rng, truth.capacity_ah, sample_s)
    if not voltage_offset:
        errors = replace(errors, voltage_offset_v=0.0)
    measured, idx = measure(truth.trace, errors, rng)
    truth_pct = 100.0 * truth.soc[idx]
    cap_err = CAPACITY_ERRORS_PCT[seed % len(CAPACITY_ERRORS_PCT)]
    init_err = _initial_error(float(truth_pct[0]), seed, start_error_pct)
    return MeasuredRun(
        errors=errors,
        measured=measured,
        indices=idx,
        truth_pct=truth_pct,
        capacity_error_pct=cap_err,
        told_capacity_ah=truth.capacity_ah / (1.0 + cap_err / 100.0),
        initial_error_pct=init_err,
        initial_pct=float(truth_pct[0] + init_err),
    )


def _score_case(
    key: str,
    model: CellModel,
    truth: TruthRun,
    protocol: str,
    temp: float,
    seed: int,
    sample_s: int,
    charge_v: float,
    start_error_pct: float = INITIAL_ERROR_PCT,
    model_name: str = "SPMe",
    *,
    voltage_offset: bool = True,
) -> CaseResult:
    """One seed's run. ``voltage_offset`` False: the same draws, noise and all, but a voltage sensor
    without its offset."""
    spec = CELLS[key]
    run = measured_run(
        key, truth, protocol, temp, seed, sample_s, start_error_pct, voltage_offset=voltage_offset
    )
    errors, measured, truth_pct = run.errors, run.measured, run.truth_pct
    cap_err, told_capacity = run.capacity_error_pct, run.told_capacity_ah
    init_err, initial = run.initial_error_pct, run.initial_pct
    t0 = time.perf_counter()
    result = replay(measured, model, told_capacity, initial_soc_pct=initial, charge_cell_v=charge_v)
    per_step = (time.perf_counter() - t0) / max(1, len(measured)) * 1e6
    cc = _coulomb(measured, told_capacity, initial)
    cc_true = _coulomb(measured, told_capacity, float(truth_pct[0]))
    t = measured.time_s
    err = result.soc_pct - truth_pct
    after_sync = [float(abs(err[min(k + 1, err.size - 1)])) for k in result.sync_indices]
    # The sample a sync happens on still carries the estimate from before it (the sync is applied after
    # publishing): "between syncs" starts with the first estimate the sync produced.
    first = result.sync_indices[0] + 1 if result.sync_indices else err.size
    between = float(np.max(np.abs(err[first:]))) if first < err.size else math.nan
    est = result.estimator
    return CaseResult(
        cell=key,
        chemistry=spec.chemistry,
        tuned_on=spec.tuned_on,
        protocol=protocol,
        temperature_c=temp,
        seed=seed,
        sample_s=sample_s,
        hours=float((t[-1] - t[0]) / 3600.0),
        completed=truth.completed,
        initial_error_pct=init_err,
        model=model_name,
        capacity_error_pct=cap_err,
        sensors=errors.describe(truth.capacity_ah),
        ekf=soc_metrics(t, truth_pct, result.soc_pct, result.soc_sigma_pct),
        coulomb=soc_metrics(t, truth_pct, cc),
        coulomb_true_start=soc_metrics(t, truth_pct, cc_true),
        capacity_true_ah=truth.capacity_ah,
        capacity_learned_ah=est.capacity.capacity_ah,
        capacity_samples=est.capacity.samples,
        syncs=len(result.sync_indices),
        after_sync_err_pct=after_sync,
        between_sync_max_pct=between,
        replay_us_per_step=per_step,
    )


def _coulomb(measured: Trace, capacity_ah: float, initial_pct: float) -> np.ndarray:
    counter = CoulombCounter(capacity_ah, initial_pct)
    out = np.empty(len(measured))
    dt = np.diff(measured.time_s, prepend=measured.time_s[0])
    for k, (d, i) in enumerate(zip(dt.tolist(), measured.current_a.tolist(), strict=True)):
        out[k] = counter.update(d, i) if d > 0 else counter.soc_pct
    return out


def _resistance_case(
    key: str,
    model: CellModel,
    v_min: float,
    v_max: float,
    charge_v: float,
    config: RunConfig,
    progress: Callable[[str], None],
) -> ResistanceResult:
    """A cell with an added contact resistance (+30 % of R0): does the RLS see it?"""
    pybamm = _pybamm()
    spec = CELLS[key]
    r0_table = model.rc_tables_at(25.0)[0]
    r0_mid = float(np.mean(np.interp(np.linspace(0.2, 0.8, 13), model.soc_grid, r0_table)))
    contact = 0.3 * r0_mid
    steps, soc0 = steps_for(pybamm, "drive", model.capacity_ah, v_min, v_max, charge_v)
    steps = steps[:1]  # the first drive section has plenty of current steps
    factors = []
    for ohm in (0.0, contact):
        truth = simulate(
            spec, steps, temperature_c=25.0, initial_soc=soc0, model=config.model, contact_resistance_ohm=ohm
        )
        rng = np.random.default_rng(7)
        errors = SensorErrors.draw(rng, truth.capacity_ah, 1)
        measured, _ = measure(truth.trace, errors, rng)
        result = replay(
            measured, model, truth.capacity_ah, initial_soc_pct=100.0 * soc0, charge_cell_v=charge_v
        )
        factors.append(result.estimator.resistance_factor)
    expected = 1.0 + contact / r0_mid
    progress(
        f"[{key}] resistance: fresh {factors[0]:.3f}, +{1000 * contact:.2f} mOhm -> {factors[1]:.3f} "
        f"(expected {expected:.3f})"
    )
    return ResistanceResult(key, 25.0, contact, expected, factors[1], factors[0])
