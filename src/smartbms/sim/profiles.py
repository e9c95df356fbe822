"""Load and charge profiles: what the outside world asks of the pack at each moment.

A profile returns a :class:`Demand`; the plant turns it into a pack current, honouring the BMS's
switches (loads obey the load-disconnect output, chargers the charge-disconnect output, the
alternator the charge-input limit; paths that are open carry no current).
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from smartbms.errors import SmartBmsError

DAY_S = 86_400.0


class ProfileError(SmartBmsError, ValueError):
    """A profile file or profile description is invalid."""


@dataclass(frozen=True)
class ChargerDemand:
    """A CC-CV charger (mains charger or solar MPPT): bulk at the current limit, absorption, then float."""

    max_current_a: float
    absorption_v: float
    float_v: float
    # Extra limit from the power available (solar); inf = mains.
    max_power_w: float = math.inf
    absorption_time_s: float = 7200.0
    # Back to bulk when the pack falls this far below the float voltage.
    rebulk_offset_v: float = 0.8


@dataclass(frozen=True)
class Demand:
    # A lab cycler: this current (+ = charging) or power, straight through the paths.
    direct_a: float = 0.0
    direct_w: float = 0.0
    # Loads that obey the BMS load-disconnect output (inverter, DC loads).
    load_a: float = 0.0
    load_w: float = 0.0
    charger: ChargerDemand | None = None
    # Current an alternator could deliver through the BMS-limited charge input (0 = engine off).
    alternator_a: float = 0.0
    alternator_v: float = 0.0


def _with_power(charger: ChargerDemand, max_power_w: float) -> ChargerDemand:
    """``replace(charger, max_power_w=...)`` without its per-call introspection (called every step)."""
    return ChargerDemand(
        charger.max_current_a,
        charger.absorption_v,
        charger.float_v,
        max_power_w,
        charger.absorption_time_s,
        charger.rebulk_offset_v,
    )


class Profile(Protocol):
    def demand(self, t_s: float) -> Demand: ...


@dataclass(frozen=True)
class ConstantCurrent:
    """A fixed current, + = charging, - = discharging."""

    current_a: float

    def demand(self, t_s: float) -> Demand:
        return Demand(direct_a=self.current_a)


@dataclass(frozen=True)
class ConstantPower:
    """A fixed power, + = charging, - = discharging."""

    power_w: float

    def demand(self, t_s: float) -> Demand:
        return Demand(direct_w=self.power_w)


@dataclass(frozen=True)
class CcCvCharge:
    """A mains CC-CV charger, optionally with a constant load running beside it."""

    charger: ChargerDemand
    load_w: float = 0.0

    def demand(self, t_s: float) -> Demand:
        return Demand(charger=self.charger, load_w=self.load_w)


def _household_load_w(hour: float, base_w: float, scale: float) -> float:
    """Fridge and standby all day, a morning peak, cooking at noon, an evening peak."""
    peaks = (
        (7.5, 1.0, 900.0),  # breakfast: kettle, coffee
        (12.5, 0.8, 600.0),  # lunch
        (19.0, 1.8, 1400.0),  # evening: cooking, lights, TV
        (21.5, 1.2, 500.0),
    )
    load = base_w
    for centre, width_h, peak_w in peaks:
        load += peak_w * math.exp(-0.5 * ((hour - centre) / width_h) ** 2)
    return load * scale


@dataclass(frozen=True)
class SolarDay:
    """Solar MPPT charging (a clear-sky half-sine, seeded cloud dips) and a household load.

    Sizes scale with the pack: ``peak_w_per_kwh`` of array per kWh of battery (0.3 = a 4.3 kW array on
    a 14.3 kWh pack) and the load uses ``daily_load_fraction`` of the pack energy per day.
    """

    pack_energy_wh: float
    charger: ChargerDemand
    peak_w_per_kwh: float = 300.0
    sunrise_h: float = 6.5
    sunset_h: float = 19.5
    daily_load_fraction: float = 0.45
    cloudiness: float = 0.2
    seed: int = 0
    _clouds: tuple[float, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        # One cloud factor per 10 minutes for a year, fixed by the seed.
        rng = np.random.default_rng(self.seed)
        dips = 1.0 - self.cloudiness * rng.beta(0.6, 1.5, size=365 * 144)
        object.__setattr__(self, "_clouds", tuple(float(x) for x in dips))

    def solar_w(self, t_s: float) -> float:
        hour = (t_s % DAY_S) / 3600.0
        if not self.sunrise_h < hour < self.sunset_h:
            return 0.0
        phase = (hour - self.sunrise_h) / (self.sunset_h - self.sunrise_h)
        cloud = self._clouds[int(t_s // 600) % len(self._clouds)]
        return self.peak_w_per_kwh * self.pack_energy_wh / 1000.0 * math.sin(math.pi * phase) * cloud

    def load_w(self, t_s: float) -> float:
        # Shape integrates to about 24 * base + peaks; scale so the day uses the requested energy.
        base = 150.0
        shape_wh = 24 * base + math.sqrt(2 * math.pi) * (900 * 1.0 + 600 * 0.8 + 1400 * 1.8 + 500 * 1.2)
        scale = self.daily_load_fraction * self.pack_energy_wh / shape_wh
        return _household_load_w((t_s % DAY_S) / 3600.0, base, scale)

    def demand(self, t_s: float) -> Demand:
        return Demand(charger=_with_power(self.charger, self.solar_w(t_s)), load_w=self.load_w(t_s))


@dataclass(frozen=True)
class VanDay:
    """A van or boat day: drive (alternator through the charge input) morning and afternoon, fridge all day,
    an inverter load in the evening, a small solar panel on the roof."""

    pack_energy_wh: float
    charger: ChargerDemand
    alternator_a: float = 60.0
    alternator_v: float = 14.4
    drives_h: tuple[tuple[float, float], ...] = ((8.0, 10.5), (14.0, 16.0))
    fridge_w: float = 45.0
    evening_w: float = 250.0
    solar_peak_w: float = 200.0

    def demand(self, t_s: float) -> Demand:
        hour = (t_s % DAY_S) / 3600.0
        driving = any(start <= hour < end for start, end in self.drives_h)
        solar = (
            self.solar_peak_w * max(0.0, math.sin(math.pi * (hour - 7.0) / 12.0)) if 7 < hour < 19 else 0.0
        )
        load = self.fridge_w + (self.evening_w if 18.0 <= hour < 23.0 else 0.0)
        return Demand(
            charger=_with_power(self.charger, solar),
            load_w=load,
            alternator_a=self.alternator_a if driving else 0.0,
            alternator_v=self.alternator_v,
        )


@dataclass(frozen=True)
class TableProfile:
    """A time series from two columns, stepped (zero-order hold) and optionally repeated."""

    times_s: tuple[float, ...]
    values: tuple[float, ...]
    # "current_a" or "power_w"; values are multiplied by ``scale`` and follow smartbms's sign (+ = charging).
    kind: str = "current_a"
    scale: float = 1.0
    repeat: bool = True

    def __post_init__(self) -> None:
        if self.kind not in ("current_a", "power_w"):
            raise ProfileError(f"profile kind must be current_a or power_w (got {self.kind!r})")
        if len(self.times_s) < 2 or len(self.times_s) != len(self.values):
            raise ProfileError("a table profile needs at least two rows of (time, value)")
        if any(b <= a for a, b in zip(self.times_s, self.times_s[1:], strict=False)):
            raise ProfileError("profile times must increase strictly")

    @property
    def duration_s(self) -> float:
        dt = self.times_s[-1] - self.times_s[-2]
        return self.times_s[-1] - self.times_s[0] + dt

    def value_at(self, t_s: float) -> float:
        t0 = self.times_s[0]
        rel = t_s - t0
        if self.repeat:
            rel = rel % self.duration_s
        elif rel > self.duration_s:
            return 0.0
        k = int(np.searchsorted(self.times_s, t0 + rel, side="right")) - 1
        return self.values[max(k, 0)] * self.scale

    def demand(self, t_s: float) -> Demand:
        value = self.value_at(t_s)
        return Demand(direct_a=value) if self.kind == "current_a" else Demand(direct_w=value)


@dataclass
class CsvStats:
    rows: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)


def read_two_column_csv(
    path: Path, stats: CsvStats | None = None
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Rows of (time s, value); ``#`` comments and a header row are skipped, bad rows are counted."""
    stats = stats if stats is not None else CsvStats()
    times: list[float] = []
    values: list[float] = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read profile {path}: {exc}") from None
    for line_no, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or row[0].lstrip().startswith("#"):
            continue
        if len(row) < 2:
            stats.skipped += 1
            stats.problems.append(f"line {line_no}: expected two columns")
            continue
        try:
            t, v = float(row[0]), float(row[1])
        except ValueError:
            if not times:  # a header row
                continue
            stats.skipped += 1
            stats.problems.append(f"line {line_no}: not numbers: {row[:2]}")
            continue
        if not (math.isfinite(t) and math.isfinite(v)) or (times and t <= times[-1]):
            stats.skipped += 1
            stats.problems.append(f"line {line_no}: non-finite or non-increasing time")
            continue
        times.append(t)
        values.append(v)
        stats.rows += 1
    if len(times) < 2:
        raise ProfileError(f"profile {path} has fewer than two usable rows ({stats.skipped} rejected)")
    return tuple(times), tuple(values)


def csv_profile(
    path: Path,
    *,
    kind: str = "current_a",
    scale: float = 1.0,
    repeat: bool = True,
    discharge_positive: bool = False,
) -> TableProfile:
    """Any two-column CSV as a profile; ``discharge_positive`` flips files that count discharge as +."""
    times, values = read_two_column_csv(path)
    sign = -1.0 if discharge_positive else 1.0
    return TableProfile(times, values, kind=kind, scale=scale * sign, repeat=repeat)


# ../shared/data/drive_cycles next to the repository, or wherever SMARTBMS_DRIVE_CYCLES points.
DRIVE_CYCLE_DIR = Path(
    os.environ.get("SMARTBMS_DRIVE_CYCLES")
    or Path(__file__).resolve().parents[3].parent / "shared" / "data" / "drive_cycles"
)
# The drive cycles are scaled for a ~5 Ah cell (see their README); scale by capacity / this.
DRIVE_CYCLE_REFERENCE_AH = 5.0


def drive_cycle(
    name: str,
    capacity_ah: float,
    *,
    cells_series: int = 1,
    directory: Path | None = None,
    repeat: bool = True,
) -> TableProfile:
    """UDDS, US06, WLTC or car_current from the shared data folder, scaled to the cell capacity.

    Files count discharge as + (PyBaMM's convention); the profile flips them to smartbms's sign. WLTC is
    in kW for one cell; it is scaled to the pack (``cells_series`` cells) and the capacity ratio.
    """
    folder = directory or DRIVE_CYCLE_DIR
    path = folder / f"{name}.csv"
    if not path.is_file():
        raise ProfileError(f"drive cycle {name!r} not found in {folder}")
    ratio = capacity_ah / DRIVE_CYCLE_REFERENCE_AH
    if name.upper() == "WLTC":
        return csv_profile(
            path, kind="power_w", scale=1000.0 * ratio * cells_series, repeat=repeat, discharge_positive=True
        )
    return csv_profile(path, kind="current_a", scale=ratio, repeat=repeat, discharge_positive=True)


@dataclass(frozen=True)
class FunctionProfile:
    """Any function of time, for tests and notebooks."""

    fn: Callable[[float], Demand]

    def demand(self, t_s: float) -> Demand:
        return self.fn(t_s)
