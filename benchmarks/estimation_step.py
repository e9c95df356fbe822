"""Microseconds per PackEstimator.update for a 16S pack (one core).

Run:  .venv/bin/python benchmarks/estimation_step.py [--cells 16] [--steps 20000] [--chemistry LFP]
      [--repeat 5]

Times are CPU time of this thread (so other load on the machine matters less); it reports the best of
several passes and the median.

Feeds a synthetic but realistic sample stream (pulsed current, cell voltages from the shipped model
with per-cell spread and noise, four temperature sensors) so every code path of a normal update runs:
prediction, voltage correction, limit derating, energy and time-to-go.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np

from smartbms.estimation import PackEstimator, shipped_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--chemistry", default="LFP", choices=["LFP", "NMC", "LTO"])
    parser.add_argument("--repeat", type=int, default=5, help="timed passes; the best one is the figure")
    args = parser.parse_args()
    model = shipped_model(args.chemistry)
    capacity = 280.0
    est = PackEstimator(
        chemistry=args.chemistry, cells_series=args.cells, capacity_ah=capacity, initial_soc_pct=60.0
    )
    rng = np.random.default_rng(1)
    spread = rng.normal(0, 0.01, args.cells)
    currents = [(-0.3 * capacity if (k // 60) % 2 else 0.1 * capacity) for k in range(args.steps)]
    samples = []
    soc = 0.6
    for k, current in enumerate(currents):
        soc += current / (capacity * 3600.0)
        v = model.ocv(np.clip(soc + spread, 0, 1)) + current * 1e-4 + rng.normal(0, 0.001, args.cells)
        samples.append((float(k), current, v.tolist(), [25.0, 25.5, 26.0, 25.2]))
    per_pass = []
    for _ in range(args.repeat):
        est = PackEstimator(
            chemistry=args.chemistry, cells_series=args.cells, capacity_ah=capacity, initial_soc_pct=60.0
        )
        # The first-sample initialisation and cache warm-up stay outside the timed loop.
        for t, i, v, temps in samples[:100]:
            est.update(timestamp=t, current_a=i, cell_voltages_v=v, temperatures_c=temps)
        start = time.thread_time()
        for t, i, v, temps in samples[100:]:
            est.update(timestamp=t, current_a=i, cell_voltages_v=v, temperatures_c=temps)
        per_pass.append((time.thread_time() - start) / (len(samples) - 100))
    best, median = min(per_pass), statistics.median(per_pass)
    print(
        f"{args.cells}S {args.chemistry}: best {best * 1e6:.1f} us per update ({1 / best:,.0f}/s), "
        f"median of {args.repeat} passes {median * 1e6:.1f} us"
    )
    assert math.isfinite(best)


if __name__ == "__main__":
    main()
