"""``smartbms simulate``: run a scenario (file or flags) with the BMS in the loop; trace, summary, plot."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from smartbms.errors import SmartBmsError


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="run a simulated pack with the BMS in the loop; write a trace, a summary and a plot",
        description="Profiles: solar_day (default), van_day, cccv, constant_current:AMPS (+ = charging), "
        "constant_power:WATTS, drive_cycle:UDDS|US06|WLTC|car_current, csv:FILE (time s, current A). "
        "Faults: KIND[:key=value,...] with KIND soft_short, open_sense_wire, failed_temperature_sensor, "
        "drifting_current_offset, welded_contactor, charger_ignores_disconnect, e.g. "
        "--fault soft_short:cell=3,resistance_ohm=0.5,at_s=600.",
    )
    p.add_argument("scenario", nargs="?", type=Path, help="scenario file (.toml/.yaml); flags override it")
    p.add_argument("--settings", type=Path, help="settings file for the pack (overrides the scenario's)")
    p.add_argument("--chemistry", choices=("LFP", "NMC", "LTO"))
    p.add_argument("--cells", type=int, help="cells in series")
    p.add_argument("--capacity", type=float, help="nominal capacity in Ah")
    p.add_argument("--strategy", choices=("none", "passive", "soc", "active"), help="balancing strategy")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any setting, e.g. balancing.bleed_resistance_ohm=10 (repeatable)",
    )
    p.add_argument("--profile", help="load/charge profile (see above)")
    p.add_argument("--duration", type=float, help="simulated seconds (default 86400)")
    p.add_argument("--days", type=float, help="simulated days (instead of --duration)")
    p.add_argument("--tick", type=float, help="BMS step in seconds (default 1)")
    p.add_argument("--seed", type=int)
    p.add_argument("--ambient", type=float, help="ambient temperature °C")
    p.add_argument("--soc", type=float, help="mean initial SOC %%")
    p.add_argument("--capacity-spread", type=float, help="cell capacity spread (max-min) in %%")
    p.add_argument("--soc-spread", type=float, help="initial SOC spread (max-min) in %%")
    p.add_argument("--fault", action="append", default=[], metavar="KIND[:k=v,...]")
    p.add_argument("--no-estimator", action="store_true", help="run without the SOC estimator")
    p.add_argument("--record-every", type=float, help="trace row interval in simulated seconds (default 60)")
    p.add_argument("--out", type=Path, help="trace file (.csv or .parquet)")
    p.add_argument("--summary", type=Path, help="summary file (.json); printed in any case")
    p.add_argument(
        "--plot",
        type=Path,
        nargs="?",
        const=Path("simulation.png"),
        help="write a PNG (default simulation.png)",
    )
    p.set_defaults(func=cmd_simulate)


def _parse_fault(text: str) -> dict[str, Any]:
    kind, _, rest = text.partition(":")
    data: dict[str, Any] = {"kind": kind.strip()}
    for item in filter(None, (x.strip() for x in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise SmartBmsError(f"--fault {text!r}: expected key=value, got {item!r}")
        parsed: Any = value
        for conv in (int, float):
            try:
                parsed = conv(value)
                break
            except ValueError:
                continue
        data[key.strip()] = parsed
    return data


def build_scenario(args: argparse.Namespace) -> Any:
    import dataclasses

    from smartbms.core.settings import default_settings, load_settings, parse_assignment
    from smartbms.sim.faults import FaultError, fault_from_dict
    from smartbms.sim.scenario import load_scenario, scenario_from_dict
    from smartbms.sim.simulation import Scenario, ScenarioError

    settings = load_settings(args.settings) if args.settings else None
    scenario: Scenario = (
        load_scenario(args.scenario, settings) if args.scenario else scenario_from_dict({}, settings)
    )
    s = scenario.settings
    pack_changes: dict[str, Any] = {}
    if args.chemistry:
        pack_changes["pack.chemistry"] = args.chemistry
    if args.cells:
        pack_changes["pack.cells_series"] = args.cells
    if args.capacity:
        pack_changes["pack.nominal_capacity_ah"] = args.capacity
    if pack_changes:
        if args.settings is None and args.scenario is None:
            pack = {k.split(".")[1]: v for k, v in pack_changes.items()}
            s = default_settings(**{**s.pack.model_dump(mode="json"), **pack})
        else:
            s = s.with_changes(pack_changes)
    changes = dict(parse_assignment(a) for a in args.set)
    if args.strategy:
        changes["balancing.strategy"] = args.strategy
    if changes:
        s = s.with_changes(changes)
    updates: dict[str, Any] = {"settings": s}
    if args.profile:
        updates["profile"] = args.profile
        updates["profile_options"] = {}
    if args.days is not None:
        updates["duration_s"] = args.days * 86_400.0
    if args.duration is not None:
        updates["duration_s"] = args.duration
    for flag, key in (
        ("tick", "tick_s"),
        ("seed", "seed"),
        ("ambient", "ambient_c"),
        ("soc", "initial_soc_pct"),
        ("record_every", "record_every_s"),
    ):
        value = getattr(args, flag)
        if value is not None:
            updates[key] = value
    if updates.get("duration_s", 1.0) <= 0 or updates.get("tick_s", 1.0) <= 0:
        raise ScenarioError("duration and tick must be > 0")
    if "tick_s" in updates:
        updates["plant_step_s"] = min(scenario.plant_step_s, updates["tick_s"])
    if args.no_estimator:
        updates["estimator"] = False
    variation = scenario.variation
    if args.capacity_spread is not None:
        variation = dataclasses.replace(variation, capacity_spread_pct=args.capacity_spread)
    if args.soc_spread is not None:
        variation = dataclasses.replace(variation, initial_soc_spread_pct=args.soc_spread)
    updates["variation"] = variation
    if args.fault:
        try:
            updates["faults"] = scenario.faults + tuple(fault_from_dict(_parse_fault(f)) for f in args.fault)
        except FaultError as exc:
            raise ScenarioError(str(exc)) from None
    return dataclasses.replace(scenario, **updates)


def cmd_simulate(args: argparse.Namespace) -> int:
    from smartbms.sim.simulation import Simulation, write_trace

    scenario = build_scenario(args)
    sim = Simulation(scenario)
    result = sim.run()
    if args.out:
        write_trace(result.trace, args.out)
        result.summary["trace"] = str(args.out)
    if args.plot:
        from smartbms.sim.plot import plot_result

        s = scenario.settings
        title = (
            f"{s.pack_label} {s.pack.nominal_capacity_ah:g} Ah · profile {scenario.profile} · balancing "
            f"{s.balancing.strategy} · seed {scenario.seed}"
        )
        plot_result(result, args.plot, title)
        result.summary["plot"] = str(args.plot)
    text = json.dumps(result.summary, indent=2)
    if args.summary:
        args.summary.parent.mkdir(parents=True, exist_ok=True)
        args.summary.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0
