"""The validation results as Markdown (``docs/validation.md``): figures first, then how they were made."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable

from smartbms.estimation.validation.runner import INITIAL_ERROR_PCT, CaseResult, ValidationReport

COMMAND = ".venv/bin/smartbms validate --write docs/validation.md"
RUNS_NAMED = 4  # runs named under a missed target

# The convergence misses split into what the sensors force and what our model and filter add.
BOUND_NOTE = (
    "How much of a convergence miss the sensors themselves force (a Bayes estimator with the cell's exact "
    "physics), how much our circuit model adds and how much our filter: `docs/validation_bound.md`, "
    "from `benchmarks/estimation_information_bound.py`."
)


def _f(x: float, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if math.isinf(x):
        return "never"
    return f"{x:.{digits}f}"


def _mean(xs: Iterable[float]) -> float:
    vals = [x for x in xs if not math.isnan(x)]
    return statistics.fmean(vals) if vals else math.nan


def _max(xs: Iterable[float]) -> float:
    vals = [x for x in xs if not math.isnan(x)]
    return max(vals) if vals else math.nan


def _groups(cases: list[CaseResult]) -> dict[tuple[str, str, float, int], list[CaseResult]]:
    out: dict[tuple[str, str, float, int], list[CaseResult]] = defaultdict(list)
    for c in cases:
        out[(c.cell, c.protocol, c.temperature_c, c.sample_s)].append(c)
    return dict(sorted(out.items()))


def _soc_table(cases: list[CaseResult]) -> list[str]:
    lines = [
        "| cell | protocol | °C | sample | h | EKF RMSE | MAE | P95 | max | conv. s | RMSE all | 2σ cover | "
        "drift %/h | <10 % RMSE | CC RMSE all | CC\\* RMSE | CC\\* drift %/h |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (cell, protocol, temp, sample), cs in _groups(cases).items():
        tag = cell if cs[0].tuned_on else f"{cell} (held out)"
        lines.append(
            f"| {tag} | {protocol} | {temp:g} | {sample} s | {_f(cs[0].hours, 1)} | "
            f"{_f(_mean(c.ekf.rmse for c in cs))} | {_f(_mean(c.ekf.mae for c in cs))} | "
            f"{_f(_mean(c.ekf.p95 for c in cs))} | {_f(_max(c.ekf.max for c in cs))} | "
            f"{_f(max(c.ekf.convergence_s for c in cs), 0)} | {_f(_mean(c.ekf.rmse_all for c in cs))} | "
            f"{_f(100 * _mean(c.ekf.coverage_2sigma for c in cs), 0)} % | "
            f"{_f(_mean(c.ekf.drift_pct_per_h for c in cs), 3)} | "
            f"{_f(_mean(c.ekf.low_soc_rmse for c in cs))} | "
            f"{_f(_mean(c.coulomb.rmse_all for c in cs))} | "
            f"{_f(_mean(c.coulomb_true_start.rmse_all for c in cs))} | "
            f"{_f(_mean(c.coulomb_true_start.drift_pct_per_h for c in cs), 3)} |"
        )
    return lines


def _split(report: ValidationReport) -> tuple[list[CaseResult], list[CaseResult], list[CaseResult]]:
    """(the sweep, its cold-start replays, the acceptance runs with the finer model)."""
    model = report.config.model
    sweep = [c for c in report.cases if c.model == model and abs(c.initial_error_pct) == INITIAL_ERROR_PCT]
    cold = [c for c in report.cases if c.model == model and abs(c.initial_error_pct) != INITIAL_ERROR_PCT]
    fine = [c for c in report.cases if c.model != model]
    return sweep, cold, fine


def render(report: ValidationReport, command: str = COMMAND) -> str:
    cfg = report.config
    main, cold, fine = _split(report)
    lines = [
        "# State estimation: validation against PyBaMM",
        "",
        f"Regenerate with `{command}` (about {report.seconds / 60:.0f} min on this machine, "
        f"{cfg.jobs} case{'s' if cfg.jobs != 1 else ''} at a time). "
        "`--full` is the design note's sweep: three cells, −10/0/25/45 °C, 20 seeds, 1 s and 10 s sampling.",
        "",
        f"This run: cells {', '.join(cfg.cells)}; ambient {', '.join(f'{t:g}' for t in cfg.temperatures_c)} "
        "°C; "
        f"{cfg.seeds} seeds per case; sampling {', '.join(f'{s} s' for s in cfg.sample_s)}; PyBaMM "
        f"{cfg.model} "
        "(isothermal at ambient, IDAKLU rtol 1e-6 / atol 1e-8).",
        "",
        "Each cell was first characterised with `smartbms characterize` from simulated lab tests (C/20 "
        "discharge and "
        "charge at 25 °C, an HPPC-style pulse test at every temperature of the run that steps back up in "
        "long charge steps); the estimator never saw "
        "PyBaMM's parameters. Per seed: current gain ±1 %, offset C/1000–C/100 of random sign, noise C/500; "
        "voltage "
        "noise 1–2 mV, offset ±5 mV, 1 mV quantisation; temperature offset ±2 °C; initial SOC 20 % wrong; "
        "capacity told to the estimator 0 %, +5.3 % or +11 % above the truth (the cell has 0/−5/−10 % vs "
        "the model). "
        "Truth SOC is counted from PyBaMM's discharge capacity over the capacity measured at C/50 between "
        "the "
        "voltage limits.",
        "",
        "Tuned on: chen2020 (NMC) and prada2013 (LFP). Never tuned on: "
        + ", ".join(c for c in cfg.cells if c not in ("chen2020", "prada2013"))
        + ". Two filter settings were chosen looking at the held-out cell's runs, so for them it is no "
        "longer a clean hold-out: the NMC counting scale's prior σ 10 % (was 5 %; the design note's "
        "capacity range asks for it, and its warm runs, told 11 % too much, had learned only 3 % of it), "
        "and the resistance learned from the voltage's innovations while the step fit has too few steps "
        "(at 10 s sampling, most of a drive), used only where a "
        "±2 °C sensor offset can move the resistance by 12 % or more (in its warm runs, where an offset "
        "moves it by 5–11 %, the cell's own diffusion showed as 7–20 % more resistance). Two "
        "characterisation fixes were found by "
        "looking at its fitted model: a slow time constant longer than the rest that shows it is no "
        "longer extrapolated, and a rest still moving at its end (its cold pulse tests) has its slow pair "
        "fitted towards the slow curves' OCV. Both are generic and leave the tuned cells' models "
        "unchanged. Three filter rules were found on its cold runs. Model errors count as independent once "
        "per the slow pair's time constant where that is longer than 5 minutes: the rule has no tuned "
        "number (twice that time measured better on this cell and was not taken), and it leaves the "
        "tuned NMC cell's runs unchanged. The model error follows the polarisation the model predicts, "
        "which the RC pairs still hold after a load stops, not the current alone: no new number, and the "
        "tuned cells' figures moved by a few hundredths either way. The temperature sensor's offset "
        "(the design note's ±2 °C as a σ) moves every resistance the model reads, by the model's own "
        "change per °C, and counts once an hour: the hour is a choice, not swept; the tuned NMC cell "
        "is unchanged and LFP's worst error between syncs grew (see the targets).",
        "",
        "## SOC error (% SOC), EKF vs coulomb counting from the same runs",
        "",
        "RMSE/MAE/P95/max are after convergence: from the first time the error is within 2 % and stays "
        "there for 5 min; later excursions count. 'RMSE all' covers the whole run including the wrong "
        "start. CC = coulomb counting with the same sensors, capacity and (wrong) start; CC\\* = coulomb "
        "counting started at the true SOC (its best case). Drift is the slope of the error over the run. "
        "Means over seeds, except max (worst seed) and convergence (worst seed).",
        "",
    ]
    lines += _soc_table(main)
    lines += [
        "",
        "## Full-charge synchronisation (LFP and all runs with a CC-CV charge)",
        "",
        "| cell | protocol | °C | syncs per run | max error right after a sync | max error from first sync "
        "to end |",
        "|---|---|---|---|---|---|",
    ]
    for (cell, protocol, temp, _sample), cs in _groups(main).items():
        if not any(c.syncs for c in cs):
            continue
        lines.append(
            f"| {cell} | {protocol} | {temp:g} | {_f(_mean(float(c.syncs) for c in cs), 1)} | "
            f"{_f(_max(max(c.after_sync_err_pct, default=math.nan) for c in cs))} | "
            f"{_f(_max(c.between_sync_max_pct for c in cs))} |"
        )
    lines += [
        "",
        "## Capacity learning (SOH)",
        "",
        "Capacity learned from anchors (rested OCV, full-charge sync) at the end of each run, against the "
        "true "
        "C/50 capacity; the estimator starts from the wrong capacity it was told. The charge between two "
        "anchors is the raw count minus the current sensor's offset read in rests (the true current is "
        "zero there), times the hours between them; a rested OCV soon after a full-charge sync, or a "
        "later reading of the same rest, replaces an anchor when it gives the sample a smaller error.",
        "",
        "Per (cell, protocol, temperature, sampling): runs = seeds; told = the capacity the estimator "
        "started from, against the truth; learned = mean and worst (largest magnitude) error at the end of "
        "the runs that formed a capacity sample; runs without one keep the told value.",
        "",
        "| cell | protocol | °C | sample | runs | told vs truth | runs with a sample | learned, mean | "
        "learned, worst | within ±2 % |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (cell, protocol, temp, sample), cs in _groups(main).items():
        told = sorted({round(100.0 / (1.0 + c.capacity_error_pct / 100.0) - 100.0, 1) for c in cs})
        learned = [
            100.0 * (c.capacity_learned_ah / c.capacity_true_ah - 1.0) for c in cs if c.capacity_samples
        ]
        worst = max(learned, key=abs) if learned else math.nan
        within = sum(abs(x) <= 2.0 for x in learned)
        lines.append(
            f"| {cell} | {protocol} | {temp:g} | {sample} s | {len(cs)} | "
            f"{' / '.join(f'{t:+.1f}' for t in told)} % | {len(learned)} | "
            f"{_f(_mean(learned))} % | {_f(worst)} % | {within} of {len(learned)} |"
        )
    if report.resistance:
        lines += [
            "",
            "## Resistance learning (RLS on current steps)",
            "",
            "A contact resistance of 30 % of the characterised mid-SOC R0 is added to the PyBaMM cell; the "
            "factor "
            "is R(learned) / R0(model). Fresh = the same run without it.",
            "",
            "The model's R0 comes from 1C pulses from rest: a secant from zero current. The cell's "
            "charge-transfer resistance is not linear, so a step between two load currents sees a much "
            "smaller incremental resistance (PyBaMM Chen2020, noise-free: 1.1 × R0 near zero current, "
            "0.8 × at 0.5–1C, 0.6 × at 1–2C). The RLS therefore takes only sample-to-sample steps of C/3 "
            "or more that start or end below C/33, the nearest a drive cycle gets to a pulse from rest, "
            "so learned and pulse-test R0 mean the same thing. The fresh cell's reading is its error "
            "against the pulse-test R0; the change is the learned factor over the fresh one.",
            "",
            "| cell | °C | added mΩ | expected factor | learned | fresh cell | learned ÷ fresh | error of "
            "the "
            "change |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in report.resistance:
            ratio = r.learned_factor / r.fresh_factor
            err = 100.0 * (ratio / r.expected_factor - 1.0)
            lines.append(
                f"| {r.cell} | {r.temperature_c:g} | {1000 * r.contact_ohm:.2f} | {r.expected_factor:.3f} | "
                f"{r.learned_factor:.3f} | {r.fresh_factor:.3f} | {ratio:.3f} | {err:+.1f} % |"
            )
    if cold:
        lines += [
            "",
            f"## Cold start: one seed per case started {abs(cold[0].initial_error_pct):.0f} % wrong",
            "",
            "The design note's cold start (the BMS knows nothing and guesses badly). Same columns as above.",
            "",
        ]
        lines += _soc_table(cold)
    if fine:
        lines += [
            "",
            f"## Acceptance runs on PyBaMM {fine[0].model}",
            "",
            f"The sweep above uses {cfg.model} for speed; these cases repeat on the finer {fine[0].model} "
            "with the same cell models (characterised once), sensors and starts.",
            "",
        ]
        lines += _soc_table(fine)
    lines += ["", "## Targets of issue 4 (reported, not asserted)", ""]
    lines += [BOUND_NOTE, ""]
    lines += _targets(report, main)
    if fine:
        lines += ["", f"The same targets on the {fine[0].model} acceptance runs:", ""]
        lines += _targets(report, fine, soc_only=True)
    if report.truncated:
        lines += ["", "## Runs PyBaMM stopped early (a voltage limit was hit)", ""]
        lines += [f"- {t}" for t in report.truncated]
    lines += [
        "",
        "## Models characterised in this run",
        "",
        "| cell | capacity Ah | R0 at 25 °C, 50 % SOC (mΩ) | source |",
        "|---|---|---|---|",
    ]
    for key, model in report.models.items():
        r0 = model.rc_tables_at(25.0)[0]
        mid = float(r0[len(r0) // 2]) * 1000
        lines.append(f"| {key} | {model.capacity_ah:.3f} | {mid:.1f} | {model.source} |")
    return "\n".join(lines) + "\n"


def _runs_missing(
    what: str, runs: list[CaseResult], worst_first: Callable[[CaseResult], float], unit: str = "%"
) -> list[str]:
    """A sub-item naming the runs that miss a target and what they drew, so a miss can be traced to
    its cause (a sensor at the edge of its tolerance, a capacity told wrong) without the raw JSON."""
    if not runs:
        return []
    shown = sorted(runs, key=worst_first, reverse=True)[:RUNS_NAMED]

    def name(c: CaseResult) -> str:
        value = f"{worst_first(c):.0f} s" if unit == "s" else f"{worst_first(c):.2f} %"
        told = 100.0 / (1.0 + c.capacity_error_pct / 100.0) - 100.0
        return (
            f"{c.temperature_c:g} °C {c.sample_s} s seed {c.seed} ({value}): "
            f"capacity told {told:+.1f} %, {c.sensors}"
        )

    more = f" and {len(runs) - len(shown)} more" if len(runs) > len(shown) else ""
    return [f"  - {what}: {len(runs)} of the runs: {'; '.join(name(c) for c in shown)}{more}."]


def _without_voltage_offset(runs: list[CaseResult], *, with_convergence: bool) -> list[str]:
    """A sub-item: the same runs replayed with the voltage sensor's offset removed, so a reader sees how
    much of a figure the offset (up to 5 mV, 2 % SOC where an NMC curve is flat) accounts for."""
    metrics = [c.ekf_without_voltage_offset for c in runs if c.ekf_without_voltage_offset is not None]
    if not metrics or len(metrics) != len(runs):
        return []
    text = (
        f"  - The same runs with the voltage sensor's offset removed (every other error alike): "
        f"RMSE {_mean(m.rmse for m in metrics):.2f} %, max {_max(m.max for m in metrics):.2f} %"
    )
    if with_convergence:
        text += f", converged within {max(m.convergence_s for m in metrics):.0f} s"
    return [text + ". A diagnostic, not a target: the targets hold the offset in."]


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _nmc_targets(tag: str, protocol: str, runs: list[CaseResult]) -> list[str]:
    """The NMC target lines of one cell and protocol: warm (10-45 degC) and cold (-10...0 degC)."""
    out = []
    warm = [c for c in runs if c.temperature_c >= 10]
    cold = [c for c in runs if c.temperature_c < 10]
    if warm:
        rmse, mx = _mean(c.ekf.rmse for c in warm), _max(c.ekf.max for c in warm)
        conv = max(c.ekf.convergence_s for c in warm)
        out.append(
            f"- {tag}, {protocol}, 10–45 °C: RMSE {rmse:.2f} % (≤ 1.0: {_verdict(rmse <= 1.0)}), "
            f"max {mx:.2f} % (≤ 2.0: {_verdict(mx <= 2.0)}), converged from 20 % wrong within {conv:.0f} s "
            f"(≤ 300: {_verdict(conv <= 300)})."
        )
        out += _runs_missing("max above 2.0 %", [c for c in warm if c.ekf.max > 2.0], lambda c: c.ekf.max)
        out += _runs_missing(
            "converged after 300 s",
            [c for c in warm if c.ekf.convergence_s > 300],
            lambda c: c.ekf.convergence_s,
            unit="s",
        )
        out += _without_voltage_offset(warm, with_convergence=True)
    if cold:
        rmse, mx = _mean(c.ekf.rmse for c in cold), _max(c.ekf.max for c in cold)
        out.append(
            f"- {tag}, {protocol}, −10…0 °C: RMSE {rmse:.2f} % (≤ 2: {_verdict(rmse <= 2.0)}), "
            f"max {mx:.2f} % (≤ 4: {_verdict(mx <= 4.0)})."
        )
        out += _runs_missing("max above 4 %", [c for c in cold if c.ekf.max > 4.0], lambda c: c.ekf.max)
        out += _without_voltage_offset(cold, with_convergence=False)
    return out


def _targets(report: ValidationReport, main: list[CaseResult], soc_only: bool = False) -> list[str]:
    out = []
    nmc_cells = sorted({c.cell for c in main if c.chemistry == "NMC"})
    # The NMC targets name no protocol: every one the sweep ran is scored, the drive first.
    protocols = sorted({c.protocol for c in main if c.chemistry == "NMC"}, key=lambda p: (p != "drive", p))
    for cell in nmc_cells:
        for protocol in protocols:
            runs = [c for c in main if c.cell == cell and c.protocol == protocol]
            if runs:
                out += _nmc_targets(cell if runs[0].tuned_on else f"{cell} (held out)", protocol, runs)
    lfp = [c for c in main if c.chemistry == "LFP"]
    if lfp:
        after = _max(max(c.after_sync_err_pct, default=math.nan) for c in lfp)
        between = _max(c.between_sync_max_pct for c in lfp)
        # A 24 h mixed-use day has no second anchor away from full, so a wrong capacity cannot be
        # learned inside it: show how much of the worst case the told capacity explains.
        by_told = []
        for err in sorted({c.capacity_error_pct for c in lfp}, key=abs):
            worst = _max(c.between_sync_max_pct for c in lfp if c.capacity_error_pct == err)
            told = 100.0 / (1.0 + err / 100.0) - 100.0
            by_told.append(f"{worst:.2f} % with the capacity told {told:+.1f} %")
        out.append(
            f"- LFP: right after a sync max {after:.2f} % (≤ 1: {_verdict(after <= 1.0)}); between syncs "
            f"max {between:.2f} % (≤ 3: {_verdict(between <= 3.0)}); by the capacity the estimator was "
            f"told: {', '.join(by_told)}."
        )
    long_runs = [c for c in main if c.hours >= 20]
    pool = long_runs or main
    if pool:
        ratios = [c.coulomb.rmse_all / max(c.ekf.rmse_all, 1e-9) for c in pool]
        ratios_true = [c.coulomb_true_start.rmse_all / max(c.ekf.rmse_all, 1e-9) for c in pool]
        out.append(
            "- RMSE vs coulomb counting "
            f"({'24 h runs' if long_runs else 'all runs; no 24 h run in this sweep'}): "
            f"CC/EKF median {statistics.median(ratios):.1f}× with the same wrong start "
            f"(≥ 3×: {_verdict(statistics.median(ratios) >= 3)}), {statistics.median(ratios_true):.1f}× "
            "against "
            f"CC started at the true SOC, worst case {min(ratios_true):.1f}×."
        )
    if soc_only:
        return out
    caps = [c for c in main if c.capacity_samples > 0]
    if caps:
        worst = max(abs(c.capacity_learned_ah / c.capacity_true_ah - 1.0) for c in caps) * 100
        out.append(
            f"- Capacity after one full cycle: worst {worst:.2f} % over {len(caps)} runs with a capacity "
            "sample "
            f"(±2 %: {_verdict(worst <= 2.0)}); runs without a full cycle learn nothing and keep the told "
            "value."
        )
    if report.resistance:
        worst = max(
            abs(r.learned_factor / r.fresh_factor / r.expected_factor - 1.0) for r in report.resistance
        )
        absolute = max(abs(r.learned_factor / r.expected_factor - 1.0) for r in report.resistance)
        fresh = max(abs(r.fresh_factor - 1.0) for r in report.resistance)
        out.append(
            f"- Resistance: a +30 % change is measured within {100 * worst:.1f} % (±10 %: "
            f"{_verdict(worst <= 0.10)}); the absolute value against the pulse-test R0 is off by up to "
            f"{100 * absolute:.1f} % with the contact resistance ({_verdict(absolute <= 0.10)}) and "
            f"{100 * fresh:.1f} % on the fresh cell ({_verdict(fresh <= 0.10)})."
        )
    return out
