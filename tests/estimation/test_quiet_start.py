"""A pack that rests when the estimator starts: its first voltage is the mean of the rested samples, so
one sample's noise does not set SOC for the minutes the later, discounted voltages need to undo it."""

from __future__ import annotations

from smartbms.estimation import PackEstimator, shipped_model

from .ecm_plant import EcmPlant

CAP = 100.0
TRUE_SOC = 0.9  # where the NMC curve is flattest near full (2.7 mV per % SOC)
NOISE_V = 0.003


def _estimator() -> PackEstimator:
    return PackEstimator(chemistry="NMC", cells_series=1, capacity_ah=CAP, initial_soc_pct=70.0)


def _rest(est: PackEstimator, seconds: int, t0: float = 0.0) -> float:
    """Rest samples every second, the voltage's noise -3 mV on the first two, then alternating +3 mV /
    -3 mV; returns the SOC estimate (%) after the last."""
    ocv = float(shipped_model("NMC").ocv(TRUE_SOC, 0.0))
    soc = float("nan")
    for k in range(seconds):
        noise = -NOISE_V if k < 2 or k % 2 == 1 else NOISE_V
        soc = est.update(
            timestamp=t0 + k, current_a=0.0, cell_voltages_v=[ocv + noise], temperatures_c=[25.0]
        ).soc_pct
    return soc


def test_a_quiet_start_averages_the_noise_of_its_first_voltages() -> None:
    # The first voltage fused (the mean of the first two samples) is 3 mV low, 1.1 % SOC here; read
    # alone it stays, averaged over 20 s it is gone (what is left is the start's own pull, a fraction
    # of a percent).
    soc_after_first = _rest(_estimator(), 2)
    soc_after_rest = _rest(_estimator(), 20)
    assert abs(soc_after_first - 100 * TRUE_SOC) > 1.0
    assert abs(soc_after_rest - 100 * TRUE_SOC) < 0.5


def test_the_quiet_start_ends_when_a_load_starts() -> None:
    # After the rest, 10 minutes at 1C: the estimate must follow the charge taken out (1/6 of the
    # capacity), not fall back to a rested reading of the start.
    model = shipped_model("NMC")
    est = _estimator()
    before = _rest(est, 20)
    plant = EcmPlant(model, CAP, TRUE_SOC)
    trace, truth = plant.run([-CAP] * 600, t0=20.0)
    for t, i, v in zip(
        trace.time_s.tolist(), trace.current_a.tolist(), trace.voltage_v.tolist(), strict=True
    ):
        after = est.update(timestamp=t, current_a=i, cell_voltages_v=[v], temperatures_c=[25.0]).soc_pct
    assert before - after > 15.0
    assert abs(after - 100 * truth[-1]) < 1.5


def test_a_soc_set_during_a_quiet_start_is_kept() -> None:
    # A user's "set SOC" ends the quiet start: the next rested mean must not overwrite it at once.
    est = _estimator()
    _rest(est, 5)
    est.set_soc(50.0)
    soc = _rest(est, 20, t0=5.0)
    assert soc < 60.0


def test_a_full_sync_during_a_quiet_start_is_kept() -> None:
    # The charger says full while the pack rests at the start: the next rested mean must not put the
    # filter back to before the sync.
    est = _estimator()
    _rest(est, 5)
    est.sync_full(4.0)
    synced = _rest(est, 1, t0=5.0)
    later = _rest(est, 20, t0=6.0)
    assert abs(later - synced) < 0.5
