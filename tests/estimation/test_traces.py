from __future__ import annotations

import io
import math

import pytest

from smartbms.estimation.errors import TraceError
from smartbms.estimation.traces import parse_trace, read_trace, write_trace


def parse(text: str):
    return parse_trace(io.StringIO(text), "t.csv")


def test_reads_columns_in_any_order_with_comments() -> None:
    trace = parse("# lab rig 3\nvoltage_v,time_s,temperature_c,current_a\n3.3,0,25,-1.5\n3.29,1,25,-1.5\n")
    assert list(trace.time_s) == [0.0, 1.0]
    assert list(trace.current_a) == [-1.5, -1.5]
    assert trace.voltage_v[1] == pytest.approx(3.29)


def test_nan_marks_a_failed_sensor_and_passes_through() -> None:
    trace = parse("time_s,current_a,voltage_v,temperature_c\n0,1,nan,25\n")
    assert math.isnan(trace.voltage_v[0])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "time,current,voltage,temperature\n0,1,3.3,25\n",
            "line 1: column 'time' has no unit; name it 'time_s'",
        ),
        (
            "time_s,current_ma,voltage_v,temperature_c\n",
            "line 1: column 'current_ma' is in an unsupported unit",
        ),
        ("0,1,3.3,25\n", "line 1: expected a header"),
        ("time_s,current_a,voltage_v\n0,1,3.3\n", "header lacks column"),
        (
            "time_s,current_a,voltage_v,temperature_c\n0,1,3.3,25\n1,x,3.3,25\n",
            "line 3: current_a is not a number",
        ),
        (
            "time_s,current_a,voltage_v,temperature_c\n0,1,3.3,25\n0,1,3.3,25\n",
            "line 3: time_s 0 does not increase",
        ),
        ("time_s,current_a,voltage_v,temperature_c\n0,1,3.3\n", "line 2: missing value for temperature_c"),
        ("time_s,current_a,voltage_v,temperature_c\n0,1,inf,25\n", "line 2: voltage_v must be finite"),
        ("", "empty file"),
        ("time_s,current_a,voltage_v,temperature_c\n", "no data rows"),
    ],
)
def test_malformed_traces_name_the_line(text: str, message: str) -> None:
    with pytest.raises(TraceError, match=message):
        parse(text)


def test_round_trip(tmp_path) -> None:
    trace = parse("time_s,current_a,voltage_v,temperature_c\n0,1,3.3,25\n1.5,-2,3.25,24.5\n")
    path = tmp_path / "x.csv"
    write_trace(trace, path)
    again = read_trace(path)
    assert list(again.time_s) == [0.0, 1.5]
    assert list(again.current_a) == [1.0, -2.0]


def test_unreadable_file(tmp_path) -> None:
    with pytest.raises(TraceError, match="cannot read trace"):
        read_trace(tmp_path / "missing.csv")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TraceError):
        read_trace(binary)
