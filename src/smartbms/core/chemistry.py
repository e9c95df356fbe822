"""Chemistry presets: the per-cell limits a pack of each chemistry starts from.

Figures are the ranges commonly printed in cell datasheets (EVE LF280K for LFP, Samsung
INR21700-50E / LG M50 class for NMC, Toshiba SCiB for LTO) and the defaults commercial
BMSes ship with (Victron smallBMS, JBD, Daly). They are defaults to edit, not a datasheet
for your cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Chemistry(StrEnum):
    LFP = "LFP"
    NMC = "NMC"
    LTO = "LTO"


@dataclass(frozen=True, slots=True)
class ChemistryPreset:
    nominal_cell_v: float
    # Range a per-cell charge voltage (absorption) setting may take, e.g. 3.25-3.825 V for LFP
    # so a 4S LFP pack accepts 13.0-15.3 V.
    charge_cell_v_min: float
    charge_cell_v_max: float
    # Range any cell-voltage threshold may be set to.
    threshold_cell_v_min: float
    threshold_cell_v_max: float
    charge_cell_v: float
    float_cell_v: float
    cell_ov_v: float
    cell_ov_release_v: float
    cell_ov_warning_v: float
    charge_disconnect_cell_v: float
    cell_uv_v: float
    cell_uv_release_v: float
    cell_uv_warning_v: float
    prealarm_cell_v: float
    load_disconnect_cell_v: float
    charge_ot_c: float
    charge_ut_c: float
    discharge_ot_c: float
    discharge_ut_c: float
    balance_start_cell_v: float
    # Cell voltage above which a charge source may conduct (13 V on a 4S LFP "12 V" system).
    charge_input_start_cell_v: float


PRESETS: dict[Chemistry, ChemistryPreset] = {
    Chemistry.LFP: ChemistryPreset(
        nominal_cell_v=3.2,
        charge_cell_v_min=3.25,
        charge_cell_v_max=3.825,
        threshold_cell_v_min=2.0,
        threshold_cell_v_max=3.9,
        charge_cell_v=3.55,
        float_cell_v=3.375,
        cell_ov_v=3.65,
        cell_ov_release_v=3.45,
        cell_ov_warning_v=3.58,
        charge_disconnect_cell_v=3.60,
        cell_uv_v=2.50,
        cell_uv_release_v=2.90,
        cell_uv_warning_v=3.10,
        prealarm_cell_v=3.00,
        load_disconnect_cell_v=2.80,
        charge_ot_c=45.0,
        charge_ut_c=0.0,
        discharge_ot_c=60.0,
        discharge_ut_c=-20.0,
        balance_start_cell_v=3.40,
        charge_input_start_cell_v=3.25,
    ),
    Chemistry.NMC: ChemistryPreset(
        nominal_cell_v=3.65,
        charge_cell_v_min=3.90,
        charge_cell_v_max=4.25,
        threshold_cell_v_min=2.5,
        threshold_cell_v_max=4.35,
        charge_cell_v=4.15,
        float_cell_v=4.00,
        cell_ov_v=4.20,
        cell_ov_release_v=4.10,
        cell_ov_warning_v=4.17,
        charge_disconnect_cell_v=4.18,
        cell_uv_v=3.00,
        cell_uv_release_v=3.30,
        cell_uv_warning_v=3.50,
        prealarm_cell_v=3.40,
        load_disconnect_cell_v=3.20,
        charge_ot_c=45.0,
        charge_ut_c=0.0,
        discharge_ot_c=60.0,
        discharge_ut_c=-20.0,
        balance_start_cell_v=3.90,
        charge_input_start_cell_v=3.60,
    ),
    Chemistry.LTO: ChemistryPreset(
        nominal_cell_v=2.3,
        charge_cell_v_min=2.40,
        charge_cell_v_max=2.85,
        threshold_cell_v_min=1.5,
        threshold_cell_v_max=2.9,
        charge_cell_v=2.70,
        float_cell_v=2.55,
        cell_ov_v=2.80,
        cell_ov_release_v=2.65,
        cell_ov_warning_v=2.75,
        charge_disconnect_cell_v=2.77,
        cell_uv_v=1.80,
        cell_uv_release_v=2.05,
        cell_uv_warning_v=2.20,
        prealarm_cell_v=2.10,
        load_disconnect_cell_v=1.95,
        charge_ot_c=55.0,
        charge_ut_c=-30.0,
        discharge_ot_c=60.0,
        discharge_ut_c=-30.0,
        balance_start_cell_v=2.50,
        charge_input_start_cell_v=2.30,
    ),
}
