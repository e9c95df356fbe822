"""Error metrics of one SOC estimate against the truth (all in % SOC)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from smartbms.estimation.cell_model import FloatArray

CONVERGED_WITHIN_PCT = 2.0


@dataclass(frozen=True)
class SocMetrics:
    rmse: float  # after convergence
    mae: float
    p95: float
    max: float
    rmse_all: float  # whole run, including the start
    convergence_s: float  # time until the error stays within 2 % (inf: never)
    drift_pct_per_h: float  # slope of the error over the run
    low_soc_rmse: float  # where the truth is below 10 % (nan if never)
    coverage_2sigma: float  # share of samples with truth inside +-2 sigma (nan without sigma)


def soc_metrics(
    time_s: FloatArray, truth_pct: FloatArray, estimate_pct: FloatArray, sigma_pct: FloatArray | None = None
) -> SocMetrics:
    err = estimate_pct - truth_pct
    outside = np.flatnonzero(np.abs(err) > CONVERGED_WITHIN_PCT)
    if outside.size == 0:
        start = 0
    elif outside[-1] == err.size - 1:
        start = err.size  # never settled
    else:
        start = int(outside[-1]) + 1
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
