"""Fleet mode: N packs stepped together in one vectorised model.

Every pack has its own seeded cells and its own switch commands; the profile is shared (a fleet of
identical installations) and scaled per pack by ``load_scale`` if given. No BMS runs per pack here:
this is the plant for fleet studies and the speed benchmark; :meth:`Fleet.commands` lets a caller open
paths or switch bleed resistors per pack.
"""

from __future__ import annotations

import numpy as np

from smartbms.core.settings import Settings
from smartbms.sim.faults import Fault
from smartbms.sim.params import load_cell_parameters
from smartbms.sim.plant import HardwareSpec, PackPlant, SwitchCommands
from smartbms.sim.profiles import Profile
from smartbms.sim.setup import make_profile
from smartbms.sim.variation import CellVariation, draw_population


class Fleet:
    def __init__(
        self,
        settings: Settings,
        packs: int,
        *,
        seed: int = 0,
        profile: Profile | None = None,
        ambient_c: float = 25.0,
        initial_soc_pct: float = 50.0,
        variation: CellVariation | None = None,
        faults: tuple[Fault, ...] = (),
        coefficient_refresh_s: float = 10.0,
    ) -> None:
        if packs < 1:
            raise ValueError(f"a fleet needs at least one pack (got {packs})")
        pack = settings.pack
        rng = np.random.default_rng(seed)
        population = draw_population(
            rng,
            (packs, pack.cells_series),
            pack.nominal_capacity_ah,
            initial_soc_pct,
            variation or CellVariation(),
        )
        self.plant = PackPlant(
            load_cell_parameters(str(pack.chemistry)),
            population,
            ambient_c=ambient_c,
            hardware=HardwareSpec(bleed_resistance_ohm=settings.balancing.bleed_resistance_ohm),
            faults=faults,
            coefficient_refresh_s=coefficient_refresh_s,
        )
        self.profile = profile if profile is not None else make_profile("solar_day", settings, seed=seed)
        self.time_s = 0.0

    @property
    def commands(self) -> SwitchCommands:
        return self.plant.commands

    def run(self, duration_s: float, dt_s: float = 1.0) -> None:
        steps = round(duration_s / dt_s)
        for _ in range(steps):
            self.time_s += dt_s
            self.plant.step(dt_s, self.profile.demand(self.time_s))

    @property
    def soc_pct(self) -> np.ndarray:
        return self.plant.state.soc_pct

    @property
    def cell_voltages_v(self) -> np.ndarray:
        return self.plant.cell_voltage_v
