"""Take the dashboard screenshots in docs/images (run by hand; not a test).

    .venv/bin/python -m tests.server.screenshots docs/images

Runs the real controller on the simulated pack: the last hour is simulated as fast as
possible (so the history charts have something to show), then in real time; two remote
packs are added, one with an alarm and one that went silent, to show the overview's flags.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path

from tests.server.browser import ADMIN_PASSWORD, chromium, live_dashboard, log_in


def remote_sample(
    ts: float, cells: int, soc: float, alarms: list[str], base_v: float = 3.31
) -> dict[str, object]:
    cv = [round(base_v + 0.003 * math.sin(i * 1.7), 3) for i in range(cells)]
    if alarms:
        cv[2] = 3.66
    return {
        "timestamp": ts,
        "voltage_v": round(sum(cv), 2),
        "current_a": 18.0 if alarms else -6.5,
        "soc_pct": soc,
        "cell_voltages_v": cv,
        "temperatures_c": [22.0, 23.5],
        "charge_enabled": not alarms,
        "discharge_enabled": True,
        "alarms": alarms,
        "bms_state": "PROTECTION" if alarms else "NORMAL",
    }


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    now = time.time()
    # The past hour is simulated as fast as possible before the real-time loop starts.
    with tempfile.TemporaryDirectory() as tmp, live_dashboard(Path(tmp), history_s=3600) as dash:
        ctx = dash.server.context
        ctx.ingest("van", [remote_sample(now - 5 + i, 4, 97.0, ["A-CELL-OV"], 3.40) for i in range(5)])
        ctx.ingest("cabin", [remote_sample(now - 7200 + i, 8, 41.0, []) for i in range(5)])
        ctx.storage.update_rollups()
        time.sleep(2)
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            log_in(page, dash.url, "admin", ADMIN_PASSWORD)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(out / "dashboard-overview.png"), full_page=True)
            page.goto(dash.url + "#/pack/local")
            page.wait_for_selector("[data-cell]")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(out / "dashboard-pack.png"), full_page=True)
            page.goto(dash.url + "#/pack/local/history")
            page.wait_for_selector("#resolution:has-text('points')")
            page.wait_for_timeout(500)
            page.screenshot(path=str(out / "dashboard-history.png"), full_page=True)
            page.goto(dash.url + "#/pack/local/settings")
            page.wait_for_selector('[id="setting-protection.cell_ov_v"]')
            page.fill('[id="setting-protection.cell_ov_v"]', "9")
            page.click("#settings-save")
            page.click("#confirm-ok")
            page.wait_for_selector('[id="error-protection.cell_ov_v"]:not(:empty)')
            page.locator('[id="setting-protection.cell_ov_v"]').scroll_into_view_if_needed()
            page.screenshot(path=str(out / "dashboard-settings-refused.png"))
            phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
            log_in(phone, dash.url, "admin", ADMIN_PASSWORD)
            phone.goto(dash.url + "#/pack/local")
            phone.wait_for_selector("[data-cell]")
            phone.wait_for_timeout(1500)
            phone.screenshot(path=str(out / "dashboard-pack-phone.png"), full_page=True)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images"))
