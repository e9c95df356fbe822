"""Error metrics of one SOC estimate against the truth (all in % SOC)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from smartbms.estimation.cell_model import FloatArray

CONVERGED_WITHIN_PCT = 2.0
SETTLED_FOR_S = 300.0  # inside the band this long counts as converged


def _settled_index(time_s: FloatArray, inside: np.ndarray) -> int:
    """First sample from which the error stays inside the band for SETTLED_FOR_S (size: never).

    The errors after it are all scored, including any later excursion: a filter that converges and
    then wanders is caught by its max, not hidden by a late convergence time.
    """
    n = inside.size
    k = 0
    while k < n:
        if not inside[k]:
            k += 1
            continue
        stop = k
        while stop < n and inside[stop]:
            stop += 1
        if time_s[stop - 1] - time_s[k] >= SETTLED_FOR_S or stop == n:
            return k
        k = stop
    return n


@dataclass(frozen=True)
class SocMetrics:
    rmse: float  # after convergence
    mae: float
    p95: float
    max: float
    rmse_all: float  # whole run, including the start
    convergence_s: float  # time until the error is within 2 % and stays there 5 min (inf: never)
    drift_pct_per_h: float  # slope of the error over the run
    low_soc_rmse: float  # where the truth is below 10 % (nan if never)
    coverage_2sigma: float  # share of samples with truth inside +-2 sigma (nan without sigma)


def soc_metrics(
    time_s: FloatArray, truth_pct: FloatArray, estimate_pct: FloatArray, sigma_pct: FloatArray | None = None
) -> SocMetrics:
    err = estimate_pct - truth_pct
    start = _settled_index(time_s, np.abs(err) <= CONVERGED_WITHIN_PCT)
    convergence = float(time_s[start] - time_s[0]) if start < err.size else math.inf
    after = err[start:] if start < err.size else err
    abs_after = np.abs(after)
    hours = (time_s - time_s[0]) / 3600.0
    drift = float(np.polyfit(hours, err, 1)[0]) if hours[-1] > 0 else math.nan
    low = truth_pct < 10.0
    coverage = math.nan
    if sigma_pct is not None:
        coverage = float(np.mean(np.abs(err) <= 2.0 * sigma_pct))
    return SocMetrics(
        rmse=float(np.sqrt(np.mean(after**2))),
        mae=float(np.mean(abs_after)),
        p95=float(np.percentile(abs_after, 95)),
        max=float(abs_after.max()),
        rmse_all=float(np.sqrt(np.mean(err**2))),
        convergence_s=convergence,
        drift_pct_per_h=drift,
        low_soc_rmse=float(np.sqrt(np.mean(err[low] ** 2))) if low.any() else math.nan,
        coverage_2sigma=coverage,
    )
