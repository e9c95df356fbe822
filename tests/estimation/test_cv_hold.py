"""A charger holding a constant voltage, told from the cells' own behaviour."""

from __future__ import annotations

import math

import numpy as np

from smartbms.estimation.cv_hold import MIN_HOLD_S, CvHoldDetector

CAP = 100.0
R_TOTAL = 0.001  # a 100 Ah LFP cell's steady-state resistance, R0 + R1 + R2


def _feed(det: CvHoldDetector, currents: list[float], volts: list[float], seed: int = 2) -> list[bool]:
    rng = np.random.default_rng(seed)
    out = []
    for current, v in zip(currents, volts, strict=True):
        det.update(1.0, current, v + float(rng.normal(0.0, 0.001)), lambda: R_TOTAL)
        out.append(det.held)
    return out


def test_a_tapering_current_at_a_flat_voltage_is_a_hold_and_lasts_into_the_rest_band() -> None:
    det = CvHoldDetector(CAP / 50.0)
    taper = list(np.linspace(CAP / 5.0, CAP / 100.0, 1800))
    held = _feed(det, taper, [3.45] * len(taper))
    assert not any(held[: int(MIN_HOLD_S)]) and held[-1]
    # The tail inside the rest band, the voltage still held: the hold goes on.
    assert all(_feed(det, [CAP / 200.0] * 600, [3.45] * 600))
    # The charger stops and the cell relaxes: no longer held.
    relax = [3.45 - 0.03 * (1.0 - math.exp(-k / 60.0)) for k in range(600)]
    assert not _feed(det, [0.0] * 600, relax)[-1]


def test_a_constant_current_charge_is_no_hold_even_where_the_curve_is_flat() -> None:
    # On the LFP plateau a C/10 charge moves the voltage by less than a millivolt in ten minutes.
    det = CvHoldDetector(CAP / 50.0)
    volts = list(np.linspace(3.330, 3.331, 3600))
    assert not any(_feed(det, [CAP / 10.0] * 3600, volts))


def test_a_charge_fading_without_a_charger_holding_is_no_hold() -> None:
    # A solar charge at dusk on a large LFP cell: the voltage falls with the current by the I*R it no
    # longer drives, only 10 mV over 40 minutes, inside the band for longer than a hold takes.
    det = CvHoldDetector(CAP / 50.0)
    currents = list(np.linspace(CAP / 10.0, 0.0, 2400))
    volts = [3.33 + R_TOTAL * i for i in currents]
    assert not any(_feed(det, currents, volts))


def test_a_discharge_ends_a_hold_and_missing_voltages_are_skipped() -> None:
    det = CvHoldDetector(CAP / 50.0)
    taper = list(np.linspace(CAP / 5.0, CAP / 20.0, 1200))
    assert _feed(det, taper, [4.10] * len(taper))[-1]
    det.update(1.0, CAP / 25.0, math.nan, lambda: R_TOTAL)  # a lost reading changes nothing
    assert det.held
    det.update(1.0, -CAP / 2.0, 4.10, lambda: R_TOTAL)
    assert not det.held
