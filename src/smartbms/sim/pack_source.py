"""A simulated pack that is both the BMS's measurement source and its actuator.

``read(now)`` advances the plant to ``now`` with the switch positions last applied and returns what
the sensors report; ``apply(actions, now)`` moves the switches. The BMS never sees the truth;
tests and plots get it from :meth:`SimulatedPackSource.truth`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from smartbms.core.actions import Actions
from smartbms.core.measurement import Measurement
from smartbms.core.settings import Settings
from smartbms.sim.faults import Fault, validate_fault
from smartbms.sim.params import load_cell_parameters
from smartbms.sim.plant import HardwareSpec
from smartbms.sim.profiles import Profile
from smartbms.sim.sensors import PackSensors, SensorSpec, spread_ntc_cells
from smartbms.sim.setup import make_profile, profile_from_spec
from smartbms.sim.single_pack import SinglePackPlant
from smartbms.sim.variation import CellVariation, draw_population


@dataclass(frozen=True)
class PackTruth:
    time_s: float
    soc_pct: tuple[float, ...]
    cell_voltages_v: tuple[float, ...]
    temperatures_c: tuple[float, ...]
    capacity_ah: tuple[float, ...]
    current_a: float
    balancing_currents_a: tuple[float, ...]
    bleed_resistor_temperatures_c: tuple[float, ...]
    charge_closed: bool
    discharge_closed: bool
    charger_stage: int


class SimulatedPackSource:
    """One simulated pack for the controller: ``read`` (Measurement) and ``apply`` (Actions)."""

    def __init__(
        self,
        settings: Settings,
        *,
        seed: int = 0,
        profile: Profile | str | None = None,
        ambient_c: float = 25.0,
        initial_soc_pct: float | None = None,
        variation: CellVariation | None = None,
        sensors: SensorSpec | None = None,
        hardware: HardwareSpec | None = None,
        faults: tuple[Fault, ...] = (),
        max_step_s: float = 1.0,
        time_origin_s: float | None = None,
    ) -> None:
        pack = settings.pack
        for fault in faults:
            validate_fault(fault, pack.cells_series, pack.temperature_sensors)
        self.settings = settings
        self.seed = seed
        rng = np.random.default_rng(seed)
        params = load_cell_parameters(str(pack.chemistry))
        population = draw_population(
            rng,
            (1, pack.cells_series),
            pack.nominal_capacity_ah,
            50.0 if initial_soc_pct is None else initial_soc_pct,
            variation or CellVariation(),
        )
        hw = hardware or HardwareSpec(bleed_resistance_ohm=settings.balancing.bleed_resistance_ohm)
        # One pack: the plain-float plant (same equations as the vectorised PackPlant, a few times faster).
        self.plant = SinglePackPlant(params, population, ambient_c=ambient_c, hardware=hw, faults=faults)
        self.sensors = PackSensors(
            sensors or SensorSpec(),
            pack.cells_series,
            spread_ntc_cells(pack.cells_series, pack.temperature_sensors),
            np.random.default_rng([seed, 1]),
            faults,
        )
        if isinstance(profile, str):
            profile = profile_from_spec(profile, settings, seed=seed)
        self.profile = profile if profile is not None else make_profile("solar_day", settings, seed=seed)
        self.max_step_s = max_step_s
        # Profile time = the controller's ``now`` minus this origin (None: the first ``now``, or 0 on an
        # epoch clock so a solar day follows the time of day).
        self._origin = time_origin_s
        self._last_now: float | None = None
        self._alternator_v = 0.0
        self._bleed_cells: tuple[int, ...] = ()

    # -- time -------------------------------------------------------------------------------
    def _advance(self, now: float) -> None:
        if self._origin is None:
            # On a wall clock (epoch seconds) the day profiles follow the UTC time of day.
            self._origin = 0.0 if now > 1e9 else now
        if self._last_now is None:
            self._last_now = now
            return
        remaining = now - self._last_now
        if remaining <= 0:
            return
        n = max(1, math.ceil(remaining / self.max_step_s - 1e-9))
        dt = remaining / n
        for k in range(n):
            t_profile = self._last_now + (k + 1) * dt - self._origin
            demand = self.profile.demand(t_profile)
            self._alternator_v = demand.alternator_v if demand.alternator_a > 0 else 0.0
            self.plant.step(dt, demand)
        self._last_now = now

    # -- the source side --------------------------------------------------------------------
    def read(self, now: float) -> Measurement:
        self._advance(now)
        plant = self.plant
        reading = self.sensors.read(now, plant.cell_v, plant.current_a, plant.temperature_c)
        return Measurement(
            timestamp=now,
            cell_voltages_v=reading.cell_voltages_v,
            current_a=reading.current_a,
            temperatures_c=reading.temperatures_c,
            mosfet_temperature_c=round(plant.fet_temp_c, 1),
            voltage_v=reading.voltage_v,
            charge_source_v=self._alternator_v if self._alternator_v > 0 else None,
            source="sim",
        )

    # -- the actuator side ------------------------------------------------------------------
    def apply(self, actions: Actions, now: float) -> None:
        self._advance(now)
        cmd = self.plant.commands
        cmd.charge_closed = actions.charge_enabled
        cmd.discharge_closed = actions.discharge_enabled
        cmd.load_disconnect_closed = actions.load_disconnect_closed
        cmd.charge_disconnect_closed = actions.charge_disconnect_closed
        cmd.charge_input_enabled = actions.charge_input_enabled
        cmd.charge_input_limit_a = float(actions.charge_input_limit_a)
        cells = self.plant.cells
        # Most ticks switch nothing: keep the empty lists (the plant then skips the balancing hardware).
        if actions.balancing_cells != self._bleed_cells:
            # While balancing, the same cells are usually asked for tick after tick: rebuild on change only.
            self._bleed_cells = actions.balancing_cells
            bleed = [False] * cells
            for cell in actions.balancing_cells:
                if 1 <= cell <= cells:
                    bleed[cell - 1] = True
            cmd.bleed = bleed if any(bleed) else []
        if actions.balancing_currents_a:
            currents = [float(x) for x in actions.balancing_currents_a[:cells]]
            cmd.active_a = currents + [0.0] * (cells - len(currents))
        elif cmd.active_a:
            cmd.active_a = []

    # -- for tests and plots ----------------------------------------------------------------
    def truth(self) -> PackTruth:
        p = self.plant
        return PackTruth(
            time_s=p.time_s,
            soc_pct=tuple(p.soc_pct),
            cell_voltages_v=tuple(p.cell_v),
            temperatures_c=tuple(p.temperature_c),
            capacity_ah=tuple(float(x) for x in p.model.capacity_ah[0]),
            current_a=p.current_a,
            balancing_currents_a=tuple(p.balancing_a),
            bleed_resistor_temperatures_c=tuple(p.resistor_temp_c),
            charge_closed=bool(p.commands.charge_closed),
            discharge_closed=bool(p.commands.discharge_closed),
            charger_stage=int(p.stage),
        )
