"""One cell against PyBaMM's own Thevenin model with the same parameters on a drive cycle."""

from __future__ import annotations

import numpy as np
import pytest

from smartbms.sim.params import load_cell_parameters
from smartbms.sim.profiles import DRIVE_CYCLE_DIR, drive_cycle
from smartbms.sim.pybamm_compare import (
    isothermal_parameters,
    rms_difference_mv,
    run_pybamm_thevenin,
    run_smartbms_cell,
)


@pytest.mark.slow
@pytest.mark.skipif(not DRIVE_CYCLE_DIR.is_dir(), reason=f"drive cycles not present at {DRIVE_CYCLE_DIR}")
@pytest.mark.parametrize(("chemistry", "limit_mv"), [("NMC", 1.0), ("LFP", 2.0)])
def test_one_cell_matches_pybamm_thevenin_on_udds(
    chemistry: str, limit_mv: float, record_property: pytest.RecordProperty
) -> None:
    pytest.importorskip("pybamm")
    params = isothermal_parameters(load_cell_parameters(chemistry))
    cycle = drive_cycle("UDDS", 5.0)
    times = np.arange(0.0, cycle.duration_s)
    current = np.array([cycle.value_at(t) for t in times])
    ours = run_smartbms_cell(params, 5.0, times, current, 80.0)
    theirs = run_pybamm_thevenin(params, 5.0, times, current, 80.0)
    rms = rms_difference_mv(ours, theirs)
    record_property(f"rms_mv_{chemistry}", round(rms, 4))
    print(f"{chemistry}: RMS difference to PyBaMM Thevenin over UDDS = {rms:.3f} mV")
    # The voltage moves by tens of mV over the cycle, so agreement is not trivial.
    assert np.ptp(theirs) > 0.03
    assert rms < limit_mv
