"""Daly 0xA5 settings over a real pseudo-terminal: 0x50 read-back; parameter writes refused unsent."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from tests.drivers.e2e.test_board_roundtrip import PLANT, pty_board, started

from smartbms.cli import main
from smartbms.errors import WriteRefusedError


def test_rated_parameters_read_back_over_pty(tmp_path: Path) -> None:
    with pty_board("daly", tmp_path) as (emu, _port, spec), contextlib.closing(started(spec)) as source:
        settings = source.read_settings()
        assert settings == pytest.approx({"capacity_ah": PLANT(0).capacity_ah, "nominal_cell_v": 3.2})
        with pytest.raises(WriteRefusedError, match="nothing was sent"):
            source.write_setting("capacity_ah", 200.0)
        with pytest.raises(WriteRefusedError, match="nothing was sent"):
            source.write_setting("cell_ov_v", 3.6)
        # The board is untouched and still answers: the refusal happened before any I/O.
        assert source.read_settings()["capacity_ah"] == pytest.approx(PLANT(0).capacity_ah)
        assert "capacity_ah" not in emu.board.state.settings
        assert source.counters().get("write_failures", 0) == 0


def test_config_show_get_and_refused_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pty_board("daly", tmp_path) as (_emu, _port, spec):
        assert main(["config", "--source", spec, "show"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown == pytest.approx({"capacity_ah": PLANT(0).capacity_ah, "nominal_cell_v": 3.2})
        assert main(["config", "--source", spec, "get", "nominal_cell_v"]) == 0
        assert json.loads(capsys.readouterr().out) == pytest.approx(3.2)
        assert main(["config", "--source", spec, "set", "capacity_ah=200"]) == 1
        assert "not publicly documented" in capsys.readouterr().err
