"""Per-chemistry defaults of the estimators (what to trust, how long a rest takes).

Charge and protection voltages repeat the usual datasheet figures (the core's chemistry presets use
the same ones); they only apply when the caller gives no settings.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChemistryDefaults:
    charge_cell_v: float
    float_cell_v: float
    cell_ov_v: float
    cell_uv_v: float
    charge_ut_c: float
    charge_ot_c: float
    discharge_ut_c: float
    discharge_ot_c: float
    # White voltage error (sensor noise, quantisation) under load and rested; the constant part is a
    # filter state (voltage bias) and the load-dependent model error is added in the estimator.
    voltage_sigma_load_v: float
    voltage_sigma_rest_v: float
    # Time without current before the terminal voltage is a usable OCV (LFP relaxes slowly).
    rest_time_s: float
    # SOC to return to absorption after float.
    rebulk_soc_pct: float
    # How SOC may wander beyond the modelled sensor errors: per sqrt(hour), and as a share of the
    # charge counted (capacity and gain errors). A steep OCV (NMC) corrects SOC all along and
    # benefits from a filter that follows; on the flat LFP plateau a walk with time only widened
    # sigma through quiet nights until the next load's model errors moved SOC, so LFP's wander
    # mostly follows the charge moved instead (validation, Prada2013 24 h runs: error between syncs
    # about 2.8 -> 2.4 % SOC on average, the worst 4.4 -> 3.8 %, truth inside 2 sigma 85-90 % of the
    # time; the same change on Chen2020 made the drive cycles worse).
    soc_walk_per_sqrt_h: float = 0.01
    count_scale_error: float = 0.0
    # The filter's counting-scale state (a capacity told wrong, the sensor's gain): its prior sigma
    # before any capacity was measured (0: no such state). It does not walk: a capacity fades over
    # months, and each capacity the anchors measure restarts it.
    counting_scale_sigma: float = 0.0
    # The scale starts only at the first anchor (full-charge sync, rested OCV). Before it, an error of
    # the start SOC is not told apart from a scale error where the curve is flat: on the LFP plateau a
    # start 20 % wrong, corrected an hour later at a knee, taught the scale +12 % and the next day's
    # counting then ran 4 % off. A steep curve (NMC) anchors SOC all along and learns from the start.
    scale_waits_for_anchor: bool = False
    # Share of the I*R drop the circuit model may get wrong once a charge has lasted (see the pack
    # estimator); the load figure (0.2) when the chemistry's charge side needs nothing more.
    sustained_charge_model_error: float = 0.2


DEFAULTS: dict[str, ChemistryDefaults] = {
    "LFP": ChemistryDefaults(
        3.55,
        3.375,
        3.65,
        2.50,
        0.0,
        45.0,
        -20.0,
        60.0,
        0.003,
        0.002,
        1800.0,
        90.0,
        0.002,
        0.03,
        counting_scale_sigma=0.05,
        scale_waits_for_anchor=True,
    ),
    "NMC": ChemistryDefaults(
        4.15,
        4.00,
        4.20,
        3.00,
        0.0,
        45.0,
        -20.0,
        60.0,
        0.003,
        0.002,
        600.0,
        90.0,
        # A capacity told up to 10 % wrong (the design note's range; an aged pack's nameplate is more)
        # is a scale of +11 %: with sigma 5 % the held-out Ecker2015 had learned only 3 % of it by the
        # flat 40-55 %, and its worst warm error was 2.37 %; with 10 %, 1.99 %.
        counting_scale_sigma=0.1,
        sustained_charge_model_error=0.8,
    ),
    "LTO": ChemistryDefaults(2.70, 2.55, 2.80, 1.80, -30.0, 55.0, -30.0, 60.0, 0.003, 0.002, 900.0, 90.0),
}
