"""Rebuild the shipped LFP and NMC cell models from PyBaMM cells, through the public CLI.

Run:  PYBAMM_DISABLE_TELEMETRY=true .venv/bin/python scripts/build_cell_models_validation.py

Simulates the lab tests a battery lab would run (C/20 discharge and charge at 25 degC, an HPPC-style
pulse test at -10/0/25/45 degC that steps back up in long charge steps) on PyBaMM Prada2013 (LFP,
A123 26650) and Chen2020 (NMC811, LG M50), writes them as CSV and calls ``smartbms characterize`` on
them, exactly as a user would with real recordings. The LTO model is hand-written (no PyBaMM
parameter set exists for LTO).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("PYBAMM_DISABLE_TELEMETRY", "true")

from smartbms.cli import main as cli_main
from smartbms.estimation.validation.lab_tests import run_lab_tests, write_lab_tests
from smartbms.estimation.validation.plant import CELLS

MODELS_DIR = Path(__file__).resolve().parents[1] / "src" / "smartbms" / "estimation" / "models"
SHIPPED = {"prada2013": ("lfp.json", "LFP"), "chen2020": ("nmc.json", "NMC")}
TEMPERATURES = (-10.0, 0.0, 25.0, 45.0)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for key, (filename, chemistry) in SHIPPED.items():
            spec = CELLS[key]
            paths = write_lab_tests(run_lab_tests(spec, TEMPERATURES), Path(tmp) / key)
            discharge, charge, *pulses = paths
            argv = [
                "characterize",
                "--chemistry",
                chemistry,
                "--discharge",
                str(discharge),
                "--charge",
                str(charge),
            ]
            for pulse in pulses:
                argv += ["--pulse", str(pulse)]
            argv += ["--name", f"PyBaMM {spec.parameter_set} ({chemistry})", "-o", str(MODELS_DIR / filename)]
            code = cli_main(argv)
            if code:
                raise SystemExit(code)


if __name__ == "__main__":
    main()
