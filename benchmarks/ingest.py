"""Ingest throughput and live-update latency of the monitoring server.

Run from the repository root (takes about a minute):

    .venv/bin/python benchmarks/ingest.py [--seconds 10] [--packs 4] [--batch 500] [--posters 4]

It starts ``smartbms serve`` (SQLite in a temporary directory, the default FULL synchronous
mode) as a separate process, then:

1. posts batches of 16S telemetry samples through the HTTP ingest endpoint from several
   posters at once and reports the samples/s the server acknowledged (= durably stored);
2. posts single samples and measures the time from the start of the POST to the sample's
   arrival over the live stream: with an SSE client, and in Debian's Chromium (the
   dashboard's own EventSource) when /usr/bin/chromium and Playwright are present;
   both idle and while the ingest load of step 1 runs.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

PASSWORD = "benchmark-admin-pw"
T0 = 1_790_000_000.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sample(ts: float, k: int) -> dict[str, Any]:
    cells = [round(3.28 + 0.001 * ((k + i) % 17), 3) for i in range(16)]
    return {
        "timestamp": ts,
        "voltage_v": round(sum(cells), 3),
        "current_a": round(-20.0 + (k % 40), 2),
        "soc_pct": 55.0,
        "cell_voltages_v": cells,
        "temperatures_c": [24.5, 25.0, 25.5, 26.0],
        "charge_enabled": True,
        "discharge_enabled": True,
        "balancing_cells": [],
        "alarms": [],
    }


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SMARTBMS_ADMIN_PASSWORD": PASSWORD}
    cmd = [sys.executable, "-m", "smartbms", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("smartbms serve did not start")


def session(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    me = client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD}).json()
    client.headers["X-CSRF-Token"] = me["csrf_token"]
    return client


def ingest_load(
    base: str,
    tokens: list[str],
    seconds: float,
    batch: int,
    posters: int,
    stop: threading.Event | None = None,
) -> tuple[int, float]:
    """Post for ``seconds``; returns (samples acknowledged, elapsed s)."""
    stored = [0] * posters
    deadline = time.monotonic() + seconds

    def run(n: int) -> None:
        token = tokens[n % len(tokens)]
        k = n * 10_000_000
        with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}) as client:
            while time.monotonic() < deadline and not (stop and stop.is_set()):
                body = {"samples": [sample(T0 + (k + i) * 0.001, k + i) for i in range(batch)]}
                k += batch
                response = client.post(
                    "/api/ingest", content=json.dumps(body), headers={"Content-Type": "application/json"}
                )
                response.raise_for_status()
                stored[n] += response.json()["stored"]

    threads = [threading.Thread(target=run, args=(n,)) for n in range(posters)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(stored), time.monotonic() - start


def sse_latency(base: str, token: str, pack: str, count: int, interval_s: float) -> list[float]:
    """ms from starting each POST to the SSE message carrying that sample."""
    sent: dict[float, float] = {}
    latencies: list[float] = []
    client = session(base)
    ready = threading.Event()
    done = threading.Event()

    def listen() -> None:
        with client.stream("GET", "/api/live", params={"pack_id": pack}, timeout=None) as response:
            kind = None
            for line in response.iter_lines():
                now = time.time()
                ready.set()
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "sample":
                    ts = json.loads(line[6:])["sample"]["timestamp"]
                    if ts in sent:
                        latencies.append((now - sent[ts]) * 1000)
                    if len(latencies) >= count or done.is_set():
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    ready.wait(10)
    with httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}) as poster:
        for i in range(count):
            ts = time.time() + i * 1e-6
            sent[ts] = time.time()
            poster.post("/api/ingest", json={"samples": [sample(ts, i)]})
            time.sleep(interval_s)
    listener.join(timeout=5)
    done.set()
    client.close()
    return latencies


def browser_latency(base: str, token: str, pack: str, count: int, interval_s: float) -> list[float] | None:
    if not Path("/usr/bin/chromium").exists():
        return None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page()
        page.goto(base + "/#/login")
        page.evaluate(
            """async (pw) => { await fetch('/api/auth/login', {method: 'POST', headers: {'Content-Type':
            'application/json'}, body: JSON.stringify({username: 'admin', password: pw})}); }""",
            PASSWORD,
        )
        page.evaluate(
            """(pack) => new Promise((resolve) => { window.arrivals = {};
            const es = new EventSource('/api/live?pack_id=' + pack);
            es.addEventListener('sample', (ev) => {
              window.arrivals[JSON.parse(ev.data).sample.timestamp] = Date.now(); });
            es.onopen = () => resolve(); })""",
            pack,
        )
        sent: dict[float, float] = {}
        with httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"}) as poster:
            for i in range(count):
                ts = time.time() + i * 1e-6
                sent[ts] = time.time() * 1000
                poster.post("/api/ingest", json={"samples": [sample(ts, i)]})
                time.sleep(interval_s)
        time.sleep(1.0)
        arrivals: dict[str, float] = page.evaluate("() => window.arrivals")
        browser.close()
    got = {float(k): v for k, v in arrivals.items()}
    return [got[ts] - t for ts, t in sent.items() if ts in got]


def describe(name: str, values: list[float] | None, expected: int) -> str:
    if not values:
        return f"{name}: not measured"
    values = sorted(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return (
        f"{name}: n={len(values)}/{expected}  median {statistics.median(values):.1f} ms  "
        f"p95 {p95:.1f} ms  max {values[-1]:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--packs", type=int, default=4)
    parser.add_argument("--batch", type=int, default=500, help="samples per POST")
    parser.add_argument("--posters", type=int, default=4, help="concurrent posting clients")
    parser.add_argument("--latency-samples", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="smartbms-bench-") as tmp:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = start_server(Path(tmp), port)
        try:
            admin = session(base)
            tokens = []
            for n in range(args.packs + 1):
                r = admin.post(
                    "/api/tokens", json={"name": f"pack{n}", "kind": "device", "pack_id": f"pack{n}"}
                )
                tokens.append(r.json()["token"])
            load_tokens, live_token = tokens[:-1], tokens[-1]
            live_pack = f"pack{args.packs}"
            print(f"machine: {os.cpu_count()} CPUs; server: smartbms serve, SQLite WAL synchronous=FULL")
            stored, elapsed = ingest_load(base, load_tokens, args.seconds, args.batch, args.posters)
            status = admin.get("/api/status").json()
            print(
                f"ingest: {stored} 16S samples in {elapsed:.1f} s = {stored / elapsed:,.0f} samples/s "
                f"({args.posters} posters, {args.batch} samples/post, {args.packs} packs, "
                f"{status['storage_commits']} commits)"
            )
            n, gap = args.latency_samples, 0.05
            print(
                describe(
                    "live latency POST->SSE client, idle", sse_latency(base, live_token, live_pack, n, gap), n
                )
            )
            print(
                describe(
                    "live latency POST->Chromium EventSource, idle",
                    browser_latency(base, live_token, live_pack, n, gap),
                    n,
                )
            )
            stop = threading.Event()
            loader = threading.Thread(
                target=ingest_load,
                args=(base, load_tokens, 3600, args.batch, args.posters, stop),
                daemon=True,
            )
            loader.start()
            time.sleep(1.0)
            print(
                describe(
                    "live latency POST->SSE client, under ingest load",
                    sse_latency(base, live_token, live_pack, n, gap),
                    n,
                )
            )
            print(
                describe(
                    "live latency POST->Chromium EventSource, under ingest load",
                    browser_latency(base, live_token, live_pack, n, gap),
                    n,
                )
            )
            stop.set()
            loader.join(timeout=120)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
