"""Profiles: constant, CC-CV, solar and van days, drive cycles, user CSV files."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartbms.core.settings import Settings
from smartbms.sim.profiles import (
    DRIVE_CYCLE_DIR,
    ConstantCurrent,
    CsvStats,
    ProfileError,
    TableProfile,
    drive_cycle,
    read_two_column_csv,
)
from smartbms.sim.setup import make_profile, profile_from_spec


def test_constant_profiles(lfp4: Settings) -> None:
    assert ConstantCurrent(-20.0).demand(123.0).direct_a == -20.0
    assert profile_from_spec("constant_power:-500", lfp4).demand(0.0).direct_w == -500.0
    with pytest.raises(ProfileError, match="not a number"):
        profile_from_spec("constant_current:lots", lfp4)
    with pytest.raises(ProfileError, match="unknown profile"):
        profile_from_spec("moonlight", lfp4)


def test_solar_day_is_dark_at_night_and_loads_run_all_day(lfp4: Settings) -> None:
    day = make_profile("solar_day", lfp4, seed=3)
    night, noon = day.demand(2 * 3600.0), day.demand(13 * 3600.0)
    assert night.charger is not None and night.charger.max_power_w == 0.0
    assert noon.charger is not None and noon.charger.max_power_w > 100.0
    assert night.load_w > 0.0 and noon.load_w > 0.0
    # Seeded clouds: same seed, same sky; next day repeats the shape.
    assert make_profile("solar_day", lfp4, seed=3).demand(13 * 3600.0) == noon
    energy_wh = sum(day.demand(t).load_w for t in range(0, 86_400, 60)) / 60.0
    assert energy_wh == pytest.approx(0.45 * 100 * 4 * 3.2, rel=0.05)


def test_van_day_drives_on_the_alternator(lfp4: Settings) -> None:
    van = make_profile("van_day", lfp4)
    assert van.demand(9 * 3600.0).alternator_a > 0.0
    assert van.demand(12 * 3600.0).alternator_a == 0.0
    assert van.demand(20 * 3600.0).load_w > van.demand(12 * 3600.0).load_w


def test_any_two_column_csv_with_bad_rows_counted(tmp_path: Path) -> None:
    path = tmp_path / "load.csv"
    path.write_text(
        "# my load\ntime,current\n0,-10\n10,abc\n20,-20\n20,-5\n30,5\nonly-one\n", encoding="utf-8"
    )
    stats = CsvStats()
    times, values = read_two_column_csv(path, stats)
    assert times == (0.0, 20.0, 30.0) and values == (-10.0, -20.0, 5.0)
    assert stats.rows == 3 and stats.skipped == 3 and len(stats.problems) == 3
    profile = TableProfile(times, values)
    assert profile.demand(5.0).direct_a == -10.0
    assert profile.demand(25.0).direct_a == -20.0
    assert profile.demand(25.0 + profile.duration_s).direct_a == -20.0  # repeats


def test_csv_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read"):
        read_two_column_csv(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("0,1\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="fewer than two"):
        read_two_column_csv(bad)


@pytest.mark.skipif(not DRIVE_CYCLE_DIR.is_dir(), reason=f"drive cycles not present at {DRIVE_CYCLE_DIR}")
@pytest.mark.parametrize("name", ["UDDS", "US06", "WLTC", "car_current"])
def test_drive_cycles_scale_to_the_cell_and_flip_the_sign(name: str) -> None:
    small = drive_cycle(name, 5.0)
    big = drive_cycle(name, 280.0, cells_series=16)
    values = [small.value_at(t) for t in range(0, int(small.duration_s), 7)]
    assert min(values) < 0.0  # discharge is negative in smartbms
    t = next(t for t in range(0, int(small.duration_s), 7) if small.value_at(t) != 0.0)
    ratio = big.value_at(t) / small.value_at(t)
    assert ratio == pytest.approx(56.0 * (16 if name == "WLTC" else 1))


def test_missing_drive_cycle_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="not found"):
        drive_cycle("UDDS", 5.0, directory=tmp_path)
