"""``smartbms serve`` parses its options, prints the URL and the one-time admin password once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.server.procs import free_port

from smartbms.cli import build_parser, main


def test_serve_options_parse() -> None:
    args = build_parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "9000", "--data-dir", "/tmp/x"])
    assert (args.host, args.port, args.data_dir) == ("0.0.0.0", 9000, Path("/tmp/x"))


def test_bad_options_are_clear_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "70000"]) == 1
    assert "--port must lie between 0 and 65535" in capsys.readouterr().err
    assert main(["serve", "--smtp", "nohost"]) == 1


@pytest.mark.slow
def test_first_start_prints_a_one_time_password_that_logs_in(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "SMARTBMS_ADMIN_PASSWORD"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "smartbms", "serve", "--port", str(port), "--data-dir", str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        me = None
        proc.terminate()
        out, err = proc.communicate(timeout=20)
        assert f"http://127.0.0.1:{port}/" in out
        line = next(x for x in err.splitlines() if "one-time password" in x)
        password = line.rsplit(": ", 1)[1].strip()
        assert len(password) >= 12
        # The second start does not print it again and the password works.
        proc = subprocess.Popen(
            [sys.executable, "-m", "smartbms", "serve", "--port", str(port), "--data-dir", str(tmp_path)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and me is None:
            try:
                me = httpx.post(
                    f"http://127.0.0.1:{port}/api/auth/login",
                    json={"username": "admin", "password": password},
                    timeout=2,
                ).json()
            except httpx.HTTPError:
                time.sleep(0.1)
        assert me is not None and me["must_change_password"] is True
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "one-time password" not in err
