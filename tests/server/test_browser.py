"""The acceptance flow in Debian's Chromium, against the real controller and simulated pack."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.server.browser import (
    ADMIN_PASSWORD,
    LiveDashboard,
    chromium,
    live_dashboard,
    log_in,
    require_chromium,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def dash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDashboard]:
    require_chromium()
    with live_dashboard(tmp_path_factory.mktemp("dash")) as dashboard:
        yield dashboard


@pytest.fixture(scope="module")
def browser(dash: LiveDashboard) -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def admin_page(browser: Any, dash: LiveDashboard) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, dash.url, "admin", ADMIN_PASSWORD)
    yield page
    context.close()
    assert errors == []


def cell_values(page: Any) -> list[str]:
    return list(page.eval_on_selector_all("[data-cell]", "bars => bars.map(b => b.dataset.v)"))


def test_cell_voltages_update_live(admin_page: Any, dash: LiveDashboard) -> None:
    page = admin_page
    page.goto(dash.url + "#/pack/local")
    page.wait_for_selector("[data-cell]")
    assert len(cell_values(page)) == dash.controller.settings.pack.cells_series
    first = cell_values(page)
    first_time = page.text_content("#m-voltage")
    # New samples arrive over SSE; no reload, no polling of the pack endpoint.
    page.wait_for_function(
        "([old, oldV]) => { const now = [...document.querySelectorAll('[data-cell]')].map(b => b.dataset.v);"
        " return now.join() !== old.join() || document.querySelector('#m-voltage').textContent !== oldV; }",
        arg=[first, first_time],
        timeout=10_000,
    )
    assert page.is_visible("#cell-delta")


def test_setting_out_of_range_is_refused_then_a_valid_change_applies(
    admin_page: Any, dash: LiveDashboard
) -> None:
    page = admin_page
    page.goto(dash.url + "#/pack/local/settings")
    field = '[id="setting-protection.cell_ov_v"]'
    page.wait_for_selector(field)
    page.fill(field, "9")
    page.click("#settings-save")
    page.click("#confirm-ok")
    error = page.wait_for_selector('[id="error-protection.cell_ov_v"]:not(:empty)')
    assert "between 0.5 and 5" in error.text_content()
    assert "got 9" in page.text_content("#settings-message")
    assert dash.controller.settings.protection.cell_ov_v != 9
    page.fill(field, "3.62")
    page.click("#settings-save")
    page.click("#confirm-ok")
    page.wait_for_selector("#settings-message >> text=Saved.")
    deadline = time.monotonic() + 5
    while dash.controller.settings.protection.cell_ov_v != 3.62 and time.monotonic() < deadline:
        time.sleep(0.1)  # the controller applies new settings at its next tick
    assert dash.controller.settings.protection.cell_ov_v == 3.62
    page.goto(dash.url + "#/pack/local/audit")
    page.wait_for_selector("#audit-table >> text=protection.cell_ov_v")
    assert "→ 3.62" in page.text_content("#audit-table")


def test_discharge_off_and_the_pack_reacts(admin_page: Any, dash: LiveDashboard) -> None:
    page = admin_page
    page.goto(dash.url + "#/pack/local")
    page.wait_for_selector('#discharge-state[data-on="true"]')
    page.click("#discharge-off")
    assert "loads are cut" in page.text_content("#confirm-text")
    page.click("#confirm-ok")
    # The core opens the discharge path at its next tick; the next sample shows it.
    page.wait_for_selector('#discharge-state[data-on="false"]', timeout=10_000)
    assert page.text_content("#remote-mode") == "on"
    page.click("#discharge-on")
    page.click("#confirm-ok")
    page.wait_for_selector('#discharge-state[data-on="true"]', timeout=10_000)


def test_export_csv(admin_page: Any, dash: LiveDashboard, tmp_path: Path) -> None:
    page = admin_page
    page.goto(dash.url + "#/pack/local/history")
    page.wait_for_selector("#resolution:has-text('points')")
    with page.expect_download() as info:
        page.click("#export-csv")
    path = tmp_path / "history.csv"
    info.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert rows and {"timestamp", "voltage_v", "cell_1_v"} <= set(rows[0])
    assert float(rows[-1]["voltage_v"]) > 0


def test_viewer_sees_but_cannot_write(browser: Any, admin_page: Any, dash: LiveDashboard) -> None:
    created = admin_page.evaluate(
        """async () => { const me = await (await fetch('/api/auth/me')).json();
        const r = await fetch('/api/users', {method: 'POST', headers: {'Content-Type': 'application/json',
          'X-CSRF-Token': me.csrf_token}, body: JSON.stringify({username: 'vera', password: 'vera-password-1',
          role: 'viewer'})});
        return r.status; }"""
    )
    assert created == 201
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    log_in(page, dash.url, "vera", "vera-password-1")
    page.goto(dash.url + "#/pack/local")
    page.wait_for_selector("[data-cell]")
    assert page.is_visible("#controls-readonly")
    assert page.query_selector("#discharge-off") is None
    page.goto(dash.url + "#/pack/local/settings")
    page.wait_for_selector("#settings-readonly")
    assert page.is_disabled('[id="setting-protection.cell_ov_v"]')
    assert page.query_selector("#settings-save") is None
    # Even a hand-made request with the right CSRF token is refused by the server.
    status = page.evaluate(
        """async () => { const me = await (await fetch('/api/auth/me')).json();
        const r = await fetch('/api/packs/local/commands/discharge', {method: 'POST',
          headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token},
          body: JSON.stringify({on: false})});
        return r.status; }"""
    )
    assert status == 403
    assert not page.is_visible("#nav-admin")
    context.close()


def test_history_charts_zoom_by_dragging(admin_page: Any, dash: LiveDashboard) -> None:
    page = admin_page
    page.goto(dash.url + "#/pack/local/history")
    page.wait_for_selector("#resolution:has-text('points')")
    page.click("[data-range='900']")
    labels = (
        "() => [...document.querySelectorAll('.chart.line')[0].querySelectorAll('text')]"
        ".map(t => t.textContent)"
    )
    page.wait_for_timeout(300)
    before = page.evaluate(labels)
    box = page.locator(".chart.line").first.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.6, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.98, y, steps=5)
    page.mouse.up()
    page.wait_for_function(f"(old) => ({labels})().join() !== old.join()", arg=before)
    with_seconds = re.compile(r"\d{1,2}:\d{2}:\d{2}")
    # A window under 10 minutes is labelled to the second; double-click goes back to 15 minutes.
    assert any(with_seconds.search(t) for t in page.evaluate(labels))
    page.dblclick(".chart.line >> nth=0")
    page.wait_for_function(f"() => !({labels})().some(t => /\\d:\\d\\d:\\d\\d/.test(t))")
