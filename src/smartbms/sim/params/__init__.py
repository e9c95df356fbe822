"""Chemistry parameter tables for the cell model, with unit-bearing keys and their source.

The JSON files next to this module are written by ``scripts/derive_cell_params.py`` (from PyBaMM
parameter sets) and committed as data. Resistances are stored as Ω·Ah so one table serves a 2 Ah
cylinder and a 280 Ah prismatic cell at the same C-rate: ``r_ohm = r_ohm_ah / capacity_ah``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
from numpy.typing import NDArray

from smartbms.errors import SmartBmsError

FloatArray = NDArray[np.float64]


class CellParameterError(SmartBmsError, ValueError):
    """A cell parameter table is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class CellParameters:
    chemistry: str
    source: str
    soc_pct: FloatArray
    ocv_v: FloatArray
    hysteresis_half_v: FloatArray
    rc_soc_pct: FloatArray
    temperature_c: FloatArray
    # Shape (temperatures, rc_soc points), in Ω·Ah (resistances) or s (time constants).
    r0_ohm_ah: FloatArray
    r1_ohm_ah: FloatArray
    tau1_s: FloatArray
    r2_ohm_ah: FloatArray
    tau2_s: FloatArray
    coulombic_efficiency: float
    self_discharge_pct_per_month: float
    # How fast the hysteresis state follows the current direction, per unit of charge throughput.
    hysteresis_rate: float
    heat_capacity_j_per_k_per_ah: float
    ambient_conductance_w_per_k_per_ah: float
    neighbour_conductance_w_per_k_per_ah: float
    # Entropic change dOCV/dT per soc_pct point (V/K): OCV(SOC, T) = OCV(SOC) + dOCV/dT · (T − 25 °C).
    docv_dt_v_per_k: FloatArray | None = None

    def ocv_at(
        self,
        soc_pct: FloatArray | float,
        hysteresis: FloatArray | float = 0.0,
        temperature_c: FloatArray | float = 25.0,
    ) -> FloatArray:
        """Open-circuit voltage; ``hysteresis`` runs from -1 (after discharge) to +1 (after charge)."""
        soc = np.asarray(soc_pct, dtype=float)
        ocv = np.interp(soc, self.soc_pct, self.ocv_v) + np.asarray(hysteresis) * np.interp(
            soc, self.soc_pct, self.hysteresis_half_v
        )
        if self.docv_dt_v_per_k is not None:
            ocv = ocv + np.interp(soc, self.soc_pct, self.docv_dt_v_per_k) * (
                np.asarray(temperature_c) - 25.0
            )
        return np.asarray(ocv, dtype=float)

    def soc_at_ocv(self, ocv_v: float) -> float:
        """Inverse of the mid (no-hysteresis) OCV curve, for starting a cell from a rested voltage."""
        return float(np.interp(ocv_v, self.ocv_v, self.soc_pct))


_KEYS_2D = ("r0_ohm_ah", "r1_ohm_ah", "tau1_s", "r2_ohm_ah", "tau2_s")


def _from_dict(data: dict[str, object]) -> CellParameters:
    try:
        arrays = {
            k: np.asarray(data[k], dtype=float)
            for k in ("soc_pct", "ocv_v", "hysteresis_half_v", "rc_soc_pct", "temperature_c", *_KEYS_2D)
        }
        scalars = {
            k: float(data[k])  # type: ignore[arg-type]
            for k in (
                "coulombic_efficiency",
                "self_discharge_pct_per_month",
                "hysteresis_rate",
                "heat_capacity_j_per_k_per_ah",
                "ambient_conductance_w_per_k_per_ah",
                "neighbour_conductance_w_per_k_per_ah",
            )
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise CellParameterError(f"cell parameter table is incomplete or malformed: {exc}") from None
    shape = (arrays["temperature_c"].size, arrays["rc_soc_pct"].size)
    for key in _KEYS_2D:
        if arrays[key].shape != shape:
            raise CellParameterError(f"{key} has shape {arrays[key].shape}, expected {shape}")
    entropic = data.get("docv_dt_v_per_k")
    if entropic is not None:
        arrays["docv_dt_v_per_k"] = np.asarray(entropic, dtype=float)
    for key in ("ocv_v", "hysteresis_half_v", *(["docv_dt_v_per_k"] if entropic is not None else [])):
        if arrays[key].shape != arrays["soc_pct"].shape:
            raise CellParameterError(f"{key} must have one value per soc_pct point")
    if np.any(np.diff(arrays["soc_pct"]) <= 0) or np.any(np.diff(arrays["ocv_v"]) <= 0):
        raise CellParameterError("soc_pct and ocv_v must both increase strictly")
    a, f = arrays, scalars
    return CellParameters(
        chemistry=str(data["chemistry"]),
        source=str(data["source"]),
        soc_pct=a["soc_pct"],
        ocv_v=a["ocv_v"],
        hysteresis_half_v=a["hysteresis_half_v"],
        rc_soc_pct=a["rc_soc_pct"],
        temperature_c=a["temperature_c"],
        r0_ohm_ah=a["r0_ohm_ah"],
        r1_ohm_ah=a["r1_ohm_ah"],
        tau1_s=a["tau1_s"],
        r2_ohm_ah=a["r2_ohm_ah"],
        tau2_s=a["tau2_s"],
        coulombic_efficiency=f["coulombic_efficiency"],
        self_discharge_pct_per_month=f["self_discharge_pct_per_month"],
        hysteresis_rate=f["hysteresis_rate"],
        heat_capacity_j_per_k_per_ah=f["heat_capacity_j_per_k_per_ah"],
        ambient_conductance_w_per_k_per_ah=f["ambient_conductance_w_per_k_per_ah"],
        neighbour_conductance_w_per_k_per_ah=f["neighbour_conductance_w_per_k_per_ah"],
        docv_dt_v_per_k=a.get("docv_dt_v_per_k"),
    )


@cache
def load_cell_parameters(chemistry: str) -> CellParameters:
    """The committed table for ``LFP``, ``NMC`` or ``LTO``."""
    name = f"{chemistry.lower()}.json"
    try:
        text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CellParameterError(f"no cell parameter table for chemistry {chemistry!r}") from None
    return _from_dict(json.loads(text))
