"""Seplos V3 SPA settings over a real pseudo-terminal: read, 0x10 write with read-back, refusals."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from tests.drivers.e2e.test_board_roundtrip import PLANT, pty_board, started

from smartbms.cli import main
from smartbms.drivers.codecs import modbus
from smartbms.drivers.codecs.base import Frame
from smartbms.drivers.emulators.seplos_v3 import SeplosV3Responder
from smartbms.drivers.emulators.state import BoardState
from smartbms.errors import WriteRefusedError

DEFAULTS = SeplosV3Responder.default_settings
CELLS = len(PLANT(0).cell_voltages_v or ())


def test_settings_read_write_and_refusal_over_pty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with (
        pty_board("seplos-v3", tmp_path) as (emu, _port, spec),
        contextlib.closing(started(spec)) as source,
    ):
        seen: list[int] = []
        real = emu.board.responder.respond

        def recording(request: Frame, state: BoardState) -> list[bytes]:
            seen.append(request.kind)
            return real(request, state)

        monkeypatch.setattr(emu.board.responder, "respond", recording)
        settings = source.read_settings()
        assert settings == pytest.approx({**DEFAULTS, "cell_count": CELLS, "temperature_sensor_count": 4})

        for key, value in (("cell_ov_v", 3.58), ("discharge_oc_a", 120.0), ("charge_ut_c", -5.0)):
            source.write_setting(key, value)
            assert emu.board.state.settings[key] == pytest.approx(value)
            assert source.read_settings()[key] == pytest.approx(value)

        assert seen.count(modbus.WRITE_MULTIPLE) == 3
        with pytest.raises(WriteRefusedError, match="nothing was sent"):
            source.write_setting("cell_ov_v", 9.9)  # outside the range: refused before any I/O
        with pytest.raises(WriteRefusedError, match="unknown setting"):
            source.write_setting("cell_count", 16)  # read, not writable
        assert seen.count(modbus.WRITE_MULTIPLE) == 3  # the refused writes never reached the board
        assert emu.board.state.settings["cell_ov_v"] == pytest.approx(3.58)
        assert source.counters().get("write_failures", 0) == 0
        assert source.can_switch_fets is True  # SCA FET commands (test_board_roundtrip.py)


def test_a_write_the_board_does_not_keep_fails_its_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        pty_board("seplos-v3", tmp_path) as (emu, _port, spec),
        contextlib.closing(started(spec)) as source,
    ):
        real = emu.board.responder.respond

        def forgetful(request: Frame, state: BoardState) -> list[bytes]:
            saved = dict(state.settings)
            out = real(request, state)
            state.settings.clear()
            state.settings.update(saved)  # acknowledges the write, then keeps the old value
            return out

        monkeypatch.setattr(emu.board.responder, "respond", forgetful)
        with pytest.raises(WriteRefusedError, match="reads back"):
            source.write_setting("cell_uv_v", 2.6)
        assert source.counters()["write_failures"] == 1


def test_config_show_get_and_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pty_board("seplos-v3", tmp_path) as (emu, _port, spec):
        assert main(["config", "--source", spec, "show"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["cell_ov_v"] == pytest.approx(DEFAULTS["cell_ov_v"]) and shown["cell_count"] == CELLS
        assert main(["config", "--source", spec, "set", "pack_ov_v=28.8", "charge_oc_a=60"]) == 0
        written = json.loads(capsys.readouterr().out)
        assert written["pack_ov_v"] == pytest.approx(28.8) and written["charge_oc_a"] == 60
        assert main(["config", "--source", spec, "get", "pack_ov_v"]) == 0
        assert json.loads(capsys.readouterr().out) == pytest.approx(28.8)
        assert main(["config", "--source", spec, "set", "pack_ov_v=90"]) == 1  # outside 16-72 V
        assert "outside the board's range" in capsys.readouterr().err
        assert emu.board.state.settings["pack_ov_v"] == pytest.approx(28.8)
