"""The balancing strategies side by side behind one interface."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from smartbms.balancing import (
    ActiveBalancer,
    BalancingDecision,
    BalancingInput,
    NoBalancing,
    PassiveTopBalancer,
    SocBalancer,
    make_balancer,
)
from smartbms.core.settings import BalancingSettings, Settings, default_settings


@pytest.fixture
def settings() -> Settings:
    return default_settings(chemistry="LFP", cells_series=4, nominal_capacity_ah=100)


def _inp(
    volts: tuple[float, ...],
    current_a: float = 5.0,
    soc: tuple[float, ...] | None = None,
    now: float = 0.0,
    protection: bool = False,
    temps: tuple[float, ...] = (25.0,),
) -> BalancingInput:
    return BalancingInput(
        now=now,
        cell_voltages_v=volts,
        cell_soc_pct=soc,
        current_a=current_a,
        temperatures_c=temps,
        protection_active=protection,
        charge_allowed=True,
    )


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("none", NoBalancing),
        ("passive", PassiveTopBalancer),
        ("soc", SocBalancer),
        ("active", ActiveBalancer),
    ],
)
def test_make_balancer_picks_the_configured_strategy(settings: Settings, name: str, cls: type) -> None:
    balancer = make_balancer(settings.with_changes({"balancing.strategy": name}))
    assert isinstance(balancer, cls) and balancer.name == name
    assert isinstance(balancer.decide(_inp((3.45, 3.40, 3.41, 3.40))), BalancingDecision)


def test_none_never_balances(settings: Settings) -> None:
    assert NoBalancing().decide(_inp((3.6, 3.3, 3.3, 3.3))) == BalancingDecision()


def test_passive_starts_at_the_start_voltage_and_difference(settings: Settings) -> None:
    b = PassiveTopBalancer(settings.balancing)  # start 3.40 V, start Δ 10 mV, stop Δ 5 mV
    assert b.decide(_inp((3.39, 3.30, 3.30, 3.30))).bleed_cells == ()  # below the start voltage
    assert b.decide(_inp((3.405, 3.40, 3.40, 3.40))).bleed_cells == ()  # difference below start Δ
    d = b.decide(_inp((3.45, 3.40, 3.404, 3.43)))
    assert d.bleed_cells == (1, 4)  # every cell more than stop Δ above the lowest
    assert d.currents_a == ()
    # Hysteresis: keeps going under the start Δ until the stop Δ.
    assert b.decide(_inp((3.408, 3.40, 3.40, 3.401))).bleed_cells == (1,)
    assert b.decide(_inp((3.404, 3.40, 3.40, 3.401))).bleed_cells == ()


def test_passive_only_while_charging_or_resting(settings: Settings) -> None:
    b = PassiveTopBalancer(settings.balancing)  # rest up to 1 A of discharge
    volts = (3.45, 3.40, 3.40, 3.40)
    assert b.decide(_inp(volts, current_a=0.0)).bleed_cells == (1,)
    assert b.decide(_inp(volts, current_a=-0.5)).bleed_cells == (1,)
    assert b.decide(_inp(volts, current_a=-20.0)).bleed_cells == ()


def test_every_strategy_stops_on_a_protection_alarm_and_on_bad_readings(settings: Settings) -> None:
    soc = (60.0, 50.0, 50.0, 50.0)
    volts = (3.45, 3.40, 3.40, 3.40)
    for name in ("passive", "soc", "active"):
        b = make_balancer(settings.with_changes({"balancing.strategy": name}))
        assert b.decide(_inp(volts, soc=soc)) != BalancingDecision(), name
        assert b.decide(_inp(volts, soc=soc, protection=True)) == BalancingDecision(), name
        assert b.decide(_inp((3.45, math.nan, 3.40, 3.40), soc=soc)) == BalancingDecision(), name


def test_bleed_resistor_thermal_limit_rests_a_hot_resistor(settings: Settings) -> None:
    # 10 Ω at 3.45 V = 1.2 W; 50 K/W -> 60 K rise over a 25 °C board: above the 80 °C limit.
    cfg = settings.balancing.model_copy(
        update={"bleed_resistance_ohm": 10.0, "bleed_thermal_resistance_k_per_w": 50.0}
    )
    b = PassiveTopBalancer(cfg)
    volts = (3.45, 3.40, 3.40, 3.40)
    on = [bool(b.decide(_inp(volts, now=float(t))).bleed_cells) for t in range(0, 1200, 5)]
    assert on[0] and not all(on)  # switched off on the way
    first_off = on.index(False)
    assert any(on[first_off:])  # and back on after cooling
    temps = b.selector.guard.temperature_c
    assert temps is not None and max(temps) < cfg.max_resistor_temperature_c + 3.0


def test_max_bleed_cells_limits_the_heat(settings: Settings) -> None:
    cfg = settings.balancing.model_copy(update={"max_bleed_cells": 2})
    d = PassiveTopBalancer(cfg).decide(_inp((3.50, 3.48, 3.46, 3.40)))
    assert d.bleed_cells == (1, 2)  # the two highest


def test_soc_based_balances_on_the_flat_curve(settings: Settings) -> None:
    b = SocBalancer(settings.balancing)  # start 1 %, stop 0.3 %
    volts = (3.30, 3.30, 3.30, 3.30)  # mid-SOC LFP: voltages say nothing
    d = b.decide(_inp(volts, current_a=-30.0, soc=(55.0, 50.0, 51.0, 50.2)))
    assert d.bleed_cells == (1, 3)
    assert b.decide(_inp(volts, soc=(50.2, 50.0, 50.1, 50.0))).bleed_cells == ()
    # Without an estimate it behaves like passive top balancing.
    assert b.decide(_inp((3.45, 3.40, 3.40, 3.40), soc=None)).bleed_cells == (1,)


def test_active_moves_charge_from_high_to_low(settings: Settings) -> None:
    b = ActiveBalancer(settings.balancing.model_copy(update={"active_transfer_current_a": 2.0}))
    d = b.decide(_inp((3.30,) * 4, current_a=-50.0, soc=(52.0, 48.0, 50.0, 50.0)))
    assert d.bleed_cells == ()
    assert d.currents_a == (-2.0, 2.0, 0.0, 0.0)
    assert sum(d.currents_a) == 0.0
    # Voltage mode needs the start voltage (flat curve otherwise).
    b2 = ActiveBalancer(settings.balancing)
    assert b2.decide(_inp((3.32, 3.30, 3.30, 3.30))).currents_a == ()
    assert b2.decide(_inp((3.45, 3.40, 3.42, 3.43))).currents_a == (-1.0, 1.0, 0.0, 0.0)


def test_pairs_scale_with_the_cell_count() -> None:
    cfg = default_settings(cells_series=16).balancing
    soc = tuple(50.0 + i for i in range(16))
    d = ActiveBalancer(cfg).decide(_inp((3.3,) * 16, soc=soc))
    assert sum(1 for c in d.currents_a if c < 0) == 2 and sum(1 for c in d.currents_a if c > 0) == 2


def test_new_settings_have_ranges() -> None:
    fields = BalancingSettings.model_fields
    for name in (
        "soc_start_delta_pct",
        "soc_stop_delta_pct",
        "bleed_thermal_resistance_k_per_w",
        "bleed_thermal_time_constant_s",
        "max_bleed_cells",
    ):
        assert fields[name].metadata, name
    from smartbms.errors import SettingsError

    with pytest.raises(SettingsError, match="soc_start_delta_pct"):
        default_settings().with_changes({"balancing.soc_start_delta_pct": 0.0})
    assert replace(_inp((3.3,)), now=1.0).now == 1.0
