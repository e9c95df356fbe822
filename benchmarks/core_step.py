"""Cost of one BMS core step for a 16S pack.

Run:  .venv/bin/python benchmarks/core_step.py [--steps N]

Reports the protection core alone (validate + rules + state machine + outputs) and, when the
estimation and balancing modules are installed, the full controller step with a steady source
(protection + estimation + balancing). Times are CPU time of this thread, so other load on the
machine does not inflate them; steps/s is one core's sustained rate.
Targets: >= 20,000 core steps/s, >= 5,000 full steps/s.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import time

from smartbms.core.engine import initial_state, step
from smartbms.core.measurement import Measurement
from smartbms.core.settings import default_settings


def _sample(t: float) -> Measurement:
    # A pack discharging at 40 A with a little spread between cells.
    cells = tuple(3.30 + 0.001 * (i % 5) for i in range(16))
    return Measurement(t, cells, -40.0, (25.0, 25.5, 26.0, 25.2), 31.0)


def bench_core(steps: int) -> list[float]:
    settings = default_settings()
    state = initial_state(settings)
    samples = [_sample(float(i)) for i in range(steps)]
    durations = []
    gc.disable()
    for i, m in enumerate(samples):
        t0 = time.thread_time_ns()
        state, _ = step(state, m, float(i))
        durations.append((time.thread_time_ns() - t0) / 1000.0)
    gc.enable()
    return durations


def bench_full(steps: int) -> list[float] | None:
    if importlib.util.find_spec("smartbms.estimation.pack") is None:
        return None
    from smartbms.controller import Controller
    from smartbms.estimation.pack import PackEstimator

    settings = default_settings()
    balancer = None
    if importlib.util.find_spec("smartbms.balancing") is not None:
        import smartbms.balancing as balancing

        if hasattr(balancing, "make_balancer"):
            balancer = balancing.make_balancer(settings)

    class Steady:
        def read(self, now: float) -> Measurement:
            return _sample(now)

    controller = Controller(
        settings, Steady(), estimator=PackEstimator.from_settings(settings), balancer=balancer
    )
    durations = []
    gc.disable()
    for i in range(steps):
        t0 = time.thread_time_ns()
        controller.tick(float(i))
        durations.append((time.thread_time_ns() - t0) / 1000.0)
    gc.enable()
    return durations


def report(name: str, durations: list[float]) -> None:
    body = durations[len(durations) // 10 :]  # drop the warm-up
    body.sort()
    median = statistics.median(body)
    p99 = body[int(0.99 * (len(body) - 1))]
    print(
        f"{name:40s} median {median:7.1f} µs   p99 {p99:7.1f} µs   "
        f"{1e6 / statistics.mean(body):9,.0f} steps/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    args = parser.parse_args()
    report("core step, 16S (protection only)", bench_core(args.steps))
    full = bench_full(args.steps // 4)
    if full is None:
        print("full step: estimation module not installed")
    else:
        report("full step, 16S (+estimation, balancing)", full)


if __name__ == "__main__":
    main()
