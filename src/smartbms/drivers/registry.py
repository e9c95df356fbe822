"""Board protocols by name: the built-in ones, plus any registered by third parties.

A third-party package adds a driver by declaring an entry point in the
``smartbms.drivers`` group that points at a :class:`BoardProtocol` subclass::

    [project.entry-points."smartbms.drivers"]
    my-board = "my_package.my_board:MyBoardProtocol"

Modules are imported only when a protocol is asked for.
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points
from typing import Any

from smartbms.drivers.codecs.base import BoardProtocol
from smartbms.errors import SmartBmsError

ENTRY_POINT_GROUP = "smartbms.drivers"
log = logging.getLogger(__name__)

BUILTIN: dict[str, str] = {
    "daly": "smartbms.drivers.codecs.daly:DalyProtocol",
    "daly-modbus": "smartbms.drivers.codecs.daly_modbus:DalyModbusProtocol",
    "jbd": "smartbms.drivers.codecs.jbd:JbdProtocol",
    "jk-ble": "smartbms.drivers.codecs.jk_ble:JkBleProtocol",
    "jk-rs485": "smartbms.drivers.codecs.jk_rs485:JkRs485Protocol",
    "seplos-v3": "smartbms.drivers.codecs.seplos_v3:SeplosV3Protocol",
    "pylontech-rs485": "smartbms.drivers.codecs.pylontech:PylontechProtocol",
}


class UnknownProtocolError(SmartBmsError, LookupError):
    """No driver is registered under that name."""


def _targets() -> dict[str, str]:
    targets = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in BUILTIN and ep.value != BUILTIN[ep.name]:
            log.warning(
                "ignoring entry point %s=%s: the name is taken by a built-in driver", ep.name, ep.value
            )
            continue
        targets[ep.name] = ep.value
    return targets


def available() -> list[str]:
    """Names of every registered protocol, sorted."""
    return sorted(_targets())


def protocol_class(name: str) -> type[BoardProtocol]:
    target = _targets().get(name)
    if target is None:
        raise UnknownProtocolError(f"unknown protocol {name!r}; known: {', '.join(available())}")
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, BoardProtocol)):
        raise UnknownProtocolError(f"{target} is not a BoardProtocol subclass")
    return cls


def get_protocol(name: str, **options: Any) -> BoardProtocol:
    """An instance of the protocol ``name`` (``options`` go to its constructor, e.g. address)."""
    return protocol_class(name)(**options)
