"""Validation against PyBaMM's own equivalent-circuit (Thevenin) model with the same parameters.

One cell, the same OCV, R0 and two RC pairs (the table row at one temperature, so temperature plays no
part), no hysteresis, no coulombic loss, no self-discharge; a current trace in, voltages out. PyBaMM is
optional (the ``validate`` extra) and imported only here.
"""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from smartbms.sim.params import CellParameters
from smartbms.sim.single_cell import SingleCell

FloatArray = NDArray[np.float64]


def isothermal_parameters(params: CellParameters, temperature_c: float = 25.0) -> CellParameters:
    """The table at one temperature, without hysteresis, entropic term, coulombic loss or self-discharge."""
    k = int(np.argmin(np.abs(params.temperature_c - temperature_c)))

    def row(table: FloatArray) -> FloatArray:
        return table[k : k + 1].copy()

    return replace(
        params,
        temperature_c=params.temperature_c[k : k + 1].copy(),
        r0_ohm_ah=row(params.r0_ohm_ah),
        r1_ohm_ah=row(params.r1_ohm_ah),
        tau1_s=row(params.tau1_s),
        r2_ohm_ah=row(params.r2_ohm_ah),
        tau2_s=row(params.tau2_s),
        hysteresis_half_v=np.zeros_like(params.hysteresis_half_v),
        docv_dt_v_per_k=None,
        coulombic_efficiency=1.0,
        self_discharge_pct_per_month=0.0,
    )


def run_smartbms_cell(
    params: CellParameters,
    capacity_ah: float,
    times_s: FloatArray,
    current_a: FloatArray,
    initial_soc_pct: float,
) -> FloatArray:
    """Terminal voltage at each time; ``current_a`` (+ = charging) is sampled at ``times_s`` and taken
    as linear in between, like PyBaMM's interpolant: the states advance with the interval's mean current,
    the ohmic drop is evaluated with the current at the sample instant. R and RC values are re-evaluated
    every 10 steps, as in the pack simulator."""
    cell = SingleCell(params, capacity_ah, initial_soc_pct)
    currents = [float(x) for x in current_a]
    times = [float(x) for x in times_s]
    out = [cell.ocv() + cell.rc_parameters()[0] * currents[0]]
    for k in range(1, len(times)):
        dt = times[k] - times[k - 1]
        if k % 10 == 1:
            cell.refresh(dt)
        mean = 0.5 * (currents[k - 1] + currents[k])
        v = cell.step(mean, dt)
        out.append(v + cell.r0_ohm * (currents[k] - mean))
    return np.asarray(out)


def run_pybamm_thevenin(
    params: CellParameters,
    capacity_ah: float,
    times_s: FloatArray,
    current_a: FloatArray,
    initial_soc_pct: float,
) -> FloatArray:
    """The same cell in ``pybamm.equivalent_circuit.Thevenin`` with two RC elements."""
    os.environ.setdefault("PYBAMM_DISABLE_TELEMETRY", "true")
    import pybamm

    soc_ocv = params.soc_pct / 100.0
    soc_rc = params.rc_soc_pct / 100.0
    r_scale = 1.0 / capacity_ah

    def interp(x: FloatArray, y: FloatArray, name: str):  # type: ignore[no-untyped-def]
        return lambda *args: pybamm.Interpolant(x, y, args[-1], name=name, extrapolate=True)

    r0 = params.r0_ohm_ah[0] * r_scale
    r1 = params.r1_ohm_ah[0] * r_scale
    r2 = params.r2_ohm_ah[0] * r_scale
    c1 = params.tau1_s[0] / r1
    c2 = params.tau2_s[0] / r2
    model = pybamm.equivalent_circuit.Thevenin(options={"number of rc elements": 2})
    values = model.default_parameter_values
    # PyBaMM counts discharge as positive current.
    current = pybamm.Interpolant(
        np.asarray(times_s, dtype=float), -np.asarray(current_a, dtype=float), pybamm.t, name="drive cycle"
    )
    values.update(
        {
            "Cell capacity [A.h]": capacity_ah,
            "Nominal cell capacity [A.h]": capacity_ah,
            "Initial SoC": initial_soc_pct / 100.0,
            "Current function [A]": current,
            "Open-circuit voltage [V]": lambda soc: pybamm.Interpolant(
                soc_ocv, params.ocv_v, soc, name="ocv", extrapolate=True
            ),
            "R0 [Ohm]": interp(soc_rc, r0, "r0"),
            "R1 [Ohm]": interp(soc_rc, r1, "r1"),
            "C1 [F]": interp(soc_rc, c1, "c1"),
            "R2 [Ohm]": interp(soc_rc, r2, "r2"),
            "C2 [F]": interp(soc_rc, c2, "c2"),
            "Element-2 initial overpotential [V]": 0.0,
            "Entropic change [V/K]": 0.0,
            "Upper voltage cut-off [V]": float(params.ocv_v[-1]) + 1.0,
            "Lower voltage cut-off [V]": float(params.ocv_v[0]) - 1.0,
        },
        check_already_exists=False,
    )
    sim = pybamm.Simulation(model, parameter_values=values, solver=pybamm.IDAKLUSolver(rtol=1e-8, atol=1e-10))
    solution = sim.solve(
        t_eval=[float(times_s[0]), float(times_s[-1])], t_interp=np.asarray(times_s, dtype=float)
    )
    voltage: FloatArray = np.asarray(solution["Voltage [V]"].entries, dtype=float)
    if voltage.size != len(times_s):
        raise RuntimeError(
            f"PyBaMM stopped early: {voltage.size} of {len(times_s)} points (a voltage cut-off?)"
        )
    return voltage


def rms_difference_mv(a: FloatArray, b: FloatArray) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)) * 1000.0)
