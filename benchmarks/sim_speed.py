"""Simulator speed: cell-steps per second, PyBaMM Thevenin side by side, and a month with the BMS in the loop.

    PYBAMM_DISABLE_TELEMETRY=true .venv/bin/python benchmarks/sim_speed.py            # about two minutes
    PYBAMM_DISABLE_TELEMETRY=true .venv/bin/python benchmarks/sim_speed.py --full-month  # the real 30 days
    .venv/bin/python benchmarks/sim_speed.py --month-only --days 2   # only the BMS-in-the-loop figure

Reports:
1. cell-steps/s at 1 s steps: one cell on the scalar path (``SingleCell``, the same equations), and the
   full pack plant (paths, charger logic, balancing hardware, cells, thermal) for one cell, one 16S pack
   and a fleet of 1,000 16S packs, on a constant-current demand, and one 16S pack on the plain-float
   single-pack plant that ``SimulatedPackSource`` uses under the BMS;
2. one cell over the UDDS drive cycle (1,370 s at 1 s): this simulator vs PyBaMM's Thevenin model
   (two RC elements, the same parameters, IDAKLU solver), wall time and ratio, build+solve and solve only;
3. a 16S 280 Ah LFP pack on the solar day at 1 s steps with the real controller and the full BMS (core,
   estimator, passive balancer) in the loop: ``--days`` simulated days (default 1) measured and scaled
   to 30, or the real 30 days with ``--full-month``; with the time per tick split into the pack
   (``SimulatedPackSource`` read + apply: plant and sensors), the estimator, the balancer and the rest
   (core and controller).
The machine is shared: run it once on a quiet machine and quote the figures with the date.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np

os.environ.setdefault("PYBAMM_DISABLE_TELEMETRY", "true")


def plant_speed(packs: int, cells: int, seconds: float) -> tuple[float, int]:
    from smartbms.sim.params import load_cell_parameters
    from smartbms.sim.plant import PackPlant
    from smartbms.sim.profiles import Demand
    from smartbms.sim.variation import CellVariation, draw_population

    pop = draw_population(np.random.default_rng(0), (packs, cells), 280.0, 60.0, CellVariation())
    plant = PackPlant(load_cell_parameters("LFP"), pop)
    demand = Demand(direct_a=-50.0)
    steps = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(50):
            plant.step(1.0, demand)
        steps += 50
    wall = time.perf_counter() - t0
    return steps * packs * cells / wall, steps


def single_pack_speed(cells: int, seconds: float) -> tuple[float, int]:
    """The plain-float one-pack plant that ``SimulatedPackSource`` steps under the BMS."""
    from smartbms.sim.params import load_cell_parameters
    from smartbms.sim.profiles import Demand
    from smartbms.sim.single_pack import SinglePackPlant
    from smartbms.sim.variation import CellVariation, draw_population

    pop = draw_population(np.random.default_rng(0), (1, cells), 280.0, 60.0, CellVariation())
    plant = SinglePackPlant(load_cell_parameters("LFP"), pop)
    demand = Demand(direct_a=-50.0)
    steps = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(50):
            plant.step(1.0, demand)
        steps += 50
    wall = time.perf_counter() - t0
    return steps * cells / wall, steps


def single_cell_speed(seconds: float) -> tuple[float, int]:
    from smartbms.sim.params import load_cell_parameters
    from smartbms.sim.single_cell import SingleCell

    cell = SingleCell(load_cell_parameters("LFP"), 280.0, 60.0)
    steps = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for k in range(500):
            if k % 10 == 0:
                cell.refresh(1.0)
            cell.step(-50.0, 1.0)
        steps += 500
    wall = time.perf_counter() - t0
    return steps / wall, steps


def one_cell_vs_pybamm() -> dict[str, float]:
    from smartbms.sim.params import load_cell_parameters
    from smartbms.sim.profiles import drive_cycle
    from smartbms.sim.pybamm_compare import (
        isothermal_parameters,
        rms_difference_mv,
        run_pybamm_thevenin,
        run_smartbms_cell,
    )

    params = isothermal_parameters(load_cell_parameters("NMC"))
    cycle = drive_cycle("UDDS", 5.0)
    times = np.arange(0.0, cycle.duration_s)
    current = np.array([cycle.value_at(t) for t in times])
    t0 = time.perf_counter()
    ours = run_smartbms_cell(params, 5.0, times, current, 80.0)
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs = run_pybamm_thevenin(params, 5.0, times, current, 80.0)
    pybamm_s = time.perf_counter() - t0
    # Solve only: build once, then time a second solve of the same simulation.
    import pybamm

    from smartbms.sim import pybamm_compare

    t0 = time.perf_counter()
    _ = pybamm_compare.run_pybamm_thevenin(params, 5.0, times, current, 80.0)
    pybamm_again_s = time.perf_counter() - t0
    del pybamm
    return {
        "steps": float(len(times)),
        "smartbms_s": ours_s,
        "pybamm_s": pybamm_s,
        "pybamm_second_run_s": pybamm_again_s,
        "ratio": pybamm_s / ours_s,
        "ratio_second_run": pybamm_again_s / ours_s,
        "rms_mv": rms_difference_mv(ours, theirs),
    }


class _Stopwatch:
    """Wraps a bound method and adds up the wall time spent in it (about 0.2 µs of overhead per call)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.seconds = 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t0


def month_with_bms(days: float) -> dict[str, float]:
    """The real controller (core, estimator, passive balancer) on the simulated pack for ``days`` days;
    the time inside the pack (read + apply: plant and sensors), the estimator and the balancer is
    measured on the way, the rest of the tick is the core and the controller."""
    from smartbms.core.settings import default_settings
    from smartbms.sim.simulation import Scenario, Simulation

    settings = default_settings(chemistry="LFP", cells_series=16, nominal_capacity_ah=280)
    sim = Simulation(
        Scenario(
            settings=settings,
            profile="solar_day",
            duration_s=days * 86_400.0,
            tick_s=1.0,
            plant_step_s=1.0,
            record_every_s=600.0,
            estimator=True,
        )
    )
    source, controller = sim.source, sim.controller
    if controller.estimator is None or controller.balancer is None:
        raise SystemExit("the month needs the full BMS: estimator and balancer")
    read, apply = _Stopwatch(source.read), _Stopwatch(source.apply)
    estimate, decide = _Stopwatch(controller.estimator.update), _Stopwatch(controller.balancer.decide)
    # Instance attributes shadow the methods, so the controller calls through the stopwatches.
    source.read, source.apply = read, apply  # type: ignore[method-assign]
    controller.estimator.update = estimate  # type: ignore[method-assign]
    controller.balancer.decide = decide  # type: ignore[method-assign]
    t0 = time.perf_counter()
    result = sim.run()
    wall = time.perf_counter() - t0
    ticks = float(result.summary["ticks"])
    us = 1e6 / ticks
    pack_us = (read.seconds + apply.seconds) * us
    estimator_us = estimate.seconds * us
    balancer_us = decide.seconds * us
    return {
        "days": days,
        "wall_s": wall,
        "month_s": wall * 30.0 / days,
        "ticks": ticks,
        "tick_us": wall * us,
        "pack_us": pack_us,
        "estimator_us": estimator_us,
        "balancer_us": balancer_us,
        "core_us": wall * us - pack_us - estimator_us - balancer_us,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="simulator speed")
    parser.add_argument("--seconds", type=float, default=8.0, help="measuring time per plant size")
    parser.add_argument(
        "--full-month", action="store_true", help="run the real 30 days with the BMS in the loop"
    )
    parser.add_argument(
        "--days", type=float, default=1.0, help="simulated days with the BMS in the loop (scaled to 30)"
    )
    parser.add_argument("--skip-month", action="store_true")
    parser.add_argument("--month-only", action="store_true", help="only the BMS-in-the-loop run")
    args = parser.parse_args()
    print(
        f"# sim_speed on {platform.node()} ({os.cpu_count()} CPUs), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {os.getloadavg()[0]:.1f}"
    )
    if not args.month_only:
        rate, steps = single_cell_speed(args.seconds)
        print(f"1 cell (SingleCell)     : {rate / 1e6:10.3f} M cell-steps/s ({steps} steps of 1 s)")
        for label, packs, cells in (("1 cell", 1, 1), ("one 16S pack", 1, 16), ("1,000 16S packs", 1000, 16)):
            rate, steps = plant_speed(packs, cells, args.seconds)
            print(f"plant {label:18s}: {rate / 1e6:10.3f} M cell-steps/s ({steps} steps of 1 s)")
        rate, steps = single_pack_speed(16, args.seconds)
        print(f"one 16S pack, single-pack plant (BMS path): {rate / 1e6:.3f} M cell-steps/s ({steps} steps)")
        cmp = one_cell_vs_pybamm()
        print(
            f"one cell, UDDS {cmp['steps']:.0f} s at 1 s: smartbms {cmp['smartbms_s'] * 1000:.1f} ms, "
            "PyBaMM Thevenin "
            f"{cmp['pybamm_s'] * 1000:.0f} ms (again {cmp['pybamm_second_run_s'] * 1000:.0f} ms): ratio "
            f"{cmp['ratio']:.0f}x ({cmp['ratio_second_run']:.0f}x); RMS difference {cmp['rms_mv']:.3f} mV"
        )
    if not args.skip_month:
        month = month_with_bms(30.0 if args.full_month else args.days)
        how = (
            "measured"
            if month["days"] >= 30
            else f"{month['days']:g} day(s) measured, x{30 / month['days']:g}"
        )
        print(
            "16S 280 Ah, solar day, 1 s steps, full BMS in the loop: 30 days = "
            f"{month['month_s'] / 60:.1f} min ({how}; {month['ticks'] / month['wall_s']:.0f} ticks/s)"
        )
        print(
            f"  per tick {month['tick_us']:.0f} µs = pack (plant + sensors, read + apply) "
            f"{month['pack_us']:.0f} µs + estimator {month['estimator_us']:.0f} µs + balancer "
            f"{month['balancer_us']:.0f} µs + core and controller {month['core_us']:.0f} µs"
        )


if __name__ == "__main__":
    main()
