"""Seplos V3 FET commands over a real pseudo-terminal: a switch the board does not carry out fails."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from tests.drivers.e2e.test_board_roundtrip import pty_board, started

from smartbms.drivers.codecs import modbus, seplos_v3
from smartbms.drivers.codecs.base import Frame
from smartbms.drivers.emulators.state import BoardState
from smartbms.errors import WriteRefusedError


def test_an_acknowledged_switch_the_board_does_not_make_fails_its_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real board answers "discharge on" (0x1510 = 0xAA55) and still keeps the FET off while one
    # of its protections holds it: only the PIC read-back (TB07) tells.
    with (
        pty_board("seplos-v3", tmp_path) as (emu, _port, spec),
        contextlib.closing(started(spec)) as source,
    ):
        source.set_discharge(False)
        real = emu.board.responder.respond

        def held_off(request: Frame, state: BoardState) -> list[bytes]:
            out = real(request, state)
            state.discharge_enabled = False
            return out

        monkeypatch.setattr(emu.board.responder, "respond", held_off)
        with pytest.raises(WriteRefusedError, match="read-back disagrees"):
            source.set_discharge(True)
        assert source.latest().discharge_enabled is False
        assert source.counters()["write_failures"] == 1


def test_a_refused_command_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with (
        pty_board("seplos-v3", tmp_path) as (emu, _port, spec),
        contextlib.closing(started(spec)) as source,
    ):
        real = emu.board.responder.respond

        def refusing(request: Frame, state: BoardState) -> list[bytes]:
            if (
                request.kind == modbus.WRITE_MULTIPLE
                and request.meta.get("start") == seplos_v3.SCA_CHARGE_FET_OFF
            ):
                return [modbus.exception_response(request.address, request.kind, 0x04)]
            return real(request, state)

        monkeypatch.setattr(emu.board.responder, "respond", refusing)
        with pytest.raises(WriteRefusedError):
            source.set_charge(False)
        assert emu.board.state.charge_enabled is True
