"""Ready-made profiles and chargers sized from a pack's settings, by name.

Names: ``solar_day`` (default), ``van_day``, ``cccv``, ``constant_current``, ``constant_power``,
``drive_cycle`` (option ``cycle`` = UDDS, US06, WLTC or car_current) and ``csv`` (option ``path``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from smartbms.core.settings import Settings
from smartbms.sim.profiles import (
    CcCvCharge,
    ChargerDemand,
    ConstantCurrent,
    ConstantPower,
    Profile,
    ProfileError,
    SolarDay,
    VanDay,
    csv_profile,
    drive_cycle,
)

PROFILE_NAMES = ("solar_day", "van_day", "cccv", "constant_current", "constant_power", "drive_cycle", "csv")


def pack_energy_wh(settings: Settings) -> float:
    return settings.pack.nominal_capacity_ah * settings.pack.cells_series * settings.preset.nominal_cell_v


def default_charger(settings: Settings, **overrides: Any) -> ChargerDemand:
    """A charger set up as the manual for the chemistry says: absorption a little below the BMS's
    charge-voltage limit, the float voltage and absorption time of the settings."""
    n = settings.pack.cells_series
    absorption = min(
        settings.protection.charge_voltage_limit_v - 0.05 * n / 4, n * settings.preset.charge_cell_v
    )
    values: dict[str, Any] = {
        "max_current_a": settings.charging.max_charge_current_a,
        "absorption_v": round(absorption, 3),
        "float_v": settings.charging.float_voltage_v,
        "absorption_time_s": settings.charging.absorption_time_s,
    }
    values.update(overrides)
    return ChargerDemand(**values)


def make_profile(name: str, settings: Settings, *, seed: int = 0, **options: Any) -> Profile:
    """A profile by name, sized for the pack; ``options`` are the profile's own fields."""
    charger_opts = {k[len("charger_") :]: options.pop(k) for k in list(options) if k.startswith("charger_")}
    charger = default_charger(settings, **charger_opts)
    energy = pack_energy_wh(settings)
    try:
        if name == "solar_day":
            return SolarDay(pack_energy_wh=energy, charger=charger, seed=seed, **options)
        if name == "van_day":
            options.setdefault(
                "alternator_v",
                round(settings.pack.cells_series * 3.55, 2)
                if settings.pack.chemistry == "LFP"
                else charger.absorption_v,
            )
            options.setdefault("alternator_a", settings.charge_input.fuse_rating_a)
            return VanDay(pack_energy_wh=energy, charger=charger, **options)
        if name == "cccv":
            return CcCvCharge(charger=charger, **options)
        if name == "constant_current":
            return ConstantCurrent(
                current_a=float(options.pop("current_a", -0.5 * settings.pack.nominal_capacity_ah)), **options
            )
        if name == "constant_power":
            return ConstantPower(power_w=float(options.pop("power_w", -0.25 * energy)), **options)
        if name == "drive_cycle":
            cycle = str(options.pop("cycle", "UDDS"))
            folder = options.pop("directory", None)
            return drive_cycle(
                cycle,
                settings.pack.nominal_capacity_ah,
                cells_series=settings.pack.cells_series,
                directory=Path(folder) if folder else None,
                **options,
            )
        if name == "csv":
            path = options.pop("path", None)
            if not path:
                raise ProfileError("the csv profile needs a path")
            return csv_profile(Path(path), **options)
    except TypeError as exc:
        raise ProfileError(f"profile {name}: {exc}") from None
    raise ProfileError(f"unknown profile {name!r}; known: {', '.join(PROFILE_NAMES)}")


def profile_from_spec(spec: str, settings: Settings, *, seed: int = 0) -> Profile:
    """A profile from a short text, as the command line takes it.

    ``solar_day``, ``van_day``, ``cccv``, ``constant_current:-140`` (A, + = charging),
    ``constant_power:-3000`` (W), ``drive_cycle:US06``, ``csv:path/to/file.csv`` or just a path to a
    ``.csv`` file (time s, current A with + = charging).
    """
    name, _, arg = spec.partition(":")
    name = name.strip()
    if name.lower().endswith(".csv") and not arg:
        return make_profile("csv", settings, seed=seed, path=name)
    options: dict[str, Any] = {}
    if arg:
        key = {
            "constant_current": "current_a",
            "constant_power": "power_w",
            "drive_cycle": "cycle",
            "csv": "path",
        }.get(name)
        if key is None:
            raise ProfileError(f"profile {name!r} takes no argument (got {arg!r})")
        if key in ("current_a", "power_w"):
            try:
                options[key] = float(arg)
            except ValueError:
                raise ProfileError(f"profile {name}: {arg!r} is not a number") from None
        else:
            options[key] = arg
    return make_profile(name, settings, seed=seed, **options)
