"""The one telemetry vocabulary shared by sources, the core, links and the server.

Field names and units follow ``shared/design/telemetry.md``: units are in the names and
current is positive while charging. A field a source does not report stays ``None`` and is
left out of :meth:`Telemetry.to_dict`; nothing is invented.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class Telemetry:
    timestamp: float | None = None
    voltage_v: float | None = None
    current_a: float | None = None
    power_w: float | None = None
    soc_pct: float | None = None
    soh_pct: float | None = None
    remaining_ah: float | None = None
    capacity_ah: float | None = None
    cycles: int | None = None
    cell_voltages_v: tuple[float, ...] | None = None
    temperatures_c: tuple[float, ...] | None = None
    mosfet_temperature_c: float | None = None
    charge_enabled: bool | None = None
    discharge_enabled: bool | None = None
    balancing_cells: tuple[int, ...] | None = None
    alarms: tuple[str, ...] | None = None
    # Anything a source reports beyond the shared vocabulary (model, firmware, state...).
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The fields that are present, as JSON-ready values (lists, not tuples)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if value is None:
                continue
            out[f.name] = (
                [_json_number(v) for v in value] if isinstance(value, tuple) else _json_number(value)
            )
        out.update(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Telemetry:
        known = {f.name for f in fields(cls)} - {"extra"}
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            if key in known:
                kwargs[key] = tuple(value) if isinstance(value, list) else value
            else:
                extra[key] = value
        return cls(**kwargs, extra=extra)

    def merged(self, other: Telemetry) -> Telemetry:
        """This sample with every field ``other`` reports laid over it (multi-frame statuses)."""
        updates = {f.name: getattr(other, f.name) for f in fields(other) if f.name != "extra"}
        present = {k: v for k, v in updates.items() if v is not None}
        return replace(self, **present, extra={**self.extra, **other.extra})

    def with_power(self) -> Telemetry:
        """Fill ``power_w`` from voltage × current when the source did not report it."""
        if self.power_w is None and self.voltage_v is not None and self.current_a is not None:
            power = self.voltage_v * self.current_a
            if math.isfinite(power):
                return replace(self, power_w=power)
        return self


def _json_number(value: Any) -> Any:
    """NaN and infinities are not JSON: a value that is not known is null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


TELEMETRY_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Telemetry) if f.name != "extra")
