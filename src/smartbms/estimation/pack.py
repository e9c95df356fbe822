"""The pack estimator the controller calls once per sample: SOC, SOH, energy, time-to-go and limits.

Pure in-memory: time comes in with each sample, nothing here reads a clock or touches I/O.

How the pieces fit:
- a per-cell EKF (``soc.ekf``) tracks SOC, RC voltage and current-sensor offset of every cell;
- a full-charge sync (voltage held near the charge voltage with only a tail current) and long rests
  anchor SOC; anchors far apart give a capacity sample (``soh.capacity``);
- current steps feed a resistance RLS (``soh.resistance``);
- the pack is as empty as its emptiest cell and as full as its fullest:
  SOC = min / (min + 1 - max), which is the usable charge over the usable capacity.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from smartbms.estimation.cell_model import BoolArray, CellModel, FloatArray, shipped_model
from smartbms.estimation.cv_hold import CvHoldDetector
from smartbms.estimation.defaults import DEFAULTS
from smartbms.estimation.soc.ekf import DIRECTION_DEADBAND_C, SCALE_LIMIT, CellBankEkf
from smartbms.estimation.soc.tables import CellTables, temperature_rows
from smartbms.estimation.sof.limits import ChargeDischargeLimits, LimitSettings
from smartbms.estimation.soh.capacity import Anchor, CapacityEstimator
from smartbms.estimation.soh.innovation_resistance import InnovationResistance
from smartbms.estimation.soh.resistance import ResistanceEstimator
from smartbms.estimation.state import STATE_VERSION, EstimatorStateError

MAX_INTEGRATION_GAP_S = 300.0  # longer gaps: the current in between is unknown
SYNC_HOLD_S = 60.0
ENERGY_REFRESH_S = 10.0
REST_FILTER_S = 20.0
# OCV readings at these multiples of the rest time; inf ends the list. The first corrects the
# filter; later ones only move the capacity anchor of that rest (the cell has relaxed further).
REST_READING_AT = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, math.inf)
# Zero-current reading of the current sensor in rests, for the charge counted between anchors:
ZERO_SAMPLE_NOISE_FILTERED = 3.0  # a rest ends this many sigmas of the smoothed noise beyond the band
ZERO_SAMPLE_NOISE = 4.0  # a sample further than this many noise sigmas beyond the rest band is load
ZERO_MIN_S = 300.0  # rested seconds before a rest's mean current counts as the sensor's offset
# A sample-to-sample change beyond this many noise sigmas is a step (5 sigma of a difference of two).
STEP_CHANGE_SIGMAS = 7.0
# Mean cell voltage this close to the charge voltage: a charger may be holding it (see _cv_tail).
CV_TAIL_BAND_V = 0.01
ZERO_FORGET = 0.5  # weight kept by older rests when a new one is committed (offset drifts with T)
# The same reading also corrects the filter's offset state (and through it the SOC counted with the
# wrong offset). Its error: white noise averaged over the rested seconds, plus this floor for what
# averaging cannot remove (drift with temperature, a tiny real draw), as a fraction of C.
ZERO_FUSE_FLOOR_C = 1.0 / 5000.0
# Largest sensor offset believed, as a fraction of C (the design note's worst shunt: C/100). A rest
# reading beyond it (plus 3 sigma) is a real load the sensor sees (inverter idle, a parasitic draw),
# not offset: it is ignored and counted. Trade-off: until a true rest has been read, a real load
# below the bound is taken for offset and drops out of the count (C/200 standby over a 6 h night =
# 3 % SOC); once the offset is known, the innovation gate in _fuse_zero rejects such loads. A tighter
# bound would leave worse sensors uncorrected. A caller that knows better passes max_sensor_offset_a
# (0 turns the fusion off).
ZERO_PLAUSIBLE_C = 0.01
RESISTANCE_MIN_STEPS = 20  # current steps before the learned resistance replaces the model's
RESISTANCE_BASE_C = 0.03  # steps from (or to) below this current compare with the pulse-test R0
RESISTANCE_STEP_C = 0.3  # smallest step (C-rate) fed to the resistance RLS
# A step is clean when the current moved less than this share of it in the periods either side, and
# the voltage before it less than this share of its own jump (plus noise): see _learn_resistance.
STEP_STEADY_SHARE = 0.1
STEP_PAIR_MAX_PERIOD_S = 2.0  # up to this sample period every sample pair is a step (see _learn_resistance)
STEP_NOISE_SIGMAS = 4.0
SYNC_SIGMA = 0.005
SYNC_REARM_DROP = 0.05
UNCERTAIN_START_VAR = 0.03**2
REST_ANCHOR_MAX_SIGMA = 0.03
# A restored SOC: widened by this for what the save missed, and by self-discharge (about 3 % a month
# for LFP, with as much uncertainty) per day away; not used after a month away, or when the first
# voltage rules it out by this many sigmas.
RESTORE_SOC_SIGMA = 0.01
SELF_DISCHARGE_SIGMA_PER_DAY = 0.001
RESTORE_MAX_GAP_S = 30 * 86400.0
RESTORE_DISAGREEMENT_SIGMAS = 3.0
TEMPERATURE_TOLERANCE_C = 0.25  # readings closer than this to the cached ones reuse them
# Voltage trust, tuned on Chen2020 and Prada2013 only (the held-out cells never informed them):
LOAD_MODEL_ERROR = 0.2  # share of the predicted polarisation (I*R, the RC pairs) the model may get wrong
OCV_TABLE_ERROR_V = 0.003  # how far a characterised OCV table may sit from the real cell
# How far along SOC a characterised OCV curve may sit from the real cell's (its alignment from the slow
# curves): worth millivolts where the curve is steep. Without it the voltage at the top of an LFP charge
# (170 mV per % SOC) tied SOC and bias so tightly that the rest reading there moved the bias 25 mV, which
# then pulled SOC along the plateau for hours.
OCV_SOC_ERROR = 0.002
MODEL_ERROR_CORRELATION_S = 300.0  # model errors persist for minutes, not samples
VOLTAGE_UPDATE_PERIOD_S = 5.0
# A cell temperature sensor's offset (the design note's +-2 degC, uniform) as a sigma, and how long
# its effect on the voltage stays correlated (the offset drifts slowly, if at all). A caller with
# calibrated sensors passes temperature_sensor_sigma_c.
TEMPERATURE_SENSOR_SIGMA_C = 1.15
TEMPERATURE_ERROR_CORRELATION_S = 3600.0
SUSTAINED_CHARGE_RAMP_S = 1200.0
# While the pack rests from the start, the first voltage is read as the mean of every sample so far
# (its white noise shrinks with their number), up to this long: see _track_quiet_start.
QUIET_START_MAX_S = 60.0
COUNTING_GAIN_SIGMA = 0.006  # a current sensor's gain error (+-1 % uniform) as a sigma


@dataclass(frozen=True)
class PackEstimate:
    soc_pct: float
    soc_sigma_pct: float
    soh_pct: float
    cell_soc_pct: tuple[float, ...]
    remaining_ah: float  # charge deliverable before the emptiest cell is empty
    capacity_ah: float  # learned full capacity of the series string
    energy_wh: float  # energy deliverable before the emptiest cell is empty
    time_to_empty_s: float | None
    time_to_full_s: float | None
    charge_voltage_limit_v: float
    charge_current_limit_a: float
    discharge_current_limit_a: float


@dataclass
class EstimatorCounters:
    """Bad input seen so far; the estimator carried on through all of it."""

    bad_timestamps: int = 0
    missing_current: int = 0
    missing_cell_voltages: int = 0
    missing_temperatures: int = 0
    wrong_cell_count: int = 0
    full_syncs: int = 0
    rest_anchors: int = 0
    zero_offset_fusions: int = 0  # rest readings fused into the filter's current offset
    implausible_zero_readings: int = 0  # rest readings too large for a sensor offset (a real load)
    inconsistent_zero_readings: int = 0  # rest readings far from the offset already known (a real load)
    bad_cell_currents: int = 0  # per-cell (balancing) currents of the wrong length or not finite
    restored_soc: int = 0  # starts from a saved SOC
    # saved SOCs not used: the time away unknown or too long, or the voltage disagreed
    restored_soc_discarded: int = 0


class PackEstimator:
    def __init__(
        self,
        *,
        chemistry: str,
        cells_series: int,
        capacity_ah: float,
        charge_voltage_limit_v: float | None = None,
        float_voltage_v: float | None = None,
        max_charge_current_a: float | None = None,
        max_discharge_current_a: float | None = None,
        cell_model: CellModel | None = None,
        initial_soc_pct: float | None = None,
        initial_soc_sigma_pct: float = 10.0,
        limit_settings: LimitSettings | None = None,
        tail_current_a: float | None = None,
        current_noise_a: float | None = None,
        max_sensor_offset_a: float | None = None,
        temperature_sensor_sigma_c: float = TEMPERATURE_SENSOR_SIGMA_C,
    ) -> None:
        chem = str(chemistry).upper()
        if chem not in DEFAULTS:
            raise ValueError(f"chemistry must be one of {sorted(DEFAULTS)}, got {chemistry!r}")
        if cells_series < 1:
            raise ValueError("cells_series must be at least 1")
        if not capacity_ah > 0:
            raise ValueError("capacity_ah must be positive")
        if not 0.0 <= temperature_sensor_sigma_c <= 20.0:
            raise ValueError(
                "temperature_sensor_sigma_c must lie between 0 and 20 degC, "
                f"got {temperature_sensor_sigma_c!r}"
            )
        self.chemistry = chem
        self.n = cells_series
        self.nominal_capacity_ah = float(capacity_ah)
        self.model = cell_model if cell_model is not None else shipped_model(chem)
        self.defaults = DEFAULTS[chem]
        d = self.defaults
        if limit_settings is None:
            limit_settings = LimitSettings(
                cells_series=cells_series,
                charge_cell_v=(charge_voltage_limit_v / cells_series)
                if charge_voltage_limit_v
                else d.charge_cell_v,
                float_cell_v=(float_voltage_v / cells_series) if float_voltage_v else d.float_cell_v,
                max_charge_current_a=max_charge_current_a or 0.5 * capacity_ah,
                max_discharge_current_a=max_discharge_current_a or 1.0 * capacity_ah,
                cell_ov_v=d.cell_ov_v,
                cell_uv_v=d.cell_uv_v,
                charge_ut_c=d.charge_ut_c,
                charge_ot_c=d.charge_ot_c,
                discharge_ut_c=d.discharge_ut_c,
                discharge_ot_c=d.discharge_ot_c,
                tail_current_a=tail_current_a if tail_current_a is not None else 0.02 * capacity_ah,
                rebulk_soc_pct=d.rebulk_soc_pct,
            )
        self.limit_settings = limit_settings
        self.limits = ChargeDischargeLimits(limit_settings)
        self.tail_current_a = limit_settings.tail_current_a or 0.02 * capacity_ah
        # A full-charge sync needs the tail current before a charger stops at its own (often C/20) tail.
        self.sync_tail_current_a = max(self.tail_current_a, 0.05 * capacity_ah)
        self.capacity = CapacityEstimator(self.nominal_capacity_ah)
        # Steps of C/3 or more from near zero current: the nearest a drive gets to the 1C pulse from rest.
        self.resistance = ResistanceEstimator(
            min_step_a=RESISTANCE_STEP_C * capacity_ah, max_base_a=RESISTANCE_BASE_C * capacity_ah
        )
        self._step_history: list[tuple[float, FloatArray]] = []  # (current, voltages) of the last samples
        self.tables = CellTables(self.model, self.nominal_capacity_ah)
        self.counters = EstimatorCounters()
        # A typical shunt: noise about C/500 per sample.
        self.current_noise_a = current_noise_a if current_noise_a is not None else capacity_ah / 500.0
        self._initial_soc_pct = initial_soc_pct
        self._initial_sigma = initial_soc_sigma_pct / 100.0
        self._ekf: CellBankEkf | None = None
        self._last_t: float | None = None
        self._last_current = 0.0
        self._last_voltages = np.full(self.n, np.nan)
        self._last_temps = np.full(self.n, 25.0)
        self._temps_key: tuple[float, ...] | None = None
        self._rows = temperature_rows(self._last_temps)
        self._t_min = self._t_max = 25.0
        self._temps_valid = False
        self._last_all_valid = False
        self._v_mean = math.nan
        self._soc_max = 0.0
        self._energy_wh: float | None = None
        self._energy_age_s = 0.0
        self._since_correction_s = math.inf  # fuse the very first voltage at once
        self._plausible_v = (0.5 * self.model.voltage_min_v, 1.2 * self.model.voltage_max_v)
        self._rest_current_a = 0.01 * capacity_ah
        # A single sample this close to zero (after the offset) is a rest's, beyond it a load's.
        self._rest_sample_band_a = self._rest_current_a + ZERO_SAMPLE_NOISE * self.current_noise_a
        self._rest_current_filtered = 0.0
        self._smoothed_current = 0.0
        self._rest_s = 0.0
        self._charging_s = 0.0  # how long the present charge has lasted (0: not charging)
        # A charge is a current the filter gives a direction to (above C/50).
        self._charging_above_a = DIRECTION_DEADBAND_C * capacity_ah
        self._rest_readings = 0  # OCV readings taken in the present rest
        # The present sample's own current is inside the zero band. The rest clock runs on a filtered
        # current, so it still counts for seconds after a load starts: an OCV reading on such a sample
        # reads the load's voltage drop as SOC (20 % low at -10 degC on a drive's first second).
        self._rest_sample_quiet = False
        self._recent_currents = (0.0, 0.0)
        self._since_step_s = 0.0  # seconds since the current last changed beyond noise
        self._cv_hold = CvHoldDetector(self._charging_above_a)
        self._sync_s = 0.0
        self._sync_armed = True
        self._sync_soc = 1.0
        self._charge_ah = 0.0  # net counted charge, offset-corrected
        self._raw_charge_ah = 0.0  # net counted charge as measured
        self._counted_s = 0.0  # seconds over which charge was counted
        self._zero_sum = self._zero_s = 0.0  # current integral and seconds in the present rest
        self._zero_offset_a = 0.0  # sensor offset read at zero current (rests so far)
        self._zero_weight_s = 0.0  # rested seconds behind it, 0 = none yet
        self.max_sensor_offset_a = (
            max_sensor_offset_a if max_sensor_offset_a is not None else ZERO_PLAUSIBLE_C * capacity_ah
        )
        self.temperature_sensor_sigma_c = float(temperature_sensor_sigma_c)
        self._innovations = InnovationResistance(self.nominal_capacity_ah, self.temperature_sensor_sigma_c)
        self._fused_sum = self._fused_s = 0.0  # part of the present rest's zero reading already fused
        self._zero_n = self._fused_n = 0  # samples behind them (the noise is per sample)
        self._fuse_at_s = ZERO_MIN_S  # zero-reading seconds at which the present rest is fused next
        self._rest_is_load = False  # a reading of the present rest was rejected: a quiet load, not offset
        self._offset_read = False  # the filter's offset has fused a zero reading
        self._rest_anchor = False  # the present rest has given a capacity anchor
        self._pending_soc_pct: float | None = None
        self._saved_filter: dict[str, Any] | None = None  # from restore_state, applied at the first sample
        self._estimate: PackEstimate | None = None
        # The quiet start: the filter as it was before its first voltage, carried through every predict
        # since, and the sum of the (rested) voltages read so far. None once the pack has moved.
        self._quiet_prior: CellBankEkf | None = None
        self._quiet_sum = np.zeros(self.n)
        self._quiet_n = 0
        self._quiet_s = 0.0

    @classmethod
    def from_settings(cls, settings: Any, *, cell_model: CellModel | None = None) -> PackEstimator:
        """Build from ``smartbms.core.settings.Settings`` (duck-typed so this module needs no core import)."""
        pack, prot, chg = settings.pack, settings.protection, settings.charging
        capacity = float(pack.nominal_capacity_ah)
        limits = LimitSettings(
            cells_series=int(pack.cells_series),
            charge_cell_v=float(prot.charge_voltage_limit_v) / pack.cells_series,
            float_cell_v=float(chg.float_voltage_v) / pack.cells_series,
            max_charge_current_a=float(chg.max_charge_current_a),
            max_discharge_current_a=float(chg.max_discharge_current_a),
            cell_ov_v=float(prot.cell_ov_v),
            cell_uv_v=float(prot.cell_uv_v),
            charge_ut_c=float(prot.charge_ut_c),
            charge_ot_c=float(prot.charge_ot_c),
            discharge_ut_c=float(prot.discharge_ut_c),
            discharge_ot_c=float(prot.discharge_ot_c),
            absorption_time_s=float(chg.absorption_time_s),
            tail_current_a=float(chg.tail_current_a),
            rebulk_soc_pct=DEFAULTS[str(pack.chemistry).upper()].rebulk_soc_pct,
        )
        return cls(
            chemistry=str(pack.chemistry),
            cells_series=int(pack.cells_series),
            capacity_ah=capacity,
            cell_model=cell_model,
            limit_settings=limits,
        )

    # --- commands -------------------------------------------------------------------------------

    def sync_full(self, timestamp: float) -> None:
        """The pack is full (e.g. the charger says so): put every cell at its top-of-charge SOC."""
        if self._ekf is None:
            self._pending_soc_pct = 100.0
            return
        self._apply_full_sync(timestamp, self._last_current)

    def set_soc(self, soc_pct: float) -> None:
        """Remote "set SOC": shift every cell so the pack reads ``soc_pct``, keeping the imbalance."""
        if not math.isfinite(soc_pct):
            raise ValueError("soc_pct must be a finite number")
        target = min(100.0, max(0.0, soc_pct)) / 100.0
        if self._ekf is None:
            self._pending_soc_pct = target * 100.0
            return
        soc = np.clip(self._ekf.soc, 0.0, 1.0)
        # Shifting every cell by d keeps the usable span u, so the pack reads (min + d) / u.
        usable = float(soc.min() + 1.0 - soc.max())
        shifted = soc + (target * usable - float(soc.min()))
        self._ekf.set_soc(np.clip(shifted, 0.0, 1.0), 0.02)
        self._quiet_prior = None  # the user's SOC must not be undone by a quiet start's next mean
        self._innovations.forget_last_block()  # nor read as an innovation (the next block starts afresh)

    # --- the per-sample update -----------------------------------------------------------------

    def update(
        self,
        *,
        timestamp: float,
        current_a: float,
        cell_voltages_v: Sequence[float],
        temperatures_c: Sequence[float],
        cell_currents_a: Sequence[float] | None = None,
    ) -> PackEstimate:
        """Take one sample. ``cell_currents_a``: what each cell carried since the last sample besides
        the string's current (A, + = into the cell): a balancer's bleed or transfer, which the string's
        current sensor never sees."""
        voltages = self._cell_array(cell_voltages_v)
        temps, rows_changed = self._temperatures(temperatures_c)
        valid_v = np.isfinite(voltages)
        all_valid = bool(valid_v.all())
        any_valid = all_valid or bool(valid_v.any())
        if not all_valid:
            self.counters.missing_cell_voltages += int(self.n - np.count_nonzero(valid_v))
        current_ok = math.isfinite(current_a)
        if not current_ok:
            self.counters.missing_current += 1
        ekf = self._ekf
        if ekf is None:
            if not (current_ok and any_valid and math.isfinite(timestamp)):
                return self._placeholder_estimate()
            ekf = self._start(timestamp, current_a, voltages, valid_v, temps)
            self._begin_quiet_start(ekf, current_a, voltages, all_valid)
            return self._publish(timestamp, 0.0, current_a, voltages, all_valid, temps)
        last_t = self._last_t
        assert last_t is not None
        if not math.isfinite(timestamp) or timestamp <= last_t:
            self.counters.bad_timestamps += 1
            return self._estimate if self._estimate is not None else self._placeholder_estimate()
        dt = timestamp - last_t
        self._last_t = timestamp
        rows = self._rows
        if dt > MAX_INTEGRATION_GAP_S:
            # Unknown charge moved while we were away: assume little, admit much.
            ekf.inflate((0.01 * dt / 3600.0) ** 2 + 0.02**2)
            ekf.predict(1.0, 0.0, rows, rows_changed)
            dt_used = 0.0
        elif current_ok:
            ekf.predict(dt, current_a, rows, rows_changed)
            dt_used = dt
        else:
            # Hold the last current, and widen SOC as if it could be off by C/20 plus itself.
            ekf.predict(dt, self._last_current, rows, rows_changed)
            err = (abs(self._last_current) + 0.05 * self.nominal_capacity_ah) * dt / 3600.0
            ekf.inflate((err / ekf.capacity_ah) ** 2)
            dt_used = 0.0
        i_now = current_a if current_ok else self._last_current
        cell_charge = None
        if cell_currents_a is not None and dt <= MAX_INTEGRATION_GAP_S:
            cell_charge = self._cell_charge_ah(dt, cell_currents_a)
            if cell_charge is not None:
                ekf.count_cell_charge(cell_charge)
        self._innovations.counted(ekf)
        quiet_prior = self._track_quiet_start(dt, current_a, rows, rows_changed, voltages, all_valid)
        if quiet_prior is not None and cell_charge is not None:
            quiet_prior.count_cell_charge(cell_charge)
        if dt_used:
            self._charge_ah += (i_now - float(ekf.offset[0])) * dt_used / 3600.0
            self._raw_charge_ah += i_now * dt_used / 3600.0
            self._counted_s += dt_used

        rested = self._track_rest(dt, i_now)
        self._charging_s = self._charging_s + dt if i_now > self._charging_above_a else 0.0
        self._since_correction_s += dt
        # Model errors last minutes, so samples a second apart carry nearly the same information:
        # fusing the voltage every few seconds loses almost nothing and saves most of the cost.
        if any_valid and (
            self._since_correction_s >= VOLTAGE_UPDATE_PERIOD_S or dt > VOLTAGE_UPDATE_PERIOD_S
        ):
            period = self._since_correction_s
            self._since_correction_s = 0.0
            base = self.defaults.voltage_sigma_rest_v if rested else self.defaults.voltage_sigma_load_v
            fused_v = voltages
            if quiet_prior is not None:
                # Still the quiet start: fuse the mean of its voltages into the filter as it was before
                # any, as the first voltage (the white noise averaged over the samples).
                ekf = self._ekf = quiet_prior.copy()
                fused_v = self._quiet_sum / self._quiet_n
                base = self.defaults.voltage_sigma_rest_v / math.sqrt(self._quiet_n)
                period = math.inf
            # The circuit model is worse the harder the cell works: widen the error with the
            # polarisation it predicts, and count one independent sample per correlation time by
            # inflating the variance. What the model misses is slower than what it holds: its errors
            # last at least as long as its slow pair's time constant (a cold cell's diffusion: up to
            # 24 min).
            correlation_s = max(MODEL_ERROR_CORRELATION_S, ekf.slow_tau_s)
            inflation = max(1.0, correlation_s / period)
            polarisation = self._polarisation_v(ekf, i_now)
            model_err = self._model_error_share(i_now) * polarisation
            var_v = base * base + (model_err * model_err + OCV_TABLE_ERROR_V**2) * inflation
            # A temperature sensor off by a degree or two moves every resistance the model reads (a
            # cold NMC cell's by 4-8 % per degC), and the offset lasts the whole run: counted once
            # per TEMPERATURE_ERROR_CORRELATION_S.
            per_degree = ekf.resistance_per_degree(abs(i_now))
            temp_err = polarisation * per_degree * self.temperature_sensor_sigma_c
            var_v = var_v + temp_err * temp_err * max(1.0, TEMPERATURE_ERROR_CORRELATION_S / period)
            table_soc_var = OCV_SOC_ERROR**2 * inflation  # times the OCV slope squared, in the filter
            if math.isinf(period):
                # The first voltage: the RC pairs may hold up to I * (R1 + R2) we never saw build up.
                rc_err = i_now * (ekf.r_total - ekf.r0)
                var_v = var_v + rc_err * rc_err
            else:
                # A current step inside the sample period: a sensor that integrates the current over
                # the period shows it only in part, the voltage read at the period's end shows it all
                # (or the other way round the sample after). The jump since the last sample that
                # R0 * the current's change does not explain is how far this sample's R0 * I may be
                # off; it is this sample's alone (no inflation).
                jump = voltages - self._last_voltages - ekf.r0 * (i_now - self._last_current)
                jump = np.where(np.isfinite(jump), jump, 0.0)
                var_v = var_v + jump * jump
            if (
                all_valid
                and current_ok
                and quiet_prior is None
                and not math.isinf(period)
                and self._innovations.add(ekf, period, i_now, voltages, per_degree)
            ):
                self._scale_filter_resistance(ekf)
            # While SOC may still be far off, linearise where the voltage points (see correct_voltage).
            relin = float(ekf.p00.max()) > UNCERTAIN_START_VAR
            fill = fused_v if all_valid else np.where(valid_v, voltages, 0.0)
            ekf.correct_voltage(
                fill,
                i_now,
                None if all_valid else valid_v,
                var_v,
                relinearize=relin,
                ocv_soc_var=table_soc_var,
            )
        if current_ok and all_valid and self._last_all_valid and dt <= MAX_INTEGRATION_GAP_S:
            self._learn_resistance(dt, i_now, voltages)
        else:
            self._step_history.clear()
        # A "rest" whose current reading was refused as a sensor offset is a quiet load (a standby
        # draw): its voltage is not an OCV either (on the LFP plateau 3 mV of load drop read as 4 % SOC).
        if (
            rested
            and not self._rest_is_load
            and self._rest_s >= self.defaults.rest_time_s * REST_READING_AT[self._rest_readings]
        ):
            self._rest_correction(timestamp, i_now, voltages, valid_v)
        if current_ok:
            self._last_current = current_a
        if all_valid:
            self._last_voltages = voltages
        elif any_valid:
            self._last_voltages = np.where(valid_v, voltages, self._last_voltages)
        self._last_all_valid = all_valid
        estimate = self._publish(timestamp, dt, i_now, voltages, all_valid, temps)
        self._track_full_sync(timestamp, dt, i_now)
        self._innovations.corrected(self._ekf)
        return estimate

    # --- internals --------------------------------------------------------------------------------

    def _start(
        self, timestamp: float, current_a: float, voltages: FloatArray, valid: BoolArray, temps: FloatArray
    ) -> CellBankEkf:
        restored = None
        if self._pending_soc_pct is None:  # a SOC the user set while we waited wins over a saved one
            restored = self._restored_soc(timestamp, current_a, voltages, valid)
        if self._pending_soc_pct is not None:
            soc0 = np.full(self.n, self._pending_soc_pct / 100.0)
            sigma0 = 0.01 if self._pending_soc_pct >= 100.0 else 0.02
        elif restored is not None:
            soc0, sigma0 = restored
        elif self._initial_soc_pct is not None:
            soc0 = np.full(self.n, min(100.0, max(0.0, self._initial_soc_pct)) / 100.0)
            sigma0 = self._initial_sigma
        else:
            soc0, sigma0 = self._ocv_guess(current_a, voltages, valid)
        ekf = CellBankEkf(
            self.tables,
            self.capacity.capacity_ah,  # the nameplate, or what a restored state learned
            soc0,
            soc_sigma0=sigma0,
            offset_sigma0_a=self.nominal_capacity_ah / 400.0,
            current_noise_a=self.current_noise_a,
            offset_walk_a_per_sqrt_h=self.nominal_capacity_ah / 2000.0,
            soc_walk_per_sqrt_h=self.defaults.soc_walk_per_sqrt_h,
            count_scale_error=self.defaults.count_scale_error,
            scale_sigma0=self._scale_sigma() if self._scale_may_run() else 0.0,
        )
        self._ekf = ekf
        self._scale_filter_resistance(ekf)  # a restored state's learned resistance applies at once
        saved = self._saved_filter
        if saved is not None:
            # What the filter knew of the sensors outlives SOC: the current offset and, with a
            # restored SOC, the voltage bias and the hysteresis branch (the RC pairs have relaxed).
            gap_h = max(0.0, timestamp - saved["time"]) / 3600.0 if saved["time"] is not None else 24.0
            ekf.offset = np.full(self.n, saved["offset_a"])
            ekf.p11 = np.full(
                self.n,
                min(
                    (self.nominal_capacity_ah / 400.0) ** 2,
                    saved["offset_var"] + ekf.offset_walk_var_per_s * 3600.0 * gap_h,
                ),
            )
            self._offset_read = bool(saved["offset_read"])
            if "scale" in saved and self.defaults.counting_scale_sigma > 0.0:
                # Like the offset, the scale belongs to the sensors and the capacity, not to SOC: it
                # is taken with its variance, never wider than a fresh start's.
                ekf.reset_scale(self._scale_sigma())
                ekf.scale = np.asarray(saved["scale"], dtype=np.float64).copy()
                ekf.p33 = np.minimum(np.asarray(saved["scale_var"], dtype=np.float64), ekf.p33)
            if restored is not None:
                ekf.hyst = np.asarray(saved["hysteresis"], dtype=np.float64).copy()
                ekf.vbias = np.asarray(saved["vbias_v"], dtype=np.float64).copy()
                ekf.p22 = (
                    np.asarray(saved["vbias_var"], dtype=np.float64)
                    + ekf.vbias_walk_var_per_s * 3600.0 * gap_h
                )
            self._saved_filter = None
        self._last_t = timestamp
        self._last_current = current_a
        self._last_voltages = np.where(valid, voltages, np.nan)
        self._last_all_valid = bool(valid.all())
        return ekf

    def _ocv_guess(
        self, current_a: float, voltages: FloatArray, valid: BoolArray
    ) -> tuple[FloatArray, float]:
        """First guess from OCV: remove the ohmic drop, take the middle of the hysteresis band."""
        mid_soc = np.full(self.n, 0.5)
        r0 = self.tables.rc(mid_soc, self._rows)[:, 0] * self.tables.r0_factor(abs(current_a), self._rows)
        fill = float(np.mean(voltages[valid]))
        v = np.where(valid, voltages, fill) - r0 * current_a
        soc0 = np.asarray(self.model.soc_from_ocv(v), dtype=np.float64)
        slope = np.maximum(self.model.ocv_slope(soc0), 1e-3)
        # Under load the RC voltage is unknown too; the flat LFP plateau gives a wide sigma.
        v_err = (0.005 if abs(current_a) < 0.02 * self.nominal_capacity_ah else 0.03) + float(
            np.max(self.model.ocv(soc0, 1.0) - self.model.ocv(soc0, 0.0))
        )
        return soc0, float(np.clip(np.max(v_err / slope), 0.02, 0.3))

    def _restored_soc(
        self, timestamp: float, current_a: float, voltages: FloatArray, valid: BoolArray
    ) -> tuple[FloatArray, float] | None:
        """The saved SOC, widened for the time away, unless the first voltage contradicts it."""
        saved = self._saved_filter
        if saved is None or not saved["use_soc"]:
            return None
        gap_s = timestamp - saved["time"] if saved["time"] is not None else math.nan
        if not 0.0 <= gap_s <= RESTORE_MAX_GAP_S:
            # Unknown or too long a time away (or a clock that went back): start from the voltage.
            self.counters.restored_soc_discarded += 1
            return None
        soc = np.asarray(saved["soc"], dtype=np.float64)
        days = gap_s / 86400.0
        sigma = np.sqrt(
            np.asarray(saved["soc_sigma"], dtype=np.float64) ** 2
            + RESTORE_SOC_SIGMA**2
            + (SELF_DISCHARGE_SIGMA_PER_DAY * days) ** 2
        )
        # The pack may have been used while we were away (a charger or inverter running without
        # the BMS computer): a saved SOC the voltage rules out is dropped for the voltage's guess.
        guess, guess_sigma = self._ocv_guess(current_a, voltages, valid)
        bound = RESTORE_DISAGREEMENT_SIGMAS * np.hypot(sigma, guess_sigma)
        if bool(np.any(valid & (np.abs(soc - guess) > bound))):
            self.counters.restored_soc_discarded += 1
            return None
        self.counters.restored_soc += 1
        return soc, float(np.max(sigma))

    # --- persistence (plain dicts; smartbms.estimation.state writes them to disk) ---------------

    def export_state(self) -> dict[str, Any]:
        """What this estimator has learned, as JSON-ready data, for ``restore_state`` after a restart."""
        ekf = self._ekf
        state: dict[str, Any] = {
            "version": STATE_VERSION,
            "chemistry": self.chemistry,
            "cells_series": self.n,
            "nominal_capacity_ah": self.nominal_capacity_ah,
            "model": self.model.name,
            "last_sample_time": self._last_t,
            "capacity": self.capacity.learned(),
            "resistance": self.resistance.learned(),
            "zero_offset": {"offset_a": self._zero_offset_a, "weight_s": self._zero_weight_s},
            "filter": None,
        }
        if ekf is not None:
            state["filter"] = {
                "soc": [float(x) for x in ekf.soc],
                "soc_sigma": [float(math.sqrt(x)) for x in ekf.p00],
                "hysteresis": [float(x) for x in ekf.hyst],
                "vbias_v": [float(x) for x in ekf.vbias],
                "vbias_var": [float(x) for x in ekf.p22],
                "offset_a": float(np.mean(ekf.offset)),
                "offset_var": float(np.max(ekf.p11)),
                "offset_read": self._offset_read,
            }
            if ekf.scale_enabled:
                state["filter"]["scale"] = [float(x) for x in ekf.scale]
                state["filter"]["scale_var"] = [float(x) for x in ekf.p33]
        elif self._saved_filter is not None:  # restored but no sample since: keep what was restored
            saved = self._saved_filter
            state["last_sample_time"] = saved["time"]
            state["filter"] = {k: v for k, v in saved.items() if k not in ("time", "use_soc")}
        return state

    def restore_state(self, state: dict[str, Any], *, restore_soc: bool = True) -> None:
        """Take over a state ``export_state`` wrote, before the first sample.

        Raises EstimatorStateError when it belongs to another pack (chemistry, cell count, nominal
        capacity) or is malformed; nothing is changed then. Capacity, resistance and the sensor
        offset are always taken; SOC only with ``restore_soc``, and at the first sample only if the
        time away is known and under RESTORE_MAX_GAP_S and the voltage does not contradict it.
        """
        if self._ekf is not None:
            raise EstimatorStateError("estimator state can only be restored before the first sample")
        for key, mine in (
            ("chemistry", self.chemistry),
            ("cells_series", self.n),
            ("nominal_capacity_ah", self.nominal_capacity_ah),
        ):
            if state.get(key) != mine:
                raise EstimatorStateError(
                    f"estimator state is for {key} {state.get(key)!r}, this pack has {mine!r}"
                )
        try:
            # Restored into copies, so a refused state leaves the estimators as they were.
            capacity = copy.copy(self.capacity)
            resistance = copy.copy(self.resistance)
            capacity.restore(state["capacity"])
            resistance.restore(state["resistance"])
            zero = state["zero_offset"]
            zero_offset, zero_weight = float(zero["offset_a"]), float(zero["weight_s"])
            saved_filter = self._parse_filter(state.get("filter"), state.get("last_sample_time"), restore_soc)
        except (KeyError, TypeError, ValueError) as exc:
            raise EstimatorStateError(f"estimator state is malformed: {type(exc).__name__}: {exc}") from exc
        if not (abs(zero_offset) <= self.max_sensor_offset_a + 1e-12 and zero_weight >= 0.0):
            raise EstimatorStateError(f"estimator state: sensor offset {zero_offset:g} A is not plausible")
        self.capacity, self.resistance = capacity, resistance
        self._zero_offset_a, self._zero_weight_s = zero_offset, zero_weight
        self._saved_filter = saved_filter

    def _parse_filter(self, data: Any, saved_time: Any, restore_soc: bool) -> dict[str, Any] | None:
        if data is None:
            return None

        def cells(key: str, lo: float, hi: float) -> list[float]:
            values = [float(x) for x in data[key]]
            if len(values) != self.n or not all(lo <= x <= hi for x in values):
                raise ValueError(f"filter {key} must be {self.n} values in {lo:g}..{hi:g}")
            return values

        offset = float(data["offset_a"])
        if not abs(offset) <= self.max_sensor_offset_a + 1e-12:
            raise ValueError(f"filter offset {offset:g} A is beyond a plausible sensor offset")
        time_s = float(saved_time) if saved_time is not None else None
        if time_s is not None and not math.isfinite(time_s):
            raise ValueError("last_sample_time must be finite")
        # The counting scale came later: files without it load, and the scale then starts afresh.
        scale = {}
        if "scale" in data:
            scale = {
                "scale": cells("scale", -SCALE_LIMIT, SCALE_LIMIT),
                "scale_var": cells("scale_var", 0.0, 1.0),
            }
        return {
            **scale,
            "time": time_s,
            "use_soc": restore_soc,
            "soc": cells("soc", -0.02, 1.02),
            "soc_sigma": cells("soc_sigma", 0.0, 1.0),
            "hysteresis": cells("hysteresis", -1.0, 1.0),
            "vbias_v": cells("vbias_v", -0.1, 0.1),
            "vbias_var": cells("vbias_var", 0.0, 0.01),
            "offset_a": offset,
            "offset_var": max(0.0, float(data["offset_var"])),
            "offset_read": bool(data["offset_read"]),
        }

    def _cell_array(self, cell_voltages_v: Sequence[float]) -> FloatArray:
        v = np.array(cell_voltages_v, dtype=np.float64).ravel()
        if v.size != self.n:
            self.counters.wrong_cell_count += 1
            out = np.full(self.n, np.nan)
            out[: min(self.n, v.size)] = v[: self.n]
            v = out
        # A reading far outside the cell's range is a broken sensor or wire, not a cell state.
        lo, hi = self._plausible_v
        if not (v.min() >= lo and v.max() <= hi):  # also true when a NaN is present
            v = np.where((v >= lo) & (v <= hi), v, np.nan)
        return v

    def _temperatures(self, temperatures_c: Sequence[float]) -> tuple[FloatArray, bool]:
        """Per-cell temperatures (cached while the readings do not change) and whether they changed."""
        key = tuple(temperatures_c)
        last = self._temps_key
        # Sensor flicker of a tenth of a degree changes no model parameter: keep the cached
        # per-cell temperatures until a reading moves by TEMPERATURE_TOLERANCE_C (NaN never matches).
        if (
            self._temps_valid
            and last is not None
            and len(key) == len(last)
            and all(abs(a - b) < TEMPERATURE_TOLERANCE_C for a, b in zip(key, last, strict=True))
        ):
            return self._last_temps, False
        self._temps_key = key
        good = [x for x in key if math.isfinite(x)]
        if len(good) != len(key) or not key:
            self.counters.missing_temperatures += (len(key) - len(good)) or 1
        # The filter keeps the last temperatures; the limits must not trust them.
        self._temps_valid = bool(good)
        if not good:
            return self._last_temps, False
        fill = sum(good) / len(good)
        t = np.array([x if math.isfinite(x) else fill for x in key], dtype=np.float64)
        # Each sensor covers a contiguous block of cells; a dead sensor borrows the mean.
        per_cell = t if t.size == self.n else t[(np.arange(self.n) * t.size) // self.n]
        self._last_temps = per_cell
        self._t_min, self._t_max = float(per_cell.min()), float(per_cell.max())
        rows = temperature_rows(per_cell)
        changed = not np.array_equal(rows, self._rows)
        self._rows = rows
        return per_cell, changed

    def _track_rest(self, dt: float, current_a: float) -> bool:
        # A change of the current beyond what noise does over two samples (a split step at long sample
        # periods) marks a new state: a charger stopping, a load switching.
        older, last = self._recent_currents
        change = max(abs(current_a - last), abs(current_a - older))
        stepped = change > STEP_CHANGE_SIGMAS * self.current_noise_a
        self._since_step_s = 0.0 if stepped else self._since_step_s + dt
        self._recent_currents = (last, current_a)
        # Judge rest on a smoothed, offset-corrected current: one noisy sample must not restart the clock.
        alpha = min(1.0, dt / REST_FILTER_S)
        self._rest_current_filtered += alpha * (current_a - self._rest_current_filtered)
        offset = float(self._ekf.offset[0]) if self._ekf is not None else 0.0
        # A rest, once begun, ends only beyond the band plus 3 sigma of the smoothed sensor noise: an
        # offset near the C/100 band (before a rest has read it) otherwise flickers in and out of rest
        # and no rest lasts long enough to be read (at 10 s sampling the smoothing spans two samples).
        # Entering keeps the plain band: a wider one started rests early, in a charge's CV tail.
        limit = self._rest_current_a
        if self._rest_s > 0.0:
            limit += ZERO_SAMPLE_NOISE_FILTERED * self.current_noise_a * math.sqrt(alpha / (2.0 - alpha))
        if abs(self._rest_current_filtered - offset) <= limit:
            self._rest_s += dt
            # In a rest the true current is (nearly) zero: what the sensor reads is its offset. Samples
            # from the load on either side (the filter lags) fall outside the band and are left out.
            settled = self._rest_s >= REST_FILTER_S and dt <= MAX_INTEGRATION_GAP_S
            self._rest_sample_quiet = abs(current_a - offset) <= self._rest_sample_band_a
            if settled and self._rest_sample_quiet and not self._cv_tail():
                self._zero_sum += current_a * dt
                self._zero_s += dt
                self._zero_n += 1
                if self._zero_s >= self._fuse_at_s and not self._rest_is_load:
                    self._fuse_zero()
        else:
            if (
                self._zero_s >= ZERO_MIN_S
                and self._zero_s - self._fused_s >= REST_FILTER_S
                and not self._rest_is_load
            ):
                self._fuse_zero()
            if self._zero_s >= ZERO_MIN_S and not self._rest_is_load:
                kept = ZERO_FORGET * self._zero_weight_s
                self._zero_offset_a = (kept * self._zero_offset_a + self._zero_sum) / (kept + self._zero_s)
                self._zero_weight_s = kept + self._zero_s
            self._zero_sum = self._zero_s = 0.0
            self._fused_sum = self._fused_s = 0.0
            self._zero_n = self._fused_n = 0
            self._fuse_at_s = ZERO_MIN_S
            self._rest_is_load = False
            self._rest_s = 0.0
            self._rest_readings = 0
            self._rest_anchor = False
            self._rest_sample_quiet = False
        return self._rest_s >= self.defaults.rest_time_s

    def _cv_tail(self) -> bool:
        """A charger holds the cells (at the charge voltage, or flat while its current tapers: a charger
        set below the BMS) and the rest began without a step: a CV tail gliding into the rest band, not a
        rest. With a sensor offset of -C/100 a C/50 tail reads +C/100; read as the offset, it had the
        wrong sign, and the true rest after the charger stopped was then refused as inconsistent. A
        charger that stops makes a step; a rest at full that began with one (or long ago) still reads
        the offset."""
        held = self._cv_hold.held or self._v_mean >= self.limit_settings.charge_cell_v - CV_TAIL_BAND_V
        # The smoothed current needs a few filter times to settle into the band after a step (ln of the
        # step over the band: 4.6 for a 1C step), so the step may come that long before the rest.
        return held and self._since_step_s > self._rest_s + 6.0 * REST_FILTER_S

    def _fuse_zero(self) -> None:
        """Fuse the present rest's zero reading, the seconds not fused before, into the filter's offset.

        Schedule: once when the rest has ZERO_MIN_S of zero reading (so a long rest stops drifting
        early and the drift so far is taken back through p01), again each time that doubles, and the
        remainder when the rest ends. Every fusion uses only seconds no earlier one used, so the white
        noise is never counted twice; the log2 schedule keeps the floor, which is not independent
        between fusions, to a handful per rest (about 7 in a 6 h night) while the offset may walk.
        """
        ekf = self._ekf
        assert ekf is not None
        seconds = self._zero_s - self._fused_s
        reading = (self._zero_sum - self._fused_sum) / seconds
        samples = max(1, self._zero_n - self._fused_n)
        self._fused_sum, self._fused_s, self._fused_n = self._zero_sum, self._zero_s, self._zero_n
        self._fuse_at_s = 2.0 * self._zero_s
        sigma = math.hypot(
            self.current_noise_a / math.sqrt(samples), ZERO_FUSE_FLOOR_C * self.nominal_capacity_ah
        )
        if abs(reading) > self.max_sensor_offset_a + 3.0 * sigma:
            self.counters.implausible_zero_readings += 1
            self._rest_is_load = True
            return
        # A quiet load (standby draw, C/200 overnight) looks like a rest to the current sensor; once the
        # offset is known from a rest it stands out as an innovation far beyond the offset's own
        # uncertainty. Gate it at 3 sigma like any Kalman outlier (the random walk of the offset
        # widens the gate by C/2000 per sqrt(h), so a wrong offset is not locked in for ever). Before
        # the first accepted reading only the bound applies: the filter's prior (C/400) is a guess,
        # narrower than the worst sensor, and must not reject the sensor's real offset.
        y = reading - float(np.mean(ekf.offset))
        if self._offset_read and y * y > 9.0 * (float(np.max(ekf.p11)) + sigma * sigma):
            self.counters.inconsistent_zero_readings += 1
            self._rest_is_load = True
            return
        ekf.observe_offset(reading, sigma)
        self._offset_read = True
        self.counters.zero_offset_fusions += 1

    def _zero_offset(self) -> tuple[float, float] | None:
        """(offset, sigma) of the current sensor from rests so far, the present one included."""
        ongoing = self._zero_s if self._zero_s >= ZERO_MIN_S and not self._rest_is_load else 0.0
        weight = self._zero_weight_s + ongoing
        if weight <= 0.0:
            return None
        offset = (self._zero_weight_s * self._zero_offset_a + (self._zero_sum if ongoing else 0.0)) / weight
        # White noise averaged over the rested seconds, and a floor for drift and small real loads.
        sigma = math.hypot(self.current_noise_a / math.sqrt(weight), 0.05 * self.current_noise_a)
        return offset, sigma

    def _rest_correction(
        self, timestamp: float, current_a: float, voltages: FloatArray, valid: BoolArray
    ) -> None:
        """After a long rest the terminal voltage is the OCV: read SOC from it where the curve is steep.

        Only on a sample whose own current is at rest (a load just starting is not): otherwise the
        reading waits for the next quiet sample, and the rest ends if the load goes on.
        """
        ekf = self._ekf
        assert ekf is not None
        if not self._rest_sample_quiet:
            return
        # A later reading supersedes the first as the capacity anchor: the cell has relaxed further.
        later = self._rest_readings > 0
        self._rest_readings += 1
        if not valid.any():
            return
        h = float(np.mean(ekf.hyst))
        v = np.where(valid, voltages, float(np.mean(voltages[valid])))
        # The residual current inside the rest band (noise, a load's first ramp) drops across R0.
        ohmic = ekf.r0 * (current_a - ekf.offset)
        soc = np.asarray(
            self.model.soc_from_ocv(v - ekf.v1 - ekf.v2 - ekf.vbias - ohmic, h), dtype=np.float64
        )
        _, slope = self.tables.ocv(soc, ekf.hyst)
        half = np.abs(self.tables.ocv(soc, np.ones(self.n))[0] - self.tables.ocv(soc, np.zeros(self.n))[0])
        # Voltage noise at rest, the bias we have not learned, and the unknown part of the hysteresis.
        v_err = np.sqrt(
            self.defaults.voltage_sigma_rest_v**2 + ekf.p22 + (half * (1.0 - abs(h)) + 0.001) ** 2
        )
        sigma = v_err / np.maximum(slope, 1e-3)
        usable = valid & (sigma < REST_ANCHOR_MAX_SIGMA)
        if not usable.any():
            return
        if not later:
            ekf.observe_soc(soc, sigma, usable)
            self.counters.rest_anchors += 1
        if usable.all():
            supersede = self._rest_anchor
            self._rest_anchor = True
            self._add_anchor(timestamp, float(np.mean(soc)), float(np.sqrt(np.mean(sigma**2))), supersede)

    def _add_anchor(self, timestamp: float, soc: float, sigma: float, supersede: bool = False) -> None:
        ekf = self._ekf
        assert ekf is not None
        anchor = Anchor(timestamp, soc, sigma, self._charge_ah, self._raw_charge_ah, self._counted_s)
        zero = self._zero_offset()
        if zero is not None:
            added = self.capacity.add_anchor(anchor, zero[1], zero[0], supersede=supersede)
        else:
            offset_sigma = float(np.sqrt(np.mean(ekf.p11)))
            added = self.capacity.add_anchor(anchor, offset_sigma, supersede=supersede)
        if added:
            # SOC is a fraction of the true capacity, so it stays; only the counting scale changes.
            ekf.capacity_ah = self.capacity.capacity_ah
        if added or not ekf.scale_enabled:
            # The filter's scale error starts again from the learned capacity; a scale that waits for an
            # anchor starts here, after the anchor has set SOC.
            ekf.reset_scale(self._scale_sigma())

    def _cell_charge_ah(self, dt: float, cell_currents_a: Sequence[float]) -> FloatArray | None:
        """Charge each cell took on its own (balancing) over ``dt``, to be counted into its SOC: a bled
        cell's counted SOC otherwise stays high until its voltage shows the loss, and a SOC-based
        balancer keeps bleeding it. None (and counted as bad input) when the currents are unusable."""
        currents = np.asarray(cell_currents_a, dtype=np.float64)
        if currents.shape != (self.n,) or not bool(np.isfinite(currents).all()):
            self.counters.bad_cell_currents += 1
            return None
        charge: FloatArray = currents * (dt / 3600.0)
        return charge

    def _quiet_sample(self, current_a: float, all_valid: bool) -> bool:
        # Every cell read, and a current no larger than a rest's (the sensor's offset is not known yet).
        return all_valid and math.isfinite(current_a) and abs(current_a) <= self._rest_sample_band_a

    def _begin_quiet_start(
        self, ekf: CellBankEkf, current_a: float, voltages: FloatArray, all_valid: bool
    ) -> None:
        """Keep the new filter's prior if the pack rests at the start (see _track_quiet_start)."""
        if not self._quiet_sample(current_a, all_valid):
            return
        self._quiet_prior = ekf.copy()
        self._quiet_sum = voltages.copy()
        self._quiet_n = 1
        self._quiet_s = 0.0

    def _track_quiet_start(
        self,
        dt: float,
        current_a: float,
        rows: FloatArray,
        rows_changed: bool,
        voltages: FloatArray,
        all_valid: bool,
    ) -> CellBankEkf | None:
        """The quiet start's prior filter, carried to this sample, while the pack has rested since the
        start (up to QUIET_START_MAX_S); None from the first sample that moves.

        Why: the first voltage the filter fuses gets full weight, and the later ones are discounted for
        their correlated model error, so the first one's white noise (1-2 mV, 0.5-1 % SOC where an NMC
        curve is flat near full) stayed in SOC for many minutes. Reading the first voltage as the mean
        of the rested samples instead averages that noise away and costs no model error: at rest the
        model predicts no polarisation. (A pack that has just stopped still relaxes: the mean then sits
        nearer the OCV than the very first sample did.)

        Each mean replaces the filter, so nothing else may have changed it meanwhile: a sync and a
        user's SOC, which can come at any time, end the quiet start; a rest reading, the sensor's zero
        reading and a resistance step need longer rests or a current step, so none falls inside it.
        """
        prior = self._quiet_prior
        if prior is None:
            return None
        if (
            dt > MAX_INTEGRATION_GAP_S
            or self._quiet_s + dt > QUIET_START_MAX_S
            or not self._quiet_sample(current_a, all_valid)
        ):
            self._quiet_prior = None
            return None
        prior.predict(dt, current_a, rows, rows_changed)
        self._quiet_sum = self._quiet_sum + voltages
        self._quiet_n += 1
        self._quiet_s += dt
        return prior

    @staticmethod
    def _polarisation_v(ekf: CellBankEkf, current_a: float) -> FloatArray:
        """How far the model puts each cell's voltage from its OCV now (V, magnitude).

        |I| * (R0 + R1 + R2) under a load; once the load stops, what the RC pairs still hold. Tied to the
        current alone, the model error vanished at every stop while the pairs still held tens of mV,
        and each stop of a cold drive pulled SOC by their error (held-out Ecker2015 at -10 degC: the
        worst error 5.7 % fell to 4.4 %).
        """
        steady = np.abs(current_a * ekf.r_total)
        now = np.abs(ekf.r0 * (current_a - ekf.offset) + ekf.v1 + ekf.v2)
        out: FloatArray = np.maximum(steady, now)
        return out

    def _model_error_share(self, current_a: float) -> float:
        """Share of the predicted polarisation (_polarisation_v) the circuit model may get wrong now.

        A charge lasting longer than the pulses that characterised its side builds a polarisation the
        model never saw (a diffusion overpotential; Chen2020 at 0.5C: 10-20 mV after half an hour):
        the share rises to the chemistry's sustained-charge figure over SUSTAINED_CHARGE_RAMP_S.
        """
        sustained = self.defaults.sustained_charge_model_error
        if current_a <= 0.0 or sustained <= LOAD_MODEL_ERROR:
            return LOAD_MODEL_ERROR
        ramp = min(1.0, self._charging_s / SUSTAINED_CHARGE_RAMP_S)
        return LOAD_MODEL_ERROR + (sustained - LOAD_MODEL_ERROR) * ramp

    def _scale_may_run(self) -> bool:
        """Whether the counting scale may learn before the first anchor of this run."""
        return not self.defaults.scale_waits_for_anchor or self.capacity.samples > 0

    def _scale_sigma(self) -> float:
        """Prior sigma of the filter's counting scale: the chemistry's for a capacity never measured,
        the learned capacity's own (plus the sensor's gain error) once anchors have measured it."""
        prior = self.defaults.counting_scale_sigma
        if prior <= 0.0 or self.capacity.samples == 0:
            return prior
        learned = self.capacity.sigma_ah / self.capacity.capacity_ah
        return min(prior, math.hypot(learned, COUNTING_GAIN_SIGMA))

    def _track_full_sync(self, timestamp: float, dt: float, current_a: float) -> None:
        mean_v = self._v_mean
        near_cv = mean_v >= self.limit_settings.charge_cell_v - 0.03
        # Tail current or less, either sign: at the end of absorption the current is small and noisy.
        tail = abs(current_a) <= self.sync_tail_current_a
        if self._sync_armed and near_cv and tail:
            self._sync_s += dt
            if self._sync_s >= SYNC_HOLD_S:
                self._apply_full_sync(timestamp, current_a)
        else:
            self._sync_s = 0.0
        # Re-arm once the pack has clearly left full, so one absorption gives one sync.
        if not self._sync_armed and self._soc_max < self._sync_soc - SYNC_REARM_DROP:
            self._sync_armed = True

    def _apply_full_sync(self, timestamp: float, current_a: float) -> None:
        ekf = self._ekf
        assert ekf is not None
        self._quiet_prior = None  # an anchor ends the quiet start (its next mean would undo it)
        finite = np.isfinite(self._last_voltages)
        if finite.any():
            v = np.where(finite, self._last_voltages, float(np.max(self._last_voltages[finite])))
        else:
            v = np.full(self.n, self.limit_settings.charge_cell_v)
        # At the end of a CV charge the current has tapered for long: the RC pairs sit at I * R.
        ocv = v - ekf.v1 - ekf.v2 - ekf.vbias - ekf.r0 * max(current_a, 0.0)
        ekf.hyst = np.ones(self.n)
        soc = np.asarray(self.model.soc_from_ocv(ocv, 1.0), dtype=np.float64)
        # What the model may have got wrong of the polarisation the tail current still holds: small
        # when warm, at -10 degC worth 2-4 % SOC (the cell is not as full as the voltage says).
        _, slope = self.tables.ocv(soc, ekf.hyst)
        polarisation_err = self._model_error_share(current_a) * max(current_a, 0.0) * ekf.r_total
        sigma = np.sqrt(SYNC_SIGMA**2 + (polarisation_err / np.maximum(slope, 1e-3)) ** 2)
        # A full cell the filter disagrees with far beyond both sigmas: the filter had lost track (a
        # wrong start it only believed worked off, a voltage bias learned from model error) and its
        # sigma is wrong. Averaged with it, the sync would leave a fifth of the error (4 % at 45 degC
        # after a -20 % start); widened to the disagreement, the filter takes the sync.
        y = soc - ekf.soc
        lost = y * y > 9.0 * (ekf.p00 + sigma * sigma)
        ekf.p00 = np.where(lost, np.maximum(ekf.p00, y * y), ekf.p00)
        # Right after an uncertain start (or lost track) the SOC error is not the offset's: let this
        # anchor fix SOC only.
        fresh = (ekf.p00 > UNCERTAIN_START_VAR) | lost
        ekf.p01 = np.where(fresh, 0.0, ekf.p01)
        ekf.p03 = np.where(fresh, 0.0, ekf.p03)
        ekf.observe_soc(soc, sigma)
        self._soc_max = self._sync_soc = float(np.max(ekf.soc))
        self._sync_armed = False
        self._sync_s = 0.0
        self.counters.full_syncs += 1
        self._add_anchor(timestamp, float(np.mean(soc)), float(np.sqrt(np.mean(sigma**2))))

    def _learn_resistance(self, dt: float, current_a: float, voltages: FloatArray) -> None:
        """Feed a current step and its voltage step to the resistance fit.

        The fit compares steps from or to rest with the pulse-test R0; once it has RESISTANCE_MIN_STEPS
        steps its factor also scales the filter's resistances (ageing, a bad connection). A second fit on
        every step, the incremental resistance between load currents (0.6-0.8 x R0), used to scale the
        filter: with R0's current dependence in the model it only made the sustained loads' polarisation
        too small, most in the cold (validation at 1 s, -10 degC: Prada2013's worst error between syncs
        5.6 -> 2.1 % with the LFP counting scale, Chen2020 drive's max 3.8 -> 2.1 %).

        At sampling of a second or so every sample pair counts. With longer periods only a clean step counts,
        fed one sample late: the current steady in the periods before and after it, and the voltage
        quiet before it. A current sensor that integrates over the period (a coulomb-counting ADC)
        while the voltage is read at the period's end sees a step inside a period only in part, but
        the voltage sees all of it: one pair then holds a part of the current step with the whole
        voltage step, the next the rest of the current step with no voltage step. At 10 s sampling
        those pairs drove the learned scale to its lower bound and LFP SOC 30-39 % off in the cold.
        (At 1 s such a split moves at most a second's share; filtering every pair there as well cut
        the steps thirtyfold and made the NMC drive's SOC worse.)
        """
        hist = self._step_history
        hist.append((current_a, voltages))
        if len(hist) > 4:
            del hist[0]
        if dt <= STEP_PAIR_MAX_PERIOD_S:
            (i_b, v_b), (i_c, v_c) = (self._last_current, self._last_voltages), (current_a, voltages)
            di = i_c - i_b
            if abs(di) < self.resistance.min_step_a:
                return
            dv = float(np.mean(v_c - v_b))
        else:
            if len(hist) < 4:
                return
            (i_a, v_a), (i_b, v_b), (i_c, v_c), (i_d, _) = hist
            di = i_c - i_b
            if abs(di) < self.resistance.min_step_a:
                return
            steady = max(STEP_STEADY_SHARE * abs(di), STEP_NOISE_SIGMAS * self.current_noise_a)
            if abs(i_b - i_a) > steady or abs(i_d - i_c) > steady:
                return
            dv = float(np.mean(v_c - v_b))
            quiet = STEP_STEADY_SHARE * abs(dv) + STEP_NOISE_SIGMAS * self.defaults.voltage_sigma_rest_v
            if abs(float(np.mean(v_b - v_a))) > quiet:
                return
        ekf = self._ekf
        assert ekf is not None
        # Regress on the model's own R0 (without the learned scale) so the factor stays absolute.
        # R0 at the step's size: a step from or to rest measures R0 at the other end's current.
        model_r0 = float(np.mean(ekf.r0_at(abs(di)))) / ekf.resistance_scale
        if self.resistance.add_step(di, dv, model_r0, min(abs(i_c), abs(i_b))):
            self._scale_filter_resistance(ekf)

    def _scale_filter_resistance(self, ekf: CellBankEkf) -> None:
        """The filter's resistances follow the learned factor once it rests on enough steps."""
        if self.resistance.samples >= RESISTANCE_MIN_STEPS:
            ekf.resistance_scale = min(3.0, max(0.5, self.resistance.factor))
        else:
            ekf.resistance_scale = self._innovations.factor

    def _publish(
        self,
        timestamp: float,
        dt: float,
        current_a: float,
        voltages: FloatArray,
        all_valid: bool,
        temps: FloatArray,
    ) -> PackEstimate:
        ekf = self._ekf
        assert ekf is not None
        socs = [0.0 if x < 0.0 else 1.0 if x > 1.0 else x for x in ekf.soc.tolist()]
        s_min, s_max = min(socs), max(socs)
        self._soc_max = s_max
        usable = s_min + 1.0 - s_max
        pack = min(1.0, s_min / usable) if usable > 1e-9 else 0.0
        p00 = ekf.p00
        sigma = math.sqrt(max(float(p00[socs.index(s_min)]), float(p00[socs.index(s_max)])))
        q = ekf.effective_capacity_ah
        remaining = s_min * q
        self._energy_age_s += dt
        if self._energy_age_s >= ENERGY_REFRESH_S or self._energy_wh is None:
            soc = np.array(socs)
            self._energy_wh = q * float(
                np.sum(self.model.energy_per_ah(soc) - self.model.energy_per_ah(soc - s_min))
            )
            self._energy_age_s = 0.0
        # Time-to-go from a smoothed current so it does not jump with every pulse.
        alpha = min(1.0, dt / 30.0) if dt > 0 else 1.0
        self._smoothed_current += alpha * (current_a - self._smoothed_current)
        i_avg = self._smoothed_current
        threshold = 0.005 * self.nominal_capacity_ah
        tte = remaining / -i_avg * 3600.0 if i_avg < -threshold else None
        ttf = (1.0 - s_max) * q / i_avg * 3600.0 if i_avg > threshold else None
        # Limits use this sample's readings only: a dead sensor must not look like a safe cell.
        vl = voltages.tolist()
        if not all_valid:
            vl = [x for x in vl if math.isfinite(x)]
        if vl:
            v_max, v_min, v_mean = max(vl), min(vl), sum(vl) / len(vl)
        else:
            v_max = v_min = v_mean = math.nan
        self._v_mean = v_mean
        # Like the mean voltage, the charger's hold is read by the next sample's rest tracking.
        self._cv_hold.update(dt, current_a, v_mean, lambda: float(np.mean(ekf.r_total)))
        cvl, ccl, dcl = self.limits.update(
            timestamp,
            dt,
            current_a=current_a,
            cell_v_max=v_max,
            cell_v_min=v_min,
            cell_v_mean=v_mean,
            temp_min_c=self._t_min if self._temps_valid else math.nan,
            temp_max_c=self._t_max if self._temps_valid else math.nan,
            soc_pct=pack * 100.0,
        )
        soh = min(self.capacity.soh_pct(), self.resistance.soh_pct())
        self._estimate = PackEstimate(
            soc_pct=pack * 100.0,
            soc_sigma_pct=sigma * 100.0,
            soh_pct=max(0.0, min(100.0, soh)),
            cell_soc_pct=tuple([x * 100.0 for x in socs]),
            remaining_ah=remaining,
            capacity_ah=ekf.capacity_ah,
            energy_wh=self._energy_wh,
            time_to_empty_s=tte,
            time_to_full_s=ttf,
            charge_voltage_limit_v=cvl,
            charge_current_limit_a=ccl,
            discharge_current_limit_a=dcl,
        )
        return self._estimate

    def _placeholder_estimate(self) -> PackEstimate:
        """Before the first usable sample: nothing known, nothing allowed."""
        soc = self._pending_soc_pct if self._pending_soc_pct is not None else self._initial_soc_pct
        soc_pct = 50.0 if soc is None else soc
        return PackEstimate(
            soc_pct=soc_pct,
            soc_sigma_pct=50.0 if soc is None else self._initial_sigma * 100.0,
            soh_pct=100.0,
            cell_soc_pct=tuple([soc_pct] * self.n),
            remaining_ah=soc_pct / 100.0 * self.nominal_capacity_ah,
            capacity_ah=self.nominal_capacity_ah,
            energy_wh=0.0,
            time_to_empty_s=None,
            time_to_full_s=None,
            charge_voltage_limit_v=self.limits.charge_voltage_limit_v,
            charge_current_limit_a=0.0,
            discharge_current_limit_a=0.0,
        )

    # --- read-only views for diagnostics and the validation harness -----------------------------

    @property
    def current_offset_a(self) -> float:
        return float(np.mean(self._ekf.offset)) if self._ekf is not None else 0.0

    @property
    def resistance_factor(self) -> float:
        return self.resistance.factor

    @property
    def innovation_resistance_factor(self) -> float:
        """The resistance factor the voltage's innovations show (used until the step fit has enough steps)."""
        return self._innovations.factor
