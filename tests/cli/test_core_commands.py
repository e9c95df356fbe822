"""The core CLI as a user runs it: a real subprocess of the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from smartbms.cli import main


def smartbms(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartbms", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


def test_scripted_run_exits_zero_and_leaves_event_log_and_settings(tmp_path: Path) -> None:
    pytest.importorskip("smartbms.sim.pack_source")
    data = tmp_path / "data"
    result = smartbms("run", "--data-dir", str(data), "--speed", "0", "--duration", "300", "--no-server")
    assert result.returncode == 0, result.stderr
    assert (data / "events.sqlite").exists() and (data / "settings.toml").exists()
    assert "state NORMAL" in result.stdout.splitlines()[-1]
    events = smartbms("events", "--data-dir", str(data), "--json")
    codes = [e["code"] for e in json.loads(events.stdout)]
    assert codes[:2] == ["STANDBY", "NORMAL"]


def test_run_rejects_negative_duration(tmp_path: Path) -> None:
    assert main(["run", "--data-dir", str(tmp_path), "--duration", "-1", "--no-server"]) == 1


def test_config_set_check_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = str(tmp_path)
    assert (
        main(
            [
                "config",
                "--data-dir",
                d,
                "set",
                "protection.cell_ov_delay_s=3.5",
                "outputs.prealarm_mode=intermittent",
            ]
        )
        == 0
    )
    assert main(["config", "--data-dir", d, "get", "protection.cell_ov_delay_s"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "3.5"
    assert main(["config", "--data-dir", d, "check"]) == 0
    assert main(["config", "--data-dir", d, "show", "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert shown["outputs"]["prealarm_mode"] == "intermittent"


def test_config_set_out_of_range_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = str(tmp_path)
    assert main(["config", "--data-dir", d, "set", "pack.cells_series=4"]) == 0
    before = (tmp_path / "settings.toml").read_text()
    assert main(["config", "--data-dir", d, "set", "protection.charge_voltage_limit_v=16"]) == 1
    err = capsys.readouterr().err
    assert "protection.charge_voltage_limit_v: must lie between 13.00 V and 15.30 V" in err
    assert (tmp_path / "settings.toml").read_text() == before


def test_config_check_names_bad_fields(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("protection:\n  cell_uv_release_v: 2.0\n")
    assert main(["config", "check", str(path)]) == 1
    assert "protection.cell_uv_release_v" in capsys.readouterr().err


def test_alarms_lists_all_three_families(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alarms", "--json"]) == 0
    catalog = json.loads(capsys.readouterr().out)
    assert {a["family"] for a in catalog} == {"error", "alarm", "warning"}
    codes = {a["code"] for a in catalog}
    assert {
        "W-CELL-UV",
        "A-CELL-UV",
        "A-SHORT-CIRCUIT",
        "A-DSG-OT",
        "E-CONFIG",
        "E-CALIBRATION",
        "E-SENSOR-STALE",
    } <= codes
    assert all(a["cause"] and a["advice"] for a in catalog)


def test_events_without_log_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["events", "--data-dir", str(tmp_path / "none")]) == 1
    assert "no event log" in capsys.readouterr().err


def test_config_set_is_recorded_in_the_event_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = str(tmp_path)
    assert main(["config", "--data-dir", d, "set", "protection.cell_ov_delay_s=4"]) == 0
    assert main(["events", "--data-dir", d, "--json", "--kind", "setting"]) == 0
    [event] = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert event["code"] == "protection.cell_ov_delay_s" and event["data"] == {"old": 2.0, "new": 4.0}


def test_run_with_invalid_settings_refuses_to_start_and_logs_config_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "settings.toml").write_text("[protection]\ncell_uv_release_v = 2.0\n")
    assert main(["run", "--data-dir", str(tmp_path), "--duration", "5", "--no-server", "--quiet"]) == 1
    assert "protection.cell_uv_release_v" in capsys.readouterr().err
    assert main(["events", "--data-dir", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["code"] == "E-CONFIG"


def test_rules_shows_the_table_with_current_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = str(tmp_path)
    assert main(["config", "--data-dir", d, "set", "protection.cell_ov_delay_s=3"]) == 0
    capsys.readouterr()
    assert main(["rules", "--data-dir", d, "--json"]) == 0
    rules = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rules["cell_ov"]["trip_delay_s"] == 3.0 and rules["cell_ov"]["blocks"] == "charge"
    assert rules["short_circuit"]["latched"] is True


def test_run_with_uplink_posts_the_simulated_pack_to_a_standalone_server(tmp_path: Path) -> None:
    pytest.importorskip("smartbms.sim.pack_source")
    pytest.importorskip("fastapi")
    import httpx
    from tests.server.procs import admin_token, device_token, free_port, start_serve, stop

    port, password = free_port(), "uplink-test-password-1"
    server = start_serve(tmp_path / "srv", port, password)
    try:
        base = f"http://127.0.0.1:{port}"
        token = device_token(base, password, "van")
        result = smartbms(
            "run",
            "--data-dir",
            str(tmp_path / "van"),
            "--speed",
            "0",
            "--duration",
            "120",
            "--no-server",
            "--quiet",
            "--uplink",
            base,
            "--device-token",
            token,
        )
        assert result.returncode == 0, result.stderr
        api = admin_token(base, password)
        latest = httpx.get(f"{base}/api/packs/van/latest", headers={"Authorization": f"Bearer {api}"}).json()
        assert len(latest["cell_voltages_v"]) == 16 and latest["voltage_v"] > 40
    finally:
        stop(server)


def test_run_with_uplink_but_no_token_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("smartbms.sim.pack_source")
    os.environ.pop("SMARTBMS_DEVICE_TOKEN", None)
    code = main(
        [
            "run",
            "--data-dir",
            str(tmp_path),
            "--duration",
            "1",
            "--no-server",
            "--quiet",
            "--uplink",
            "http://127.0.0.1:9",
        ]
    )
    assert code == 1 and "--device-token" in capsys.readouterr().err


def test_run_keeps_what_the_estimator_learned_across_a_restart(tmp_path: Path) -> None:
    pytest.importorskip("smartbms.sim.pack_source")
    data = tmp_path / "data"
    args = ("run", "--data-dir", str(data), "--speed", "0", "--duration", "120", "--no-server")
    assert smartbms(*args).returncode == 0
    path = data / "estimator_state.json"
    state = json.loads(path.read_text())
    nominal = state["nominal_capacity_ah"]
    assert state["filter"] is not None and len(state["filter"]["soc"]) == state["cells_series"]
    # As if a full cycle had measured 94 % of the nameplate: the next run starts from it and keeps it.
    state["capacity"] = {
        "capacity_ah": 0.94 * nominal,
        "weight": 1.0,
        "weighted_sum": 0.94 * nominal,
        "samples": 1,
    }
    path.write_text(json.dumps(state))
    assert smartbms(*args).returncode == 0
    assert json.loads(path.read_text())["capacity"]["capacity_ah"] == pytest.approx(0.94 * nominal)


def test_run_with_a_corrupt_estimator_state_starts_fresh_logs_it_and_rewrites_it(tmp_path: Path) -> None:
    pytest.importorskip("smartbms.sim.pack_source")
    data = tmp_path / "data"
    data.mkdir()
    (data / "estimator_state.json").write_text("{half a file")
    result = smartbms("run", "--data-dir", str(data), "--speed", "0", "--duration", "60", "--no-server")
    assert result.returncode == 0, result.stderr
    events = json.loads(smartbms("events", "--data-dir", str(data), "--json").stdout)
    notes = [e["message"] for e in events if e["code"] == "estimator-state"]
    assert notes and "not an estimator state" in notes[0]
    assert json.loads((data / "estimator_state.json").read_text())["version"] == 1
