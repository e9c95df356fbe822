"""Cell equations: an equivalent circuit (OCV with hysteresis, R0, two RC pairs) and a lumped thermal node.

Everything is vectorised over an array of cells of any shape; the simulator uses (packs, cells in
series). Currents are + = charging. The RC pairs are discretised exactly for a constant current over
the step, so large steps stay stable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from smartbms.sim.params import CellParameters

FloatArray = NDArray[np.float64]

_SECONDS_PER_MONTH = 30.0 * 86_400.0


@dataclass
class CellState:
    """The dynamic state of every cell: arrays of one shape, advanced by ``EquivalentCircuitModel.step``."""

    soc_pct: FloatArray
    v1_v: FloatArray
    v2_v: FloatArray
    # -1 after discharging, +1 after charging (LFP OCV hysteresis).
    hysteresis: FloatArray
    temperature_c: FloatArray

    def copy(self) -> CellState:
        return CellState(
            *(
                np.array(a, copy=True)
                for a in (self.soc_pct, self.v1_v, self.v2_v, self.hysteresis, self.temperature_c)
            )
        )


def _rc_mean_power(
    v0: FloatArray, v_end: FloatArray, inv_r: FloatArray, g1: FloatArray, g2: FloatArray
) -> FloatArray:
    """Mean power in an RC pair's resistor over a step: the exact integral of v²/R for an exponential
    approach from ``v0`` to ``v_end`` (= R·I), so long steps do not over-count the heat.
    ``g1`` = 2τ(1−a)/dt and ``g2`` = τ(1−a²)/(2dt) come with the step coefficients."""
    d = v0 - v_end
    return (v_end * v_end + d * (v_end * g1 + d * g2)) * inv_r


class _UniformTable:
    """Piecewise-linear y(x) resampled on a uniform grid that contains every knot, so lookups are two
    array gathers instead of a binary search per element (exact, not an approximation)."""

    def __init__(self, x: FloatArray, ys: list[FloatArray], step: float = 0.5) -> None:
        self.x0 = float(x[0])
        n = round((float(x[-1]) - self.x0) / step)
        grid = self.x0 + step * np.arange(n + 1)
        knots = (x - self.x0) / step
        self.exact = bool(np.allclose(knots, np.round(knots)))
        self.inv_step = 1.0 / step
        self.n = n
        self.values = [np.interp(grid, x, y) for y in ys]
        self.slopes = [np.append(np.diff(v), 0.0) for v in self.values]

    def index(self, xq: FloatArray) -> tuple[NDArray[np.intp], FloatArray]:
        f = np.clip((xq - self.x0) * self.inv_step, 0.0, float(self.n))
        i = np.minimum(f.astype(np.intp), self.n - 1)
        return i, f - i


@dataclass(frozen=True)
class StepCoefficients:
    dt_s: float
    r0: FloatArray
    r1: FloatArray
    r2: FloatArray
    a1: FloatArray
    a2: FloatArray
    # Terminal voltage after a step = open-circuit part + r_eff × current (exact for the discrete model).
    r_eff: FloatArray
    inv_r1: FloatArray
    inv_r2: FloatArray
    g1_1: FloatArray
    g2_1: FloatArray
    g1_2: FloatArray
    g2_2: FloatArray


class EquivalentCircuitModel:
    """The cell equations with each cell's own capacity, resistance scale and self-discharge.

    ``capacity_ah``, ``resistance_scale`` and ``self_discharge_scale`` are arrays of the cell shape
    (cell-to-cell variation); the chemistry tables are shared.
    """

    def __init__(
        self,
        params: CellParameters,
        capacity_ah: FloatArray,
        resistance_scale: FloatArray,
        self_discharge_scale: FloatArray,
    ) -> None:
        self.params = params
        self.capacity_ah = np.asarray(capacity_ah, dtype=float)
        self.shape = self.capacity_ah.shape
        self._ohm_per_ohm_ah: FloatArray = np.asarray(resistance_scale, dtype=float) / self.capacity_ah
        # Self-discharge as a leak current: x % of capacity per month.
        self.leak_a = (
            params.self_discharge_pct_per_month
            / 100.0
            * self.capacity_ah
            * 3600.0
            / _SECONDS_PER_MONTH
            * np.asarray(self_discharge_scale, dtype=float)
        )
        self._coulombs_per_pct = self.capacity_ah * 36.0
        self._heat_capacity = params.heat_capacity_j_per_k_per_ah * self.capacity_ah
        self._g_ambient = params.ambient_conductance_w_per_k_per_ah * self.capacity_ah
        self._g_neighbour = params.neighbour_conductance_w_per_k_per_ah * self.capacity_ah
        # Stacked (5, temperatures × soc points) table so one gather serves all five quantities.
        self._table = np.stack(
            [params.r0_ohm_ah, params.r1_ohm_ah, params.tau1_s, params.r2_ohm_ah, params.tau2_s]
        ).reshape(5, -1)
        self._table_rows = np.ascontiguousarray(self._table.T)
        self._n_soc = params.rc_soc_pct.size
        self._soc_index = np.arange(self._n_soc, dtype=float)
        self._t_index = np.arange(params.temperature_c.size, dtype=float)
        self._ocv_soc = params.soc_pct
        self._ocv_v = params.ocv_v
        self._hyst_v = params.hysteresis_half_v
        self._has_hysteresis = bool(np.any(params.hysteresis_half_v != 0.0))
        self._entropic = (
            params.docv_dt_v_per_k if params.docv_dt_v_per_k is not None else np.zeros_like(params.ocv_v)
        )
        self._has_entropic = bool(np.any(self._entropic != 0.0))
        table = _UniformTable(params.soc_pct, [params.ocv_v, params.hysteresis_half_v, self._entropic])
        self._ocv_table: _UniformTable | None = table if table.exact else None
        # Open-circuit voltage at the end of the last step (the plant reuses it for the next one).
        self.last_ocv_v: FloatArray | None = None
        self._thermal_tau_min_s = float(
            np.min(self._heat_capacity / (self._g_ambient + 2.0 * self._g_neighbour))
        )

    # Read-only views for the single-pack plant, which runs these equations in plain floats.
    @property
    def coulombs_per_pct(self) -> FloatArray:
        return self._coulombs_per_pct

    @property
    def heat_capacity(self) -> FloatArray:
        return self._heat_capacity

    @property
    def g_ambient(self) -> FloatArray:
        return self._g_ambient

    @property
    def g_neighbour(self) -> FloatArray:
        return self._g_neighbour

    @property
    def thermal_tau_min_s(self) -> float:
        return self._thermal_tau_min_s

    @property
    def has_hysteresis(self) -> bool:
        return self._has_hysteresis

    @property
    def has_entropic(self) -> bool:
        return self._has_entropic

    @property
    def rc_table_rows(self) -> FloatArray:
        """(temperatures × SOC points, 5): R0, R1, tau1, R2, tau2 per table point, in Ω·Ah and s."""
        return self._table_rows

    @property
    def ohm_per_ohm_ah(self) -> FloatArray:
        """Each cell's factor from the tables' Ω·Ah to its own Ω (resistance scale / capacity)."""
        return self._ohm_per_ohm_ah

    @property
    def ocv_table(self) -> _UniformTable | None:
        """The OCV, hysteresis and entropic tables on a uniform SOC grid (None when not exact)."""
        return self._ocv_table

    def initial_state(self, soc_pct: FloatArray, temperature_c: FloatArray | float) -> CellState:
        zeros = np.zeros(self.shape)
        return CellState(
            soc_pct=np.broadcast_to(np.asarray(soc_pct, dtype=float), self.shape).copy(),
            v1_v=zeros.copy(),
            v2_v=zeros.copy(),
            hysteresis=zeros.copy(),
            temperature_c=np.broadcast_to(np.asarray(temperature_c, dtype=float), self.shape).copy(),
        )

    def rc_parameters(self, state: CellState) -> tuple[FloatArray, ...]:
        """(R0, R1, tau1, R2, tau2) of every cell at its SOC and temperature (bilinear, clamped)."""
        p = self.params
        fs = np.interp(state.soc_pct, p.rc_soc_pct, self._soc_index)
        ft = np.interp(state.temperature_c, p.temperature_c, self._t_index)
        s0 = (
            np.minimum(fs.astype(np.intp), self._n_soc - 2)
            if self._n_soc > 1
            else np.zeros(fs.shape, np.intp)
        )
        t0 = np.minimum(ft.astype(np.intp), max(p.temperature_c.size - 2, 0))
        ws = fs - s0
        wt = ft - t0
        idx = t0 * self._n_soc + s0
        # Row gathers from the (points, 5) table: one contiguous read per corner and cell.
        tab = self._table_rows
        ws = ws[..., None]
        lo = tab[idx] * (1.0 - ws) + tab[idx + 1] * ws
        if p.temperature_c.size > 1:
            hi = tab[idx + self._n_soc] * (1.0 - ws) + tab[idx + self._n_soc + 1] * ws
            vals = lo + (hi - lo) * wt[..., None]
        else:
            vals = lo
        r0, r1, tau1, r2, tau2 = np.moveaxis(vals, -1, 0)
        k = self._ohm_per_ohm_ah
        return r0 * k, r1 * k, tau1, r2 * k, tau2

    def ocv(self, state: CellState) -> FloatArray:
        """OCV(SOC, T) with hysteresis: the table, the hysteresis half-gap, the entropic term."""
        soc = state.soc_pct
        tab = self._ocv_table
        if tab is None:
            ocv = np.interp(soc, self._ocv_soc, self._ocv_v)
            if self._has_hysteresis:
                ocv = ocv + state.hysteresis * np.interp(soc, self._ocv_soc, self._hyst_v)
            if self._has_entropic:
                ocv = ocv + np.interp(soc, self._ocv_soc, self._entropic) * (state.temperature_c - 25.0)
            return ocv
        i, w = tab.index(soc)
        ocv = tab.values[0][i] + tab.slopes[0][i] * w
        if self._has_hysteresis:
            ocv = ocv + state.hysteresis * (tab.values[1][i] + tab.slopes[1][i] * w)
        if self._has_entropic:
            ocv = ocv + (tab.values[2][i] + tab.slopes[2][i] * w) * (state.temperature_c - 25.0)
        return ocv  # type: ignore[no-any-return]

    def coefficients(self, state: CellState, dt_s: float) -> StepCoefficients:
        """Per-cell resistances and RC decay factors for steps of ``dt_s`` at the present state."""
        r0, r1, tau1, r2, tau2 = self.rc_parameters(state)
        a1 = np.exp(-dt_s / tau1)
        a2 = np.exp(-dt_s / tau2)
        return StepCoefficients(
            dt_s,
            r0,
            r1,
            r2,
            a1,
            a2,
            r0 + r1 * (1.0 - a1) + r2 * (1.0 - a2),
            1.0 / r1,
            1.0 / r2,
            2.0 * tau1 * (1.0 - a1) / dt_s,
            tau1 * (1.0 - a1 * a1) / (2.0 * dt_s),
            2.0 * tau2 * (1.0 - a2) / dt_s,
            tau2 * (1.0 - a2 * a2) / (2.0 * dt_s),
        )

    def step(
        self,
        state: CellState,
        current_a: FloatArray,
        dt_s: float,
        ambient_c: float | FloatArray,
        extra_leak_a: FloatArray | None = None,
        extra_heat_w: FloatArray | None = None,
        coeffs: StepCoefficients | None = None,
    ) -> FloatArray:
        """Advance every cell by ``dt_s`` at ``current_a`` (+ = charging); return the terminal voltages.

        ``extra_leak_a`` is charge lost inside a cell (a soft short); ``extra_heat_w`` heat from outside
        the cell (bleed resistors on the board). ``coeffs`` may be reused across steps of the same length
        while SOC and temperature move little (the simulator refreshes them every few seconds).
        """
        p = self.params
        c = coeffs if coeffs is not None and coeffs.dt_s == dt_s else self.coefficients(state, dt_s)
        heat = current_a * current_a * c.r0
        heat = heat + _rc_mean_power(state.v1_v, c.r1 * current_a, c.inv_r1, c.g1_1, c.g2_1)
        heat = heat + _rc_mean_power(state.v2_v, c.r2 * current_a, c.inv_r2, c.g1_2, c.g2_2)
        state.v1_v = c.a1 * state.v1_v + (1.0 - c.a1) * c.r1 * current_a
        state.v2_v = c.a2 * state.v2_v + (1.0 - c.a2) * c.r2 * current_a
        # Charge stored: coulombic losses only when charging.
        stored = np.where(current_a > 0.0, current_a * p.coulombic_efficiency, current_a) - self.leak_a
        if extra_leak_a is not None:
            stored = stored - extra_leak_a
        state.soc_pct = state.soc_pct + stored * dt_s / self._coulombs_per_pct
        if self._has_hysteresis:
            direction = np.sign(current_a)
            decay = np.exp(-p.hysteresis_rate * np.abs(current_a) * dt_s / (self._coulombs_per_pct * 100.0))
            state.hysteresis = direction + (state.hysteresis - direction) * decay
        if extra_heat_w is not None:
            heat = heat + extra_heat_w
        self._thermal_step(state, heat, dt_s, ambient_c)
        self.last_ocv_v = self.ocv(state)
        return self.last_ocv_v + c.r0 * current_a + state.v1_v + state.v2_v

    def _thermal_step(
        self, state: CellState, heat_w: FloatArray, dt_s: float, ambient_c: float | FloatArray
    ) -> None:
        # Explicit steps, split so each stays well inside the thermal time constant.
        tau_min = self._thermal_tau_min_s
        n_sub = max(1, int(np.ceil(dt_s / (0.2 * tau_min))))
        h = dt_s / n_sub
        temp = state.temperature_c
        for _ in range(n_sub):
            flow = heat_w + self._g_ambient * (ambient_c - temp)
            if temp.shape[-1] > 1:
                # Heat exchange with the neighbours in the series string (cells sit side by side).
                diff = np.diff(temp, axis=-1) * self._g_neighbour[..., 1:]
                flow = flow.copy()
                flow[..., :-1] += diff
                flow[..., 1:] -= diff
            temp = temp + h * flow / self._heat_capacity
        state.temperature_c = temp
