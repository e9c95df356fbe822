"""Scenario files (TOML or YAML): the pack settings, the profile, variation, sensors and faults.

```toml
[scenario]
duration_s = 86400
profile = "solar_day"          # or "drive_cycle:US06", "csv:my_load.csv", "constant_current:-140"
seed = 1
initial_soc_pct = 40
[scenario.variation]
capacity_spread_pct = 3.0
initial_soc_spread_pct = 10.0
[[scenario.faults]]
kind = "soft_short"
cell = 5
resistance_ohm = 0.5
at_s = 3600
[settings.pack]                # any settings section, as in a settings file
cells_series = 16
nominal_capacity_ah = 280
[settings.balancing]
strategy = "passive"
```
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from smartbms.core.settings import Settings, settings_from_dict
from smartbms.mapping_files import MappingFileError, read_mapping
from smartbms.sim.faults import FaultError, fault_from_dict
from smartbms.sim.sensors import SensorSpec
from smartbms.sim.simulation import Scenario, ScenarioError
from smartbms.sim.variation import CellVariation

_SCENARIO_KEYS = {f.name for f in dataclasses.fields(Scenario)} - {
    "settings",
    "variation",
    "sensors",
    "faults",
}


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        return read_mapping(path)
    except MappingFileError as exc:
        raise ScenarioError(f"scenario: {exc}") from None


def _dataclass_from(cls: type[Any], data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ScenarioError(f"{where} must be a table of values")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ScenarioError(f"{where}: unknown keys {unknown}; known: {sorted(known)}")
    return cls(**data)


def scenario_from_dict(data: dict[str, Any], settings: Settings | None = None) -> Scenario:
    body = dict(data.get("scenario", {}))
    if settings is None:
        settings = settings_from_dict(dict(data.get("settings", {})))
    unknown = sorted(set(body) - _SCENARIO_KEYS - {"variation", "sensors", "faults"})
    if unknown:
        raise ScenarioError(f"scenario: unknown keys {unknown}; known: {sorted(_SCENARIO_KEYS)}")
    kwargs: dict[str, Any] = {k: body[k] for k in _SCENARIO_KEYS if k in body}
    if "variation" in body:
        kwargs["variation"] = _dataclass_from(CellVariation, body["variation"], "scenario.variation")
    if "sensors" in body:
        kwargs["sensors"] = _dataclass_from(SensorSpec, body["sensors"], "scenario.sensors")
    try:
        kwargs["faults"] = tuple(fault_from_dict(f) for f in body.get("faults", []))
    except (FaultError, AttributeError, TypeError) as exc:
        raise ScenarioError(f"scenario.faults: {exc}") from None
    for key in ("duration_s", "tick_s", "plant_step_s", "record_every_s"):
        if key in kwargs and not float(kwargs[key]) > 0:
            raise ScenarioError(f"scenario.{key} must be > 0 (got {kwargs[key]})")
    return Scenario(settings=settings, **kwargs)


def load_scenario(path: Path, settings: Settings | None = None) -> Scenario:
    return scenario_from_dict(_read_mapping(path), settings)
