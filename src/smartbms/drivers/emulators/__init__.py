"""Board emulators: answer like a real Daly, JK, JBD, Seplos or Pylontech board.

Each responder turns one request frame into the bytes the real board would send, from a
:class:`~smartbms.drivers.emulators.state.BoardState` fed by a plant (a steady pack now,
the simulator's pack later). ``server`` puts a responder on a pseudo-terminal or TCP port.
"""

from __future__ import annotations

import importlib

from smartbms.drivers.emulators.base import Responder

RESPONDERS: dict[str, str] = {
    "daly": "smartbms.drivers.emulators.daly:DalyResponder",
    "daly-modbus": "smartbms.drivers.emulators.daly_modbus:DalyModbusResponder",
    "jbd": "smartbms.drivers.emulators.jbd:JbdResponder",
    "jk-ble": "smartbms.drivers.emulators.jk_ble:JkBleResponder",
    "jk-rs485": "smartbms.drivers.emulators.jk_rs485:JkRs485Responder",
    "seplos-v3": "smartbms.drivers.emulators.seplos_v3:SeplosV3Responder",
    "pylontech-rs485": "smartbms.drivers.emulators.pylontech:PylontechResponder",
}


def responder_for(protocol: str) -> Responder:
    target = RESPONDERS.get(protocol)
    if target is None:
        raise LookupError(f"no emulator for protocol {protocol!r}")
    module, _, attr = target.partition(":")
    cls: type[Responder] = getattr(importlib.import_module(module), attr)
    return cls()
