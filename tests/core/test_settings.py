"""The settings model: chemistry presets, ranges, consistency, load/save, set KEY=VALUE."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartbms.core.settings import (
    default_settings,
    load_settings,
    parse_assignment,
    save_settings,
    settings_from_dict,
)
from smartbms.errors import SettingsError


@pytest.mark.parametrize(
    ("chemistry", "ov", "uv"), [("LFP", 3.65, 2.5), ("NMC", 4.2, 3.0), ("LTO", 2.8, 1.8)]
)
def test_chemistry_presets_give_sensible_limits(chemistry: str, ov: float, uv: float) -> None:
    s = default_settings(chemistry=chemistry, cells_series=8, nominal_capacity_ah=50)
    assert s.protection.cell_ov_v == ov and s.protection.cell_uv_v == uv
    assert s.protection.cell_uv_v < s.outputs.load_disconnect_cell_v < s.outputs.prealarm_cell_v
    assert s.protection.charge_voltage_limit_v < 8 * s.protection.cell_ov_v
    assert s.charging.max_charge_current_a <= s.protection.charge_oc_a


def test_charge_voltage_limit_range_for_4s_lfp_is_named_in_the_error() -> None:
    with pytest.raises(SettingsError) as info:
        settings_from_dict({"pack": {"cells_series": 4}, "protection": {"charge_voltage_limit_v": 16.0}})
    message = str(info.value)
    assert "protection.charge_voltage_limit_v" in message
    assert "13.00 V and 15.30 V" in message and "got 16 V" in message
    for ok in (13.0, 14.2, 15.3):
        settings_from_dict(
            {
                "pack": {"cells_series": 4},
                "charging": {"float_voltage_v": 13.0},
                "protection": {"charge_voltage_limit_v": ok, "cell_ov_v": 3.9},
            }
        )


def test_undervoltage_release_below_trip_is_refused() -> None:
    with pytest.raises(SettingsError) as info:
        settings_from_dict({"protection": {"cell_uv_release_v": 2.4}})
    assert info.value.problems[0][0] == "protection.cell_uv_release_v"
    assert "must lie above protection.cell_uv_v" in info.value.problems[0][1]


def test_static_range_names_field_range_and_value() -> None:
    with pytest.raises(SettingsError) as info:
        settings_from_dict({"pack": {"cells_series": 100}})
    assert str(info.value) == "pack.cells_series: must lie between 1 and 48 (got 100)"


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as info:
        settings_from_dict({"protection": {"cell_ov_release_v": 3.9, "fet_ot_release_c": 99.0}})
    fields = {f for f, _ in info.value.problems}
    assert {"protection.cell_ov_release_v", "protection.fet_ot_release_c"} <= fields


def test_unknown_setting_is_refused() -> None:
    with pytest.raises(SettingsError, match="unknown setting"):
        settings_from_dict({"protection": {"cell_ov_volts": 3.6}})
    with pytest.raises(SettingsError, match="unknown setting"):
        default_settings().with_changes({"nonsense.key": 1})


def test_with_changes_converts_text_and_validates() -> None:
    s = default_settings()
    assert s.with_changes({"protection.cell_ov_delay_s": "4.5"}).protection.cell_ov_delay_s == 4.5
    with pytest.raises(SettingsError, match="must lie between 0 and 60"):
        s.with_changes({"protection.cell_ov_delay_s": "100"})


def test_changing_chemistry_rederives_limits() -> None:
    s = default_settings(cells_series=4, nominal_capacity_ah=100).with_changes({"pack.chemistry": "NMC"})
    assert s.protection.cell_ov_v == 4.2
    assert s.protection.charge_voltage_limit_v == pytest.approx(16.6)


@pytest.mark.parametrize("suffix", [".toml", ".yaml"])
def test_save_and_load_round_trip(tmp_path: Path, suffix: str) -> None:
    s = default_settings(chemistry="NMC", cells_series=13, nominal_capacity_ah=30).with_changes(
        {"outputs.prealarm_mode": "intermittent"}
    )
    path = tmp_path / f"settings{suffix}"
    save_settings(s, path)
    assert load_settings(path) == s


def test_load_reports_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[pack\ncells_series = 4")
    with pytest.raises(SettingsError, match="cannot parse"):
        load_settings(path)
    path.write_text("[pack]\ncells_series = 4\n[protection]\ncell_uv_v = 3.5\n")
    with pytest.raises(SettingsError, match=r"protection\.cell_uv_v"):
        load_settings(path)


def test_parse_assignment() -> None:
    assert parse_assignment("protection.cell_ov_v=3.62") == ("protection.cell_ov_v", "3.62")
    with pytest.raises(SettingsError, match="KEY=VALUE"):
        parse_assignment("protection.cell_ov_v")
