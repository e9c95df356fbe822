"""The pack plant: cells in series, the power paths, chargers, loads and balancing hardware.

Vectorised over packs: every array has shape (packs, cells) or (packs,). One :class:`Demand` from the
profile is shared by all packs; the switch commands are per pack. Currents are + = charging.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from smartbms.sim.faults import ChargerIgnoresDisconnect, Fault, SoftShort, WeldedContactor, active
from smartbms.sim.models import CellState, EquivalentCircuitModel, StepCoefficients
from smartbms.sim.params import CellParameters
from smartbms.sim.profiles import ChargerDemand, Demand
from smartbms.sim.variation import CellPopulation

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

BULK, ABSORPTION, FLOAT = 0, 1, 2


@dataclass(frozen=True)
class HardwareSpec:
    """Board and wiring figures that are not part of the cell."""

    bleed_resistance_ohm: float = 47.0
    # Bleed resistor to board air, and how much of its heat reaches the cell it sits on.
    bleed_thermal_resistance_k_per_w: float = 30.0
    bleed_thermal_time_constant_s: float = 60.0
    bleed_heat_to_cell_fraction: float = 0.3
    # Fraction of the charge an active balancer takes from donors that reaches the receivers.
    active_balancer_efficiency: float = 0.9
    active_balancer_max_a: float = 5.0
    # Power-stage (FET) on-resistance and thermal node.
    fet_resistance_ohm: float = 0.0005
    fet_heat_capacity_j_per_k: float = 150.0
    fet_conductance_w_per_k: float = 1.5


@dataclass
class SwitchCommands:
    """What the BMS asked of the hardware, per pack."""

    charge_closed: BoolArray
    discharge_closed: BoolArray
    load_disconnect_closed: BoolArray
    charge_disconnect_closed: BoolArray
    charge_input_enabled: BoolArray
    charge_input_limit_a: FloatArray
    bleed: BoolArray  # (packs, cells)
    active_a: FloatArray  # (packs, cells), + = cell receives charge

    @classmethod
    def all_on(cls, packs: int, cells: int) -> SwitchCommands:
        on = np.ones(packs, dtype=bool)
        return cls(
            on.copy(),
            on.copy(),
            on.copy(),
            on.copy(),
            on.copy(),
            np.full(packs, np.inf),
            np.zeros((packs, cells), dtype=bool),
            np.zeros((packs, cells)),
        )


class PackPlant:
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
        self.ambient_c = ambient_c
        self.model = EquivalentCircuitModel(
            params, population.capacity_ah, population.resistance_scale, population.self_discharge_scale
        )
        self.packs, self.cells = self.model.shape
        temp0 = ambient_c if initial_temperature_c is None else initial_temperature_c
        self.state: CellState = self.model.initial_state(population.initial_soc_pct, temp0)
        self.commands = SwitchCommands.all_on(self.packs, self.cells)
        self.time_s = 0.0
        # R and RC values follow SOC and temperature; re-evaluated this often (they change slowly).
        self.coefficient_refresh_s = coefficient_refresh_s
        self._coeffs: StepCoefficients | None = None
        self._coeffs_time_s = 0.0
        self._ocv_valid = False
        self.cell_voltage_v = self.model.ocv(self.state)
        self.pack_current_a = np.zeros(self.packs)
        self.balancing_current_a = np.zeros((self.packs, self.cells))
        self._zeros = np.zeros((self.packs, self.cells))
        self.bleed_resistor_temp_c = np.full((self.packs, self.cells), ambient_c)
        self.fet_temperature_c = np.full(self.packs, ambient_c)
        self.charger_stage = np.full(self.packs, BULK)
        self._absorption_s = np.zeros(self.packs)
        # Charge counters for reporting (Ah through the pack terminals).
        self.charged_ah = np.zeros(self.packs)
        self.discharged_ah = np.zeros(self.packs)
        self.bled_ah = np.zeros((self.packs, self.cells))

    def state_changed(self) -> None:
        """Call after editing :attr:`state` from outside (tests, scenario set-up): drop cached values."""
        self._ocv_valid = False
        self._coeffs = None
        self.cell_voltage_v = self.model.ocv(self.state)

    # -- what the hardware lets through -------------------------------------------------------
    def _welded(self, path: str) -> BoolArray:
        out = np.zeros(self.packs, dtype=bool)
        if not self.faults:
            return out
        for p in range(self.packs):
            for fault in active(self.faults, self.time_s, WeldedContactor, p):
                if fault.path in (path, "both"):
                    out[p] = True
        return out

    def _charger_ignores(self) -> BoolArray:
        if not self.faults:
            return np.zeros(self.packs, dtype=bool)
        return np.array(
            [bool(active(self.faults, self.time_s, ChargerIgnoresDisconnect, p)) for p in range(self.packs)]
        )

    def _soft_short_leak(self) -> FloatArray | None:
        leak = None
        if not self.faults:
            return None
        for p in range(self.packs):
            for fault in active(self.faults, self.time_s, SoftShort, p):
                if leak is None:
                    leak = np.zeros((self.packs, self.cells))
                if self.state.soc_pct[p, fault.cell - 1] <= self.params.soc_pct[0]:
                    continue  # the cell is flat: nothing left to leak
                leak[p, fault.cell - 1] += (
                    max(self.cell_voltage_v[p, fault.cell - 1], 0.0) / fault.resistance_ohm
                )
        return leak

    def _balancing_currents(self) -> FloatArray:
        hw = self.hardware
        any_bleed = bool(self.commands.bleed.any())
        any_active = bool(self.commands.active_a.any())
        if not (any_bleed or any_active):
            return self._zeros
        bleed = np.where(
            self.commands.bleed, -np.maximum(self.cell_voltage_v, 0.0) / hw.bleed_resistance_ohm, 0.0
        )
        active_a = np.clip(self.commands.active_a, -hw.active_balancer_max_a, hw.active_balancer_max_a)
        if any_active:
            # Receivers get what donors give, less the converter losses.
            given = -np.sum(np.where(active_a < 0, active_a, 0.0), axis=-1, keepdims=True)
            wanted = np.sum(np.where(active_a > 0, active_a, 0.0), axis=-1, keepdims=True)
            ratio = np.where(
                wanted > 0,
                np.minimum(1.0, hw.active_balancer_efficiency * given / np.maximum(wanted, 1e-12)),
                0.0,
            )
            active_a = np.where(active_a > 0, active_a * ratio, active_a)
        return np.asarray(bleed + active_a, dtype=float)

    def _coefficients(self, dt_s: float) -> StepCoefficients:
        c = self._coeffs
        if c is None or c.dt_s != dt_s or self.time_s - self._coeffs_time_s >= self.coefficient_refresh_s:
            c = self._coeffs = self.model.coefficients(self.state, dt_s)
            self._coeffs_time_s = self.time_s
        return c

    def _pack_current(self, demand: Demand, dt_s: float, cell_extra_a: FloatArray) -> FloatArray:
        """The terminal current of each pack for this step, from the demand, the switches and the pack."""
        cmd = self.commands
        c = self._coefficients(dt_s)
        r_eff = c.r_eff
        # Terminal voltage after the step is E + R_eff·I for each cell (exact for the discrete model).
        ocv = (
            self.model.last_ocv_v
            if self._ocv_valid and self.model.last_ocv_v is not None
            else self.model.ocv(self.state)
        )
        e_cells = ocv + c.a1 * self.state.v1_v + c.a2 * self.state.v2_v + r_eff * cell_extra_a
        e_pack = np.sum(e_cells, axis=-1)
        r_pack = np.sum(r_eff, axis=-1)
        v_now = np.maximum(np.sum(self.cell_voltage_v, axis=-1), 1e-3)

        current = np.full(self.packs, demand.direct_a) + demand.direct_w / v_now
        charger = demand.charger
        if charger is not None:
            charger_on = cmd.charge_disconnect_closed | self._charger_ignores()
            current = current + np.where(
                charger_on, self._charger_current(charger, e_pack, r_pack, v_now, dt_s), 0.0
            )
        if demand.alternator_a > 0:
            limit = np.minimum(demand.alternator_a, cmd.charge_input_limit_a)
            cv = (demand.alternator_v - e_pack) / r_pack if demand.alternator_v > 0 else np.inf
            alt = np.clip(np.minimum(limit, cv), 0.0, None)
            current = current + np.where(cmd.charge_input_enabled, alt, 0.0)
        if demand.load_a or demand.load_w:
            load = demand.load_a + demand.load_w / v_now
            current = current - np.where(cmd.load_disconnect_closed, load, 0.0)
        charge_ok = cmd.charge_closed | self._welded("charge")
        discharge_ok = cmd.discharge_closed | self._welded("discharge")
        current = np.where(charge_ok, current, np.minimum(current, 0.0))
        current = np.where(discharge_ok, current, np.maximum(current, 0.0))
        return np.asarray(current, dtype=float)

    def _charger_current(
        self, charger: ChargerDemand, e_pack: FloatArray, r_pack: FloatArray, v_now: FloatArray, dt_s: float
    ) -> FloatArray:
        limit = np.full(self.packs, charger.max_current_a)
        if math.isfinite(charger.max_power_w):
            limit = np.minimum(limit, max(charger.max_power_w, 0.0) / v_now)
            if charger.max_power_w <= 0.0:
                # Night: a solar charger starts the next day in bulk.
                self.charger_stage[:] = BULK
                self._absorption_s[:] = 0.0
        rebulk = v_now < charger.float_v - charger.rebulk_offset_v
        self.charger_stage = np.where((self.charger_stage == FLOAT) & rebulk, BULK, self.charger_stage)
        target = np.where(self.charger_stage == FLOAT, charger.float_v, charger.absorption_v)
        cv = (target - e_pack) / r_pack
        current = np.clip(np.minimum(limit, cv), 0.0, None)
        # Bulk ends when the voltage limit takes over; absorption ends after its time.
        at_voltage = cv <= limit
        self.charger_stage = np.where(
            (self.charger_stage == BULK) & at_voltage, ABSORPTION, self.charger_stage
        )
        in_abs = self.charger_stage == ABSORPTION
        self._absorption_s = np.where(in_abs, self._absorption_s + dt_s, 0.0)
        self.charger_stage = np.where(
            in_abs & (self._absorption_s >= charger.absorption_time_s), FLOAT, self.charger_stage
        )
        return np.asarray(current, dtype=float)

    # -- one step ---------------------------------------------------------------------------
    def step(self, dt_s: float, demand: Demand) -> None:
        if dt_s <= 0:
            return
        hw = self.hardware
        balancing = self._balancing_currents()
        pack_i = self._pack_current(demand, dt_s, balancing)
        cell_i = pack_i[:, None] + balancing
        any_bleed = balancing is not self._zeros and bool(self.commands.bleed.any())
        bleed_power = (
            np.where(self.commands.bleed, self.cell_voltage_v**2 / hw.bleed_resistance_ohm, 0.0)
            if any_bleed
            else self._zeros
        )
        self.cell_voltage_v = self.model.step(
            self.state,
            cell_i,
            dt_s,
            self.ambient_c,
            extra_leak_a=self._soft_short_leak(),
            extra_heat_w=bleed_power * hw.bleed_heat_to_cell_fraction if any_bleed else None,
            coeffs=self._coefficients(dt_s),
        )
        # Bleed resistors and FETs: first-order thermal nodes towards their steady temperature.
        board_c = self.ambient_c
        k_res = 1.0 - math.exp(-dt_s / hw.bleed_thermal_time_constant_s)
        steady = board_c + bleed_power * hw.bleed_thermal_resistance_k_per_w
        self.bleed_resistor_temp_c += (steady - self.bleed_resistor_temp_c) * k_res
        fet_tau = hw.fet_heat_capacity_j_per_k / hw.fet_conductance_w_per_k
        fet_steady = self.ambient_c + pack_i**2 * hw.fet_resistance_ohm / hw.fet_conductance_w_per_k
        self.fet_temperature_c += (fet_steady - self.fet_temperature_c) * (1.0 - math.exp(-dt_s / fet_tau))
        self._ocv_valid = True
        self.pack_current_a = pack_i
        self.balancing_current_a = balancing
        self.charged_ah += np.maximum(pack_i, 0.0) * dt_s / 3600.0
        self.discharged_ah += np.maximum(-pack_i, 0.0) * dt_s / 3600.0
        if balancing is not self._zeros:
            self.bled_ah += np.maximum(-balancing, 0.0) * dt_s / 3600.0
        self.time_s += dt_s
