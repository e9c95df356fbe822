"""Direction- and current-dependent R0 in the filter, and the R0(I) fit of the characterisation."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from smartbms.estimation import PackEstimator
from smartbms.estimation.cell_model import CellModel, butler_volmer_shape, shipped_model
from smartbms.estimation.characterize import PulseResult, fit_current_dependence
from smartbms.estimation.soc.ekf import CellBankEkf
from smartbms.estimation.soc.tables import CHARGE_COLUMNS, DISCHARGE_COLUMNS, CellTables, temperature_rows
from smartbms.estimation.validation.ecm_plant import EcmPlant

from .ecm_plant import worst_soc_error_pct

CAP = 100.0
ROWS = temperature_rows(np.array([25.0, 25.0]))


def _plain(model: CellModel) -> CellModel:
    """The model as older files had it: one table for both directions, R0 the same at every current."""
    return replace(
        model,
        _derived={},
        r0_charge_ohm=None,
        r0_discharge_ohm=None,
        r1_charge_ohm=None,
        r1_discharge_ohm=None,
        r2_charge_ohm=None,
        r2_discharge_ohm=None,
        tau2_charge_s=None,
        tau2_discharge_s=None,
        r0_linear_share=None,
        r0_exchange_c=None,
    )


def _sided(model: CellModel) -> CellModel:
    return replace(
        model,
        _derived={},
        r0_charge_ohm=model.r0_ohm * 2.0,
        r0_discharge_ohm=model.r0_ohm,
        r1_charge_ohm=model.r1_ohm * 3.0,
        r1_discharge_ohm=model.r1_ohm,
    )


def _bank(model: CellModel) -> CellBankEkf:
    return CellBankEkf(
        CellTables(model, CAP),
        CAP,
        np.array([0.5, 0.5]),
        soc_sigma0=0.05,
        offset_sigma0_a=CAP / 400,
        current_noise_a=CAP / 500,
        offset_walk_a_per_sqrt_h=CAP / 2000,
    )


def test_the_side_follows_the_sign_of_the_current_and_holds_near_zero() -> None:
    model = _sided(_plain(shipped_model("NMC")))
    ekf = _bank(model)
    ekf.predict(1.0, 0.5 * CAP, ROWS)
    charge_r0 = ekf.r0.copy()
    ekf.predict(1.0, -0.5 * CAP, ROWS)  # a sign change between refreshes swaps the side at once
    discharge_r0 = ekf.r0.copy()
    assert np.allclose(charge_r0, 2.0 * discharge_r0, rtol=0.02)
    ekf.predict(1.0, 0.005 * CAP, ROWS)  # inside the deadband: keep the discharge side
    assert ekf.direction == -1 and np.allclose(ekf.r0, discharge_r0, rtol=0.02)
    ekf.predict(1.0, 0.05 * CAP, ROWS)
    assert ekf.direction == 1 and np.allclose(ekf.r0, charge_r0, rtol=0.02)


def _trajectory(model: CellModel) -> np.ndarray:
    est = PackEstimator(
        chemistry="NMC", cell_model=model, cells_series=2, capacity_ah=CAP, initial_soc_pct=60.0
    )
    out = []
    for k in range(600):
        current = 0.5 * CAP if (k // 37) % 2 else -0.8 * CAP
        v = float(model.ocv(0.6)) + current * 1e-4 + 0.001 * np.sin(k)
        est_k = est.update(
            timestamp=float(k), current_a=current, cell_voltages_v=[v, v + 0.002], temperatures_c=[25.0, 25.0]
        )
        out.append(est_k.soc_pct)
    return np.array(out)


def test_a_model_without_sides_or_current_dependence_is_unchanged() -> None:
    model = _plain(shipped_model("NMC"))
    tables = CellTables(model, CAP)
    assert not tables.directional and not tables.current_dependent
    rc = tables.rc(np.array([0.3, 0.7]), ROWS)
    # The side columns (R0, R1, R2, tau2) repeat the mean exactly, and the current factor is one.
    for first in (CHARGE_COLUMNS, DISCHARGE_COLUMNS):
        assert np.array_equal(rc[:, first : first + 2], rc[:, 0:2])
        assert np.array_equal(rc[:, first + 2 : first + 4], rc[:, 3:5])
    assert np.array_equal(tables.r0_factor(0.7 * CAP, ROWS), np.ones(2))
    ekf = _bank(model)
    for current in (0.5 * CAP, -0.5 * CAP, 0.0, 2.0 * CAP):
        soc = ekf.soc.copy()
        ekf.predict(1.0, current, ROWS)  # the RC parameters are read at the SOC before the step
        assert np.array_equal(ekf.r0, tables.rc(soc, ROWS)[:, 0])
    # Sides equal to the mean give bit-for-bit the estimate of the model without them.
    same = replace(
        model,
        _derived={},
        r0_charge_ohm=model.r0_ohm,
        r0_discharge_ohm=model.r0_ohm,
        r1_charge_ohm=model.r1_ohm,
        r1_discharge_ohm=model.r1_ohm,
    )
    assert np.array_equal(_trajectory(model), _trajectory(same))


def _slow_sided(model: CellModel, charge_factor: float) -> CellModel:
    """The model with a charge-side slow pair ``charge_factor`` times as strong as the discharge side's."""
    assert model.r2_ohm is not None and model.tau2_s is not None
    return replace(
        model,
        _derived={},
        r2_ohm=0.5 * (1.0 + charge_factor) * model.r2_ohm,
        r2_charge_ohm=charge_factor * model.r2_ohm,
        r2_discharge_ohm=model.r2_ohm,
        tau2_charge_s=model.tau2_s,
        tau2_discharge_s=model.tau2_s,
    )


def _one_sided(model: CellModel, factor: float) -> CellModel:
    """``_slow_sided`` with both sides the same: ``factor`` times the plain slow pair."""
    assert model.r2_ohm is not None
    twin = _slow_sided(model, factor)
    return replace(twin, _derived={}, r2_ohm=factor * model.r2_ohm, r2_discharge_ohm=factor * model.r2_ohm)


@pytest.mark.parametrize(
    ("sustained", "pulse", "side_factor"),
    [(-0.5 * CAP, 0.5 * CAP, 1.0), (0.5 * CAP, -0.5 * CAP, 3.0)],
    ids=["regen-in-a-discharge-stays-on-the-discharge-side", "a-pulse-in-a-charge-stays-on-the-charge-side"],
)
def test_the_slow_pair_follows_the_sign_of_its_own_voltage(
    sustained: float, pulse: float, side_factor: float
) -> None:
    # A short pulse against a sustained current (a drive's regen, a load during a charge) leaves the
    # particles' diffusion where the sustained current put it: the slow pair keeps that side, then
    # relaxes with it. R0 and R1 follow the current's sign as before.
    plain = _plain(shipped_model("NMC"))
    sided, twin = _bank(_slow_sided(plain, 3.0)), _bank(_one_sided(plain, side_factor))
    for current in [sustained] * 30 + [pulse] * 5 + [0.0] * 20:
        sided.predict(1.0, current, ROWS)
        twin.predict(1.0, current, ROWS)
        assert np.allclose(sided.v2, twin.v2, rtol=1e-9, atol=0.0)
    assert np.all(np.sign(sided.v2) == np.sign(sustained))


def test_the_slow_pair_side_starts_with_the_current_from_rest() -> None:
    model = _slow_sided(_plain(shipped_model("NMC")), 3.0)
    charging, discharging = _bank(model), _bank(model)
    charging.predict(1.0, 0.5 * CAP, ROWS)
    discharging.predict(1.0, -0.5 * CAP, ROWS)
    assert np.allclose(charging.v2, -3.0 * discharging.v2, rtol=1e-6)
    assert np.all(charging.r_total > discharging.r_total)


def test_slow_sides_equal_to_the_mean_change_nothing() -> None:
    model = _plain(shipped_model("NMC"))
    assert np.array_equal(_trajectory(model), _trajectory(_slow_sided(model, 1.0)))


def test_a_charge_side_slow_pair_keeps_a_long_charge_on_track() -> None:
    # A cell whose slow pair holds three times as much on charge as on discharge: the estimator that
    # knows the sides follows an hour's charge and its rest; one with the mean slow pair reads the
    # millivolts it misses as SOC.
    truth = _slow_sided(_plain(shipped_model("NMC")), 3.0)
    mean_only = replace(
        truth,
        _derived={},
        r2_charge_ohm=None,
        r2_discharge_ohm=None,
        tau2_charge_s=None,
        tau2_discharge_s=None,
    )
    currents = [0.0] * 60 + [0.3 * CAP] * 3600 + [0.0] * 1800
    errors = {
        name: worst_soc_error_pct(model, EcmPlant(truth, CAP, 0.3), currents)
        for name, model in (("sided", truth), ("mean", mean_only))
    }
    assert errors["sided"] < 0.5 * errors["mean"]


def _pulses(share: float, i0_c: float, currents_c: tuple[float, ...]) -> list[PulseResult]:
    rng = np.random.default_rng(3)
    out = []
    for soc in np.linspace(0.9, 0.1, 9):
        amplitude = 0.02 * (1.0 + (0.5 - soc) ** 2)
        for c in currents_c:
            r0 = amplitude * float(butler_volmer_shape(np.asarray(c / i0_c), share)) * rng.normal(1.0, 0.01)
            out.append(PulseResult(float(soc), r0, 0.005, 20.0, c < 0.9, c * CAP))
    return out


def test_the_current_fit_recovers_a_synthetic_butler_volmer_dependence() -> None:
    share, i0 = fit_current_dependence(_pulses(0.2, 0.3, (0.25, 0.75, 1.0, 2.0)), CAP) or (-1.0, -1.0)
    assert abs(share - 0.2) < 0.06 and abs(i0 / 0.3 - 1.0) < 0.15
    # One current level (or two close ones, like the 1C/0.75C HPPC) leaves R0 constant.
    assert fit_current_dependence(_pulses(0.2, 0.3, (0.75, 1.0)), CAP) is None


def test_the_current_dependence_round_trips_and_old_files_load(tmp_path) -> None:
    shipped = shipped_model("NMC")
    assert shipped.has_current_dependence and shipped.has_directional_resistance
    # A file written before either existed (no such keys) still loads, without them.
    data = shipped.to_dict()
    sided = ("r0_charge_ohm", "r0_discharge_ohm", "r1_charge_ohm", "r1_discharge_ohm")
    sided_slow = ("r2_charge_ohm", "r2_discharge_ohm", "tau2_charge_s", "tau2_discharge_s")
    for key in (*sided, *sided_slow):
        data.pop(key)
    data.pop("r0_linear_share")
    data.pop("r0_exchange_c")
    old = CellModel.from_dict(data)
    assert not old.has_current_dependence and not old.has_directional_resistance
    assert np.array_equal(old.r0_current_factor(25.0, np.array([0.0, 1.0, 3.0])), np.ones(3))
    nt = old.temperatures_c.size
    new = replace(old, _derived={}, r0_linear_share=np.full(nt, 0.2), r0_exchange_c=np.full(nt, 0.3))
    path = tmp_path / "bv.json"
    new.save(path)
    again = CellModel.from_dict(json.loads(path.read_text()))
    factor = again.r0_current_factor(25.0, np.array([0.0, 1.0, 3.0]))
    assert factor[1] == 1.0 and factor[0] > 1.5 > 1.0 > factor[2]
    # The filter reads R0 at the present current: larger at a small current than at 1C.
    ekf = _bank(again)
    ekf.predict(1.0, 1.0 * CAP, ROWS)
    at_1c = ekf.r0.copy()
    ekf.predict(1.0, 0.1 * CAP, ROWS)
    assert np.all(ekf.r0 > 1.3 * at_1c)
    assert np.allclose(ekf.r0_at(1.0 * CAP), at_1c, rtol=0.02)
