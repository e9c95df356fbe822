from __future__ import annotations

import math

import numpy as np
import pytest

from smartbms.estimation import PackEstimator, shipped_model
from smartbms.estimation.pack import PackEstimate

from .ecm_plant import EcmPlant

CAP = 100.0


def feed(
    est: PackEstimator,
    plants: list[EcmPlant],
    currents: list[float],
    t0: float = 0.0,
    temps: tuple[float, ...] = (25.0, 25.0),
) -> list[PackEstimate]:
    out = []
    for k, current in enumerate(currents):
        volts = [p.step(current, 1.0) for p in plants]
        out.append(
            est.update(timestamp=t0 + k + 1, current_a=current, cell_voltages_v=volts, temperatures_c=temps)
        )
    return out


def nmc_pack(n: int = 4, soc: float = 0.6, **kw) -> tuple[PackEstimator, list[EcmPlant]]:
    model = shipped_model("NMC")
    plants = [EcmPlant(model, CAP, soc) for _ in range(n)]
    est = PackEstimator(chemistry="NMC", cells_series=n, capacity_ah=CAP, **kw)
    return est, plants


def test_estimate_has_every_contract_field() -> None:
    est, plants = nmc_pack()
    e = feed(est, plants, [-20.0] * 30)[-1]
    assert 0 <= e.soc_pct <= 100 and e.soc_sigma_pct > 0 and 0 < e.soh_pct <= 100
    assert len(e.cell_soc_pct) == 4
    assert e.remaining_ah == pytest.approx(e.soc_pct / 100 * e.capacity_ah, rel=0.02)
    assert e.energy_wh > 0 and e.time_to_empty_s is not None and e.time_to_full_s is None
    assert e.charge_voltage_limit_v == pytest.approx(4 * 4.15)
    assert e.charge_current_limit_a > 0 and e.discharge_current_limit_a > 0


def test_initialises_from_ocv_when_no_soc_is_given() -> None:
    est, plants = nmc_pack(soc=0.4)
    e = feed(est, plants, [0.0] * 5)[-1]
    assert e.soc_pct == pytest.approx(40.0, abs=2.0)


def test_converges_from_a_20_percent_wrong_start() -> None:
    est, plants = nmc_pack(soc=0.7, initial_soc_pct=50.0)
    currents = [(-30.0 if (k // 60) % 2 else 10.0) for k in range(600)]
    estimates = feed(est, plants, currents)
    assert abs(estimates[-1].soc_pct - 100 * plants[0].soc) < 1.5
    assert estimates[-1].soc_sigma_pct < estimates[0].soc_sigma_pct


def test_tracks_a_discharge_with_the_right_capacity() -> None:
    est, plants = nmc_pack(soc=0.9, initial_soc_pct=90.0)
    estimates = feed(est, plants, [-50.0] * 3600)  # 0.5C for an hour
    assert estimates[-1].soc_pct == pytest.approx(100 * plants[0].soc, abs=1.5)
    assert estimates[-1].time_to_empty_s == pytest.approx(plants[0].soc * CAP / 50 * 3600, rel=0.1)


def test_pack_is_as_empty_as_its_emptiest_and_as_full_as_its_fullest_cell() -> None:
    model = shipped_model("NMC")
    plants = [EcmPlant(model, CAP, s) for s in (0.30, 0.50, 0.50, 0.70)]
    est = PackEstimator(chemistry="NMC", cells_series=4, capacity_ah=CAP)
    e = feed(est, plants, [0.0] * 10)[-1]
    cells = e.cell_soc_pct
    assert cells[0] == pytest.approx(30, abs=2) and cells[3] == pytest.approx(70, abs=2)
    s_min, s_max = min(cells) / 100, max(cells) / 100
    assert e.soc_pct == pytest.approx(100 * s_min / (s_min + 1 - s_max), abs=0.01)
    assert e.remaining_ah == pytest.approx(s_min * e.capacity_ah, rel=1e-6)
    # Time to full counts until the fullest cell is full.
    e = feed(est, plants, [20.0] * 60, t0=10)[-1]
    assert e.time_to_full_s == pytest.approx((1 - max(e.cell_soc_pct) / 100) * CAP / 20 * 3600, rel=0.2)


def test_nan_inputs_never_crash_and_grow_sigma() -> None:
    est, plants = nmc_pack()
    feed(est, plants, [-10.0] * 20)
    before = est.update(timestamp=100.0, current_a=-10.0, cell_voltages_v=[3.8] * 4, temperatures_c=[25.0])
    sigmas = []
    for k in range(1, 121):
        e = est.update(
            timestamp=100.0 + k, current_a=math.nan, cell_voltages_v=[math.nan] * 4, temperatures_c=[math.nan]
        )
        sigmas.append(e.soc_sigma_pct)
    assert all(math.isfinite(x) for x in (e.soc_pct, e.soc_sigma_pct, e.energy_wh))
    assert sigmas[-1] > before.soc_sigma_pct
    assert est.counters.missing_current == 120
    assert est.counters.missing_cell_voltages == 480
    # No proof that charging is safe without voltages and temperatures.
    assert e.charge_current_limit_a == 0.0


def test_one_dead_cell_sensor_keeps_the_others_estimating() -> None:
    est, plants = nmc_pack()
    for k in range(300):
        volts = [p.step(-20.0, 1.0) for p in plants]
        volts[2] = math.nan
        e = est.update(timestamp=k + 1.0, current_a=-20.0, cell_voltages_v=volts, temperatures_c=[25.0])
    assert all(math.isfinite(x) for x in e.cell_soc_pct)
    assert e.cell_soc_pct[0] == pytest.approx(100 * plants[0].soc, abs=2)


def test_bad_timestamps_and_wrong_cell_count_are_counted_not_fatal() -> None:
    est, plants = nmc_pack()
    first = feed(est, plants, [-10.0] * 5)[-1]
    again = est.update(timestamp=2.0, current_a=-10.0, cell_voltages_v=[3.8] * 4, temperatures_c=[25.0])
    assert again == first
    est.update(timestamp=10.0, current_a=-10.0, cell_voltages_v=[3.8] * 3, temperatures_c=[25.0])
    est.update(timestamp=math.inf, current_a=-10.0, cell_voltages_v=[3.8] * 4, temperatures_c=[25.0])
    assert est.counters.bad_timestamps == 2
    assert est.counters.wrong_cell_count == 1


def test_placeholder_before_first_valid_sample_allows_nothing() -> None:
    est = PackEstimator(chemistry="LFP", cells_series=4, capacity_ah=CAP)
    e = est.update(timestamp=1.0, current_a=math.nan, cell_voltages_v=[math.nan] * 4, temperatures_c=[])
    assert e.charge_current_limit_a == 0.0 and e.discharge_current_limit_a == 0.0
    assert e.soc_sigma_pct >= 50


def test_set_soc_is_obeyed_and_keeps_the_imbalance() -> None:
    model = shipped_model("NMC")
    plants = [EcmPlant(model, CAP, s) for s in (0.40, 0.50)]
    est = PackEstimator(chemistry="NMC", cells_series=2, capacity_ah=CAP)
    feed(est, plants, [0.0] * 5)
    est.set_soc(80.0)
    e = est.update(
        timestamp=100.0, current_a=0.0, cell_voltages_v=[p.step(0, 1) for p in plants], temperatures_c=[25.0]
    )
    # A user's SOC is a strong prior (2 %), not a lock: on NMC the next voltage nudges it a little.
    assert e.soc_pct == pytest.approx(80.0, abs=2.0)
    assert e.cell_soc_pct[1] - e.cell_soc_pct[0] == pytest.approx(10.0, abs=2.0)
    with pytest.raises(ValueError):
        est.set_soc(math.nan)


def test_set_soc_before_the_first_sample_seeds_the_estimate() -> None:
    est = PackEstimator(chemistry="LFP", cells_series=2, capacity_ah=CAP)
    est.set_soc(42.0)
    e = est.update(timestamp=1.0, current_a=0.0, cell_voltages_v=[3.3, 3.3], temperatures_c=[20.0])
    assert e.soc_pct == pytest.approx(42.0, abs=0.5)


def test_lfp_full_charge_sync_anchors_soc_on_the_plateau() -> None:
    model = shipped_model("LFP")
    plant = EcmPlant(model, CAP, 0.80)
    est = PackEstimator(
        chemistry="LFP", cells_series=1, capacity_ah=CAP, initial_soc_pct=60.0, charge_voltage_limit_v=3.55
    )
    t = 0.0
    # Constant current until 3.55 V, then hold 3.55 V (the current tapers), as a charger does.
    current = 30.0
    for _ in range(20_000):
        t += 1
        v = plant.step(current, 1.0)
        if v >= 3.55:
            current = max(0.5, current * 0.97)
        e = est.update(timestamp=t, current_a=current, cell_voltages_v=[v], temperatures_c=[25.0])
        if current <= 1.0:
            break
    for _ in range(120):
        t += 1
        e = est.update(
            timestamp=t, current_a=current, cell_voltages_v=[plant.step(current, 1.0)], temperatures_c=[25.0]
        )
    assert est.counters.full_syncs == 1
    assert e.soc_pct == pytest.approx(100 * plant.soc, abs=1.0)


def test_sync_full_command_sets_the_top_of_charge() -> None:
    model = shipped_model("LFP")
    est = PackEstimator(chemistry="LFP", cells_series=2, capacity_ah=CAP, initial_soc_pct=50.0)
    v_top = float(model.ocv(0.995, 1.0))
    est.update(timestamp=1.0, current_a=0.0, cell_voltages_v=[v_top, v_top], temperatures_c=[25.0])
    est.sync_full(1.0)
    e = est.update(timestamp=2.0, current_a=0.0, cell_voltages_v=[v_top, v_top], temperatures_c=[25.0])
    assert e.soc_pct > 97.0 and e.soc_sigma_pct < 2.0


def test_capacity_is_learned_between_anchors() -> None:
    """Rest at high SOC, discharge, rest at low SOC: the counted charge over the OCV-read span is capacity."""
    model = shipped_model("NMC")
    true_cap = 90.0  # the pack was sold as 100 Ah
    plant = EcmPlant(model, true_cap, 0.9)
    est = PackEstimator(chemistry="NMC", cells_series=1, capacity_ah=CAP, initial_soc_pct=90.0)
    profile = [0.0] * 900 + [-45.0] * int(0.7 * 3600 * true_cap / 45.0) + [0.0] * 900
    feed(est, [plant], profile, temps=(25.0,))
    assert est.capacity.samples == 1
    assert est.capacity.capacity_ah == pytest.approx(true_cap, rel=0.02)
    last = est.update(
        timestamp=len(profile) + 1.0, current_a=0.0, cell_voltages_v=[plant.step(0, 1)], temperatures_c=[25.0]
    )
    assert last.soh_pct == pytest.approx(90.0, abs=2.0)


def test_from_settings_reads_the_core_settings() -> None:
    settings_mod = pytest.importorskip("smartbms.core.settings")
    settings = settings_mod.settings_from_dict(
        {"pack": {"chemistry": "NMC", "cells_series": 4, "nominal_capacity_ah": 50.0}}
    )
    est = PackEstimator.from_settings(settings)
    assert est.chemistry == "NMC" and est.n == 4 and est.nominal_capacity_ah == 50.0
    assert est.limit_settings.charge_cell_v == pytest.approx(settings.protection.charge_voltage_limit_v / 4)
    e = est.update(timestamp=1.0, current_a=0.0, cell_voltages_v=[3.8] * 4, temperatures_c=[25.0])
    assert e.charge_voltage_limit_v == pytest.approx(settings.protection.charge_voltage_limit_v)


def test_rejects_nonsense_construction() -> None:
    with pytest.raises(ValueError):
        PackEstimator(chemistry="PbA", cells_series=4, capacity_ah=CAP)
    with pytest.raises(ValueError):
        PackEstimator(chemistry="LFP", cells_series=0, capacity_ah=CAP)
    with pytest.raises(ValueError):
        PackEstimator(chemistry="LFP", cells_series=4, capacity_ah=0.0)


def test_cold_pack_gets_no_charge_current() -> None:
    est, plants = nmc_pack()
    e = feed(est, plants, [0.0] * 5, temps=(-5.0, -4.0))[-1]
    assert e.charge_current_limit_a == 0.0
    assert e.discharge_current_limit_a > 0.0
    assert np.isfinite(e.energy_wh)


def test_an_implausible_cell_voltage_counts_as_a_dead_sensor() -> None:
    est, plants = nmc_pack()
    feed(est, plants, [-10.0] * 5)
    e = est.update(
        timestamp=10.0, current_a=-10.0, cell_voltages_v=[3.8, 0.0, 3.8, 65.5], temperatures_c=[25.0]
    )
    assert est.counters.missing_cell_voltages == 2
    assert 0.0 < e.soc_pct < 100.0
