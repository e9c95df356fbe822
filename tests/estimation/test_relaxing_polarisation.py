"""After a load stops, the RC pairs still hold the polarisation the model predicted, and the model may
have it wrong by the same share as under the load: a stop in stop-and-go use must not read as OCV."""

from __future__ import annotations

import pytest

from smartbms.estimation import shipped_model

from .ecm_plant import EcmPlant, pin_nmc_counting_scale_sigma, with_slow_pair_scaled, worst_soc_error_pct

CAP = 50.0


def _worst_error_pct() -> float:
    """Worst SOC error over an hour of stop-and-go (2 min at C/2, 1 min stopped) from 60 %, on a cell
    whose slow pair holds 3x the model's polarisation."""
    model = shipped_model("NMC")
    plant = EcmPlant(with_slow_pair_scaled(model, 3.0), CAP, 0.6)
    return worst_soc_error_pct(model, plant, [-CAP / 2 if k % 180 < 120 else 0.0 for k in range(3600)])


def test_a_stop_after_a_load_keeps_the_polarisations_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    pin_nmc_counting_scale_sigma(monkeypatch, 0.05)
    # With the model error tied to the current alone, each stop's voltage counted as nearly exact and
    # pulled SOC 7.3 % off through this hour; tied to the polarisation the model still holds, 6.6 %.
    assert _worst_error_pct() < 7.0
