"""One cell in plain Python floats: the same equations as :class:`EquivalentCircuitModel`, without numpy's
per-call overhead, for single-cell studies (validation against PyBaMM, parameter sweeps on one cell).

``tests/sim/test_single_cell.py`` checks it step for step against the vectorised model.
"""

from __future__ import annotations

import math
from bisect import bisect_right

from smartbms.sim.params import CellParameters

_SECONDS_PER_MONTH = 30.0 * 86_400.0


def _interp(x: float, xs: list[float], ys: list[float]) -> float:
    """np.interp for one value: linear, clamped at both ends."""
    if x <= xs[0]:
        return ys[0]
    if x >= xs[-1]:
        return ys[-1]
    k = bisect_right(xs, x) - 1
    w = (x - xs[k]) / (xs[k + 1] - xs[k])
    return ys[k] + (ys[k + 1] - ys[k]) * w


class SingleCell:
    def __init__(
        self,
        params: CellParameters,
        capacity_ah: float,
        soc_pct: float,
        temperature_c: float = 25.0,
        resistance_scale: float = 1.0,
        self_discharge_scale: float = 1.0,
    ) -> None:
        p = params
        self.params = p
        self.soc_pct = float(soc_pct)
        self.v1_v = 0.0
        self.v2_v = 0.0
        self.hysteresis = 0.0
        self.temperature_c = float(temperature_c)
        self._k_ohm = resistance_scale / capacity_ah
        self._coulombs_per_pct = capacity_ah * 36.0
        self._leak_a = (
            p.self_discharge_pct_per_month
            / 100.0
            * capacity_ah
            * 3600.0
            / _SECONDS_PER_MONTH
            * self_discharge_scale
        )
        self._heat_capacity = p.heat_capacity_j_per_k_per_ah * capacity_ah
        self._g_ambient = p.ambient_conductance_w_per_k_per_ah * capacity_ah
        self._tau_min = self._heat_capacity / (
            self._g_ambient + 2.0 * p.neighbour_conductance_w_per_k_per_ah * capacity_ah
        )
        self._soc = [float(x) for x in p.soc_pct]
        self._ocv = [float(x) for x in p.ocv_v]
        self._hyst = [float(x) for x in p.hysteresis_half_v]
        self._has_hyst = any(self._hyst)
        self._entropic = [float(x) for x in p.docv_dt_v_per_k] if p.docv_dt_v_per_k is not None else []
        self._has_entropic = any(self._entropic)
        self._rc_soc = [float(x) for x in p.rc_soc_pct]
        self._temps = [float(x) for x in p.temperature_c]
        self._tables = [
            [[float(v) for v in row] for row in t]
            for t in (p.r0_ohm_ah, p.r1_ohm_ah, p.tau1_s, p.r2_ohm_ah, p.tau2_s)
        ]
        self._coeffs: tuple[float, ...] | None = None

    def ocv(self) -> float:
        v = _interp(self.soc_pct, self._soc, self._ocv)
        if self._has_hyst:
            v += self.hysteresis * _interp(self.soc_pct, self._soc, self._hyst)
        if self._has_entropic:
            v += _interp(self.soc_pct, self._soc, self._entropic) * (self.temperature_c - 25.0)
        return v

    def rc_parameters(self) -> tuple[float, float, float, float, float]:
        """(R0, R1, tau1, R2, tau2): bilinear in SOC and temperature, clamped, like the vector model."""
        rows = []
        for table in self._tables:
            per_t = [_interp(self.soc_pct, self._rc_soc, row) for row in table]
            rows.append(_interp(self.temperature_c, self._temps, per_t) if len(per_t) > 1 else per_t[0])
        r0, r1, tau1, r2, tau2 = rows
        k = self._k_ohm
        return r0 * k, r1 * k, tau1, r2 * k, tau2

    def refresh(self, dt_s: float) -> None:
        """Re-evaluate R and the RC decay factors at the present SOC and temperature."""
        r0, r1, tau1, r2, tau2 = self.rc_parameters()
        a1, a2 = math.exp(-dt_s / tau1), math.exp(-dt_s / tau2)
        self._coeffs = (
            dt_s,
            r0,
            r1,
            r2,
            a1,
            a2,
            2.0 * tau1 * (1.0 - a1) / dt_s,
            tau1 * (1.0 - a1 * a1) / (2 * dt_s),
            2.0 * tau2 * (1.0 - a2) / dt_s,
            tau2 * (1.0 - a2 * a2) / (2 * dt_s),
        )

    @property
    def r0_ohm(self) -> float:
        return self._coeffs[1] if self._coeffs is not None else self.rc_parameters()[0]

    def step(self, current_a: float, dt_s: float, ambient_c: float = 25.0) -> float:
        """Advance by ``dt_s`` at ``current_a`` (+ = charging); return the terminal voltage."""
        if self._coeffs is None or self._coeffs[0] != dt_s:
            self.refresh(dt_s)
        assert self._coeffs is not None
        _, r0, r1, r2, a1, a2, g11, g21, g12, g22 = self._coeffs
        p = self.params
        i = current_a
        e1, e2 = r1 * i, r2 * i
        d1, d2 = self.v1_v - e1, self.v2_v - e2
        heat = (
            i * i * r0
            + (e1 * e1 + d1 * (e1 * g11 + d1 * g21)) / r1
            + (e2 * e2 + d2 * (e2 * g12 + d2 * g22)) / r2
        )
        self.v1_v = a1 * self.v1_v + (1.0 - a1) * e1
        self.v2_v = a2 * self.v2_v + (1.0 - a2) * e2
        stored = (i * p.coulombic_efficiency if i > 0.0 else i) - self._leak_a
        self.soc_pct += stored * dt_s / self._coulombs_per_pct
        if self._has_hyst:
            direction = (i > 0.0) - (i < 0.0)
            decay = math.exp(-p.hysteresis_rate * abs(i) * dt_s / (self._coulombs_per_pct * 100.0))
            self.hysteresis = direction + (self.hysteresis - direction) * decay
        n_sub = max(1, math.ceil(dt_s / (0.2 * self._tau_min)))
        h = dt_s / n_sub
        temp = self.temperature_c
        for _ in range(n_sub):
            temp += h * (heat + self._g_ambient * (ambient_c - temp)) / self._heat_capacity
        self.temperature_c = temp
        return self.ocv() + r0 * i + self.v1_v + self.v2_v
