from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest
from tests.drivers.fixtures import PROTOCOLS

from smartbms.drivers import registry
from smartbms.drivers.codecs.jbd import JbdProtocol


def test_builtin_protocols_are_registered() -> None:
    assert set(PROTOCOLS) <= set(registry.available())


def test_unknown_protocol_is_a_clear_error() -> None:
    with pytest.raises(registry.UnknownProtocolError, match=r"known: .*jbd"):
        registry.get_protocol("no-such-board")


class ThirdPartyJbd(JbdProtocol):
    name = "acme-jbd"
    title = "ACME board speaking JBD"


def test_third_party_driver_registers_through_the_entry_point_group(monkeypatch: pytest.MonkeyPatch) -> None:
    points = [
        EntryPoint("acme-jbd", f"{__name__}:ThirdPartyJbd", registry.ENTRY_POINT_GROUP),
        EntryPoint("jbd", "somewhere.else:Impostor", registry.ENTRY_POINT_GROUP),
    ]
    monkeypatch.setattr(registry, "entry_points", lambda group: [p for p in points if p.group == group])
    assert "acme-jbd" in registry.available()
    assert isinstance(registry.get_protocol("acme-jbd"), ThirdPartyJbd)
    assert type(registry.get_protocol("jbd")) is JbdProtocol  # a third party cannot replace a built-in
