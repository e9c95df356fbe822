from __future__ import annotations

from tests.core.helpers import pack_settings

from smartbms.core import validation
from smartbms.core.alarms import CATALOG, Family, describe
from smartbms.core.rules import build_rules


def test_every_code_the_core_raises_is_in_the_catalog() -> None:
    codes = {rule.code for rule in build_rules(pack_settings())}
    codes |= {
        validation.STALE,
        validation.MISSING,
        validation.OPEN_WIRE,
        validation.OUT_OF_RANGE,
        validation.IMPLAUSIBLE,
        "A-REMOTE-OFF",
    }
    assert codes <= set(CATALOG)


def test_codes_are_stable_and_carry_their_family() -> None:
    for code, info in CATALOG.items():
        assert info.code == code
        prefix = {Family.ERROR: "E-", Family.ALARM: "A-", Family.WARNING: "W-"}[info.family]
        assert code.startswith(prefix)
        assert info.title and info.cause and info.advice
    assert describe("A-CELL-UV").title == "Undervoltage alarm"
