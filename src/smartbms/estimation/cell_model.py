"""Equivalent-circuit cell model: OCV with hysteresis, R0 + one or two RC pairs, vs SOC and temperature.

R0 and R1 may differ between charge and discharge, and R0 may fall with the current (Butler-Volmer
shape); both are optional, and older files without them behave as before.

The model is what the estimators believe about one cell (or one parallel group). It is stored
as JSON (``smartbms characterize`` writes it) and scaled to the pack's capacity at run time:
resistances scale with 1/capacity, time constants do not.

SOC inside the model is a fraction 0..1 of the cell's usable capacity between its voltage limits.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from smartbms.estimation.errors import CellModelError

FORMAT = "smartbms.cell_model/1"
CHEMISTRIES = ("LFP", "NMC", "LTO")
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.intp]


@dataclass(frozen=True, eq=False)
class CellModel:
    """One cell's OCV, hysteresis, resistance and RC tables; immutable, vectorised lookups."""

    name: str
    chemistry: str
    capacity_ah: float
    voltage_min_v: float
    voltage_max_v: float
    soc_grid: FloatArray  # fractions 0..1, strictly increasing
    ocv_charge_v: FloatArray  # OCV approached from below (after charging)
    ocv_discharge_v: FloatArray  # OCV approached from above (after discharging)
    temperatures_c: FloatArray  # strictly increasing
    r0_ohm: FloatArray  # shape (n_temperatures, n_soc)
    r1_ohm: FloatArray
    tau1_s: FloatArray
    # Optional slow RC pair (diffusion); None means a one-RC model.
    r2_ohm: FloatArray | None = None
    tau2_s: FloatArray | None = None
    # Optional direction-dependent R0 and R1 (from charge and discharge pulses fitted apart); None means
    # one table serves both directions. r0_ohm / r1_ohm then hold the mean of the two sides, so a reader
    # that ignores direction gets what older models gave it.
    r0_charge_ohm: FloatArray | None = None
    r0_discharge_ohm: FloatArray | None = None
    r1_charge_ohm: FloatArray | None = None
    r1_discharge_ohm: FloatArray | None = None
    # Optional direction-dependent slow pair (from long charge and long discharge steps fitted apart); None
    # means the slow pair serves both directions. r2_ohm / tau2_s then hold the mean of the two sides.
    r2_charge_ohm: FloatArray | None = None
    r2_discharge_ohm: FloatArray | None = None
    tau2_charge_s: FloatArray | None = None
    tau2_discharge_s: FloatArray | None = None
    # Optional current dependence of R0 (from pulses at several currents), one value per temperature:
    # R0(I) = R0_table * h(|I|) / h(1C) with h(I) = s + (1 - s) * asinh(I / I0) / (I / I0), the
    # charge-transfer (Butler-Volmer) overpotential over its current plus an ohmic share s. The R0
    # tables then hold R0 at 1C. None means R0 does not depend on the current.
    r0_linear_share: FloatArray | None = None  # s, 0..1
    r0_exchange_c: FloatArray | None = None  # I0 as a C-rate (A per Ah of capacity)
    # How fast hysteresis swings from one branch to the other, per unit of charge moved
    # (1/fraction of capacity): 20 means ~5 % SOC of throughput to cross most of the way.
    hysteresis_rate: float = 20.0
    source: str = ""
    _derived: dict[str, FloatArray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._validate()
        mid = 0.5 * (self.ocv_charge_v + self.ocv_discharge_v)
        half = 0.5 * (self.ocv_charge_v - self.ocv_discharge_v)
        # A fine grid makes the slope lookup smooth and the inverse cheap.
        fine = np.linspace(0.0, 1.0, 401)
        mid_f = np.interp(fine, self.soc_grid, mid)
        half_f = np.interp(fine, self.soc_grid, half)
        slope_f = np.gradient(mid_f, fine)
        # Energy per Ah from empty up to each SOC, for Wh remaining.
        energy_f = np.concatenate(([0.0], np.cumsum(0.5 * (mid_f[1:] + mid_f[:-1]) * np.diff(fine))))
        self._derived.update(fine=fine, mid=mid_f, half=half_f, slope=slope_f, energy=energy_f)

    def _validate(self) -> None:
        if self.chemistry not in CHEMISTRIES:
            raise CellModelError(f"chemistry must be one of {CHEMISTRIES}, got {self.chemistry!r}")
        if not (self.capacity_ah > 0 and math.isfinite(self.capacity_ah)):
            raise CellModelError(f"capacity_ah must be positive, got {self.capacity_ah}")
        if not self.voltage_min_v < self.voltage_max_v:
            raise CellModelError("voltage_min_v must be below voltage_max_v")
        n = len(self.soc_grid)
        if n < 3 or np.any(np.diff(self.soc_grid) <= 0):
            raise CellModelError("soc_pct must have at least 3 strictly increasing points")
        if self.soc_grid[0] > 0.0 + 1e-9 or self.soc_grid[-1] < 1.0 - 1e-9:
            raise CellModelError("soc_pct must span 0 to 100")
        for label, arr in (("ocv_charge_v", self.ocv_charge_v), ("ocv_discharge_v", self.ocv_discharge_v)):
            if arr.shape != (n,) or not np.all(np.isfinite(arr)):
                raise CellModelError(f"{label} must have one finite value per soc_pct point")
        if np.any(self.ocv_charge_v < self.ocv_discharge_v - 1e-6):
            raise CellModelError("ocv_charge_v must not lie below ocv_discharge_v")
        if np.any(np.diff(0.5 * (self.ocv_charge_v + self.ocv_discharge_v)) <= 0):
            raise CellModelError("the mean OCV curve must rise strictly with SOC")
        nt = len(self.temperatures_c)
        if nt < 1 or np.any(np.diff(self.temperatures_c) <= 0):
            raise CellModelError("temperatures_c must be strictly increasing")
        tables = [("r0_ohm", self.r0_ohm), ("r1_ohm", self.r1_ohm), ("tau1_s", self.tau1_s)]
        if (self.r2_ohm is None) != (self.tau2_s is None):
            raise CellModelError("r2_ohm and tau2_s come together or not at all")
        if self.r2_ohm is not None and self.tau2_s is not None:
            tables += [("r2_ohm", self.r2_ohm), ("tau2_s", self.tau2_s)]
        sided = self._sided_tables()
        if any(arr is None for arr in sided.values()) and any(arr is not None for arr in sided.values()):
            raise CellModelError(f"{', '.join(sided)} come together or not at all")
        tables += [(label, arr) for label, arr in sided.items() if arr is not None]
        sided_slow = self._sided_slow_tables()
        if any(arr is not None for arr in sided_slow.values()):
            if any(arr is None for arr in sided_slow.values()):
                raise CellModelError(f"{', '.join(sided_slow)} come together or not at all")
            if self.r2_ohm is None:
                raise CellModelError(f"{', '.join(sided_slow)} need r2_ohm and tau2_s")
        tables += [(label, arr) for label, arr in sided_slow.items() if arr is not None]
        for label, arr in tables:
            if arr.shape != (nt, n):
                raise CellModelError(f"{label} must be a table of {nt} temperatures x {n} SOC points")
            if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
                raise CellModelError(f"{label} values must be positive and finite")
        if (self.r0_linear_share is None) != (self.r0_exchange_c is None):
            raise CellModelError("r0_linear_share and r0_exchange_c come together or not at all")
        if self.r0_linear_share is not None and self.r0_exchange_c is not None:
            vectors = (("r0_linear_share", self.r0_linear_share), ("r0_exchange_c", self.r0_exchange_c))
            for label, vec in vectors:
                if vec.shape != (nt,) or not np.all(np.isfinite(vec)):
                    raise CellModelError(f"{label} must have one finite value per temperature")
            if np.any(self.r0_linear_share < 0) or np.any(self.r0_linear_share > 1):
                raise CellModelError("r0_linear_share values must lie between 0 and 1")
            if np.any(self.r0_exchange_c <= 0):
                raise CellModelError("r0_exchange_c values must be positive")
        if not self.hysteresis_rate > 0:
            raise CellModelError("hysteresis_rate must be positive")

    def _sided_tables(self) -> dict[str, FloatArray | None]:
        return {
            "r0_charge_ohm": self.r0_charge_ohm,
            "r0_discharge_ohm": self.r0_discharge_ohm,
            "r1_charge_ohm": self.r1_charge_ohm,
            "r1_discharge_ohm": self.r1_discharge_ohm,
        }

    def _sided_slow_tables(self) -> dict[str, FloatArray | None]:
        return {
            "r2_charge_ohm": self.r2_charge_ohm,
            "r2_discharge_ohm": self.r2_discharge_ohm,
            "tau2_charge_s": self.tau2_charge_s,
            "tau2_discharge_s": self.tau2_discharge_s,
        }

    # --- lookups (soc in fractions; arrays in, arrays out) ---------------------------------------

    def ocv(self, soc: FloatArray | float, hysteresis: FloatArray | float = 0.0) -> FloatArray:
        """OCV at ``soc`` with hysteresis state -1 (discharge branch) .. +1 (charge branch)."""
        d = self._derived
        mid = np.interp(soc, d["fine"], d["mid"])
        return np.asarray(
            mid + np.asarray(hysteresis) * np.interp(soc, d["fine"], d["half"]), dtype=np.float64
        )

    def ocv_slope(self, soc: FloatArray | float) -> FloatArray:
        """dOCV/dSOC of the mean curve in volts per unit SOC."""
        d = self._derived
        return np.asarray(np.interp(soc, d["fine"], d["slope"]), dtype=np.float64)

    def soc_from_ocv(self, voltage_v: FloatArray | float, hysteresis: float = 0.0) -> FloatArray:
        """Invert the OCV curve of one hysteresis state; clamps outside the model's range."""
        d = self._derived
        curve = d["mid"] + hysteresis * d["half"]
        curve = np.maximum.accumulate(curve + np.arange(curve.size) * 1e-9)
        return np.asarray(np.interp(voltage_v, curve, d["fine"]), dtype=np.float64)

    def energy_per_ah(self, soc: FloatArray | float) -> FloatArray:
        """Wh per Ah of capacity stored from empty up to ``soc`` (area under the OCV curve)."""
        d = self._derived
        return np.asarray(np.interp(soc, d["fine"], d["energy"]), dtype=np.float64)

    @property
    def has_second_rc(self) -> bool:
        return self.r2_ohm is not None

    @property
    def has_directional_resistance(self) -> bool:
        """Whether any resistance or time constant depends on the current's direction."""
        return self.r0_charge_ohm is not None or self.has_sided_slow_pair

    @property
    def has_sided_slow_pair(self) -> bool:
        """Whether the slow pair has a charge and a discharge side (see rc_tables_at)."""
        return self.r2_charge_ohm is not None

    @property
    def has_current_dependence(self) -> bool:
        return self.r0_exchange_c is not None

    def r0_current_params_at(self, temperature_c: float) -> tuple[float, float] | None:
        """(ohmic share s, I0 as a C-rate) at one temperature (clamped; I0 interpolated in log), or None."""
        if self.r0_linear_share is None or self.r0_exchange_c is None:
            return None
        t = self.temperatures_c
        share = float(np.interp(temperature_c, t, self.r0_linear_share))
        i0 = float(np.exp(np.interp(temperature_c, t, np.log(self.r0_exchange_c))))
        return share, i0

    def r0_current_factor(self, temperature_c: float, current_c: FloatArray | float) -> FloatArray:
        """R0 at |current| (a C-rate) over the tabled R0 (at 1C); all ones without a current dependence."""
        params = self.r0_current_params_at(temperature_c)
        c = np.abs(np.asarray(current_c, dtype=np.float64))
        if params is None:
            return np.ones_like(c)
        share, i0 = params
        return np.asarray(
            butler_volmer_shape(c / i0, share) / butler_volmer_shape(np.asarray(1.0 / i0), share),
            dtype=np.float64,
        )

    def rc_tables_at(self, temperature_c: float, direction: int = 0) -> tuple[FloatArray, ...]:
        """R0, R1, tau1, R2, tau2 on the SOC grid, interpolated (clamped) at one temperature.

        ``direction`` > 0 gives the charge side's R0, R1, R2 and tau2, < 0 the discharge side's, 0 the
        mean of both; a model without directional tables gives the same for all three. Without a second
        RC pair, R2 is zero (tau2 then does not matter).
        """
        r2 = self.r2_ohm if self.r2_ohm is not None else np.full_like(self.r0_ohm, 1e-12)
        tau2 = self.tau2_s if self.tau2_s is not None else np.full_like(self.r0_ohm, 1000.0)
        r0, r1 = self.r0_ohm, self.r1_ohm
        if direction > 0 and self.r0_charge_ohm is not None and self.r1_charge_ohm is not None:
            r0, r1 = self.r0_charge_ohm, self.r1_charge_ohm
        elif direction < 0 and self.r0_discharge_ohm is not None and self.r1_discharge_ohm is not None:
            r0, r1 = self.r0_discharge_ohm, self.r1_discharge_ohm
        if direction > 0 and self.r2_charge_ohm is not None and self.tau2_charge_s is not None:
            r2, tau2 = self.r2_charge_ohm, self.tau2_charge_s
        elif direction < 0 and self.r2_discharge_ohm is not None and self.tau2_discharge_s is not None:
            r2, tau2 = self.r2_discharge_ohm, self.tau2_discharge_s
        arrays = (r0, r1, self.tau1_s, r2, tau2)
        t = self.temperatures_c
        if t.size == 1 or temperature_c <= t[0]:
            return tuple(a[0] for a in arrays)
        if temperature_c >= t[-1]:
            return tuple(a[-1] for a in arrays)
        j = int(np.searchsorted(t, temperature_c)) - 1
        w = (temperature_c - t[j]) / (t[j + 1] - t[j])
        # Resistances vary roughly exponentially with temperature: interpolate their logarithms.
        return tuple(np.exp((1 - w) * np.log(a[j]) + w * np.log(a[j + 1])) for a in arrays)

    # --- persistence ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        def rounded(arr: FloatArray, digits: int) -> Any:
            return np.round(arr, digits).tolist()

        return {
            "format": FORMAT,
            "name": self.name,
            "chemistry": self.chemistry,
            "source": self.source,
            "capacity_ah": round(self.capacity_ah, 5),
            "voltage_min_v": self.voltage_min_v,
            "voltage_max_v": self.voltage_max_v,
            "hysteresis_rate": round(self.hysteresis_rate, 4),
            "soc_pct": rounded(self.soc_grid * 100.0, 3),
            "ocv_charge_v": rounded(self.ocv_charge_v, 5),
            "ocv_discharge_v": rounded(self.ocv_discharge_v, 5),
            "temperatures_c": rounded(self.temperatures_c, 2),
            "r0_ohm": rounded(self.r0_ohm, 7),
            "r1_ohm": rounded(self.r1_ohm, 7),
            "tau1_s": rounded(self.tau1_s, 3),
            **(
                {"r2_ohm": rounded(self.r2_ohm, 7), "tau2_s": rounded(self.tau2_s, 2)}
                if self.r2_ohm is not None and self.tau2_s is not None
                else {}
            ),
            **{label: rounded(arr, 7) for label, arr in self._sided_tables().items() if arr is not None},
            **{
                label: rounded(arr, 2 if label.startswith("tau") else 7)
                for label, arr in self._sided_slow_tables().items()
                if arr is not None
            },
            **(
                {
                    "r0_linear_share": rounded(self.r0_linear_share, 4),
                    "r0_exchange_c": rounded(self.r0_exchange_c, 5),
                }
                if self.r0_linear_share is not None and self.r0_exchange_c is not None
                else {}
            ),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, origin: str = "cell model") -> CellModel:
        if not isinstance(data, dict):
            raise CellModelError(f"{origin}: expected a JSON object")
        if data.get("format") != FORMAT:
            raise CellModelError(f"{origin}: 'format' must be {FORMAT!r}, got {data.get('format')!r}")
        try:

            def arr(key: str) -> FloatArray:
                return np.asarray(data[key], dtype=np.float64)

            def opt(key: str) -> FloatArray | None:
                return np.atleast_2d(arr(key)) if key in data else None

            return cls(
                name=str(data.get("name", "")),
                chemistry=str(data["chemistry"]).upper(),
                capacity_ah=float(data["capacity_ah"]),
                voltage_min_v=float(data["voltage_min_v"]),
                voltage_max_v=float(data["voltage_max_v"]),
                soc_grid=arr("soc_pct") / 100.0,
                ocv_charge_v=arr("ocv_charge_v"),
                ocv_discharge_v=arr("ocv_discharge_v"),
                temperatures_c=arr("temperatures_c"),
                r0_ohm=np.atleast_2d(arr("r0_ohm")),
                r1_ohm=np.atleast_2d(arr("r1_ohm")),
                tau1_s=np.atleast_2d(arr("tau1_s")),
                r2_ohm=np.atleast_2d(arr("r2_ohm")) if "r2_ohm" in data else None,
                tau2_s=np.atleast_2d(arr("tau2_s")) if "tau2_s" in data else None,
                r0_charge_ohm=opt("r0_charge_ohm"),
                r0_discharge_ohm=opt("r0_discharge_ohm"),
                r1_charge_ohm=opt("r1_charge_ohm"),
                r1_discharge_ohm=opt("r1_discharge_ohm"),
                r2_charge_ohm=opt("r2_charge_ohm"),
                r2_discharge_ohm=opt("r2_discharge_ohm"),
                tau2_charge_s=opt("tau2_charge_s"),
                tau2_discharge_s=opt("tau2_discharge_s"),
                r0_linear_share=np.atleast_1d(arr("r0_linear_share")) if "r0_linear_share" in data else None,
                r0_exchange_c=np.atleast_1d(arr("r0_exchange_c")) if "r0_exchange_c" in data else None,
                hysteresis_rate=float(data.get("hysteresis_rate", 20.0)),
                source=str(data.get("source", "")),
            )
        except KeyError as exc:
            raise CellModelError(f"{origin}: missing key {exc.args[0]!r}") from exc
        except (TypeError, ValueError) as exc:
            raise CellModelError(f"{origin}: {exc}") from exc

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")


def butler_volmer_shape(x: FloatArray, share: FloatArray | float) -> FloatArray:
    """s + (1 - s) * asinh(x) / x (1 at x = 0): R0 at current x * I0 over its low-current limit."""
    x = np.asarray(x, dtype=np.float64)
    safe = np.maximum(x, 1e-12)
    ratio = np.where(x > 1e-6, np.arcsinh(safe) / safe, 1.0 - safe * safe / 6.0)
    return np.asarray(share + (1.0 - np.asarray(share)) * ratio, dtype=np.float64)


def load_cell_model(path: str | Path) -> CellModel:
    """Read a cell model JSON file, with a clear error naming the file on any fault."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise CellModelError(f"{p}: cannot read cell model: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CellModelError(f"{p}: not valid JSON (line {exc.lineno}): {exc.msg}") from exc
    return CellModel.from_dict(data, origin=str(p))


def shipped_model(chemistry: str) -> CellModel:
    """The cell model shipped for a chemistry ("LFP", "NMC" or "LTO")."""
    key = str(chemistry).upper()
    if key not in CHEMISTRIES:
        raise CellModelError(f"no shipped cell model for chemistry {chemistry!r}; choose from {CHEMISTRIES}")
    text = resources.files("smartbms.estimation.models").joinpath(f"{key.lower()}.json").read_text("utf-8")
    return CellModel.from_dict(json.loads(text), origin=f"shipped {key} model")
