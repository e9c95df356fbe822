"""The committed chemistry tables load, are consistent, and name their source."""

from __future__ import annotations

import json

import numpy as np
import pytest

from smartbms.sim.params import CellParameterError, _from_dict, load_cell_parameters


@pytest.mark.parametrize("chemistry", ["LFP", "NMC", "LTO"])
def test_tables_load_and_are_monotonic(chemistry: str) -> None:
    p = load_cell_parameters(chemistry)
    assert p.chemistry == chemistry
    assert "PyBaMM" in p.source or "Chen2020" in p.source
    assert np.all(np.diff(p.ocv_v) > 0)
    for table in (p.r0_ohm_ah, p.r1_ohm_ah, p.r2_ohm_ah, p.tau1_s, p.tau2_s):
        assert table.shape == (p.temperature_c.size, p.rc_soc_pct.size)
        assert np.all(table > 0)


def test_lfp_is_flat_with_hysteresis_and_cold_is_more_resistive() -> None:
    p = load_cell_parameters("LFP")
    # Prada2013: well under 1 mV per % SOC between 40 and 70 %.
    slope = (p.ocv_at(70.0) - p.ocv_at(40.0)) / 30.0
    assert 0.0 < float(slope) < 0.002
    assert float(p.ocv_at(50.0, 1.0) - p.ocv_at(50.0, -1.0)) == pytest.approx(0.015, abs=1e-6)
    cold, warm = p.r0_ohm_ah[0], p.r0_ohm_ah[-1]
    assert np.all(cold > warm)


def test_nmc_slope_is_steeper_than_lfp() -> None:
    nmc, lfp = load_cell_parameters("NMC"), load_cell_parameters("LFP")
    assert float(nmc.ocv_at(60.0) - nmc.ocv_at(40.0)) > 5 * float(lfp.ocv_at(60.0) - lfp.ocv_at(40.0))


def test_unknown_chemistry_and_broken_table_are_clear_errors() -> None:
    with pytest.raises(CellParameterError, match="no cell parameter table"):
        load_cell_parameters("NaIon")
    from importlib import resources

    data = json.loads(resources.files("smartbms.sim.params").joinpath("lfp.json").read_text())
    del data["tau2_s"]
    with pytest.raises(CellParameterError, match="incomplete"):
        _from_dict(data)
    data = json.loads(resources.files("smartbms.sim.params").joinpath("lfp.json").read_text())
    data["ocv_v"] = data["ocv_v"][::-1]
    with pytest.raises(CellParameterError, match="increase"):
        _from_dict(data)


@pytest.mark.parametrize(
    ("chemistry", "pybamm_set", "negative"),
    [("LFP", "Prada2013", "graphite"), ("NMC", "Chen2020", "graphite"), ("LTO", "Chen2020", "lto")],
)
def test_committed_ocv_tables_are_what_the_script_derives(
    chemistry: str, pybamm_set: str, negative: str
) -> None:
    pybamm = pytest.importorskip("pybamm")
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "derive_cell_params.py"
    spec = importlib.util.spec_from_file_location("derive_cell_params", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    params = pybamm.ParameterValues(pybamm_set)
    table = load_cell_parameters(chemistry)
    assert np.allclose(module._ocv_table(params, negative=negative), table.ocv_v, atol=1e-5)
    entropic = module._entropic_table(params, chemistry.lower())
    assert table.docv_dt_v_per_k is not None and np.allclose(entropic, table.docv_dt_v_per_k, atol=1e-8)


def test_ocv_depends_on_temperature_through_the_entropic_term() -> None:
    nmc = load_cell_parameters("NMC")
    assert nmc.docv_dt_v_per_k is not None and np.any(nmc.docv_dt_v_per_k != 0.0)
    d_per_k = float(np.interp(30.0, nmc.soc_pct, nmc.docv_dt_v_per_k))
    assert float(nmc.ocv_at(30.0, temperature_c=45.0) - nmc.ocv_at(30.0)) == pytest.approx(20.0 * d_per_k)
    # Magnitudes of Li-ion entropic coefficients: well under 1 mV/K.
    for chemistry in ("LFP", "NMC", "LTO"):
        table = load_cell_parameters(chemistry).docv_dt_v_per_k
        assert table is not None and np.all(np.abs(table) < 0.001)
