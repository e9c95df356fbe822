"""The simulation object: a scenario (pack, profile, faults, strategy) run with the BMS in the loop.

Combines the plant (:class:`SimulatedPackSource`), the core controller, the estimator and the balancer,
steps them in simulated time as fast as the machine goes, and records a trace (truth and what the BMS
did) plus a summary.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from smartbms.core.settings import Settings
from smartbms.errors import SmartBmsError
from smartbms.sim.faults import Fault
from smartbms.sim.pack_source import SimulatedPackSource
from smartbms.sim.profiles import Profile
from smartbms.sim.sensors import SensorSpec
from smartbms.sim.setup import make_profile, profile_from_spec
from smartbms.sim.variation import CellVariation


class ScenarioError(SmartBmsError, ValueError):
    """A scenario file or its flags are invalid."""


@dataclass(frozen=True)
class Scenario:
    settings: Settings
    profile: str = "solar_day"
    profile_options: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 86_400.0
    # The controller's step; the plant steps at most ``plant_step_s`` inside it.
    tick_s: float = 1.0
    plant_step_s: float = 1.0
    seed: int = 0
    ambient_c: float = 25.0
    initial_soc_pct: float = 50.0
    variation: CellVariation = field(default_factory=CellVariation)
    sensors: SensorSpec = field(default_factory=SensorSpec)
    faults: tuple[Fault, ...] = ()
    # Feed the estimator's per-cell SOC to the balancer (needed by the SOC-based strategy).
    estimator: bool = True
    record_every_s: float = 60.0

    def make_profile(self) -> Profile:
        if ":" in self.profile or self.profile.lower().endswith(".csv"):
            return profile_from_spec(self.profile, self.settings, seed=self.seed)
        return make_profile(self.profile, self.settings, seed=self.seed, **dict(self.profile_options))


@dataclass
class SimulationResult:
    trace: dict[str, list[float | int | str]]
    summary: dict[str, Any]
    # (time s, code) of every alarm or error the core raised, in order.
    protection_moments: list[tuple[float, str]]


class Simulation:
    """Run a :class:`Scenario`; ``on_tick(sim, snapshot)`` lets studies measure along the way."""

    def __init__(self, scenario: Scenario) -> None:
        from smartbms.balancing import make_balancer
        from smartbms.controller import Controller

        self.scenario = scenario
        s = scenario.settings
        self.source = SimulatedPackSource(
            s,
            seed=scenario.seed,
            profile=scenario.make_profile(),
            ambient_c=scenario.ambient_c,
            initial_soc_pct=scenario.initial_soc_pct,
            variation=scenario.variation,
            sensors=scenario.sensors,
            faults=scenario.faults,
            max_step_s=scenario.plant_step_s,
            time_origin_s=0.0,
        )
        estimator = None
        if scenario.estimator:
            try:
                from smartbms.estimation.pack import PackEstimator

                estimator = PackEstimator.from_settings(s)
            except ImportError:  # the estimation area is optional for the simulator
                estimator = None
        self.balancer = make_balancer(s)
        self.controller = Controller(s, self.source, self.source, estimator=estimator, balancer=self.balancer)

    def run(self, on_tick: Callable[[Simulation, Any], None] | None = None) -> SimulationResult:
        sc = self.scenario
        n = sc.settings.pack.cells_series
        trace: dict[str, list[float | int | str]] = {k: [] for k in self._columns(n)}
        moments: list[tuple[float, str]] = []
        seen: set[str] = set()
        next_record = 0.0
        now = 0.0
        wall0 = time.perf_counter()
        snap = None
        ticks = 0
        while now <= sc.duration_s + 1e-9:
            snap = self.controller.tick(now)
            ticks += 1
            alarms = set(snap.actions.alarms)
            for code in sorted(alarms - seen):
                if code[0] in "AE":
                    moments.append((now, code))
            seen = alarms
            if on_tick is not None:
                on_tick(self, snap)
            if now >= next_record - 1e-9:
                self._record(trace, now, snap)
                next_record += sc.record_every_s
            now += sc.tick_s
        wall = time.perf_counter() - wall0
        truth = self.source.truth()
        volts = np.asarray(truth.cell_voltages_v)
        summary = {
            "duration_s": sc.duration_s,
            "ticks": ticks,
            "wall_s": round(wall, 3),
            "speed_x_real_time": round(sc.duration_s / wall, 1) if wall > 0 else math.inf,
            "final_state": str(snap.state) if snap is not None else "",
            "final_soc_pct_min": round(min(truth.soc_pct), 3),
            "final_soc_pct_max": round(max(truth.soc_pct), 3),
            "final_cell_spread_mv": round(float(volts.max() - volts.min()) * 1000, 2),
            "charged_ah": round(self.source.plant.charged_total_ah, 3),
            "discharged_ah": round(self.source.plant.discharged_total_ah, 3),
            "bled_ah_total": round(float(sum(self.source.plant.bled_per_cell_ah)), 3),
            "max_cell_temperature_c": round(
                float(np.max(trace["t_max_c"])) if trace["t_max_c"] else math.nan, 2
            ),
            "protection_moments": [{"time_s": t, "code": c} for t, c in moments],
        }
        return SimulationResult(trace, summary, moments)

    @staticmethod
    def _columns(n: int) -> list[str]:
        cols = [
            "time_s",
            "current_a",
            "voltage_v",
            "soc_est_pct",
            "state",
            "alarms",
            "charge_enabled",
            "discharge_enabled",
            "balancing_cells",
            "balancing_current_a",
            "t_max_c",
            "charger_stage",
        ]
        cols += [f"v{i}" for i in range(1, n + 1)]
        cols += [f"soc{i}" for i in range(1, n + 1)]
        cols += [f"temp{i}" for i in range(1, n + 1)]
        return cols

    def _record(self, trace: dict[str, list[float | int | str]], now: float, snap: Any) -> None:
        truth = self.source.truth()
        est = snap.estimate
        trace["time_s"].append(now)
        trace["current_a"].append(round(truth.current_a, 4))
        trace["voltage_v"].append(round(sum(truth.cell_voltages_v), 4))
        trace["soc_est_pct"].append(round(float(est.soc_pct), 3) if est is not None else math.nan)
        trace["state"].append(str(snap.state))
        trace["alarms"].append(" ".join(snap.actions.alarms))
        trace["charge_enabled"].append(int(snap.actions.charge_enabled))
        trace["discharge_enabled"].append(int(snap.actions.discharge_enabled))
        trace["balancing_cells"].append(" ".join(str(c) for c in snap.actions.balancing_cells))
        trace["balancing_current_a"].append(round(float(np.abs(truth.balancing_currents_a).sum()), 4))
        trace["t_max_c"].append(round(max(truth.temperatures_c), 3))
        trace["charger_stage"].append(truth.charger_stage)
        for i, (v, soc, temp) in enumerate(
            zip(truth.cell_voltages_v, truth.soc_pct, truth.temperatures_c, strict=True), start=1
        ):
            trace[f"v{i}"].append(round(v, 5))
            trace[f"soc{i}"].append(round(soc, 4))
            trace[f"temp{i}"].append(round(temp, 3))


def write_trace(trace: dict[str, list[Any]], path: Any) -> None:
    """CSV or Parquet by the file name's suffix."""
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise ScenarioError("Parquet traces need the sim extra: pip install 'smartbms[sim]'") from None
        pq.write_table(pa.table(trace), path)
        return
    if path.suffix.lower() != ".csv":
        raise ScenarioError(f"trace files must end in .csv or .parquet (got {path.name})")
    import csv

    cols = list(trace)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(cols)
        writer.writerows(zip(*(trace[c] for c in cols), strict=True))
