from __future__ import annotations

import math

import numpy as np
import pytest

from smartbms.estimation.validation.metrics import soc_metrics


def test_convergence_then_a_later_excursion_still_counts() -> None:
    t = np.arange(0.0, 3600.0)
    truth = np.full(t.size, 50.0)
    est = truth.copy()
    est[:100] = 70.0  # wrong start, converged at t=100 s
    est[2000:2010] = 53.0  # a 3 % excursion later on
    m = soc_metrics(t, truth, est)
    assert m.convergence_s == 100.0
    assert m.max == pytest.approx(3.0)
    assert m.rmse_all > m.rmse > 0


def test_never_converging() -> None:
    t = np.arange(0.0, 1000.0)
    m = soc_metrics(t, np.full(t.size, 50.0), np.full(t.size, 60.0), np.full(t.size, 1.0))
    assert math.isinf(m.convergence_s)
    assert m.coverage_2sigma == 0.0


def test_drift_is_the_error_slope_per_hour() -> None:
    t = np.arange(0.0, 7200.0, 10.0)
    truth = np.full(t.size, 50.0)
    m = soc_metrics(t, truth, truth + 0.5 * t / 3600.0)
    assert m.drift_pct_per_h == pytest.approx(0.5)
    assert math.isnan(m.low_soc_rmse)
