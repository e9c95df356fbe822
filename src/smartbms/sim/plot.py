"""A one-page PNG of a simulation: cell voltages, current, SOC, temperatures, balancing, protection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from smartbms.sim.simulation import ScenarioError, SimulationResult


def plot_result(result: SimulationResult, path: Path, title: str = "") -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ScenarioError("plots need the sim extra: pip install 'smartbms[sim]'") from None
    tr: dict[str, Any] = result.trace
    t_h = np.asarray(tr["time_s"], dtype=float) / 3600.0
    n = sum(1 for k in tr if k.startswith("v") and k[1:].isdigit())
    fig, axes = plt.subplots(5, 1, figsize=(11, 13), sharex=True)
    ax_v, ax_i, ax_soc, ax_t, ax_b = axes
    cmap = plt.get_cmap("viridis")
    for i in range(1, n + 1):
        colour = cmap((i - 1) / max(n - 1, 1))
        ax_v.plot(t_h, tr[f"v{i}"], lw=0.8, color=colour)
        ax_soc.plot(t_h, tr[f"soc{i}"], lw=0.8, color=colour)
        ax_t.plot(t_h, tr[f"temp{i}"], lw=0.8, color=colour)
    ax_v.set_ylabel("cell voltage (V)")
    ax_i.plot(t_h, tr["current_a"], lw=0.8, color="tab:blue")
    ax_i.axhline(0.0, color="grey", lw=0.5)
    ax_i.set_ylabel("pack current (A)\n+ = charging")
    est = np.asarray(tr["soc_est_pct"], dtype=float)
    if np.isfinite(est).any():
        ax_soc.plot(t_h, est, lw=1.5, color="black", ls="--", label="BMS estimate (pack)")
        ax_soc.legend(loc="lower right", fontsize=8)
    ax_soc.set_ylabel("cell SOC, truth (%)")
    ax_t.set_ylabel("cell temperature (°C)")
    active = [len(str(c).split()) for c in tr["balancing_cells"]]
    ax_b.step(t_h, active, where="post", color="tab:orange", lw=0.8, label="bleed resistors on")
    ax_b.set_ylabel("cells balancing")
    ax_b2 = ax_b.twinx()
    ax_b2.plot(t_h, tr["balancing_current_a"], color="tab:purple", lw=0.6, label="|balancing current| (A)")
    ax_b2.set_ylabel("Σ|I balancing| (A)")
    ax_b.set_xlabel("time (h)")
    # One line and one label per moment, however many codes it raised.
    moments: dict[float, list[str]] = {}
    for when, code in result.protection_moments:
        moments.setdefault(when, []).append(code)
    for when, codes in moments.items():
        for ax in axes:
            ax.axvline(when / 3600.0, color="tab:red", lw=0.8, alpha=0.7)
        ax_v.annotate(
            ", ".join(codes),
            (when / 3600.0, 1.0),
            xycoords=("data", "axes fraction"),
            rotation=90,
            fontsize=7,
            color="tab:red",
            va="top",
            ha="right",
        )
    for ax in axes:
        ax.grid(True, lw=0.3)
    fig.suptitle(title or "smartbms simulation", fontsize=11)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
