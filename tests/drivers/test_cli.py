"""The driver commands through the real ``smartbms`` entry point."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.drivers.fixtures import all_captures

from smartbms.cli import main
from smartbms.telemetry import TELEMETRY_FIELDS

JBD_BASIC = "dd03001d0618fee101f201f4002a2c7c00000000000080640304030b8b0b8a0b84f88477"
JBD_CELLS = "DD 04 00 08 0D 66 0D 61 0D 68 0D 59 FE 3C 77"


def test_decode_prints_one_json_object_with_telemetry_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "--protocol", "jbd", JBD_BASIC, JBD_CELLS]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["voltage_v"] == 15.6 and out["current_a"] == -2.87 and out["cycles"] == 42
    assert out["cell_voltages_v"] == [3.43, 3.425, 3.432, 3.417]
    assert {"voltage_v", "current_a", "soc_pct", "cell_voltages_v", "temperatures_c"} <= set(out) & set(
        TELEMETRY_FIELDS
    )


@pytest.mark.parametrize("capture", all_captures(), ids=lambda c: c.id)
def test_decode_every_capture_from_the_command_line(capture, capsys: pytest.CaptureFixture[str]) -> None:
    frames = [f.decode() if f[:1] == b"~" else f.hex() for f in capture.frames]
    extra = ["--address", str(capture.options["address"])] if capture.options else []
    assert main(["decode", "--protocol", capture.protocol, *extra, *frames]) == 0
    assert json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (JBD_BASIC[:-6] + "000077", "checksum"),
        (JBD_BASIC[:-10], "truncated"),
        ("00" + JBD_BASIC[2:], "start"),
        (JBD_BASIC + "77", "announces"),
        ("zz", "not a hex frame"),
    ],
)
def test_decode_corrupt_frame_exits_non_zero_saying_why(
    frame: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["decode", "--protocol", "jbd", frame]) == 1
    err = capsys.readouterr().err
    assert "frame 1" in err or "not a hex frame" in err
    assert re.search(problem, err), err


def test_emulate_monitor_and_control_as_separate_processes(tmp_path: Path) -> None:
    link = tmp_path / "jbd-tty"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    smartbms = [sys.executable, "-m", "smartbms"]
    emulate = ["emulate", "--protocol", "jbd", "--port", str(link), "--cells", "8", "--duration", "30"]
    emulator = subprocess.Popen([*smartbms, *emulate], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert emulator.stdout is not None and "emulating jbd" in emulator.stdout.readline()
        spec = f"jbd:serial:{link}"
        monitor = ["monitor", "--source", spec, "--interval", "0.1", "--count", "3", "--json"]
        mon = subprocess.run([*smartbms, *monitor], capture_output=True, text=True, timeout=60, env=env)
        lines = [json.loads(line) for line in mon.stdout.splitlines() if line.startswith("{")]
        assert mon.returncode == 0 and len(lines) == 3 and len(lines[0]["cell_voltages_v"]) == 8
        control = ["control", "--source", spec, "discharge", "off"]
        ctl = subprocess.run([*smartbms, *control], capture_output=True, text=True, timeout=60, env=env)
        assert ctl.returncode == 0, ctl.stderr
        assert json.loads(ctl.stdout)["discharge_enabled"] is False
    finally:
        emulator.terminate()
        emulator.wait(10)


def test_config_with_source_reads_and_writes_board_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.drivers.e2e.test_board_roundtrip import pty_board

    with pty_board("jk-rs485", tmp_path) as (emu, _port, spec):
        assert main(["config", "--source", spec, "set", "cell_ov_v=3.58", "charge_oc_a=40"]) == 0
        written = json.loads(capsys.readouterr().out)
        assert written["cell_ov_v"] == 3.58 and written["charge_oc_a"] == 40
        assert emu.board.state.settings["cell_ov_v"] == pytest.approx(3.58)
        assert main(["config", "--source", spec, "get", "cell_ov_v"]) == 0
        assert json.loads(capsys.readouterr().out) == 3.58
        assert main(["config", "--source", spec, "set", "cell_ov_v=5.2"]) == 1  # outside 1000-4500 mV
        assert "outside the board's range" in capsys.readouterr().err
        assert emu.board.state.settings["cell_ov_v"] == pytest.approx(3.58)
