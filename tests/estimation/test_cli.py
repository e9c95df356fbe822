from __future__ import annotations

import csv

import pytest

from smartbms.cli import main
from smartbms.estimation import shipped_model
from smartbms.estimation.traces import write_trace

from .ecm_plant import EcmPlant, lab_tests


def test_characterize_then_estimate(tmp_path, capsys) -> None:
    truth = shipped_model("NMC")
    tests = lab_tests(truth, 10.0)
    paths = {}
    for name, trace in tests.items():
        paths[name] = tmp_path / f"{name}.csv"
        write_trace(trace, paths[name])
    model_path = tmp_path / "cell.json"
    code = main(
        [
            "characterize",
            "--chemistry",
            "nmc",
            "--discharge",
            str(paths["discharge"]),
            "--charge",
            str(paths["charge"]),
            "--pulse",
            str(paths["pulse"]),
            "-o",
            str(model_path),
        ]
    )
    assert code == 0 and model_path.exists()
    assert "NMC" in capsys.readouterr().out

    plant = EcmPlant(truth, 10.0, 0.8)
    drive, soc = plant.run([-5.0 if (k // 30) % 2 else 1.0 for k in range(1200)])
    trace_path = tmp_path / "drive.csv"
    write_trace(drive, trace_path)
    out = tmp_path / "soc.csv"
    code = main(
        [
            "estimate",
            "--cell",
            str(model_path),
            "--capacity-ah",
            "10",
            "--initial-soc",
            "60",
            str(trace_path),
            "-o",
            str(out),
        ]
    )
    assert code == 0
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["time_s", "soc_pct", "soc_sigma_pct", "soh_pct"]
    assert len(rows) == 1200
    assert float(rows[-1]["soc_pct"]) == pytest.approx(100 * soc[-1], abs=2.0)


def test_estimate_to_stdout_with_a_shipped_model(tmp_path, capsys) -> None:
    plant = EcmPlant(shipped_model("LFP"), 100.0, 0.5)
    trace, _ = plant.run([-10.0] * 30)
    path = tmp_path / "t.csv"
    write_trace(trace, path)
    assert main(["estimate", "--cell", "LFP", "--capacity-ah", "100", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "time_s,soc_pct,soc_sigma_pct,soh_pct" and len(lines) == 31


def test_estimate_names_the_bad_line(tmp_path, capsys) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("time_s,current_a,voltage_v,temperature_c\n0,1,3.3,25\n1,1,3.3V,25\n")
    assert main(["estimate", "--cell", "LFP", "--capacity-ah", "100", str(path)]) == 1
    err = capsys.readouterr().err
    assert "bad.csv: line 3: voltage_v is not a number: '3.3V'" in err


def test_estimate_refuses_a_unitless_trace(tmp_path, capsys) -> None:
    path = tmp_path / "unitless.csv"
    path.write_text("time,current,voltage,temperature\n0,1,3.3,25\n")
    assert main(["estimate", "--cell", "NMC", "--capacity-ah", "5", str(path)]) == 1
    assert "line 1: column 'time' has no unit" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--capacity-ah", "0"], ["--capacity-ah", "5", "--initial-soc", "120"]])
def test_estimate_rejects_bad_numbers(tmp_path, capsys, args) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time_s,current_a,voltage_v,temperature_c\n0,1,3.3,25\n")
    assert main(["estimate", "--cell", "LFP", *args, str(path)]) == 1
    assert "must" in capsys.readouterr().err


def test_estimate_with_a_missing_model_file(tmp_path, capsys) -> None:
    path = tmp_path / "t.csv"
    path.write_text("time_s,current_a,voltage_v,temperature_c\n0,1,3.3,25\n")
    assert main(["estimate", "--cell", str(tmp_path / "none.json"), "--capacity-ah", "5", str(path)]) == 1
    assert "cannot read cell model" in capsys.readouterr().err


@pytest.mark.parametrize(
    "temperatures",
    [["--temperatures", "-10", "0", "25", "45"], ["--temperatures=-10,0,25,45"]],
)
def test_validate_takes_negative_temperatures(temperatures) -> None:
    from smartbms.cli import build_parser
    from smartbms.cli.estimation_commands import validation_config

    args = build_parser().parse_args(["validate", *temperatures, "--seeds", "2", "--sample-s", "1,10"])
    config = validation_config(args)
    assert config.temperatures_c == (-10.0, 0.0, 25.0, 45.0)
    assert config.seeds == 2
    assert config.sample_s == (1, 10)


def test_validate_names_a_malformed_temperature_list(capsys) -> None:
    assert main(["validate", "--temperatures", "0,warm"]) == 1
    assert "--temperatures: expects numbers separated by commas (got '0,warm')" in capsys.readouterr().err
