from __future__ import annotations

import json

import numpy as np
import pytest

from smartbms.estimation.cell_model import CellModel, load_cell_model, shipped_model
from smartbms.estimation.defaults import DEFAULTS
from smartbms.estimation.errors import CellModelError


@pytest.mark.parametrize("chemistry", ["LFP", "NMC", "LTO"])
def test_shipped_models_load_and_are_consistent(chemistry: str) -> None:
    model = shipped_model(chemistry)
    assert model.chemistry == chemistry
    soc = np.linspace(0, 1, 101)
    mid = model.ocv(soc)
    assert np.all(np.diff(mid) > 0)
    assert model.voltage_min_v < mid[50] < model.voltage_max_v
    # The inverse lookup returns the SOC it came from.
    assert np.allclose(model.soc_from_ocv(mid[5:96]), soc[5:96], atol=2e-3)
    assert np.all(model.ocv(soc, 1.0) >= model.ocv(soc, -1.0))


@pytest.mark.parametrize("chemistry", ["LFP", "NMC"])
def test_shipped_models_reach_the_usual_charge_voltage_at_full(chemistry: str) -> None:
    # A model whose charge branch ends below the charge setting cannot finish a simulated CC-CV charge
    # (a rebuilt LFP model once ended at 3.524 V: its slow charge was placed 0.6 % past full).
    model = shipped_model(chemistry)
    assert float(model.ocv(1.0, 1.0)) > DEFAULTS[chemistry].charge_cell_v
    assert model.has_directional_resistance and model.has_current_dependence


def test_shipped_model_lookup_rejects_unknown_chemistry() -> None:
    with pytest.raises(CellModelError, match="no shipped cell model"):
        shipped_model("NaIon")


def test_json_round_trip(tmp_path) -> None:
    model = shipped_model("NMC")
    path = tmp_path / "m.json"
    model.save(path)
    again = load_cell_model(path)
    assert again.capacity_ah == pytest.approx(model.capacity_ah, rel=1e-4)
    assert np.allclose(again.ocv(np.linspace(0, 1, 11)), model.ocv(np.linspace(0, 1, 11)), atol=1e-4)
    assert np.allclose(again.rc_tables_at(10.0)[0], model.rc_tables_at(10.0)[0], rtol=1e-3)


def test_temperature_interpolation_is_between_rows() -> None:
    model = shipped_model("NMC")
    cold, mid, warm = (model.rc_tables_at(t)[0] for t in (0.0, 12.5, 25.0))
    assert np.all(mid <= np.maximum(cold, warm) + 1e-12)
    assert np.all(mid >= np.minimum(cold, warm) - 1e-12)


def _base_dict() -> dict:
    return shipped_model("LFP").to_dict()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("capacity_ah"), "missing key 'capacity_ah'"),
        (lambda d: d.update(format="other/9"), "'format' must be"),
        (lambda d: d.update(chemistry="PbA"), "chemistry must be one of"),
        (
            lambda d: d.update(
                ocv_charge_v=d["ocv_charge_v"][::-1], ocv_discharge_v=d["ocv_discharge_v"][::-1]
            ),
            "rise strictly",
        ),
        (lambda d: d.update(r0_ohm=[[0.01, 0.02]]), "r0_ohm must be a table"),
        (lambda d: d.update(capacity_ah=-1), "capacity_ah must be positive"),
    ],
)
def test_malformed_models_are_rejected_with_a_clear_message(mutate, message: str) -> None:
    data = _base_dict()
    mutate(data)
    with pytest.raises(CellModelError, match=message):
        CellModel.from_dict(data)


def test_bad_json_names_file_and_line(tmp_path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n "format": "smartbms.cell_model/1",\n oops\n}')
    with pytest.raises(CellModelError, match=r"broken.json: not valid JSON \(line 3\)"):
        load_cell_model(path)


def test_missing_file_is_a_cell_model_error(tmp_path) -> None:
    with pytest.raises(CellModelError, match="cannot read"):
        load_cell_model(tmp_path / "nope.json")


def test_model_json_is_plain_data() -> None:
    text = json.dumps(shipped_model("LTO").to_dict())
    assert '"chemistry": "LTO"' in text


_SIDED = ("r0_charge_ohm", "r0_discharge_ohm", "r1_charge_ohm", "r1_discharge_ohm")
_SIDED_SLOW = ("r2_charge_ohm", "r2_discharge_ohm", "tau2_charge_s", "tau2_discharge_s")


def _with_sides(data: dict, charge_factor: float = 1.2) -> dict:
    r0, r1 = np.array(data["r0_ohm"]), np.array(data["r1_ohm"])
    data.update(
        r0_charge_ohm=(r0 * charge_factor).tolist(),
        r0_discharge_ohm=(r0 * (2 - charge_factor)).tolist(),
        r1_charge_ohm=r1.tolist(),
        r1_discharge_ohm=r1.tolist(),
    )
    return data


def test_a_model_file_without_directional_tables_loads_as_before() -> None:
    # The format before directional tables: one table for both directions.
    data = _base_dict()
    for key in (*_SIDED, *_SIDED_SLOW):
        data.pop(key, None)
    model = CellModel.from_dict(data)
    assert not model.has_directional_resistance
    for direction in (-1, 0, 1):
        for column in range(5):
            assert np.array_equal(
                model.rc_tables_at(25.0, direction)[column], model.rc_tables_at(25.0)[column]
            )
    assert {*_SIDED, *_SIDED_SLOW}.isdisjoint(model.to_dict())


def test_directional_tables_round_trip_and_are_picked_by_sign(tmp_path) -> None:
    model = CellModel.from_dict(_with_sides(_base_dict()))
    path = tmp_path / "sided.json"
    model.save(path)
    again = load_cell_model(path)
    assert again.has_directional_resistance
    mean, charge, discharge = (again.rc_tables_at(10.0, d)[0] for d in (0, 1, -1))
    assert np.allclose(charge, 1.2 * mean, rtol=1e-3) and np.allclose(discharge, 0.8 * mean, rtol=1e-3)


def test_directional_tables_come_together() -> None:
    data = _with_sides(_base_dict())
    data.pop("r1_discharge_ohm")
    with pytest.raises(CellModelError, match="come together"):
        CellModel.from_dict(data)


def _with_slow_sides(data: dict) -> dict:
    r2, tau2 = np.array(data["r2_ohm"]), np.array(data["tau2_s"])
    data.update(
        r2_charge_ohm=(r2 * 1.5).tolist(),
        r2_discharge_ohm=(r2 * 0.5).tolist(),
        tau2_charge_s=(tau2 * 2.0).tolist(),
        tau2_discharge_s=tau2.tolist(),
    )
    return data


def test_a_slow_pair_per_side_round_trips_and_is_picked_by_sign(tmp_path) -> None:
    data = _base_dict()
    for key in (*_SIDED, *_SIDED_SLOW):
        data.pop(key, None)
    model = CellModel.from_dict(_with_slow_sides(data))
    assert model.has_directional_resistance
    path = tmp_path / "slow_sides.json"
    model.save(path)
    again = load_cell_model(path)
    mean, charge, discharge = (again.rc_tables_at(10.0, d) for d in (0, 1, -1))
    assert np.allclose(charge[3], 1.5 * mean[3], rtol=1e-3)
    assert np.allclose(discharge[3], 0.5 * mean[3], rtol=1e-3)
    assert np.allclose(charge[4], 2.0 * discharge[4], rtol=1e-3)
    # R0 and R1 have no sides in this file: every direction reads the same.
    assert np.array_equal(charge[0], discharge[0]) and np.array_equal(charge[1], discharge[1])


@pytest.mark.parametrize("missing", _SIDED_SLOW)
def test_a_slow_pair_per_side_comes_whole(missing: str) -> None:
    data = _with_slow_sides(_base_dict())
    data.pop(missing)
    with pytest.raises(CellModelError, match="come together"):
        CellModel.from_dict(data)


def test_a_slow_pair_per_side_needs_the_mean_slow_pair() -> None:
    data = _with_slow_sides(_base_dict())
    data.pop("r2_ohm")
    data.pop("tau2_s")
    with pytest.raises(CellModelError, match="need r2_ohm"):
        CellModel.from_dict(data)


def test_a_slow_pair_per_side_must_be_positive() -> None:
    data = _with_slow_sides(_base_dict())
    data["tau2_charge_s"][0][3] = 0.0
    with pytest.raises(CellModelError, match="tau2_charge_s values must be positive"):
        CellModel.from_dict(data)
