"""Lab and field traces as CSV: ``time_s,current_a,voltage_v,temperature_c`` (current positive = charging).

Reading is strict because a silently misread unit ruins a cell model: the header must name every
column with its unit, every row must parse, time must rise. Errors name the file and the line.
A literal ``nan`` is accepted in a value column (a sensor that failed) and passed through.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from smartbms.estimation.cell_model import FloatArray
from smartbms.estimation.errors import TraceError

COLUMNS = ("time_s", "current_a", "voltage_v", "temperature_c")
_UNITLESS = {
    "time": "time_s",
    "t": "time_s",
    "current": "current_a",
    "i": "current_a",
    "voltage": "voltage_v",
    "v": "voltage_v",
    "temperature": "temperature_c",
    "temp": "temperature_c",
}
_WRONG_UNITS = {
    "time_h": "time_s",
    "time_min": "time_s",
    "current_ma": "current_a",
    "voltage_mv": "voltage_v",
    "temperature_k": "temperature_c",
    "temperature_f": "temperature_c",
}


@dataclass(frozen=True)
class Trace:
    time_s: FloatArray
    current_a: FloatArray
    voltage_v: FloatArray
    temperature_c: FloatArray
    source: str = ""

    def __len__(self) -> int:
        return int(self.time_s.size)

    def slice(self, start: int, stop: int) -> Trace:
        return Trace(
            self.time_s[start:stop],
            self.current_a[start:stop],
            self.voltage_v[start:stop],
            self.temperature_c[start:stop],
            self.source,
        )


def read_trace(path: str | Path) -> Trace:
    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            return parse_trace(fh, str(p))
    except OSError as exc:
        raise TraceError(f"{p}: cannot read trace: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise TraceError(f"{p}: not a text CSV file ({exc.reason})") from exc


def parse_trace(fh: TextIO, origin: str = "trace") -> Trace:
    reader = csv.reader(fh)
    index: dict[str, int] | None = None
    rows: list[tuple[float, float, float, float]] = []
    last_t = -math.inf
    for line_no, row in enumerate(reader, start=1):
        if not row or all(not cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if index is None:
            index = _header_index(row, origin, line_no)
            continue
        values = []
        for name in COLUMNS:
            col = index[name]
            if col >= len(row):
                raise TraceError(
                    f"{origin}: line {line_no}: missing value for {name} (row has {len(row)} fields)"
                )
            text = row[col].strip()
            try:
                value = float(text)
            except ValueError:
                raise TraceError(f"{origin}: line {line_no}: {name} is not a number: {text!r}") from None
            if math.isinf(value) or (math.isnan(value) and name == "time_s"):
                raise TraceError(f"{origin}: line {line_no}: {name} must be finite, got {text!r}")
            values.append(value)
        if values[0] <= last_t:
            raise TraceError(
                f"{origin}: line {line_no}: time_s {values[0]:g} does not increase (previous {last_t:g})"
            )
        last_t = values[0]
        rows.append((values[0], values[1], values[2], values[3]))
    if index is None:
        raise TraceError(f"{origin}: empty file; expected a header {','.join(COLUMNS)}")
    if not rows:
        raise TraceError(f"{origin}: header but no data rows")
    data = np.asarray(rows, dtype=np.float64)
    return Trace(data[:, 0], data[:, 1], data[:, 2], data[:, 3], origin)


def _header_index(row: list[str], origin: str, line_no: int) -> dict[str, int]:
    names = [cell.strip().lower() for cell in row]
    for name in names:
        try:
            float(name)
        except ValueError:
            continue
        raise TraceError(
            f"{origin}: line {line_no}: expected a header naming the columns with units "
            f"({','.join(COLUMNS)}), found data"
        )
    for name in names:
        if name in _UNITLESS:
            raise TraceError(
                f"{origin}: line {line_no}: column {name!r} has no unit; name it {_UNITLESS[name]!r}"
            )
        if name in _WRONG_UNITS:
            raise TraceError(
                f"{origin}: line {line_no}: column {name!r} is in an unsupported unit; "
                f"convert it to {_WRONG_UNITS[name]!r}"
            )
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise TraceError(f"{origin}: line {line_no}: header lacks column(s) {', '.join(missing)}")
    return {c: names.index(c) for c in COLUMNS}


def write_trace(trace: Trace, path: str | Path) -> None:
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        fh.write(",".join(COLUMNS) + "\n")
        for t, i, v, temp in zip(
            trace.time_s, trace.current_a, trace.voltage_v, trace.temperature_c, strict=True
        ):
            fh.write(f"{t:.3f},{i:.6f},{v:.6f},{temp:.3f}\n")
