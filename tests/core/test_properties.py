"""Safety properties over arbitrary sample sequences (Hypothesis)."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.core.helpers import pack_settings

from smartbms.core.engine import initial_state, request, step
from smartbms.core.measurement import Measurement
from smartbms.core.requests import (
    Path,
    RemoteMode,
    ResetFault,
    SetPath,
    SetRemoteMode,
    Sleep,
    Wake,
    WakeSource,
)

SETTINGS = pack_settings()
UV = SETTINGS.protection.cell_uv_v
UV_DELAY = SETTINGS.protection.cell_uv_delay_s

cell = st.one_of(st.floats(2.0, 3.8), st.floats(2.3, 2.7), st.just(math.nan), st.floats(-1.0, 8.0))
temperature = st.one_of(st.floats(-30.0, 70.0), st.just(math.nan), st.floats(-100.0, 300.0))
current = st.one_of(st.floats(-600.0, 200.0), st.floats(-5.0, 5.0), st.just(math.nan))


@st.composite
def samples(draw: st.DrawFn) -> list[tuple[float, Measurement | None]]:
    n = draw(st.integers(1, 80))
    t = 0.0
    out: list[tuple[float, Measurement | None]] = []
    for _ in range(n):
        t += draw(st.sampled_from([0.1, 0.5, 1.0, 2.0, 7.0]))
        if draw(st.integers(0, 30)) == 0:
            out.append((t, None))
            continue
        cells = tuple(draw(cell) for _ in range(draw(st.sampled_from([4, 4, 4, 3]))))
        age = draw(st.sampled_from([0.0, 0.0, 0.0, 1.0, 10.0, -10.0]))
        out.append(
            (
                t,
                Measurement(
                    t - age,
                    cells,
                    draw(current),
                    (draw(temperature), draw(temperature)),
                    draw(st.one_of(st.none(), temperature)),
                ),
            )
        )
    return out


def _fully_valid(m: Measurement | None, now: float) -> bool:
    if m is None or abs(now - m.timestamp) > SETTINGS.sensors.stale_after_s or len(m.cell_voltages_v) != 4:
        return False
    s = SETTINGS.sensors
    ok = all(
        math.isfinite(v) and s.cell_v_plausible_min <= v <= s.cell_v_plausible_max for v in m.cell_voltages_v
    )
    ok = ok and all(
        math.isfinite(v) and s.temperature_plausible_min_c <= v <= s.temperature_plausible_max_c
        for v in m.temperatures_c
    )
    fet = m.mosfet_temperature_c
    ok = ok and (
        fet is None
        or (math.isfinite(fet) and s.temperature_plausible_min_c <= fet <= s.temperature_plausible_max_c)
    )
    return ok and math.isfinite(m.current_a) and abs(m.current_a) <= s.current_plausible_max_a


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(samples())
def test_discharge_never_enabled_after_cell_below_uv_longer_than_delay(
    seq: list[tuple[float, Measurement | None]],
) -> None:
    state = initial_state(SETTINGS)
    below_since: float | None = None
    for now, m in seq:
        state, actions = step(state, m, now)
        below = m is not None and _fully_valid(m, now) and min(m.cell_voltages_v) < UV
        below_since = (below_since if below_since is not None else now) if below else None
        if below_since is not None and now - below_since >= UV_DELAY:
            assert not actions.discharge_enabled


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(samples())
def test_sample_with_invalid_value_never_enables_a_path(seq: list[tuple[float, Measurement | None]]) -> None:
    state = initial_state(SETTINGS)
    for now, m in seq:
        state, actions = step(state, m, now)
        if not _fully_valid(m, now):
            assert not actions.charge_enabled and not actions.discharge_enabled


requests = st.sampled_from(
    [
        ResetFault(),
        Sleep(),
        Wake(WakeSource.BUTTON),
        Wake(WakeSource.COMMUNICATION),
        SetRemoteMode(RemoteMode.ON),
        SetRemoteMode(RemoteMode.OFF_ALL),
        SetRemoteMode(RemoteMode.OFF_CHARGE_ONLY),
        SetPath(Path.CHARGE, True),
        SetPath(Path.DISCHARGE, False),
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(samples(), st.lists(st.tuples(st.integers(0, 79), requests), max_size=12), st.integers(0, 40))
def test_state_machine_never_leaves_fault_without_reset(
    seq: list[tuple[float, Measurement | None]], reqs: list[tuple[int, object]], short_at: int
) -> None:
    state = initial_state(SETTINGS)
    # Force at least one short circuit somewhere so FAULT is reached often.
    if short_at < len(seq):
        now, _ = seq[short_at]
        seq = [
            *seq[:short_at],
            (now, Measurement(now, (3.3,) * 4, -1000.0, (25.0, 25.0))),
            *seq[short_at + 1 :],
        ]
    for index, (now, m) in enumerate(seq):
        asked = [r for i, r in reqs if i == index]
        for r in asked:
            state = request(state, r)  # type: ignore[arg-type]
        was_fault = state.bms_state.value == "FAULT"
        state, actions = step(state, m, now)
        if was_fault and state.bms_state.value != "FAULT":
            assert any(isinstance(r, ResetFault) for r in asked)
        if state.bms_state.value == "FAULT":
            assert not actions.charge_enabled and not actions.discharge_enabled
