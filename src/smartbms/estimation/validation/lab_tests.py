"""The lab tests ``characterize`` needs, run on a PyBaMM cell and written as ordinary trace CSVs.

The estimator never sees PyBaMM's parameters: it gets these recordings, as it would from a lab.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from smartbms.estimation.cell_model import CellModel
from smartbms.estimation.characterize import characterize
from smartbms.estimation.traces import Trace, write_trace
from smartbms.estimation.validation.plant import CellSpec, simulate, voltage_limits

PULSE_LEVELS = 9  # 90 % down to 10 %
CHARGE_LEVELS = 8  # and back up to 90 % in long charge steps


@dataclass(frozen=True)
class LabTests:
    slow_discharge: Trace
    slow_charge: Trace
    pulse_tests: tuple[Trace, ...]


def run_lab_tests(spec: CellSpec, temperatures_c: tuple[float, ...] = (25.0,)) -> LabTests:
    lo, hi = voltage_limits(spec)
    discharge = simulate(
        spec,
        ["Rest for 10 minutes", f"Discharge at C/20 until {lo} V", "Rest for 10 minutes"],
        temperature_c=25.0,
        initial_soc=1.0,
        period_s=30.0,
    )
    charge = simulate(
        spec,
        ["Rest for 10 minutes", f"Charge at C/20 until {hi} V", "Rest for 10 minutes"],
        temperature_c=25.0,
        initial_soc=0.0,
        period_s=30.0,
    )
    pulses = []
    for temp in temperatures_c:
        level = (
            f"Discharge at C/2 for 12 minutes or until {lo} V",
            "Rest for 20 minutes",
            f"Discharge at 1C for 10 seconds or until {lo} V",
            "Rest for 60 seconds",
            f"Charge at 0.75C for 10 seconds or until {hi} V",
            "Rest for 60 seconds",
            # Pulses at more currents, as labs run HPPC at several rates: R0 falls with the current
            # (charge-transfer kinetics), strongly in the cold.
            f"Discharge at 0.25C for 10 seconds or until {lo} V",
            "Rest for 60 seconds",
            f"Charge at 0.25C for 10 seconds or until {hi} V",
            "Rest for 60 seconds",
            f"Discharge at 2C for 10 seconds or until {lo} V",
            "Rest for 60 seconds",
        )
        steps: list[str] = ["Rest for 10 minutes"]
        for _ in range(PULSE_LEVELS):
            steps.extend(level)
        # Back up in long charge steps, as a GITT charge: the slow pair of the charge side. A cold cell
        # charged for half an hour builds a polarisation its long discharges never show.
        for _ in range(CHARGE_LEVELS):
            steps.extend((f"Charge at C/2 for 12 minutes or until {hi} V", "Rest for 20 minutes"))
        run = simulate(spec, steps, temperature_c=temp, initial_soc=1.0, period_s=1.0)
        pulses.append(_named(run.trace, f"{spec.key}_hppc_{temp:g}C"))
    return LabTests(
        _named(discharge.trace, f"{spec.key}_slow_discharge"),
        _named(charge.trace, f"{spec.key}_slow_charge"),
        tuple(pulses),
    )


def _named(trace: Trace, name: str) -> Trace:
    return Trace(trace.time_s, trace.current_a, trace.voltage_v, trace.temperature_c, name)


def write_lab_tests(tests: LabTests, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for trace in (tests.slow_discharge, tests.slow_charge, *tests.pulse_tests):
        path = directory / f"{trace.source}.csv"
        write_trace(trace, path)
        paths.append(path)
    return paths


def characterize_cell(spec: CellSpec, temperatures_c: tuple[float, ...] = (25.0,)) -> CellModel:
    tests = run_lab_tests(spec, temperatures_c)
    return characterize(
        chemistry=spec.chemistry,
        slow_discharge=tests.slow_discharge,
        slow_charge=tests.slow_charge,
        pulse_tests=tests.pulse_tests,
        name=f"PyBaMM {spec.parameter_set} (characterised from simulated lab tests)",
    )
