"""The one validated settings model: topology, limits, outputs, balancing, power modes.

Defaults follow the chemistry preset and the pack size, so ``Settings()`` is a sensible
16S LFP pack and ``settings_from_dict({"pack": {"chemistry": "NMC", "cells_series": 4}})`` a
sensible 4S NMC pack. Static ranges live on the fields; ranges that depend on the chemistry
or on another field are checked together in :func:`_consistency_problems`. Every rejection
names the field, its allowed range and the bad value.
"""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from smartbms.core.chemistry import PRESETS, Chemistry, ChemistryPreset
from smartbms.errors import SettingsError
from smartbms.mapping_files import MappingFileError, read_mapping

_STRICT = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class PrealarmMode(StrEnum):
    CONTINUOUS = "continuous"
    INTERMITTENT = "intermittent"


class BalancingStrategyName(StrEnum):
    NONE = "none"
    PASSIVE = "passive"
    SOC = "soc"
    ACTIVE = "active"


class PackSettings(BaseModel):
    model_config = _STRICT
    chemistry: Chemistry = Chemistry.LFP
    cells_series: int = Field(16, ge=1, le=48)
    cells_parallel: int = Field(1, ge=1, le=64)
    nominal_capacity_ah: float = Field(280.0, gt=0.0, le=100_000.0)
    temperature_sensors: int = Field(4, ge=0, le=16)


class ProtectionSettings(BaseModel):
    model_config = _STRICT
    cell_ov_v: float = Field(ge=0.5, le=5.0)
    cell_ov_release_v: float = Field(ge=0.5, le=5.0)
    cell_ov_warning_v: float = Field(ge=0.5, le=5.0)
    cell_ov_delay_s: float = Field(2.0, ge=0.0, le=60.0)
    cell_ov_recovery_s: float = Field(30.0, ge=0.0, le=3600.0)
    cell_uv_v: float = Field(ge=0.5, le=5.0)
    cell_uv_release_v: float = Field(ge=0.5, le=5.0)
    cell_uv_warning_v: float = Field(ge=0.5, le=5.0)
    cell_uv_delay_s: float = Field(2.0, ge=0.0, le=60.0)
    cell_uv_recovery_s: float = Field(30.0, ge=0.0, le=3600.0)
    pack_ov_v: float = Field(ge=1.0, le=250.0)
    pack_ov_release_v: float = Field(ge=1.0, le=250.0)
    pack_ov_delay_s: float = Field(2.0, ge=0.0, le=60.0)
    pack_ov_recovery_s: float = Field(30.0, ge=0.0, le=3600.0)
    pack_uv_v: float = Field(ge=1.0, le=250.0)
    pack_uv_release_v: float = Field(ge=1.0, le=250.0)
    pack_uv_delay_s: float = Field(2.0, ge=0.0, le=60.0)
    pack_uv_recovery_s: float = Field(30.0, ge=0.0, le=3600.0)
    # Charging stops at this pack voltage and resumes only after the pack stayed
    # `charge_reenable_margin_v` below it for `charge_reenable_hold_s`.
    charge_voltage_limit_v: float = Field(ge=1.0, le=250.0)
    charge_reenable_margin_v: float = Field(0.5, ge=0.01, le=10.0)
    charge_reenable_hold_s: float = Field(10.0, ge=0.0, le=3600.0)
    charge_oc_a: float = Field(gt=0.0, le=10_000.0)
    charge_oc_delay_s: float = Field(5.0, ge=0.0, le=60.0)
    charge_oc_recovery_s: float = Field(60.0, ge=0.0, le=3600.0)
    discharge_oc1_a: float = Field(gt=0.0, le=10_000.0)
    discharge_oc1_delay_s: float = Field(10.0, ge=0.0, le=300.0)
    discharge_oc2_a: float = Field(gt=0.0, le=10_000.0)
    discharge_oc2_delay_s: float = Field(1.0, ge=0.0, le=60.0)
    discharge_oc_recovery_s: float = Field(60.0, ge=0.0, le=3600.0)
    short_circuit_a: float = Field(gt=0.0, le=50_000.0)
    short_circuit_delay_s: float = Field(0.0, ge=0.0, le=0.01)
    short_circuit_latched: bool = True
    # Warnings trip at this fraction of a current limit.
    current_warning_fraction: float = Field(0.9, ge=0.5, le=1.0)
    charge_ot_c: float = Field(ge=-40.0, le=100.0)
    charge_ot_release_c: float = Field(ge=-40.0, le=100.0)
    charge_ut_c: float = Field(ge=-40.0, le=100.0)
    charge_ut_release_c: float = Field(ge=-40.0, le=100.0)
    discharge_ot_c: float = Field(ge=-40.0, le=100.0)
    discharge_ot_release_c: float = Field(ge=-40.0, le=100.0)
    discharge_ut_c: float = Field(ge=-40.0, le=100.0)
    discharge_ut_release_c: float = Field(ge=-40.0, le=100.0)
    fet_ot_c: float = Field(85.0, ge=20.0, le=150.0)
    fet_ot_release_c: float = Field(70.0, ge=20.0, le=150.0)
    temperature_delay_s: float = Field(5.0, ge=0.0, le=300.0)
    temperature_recovery_s: float = Field(60.0, ge=0.0, le=3600.0)
    # Warnings trip this far inside a temperature limit.
    temperature_warning_margin_c: float = Field(5.0, ge=0.0, le=30.0)
    imbalance_warning_v: float = Field(0.10, gt=0.0, le=2.0)
    imbalance_protection_v: float = Field(0.50, gt=0.0, le=2.0)
    imbalance_release_v: float = Field(0.30, gt=0.0, le=2.0)
    imbalance_delay_s: float = Field(30.0, ge=0.0, le=3600.0)
    # Current through a path the BMS has opened means a welded contactor or a failed FET (E-FET).
    # Turn off only where the BMS does not switch the current itself (it only signals chargers/loads).
    switch_failure_detection: bool = True
    switch_failure_current_a: float = Field(gt=0.0, le=1000.0)
    switch_failure_delay_s: float = Field(5.0, ge=1.0, le=60.0)


class OutputSettings(BaseModel):
    model_config = _STRICT
    prealarm_cell_v: float = Field(ge=0.5, le=5.0)
    prealarm_delay_s: float = Field(2.0, ge=0.0, le=60.0)
    prealarm_mode: PrealarmMode = PrealarmMode.CONTINUOUS
    # The load disconnect waits at least this long after the pre-alarm (Victron smallBMS: 30 s).
    prealarm_lead_s: float = Field(30.0, ge=30.0, le=600.0)
    load_disconnect_cell_v: float = Field(ge=0.5, le=5.0)
    load_disconnect_delay_s: float = Field(5.0, ge=0.0, le=300.0)
    charge_disconnect_cell_v: float = Field(ge=0.5, le=5.0)
    charge_disconnect_delay_s: float = Field(1.0, ge=0.0, le=60.0)
    # The charge-disconnect output opens this far inside the charge temperature limits.
    charge_disconnect_temp_margin_c: float = Field(2.0, ge=0.0, le=20.0)
    intermittent_period_s: float = Field(2.0, gt=0.0, le=60.0)


class ChargeInputSettings(BaseModel):
    """A limited charge input, e.g. an alternator port (Victron Lynx Smart BMS / Orion style)."""

    model_config = _STRICT
    enabled: bool = True
    fuse_rating_a: float = Field(100.0, gt=0.0, le=2000.0)
    limit_fraction: float = Field(0.9, gt=0.0, le=1.0)
    start_v: float = Field(ge=1.0, le=250.0)


class ChargingSettings(BaseModel):
    model_config = _STRICT
    float_voltage_v: float = Field(ge=1.0, le=250.0)
    absorption_time_s: float = Field(7200.0, ge=0.0, le=86_400.0)
    tail_current_a: float = Field(gt=0.0, le=1000.0)
    max_charge_current_a: float = Field(gt=0.0, le=10_000.0)
    max_discharge_current_a: float = Field(gt=0.0, le=10_000.0)


class BalancingSettings(BaseModel):
    model_config = _STRICT
    strategy: BalancingStrategyName = BalancingStrategyName.PASSIVE
    start_cell_v: float = Field(ge=0.5, le=5.0)
    start_delta_v: float = Field(0.010, ge=0.001, le=0.5)
    stop_delta_v: float = Field(0.005, ge=0.0, le=0.5)
    bleed_resistance_ohm: float = Field(47.0, gt=0.0, le=1000.0)
    max_resistor_temperature_c: float = Field(80.0, ge=20.0, le=150.0)
    active_transfer_current_a: float = Field(1.0, gt=0.0, le=20.0)
    # Balancing runs only while charging or resting: below this discharge current counts as rest.
    rest_current_a: float = Field(1.0, ge=0.0, le=100.0)
    # SOC-based and active balancing: start and stop at these per-cell SOC differences.
    soc_start_delta_pct: float = Field(1.0, ge=0.1, le=50.0)
    soc_stop_delta_pct: float = Field(0.3, ge=0.0, le=50.0)
    # Bleed resistor temperature estimate: rise per watt and time constant (board-dependent).
    bleed_thermal_resistance_k_per_w: float = Field(30.0, gt=0.0, le=500.0)
    bleed_thermal_time_constant_s: float = Field(60.0, gt=0.0, le=3600.0)
    # At most this many bleed resistors at once (0 = no limit); many AFEs limit it for heat.
    max_bleed_cells: int = Field(0, ge=0, le=48)


class PowerSettings(BaseModel):
    model_config = _STRICT
    sample_period_s: float = Field(1.0, gt=0.0, le=60.0)
    idle_current_a: float = Field(0.5, ge=0.0, le=100.0)
    low_power_after_s: float = Field(300.0, ge=0.0, le=86_400.0)
    low_power_sample_period_s: float = Field(10.0, gt=0.0, le=600.0)
    # 0 disables going to sleep on idle.
    sleep_after_s: float = Field(0.0, ge=0.0, le=7 * 86_400.0)
    sleep_wake_interval_s: float = Field(3600.0, gt=0.0, le=7 * 86_400.0)
    wake_current_a: float = Field(1.0, ge=0.0, le=100.0)
    # Sleep after the cell under-voltage protection has held this long, to save the cells (0 = never).
    sleep_on_cell_uv_after_s: float = Field(600.0, ge=0.0, le=86_400.0)


class SensorSettings(BaseModel):
    model_config = _STRICT
    stale_after_s: float = Field(5.0, gt=0.0, le=600.0)
    open_wire_cell_v: float = Field(0.3, ge=0.0, le=1.0)
    cell_v_plausible_min: float = Field(0.5, ge=0.0, le=5.0)
    cell_v_plausible_max: float = Field(5.0, ge=1.0, le=6.0)
    temperature_plausible_min_c: float = Field(-40.0, ge=-60.0, le=0.0)
    temperature_plausible_max_c: float = Field(120.0, ge=50.0, le=200.0)
    current_plausible_max_a: float = Field(5000.0, gt=0.0, le=100_000.0)
    # Allowed difference between the measured pack voltage and the sum of the cells.
    pack_voltage_tolerance_v: float = Field(1.0, gt=0.0, le=50.0)
    startup_valid_samples: int = Field(3, ge=1, le=100)


_SECTIONS = ("pack", "protection", "outputs", "charge_input", "charging", "balancing", "power", "sensors")


class Settings(BaseModel):
    model_config = _STRICT
    # Every section may be left out: the "before" validator fills it from the chemistry preset.
    pack: PackSettings
    protection: ProtectionSettings
    outputs: OutputSettings
    charge_input: ChargeInputSettings
    charging: ChargingSettings
    balancing: BalancingSettings
    power: PowerSettings
    sensors: SensorSettings

    @model_validator(mode="before")
    @classmethod
    def _fill_chemistry_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        pack_data = data.get("pack", {})
        if isinstance(pack_data, PackSettings):
            pack_data = pack_data.model_dump()
        if not isinstance(pack_data, dict):
            return data
        try:
            pack = PackSettings(**pack_data)
        except ValidationError:
            return data  # the pack section's own errors are reported by normal validation
        filled = dict(data)
        filled.setdefault("pack", pack_data)
        for section in ("power", "sensors"):
            filled.setdefault(section, {})
        for section, defaults in _chemistry_defaults(pack).items():
            given = filled.get(section, {})
            if isinstance(given, BaseModel):
                given = given.model_dump()
            if isinstance(given, dict):
                filled[section] = {**defaults, **given}
        return filled

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        problems = _consistency_problems(self)
        if problems:
            raise _ConsistencyError(problems)
        return self

    @property
    def preset(self) -> ChemistryPreset:
        return PRESETS[self.pack.chemistry]

    @property
    def pack_label(self) -> str:
        return f"{self.pack.cells_series}S{self.pack.cells_parallel}P {self.pack.chemistry}"

    def get(self, key: str) -> Any:
        section, name = _split_key(key)
        return getattr(getattr(self, section), name)

    def with_changes(self, changes: dict[str, Any]) -> Settings:
        """A new validated Settings with dotted ``section.field`` keys changed.

        Changing the chemistry or the cell count re-derives every limit that was not changed
        in the same call from the new preset: old LFP limits make no sense on an NMC pack.
        """
        data = self.model_dump(mode="json")
        rederive = any(key in ("pack.chemistry", "pack.cells_series") for key in changes)
        if rederive:
            data = {"pack": data["pack"]}
        for key, value in changes.items():
            section, name = _split_key(key)
            data.setdefault(section, {})[name] = value
        return settings_from_dict(data)


class _ConsistencyError(ValueError):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))


def _split_key(key: str) -> tuple[str, str]:
    parts = key.split(".")
    if len(parts) != 2 or parts[0] not in _SECTIONS:
        raise SettingsError(
            [
                (
                    key,
                    f"unknown setting; keys look like SECTION.FIELD with SECTION one of "
                    f"{', '.join(_SECTIONS)}",
                )
            ]
        )
    section, name = parts
    model = Settings.model_fields[section].annotation
    assert isinstance(model, type) and issubclass(model, BaseModel)
    if name not in model.model_fields:
        known = ", ".join(sorted(model.model_fields))
        raise SettingsError([(key, f"unknown setting; {section} has: {known}")])
    return section, name


def _chemistry_defaults(pack: PackSettings) -> dict[str, dict[str, Any]]:
    p = PRESETS[pack.chemistry]
    n = pack.cells_series
    capacity = pack.nominal_capacity_ah * 1.0
    temp = {
        "charge_ot_c": p.charge_ot_c,
        "charge_ot_release_c": p.charge_ot_c - 5.0,
        "charge_ut_c": p.charge_ut_c,
        "charge_ut_release_c": p.charge_ut_c + 3.0,
        "discharge_ot_c": p.discharge_ot_c,
        "discharge_ot_release_c": p.discharge_ot_c - 5.0,
        "discharge_ut_c": p.discharge_ut_c,
        "discharge_ut_release_c": p.discharge_ut_c + 5.0,
    }
    return {
        "protection": {
            "cell_ov_v": p.cell_ov_v,
            "cell_ov_release_v": p.cell_ov_release_v,
            "cell_ov_warning_v": p.cell_ov_warning_v,
            "cell_uv_v": p.cell_uv_v,
            "cell_uv_release_v": p.cell_uv_release_v,
            "cell_uv_warning_v": p.cell_uv_warning_v,
            "pack_ov_v": round(n * (p.cell_ov_v - 0.02), 3),
            "pack_ov_release_v": round(n * p.cell_ov_release_v, 3),
            "pack_uv_v": round(n * (p.cell_uv_v + 0.05), 3),
            "pack_uv_release_v": round(n * p.cell_uv_release_v, 3),
            "charge_voltage_limit_v": round(n * p.charge_cell_v, 3),
            "charge_oc_a": round(0.6 * capacity, 3),
            "discharge_oc1_a": round(1.0 * capacity, 3),
            "discharge_oc2_a": round(1.5 * capacity, 3),
            "short_circuit_a": round(4.0 * capacity, 3),
            "switch_failure_current_a": round(max(1.0, 0.01 * capacity), 3),
            **temp,
        },
        "outputs": {
            "prealarm_cell_v": p.prealarm_cell_v,
            "load_disconnect_cell_v": p.load_disconnect_cell_v,
            "charge_disconnect_cell_v": p.charge_disconnect_cell_v,
        },
        "charge_input": {"start_v": round(n * p.charge_input_start_cell_v, 3)},
        "charging": {
            "float_voltage_v": round(n * p.float_cell_v, 3),
            "tail_current_a": round(0.02 * capacity, 3),
            "max_charge_current_a": round(0.5 * capacity, 3),
            "max_discharge_current_a": round(1.0 * capacity, 3),
        },
        "balancing": {"start_cell_v": p.balance_start_cell_v},
    }


def _consistency_problems(s: Settings) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    p, pr, out, pack = s.preset, s.protection, s.outputs, s.pack
    n = pack.cells_series
    label = f"{n}S {pack.chemistry}"

    def need(ok: bool, field: str, message: str) -> None:
        if not ok:
            problems.append((field, message))

    lo, hi = n * p.charge_cell_v_min, n * p.charge_cell_v_max
    need(
        lo - 1e-9 <= pr.charge_voltage_limit_v <= hi + 1e-9,
        "protection.charge_voltage_limit_v",
        f"must lie between {lo:.2f} V and {hi:.2f} V for a {label} pack "
        f"(got {pr.charge_voltage_limit_v:g} V)",
    )
    cell_fields = {
        "protection.cell_ov_v": pr.cell_ov_v,
        "protection.cell_ov_release_v": pr.cell_ov_release_v,
        "protection.cell_ov_warning_v": pr.cell_ov_warning_v,
        "protection.cell_uv_v": pr.cell_uv_v,
        "protection.cell_uv_release_v": pr.cell_uv_release_v,
        "protection.cell_uv_warning_v": pr.cell_uv_warning_v,
        "outputs.prealarm_cell_v": out.prealarm_cell_v,
        "outputs.load_disconnect_cell_v": out.load_disconnect_cell_v,
        "outputs.charge_disconnect_cell_v": out.charge_disconnect_cell_v,
        "balancing.start_cell_v": s.balancing.start_cell_v,
    }
    for field, value in cell_fields.items():
        need(
            p.threshold_cell_v_min <= value <= p.threshold_cell_v_max,
            field,
            f"must lie between {p.threshold_cell_v_min:g} V and {p.threshold_cell_v_max:g} V for "
            f"{pack.chemistry} cells (got {value:g} V)",
        )

    def above(field_hi: str, v_hi: float, field_lo: str, v_lo: float, what: str) -> None:
        need(v_hi > v_lo, field_hi, f"{what} ({v_hi:g}) must lie above {field_lo} ({v_lo:g})")

    def below(field_lo: str, v_lo: float, field_hi: str, v_hi: float, what: str) -> None:
        need(v_lo < v_hi, field_lo, f"{what} ({v_lo:g}) must lie below {field_hi} ({v_hi:g})")

    # Hysteresis: a release level on the safe side of its trip level.
    below(
        "protection.cell_ov_release_v",
        pr.cell_ov_release_v,
        "protection.cell_ov_v",
        pr.cell_ov_v,
        "the over-voltage release",
    )
    above(
        "protection.cell_uv_release_v",
        pr.cell_uv_release_v,
        "protection.cell_uv_v",
        pr.cell_uv_v,
        "the under-voltage release",
    )
    below(
        "protection.pack_ov_release_v",
        pr.pack_ov_release_v,
        "protection.pack_ov_v",
        pr.pack_ov_v,
        "the pack over-voltage release",
    )
    above(
        "protection.pack_uv_release_v",
        pr.pack_uv_release_v,
        "protection.pack_uv_v",
        pr.pack_uv_v,
        "the pack under-voltage release",
    )
    below(
        "protection.charge_ot_release_c",
        pr.charge_ot_release_c,
        "protection.charge_ot_c",
        pr.charge_ot_c,
        "the charge over-temperature release",
    )
    above(
        "protection.charge_ut_release_c",
        pr.charge_ut_release_c,
        "protection.charge_ut_c",
        pr.charge_ut_c,
        "the charge under-temperature release",
    )
    below(
        "protection.discharge_ot_release_c",
        pr.discharge_ot_release_c,
        "protection.discharge_ot_c",
        pr.discharge_ot_c,
        "the discharge over-temperature release",
    )
    above(
        "protection.discharge_ut_release_c",
        pr.discharge_ut_release_c,
        "protection.discharge_ut_c",
        pr.discharge_ut_c,
        "the discharge under-temperature release",
    )
    below(
        "protection.fet_ot_release_c",
        pr.fet_ot_release_c,
        "protection.fet_ot_c",
        pr.fet_ot_c,
        "the power-stage over-temperature release",
    )
    below(
        "protection.imbalance_release_v",
        pr.imbalance_release_v,
        "protection.imbalance_protection_v",
        pr.imbalance_protection_v,
        "the imbalance release",
    )
    # Tiers in order: warning before pre-alarm before protection.
    below(
        "protection.cell_ov_warning_v",
        pr.cell_ov_warning_v,
        "protection.cell_ov_v",
        pr.cell_ov_v,
        "the over-voltage warning",
    )
    below(
        "outputs.charge_disconnect_cell_v",
        out.charge_disconnect_cell_v,
        "protection.cell_ov_v",
        pr.cell_ov_v,
        "the charge-disconnect level",
    )
    above(
        "protection.cell_uv_warning_v",
        pr.cell_uv_warning_v,
        "protection.cell_uv_v",
        pr.cell_uv_v,
        "the under-voltage warning",
    )
    above(
        "outputs.load_disconnect_cell_v",
        out.load_disconnect_cell_v,
        "protection.cell_uv_v",
        pr.cell_uv_v,
        "the load-disconnect level",
    )
    above(
        "outputs.prealarm_cell_v",
        out.prealarm_cell_v,
        "outputs.load_disconnect_cell_v",
        out.load_disconnect_cell_v,
        "the pre-alarm level",
    )
    below(
        "protection.imbalance_warning_v",
        pr.imbalance_warning_v,
        "protection.imbalance_protection_v",
        pr.imbalance_protection_v,
        "the imbalance warning",
    )
    below(
        "protection.charge_ut_c",
        pr.charge_ut_c,
        "protection.charge_ot_c",
        pr.charge_ot_c,
        "the charge under-temperature limit",
    )
    below(
        "protection.discharge_ut_c",
        pr.discharge_ut_c,
        "protection.discharge_ot_c",
        pr.discharge_ot_c,
        "the discharge under-temperature limit",
    )
    below(
        "protection.pack_uv_v",
        pr.pack_uv_v,
        "protection.pack_ov_v",
        pr.pack_ov_v,
        "the pack under-voltage limit",
    )
    need(
        pr.charge_voltage_limit_v < n * pr.cell_ov_v,
        "protection.charge_voltage_limit_v",
        f"the charge voltage limit ({pr.charge_voltage_limit_v:g} V) must lie below "
        f"{n} × protection.cell_ov_v "
        f"({n * pr.cell_ov_v:g} V)",
    )
    need(
        pr.charge_voltage_limit_v - pr.charge_reenable_margin_v > pr.pack_uv_v,
        "protection.charge_reenable_margin_v",
        f"the re-enable level ({pr.charge_voltage_limit_v - pr.charge_reenable_margin_v:g} V) must lie above "
        f"protection.pack_uv_v ({pr.pack_uv_v:g} V)",
    )
    need(
        s.charging.float_voltage_v <= pr.charge_voltage_limit_v,
        "charging.float_voltage_v",
        f"the float voltage ({s.charging.float_voltage_v:g} V) must not exceed "
        f"protection.charge_voltage_limit_v "
        f"({pr.charge_voltage_limit_v:g} V)",
    )
    # Over-current levels: each faster level higher than the slower one.
    below(
        "protection.discharge_oc1_a",
        pr.discharge_oc1_a,
        "protection.discharge_oc2_a",
        pr.discharge_oc2_a,
        "the first discharge over-current level",
    )
    below(
        "protection.discharge_oc2_a",
        pr.discharge_oc2_a,
        "protection.short_circuit_a",
        pr.short_circuit_a,
        "the second discharge over-current level",
    )
    below(
        "protection.discharge_oc2_delay_s",
        pr.discharge_oc2_delay_s,
        "protection.discharge_oc1_delay_s",
        pr.discharge_oc1_delay_s,
        "the second over-current delay",
    )
    need(
        s.charging.max_charge_current_a <= pr.charge_oc_a,
        "charging.max_charge_current_a",
        f"the charge current limit ({s.charging.max_charge_current_a:g} A) must not exceed "
        f"protection.charge_oc_a ({pr.charge_oc_a:g} A)",
    )
    need(
        s.charging.max_discharge_current_a <= pr.discharge_oc1_a,
        "charging.max_discharge_current_a",
        f"the discharge current limit ({s.charging.max_discharge_current_a:g} A) must not exceed "
        f"protection.discharge_oc1_a ({pr.discharge_oc1_a:g} A)",
    )
    below(
        "balancing.stop_delta_v",
        s.balancing.stop_delta_v,
        "balancing.start_delta_v",
        s.balancing.start_delta_v,
        "the balancing stop difference",
    )
    below(
        "sensors.cell_v_plausible_min",
        s.sensors.cell_v_plausible_min,
        "protection.cell_uv_v",
        pr.cell_uv_v,
        "the lowest plausible cell voltage",
    )
    above(
        "sensors.cell_v_plausible_max",
        s.sensors.cell_v_plausible_max,
        "protection.cell_ov_v",
        pr.cell_ov_v,
        "the highest plausible cell voltage",
    )
    need(
        pack.temperature_sensors >= 1 or not math.isfinite(pr.charge_ot_c),
        "pack.temperature_sensors",
        "at least one temperature sensor is needed to enforce the temperature limits "
        f"(got {pack.temperature_sensors})",
    )
    return problems


def _range_text(model: type[BaseModel], name: str) -> str:
    """'between 1 and 48' from a field's ge/le metadata, for messages that name the whole range."""
    field = model.model_fields.get(name)
    if field is None:
        return ""
    low = high = None
    for meta in field.metadata:
        if isinstance(meta, annotated_types.Ge | annotated_types.Gt):
            low = getattr(meta, "ge", None) if isinstance(meta, annotated_types.Ge) else meta.gt
        if isinstance(meta, annotated_types.Le | annotated_types.Lt):
            high = getattr(meta, "le", None) if isinstance(meta, annotated_types.Le) else meta.lt
    if low is not None and high is not None:
        return f"must lie between {low:g} and {high:g}"
    return ""


def _section_model(section: str) -> type[BaseModel] | None:
    field = Settings.model_fields.get(section)
    annotation = field.annotation if field else None
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _problems_from(error: ValidationError) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for item in error.errors(include_url=False):
        ctx = item.get("ctx") or {}
        inner = ctx.get("error")
        if isinstance(inner, _ConsistencyError):
            problems.extend(inner.problems)
            continue
        loc = [str(part) for part in item["loc"]]
        path = ".".join(loc) or "settings"
        if item["type"] == "extra_forbidden":
            problems.append((path, "unknown setting"))
            continue
        if item["type"] == "missing":
            # A whole section is "missing" only because a bad pack section stopped the
            # chemistry defaults from being filled in; the pack error says what is wrong.
            if len(loc) > 1 or not any(e["loc"][:1] == ("pack",) for e in error.errors()):
                problems.append((path, "is required"))
            continue
        message = item["msg"]
        if len(loc) == 2 and (model := _section_model(loc[0])) is not None:
            message = _range_text(model, loc[1]) or message
        problems.append((path, f"{message} (got {item.get('input')!r})"))
    return problems


def settings_from_dict(data: dict[str, Any]) -> Settings:
    """Validate a plain mapping into Settings; every problem is reported at once."""
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(_problems_from(exc)) from None


def default_settings(**pack: Any) -> Settings:
    """Sensible settings for a pack described by PackSettings fields (chemistry, cells_series, ...)."""
    return settings_from_dict({"pack": pack})


def load_settings(path: Path) -> Settings:
    """Read settings from a .toml, .yaml or .yml file."""
    try:
        data = read_mapping(path)
    except MappingFileError as exc:
        raise SettingsError([(str(path), str(exc))]) from None
    return settings_from_dict(data)


def save_settings(settings: Settings, path: Path) -> None:
    """Write settings as .toml or .yaml (atomically, so a crash never leaves half a file)."""
    path = Path(path)
    data = settings.model_dump(mode="json")
    if path.suffix.lower() == ".toml":
        import tomli_w

        text = tomli_w.dumps(data)
    elif path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        text = yaml.safe_dump(data, sort_keys=False)
    else:
        raise SettingsError([(str(path), "settings files must end in .toml, .yaml or .yml")])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def parse_assignment(text: str) -> tuple[str, Any]:
    """'protection.cell_ov_v=3.6' -> ('protection.cell_ov_v', '3.6'); pydantic converts the value."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise SettingsError([(text, "expected KEY=VALUE, e.g. protection.cell_ov_v=3.6")])
    _split_key(key.strip())
    return key.strip(), value.strip()
