from __future__ import annotations

import pytest

from smartbms.core.settings import Settings, default_settings


@pytest.fixture
def lfp4() -> Settings:
    """A small 4S LFP 100 Ah pack: quick to simulate, same physics."""
    return default_settings(chemistry="LFP", cells_series=4, nominal_capacity_ah=100)
