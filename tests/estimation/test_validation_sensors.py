"""What the validation's BMS reads of the current at its sampling period."""

from __future__ import annotations

import numpy as np
import pytest

from smartbms.estimation.traces import Trace
from smartbms.estimation.validation.sensors import SensorErrors, held_current, measure, sampled_current

# A drive-like current at 1 s: steps inside every 10 s window.
CURRENT = np.array([0.0, 1.0, 1.0, -2.0, -2.0, -2.0, 0.5, 0.5, 3.0, 3.0, 3.0, 0.0, -1.0, -1.0, 2.0])


def test_at_one_second_sampling_every_sample_is_read_as_it_is() -> None:
    idx, current = sampled_current(CURRENT, 1)
    assert idx.tolist() == list(range(CURRENT.size))
    assert current.tolist() == CURRENT.tolist()
    assert held_current(CURRENT, 1).tolist() == CURRENT.tolist()


def test_a_slower_bms_reads_the_mean_of_the_window_ending_at_each_sample() -> None:
    idx, current = sampled_current(CURRENT, 5)
    assert idx.tolist() == [5, 10]
    assert current.tolist() == pytest.approx([CURRENT[1:6].mean(), CURRENT[6:11].mean()])


def test_the_held_current_carries_the_same_charge_and_the_same_window_means() -> None:
    held = held_current(CURRENT, 5)
    # Each window holds its mean: the charge moved is the truth's, the moves inside a window are gone.
    assert held[1:11].sum() == pytest.approx(CURRENT[1:11].sum())
    assert np.ptp(held[1:6]) == 0.0 and np.ptp(held[6:11]) == 0.0
    assert sampled_current(held, 5)[1].tolist() == pytest.approx(sampled_current(CURRENT, 5)[1].tolist())
    # Samples before the first window and after the last keep their own current.
    assert held[0] == CURRENT[0]
    assert held[11:].tolist() == CURRENT[11:].tolist()


def test_measure_reads_the_sampled_current_through_the_sensors_errors() -> None:
    n = CURRENT.size
    truth = Trace(np.arange(float(n)), CURRENT, np.full(n, 3.7), np.full(n, 25.0), "steps")
    errors = SensorErrors(
        current_gain=1.01,
        current_offset_a=0.05,
        current_noise_a=0.0,
        voltage_noise_v=0.0,
        voltage_offset_v=0.0,
        temperature_offset_c=0.0,
        sample_s=5,
    )
    measured, idx = measure(truth, errors, np.random.default_rng(0))
    expected_idx, means = sampled_current(CURRENT, 5)
    assert idx.tolist() == expected_idx.tolist()
    assert measured.current_a.tolist() == pytest.approx((means * 1.01 + 0.05).tolist())
