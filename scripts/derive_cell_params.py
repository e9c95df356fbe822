"""Derive the simulator's cell tables (OCV, R0 and two RC pairs) from PyBaMM parameter sets.

Run (needs the ``validate`` extra; about a minute on two cores)::

    PYBAMM_DISABLE_TELEMETRY=true .venv/bin/python scripts/derive_cell_params.py

It writes ``src/smartbms/sim/params/{lfp,nmc,lto}.json``; the tables are committed as data so
the simulator never needs PyBaMM at run time.

Method, per chemistry:

* OCV(SOC): the electrode open-circuit potentials of the PyBaMM parameter set, U_p(y) − U_n(x),
  with the stoichiometries swept linearly between the 0 % and 100 % points PyBaMM computes from
  the set's voltage cut-offs (``get_min_max_stoichiometries``), extended 4 % beyond each end so
  over-charge and over-discharge show their steep walls.
* R0, R1/τ1, R2/τ2 against SOC and temperature: a C/2 discharge pulse of 60 s followed by 900 s rest
  in PyBaMM's SPMe at 1 s, fitted with a two-RC Thevenin model by least squares. Resistances are
  stored multiplied by the source cell's capacity (Ω·Ah) so they scale to any cell size at the same
  C-rate, which is how large prismatic cells of one chemistry compare with small ones.
* Temperature: the SPMe runs are repeated at each table temperature (isothermal). The sets'
  kinetic and diffusion Arrhenius terms are what makes the values change with temperature.

Sources: LFP = PyBaMM ``Prada2013`` (A123 ANR26650 LFP/graphite, Prada et al., J. Electrochem. Soc.
159 (2012) A1508); NMC = PyBaMM ``Chen2020`` (LG M50 NMC811/graphite-SiOx, Chen et al., J. Electrochem.
Soc. 167 (2020) 080534). LTO has no PyBaMM set: its OCV is the Chen2020 NMC811 positive OCP against an
LTO negative with the 1.55 V plateau of Li4Ti5O12 vs Li (Ohzuku et al., J. Electrochem. Soc. 142 (1995)
1431), and its RC values are the NMC fit halved (assumption: LTO cells are low-impedance).
OCV temperature dependence (entropic change, dOCV/dT against SOC): Prada2013 and Chen2020 carry none, so the
graphite and NMC811 entropic changes of PyBaMM ``ORegan2022`` (the same LG M50 cell as Chen2020;
O'Regan et al., Electrochim. Acta 425 (2022) 140700) are used along each cell's stoichiometry window;
LFP's and LTO's own electrode terms are taken as 0.
LFP OCV hysteresis is not in Prada2013; the half-gap stored here is an assumption of the order
reported for LFP (Dreyer et al., Nature Materials 9 (2010) 448): 7.5 mV in the plateau, tapering to 0
at both ends.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import least_squares

os.environ.setdefault("PYBAMM_DISABLE_TELEMETRY", "true")

OUT_DIR = Path(__file__).resolve().parents[1] / "src" / "smartbms" / "sim" / "params"
SOC_GRID_PCT = np.array(
    [
        -4,
        -2,
        0,
        1,
        2.5,
        5,
        7.5,
        10,
        15,
        20,
        30,
        40,
        50,
        60,
        70,
        80,
        85,
        90,
        92.5,
        95,
        97.5,
        99,
        100,
        102,
        104,
    ],
    dtype=float,
)
FIT_SOC_PCT = np.array([10, 20, 35, 50, 65, 80, 90, 95], dtype=float)
TEMPERATURES_C = np.array([0.0, 25.0, 45.0])
PULSE_S, REST_S, PRE_REST_S = 60, 900, 10
PULSE_C_RATE = 0.5
LTO_PLATEAU_V = 1.55


def _ocp(fn: Any, sto: float, temperature_k: float) -> float:
    import inspect

    import pybamm

    n_args = len(inspect.signature(fn).parameters)
    args = (pybamm.Scalar(sto),) if n_args == 1 else (pybamm.Scalar(sto), pybamm.Scalar(temperature_k))
    return float(fn(*args).evaluate())


def _ocv_table(params: Any, negative: str = "graphite") -> list[float]:
    import pybamm

    x0, x100, y100, y0 = pybamm.lithium_ion.get_min_max_stoichiometries(params)
    u_p = params["Positive electrode OCP [V]"]
    u_n = params["Negative electrode OCP [V]"]
    out = []
    for soc in SOC_GRID_PCT / 100.0:
        x = min(max(x0 + soc * (x100 - x0), 1e-4), 1 - 1e-4)
        y = min(max(y0 + soc * (y100 - y0), 1e-4), 1 - 1e-4)
        un = _ocp(u_n, x, 298.15) if negative == "graphite" else _lto_ocp(soc)
        out.append(round(_ocp(u_p, y, 298.15) - un, 5))
    # Past the stoichiometry limits the OCPs saturate; continue the wall at its last slope instead.
    for k in range(2, len(out)):
        if out[k] <= out[k - 1] + 1e-4:
            slope = (out[k - 1] - out[k - 2]) / (SOC_GRID_PCT[k - 1] - SOC_GRID_PCT[k - 2])
            out[k] = round(out[k - 1] + slope * (SOC_GRID_PCT[k] - SOC_GRID_PCT[k - 1]), 5)
    return out


def _entropic_table(params: Any, cell: str) -> list[float]:
    """Full-cell dOCV/dT (V/K) along the SOC grid: dU_p/dT(y) − dU_n/dT(x) from PyBaMM ``ORegan2022``
    (LG M50 graphite and NMC811, O'Regan et al., Electrochim. Acta 425 (2022) 140700), where the set in use
    has none. LFP's own entropic change is taken as 0 (Prada2013 carries none); LTO's negative as 0."""
    import pybamm

    oregan = pybamm.ParameterValues("ORegan2022")
    x0, x100, y100, y0 = pybamm.lithium_ion.get_min_max_stoichiometries(params)
    dn = oregan["Negative electrode OCP entropic change [V.K-1]"]
    dn = dn if cell in ("lfp", "nmc") else None  # graphite negatives; LTO's taken as 0
    dp = oregan["Positive electrode OCP entropic change [V.K-1]"] if cell in ("nmc", "lto") else None
    out = []
    for soc in np.clip(SOC_GRID_PCT / 100.0, 0.0, 1.0):
        x = min(max(x0 + soc * (x100 - x0), 1e-4), 1 - 1e-4)
        y = min(max(y0 + soc * (y100 - y0), 1e-4), 1 - 1e-4)
        d_neg = float(dn(pybamm.Scalar(x)).evaluate()) if dn is not None else 0.0
        d_pos = float(dp(pybamm.Scalar(y)).evaluate()) if dp is not None else 0.0
        out.append(round(d_pos - d_neg, 9))
    return out


def _lto_ocp(soc: float) -> float:
    """Li4Ti5O12 vs Li: flat 1.55 V plateau with steep walls at both ends (own smooth fit)."""
    return LTO_PLATEAU_V + 0.35 * math.exp(-(soc + 0.06) / 0.025) - 0.25 * math.exp((soc - 1.06) / 0.025)


def _thevenin_response(theta: np.ndarray, current_a: np.ndarray, dt: float) -> np.ndarray:
    """Overpotential of R0 + two RC pairs for a current trace (+ = discharge, volts below OCV)."""
    r0, r1, tau1, r2, tau2 = theta
    a1, a2 = math.exp(-dt / tau1), math.exp(-dt / tau2)
    v1 = v2 = 0.0
    out = np.empty_like(current_a)
    for k, i in enumerate(current_a):
        v1 = a1 * v1 + r1 * (1 - a1) * i
        v2 = a2 * v2 + r2 * (1 - a2) * i
        out[k] = r0 * i + v1 + v2
    return out


def _fit_rc(params: Any, soc_pct: float, temperature_c: float) -> tuple[float, ...]:
    import pybamm

    params = params.copy()
    params.update(
        {
            "Ambient temperature [K]": temperature_c + 273.15,
            "Initial temperature [K]": temperature_c + 273.15,
        },
        check_already_exists=False,
    )
    capacity = float(params["Nominal cell capacity [A.h]"])
    experiment = pybamm.Experiment(
        [
            f"Rest for {PRE_REST_S} seconds",
            f"Discharge at {PULSE_C_RATE}C for {PULSE_S} seconds",
            f"Rest for {REST_S} seconds",
        ],
        period="1 second",
    )
    sim = pybamm.Simulation(
        pybamm.lithium_ion.SPMe(),
        parameter_values=params,
        experiment=experiment,
        solver=pybamm.IDAKLUSolver(rtol=1e-6, atol=1e-8),
    )
    sol = sim.solve(initial_soc=soc_pct / 100.0)
    t = sol["Time [s]"].entries
    v = sol["Voltage [V]"].entries
    if t[-1] < PRE_REST_S + PULSE_S + REST_S - 1:
        raise RuntimeError(f"PyBaMM stopped early at {t[-1]:.0f} s (a voltage cut-off)")
    # Samples at 1 s from the current onset; the value just before the onset is the rested OCV.
    grid = np.arange(PRE_REST_S, PRE_REST_S + PULSE_S + REST_S + 1.0) + 1e-6
    v_g = np.interp(grid, t, v)
    ocv_start = float(np.interp(PRE_REST_S - 1e-6, t, v))
    ocv_end = float(v_g[-1])
    current = PULSE_C_RATE * capacity
    i_step = np.where(grid - PRE_REST_S < PULSE_S, current, 0.0)
    # The pulse moves SOC a little: let the OCV follow the charge passed, from start to end value.
    charge = np.cumsum(i_step)
    ocv = ocv_start + (ocv_end - ocv_start) * charge / charge[-1]
    overpotential = ocv - v_g

    def residual(theta: np.ndarray) -> np.ndarray:
        return _thevenin_response(np.exp(theta), i_step, 1.0) - overpotential

    r_guess = 0.02 / capacity
    theta0 = np.log([r_guess, r_guess, 8.0, r_guess, 150.0])
    # tau1 >= 3 s so the instantaneous part at 1 s sampling lands in R0, not in a fast RC pair.
    fit = least_squares(
        residual,
        theta0,
        bounds=(np.log([1e-6, 1e-7, 3.0, 1e-7, 40.0]), np.log([1.0, 1.0, 40.0, 1.0, 3000.0])),
    )
    r0, r1, tau1, r2, tau2 = np.exp(fit.x)
    rms_mv = float(np.sqrt(np.mean(fit.fun**2)) * 1000)
    return r0 * capacity, r1 * capacity, tau1, r2 * capacity, tau2, rms_mv


def _rc_tables(params: Any, scale: float = 1.0) -> dict[str, Any]:
    keys = ("r0_ohm_ah", "r1_ohm_ah", "tau1_s", "r2_ohm_ah", "tau2_s")
    tables: dict[str, list[list[float]]] = {k: [] for k in keys}
    worst_fit_mv = 0.0
    for temperature in TEMPERATURES_C:
        rows: dict[str, list[float]] = {k: [] for k in keys}
        for soc in FIT_SOC_PCT:
            *values, rms_mv = _fit_rc(params, float(soc), float(temperature))
            worst_fit_mv = max(worst_fit_mv, rms_mv)
            for k, value in zip(keys, values, strict=True):
                is_resistance = k.startswith("r")
                rows[k].append(round(float(value) * (scale if is_resistance else 1.0), 8))
            print(
                f"  T={temperature:5.1f} °C SOC={soc:5.1f} %: R0·Q={values[0] * 1000:.2f} mΩ·Ah "
                f"tau1={values[2]:.1f} s tau2={values[4]:.0f} s fit {rms_mv:.2f} mV"
            )
        for k in keys:
            tables[k].append(rows[k])
    return {
        "rc_soc_pct": FIT_SOC_PCT.tolist(),
        "temperature_c": TEMPERATURES_C.tolist(),
        **tables,
        "rc_fit_worst_rms_mv": round(worst_fit_mv, 3),
    }


def _hysteresis_half_v(peak_v: float) -> list[float]:
    soc = SOC_GRID_PCT
    taper = np.clip(np.minimum(soc, 100 - soc) / 10.0, 0.0, 1.0)
    return [round(float(peak_v * t), 5) for t in taper]


def _write(name: str, data: dict[str, Any]) -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def main() -> None:
    import pybamm

    common = {"format": "smartbms.sim.cell_params/1", "soc_pct": SOC_GRID_PCT.tolist()}
    print("LFP (Prada2013)")
    lfp = pybamm.ParameterValues("Prada2013")
    _write(
        "lfp",
        {
            **common,
            "chemistry": "LFP",
            "source": "OCV and RC fits from PyBaMM parameter set Prada2013 (A123 ANR26650; Prada et al. "
            "2012) "
            "via "
            "scripts/derive_cell_params.py; entropic change: graphite of PyBaMM ORegan2022, LFP side 0; "
            "hysteresis half-gap assumed (Dreyer et al. 2010 order); "
            "thermal and self-discharge: EVE LF280K-class datasheet figures (see 'notes').",
            "ocv_v": _ocv_table(lfp),
            "docv_dt_v_per_k": _entropic_table(lfp, "lfp"),
            "hysteresis_half_v": _hysteresis_half_v(0.0075),
            **_rc_tables(lfp),
            "coulombic_efficiency": 0.999,
            "self_discharge_pct_per_month": 3.0,
            "hysteresis_rate": 30.0,
            "heat_capacity_j_per_k_per_ah": 19.0,
            "ambient_conductance_w_per_k_per_ah": 0.0036,
            "neighbour_conductance_w_per_k_per_ah": 0.0054,
            "notes": "Heat capacity ~5.4 kg x 1000 J/(kg K) for a 280 Ah prismatic; "
            "self-discharge <=3 %/month "
            "as LFP datasheets state; conductances give a ~1.5 h thermal time constant to ambient.",
        },
    )
    print("NMC (Chen2020)")
    nmc = pybamm.ParameterValues("Chen2020")
    nmc_rc = _rc_tables(nmc)
    _write(
        "nmc",
        {
            **common,
            "chemistry": "NMC",
            "source": "OCV and RC fits from PyBaMM parameter set Chen2020 (LG M50; Chen et al. 2020) via "
            "scripts/derive_cell_params.py; entropic change of PyBaMM ORegan2022 (the same LG M50); "
            "no hysteresis.",
            "ocv_v": _ocv_table(nmc),
            "docv_dt_v_per_k": _entropic_table(nmc, "nmc"),
            "hysteresis_half_v": [0.0] * len(SOC_GRID_PCT),
            **nmc_rc,
            "coulombic_efficiency": 0.998,
            "self_discharge_pct_per_month": 2.0,
            "hysteresis_rate": 30.0,
            "heat_capacity_j_per_k_per_ah": 14.0,
            "ambient_conductance_w_per_k_per_ah": 0.003,
            "neighbour_conductance_w_per_k_per_ah": 0.004,
            "notes": "LG M50: 69 g x ~1000 J/(kg K) / 5 Ah = 14 J/(K Ah).",
        },
    )
    print("LTO (Chen2020 positive vs LTO plateau)")
    _write(
        "lto",
        {
            **common,
            "chemistry": "LTO",
            "source": "OCV: Chen2020 NMC811 positive OCP against an Li4Ti5O12 negative plateau at 1.55 V "
            "(Ohzuku "
            "et al. 1995), own smooth end walls; entropic change: NMC811 of PyBaMM ORegan2022, LTO side 0; "
            "RC: the Chen2020 NMC fit halved (assumption). "
            "Illustrative, not a measured LTO cell.",
            "ocv_v": _ocv_table(nmc, negative="lto"),
            "docv_dt_v_per_k": _entropic_table(nmc, "lto"),
            "hysteresis_half_v": [0.0] * len(SOC_GRID_PCT),
            **{
                k: (
                    [[v * 0.5 for v in row] for row in t]
                    if k in ("r0_ohm_ah", "r1_ohm_ah", "r2_ohm_ah")
                    else t
                )
                for k, t in nmc_rc.items()
            },
            "coulombic_efficiency": 0.9995,
            "self_discharge_pct_per_month": 1.0,
            "hysteresis_rate": 30.0,
            "heat_capacity_j_per_k_per_ah": 25.0,
            "ambient_conductance_w_per_k_per_ah": 0.004,
            "neighbour_conductance_w_per_k_per_ah": 0.005,
            "notes": "LTO cells are heavy per Ah (low voltage), hence the larger heat capacity per Ah.",
        },
    )


if __name__ == "__main__":
    main()
