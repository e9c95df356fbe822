"""The protection rule table and the one small engine that evaluates a rule.

Each rule watches one signal against a limit with a trip delay, a release level on the
safe side of the limit (hysteresis) and a recovery delay. Rules are built from the settings
in :func:`build_rules`; nothing else in the core compares a measurement with a limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum

from smartbms.core.settings import Settings
from smartbms.core.validation import ValidatedSample


class Tier(Enum):
    # Normal operation limits that block a path without raising an alarm (charge full).
    LIMIT = "limit"
    WARNING = "warning"
    PRE_ALARM = "pre-alarm"
    PROTECTION = "protection"


class Paths(Enum):
    NONE = "none"
    CHARGE = "charge"
    DISCHARGE = "discharge"
    BOTH = "both"

    @property
    def charge(self) -> bool:
        return self in (Paths.CHARGE, Paths.BOTH)

    @property
    def discharge(self) -> bool:
        return self in (Paths.DISCHARGE, Paths.BOTH)


class Signal(IntEnum):
    CELL_MAX_V = 0
    CELL_MIN_V = 1
    PACK_V = 2
    CHARGE_CURRENT_A = 3
    DISCHARGE_CURRENT_A = 4
    TEMPERATURE_MAX_C = 5
    TEMPERATURE_MIN_C = 6
    FET_TEMPERATURE_C = 7
    CELL_DELTA_V = 8
    # Current flowing in a direction whose path the BMS opened at its previous step.
    CURRENT_THROUGH_OPEN_PATH_A = 9


def signal_values(
    sample: ValidatedSample, charge_open: bool = False, discharge_open: bool = False
) -> tuple[float, ...]:
    """Every signal's value, indexed by :class:`Signal`; NaN where unknown.

    ``charge_open`` / ``discharge_open``: the paths the BMS had switched off at its previous step.
    """
    current = sample.current_a
    if current != current or (charge_open and current > 0.0):
        stray = current
    elif discharge_open and current < 0.0:
        stray = -current
    else:
        stray = 0.0
    return (
        sample.cell_max_v,
        sample.cell_min_v,
        sample.pack_voltage_v,
        current if current > 0.0 else (0.0 if current == current else current),
        -current if current < 0.0 else (0.0 if current == current else current),
        sample.temperature_max_c,
        sample.temperature_min_c,
        sample.mosfet_temperature_c,
        sample.cell_max_v - sample.cell_min_v,
        stray,
    )


class Phase(IntEnum):
    IDLE = 0
    PENDING = 1  # over the limit, waiting out the trip delay
    ACTIVE = 2
    RECOVERING = 3  # back past the release level, waiting out the recovery delay


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    code: str
    signal: Signal
    above: bool  # True: trips when the signal rises above the limit
    limit: float
    release: float
    trip_delay_s: float
    recovery_delay_s: float
    tier: Tier
    blocks: Paths
    latched: bool = False

    def tripped(self, value: float) -> bool:
        return value > self.limit if self.above else value < self.limit

    def released(self, value: float) -> bool:
        return value <= self.release if self.above else value >= self.release


@dataclass(frozen=True, slots=True)
class RuleStatus:
    phase: Phase
    since: float


IDLE = RuleStatus(Phase.IDLE, 0.0)


def advance(rule: Rule, status: RuleStatus, value: float, now: float) -> RuleStatus:
    """One rule's next status. An unknown value (NaN) changes nothing: the sensor-fault
    path already opens both paths, and a pending trip keeps counting."""
    if value != value:
        return status
    phase = status.phase
    if phase is Phase.IDLE:
        if rule.tripped(value):
            return RuleStatus(Phase.ACTIVE if rule.trip_delay_s <= 0.0 else Phase.PENDING, now)
        return status
    if phase is Phase.PENDING:
        if not rule.tripped(value):
            return IDLE
        return RuleStatus(Phase.ACTIVE, now) if now - status.since >= rule.trip_delay_s else status
    if phase is Phase.ACTIVE:
        if rule.latched or not rule.released(value):
            return status
        return IDLE if rule.recovery_delay_s <= 0.0 else RuleStatus(Phase.RECOVERING, now)
    # RECOVERING: the release must hold for the whole recovery delay.
    if not rule.released(value):
        return RuleStatus(Phase.ACTIVE, now)
    return IDLE if now - status.since >= rule.recovery_delay_s else status


CHARGE_LIMIT_ID = "charge_voltage_limit"
PREALARM_ID = "prealarm_cell_uv"
LOAD_DISCONNECT_ID = "load_disconnect_cell_uv"
CHARGE_DISCONNECT_IDS = ("charge_disconnect_cell_ov", "charge_disconnect_hot", "charge_disconnect_cold")


def build_rules(settings: Settings) -> tuple[Rule, ...]:
    pr, out = settings.protection, settings.outputs
    s = Signal
    warn_i = pr.current_warning_fraction
    margin_t = pr.temperature_warning_margin_c
    margin_cd = out.charge_disconnect_temp_margin_c
    n = settings.pack.cells_series
    P, W, PA, L = Tier.PROTECTION, Tier.WARNING, Tier.PRE_ALARM, Tier.LIMIT
    C, D, B, N = Paths.CHARGE, Paths.DISCHARGE, Paths.BOTH, Paths.NONE
    temp_delay, temp_recovery = pr.temperature_delay_s, pr.temperature_recovery_s
    # fmt: off
    # Columns: id, code, signal, trips above?, limit, release, trip delay, recovery delay, tier, blocks.
    rules = [
        # Protection: open a path.
        Rule("cell_ov", "A-CELL-OV", s.CELL_MAX_V, True, pr.cell_ov_v, pr.cell_ov_release_v,
             pr.cell_ov_delay_s, pr.cell_ov_recovery_s, P, C),
        Rule("cell_uv", "A-CELL-UV", s.CELL_MIN_V, False, pr.cell_uv_v, pr.cell_uv_release_v,
             pr.cell_uv_delay_s, pr.cell_uv_recovery_s, P, D),
        Rule("pack_ov", "A-PACK-OV", s.PACK_V, True, pr.pack_ov_v, pr.pack_ov_release_v,
             pr.pack_ov_delay_s, pr.pack_ov_recovery_s, P, C),
        Rule("pack_uv", "A-PACK-UV", s.PACK_V, False, pr.pack_uv_v, pr.pack_uv_release_v,
             pr.pack_uv_delay_s, pr.pack_uv_recovery_s, P, D),
        Rule("charge_oc", "A-CHG-OC", s.CHARGE_CURRENT_A, True, pr.charge_oc_a, warn_i * pr.charge_oc_a,
             pr.charge_oc_delay_s, pr.charge_oc_recovery_s, P, C),
        Rule("discharge_oc1", "A-DSG-OC1", s.DISCHARGE_CURRENT_A, True, pr.discharge_oc1_a,
             warn_i * pr.discharge_oc1_a, pr.discharge_oc1_delay_s, pr.discharge_oc_recovery_s, P, D),
        Rule("discharge_oc2", "A-DSG-OC2", s.DISCHARGE_CURRENT_A, True, pr.discharge_oc2_a,
             warn_i * pr.discharge_oc1_a, pr.discharge_oc2_delay_s, pr.discharge_oc_recovery_s, P, D),
        Rule("short_circuit", "A-SHORT-CIRCUIT", s.DISCHARGE_CURRENT_A, True, pr.short_circuit_a,
             warn_i * pr.discharge_oc1_a, pr.short_circuit_delay_s, pr.discharge_oc_recovery_s, P, B,
             latched=pr.short_circuit_latched),
        Rule("charge_ot", "A-CHG-OT", s.TEMPERATURE_MAX_C, True, pr.charge_ot_c, pr.charge_ot_release_c,
             temp_delay, temp_recovery, P, C),
        Rule("charge_ut", "A-CHG-UT", s.TEMPERATURE_MIN_C, False, pr.charge_ut_c, pr.charge_ut_release_c,
             temp_delay, temp_recovery, P, C),
        Rule("discharge_ot", "A-DSG-OT", s.TEMPERATURE_MAX_C, True, pr.discharge_ot_c, pr.discharge_ot_release_c,
             temp_delay, temp_recovery, P, D),
        Rule("discharge_ut", "A-DSG-UT", s.TEMPERATURE_MIN_C, False, pr.discharge_ut_c, pr.discharge_ut_release_c,
             temp_delay, temp_recovery, P, D),
        Rule("fet_ot", "A-FET-OT", s.FET_TEMPERATURE_C, True, pr.fet_ot_c, pr.fet_ot_release_c,
             temp_delay, temp_recovery, P, B),
        Rule("imbalance", "A-IMBALANCE", s.CELL_DELTA_V, True, pr.imbalance_protection_v, pr.imbalance_release_v,
             pr.imbalance_delay_s, pr.imbalance_delay_s, P, C),
        # Normal end of charge: re-enable only after the pack stayed margin below the limit for the hold time.
        Rule(CHARGE_LIMIT_ID, "W-CHARGE-FULL", s.PACK_V, True, pr.charge_voltage_limit_v,
             pr.charge_voltage_limit_v - pr.charge_reenable_margin_v, 0.0, pr.charge_reenable_hold_s, L, C),
        # Pre-alarm tier: drives the outputs that warn external equipment first.
        Rule(PREALARM_ID, "W-PREALARM", s.CELL_MIN_V, False, out.prealarm_cell_v, out.prealarm_cell_v + 0.05,
             out.prealarm_delay_s, 0.0, PA, N),
        Rule(LOAD_DISCONNECT_ID, "W-LOAD-DISCONNECT", s.CELL_MIN_V, False, out.load_disconnect_cell_v,
             out.prealarm_cell_v, out.load_disconnect_delay_s, out.load_disconnect_delay_s, PA, N),
        Rule(CHARGE_DISCONNECT_IDS[0], "W-CHARGE-DISCONNECT", s.CELL_MAX_V, True, out.charge_disconnect_cell_v,
             pr.cell_ov_release_v, out.charge_disconnect_delay_s, out.charge_disconnect_delay_s, PA, N),
        Rule(CHARGE_DISCONNECT_IDS[1], "W-CHARGE-DISCONNECT", s.TEMPERATURE_MAX_C, True, pr.charge_ot_c - margin_cd,
             pr.charge_ot_release_c - margin_cd, out.charge_disconnect_delay_s, temp_recovery, PA, N),
        Rule(CHARGE_DISCONNECT_IDS[2], "W-CHARGE-DISCONNECT", s.TEMPERATURE_MIN_C, False, pr.charge_ut_c + margin_cd,
             pr.charge_ut_release_c + margin_cd, out.charge_disconnect_delay_s, temp_recovery, PA, N),
        # Warnings: tell, switch nothing.
        Rule("cell_ov_warning", "W-CELL-OV", s.CELL_MAX_V, True, pr.cell_ov_warning_v, pr.cell_ov_warning_v - 0.02,
             pr.cell_ov_delay_s, 0.0, W, N),
        Rule("cell_uv_warning", "W-CELL-UV", s.CELL_MIN_V, False, pr.cell_uv_warning_v, pr.cell_uv_warning_v + 0.02,
             pr.cell_uv_delay_s, 0.0, W, N),
        Rule("pack_ov_warning", "W-PACK-OV", s.PACK_V, True, pr.pack_ov_v - 0.01 * n, pr.pack_ov_v - 0.03 * n,
             pr.pack_ov_delay_s, 0.0, W, N),
        Rule("pack_uv_warning", "W-PACK-UV", s.PACK_V, False, pr.pack_uv_v + 0.05 * n, pr.pack_uv_v + 0.07 * n,
             pr.pack_uv_delay_s, 0.0, W, N),
        Rule("charge_oc_warning", "W-CHG-OC", s.CHARGE_CURRENT_A, True, warn_i * pr.charge_oc_a,
             0.95 * warn_i * pr.charge_oc_a, pr.charge_oc_delay_s, 0.0, W, N),
        Rule("discharge_oc_warning", "W-DSG-OC", s.DISCHARGE_CURRENT_A, True, warn_i * pr.discharge_oc1_a,
             0.95 * warn_i * pr.discharge_oc1_a, pr.discharge_oc1_delay_s / 2, 0.0, W, N),
        Rule("charge_ot_warning", "W-CHG-OT", s.TEMPERATURE_MAX_C, True, pr.charge_ot_c - margin_t,
             pr.charge_ot_c - margin_t - 2.0, temp_delay, 0.0, W, N),
        Rule("charge_ut_warning", "W-CHG-UT", s.TEMPERATURE_MIN_C, False, pr.charge_ut_c + margin_t,
             pr.charge_ut_c + margin_t + 2.0, temp_delay, 0.0, W, N),
        Rule("discharge_ot_warning", "W-DSG-OT", s.TEMPERATURE_MAX_C, True, pr.discharge_ot_c - margin_t,
             pr.discharge_ot_c - margin_t - 2.0, temp_delay, 0.0, W, N),
        Rule("discharge_ut_warning", "W-DSG-UT", s.TEMPERATURE_MIN_C, False, pr.discharge_ut_c + margin_t,
             pr.discharge_ut_c + margin_t + 2.0, temp_delay, 0.0, W, N),
        Rule("fet_ot_warning", "W-FET-OT", s.FET_TEMPERATURE_C, True, pr.fet_ot_c - margin_t,
             pr.fet_ot_c - margin_t - 2.0, temp_delay, 0.0, W, N),
        Rule("imbalance_warning", "W-IMBALANCE", s.CELL_DELTA_V, True, pr.imbalance_warning_v,
             0.8 * pr.imbalance_warning_v, pr.imbalance_delay_s, 0.0, W, N),
    ]
    if pr.switch_failure_detection:
        # A welded contactor or a shorted FET: hardware failure, latched until a reset.
        rules.insert(8, Rule("switch_failure", "E-FET", s.CURRENT_THROUGH_OPEN_PATH_A, True,
                             pr.switch_failure_current_a, 0.5 * pr.switch_failure_current_a,
                             pr.switch_failure_delay_s, 0.0, P, B, latched=True))
    # fmt: on
    return tuple(rules)
