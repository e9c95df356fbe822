"""Throughput of the board codecs: stream parsing and status decoding per protocol.

Run:  .venv/bin/python benchmarks/drivers_parse.py [--seconds 1.0]

For each protocol it takes the recorded frames in tests/fixtures/<protocol>, feeds them
through the stream parser in 20-byte pieces (as BLE delivers them) and decodes the status,
and reports frames/s, MB/s and statuses/s. Numbers depend on the machine; nothing asserts them.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from smartbms.drivers.registry import get_protocol

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"


def bench(protocol_name: str, frames: list[bytes], options: dict, seconds: float) -> dict[str, float]:
    protocol = get_protocol(protocol_name, **options)
    stream = b"".join(frames)
    chunks = [stream[i : i + 20] for i in range(0, len(stream), 20)]
    statuses = 0
    parsed_bytes = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        parser = protocol.response_parser()
        got = []
        for chunk in chunks:
            got += parser.feed(chunk)
        protocol.decode_status(got)
        statuses += 1
        parsed_bytes += len(stream)
    elapsed = time.perf_counter() - started
    return {
        "statuses_per_s": statuses / elapsed,
        "frames_per_s": statuses * len(frames) / elapsed,
        "mb_per_s": parsed_bytes / elapsed / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time spent per protocol")
    args = parser.parse_args()
    print(f"{'protocol':<18}{'statuses/s':>12}{'frames/s':>12}{'MB/s':>8}")
    for path in sorted(FIXTURES.glob("*/*.json")):
        data = json.loads(path.read_text())
        if path.stem != sorted(p.stem for p in path.parent.glob("*.json"))[0]:
            continue  # one capture per protocol
        options = {"address": data["address"]} if "address" in data else {}
        r = bench(data["protocol"], [bytes.fromhex(f) for f in data["frames"]], options, args.seconds)
        print(
            f"{data['protocol']:<18}{r['statuses_per_s']:>12.0f}{r['frames_per_s']:>12.0f}{r['mb_per_s']:>8.2f}"
        )


if __name__ == "__main__":
    main()
