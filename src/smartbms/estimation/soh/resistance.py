"""Internal resistance relative to the cell model, by recursive least squares on current steps.

At a current step the RC pair has no time to charge, so the voltage change is the ohmic part:
dV = theta * R0_model(SOC, T) * dI. Regressing on the model's own R0 normalises away SOC and
temperature, so theta (1.0 = as characterised) is comparable across seasons and drifts only with
ageing or bad connections.

The model's R0 is a pulse-test figure: the voltage jump of a step from rest, a secant from zero current.
The charge-transfer (Butler-Volmer) part of a real cell is not linear: between two load currents the
incremental resistance is much smaller (PyBaMM Chen2020: 1.1 x R0 near zero current, 0.6 x at 1-2C). So
only steps that start or end near zero current (``max_base_a``) are compared with it, like with like.
"""

from __future__ import annotations


class ResistanceEstimator:
    def __init__(
        self,
        *,
        forgetting: float = 0.995,
        min_step_a: float = 1.0,
        step_noise_v: float = 0.002,
        max_base_a: float = float("inf"),
    ) -> None:
        self.factor = 1.0
        self._p = 0.25  # variance of the factor before any step: +-50 %
        # Regression in units of the voltage-step noise, so the prior above means what it says.
        self._scale = 1.0 / step_noise_v
        self.forgetting = forgetting
        self.min_step_a = min_step_a
        self.max_base_a = max_base_a
        self.samples = 0

    def add_step(
        self, delta_current_a: float, delta_voltage_v: float, model_r0_ohm: float, base_current_a: float = 0.0
    ) -> bool:
        """Feed one sample-to-sample change; steps smaller than ``min_step_a`` are ignored, and so are
        steps whose smaller end (``base_current_a``, either sign) is beyond ``max_base_a``."""
        if abs(delta_current_a) < self.min_step_a or abs(base_current_a) > self.max_base_a:
            return False
        if model_r0_ohm <= 0:
            return False
        phi = model_r0_ohm * delta_current_a * self._scale
        gain = self._p * phi / (self.forgetting + phi * self._p * phi)
        self.factor += gain * (delta_voltage_v * self._scale - phi * self.factor)
        self._p = (self._p - gain * phi * self._p) / self.forgetting
        self.samples += 1
        return True

    def learned(self) -> dict[str, float]:
        return {"factor": self.factor, "variance": self._p, "samples": self.samples}

    def restore(self, learned: dict[str, float]) -> None:
        factor, variance = float(learned["factor"]), float(learned["variance"])
        if not (0.2 < factor < 10.0 and 0.0 < variance <= 1.0):
            raise ValueError(f"resistance factor {factor:g} (variance {variance:g}) is not plausible")
        self.factor, self._p, self.samples = factor, variance, int(learned["samples"])

    def soh_pct(self) -> float:
        """100 % at the characterised resistance, 80 % at double (the usual end-of-life point)."""
        return max(0.0, min(100.0, 100.0 - 20.0 * (self.factor - 1.0)))
