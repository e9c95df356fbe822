"""How close could any SOC estimator get? A bound from the cell's exact physics.

The NMC target asks for SOC within 2 % of the truth 5 minutes after a start 20 % wrong. Whether the
sensors carry that much information at all is a question apart from how good our estimator is. This
module answers it for the validation's own runs with the strongest estimator we can write down: a Bayes
estimator that knows the truth cell's exact physics (the PyBaMM plant itself), the true current and
temperature and the voltage noise's level. It does not know the voltage sensor's offset (uniform within
the sensors' range, as it is drawn) or the initial SOC (a flat prior, far wider than any posterior here).

From the voltages up to a horizon it forms the posterior of the initial SOC (the charge since is known
exactly, so the posterior of the present SOC is the same shifted). The largest posterior mass any
interval of +-2 % holds is the best chance any estimator has of being within 2 % at the horizon; the
sum of the shortfalls over the runs is how many runs the best possible estimator is expected to miss.
A miss the bound does not expect is the estimator's (its cell model, its tuning), not the sensors'.

The exact-physics estimator knows the current at every second, also where the BMS samples every 10 s
(it then gets only each window's mean): a bound may be generous, never the other way. How much that
knowledge is worth is measured beside it: the same estimator fed only the window means of the true
current (held over each window; the current sensor's errors aside), with each reading's error from
that (the voltage the held current puts off the true one) added to its noise at its true size, though
not its sign. That, too, is generous (a real estimator could only guess the size), so the misses it
expects are still a floor.

Between the two stands the same Bayes estimator with our characterised circuit model in place of the
exact physics, fed what the BMS measured (current, with its sensor's errors and at its sampling period;
temperature with its offset) and with no allowance for the model's own errors: its error shows what our
model costs when used alone; the rest of our filter's error is how it uses the model (its trust, its
start prior, its pace).

Readings are modelled as the truth plus the offset plus Gaussian noise of the drawn level and of the
1 mV rounding (variance q^2/12); the offset is integrated out in closed form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp, ndtr

from smartbms.estimation.cell_model import CellModel, FloatArray
from smartbms.estimation.replay import replay
from smartbms.estimation.traces import Trace
from smartbms.estimation.validation.ecm_plant import EcmPlant
from smartbms.estimation.validation.plant import CELLS, TruthRun, _pybamm, simulate
from smartbms.estimation.validation.runner import measured_run
from smartbms.estimation.validation.sensors import (
    VOLTAGE_OFFSET_MAX_V,
    VOLTAGE_RESOLUTION_V,
    held_current,
)

WITHIN_PCT = 2.0  # the target's band
START_SPAN = 0.10  # the flat prior on the initial SOC: the truth +- this (fraction)
START_STEP = 0.0025  # its grid
# Posterior mass allowed at the prior's edges: more means the prior, not the data, bounded the answer.
EDGE_MASS_LIMIT = 1e-3


def initial_soc_posterior(
    voltages_by_start: FloatArray,
    measured_v: FloatArray,
    noise_var_v2: float | FloatArray,
    offset_max_v: float,
) -> FloatArray:
    """Posterior weights of each candidate start (flat prior), the offset uniform in +-offset_max_v.

    ``voltages_by_start`` (starts x samples): what each candidate cell would show without sensor
    errors; ``measured_v``: the readings; ``noise_var_v2``: their noise variance, one for all or one
    per reading. Per start, with residuals r = measured - predicted and weights u = 1 / variance, the
    likelihood integrated over the offset d is exp(-(sum u r^2 - U m^2) / 2) *
    [Phi((w - m)/s) - Phi((-w - m)/s)], with U = sum u, m = sum u r / U (the offset's best fit) and
    s = sqrt(1 / U).
    """
    r = measured_v[None, :] - voltages_by_start
    u = np.broadcast_to(1.0 / np.asarray(noise_var_v2, dtype=np.float64), (r.shape[1],))
    total = float(u.sum())
    mean = (r * u).sum(axis=1) / total
    spread = ((r - mean[:, None]) ** 2 * u).sum(axis=1)
    s = math.sqrt(1.0 / total)
    inside = ndtr((offset_max_v - mean) / s) - ndtr((-offset_max_v - mean) / s)
    with np.errstate(divide="ignore"):
        log_like = -spread / 2.0 + np.log(inside)
    if not np.isfinite(log_like).any():
        raise ValueError("no candidate start explains the readings with an offset inside the sensor's range")
    weights: FloatArray = np.exp(log_like - logsumexp(log_like))
    return weights


def best_interval_mass(starts: FloatArray, weights: FloatArray, half_width: float) -> tuple[float, float]:
    """(largest posterior mass within +-half_width of one point, that point), over the grid's points."""
    best, at = 0.0, float(starts[0])
    for centre in starts:
        mass = float(weights[np.abs(starts - centre) <= half_width + 1e-12].sum())
        if mass > best:
            best, at = mass, float(centre)
    return best, at


def _summarise(shifts: FloatArray, weights: FloatArray) -> tuple[float, float, float, float]:
    """(best chance of a +-2 % interval, posterior mean, its sd, mass at the prior's two ends)."""
    chance = min(1.0, best_interval_mass(shifts, weights, WITHIN_PCT / 100.0)[0])
    mean = float(weights @ shifts)
    sd = math.sqrt(float(weights @ (shifts - mean) ** 2))
    return chance, mean, sd, float(weights[0] + weights[-1])


@dataclass(frozen=True)
class BoundRun:
    seed: int
    sample_s: int
    voltage_offset_mv: float
    best_chance: float  # largest posterior mass of a +-2 % interval: the best any estimator can hope for
    posterior_mean_pct: float  # against the truth
    posterior_sd_pct: float
    edge_mass: float  # posterior mass at the prior's two ends, the larger of both bounds' (must stay tiny)
    # The same, knowing the current only as the BMS samples it (the same as above at 1 s sampling).
    sampled_best_chance: float
    sampled_posterior_sd_pct: float
    circuit_bayes_error_pct: float  # the same Bayes estimator with our circuit model: its posterior mean
    estimator_error_pct: float  # our estimator's error at the horizon, same run


@dataclass(frozen=True)
class BoundCase:
    cell: str
    protocol: str
    temperature_c: float
    horizon_s: float
    plant_check_mv: float  # the zero-shift candidate against the truth run: the plant reproduces itself
    runs: tuple[BoundRun, ...]

    @property
    def expected_misses(self) -> float:
        return sum(1.0 - r.best_chance for r in self.runs)

    @property
    def sampled_expected_misses(self) -> float:
        return sum(1.0 - r.sampled_best_chance for r in self.runs)

    @property
    def estimator_misses(self) -> int:
        return sum(abs(r.estimator_error_pct) > WITHIN_PCT for r in self.runs)

    @property
    def circuit_bayes_misses(self) -> int:
        return sum(abs(r.circuit_bayes_error_pct) > WITHIN_PCT for r in self.runs)


def candidate_voltages(
    key: str,
    truth: TruthRun,
    temperature_c: float,
    horizon_s: float,
    model_name: str = "SPMe",
    sample_s: int = 1,
) -> tuple[FloatArray, FloatArray]:
    """(start shifts, voltages at the truth's sample times up to the horizon) for every shift of the
    grid: the truth cell run again from a shifted initial SOC under the same current; with ``sample_s``
    above 1, under the current a BMS sampling that often knows (each window's mean, held over it)."""
    pybamm = _pybamm()
    keep = truth.trace.time_s - truth.trace.time_s[0] <= horizon_s
    t = truth.trace.time_s[keep]
    current = held_current(truth.trace.current_a, sample_s)[keep]
    # PyBaMM's current steps take discharge as positive.
    profile = np.column_stack([t - t[0], -current])
    step = pybamm.step.current(profile, period=float(np.min(np.diff(t))))
    soc0 = float(truth.soc[0])
    shifts = np.arange(-START_SPAN, START_SPAN + START_STEP / 2, START_STEP)
    shifts = shifts[(soc0 + shifts > 0.0) & (soc0 + shifts < 1.0)]
    rows = []
    for shift in shifts:
        run = simulate(
            CELLS[key], [step], temperature_c=temperature_c, initial_soc=soc0 + float(shift), model=model_name
        )
        rows.append(np.interp(t - t[0], run.trace.time_s - run.trace.time_s[0], run.trace.voltage_v))
    return shifts, np.array(rows)


def circuit_voltages(
    model: CellModel, start_soc: float, shifts: FloatArray, measured: Trace, run_start_s: float
) -> FloatArray:
    """Voltages our circuit model predicts for each start shift at the samples of ``measured``, from the
    current and temperature the BMS measured (at 10 s sampling: the window's mean current, as the
    estimator gets it; the temperature with its sensor's offset). ``run_start_s``: when the start SOC
    held (the first sample may come one period later)."""
    current = measured.current_a.tolist()
    dt = np.diff(measured.time_s, prepend=run_start_s).tolist()
    temperature = float(np.median(measured.temperature_c))
    rows = np.empty((shifts.size, len(measured)))
    for j, shift in enumerate(shifts.tolist()):
        plant = EcmPlant(model, model.capacity_ah, start_soc + shift, temperature_c=temperature)
        rows[j] = [plant.step(i, d) for i, d in zip(current, dt, strict=True)]
    return rows


def bound_case(
    key: str,
    model: CellModel,
    truth: TruthRun,
    protocol: str,
    temperature_c: float,
    seeds: int,
    sample_periods_s: tuple[int, ...],
    horizon_s: float,
    charge_cell_v: float,
    model_name: str = "SPMe",
) -> BoundCase:
    """The bound and our estimator's error at the horizon, for each seeded run of one truth run."""
    shifts, candidates = candidate_voltages(key, truth, temperature_c, horizon_s, model_name)
    n_truth = candidates.shape[1]
    zero = int(np.argmin(np.abs(shifts)))
    check_mv = 1000.0 * float(np.max(np.abs(candidates[zero] - truth.trace.voltage_v[:n_truth])))
    sampled = {
        period: candidate_voltages(key, truth, temperature_c, horizon_s, model_name, period)[1]
        for period in sample_periods_s
        if period > 1
    }
    start_soc, start_s = float(truth.soc[0]), float(truth.trace.time_s[0])
    runs = []
    for seed in range(seeds):
        for sample_s in sample_periods_s:
            run = measured_run(key, truth, protocol, temperature_c, seed, sample_s)
            seen = run.indices < n_truth
            noise_var = run.errors.voltage_noise_v**2 + VOLTAGE_RESOLUTION_V**2 / 12.0
            readings = run.measured.voltage_v[seen]
            seen_at = run.indices[seen]
            weights = initial_soc_posterior(candidates[:, seen_at], readings, noise_var, VOLTAGE_OFFSET_MAX_V)
            k = int(np.count_nonzero(seen))
            seen_run = run.measured.slice(0, k)
            forward = circuit_voltages(model, start_soc, shifts, seen_run, start_s)
            circuit = initial_soc_posterior(forward, readings, noise_var, VOLTAGE_OFFSET_MAX_V)
            chance, mean, sd, edge = _summarise(shifts, weights)
            sampled_chance, sampled_sd = chance, sd
            if sample_s in sampled:
                held = sampled[sample_s][:, seen_at]
                # What the held current puts each reading off by, at the true start: its size joins the noise.
                off_by = candidates[zero, seen_at] - held[zero]
                held_var = noise_var + off_by**2
                held_weights = initial_soc_posterior(held, readings, held_var, VOLTAGE_OFFSET_MAX_V)
                sampled_chance, _, sampled_sd, held_edge = _summarise(shifts, held_weights)
                edge = max(edge, held_edge)
            ours = replay(
                seen_run,
                model,
                run.told_capacity_ah,
                initial_soc_pct=run.initial_pct,
                charge_cell_v=charge_cell_v,
            )
            runs.append(
                BoundRun(
                    seed=seed,
                    sample_s=sample_s,
                    voltage_offset_mv=1000.0 * run.errors.voltage_offset_v,
                    best_chance=chance,
                    posterior_mean_pct=100.0 * mean,
                    posterior_sd_pct=100.0 * sd,
                    edge_mass=edge,
                    sampled_best_chance=sampled_chance,
                    sampled_posterior_sd_pct=100.0 * sampled_sd,
                    circuit_bayes_error_pct=100.0 * float(circuit @ shifts),
                    estimator_error_pct=float(ours.soc_pct[-1] - run.truth_pct[k - 1]),
                )
            )
    return BoundCase(key, protocol, temperature_c, horizon_s, check_mv, tuple(runs))
