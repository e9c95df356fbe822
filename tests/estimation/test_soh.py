from __future__ import annotations

import numpy as np
import pytest

from smartbms.estimation.soh.capacity import Anchor, CapacityEstimator
from smartbms.estimation.soh.resistance import ResistanceEstimator


def test_capacity_from_two_distant_anchors() -> None:
    est = CapacityEstimator(100.0)
    assert not est.add_anchor(Anchor(0.0, 1.0, 0.005, 0.0))
    assert est.add_anchor(Anchor(36_000.0, 0.1, 0.01, -81.0))  # 81 Ah over 90 % SOC: 90 Ah
    assert est.capacity_ah == pytest.approx(90.0, rel=0.01)
    assert est.soh_pct() == pytest.approx(90.0, abs=1.0)


def test_short_spans_and_absurd_samples_are_ignored() -> None:
    est = CapacityEstimator(100.0)
    est.add_anchor(Anchor(0.0, 1.0, 0.005, 0.0))
    assert not est.add_anchor(Anchor(100.0, 0.8, 0.01, -20.0))  # 20 % span: too short
    assert not est.add_anchor(Anchor(200.0, 0.2, 0.01, -5.0))  # 6 Ah for 80 %: a bad anchor
    assert est.capacity_ah == 100.0 and est.samples == 0


def test_resistance_rls_recovers_a_grown_resistance() -> None:
    rng = np.random.default_rng(3)
    est = ResistanceEstimator(min_step_a=1.0)
    r0_model = 0.002
    for _ in range(200):
        di = rng.choice([-1.0, 1.0]) * rng.uniform(5, 50)
        dv = 1.3 * r0_model * di + rng.normal(0, 0.0005)
        est.add_step(di, dv, r0_model)
    assert est.factor == pytest.approx(1.3, rel=0.03)
    assert est.soh_pct() == pytest.approx(94.0, abs=1.0)
    assert not est.add_step(0.5, 0.001, r0_model)  # too small a step to mean anything
