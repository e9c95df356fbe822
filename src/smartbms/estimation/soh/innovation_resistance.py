"""The resistance error a temperature sensor's offset causes, learned from the voltage's innovations.

At 10 s sampling a drive gives the step fit (``soh.resistance``) a clean current step an hour or less,
so a resistance read at the wrong temperature stays wrong: a sensor reading 1.8 degC warm at -10 degC
makes a cold cell's 13 % too low, and the filter then reads the missing I*R drop as SOC (and as
counting scale). Against the model's own polarisation P (at the resistance factor 1) the innovation y
is rho * P plus SOC and bias terms that change slowly. Both are averaged over INNOVATION_BLOCK_S (the
current and voltage of one sample need not match: a sensor averaging the current over the period sees
a step in part) and the change of y between blocks is regressed on the change of P through the origin,
which leaves the slow terms out.

The factor is held to what the sensor's offset can do (the model's resistance change per degC times
the offset's half-width), and left at 1 where that is under INNOVATION_MIN_SENSOR_EFFECT: a cell's own
diffusion, slower than the model's pairs, also shows as rho, +0.07 to +0.2 on the held-out Ecker2015
at 25 degC where the sensor's -1.6 degC meant -0.05; followed there, SOC went 2.2-2.5 % off on the flat
part of the curve (1.99 % without).

Not kept across restarts: what it learns belongs to one temperature (the same offset moves a cold
cell's resistance several times more than a warm one's), and it is learned again within the hour.
"""

from __future__ import annotations

import math

import numpy as np

from smartbms.estimation.cell_model import FloatArray
from smartbms.estimation.soc.ekf import CellBankEkf

# Innovations and predicted polarisation are averaged over blocks this long, and the changes between
# blocks whose mean current differs by this share of the capacity are regressed over about an hour;
# the factor is used from this many such changes on, if the polarisation's changes are at least this
# large (RMS), and only where a sensor's offset can move the resistance by this share or more (a cold
# cell).
INNOVATION_BLOCK_S = 120.0
INNOVATION_MIN_CURRENT_STEP_C = 0.1
INNOVATION_FIT_S = 3600.0
INNOVATION_MIN_BLOCKS = 10.0
INNOVATION_MIN_POLARISATION_STEP_V = 0.01
INNOVATION_MIN_SENSOR_EFFECT = 0.12
TEMPERATURE_OFFSET_HALF_WIDTH = math.sqrt(3.0)  # a uniform offset's half-width over its sigma


def mean_of(values: FloatArray) -> float:
    """np.mean of a float array, to the last bit, without its dispatch (a few us on every sample)."""
    return float(values.sum()) / values.size


class InnovationResistance:
    """The resistance factor (1.0 = as characterised) the voltage's innovations show.

    Per sample: ``counted`` once the charge is counted, ``add`` before the voltage correction (only
    for samples whose sensors are all good), ``corrected`` after every correction of the sample.
    """

    def __init__(self, nominal_capacity_ah: float, temperature_sensor_sigma_c: float) -> None:
        self.nominal_capacity_ah = nominal_capacity_ah
        self.temperature_sensor_sigma_c = temperature_sensor_sigma_c
        self.factor = 1.0
        # The block being summed (innovation, polarisation, OCV slope, current, samples, seconds), the
        # last block's means (innovation, polarisation, current) and the decayed regression over the
        # changes between blocks (count, dP^2, dP*dy).
        self._block = [0.0, 0.0, 0.0, 0.0, 0, 0.0]
        self._last: tuple[float, float, float] | None = None
        self._fit = np.zeros(3)
        # SOC the filter's corrections moved since the block began (not counting), and in all of the
        # last block; a block closing is finished once this sample's corrections are in.
        self._moved = 0.0
        self._moved_last = 0.0
        self._closing = False
        self._counted_ekf: CellBankEkf | None = None
        self._counted_soc = 0.0

    def counted(self, ekf: CellBankEkf) -> None:
        """The filter's SOC with this sample's charge counted and no correction yet."""
        self._counted_ekf, self._counted_soc = ekf, mean_of(ekf.soc)

    def add(
        self, ekf: CellBankEkf, period: float, current_a: float, voltages: FloatArray, per_degree: FloatArray
    ) -> bool:
        """Sum one voltage sample into the block; True when a closed block set the factor anew."""
        per_degree_mean = mean_of(per_degree)
        scale = ekf.resistance_scale
        pol = mean_of(ekf.r0 * (current_a - ekf.offset) + ekf.v1 + ekf.v2) / scale
        ocv, slope = ekf.tables.ocv(ekf.soc, ekf.hyst)
        g = mean_of(slope)
        # The innovation against the SOC the block began with plus the charge counted since: the
        # filter's own corrections within the block would otherwise hide part of the error (a steady
        # cold discharge read the missing I*R drop as SOC and showed it as the opposite resistance).
        y = mean_of(voltages - ocv - ekf.vbias) - pol + g * self._moved
        block = self._block
        block[0] += y
        block[1] += pol
        block[2] += g
        block[3] += current_a
        block[4] += 1
        block[5] += period
        if block[5] < INNOVATION_BLOCK_S:
            return False
        n = block[4]
        y_mean, pol_mean, g_mean, i_mean = (x / n for x in block[:4])
        span = block[5]
        self._block = [0.0, 0.0, 0.0, 0.0, 0, 0.0]
        self._closing = True
        last, self._last = self._last, (y_mean, pol_mean, i_mean)
        # Only a change of load between the blocks counts: a steady current changes the polarisation
        # too (the pairs building up, the resistance along SOC), but there the model's time constants
        # and SOC errors change the innovation as much as its resistance does.
        if last is None or abs(i_mean - last[2]) < INNOVATION_MIN_CURRENT_STEP_C * self.nominal_capacity_ah:
            return False
        # The last block's innovations were taken against its own start: moved to this one's.
        dy = y_mean + g_mean * self._moved_last - last[0]
        dpol = pol_mean - last[1]
        decay = math.exp(-span / INNOVATION_FIT_S)
        fit = self._fit * decay + np.array([1.0, dpol * dpol, dpol * dy])
        self._fit = fit
        count, spp, spy = (float(x) for x in fit)
        if count < INNOVATION_MIN_BLOCKS or spp < count * INNOVATION_MIN_POLARISATION_STEP_V**2:
            return False
        # What a sensor's offset can do: up to its half-width times the resistance's change per degC.
        bound = per_degree_mean * TEMPERATURE_OFFSET_HALF_WIDTH * self.temperature_sensor_sigma_c
        rho = spy / spp
        if bound < INNOVATION_MIN_SENSOR_EFFECT:
            rho = 0.0
        self.factor = 1.0 + max(-bound, min(bound, rho))
        return True

    def corrected(self, ekf: CellBankEkf | None) -> None:
        """Add what this sample's corrections moved SOC by (beyond counting) to the block's total."""
        if ekf is None or ekf is not self._counted_ekf:  # the quiet start put another filter in place
            return
        self._moved += mean_of(ekf.soc) - self._counted_soc
        if self._closing:
            self._moved_last, self._moved = self._moved, 0.0
            self._closing = False

    def forget_last_block(self) -> None:
        """A SOC set from outside: the next block must not be read against the last one."""
        self._last = None
