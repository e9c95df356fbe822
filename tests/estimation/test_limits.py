from __future__ import annotations

import math

import pytest

from smartbms.estimation.sof.limits import ChargeDischargeLimits, LimitSettings

S = LimitSettings(
    cells_series=16,
    charge_cell_v=3.55,
    float_cell_v=3.375,
    max_charge_current_a=100.0,
    max_discharge_current_a=200.0,
    cell_ov_v=3.65,
    cell_uv_v=2.5,
    charge_ut_c=0.0,
    charge_ot_c=45.0,
    discharge_ut_c=-20.0,
    discharge_ot_c=60.0,
    absorption_time_s=600.0,
    tail_current_a=5.0,
    raise_hold_s=30.0,
)


def run(lim: ChargeDischargeLimits, t: float, **kw) -> tuple[float, float, float]:
    args = dict(
        current_a=0.0,
        cell_v_max=3.3,
        cell_v_min=3.3,
        cell_v_mean=3.3,
        temp_min_c=25.0,
        temp_max_c=25.0,
        soc_pct=50.0,
    )
    args.update(kw)
    return lim.update(t, 1.0, **args)


def test_full_limits_in_normal_conditions() -> None:
    cvl, ccl, dcl = run(ChargeDischargeLimits(S), 0.0)
    assert cvl == pytest.approx(16 * 3.55)
    assert (ccl, dcl) == (100.0, 200.0)


@pytest.mark.parametrize(
    ("kw", "ccl", "dcl"),
    [
        ({"temp_min_c": -1.0}, 0.0, 200.0),  # below charge_ut: no charging
        ({"temp_min_c": 5.0}, 50.0, 200.0),  # half-way up the cold ramp
        ({"temp_max_c": 47.0}, 0.0, 200.0),
        ({"temp_min_c": -25.0}, 0.0, 0.0),
        ({"cell_v_max": 3.64}, 0.0, 200.0),  # a cell at its over-voltage limit
        ({"cell_v_min": 2.51}, 100.0, 0.0),
        ({"soc_pct": 100.0}, 10.0, 200.0),
        ({"soc_pct": 5.0}, 100.0, 100.0),
        ({"cell_v_max": math.nan, "cell_v_min": math.nan}, 0.0, 0.0),
    ],
)
def test_derating(kw: dict, ccl: float, dcl: float) -> None:
    _, c, d = run(ChargeDischargeLimits(S), 0.0, **kw)
    assert c == pytest.approx(ccl, abs=0.5)
    assert d == pytest.approx(dcl, abs=0.5)


def test_limits_fall_at_once_but_rise_only_after_holding() -> None:
    lim = ChargeDischargeLimits(S)
    run(lim, 0.0)
    assert run(lim, 1.0, temp_min_c=-1.0)[1] == 0.0
    # Back to warm: the limit stays down until the higher value has held for raise_hold_s.
    values = [run(lim, 2.0 + k, temp_min_c=25.0)[1] for k in range(40)]
    assert values[0] == 0.0 and values[20] == 0.0
    assert values[-1] == 100.0


def test_a_flapping_sensor_does_not_flap_the_limit() -> None:
    lim = ChargeDischargeLimits(S)
    run(lim, 0.0)
    seen = [run(lim, 1.0 + k, temp_min_c=(-1.0 if k % 10 < 5 else 25.0))[1] for k in range(200)]
    assert max(seen[5:]) == 0.0


def test_absorption_then_float_then_rebulk() -> None:
    lim = ChargeDischargeLimits(S)
    t = 0.0
    for _ in range(599):
        t += 1
        cvl, _, _ = run(lim, t, cell_v_mean=3.55, cell_v_max=3.56, current_a=20.0, soc_pct=98.0)
    assert cvl == pytest.approx(16 * 3.55)
    cvl, _, _ = run(lim, t + 1, cell_v_mean=3.55, cell_v_max=3.56, current_a=20.0, soc_pct=98.0)
    assert cvl == pytest.approx(16 * 3.375) and lim.in_float
    cvl, _, _ = run(lim, t + 2, soc_pct=89.0)
    assert cvl == pytest.approx(16 * 3.55) and not lim.in_float


def test_tail_current_ends_absorption_early() -> None:
    lim = ChargeDischargeLimits(S)
    for k in range(61):
        cvl, _, _ = run(lim, float(k), cell_v_mean=3.55, current_a=3.0, soc_pct=99.0)
    assert lim.in_float and cvl == pytest.approx(16 * 3.375)
