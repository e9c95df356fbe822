"""The estimator's learned state across a restart: what is carried over, and what is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from smartbms.estimation import PackEstimator, shipped_model
from smartbms.estimation.state import (
    EstimatorStateError,
    EstimatorStateStore,
    read_state_file,
    write_state_file,
)

from .ecm_plant import EcmPlant

CAP = 100.0
DAY = 86400.0


def estimator(chemistry: str = "NMC", cells: int = 2, capacity: float = CAP) -> PackEstimator:
    return PackEstimator(chemistry=chemistry, cells_series=cells, capacity_ah=capacity)


def feed(est: PackEstimator, plant: EcmPlant, currents: list[float], t0: float, cells: int = 2) -> float:
    t = t0
    for current in currents:
        t += 1.0
        v = plant.step(current, 1.0)
        est.update(timestamp=t, current_a=current, cell_voltages_v=[v] * cells, temperatures_c=[25.0])
    return t


def learned_estimator(plant: EcmPlant) -> tuple[PackEstimator, float]:
    """An NMC estimator that has run an hour and been taught a capacity and a resistance."""
    est = estimator()
    t = feed(est, plant, [0.0] * 600 + [-30.0] * 1800 + [0.0] * 1200, 0.0)
    # As if a full cycle had measured 90 Ah (sigma 1 Ah).
    est.capacity.restore({"capacity_ah": 90.0, "weight": 1.0, "weighted_sum": 90.0, "samples": 1})
    est.resistance.restore({"factor": 1.25, "variance": 0.001, "samples": 40})
    return est, t


def test_a_restart_resumes_soc_capacity_and_resistance(tmp_path: Path) -> None:
    plant = EcmPlant(shipped_model("NMC"), CAP, 0.8)
    before, t = learned_estimator(plant)
    soc_before = before.update(
        timestamp=t + 1, current_a=0.0, cell_voltages_v=[plant.step(0.0, 1.0)] * 2, temperatures_c=[25.0]
    ).soc_pct
    path = tmp_path / "estimator_state.json"
    write_state_file(path, before.export_state())

    after = estimator()
    after.restore_state(read_state_file(path))
    assert after.capacity.capacity_ah == pytest.approx(before.capacity.capacity_ah)
    assert after.resistance_factor == pytest.approx(1.25)
    # An hour later the pack has rested; the first sample starts from the saved SOC, a little wider.
    e = after.update(
        timestamp=t + 3600,
        current_a=0.0,
        cell_voltages_v=[plant.step(0.0, 3600.0)] * 2,
        temperatures_c=[25.0],
    )
    assert e.soc_pct == pytest.approx(soc_before, abs=0.5)
    assert e.capacity_ah == pytest.approx(before.capacity.capacity_ah)
    assert after.counters.restored_soc == 1
    assert 1.0 <= e.soc_sigma_pct < 2.0


def test_restart_without_a_saved_state_starts_from_the_voltage_with_a_wide_sigma() -> None:
    # The contrast to the test above: on the LFP plateau a fresh start is much less sure.
    plant = EcmPlant(shipped_model("LFP"), CAP, 0.55)
    est = estimator("LFP")
    e = est.update(
        timestamp=1.0, current_a=0.0, cell_voltages_v=[plant.step(0.0, 1.0)] * 2, temperatures_c=[25.0]
    )
    assert e.soc_sigma_pct > 5.0
    assert est.counters.restored_soc == 0


def test_a_saved_soc_the_voltage_rules_out_is_dropped_for_the_voltage_guess() -> None:
    # Saved at 80 %, then an inverter ran the pack down to 20 % while the BMS computer was off.
    plant = EcmPlant(shipped_model("NMC"), CAP, 0.8)
    before, t = learned_estimator(plant)
    state = before.export_state()
    plant.soc, plant.v1, plant.v2 = 0.2, 0.0, 0.0
    after = estimator()
    after.restore_state(state)
    e = after.update(
        timestamp=t + 600, current_a=0.0, cell_voltages_v=[plant.step(0.0, 1.0)] * 2, temperatures_c=[25.0]
    )
    assert after.counters.restored_soc_discarded == 1
    assert e.soc_pct == pytest.approx(20.0, abs=3.0)
    assert e.capacity_ah == pytest.approx(before.capacity.capacity_ah)  # SOH is kept all the same


@pytest.mark.parametrize("gap_s", [-60.0, 40 * DAY])
def test_a_saved_soc_from_an_unknown_or_too_long_time_away_is_not_used(gap_s: float) -> None:
    plant = EcmPlant(shipped_model("NMC"), CAP, 0.8)
    before, t = learned_estimator(plant)
    after = estimator()
    after.restore_state(before.export_state())
    after.update(
        timestamp=t + gap_s, current_a=0.0, cell_voltages_v=[plant.step(0.0, 1.0)] * 2, temperatures_c=[25.0]
    )
    assert after.counters.restored_soc_discarded == 1
    assert after.counters.restored_soc == 0


def test_restore_soc_false_keeps_soh_but_not_soc() -> None:
    plant = EcmPlant(shipped_model("NMC"), CAP, 0.8)
    before, t = learned_estimator(plant)
    after = estimator()
    after.restore_state(before.export_state(), restore_soc=False)
    after.update(
        timestamp=t + 60, current_a=0.0, cell_voltages_v=[plant.step(0.0, 1.0)] * 2, temperatures_c=[25.0]
    )
    assert after.counters.restored_soc == 0
    assert after.capacity.capacity_ah == pytest.approx(before.capacity.capacity_ah)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"chemistry": "LFP"}, "chemistry"),
        ({"cells_series": 3}, "cells_series"),
        ({"nominal_capacity_ah": 280.0}, "nominal_capacity_ah"),
        ({"capacity": {"capacity_ah": 1.0, "weight": 1.0, "weighted_sum": 1.0, "samples": 1}}, "capacity"),
        ({"resistance": {"factor": -1.0, "variance": 0.1, "samples": 1}}, "resistance factor"),
        ({"zero_offset": {"offset_a": 50.0, "weight_s": 10.0}}, "offset"),
        ({"capacity": None}, "malformed"),
    ],
)
def test_a_state_of_another_pack_or_a_broken_one_is_refused_and_changes_nothing(
    change: dict[str, object], message: str
) -> None:
    plant = EcmPlant(shipped_model("NMC"), CAP, 0.8)
    before, _ = learned_estimator(plant)
    state = before.export_state() | change
    after = estimator()
    with pytest.raises(EstimatorStateError, match=message):
        after.restore_state(state)
    assert after.capacity.capacity_ah == CAP
    assert after.resistance_factor == 1.0


def test_a_filter_state_with_the_wrong_cell_count_is_refused() -> None:
    plant = EcmPlant(shipped_model("NMC"), CAP, 0.8)
    before, _ = learned_estimator(plant)
    state = before.export_state()
    state["filter"]["soc"] = [0.5]
    with pytest.raises(EstimatorStateError, match="soc must be 2 values"):
        estimator().restore_state(state)


def test_a_corrupt_or_foreign_file_gets_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "estimator_state.json"
    path.write_text('{"version": 1, "chemistry": ')
    with pytest.raises(
        EstimatorStateError, match=r"estimator_state.json: not an estimator state \(JSON error at line 1"
    ):
        read_state_file(path)
    path.write_text(json.dumps({"version": 99}))
    with pytest.raises(EstimatorStateError, match="version 99"):
        read_state_file(path)


def test_the_store_counts_a_bad_file_reports_it_and_overwrites_it_on_the_next_save(tmp_path: Path) -> None:
    path = tmp_path / "estimator_state.json"
    path.write_text("not json")
    problems: list[str] = []
    est = estimator()
    store = EstimatorStateStore(path, est, on_problem=problems.append)
    assert not store.load()
    assert store.load_failures == 1 and "not an estimator state" in problems[0]
    store.close()
    assert read_state_file(path)["cells_series"] == 2


def test_the_store_saves_once_a_minute_and_at_close(tmp_path: Path) -> None:
    now = [0.0]
    path = tmp_path / "state" / "estimator_state.json"
    plant = EcmPlant(shipped_model("NMC"), CAP, 0.8)
    est = estimator()
    store = EstimatorStateStore(path, est, clock=lambda: now[0])
    for k in range(180):
        now[0] = float(k)
        feed(est, plant, [-10.0], float(k))
        store.on_snapshot()
    assert store.saves == 3  # at 0, 60 and 120 s
    store.close()
    assert store.saves == 4
    saved = read_state_file(path)
    assert saved["last_sample_time"] == pytest.approx(180.0)
    assert not list(path.parent.glob("*.tmp"))  # the atomic write leaves no temporary file behind


def test_a_failed_save_is_counted_and_reported_not_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("")
    problems: list[str] = []
    store = EstimatorStateStore(blocker / "estimator_state.json", estimator(), on_problem=problems.append)
    store.save()
    assert store.save_failures == 1 and "not saved" in problems[0]


def test_export_before_any_sample_after_a_restore_keeps_the_restored_filter() -> None:
    plant = EcmPlant(shipped_model("NMC"), CAP, 0.8)
    before, _ = learned_estimator(plant)
    state = before.export_state()
    again = estimator()
    again.restore_state(state)
    exported = again.export_state()
    assert exported["filter"]["soc"] == pytest.approx(state["filter"]["soc"])
    assert np.isclose(exported["last_sample_time"], state["last_sample_time"])


def test_a_state_restored_without_soc_and_saved_before_any_sample_loads_again() -> None:
    # The simulated default restores no SOC; stopped before its first sample, it must still write a
    # state the next start can read.
    plant = EcmPlant(shipped_model("NMC"), CAP, 0.8)
    before, _ = learned_estimator(plant)
    first = estimator()
    first.restore_state(before.export_state(), restore_soc=False)
    second = estimator()
    second.restore_state(json.loads(json.dumps(first.export_state())), restore_soc=False)
    assert second.capacity.capacity_ah == pytest.approx(before.capacity.capacity_ah)


def test_a_soc_the_user_set_before_the_first_sample_wins_over_the_saved_one() -> None:
    plant = EcmPlant(shipped_model("NMC"), CAP, 0.8)
    before, t = learned_estimator(plant)
    after = estimator()
    after.restore_state(before.export_state())
    after.set_soc(30.0)
    e = after.update(
        timestamp=t + 60, current_a=0.0, cell_voltages_v=[plant.step(0.0, 1.0)] * 2, temperatures_c=[25.0]
    )
    assert e.soc_pct == pytest.approx(30.0, abs=1.0)
    assert after.counters.restored_soc == 0


def test_the_nmc_counting_scale_survives_a_restart_and_older_files_still_load() -> None:
    plant = EcmPlant(shipped_model("NMC"), 90.0, 0.9)  # sold as 100 Ah: the scale learns +11 %
    before = estimator()
    t = feed(before, plant, [-45.0] * 3600, 0.0)
    ekf = before._ekf
    assert ekf is not None and float(ekf.scale[0]) > 0.02
    state = json.loads(json.dumps(before.export_state()))
    after = estimator()
    after.restore_state(state, restore_soc=False)
    # Saved again before any sample, the restored filter keeps its scale.
    assert after.export_state()["filter"]["scale"] == state["filter"]["scale"]
    after.update(
        timestamp=t + 60, current_a=0.0, cell_voltages_v=[plant.step(0.0, 60.0)] * 2, temperatures_c=[25.0]
    )
    restored = after._ekf
    assert restored is not None
    assert restored.scale == pytest.approx(ekf.scale, abs=1e-3)
    assert float(restored.p33[0]) <= after.defaults.counting_scale_sigma**2
    # Once a capacity was measured, a fresh start's scale sigma is that measurement's: a saved variance
    # wider than it is capped there, not at the chemistry's prior.
    measured = json.loads(json.dumps(state))
    capacity = measured["capacity"]
    capacity["samples"], capacity["weight"] = 1, 1.0 / (0.01 * 90.0) ** 2
    capacity["weighted_sum"] = capacity["weight"] * 90.0
    measured["filter"]["scale_var"] = [0.05**2, 0.05**2]
    capped = estimator()
    capped.restore_state(measured, restore_soc=False)
    capped.update(
        timestamp=t + 60, current_a=0.0, cell_voltages_v=[plant.step(0.0, 1.0)] * 2, temperatures_c=[25.0]
    )
    assert capped._ekf is not None
    assert float(capped._ekf.p33.max()) <= capped._scale_sigma() ** 2 + 1e-12 < 0.05**2
    # A file written before the scale existed loads; the scale starts afresh.
    old = json.loads(json.dumps(state))
    del old["filter"]["scale"], old["filter"]["scale_var"]
    fresh = estimator()
    fresh.restore_state(old)
    fresh.update(
        timestamp=t + 60, current_a=0.0, cell_voltages_v=[plant.step(0.0, 1.0)] * 2, temperatures_c=[25.0]
    )
    assert fresh._ekf is not None and float(fresh._ekf.scale[0]) == 0.0
    # A scale beyond its bounds is refused, naming the field.
    bad = json.loads(json.dumps(state))
    bad["filter"]["scale"] = [0.9, 0.9]
    with pytest.raises(EstimatorStateError, match="scale"):
        estimator().restore_state(bad)
