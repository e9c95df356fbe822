"""Command-line entry points of the estimation area: ``characterize``, ``estimate``, ``validate``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smartbms.estimation.validation.runner import RunConfig


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add this area's subcommands to the ``smartbms`` parser."""
    p = subparsers.add_parser(
        "characterize",
        help="build a cell model (OCV, hysteresis, R0/RC vs SOC and temperature) from lab test CSVs",
        description="Build a cell model JSON from a slow (<= C/20) discharge, a slow charge and pulse tests. "
        "Each CSV has the columns time_s,current_a,voltage_v,temperature_c (current positive = charging). "
        "Pulse tests start from full; give one per temperature. A pulse test that steps back up in long "
        "charge steps (each followed by a 20-minute rest) gives the slow RC pair a charge side.",
    )
    p.add_argument("--chemistry", required=True, choices=["LFP", "NMC", "LTO"], type=str.upper)
    p.add_argument("--discharge", required=True, type=Path, help="slow discharge from full to empty")
    p.add_argument("--charge", required=True, type=Path, help="slow charge from empty to full")
    p.add_argument(
        "--pulse", required=True, type=Path, action="append", help="pulse test (repeat per temperature)"
    )
    p.add_argument("--name", default="", help="name stored in the model")
    p.add_argument("-o", "--output", required=True, type=Path, help="model JSON to write")
    p.set_defaults(func=_characterize)

    p = subparsers.add_parser(
        "estimate",
        help="replay a recorded trace through the SOC/SOH estimator",
        description="Replay TRACE.csv (time_s,current_a,voltage_v,temperature_c; current positive = "
        "charging) "
        "and write time_s,soc_pct,soc_sigma_pct,soh_pct.",
    )
    p.add_argument("--cell", required=True, help="cell model JSON, or LFP/NMC/LTO for a shipped model")
    p.add_argument("--capacity-ah", required=True, type=float, help="capacity of the cell or parallel group")
    p.add_argument(
        "--initial-soc", type=float, default=None, metavar="PCT", help="start SOC (default: from OCV)"
    )
    p.add_argument("--cells-series", type=int, default=1, help="the trace voltage is of N cells in series")
    p.add_argument("-o", "--output", type=Path, default=None, help="CSV to write (default: stdout)")
    p.add_argument("trace", type=Path, metavar="TRACE.csv")
    p.set_defaults(func=_estimate)

    p = subparsers.add_parser(
        "validate",
        help="score the estimators against PyBaMM cells (needs the 'validate' extra)",
        description="Characterise PyBaMM cells from simulated lab tests, drive them through usage protocols, "
        "replay them with sensor errors and report SOC/SOH errors next to coulomb counting.",
    )
    p.add_argument("--cells", default="chen2020,prada2013,ecker2015", help="comma-separated cell keys")
    # nargs="+" so that "--temperatures -10 0 25" parses: argparse takes "-10" for a number only when it
    # stands alone ("--temperatures=-10,0" works too).
    p.add_argument(
        "--temperatures",
        nargs="+",
        default=["0,25"],
        metavar="DEGC",
        help="ambient temperatures in degC, comma- or space-separated (e.g. --temperatures -10 0 25 45)",
    )
    p.add_argument("--protocols", default="drive,mixed24h", help="comma-separated protocols")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--sample-s", default="1", help="comma-separated sampling periods in s (1, 10)")
    p.add_argument("--model", default="SPMe", choices=["SPM", "SPMe", "DFN"])
    p.add_argument(
        "--full",
        action="store_true",
        help="the design note's sweep: -10/0/25/45 degC, 20 seeds, 1+10 s, DFN acceptance runs",
    )
    p.add_argument("--no-resistance", action="store_true", help="skip the resistance-learning check")
    p.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="cases solved at once (default: one per core)"
    )
    p.add_argument("--write", type=Path, default=None, help="write the Markdown report here")
    p.add_argument("--json", type=Path, default=None, help="also write every case's raw figures as JSON")
    p.set_defaults(func=_validate)


def _characterize(args: argparse.Namespace) -> int:
    from smartbms.estimation.characterize import characterize
    from smartbms.estimation.traces import read_trace

    model = characterize(
        chemistry=args.chemistry,
        slow_discharge=read_trace(args.discharge),
        slow_charge=read_trace(args.charge),
        pulse_tests=[read_trace(p) for p in args.pulse],
        name=args.name,
    )
    model.save(args.output)
    temps = ", ".join(f"{t:g}" for t in model.temperatures_c)
    print(
        f"wrote {args.output}: {model.chemistry}, {model.capacity_ah:.4g} Ah, "
        f"{model.voltage_min_v:.3g}-{model.voltage_max_v:.3g} V, temperatures {temps} degC"
    )
    return 0


def _estimate(args: argparse.Namespace) -> int:
    from smartbms.errors import SettingsError
    from smartbms.estimation.cell_model import CHEMISTRIES, load_cell_model, shipped_model
    from smartbms.estimation.replay import replay
    from smartbms.estimation.traces import read_trace

    if not args.capacity_ah > 0:
        raise SettingsError([("--capacity-ah", "must be a positive number of Ah")])
    if args.initial_soc is not None and not 0.0 <= args.initial_soc <= 100.0:
        raise SettingsError([("--initial-soc", "must lie between 0 and 100 %")])
    if args.cells_series < 1:
        raise SettingsError([("--cells-series", "must be at least 1")])
    model = shipped_model(args.cell) if args.cell.upper() in CHEMISTRIES else load_cell_model(args.cell)
    trace = read_trace(args.trace)
    result = replay(
        trace, model, args.capacity_ah, initial_soc_pct=args.initial_soc, cells_series=args.cells_series
    )
    out = args.output.open("w", encoding="utf-8") if args.output else sys.stdout
    try:
        out.write("time_s,soc_pct,soc_sigma_pct,soh_pct\n")
        for t, soc, sigma, soh in zip(
            result.time_s, result.soc_pct, result.soc_sigma_pct, result.soh_pct, strict=True
        ):
            out.write(f"{t:.3f},{soc:.3f},{sigma:.3f},{soh:.2f}\n")
    finally:
        if args.output:
            out.close()
    counters = result.estimator.counters
    if counters.missing_current or counters.missing_cell_voltages or counters.missing_temperatures:
        print(
            f"note: {counters.missing_current} samples without current, "
            f"{counters.missing_cell_voltages} without "
            f"voltage, {counters.missing_temperatures} without temperature (estimate carried through)",
            file=sys.stderr,
        )
    return 0


def _validate(args: argparse.Namespace) -> int:
    from smartbms.estimation.errors import MissingExtraError

    config = validation_config(args)
    try:
        import pybamm  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError("validation needs PyBaMM: pip install 'smartbms[validate]'") from exc
    from smartbms.estimation.validation.report import render
    from smartbms.estimation.validation.runner import run_validation

    report = run_validation(config, progress=lambda line: print(line, flush=True))
    # The report names the command that regenerates it.
    text = render(report, command=_validate_command(args))
    if args.json:
        import dataclasses
        import json

        raw = {
            "config": dataclasses.asdict(report.config),
            "cases": [dataclasses.asdict(c) for c in report.cases],
            "resistance": [dataclasses.asdict(r) for r in report.resistance],
            "truncated": report.truncated,
            "seconds": report.seconds,
        }
        args.json.write_text(json.dumps(raw, indent=1), encoding="utf-8")
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(text, encoding="utf-8")
        print(f"wrote {args.write}")
    else:
        print(text)
    return 0


def validation_config(args: argparse.Namespace) -> RunConfig:
    """The sweep the command line asks for; a malformed list is refused with the option's name."""
    from smartbms.errors import SettingsError
    from smartbms.estimation.validation.runner import (
        COLD_START_ERROR_PCT,
        FULL_SWEEP_TEMPERATURES_C,
        RunConfig,
    )

    def floats(text: str, option: str) -> tuple[float, ...]:
        try:
            return tuple(float(x) for x in text.split(",") if x.strip())
        except ValueError:
            raise SettingsError([(option, f"expects numbers separated by commas (got {text!r})")]) from None

    if args.jobs < 1:
        raise SettingsError([("--jobs", f"must be at least 1 (got {args.jobs})")])
    jobs = int(args.jobs)
    if args.full:
        return RunConfig(
            cells=("chen2020", "prada2013", "ecker2015"),
            temperatures_c=FULL_SWEEP_TEMPERATURES_C,
            seeds=20,
            sample_s=(1, 10),
            model=args.model,
            resistance_check=not args.no_resistance,
            jobs=jobs,
            cold_start_error_pct=COLD_START_ERROR_PCT,
            # The design note: SPMe for sweeps, DFN for acceptance runs (one NMC, one LFP case at 25 degC).
            acceptance_model="DFN" if args.model != "DFN" else None,
            acceptance_cases=(("chen2020", "drive", 25.0), ("prada2013", "mixed24h", 25.0)),
        )
    return RunConfig(
        cells=tuple(c.strip() for c in args.cells.split(",") if c.strip()),
        temperatures_c=floats(",".join(args.temperatures), "--temperatures"),
        protocols=tuple(p.strip() for p in args.protocols.split(",") if p.strip()),
        seeds=args.seeds,
        sample_s=tuple(int(x) for x in floats(args.sample_s, "--sample-s")),
        model=args.model,
        resistance_check=not args.no_resistance,
        jobs=jobs,
        cold_start_error_pct=COLD_START_ERROR_PCT,
    )


def _validate_command(args: argparse.Namespace) -> str:
    parts = [".venv/bin/smartbms validate"]
    if args.full:
        parts.append("--full")
    else:
        parts += [
            f"--cells {args.cells}",
            f"--temperatures={','.join(args.temperatures)}",
            f"--protocols {args.protocols}",
            f"--seeds {args.seeds}",
            f"--sample-s {args.sample_s}",
        ]
    if args.model != "SPMe":
        parts.append(f"--model {args.model}")
    if args.no_resistance:
        parts.append("--no-resistance")
    if args.write:
        parts.append(f"--write {args.write}")
    return " ".join(parts)
