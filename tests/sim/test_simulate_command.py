"""`smartbms simulate`: scenario file or flags -> trace (CSV/Parquet), summary, plot."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from smartbms.cli import main

SCENARIO = """
[scenario]
duration_s = 7200
tick_s = 10
profile = "constant_current:-40"
seed = 2
initial_soc_pct = 80
record_every_s = 60
estimator = false
[scenario.variation]
initial_soc_spread_pct = 4.0
[[scenario.faults]]
kind = "open_sense_wire"
cell = 2
at_s = 3600
[settings.pack]
cells_series = 4
nominal_capacity_ah = 100
"""


def test_scenario_file_to_csv_summary_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    out, summary, plot = tmp_path / "trace.csv", tmp_path / "summary.json", tmp_path / "plot.png"
    assert (
        main(["simulate", str(scenario), "--out", str(out), "--summary", str(summary), "--plot", str(plot)])
        == 0
    )
    printed = json.loads(capsys.readouterr().out)
    data = json.loads(summary.read_text())
    assert printed == data
    assert data["ticks"] == 721 and data["discharged_ah"] > 30.0
    assert {"time_s": 3600.0, "code": "E-SENSOR-OPEN-WIRE"} in data["protection_moments"]
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 121 and {"v1", "soc4", "temp3", "balancing_cells", "alarms"} <= set(rows[0])
    # Before the fault the pack discharges, after it the BMS has opened the paths.
    assert float(rows[30]["current_a"]) == pytest.approx(-40.0)
    assert float(rows[-1]["current_a"]) == 0.0
    assert plot.stat().st_size > 20_000 and plot.read_bytes()[:4] == b"\x89PNG"


def test_flags_only_and_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "trace.parquet"
    assert (
        main(
            [
                "simulate",
                "--cells",
                "4",
                "--capacity",
                "50",
                "--duration",
                "1800",
                "--tick",
                "10",
                "--profile",
                "cccv",
                "--strategy",
                "active",
                "--no-estimator",
                "--out",
                str(out),
                "--fault",
                "drifting_current_offset:rate_a_per_h=1.5,at_s=0",
            ]
        )
        == 0
    )
    table = pq.read_table(out)
    assert table.num_rows == 31 and "v4" in table.column_names
    assert json.loads(capsys.readouterr().out)["charged_ah"] > 0.0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fault", "meteor_strike"], "unknown fault kind"),
        (["--fault", "soft_short:cell=99"], "cell must lie between 1 and 16"),
        (["--profile", "nope"], "unknown profile"),
        (["--set", "balancing.bleed_resistance_ohm=-1"], "bleed_resistance_ohm"),
        (["--duration", "0"], "must be > 0"),
        (["--out", "trace.xlsx", "--duration", "10"], "must end in .csv or .parquet"),
    ],
)
def test_bad_input_is_a_clear_error(
    argv: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", "--no-estimator", *argv]) == 1
    assert message in capsys.readouterr().err


def test_bad_scenario_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario]\nduration = 5\n", encoding="utf-8")
    assert main(["simulate", str(bad)]) == 1
    assert "unknown keys ['duration']" in capsys.readouterr().err


def test_bundled_scenarios_load() -> None:
    from importlib import resources

    from smartbms.sim.scenario import load_scenario

    folder = resources.files("smartbms.sim").joinpath("scenarios")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".toml"))
    assert names == ["solar_16s_280ah.toml", "van_4s_soft_short.toml"]
    for name in names:
        with resources.as_file(folder.joinpath(name)) as path:
            scenario = load_scenario(path)
        assert scenario.duration_s > 86_400 and scenario.make_profile() is not None
