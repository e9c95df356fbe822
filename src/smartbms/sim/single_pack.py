"""One pack in plain Python floats: the path :class:`SimulatedPackSource` steps every BMS tick.

For one 16S pack numpy's per-call overhead (about 0.4 µs per operation on 16 values) costs more than
the arithmetic, so this plant runs the equations of :class:`~smartbms.sim.plant.PackPlant` and
:class:`~smartbms.sim.models.EquivalentCircuitModel` cell by cell in fused loops. Every formula keeps
the operation order of the vectorised code (sums in numpy's pairwise order, table lookups with
``np.interp``'s formula), so a run matches the vectorised plant to the last bits apart from ``exp``;
``tests/sim/test_single_pack.py`` checks that step for step. The tables themselves are read from the
vectorised model, so they live in one place. Fleets keep using :class:`PackPlant`.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from smartbms.sim.faults import ChargerIgnoresDisconnect, Fault, SoftShort, WeldedContactor
from smartbms.sim.models import CellState, EquivalentCircuitModel, FloatArray
from smartbms.sim.pairwise import pairwise_sum
from smartbms.sim.params import CellParameters
from smartbms.sim.plant import ABSORPTION, BULK, FLOAT, HardwareSpec
from smartbms.sim.profiles import ChargerDemand, Demand
from smartbms.sim.variation import CellPopulation


def _np_interp_index(x: float, xs: list[float]) -> float:
    """``np.interp(x, xs, range(len(xs)))`` for one value, with numpy's formula and clamping."""
    if x <= xs[0]:
        return 0.0
    last = len(xs) - 1
    if x >= xs[last]:
        return float(last)
    j = bisect_right(xs, x) - 1
    return 1.0 / (xs[j + 1] - xs[j]) * (x - xs[j]) + j


@dataclass
class PackCommands:
    """What the BMS asked of one pack's hardware (plain values, set by ``SimulatedPackSource.apply``)."""

    charge_closed: bool = True
    discharge_closed: bool = True
    load_disconnect_closed: bool = True
    charge_disconnect_closed: bool = True
    charge_input_enabled: bool = True
    charge_input_limit_a: float = math.inf
    # Per cell; empty lists = no bleed resistor on / no active balancing (the common case, skipped).
    bleed: list[bool] = field(default_factory=list)
    active_a: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class _Coefficients:
    dt_s: float
    r0: list[float]
    a1: list[float]
    a2: list[float]
    # Terminal voltage after a step = open-circuit part + r_eff × current; r_pack is their sum.
    r_eff: list[float]
    r_pack: float
    # Per cell, for the step loop: (r0, r1, r2, a1, a2, (1−a1)·r1, (1−a2)·r2, 1/r1, 1/r2, g1_1, g2_1,
    # g1_2, g2_2, self-discharge A, coulombs per %, coulombs per % × 100).
    cells: list[tuple[float, ...]]


class SinglePackPlant:
    """The pack plant for one pack (``population`` arrays of shape (1, cells)), in Python floats.

    Per-cell state lives in lists (``soc_pct``, ``v1_v``, ``v2_v``, ``hysteresis``, ``temperature_c``,
    ``cell_v`` …) and floats (``current_a``, ``charged_total_ah`` …); the properties with
    :class:`PackPlant`'s names (``state``, ``cell_voltage_v``, ``bled_ah`` …) return numpy copies of
    shape (1, cells) or (1,), for code written against the vectorised plant.
    """

    def __init__(
        self,
        params: CellParameters,
        population: CellPopulation,
        *,
        ambient_c: float = 25.0,
        hardware: HardwareSpec | None = None,
        faults: tuple[Fault, ...] = (),
        initial_temperature_c: float | None = None,
        coefficient_refresh_s: float = 10.0,
    ) -> None:
        self.params = params
        self.population = population
        self.hardware = hardware or HardwareSpec()
        self.faults = faults
        self.ambient_c = float(ambient_c)
        self.model = EquivalentCircuitModel(
            params, population.capacity_ah, population.resistance_scale, population.self_discharge_scale
        )
        n_packs, self.cells = self.model.shape
        if n_packs != 1:
            raise ValueError(f"SinglePackPlant steps one pack (got {n_packs}); use PackPlant for fleets")
        temp0 = ambient_c if initial_temperature_c is None else initial_temperature_c
        state = self.model.initial_state(population.initial_soc_pct, temp0)
        self.soc_pct: list[float] = state.soc_pct[0].tolist()
        self.v1_v: list[float] = state.v1_v[0].tolist()
        self.v2_v: list[float] = state.v2_v[0].tolist()
        self.hysteresis: list[float] = state.hysteresis[0].tolist()
        self.temperature_c: list[float] = state.temperature_c[0].tolist()
        self.commands = PackCommands()
        self.time_s = 0.0
        self.coefficient_refresh_s = coefficient_refresh_s
        self._coeffs: _Coefficients | None = None
        self._coeffs_time_s = 0.0
        self._init_constants()
        self.ocv_v = self._ocv_all()
        # The truth after the last step, in floats (the properties below give PackPlant-shaped arrays).
        self.cell_v: list[float] = list(self.ocv_v)
        self.current_a = 0.0
        self.balancing_a: list[float] = [0.0] * self.cells
        self.resistor_temp_c = [self.ambient_c] * self.cells
        self.fet_temp_c = self.ambient_c
        self.stage = BULK
        self._absorption_s = 0.0
        self.charged_total_ah = 0.0
        self.discharged_total_ah = 0.0
        self.bled_per_cell_ah: list[float] = [0.0] * self.cells

    def _init_constants(self) -> None:
        m = self.model
        p = self.params
        self._leak_a = m.leak_a[0].tolist()
        self._coulombs_per_pct = m.coulombs_per_pct[0].tolist()
        self._coulombs_per_pct_100 = (m.coulombs_per_pct[0] * 100.0).tolist()
        self._heat_capacity = m.heat_capacity[0].tolist()
        self._g_ambient = m.g_ambient[0].tolist()
        self._g_neighbour = m.g_neighbour[0].tolist()
        self._thermal_tau_min_s = m.thermal_tau_min_s
        # Per cell: (conductance to ambient, conductance to the next cell up or None, heat capacity).
        g_next: list[float | None] = [*self._g_neighbour[1:], None]
        self._thermal_cells = list(zip(self._g_ambient, g_next, self._heat_capacity, strict=True))
        self._efficiency = float(p.coulombic_efficiency)
        self._hysteresis_rate = float(p.hysteresis_rate)
        self._has_hysteresis = m.has_hysteresis
        self._has_entropic = m.has_entropic
        self._flat_soc = float(p.soc_pct[0])
        self._rc_rows = [tuple(row) for row in m.rc_table_rows.tolist()]
        self._rc_soc = [float(x) for x in p.rc_soc_pct]
        self._rc_temps = [float(x) for x in p.temperature_c]
        self._n_soc = len(self._rc_soc)
        self._n_temps = len(self._rc_temps)
        self._k_ohm = m.ohm_per_ohm_ah[0].tolist()
        table = m.ocv_table
        self._table = table
        if table is not None:
            self._t_x0 = table.x0
            self._t_inv_step = table.inv_step
            self._t_n = float(table.n)
            self._t_last = table.n - 1
            self._t_values = [v.tolist() for v in table.values]
            self._t_slopes = [s.tolist() for s in table.slopes]
        # Faults by kind for pack 0, so a quiet step costs one empty-tuple test per kind.
        mine = tuple(f for f in self.faults if f.pack == 0)
        self._soft_shorts = tuple(f for f in mine if isinstance(f, SoftShort))
        self._welded = tuple(f for f in mine if isinstance(f, WeldedContactor))
        self._charger_ignores = tuple(f for f in mine if isinstance(f, ChargerIgnoresDisconnect))
        self._dt_cache: tuple[float, float, float, int] | None = None
        self._zeros = [0.0] * self.cells  # shared, never written to
        self._resistors_settled = False

    # -- views shaped like PackPlant's, for tests, plots and reports --------------------------
    @property
    def state(self) -> CellState:
        """A numpy copy of the cell state, shape (1, cells); editing it does not change the plant."""
        return CellState(
            *(
                np.array([values], dtype=float)
                for values in (self.soc_pct, self.v1_v, self.v2_v, self.hysteresis, self.temperature_c)
            )
        )

    @property
    def packs(self) -> int:
        return 1

    @property
    def cell_voltage_v(self) -> FloatArray:
        return np.array([self.cell_v])

    @property
    def pack_current_a(self) -> FloatArray:
        return np.array([self.current_a])

    @property
    def balancing_current_a(self) -> FloatArray:
        return np.array([self.balancing_a])

    @property
    def bleed_resistor_temp_c(self) -> FloatArray:
        return np.array([self.resistor_temp_c])

    @property
    def fet_temperature_c(self) -> FloatArray:
        return np.array([self.fet_temp_c])

    @property
    def charger_stage(self) -> NDArray[np.int_]:
        return np.array([self.stage])

    @property
    def charged_ah(self) -> FloatArray:
        return np.array([self.charged_total_ah])

    @property
    def discharged_ah(self) -> FloatArray:
        return np.array([self.discharged_total_ah])

    @property
    def bled_ah(self) -> FloatArray:
        return np.array([self.bled_per_cell_ah])

    def set_state(
        self, *, soc_pct: Sequence[float] | None = None, temperature_c: Sequence[float] | None = None
    ) -> None:
        """Set cells' SOC or temperature from outside (tests, scenario set-up) and drop cached values."""
        if soc_pct is not None:
            self.soc_pct = [float(x) for x in soc_pct]
        if temperature_c is not None:
            self.temperature_c = [float(x) for x in temperature_c]
        self._coeffs = None
        self.ocv_v = self._ocv_all()
        self.cell_v = list(self.ocv_v)

    # -- OCV and coefficients ---------------------------------------------------------------
    def _ocv_all(self) -> list[float]:
        tab = self._table
        if tab is None:
            # The chemistry's SOC grid is not uniform: use the vectorised model's interpolation.
            ocv: FloatArray = self.model.ocv(self.state)
            return [float(x) for x in ocv[0]]
        x0, inv, top, last = self._t_x0, self._t_inv_step, self._t_n, self._t_last
        val0, val1, val2 = self._t_values
        sl0, sl1, sl2 = self._t_slopes
        hyst, entropic = self._has_hysteresis, self._has_entropic
        out = []
        for soc, h, temp in zip(self.soc_pct, self.hysteresis, self.temperature_c, strict=True):
            f = (soc - x0) * inv
            f = 0.0 if f < 0.0 else (top if f > top else f)
            i = int(f)
            if i > last:
                i = last
            w = f - i
            v = val0[i] + sl0[i] * w
            if hyst:
                v = v + h * (val1[i] + sl1[i] * w)
            if entropic:
                v = v + (val2[i] + sl2[i] * w) * (temp - 25.0)
            out.append(v)
        return out

    def _coefficients(self, dt_s: float) -> _Coefficients:
        c = self._coeffs
        if c is None or c.dt_s != dt_s or self.time_s - self._coeffs_time_s >= self.coefficient_refresh_s:
            c = self._coeffs = self._new_coefficients(dt_s)
            self._coeffs_time_s = self.time_s
        return c

    def _new_coefficients(self, dt_s: float) -> _Coefficients:
        """EquivalentCircuitModel.rc_parameters and .coefficients for every cell, in the same order."""
        rows, n_soc, k_ohm = self._rc_rows, self._n_soc, self._k_ohm
        two_temps = self._n_temps > 1
        cells: list[tuple[float, ...]] = []
        r0s: list[float] = []
        a1s: list[float] = []
        a2s: list[float] = []
        r_effs: list[float] = []
        for soc, temp, k, leak, coul, coul100 in zip(
            self.soc_pct,
            self.temperature_c,
            k_ohm,
            self._leak_a,
            self._coulombs_per_pct,
            self._coulombs_per_pct_100,
            strict=True,
        ):
            fs = _np_interp_index(soc, self._rc_soc)
            ft = _np_interp_index(temp, self._rc_temps)
            s0 = min(int(fs), n_soc - 2) if n_soc > 1 else 0
            t0 = min(int(ft), max(self._n_temps - 2, 0))
            ws = fs - s0
            wt = ft - t0
            idx = t0 * n_soc + s0
            vs = 1.0 - ws
            p0, p1, p2, p3, p4 = rows[idx]
            q0, q1, q2, q3, q4 = rows[idx + 1]
            r0 = p0 * vs + q0 * ws
            r1 = p1 * vs + q1 * ws
            tau1 = p2 * vs + q2 * ws
            r2 = p3 * vs + q3 * ws
            tau2 = p4 * vs + q4 * ws
            if two_temps:
                p0, p1, p2, p3, p4 = rows[idx + n_soc]
                q0, q1, q2, q3, q4 = rows[idx + n_soc + 1]
                r0 = r0 + (p0 * vs + q0 * ws - r0) * wt
                r1 = r1 + (p1 * vs + q1 * ws - r1) * wt
                tau1 = tau1 + (p2 * vs + q2 * ws - tau1) * wt
                r2 = r2 + (p3 * vs + q3 * ws - r2) * wt
                tau2 = tau2 + (p4 * vs + q4 * ws - tau2) * wt
            r0, r1, r2 = r0 * k, r1 * k, r2 * k
            a1 = math.exp(-dt_s / tau1)
            a2 = math.exp(-dt_s / tau2)
            r_eff = r0 + r1 * (1.0 - a1) + r2 * (1.0 - a2)
            cells.append(
                (
                    r0,
                    r1,
                    r2,
                    a1,
                    a2,
                    (1.0 - a1) * r1,
                    (1.0 - a2) * r2,
                    1.0 / r1,
                    1.0 / r2,
                    2.0 * tau1 * (1.0 - a1) / dt_s,
                    tau1 * (1.0 - a1 * a1) / (2.0 * dt_s),
                    2.0 * tau2 * (1.0 - a2) / dt_s,
                    tau2 * (1.0 - a2 * a2) / (2.0 * dt_s),
                    leak,
                    coul,
                    coul100,
                )
            )
            r0s.append(r0)
            a1s.append(a1)
            a2s.append(a2)
            r_effs.append(r_eff)
        return _Coefficients(dt_s, r0s, a1s, a2s, r_effs, pairwise_sum(r_effs), cells)

    # -- what the hardware lets through -------------------------------------------------------
    def _active(self, faults: tuple[Fault, ...]) -> list[Fault]:
        return [f for f in faults if self.time_s >= f.at_s]

    def _balancing_currents(self) -> list[float] | None:
        """Per-cell balancing current, or None when no bleed resistor and no active balancer is on."""
        cmd = self.commands
        any_bleed = any(cmd.bleed)
        any_active = any(cmd.active_a)
        if not (any_bleed or any_active):
            return None
        hw = self.hardware
        r_bleed = hw.bleed_resistance_ohm
        if not any_active:
            # Bleed current plus an idle active balancer's 0 A, in one pass.
            return [
                (-(0.0 if v < 0.0 else v) / r_bleed if on else 0.0) + 0.0
                for v, on in zip(self.cell_v, cmd.bleed, strict=True)
            ]
        if any_bleed:
            bleed = [
                -(0.0 if v < 0.0 else v) / r_bleed if on else 0.0
                for v, on in zip(self.cell_v, cmd.bleed, strict=True)
            ]
        else:
            bleed = [0.0] * self.cells
        top = hw.active_balancer_max_a
        active = [min(max(a, -top), top) for a in cmd.active_a]
        # Receivers get what donors give, less the converter losses.
        given = -pairwise_sum([a if a < 0 else 0.0 for a in active])
        wanted = pairwise_sum([a if a > 0 else 0.0 for a in active])
        ratio = min(1.0, hw.active_balancer_efficiency * given / max(wanted, 1e-12)) if wanted > 0 else 0.0
        return [b + (a * ratio if a > 0 else a) for b, a in zip(bleed, active, strict=True)]

    def _pack_current(self, demand: Demand, c: _Coefficients, balancing: list[float] | None) -> float:
        """The terminal current for this step, from the demand, the switches and the pack."""
        cmd = self.commands
        ocv = self.ocv_v
        a1, a2, v1, v2 = c.a1, c.a2, self.v1_v, self.v2_v
        # Terminal voltage after the step is E + R_eff·I for each cell (exact for the discrete model).
        e_cells = [o + x1 * y1 + x2 * y2 for o, x1, y1, x2, y2 in zip(ocv, a1, v1, a2, v2, strict=True)]
        if balancing is not None:
            r_eff = c.r_eff
            e_cells = [e + r_eff[k] * balancing[k] for k, e in enumerate(e_cells)]
        e_pack = pairwise_sum(e_cells)
        r_pack = c.r_pack
        v_now = max(pairwise_sum(self.cell_v), 1e-3)

        current = demand.direct_a + demand.direct_w / v_now
        charger = demand.charger
        if charger is not None:
            # The charger's state machine runs whether or not its output may reach the pack.
            charger_a = self._charger_current(charger, e_pack, r_pack, v_now, c.dt_s)
            if cmd.charge_disconnect_closed or (
                self._charger_ignores and self._active(self._charger_ignores)
            ):
                current = current + charger_a
        if demand.alternator_a > 0:
            limit = min(demand.alternator_a, cmd.charge_input_limit_a)
            cv = (demand.alternator_v - e_pack) / r_pack if demand.alternator_v > 0 else math.inf
            alt = min(limit, cv)
            if cmd.charge_input_enabled:
                current = current + (0.0 if alt < 0.0 else alt)
        if demand.load_a or demand.load_w:
            load = demand.load_a + demand.load_w / v_now
            if cmd.load_disconnect_closed:
                current = current - load
        if not (cmd.charge_closed or self._welded_path("charge")):
            current = min(current, 0.0)
        if not (cmd.discharge_closed or self._welded_path("discharge")):
            current = max(current, 0.0)
        return current

    def _welded_path(self, path: str) -> bool:
        return any(f.path in (path, "both") for f in self._active(self._welded))  # type: ignore[union-attr]

    def _charger_current(
        self, charger: ChargerDemand, e_pack: float, r_pack: float, v_now: float, dt_s: float
    ) -> float:
        limit = charger.max_current_a
        if math.isfinite(charger.max_power_w):
            limit = min(limit, max(charger.max_power_w, 0.0) / v_now)
            if charger.max_power_w <= 0.0:
                # Night: a solar charger starts the next day in bulk.
                self.stage = BULK
                self._absorption_s = 0.0
        stage = self.stage
        if stage == FLOAT and v_now < charger.float_v - charger.rebulk_offset_v:
            stage = BULK
        target = charger.float_v if stage == FLOAT else charger.absorption_v
        cv = (target - e_pack) / r_pack
        current = min(limit, cv)
        # Bulk ends when the voltage limit takes over; absorption ends after its time.
        if stage == BULK and cv <= limit:
            stage = ABSORPTION
        if stage == ABSORPTION:
            self._absorption_s = self._absorption_s + dt_s
            if self._absorption_s >= charger.absorption_time_s:
                stage = FLOAT
        else:
            self._absorption_s = 0.0
        self.stage = stage
        return 0.0 if current < 0.0 else current  # NaN stays NaN, as in np.clip

    def _soft_short_leak(self) -> list[float] | None:
        active = self._active(self._soft_shorts) if self._soft_shorts else None
        if not active:
            return None
        leak = [0.0] * self.cells
        for fault in active:
            k = fault.cell - 1  # type: ignore[union-attr]
            if self.soc_pct[k] <= self._flat_soc:
                continue  # the cell is flat: nothing left to leak
            v = self.cell_v[k]
            leak[k] += (0.0 if v < 0.0 else v) / fault.resistance_ohm  # type: ignore[union-attr]
        return leak

    def _step_constants(self, dt_s: float) -> tuple[float, float, float, int]:
        cached = self._dt_cache
        if cached is None or cached[0] != dt_s:
            hw = self.hardware
            k_res = 1.0 - math.exp(-dt_s / hw.bleed_thermal_time_constant_s)
            fet_tau = hw.fet_heat_capacity_j_per_k / hw.fet_conductance_w_per_k
            k_fet = 1.0 - math.exp(-dt_s / fet_tau)
            n_sub = max(1, math.ceil(dt_s / (0.2 * self._thermal_tau_min_s)))
            cached = self._dt_cache = (dt_s, k_res, k_fet, n_sub)
        return cached

    # -- one step ---------------------------------------------------------------------------
    def step(self, dt_s: float, demand: Demand) -> None:
        if dt_s <= 0:
            return
        hw = self.hardware
        _, k_res, k_fet, n_sub = self._step_constants(dt_s)
        c = self._coefficients(dt_s)
        balancing = self._balancing_currents()
        pack_i = self._pack_current(demand, c, balancing)
        n = self.cells
        bleed_power: list[float] | None = None
        if balancing is not None and any(self.commands.bleed):
            r_bleed = hw.bleed_resistance_ohm
            bleed_power = [
                v * v / r_bleed if on else 0.0 for v, on in zip(self.cell_v, self.commands.bleed, strict=True)
            ]
        leak = self._soft_short_leak()

        # The cells: the same operations, in the same order, as EquivalentCircuitModel.step. In the usual
        # case (one thermal sub-step, a uniform OCV grid) the thermal step, the OCV lookup and the
        # terminal voltage run in the same loop; otherwise they follow over the collected heat.
        eff, rate, has_hyst = self._efficiency, self._hysteresis_rate, self._has_hysteresis
        zeros = self._zeros
        leaks = zeros if leak is None else leak
        heat_fraction = hw.bleed_heat_to_cell_fraction
        extra_heat = zeros if bleed_power is None else [p * heat_fraction for p in bleed_power]
        cell_i = [pack_i] * n if balancing is None else [pack_i + b for b in balancing]
        fused = n_sub == 1 and self._table is not None
        if fused:
            x0, inv, top, last = self._t_x0, self._t_inv_step, self._t_n, self._t_last
            val0, val1, val2 = self._t_values
            sl0, sl1, sl2 = self._t_slopes
            entropic = self._has_entropic
        amb = self.ambient_c
        temps = self.temperature_c
        above = temps[1:]
        above.append(0.0)
        prev_diff: float | None = None
        heat: list[float] = []
        soc: list[float] = []
        v1s: list[float] = []
        v2s: list[float] = []
        hyst: list[float] = []
        new_t: list[float] = []
        ocv: list[float] = []
        volts: list[float] = []
        for (
            (r0, r1, r2, a1, a2, k1, k2, ir1, ir2, g11, g21, g12, g22, leak_a, coul, coul100),
            (g_amb, g_up, cap),
            i,
            v1,
            v2,
            s,
            hy,
            xl,
            xh,
            t,
            t_up,
        ) in zip(
            c.cells,
            self._thermal_cells,
            cell_i,
            self.v1_v,
            self.v2_v,
            self.soc_pct,
            self.hysteresis,
            leaks,
            extra_heat,
            temps,
            above,
            strict=True,
        ):
            e1 = r1 * i
            e2 = r2 * i
            d1 = v1 - e1
            d2 = v2 - e2
            h = i * i * r0
            h = h + (e1 * e1 + d1 * (e1 * g11 + d1 * g21)) * ir1
            h = h + (e2 * e2 + d2 * (e2 * g12 + d2 * g22)) * ir2
            v1 = a1 * v1 + k1 * i
            v2 = a2 * v2 + k2 * i
            v1s.append(v1)
            v2s.append(v2)
            # Charge stored: coulombic losses only when charging.
            stored = (i * eff if i > 0.0 else i) - leak_a - xl
            s = s + stored * dt_s / coul
            soc.append(s)
            if has_hyst:
                direction = 1.0 if i > 0.0 else (-1.0 if i < 0.0 else 0.0)
                hy = direction + (hy - direction) * math.exp(-rate * abs(i) * dt_s / coul100)
            hyst.append(hy)
            h = h + xh
            if not fused:
                heat.append(h)
                continue
            # Thermal step: ambient, then the neighbour above (added) and below (subtracted).
            flow = h + g_amb * (amb - t)
            if g_up is not None:
                diff = (t_up - t) * g_up
                flow = flow + diff
            if prev_diff is not None:
                flow = flow - prev_diff
            if g_up is not None:
                prev_diff = diff
            t = t + dt_s * flow / cap
            new_t.append(t)
            f = (s - x0) * inv
            f = 0.0 if f < 0.0 else (top if f > top else f)
            j = int(f)
            if j > last:
                j = last
            w = f - j
            v = val0[j] + sl0[j] * w
            if has_hyst:
                v = v + hy * (val1[j] + sl1[j] * w)
            if entropic:
                v = v + (val2[j] + sl2[j] * w) * (t - 25.0)
            ocv.append(v)
            volts.append(v + r0 * i + v1 + v2)
        self.v1_v, self.v2_v, self.soc_pct, self.hysteresis = v1s, v2s, soc, hyst
        if fused:
            self.temperature_c, self.ocv_v, self.cell_v = new_t, ocv, volts
        else:
            self._thermal_substeps(heat, dt_s / n_sub, n_sub)
            self.ocv_v = self._ocv_all()
            self.cell_v = [
                o + r0 * i + v1 + v2
                for o, r0, i, v1, v2 in zip(self.ocv_v, c.r0, cell_i, v1s, v2s, strict=True)
            ]
        # Bleed resistors and FETs: first-order thermal nodes towards their steady temperature.
        board_c = self.ambient_c
        res_t = self.resistor_temp_c
        if bleed_power is None:
            # Cooling resistors reach a fixed point of this update (to the last bit); then skip it.
            if not self._resistors_settled:
                cooled = [t + (board_c - t) * k_res for t in res_t]
                self._resistors_settled = cooled == res_t
                self.resistor_temp_c = cooled
        else:
            self._resistors_settled = False
            r_th = hw.bleed_thermal_resistance_k_per_w
            self.resistor_temp_c = [
                t + ((board_c + p * r_th) - t) * k_res for t, p in zip(res_t, bleed_power, strict=True)
            ]
        fet_steady = self.ambient_c + pack_i * pack_i * hw.fet_resistance_ohm / hw.fet_conductance_w_per_k
        self.fet_temp_c += (fet_steady - self.fet_temp_c) * k_fet
        self.current_a = pack_i
        self.balancing_a = self._zeros if balancing is None else balancing
        self.charged_total_ah += (0.0 if pack_i < 0.0 else pack_i) * dt_s / 3600.0
        self.discharged_total_ah += (0.0 if -pack_i < 0.0 else -pack_i) * dt_s / 3600.0
        if balancing is not None:
            self.bled_per_cell_ah = [
                a + (0.0 if -b < 0.0 else -b) * dt_s / 3600.0
                for a, b in zip(self.bled_per_cell_ah, balancing, strict=True)
            ]
        self.time_s += dt_s

    def _thermal_substeps(self, heat: list[float], h: float, count: int) -> None:
        # Explicit steps, split so each stays well inside the thermal time constant; neighbours in the
        # string exchange heat (added, then subtracted, in the vectorised code's order).
        amb = self.ambient_c
        g_amb, g_nb, cap = self._g_ambient, self._g_neighbour, self._heat_capacity
        n = self.cells
        temp = self.temperature_c
        for _ in range(count):
            flow = [heat[k] + g_amb[k] * (amb - temp[k]) for k in range(n)]
            if n > 1:
                diff = [(temp[k + 1] - temp[k]) * g_nb[k + 1] for k in range(n - 1)]
                for k in range(n - 1):
                    flow[k] = flow[k] + diff[k]
                for k in range(n - 1):
                    flow[k + 1] = flow[k + 1] - diff[k]
            temp = [temp[k] + h * flow[k] / cap[k] for k in range(n)]
        self.temperature_c = temp
