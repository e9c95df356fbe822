from __future__ import annotations

import numpy as np
import pytest

from smartbms.estimation import shipped_model
from smartbms.estimation.characterize import characterize, find_pulses
from smartbms.estimation.errors import CharacterizationError

from .ecm_plant import lab_tests


@pytest.fixture(scope="module")
def truth_and_tests():
    truth = shipped_model("NMC")
    return truth, lab_tests(truth, 10.0)


def test_recovers_a_known_circuit(truth_and_tests) -> None:
    truth, tests = truth_and_tests
    model = characterize(
        chemistry="NMC",
        slow_discharge=tests["discharge"],
        slow_charge=tests["charge"],
        pulse_tests=[tests["pulse"]],
    )
    # The slow discharge stops at the lower limit: the capacity between the limits is measured.
    assert model.capacity_ah == pytest.approx(10.0, rel=0.02)
    soc = np.linspace(0.2, 0.9, 15)
    # Within a few mV; the SOC axis carries the capacity's percent-level error, which shows at the steep end.
    assert np.max(np.abs(model.ocv(soc) - truth.ocv(soc))) < 0.008
    scale = truth.capacity_ah / 10.0
    r0_true = np.interp(soc, truth.soc_grid, truth.rc_tables_at(25.0)[0]) * scale
    r0_fit = np.interp(soc, model.soc_grid, model.rc_tables_at(25.0)[0])
    assert np.allclose(r0_fit, r0_true, rtol=0.1)
    # One pulse-test temperature: the others are extrapolated, and the model says so.
    assert "Arrhenius" in model.source
    assert model.rc_tables_at(-10.0)[0][10] > model.rc_tables_at(25.0)[0][10]


def test_finds_the_pulses_and_the_rested_points(truth_and_tests) -> None:
    _, tests = truth_and_tests
    pulses, rested, long_steps = find_pulses(tests["pulse"], 10.0)
    assert len(pulses) == 18  # a discharge and a charge pulse at 9 levels
    assert len(rested) >= 9 and len(long_steps) == 9
    socs = sorted(p.soc for p in pulses)
    assert socs[0] == pytest.approx(0.1, abs=0.02) and socs[-1] == pytest.approx(0.9, abs=0.02)


def test_a_fast_discharge_is_refused(truth_and_tests) -> None:
    _, tests = truth_and_tests
    with pytest.raises(CharacterizationError, match="C/20 or slower"):
        characterize(
            chemistry="NMC",
            slow_discharge=tests["pulse"],
            slow_charge=tests["charge"],
            pulse_tests=[tests["pulse"]],
        )


def test_no_pulses_is_refused(truth_and_tests) -> None:
    _, tests = truth_and_tests
    with pytest.raises(CharacterizationError, match="usable pulses"):
        characterize(
            chemistry="NMC",
            slow_discharge=tests["discharge"],
            slow_charge=tests["charge"],
            pulse_tests=[tests["discharge"]],
        )
