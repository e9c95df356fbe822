"""Whatever the sensors say, the estimator answers with numbers a controller can use."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from smartbms.estimation import PackEstimator

reading = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32), st.floats(2.0, 4.3))
sample = st.tuples(
    st.floats(0.0, 100.0),  # time step
    st.one_of(st.floats(-300, 300), st.just(math.nan)),
    st.lists(reading, min_size=0, max_size=6),
    st.lists(st.one_of(st.floats(-40, 90), st.just(math.nan)), min_size=0, max_size=5),
)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["LFP", "NMC", "LTO"]), st.lists(sample, min_size=1, max_size=25))
def test_outputs_stay_finite_and_in_range(chemistry: str, samples) -> None:
    est = PackEstimator(chemistry=chemistry, cells_series=4, capacity_ah=100.0)
    t = 0.0
    for dt, current, volts, temps in samples:
        t += dt
        e = est.update(timestamp=t, current_a=current, cell_voltages_v=volts, temperatures_c=temps)
        assert 0.0 <= e.soc_pct <= 100.0
        assert math.isfinite(e.soc_sigma_pct) and e.soc_sigma_pct >= 0.0
        assert 0.0 <= e.soh_pct <= 100.0
        assert len(e.cell_soc_pct) == 4
        assert all(0.0 <= x <= 100.0 for x in e.cell_soc_pct)
        assert math.isfinite(e.energy_wh) and e.energy_wh >= 0.0
        assert e.charge_current_limit_a >= 0.0 and e.discharge_current_limit_a >= 0.0
        assert math.isfinite(e.charge_voltage_limit_v)
