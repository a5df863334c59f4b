"""Governance in the viewer, in a real browser: what the public sees (no personal columns, no run
button, suppressed statistics), the dataset catalogue with classifications and lineage, the
algorithm and sensor registers, logging in through the dialog (a wrong password shows the server's
message, the right one the role badge and the personal columns), a session the server no longer
accepts, and logging out back to the public view.

One page for the module, opened as the public; the tests run in file order.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.browser.conftest import ANALYST, SESSION_KEY, ViewerPage, log_in

pytestmark = pytest.mark.browser

IMPACT_MODELS = 8
"""Built-in impact models, each with an algorithm register entry."""


def columns(viewer: ViewerPage) -> list[str]:
    return list(viewer.page.evaluate("() => window.tweeling.buildingColumns"))


def buildings_version(viewer: ViewerPage) -> int:
    return int(viewer.page.evaluate("() => window.tweeling.buildingsVersion"))


def wait_for_buildings_after(viewer: ViewerPage, version: int, what: str) -> None:
    viewer.wait_for(
        "(v) => window.tweeling.buildingsVersion > v", f"the buildings reloaded {what}", 90, arg=version
    )


def pick_a_building(viewer: ViewerPage) -> dict[str, Any]:
    """Pick a building near the map's centre (the camera has not moved in this module)."""
    box = viewer.page.get_by_test_id("map").bounding_box()
    assert box
    for dx, dy in [(0, 0), (40, 0), (-40, 0), (0, 40), (0, -40), (80, 40), (-80, -40), (80, -40)]:
        picked = viewer.page.evaluate(
            "([x, y]) => window.tweeling.pickAt(x, y)", [box["width"] / 2 + dx, box["height"] / 2 + dy]
        )
        if picked and picked.get("kind") == "building":
            return dict(picked)
    pytest.fail(f"no building near the map's centre\n{viewer.diagnosis()}")


def test_the_public_sees_no_personal_columns_and_no_run_button(viewer: ViewerPage) -> None:
    state = viewer.state()
    assert state is not None
    assert viewer.page.evaluate("() => window.tweeling.session") is None
    assert viewer.page.get_by_test_id("login-button").is_visible()
    assert "residents_est" not in columns(viewer), "the public received the personal column residents_est"
    assert "dwellings_est" in columns(viewer)

    restricted = viewer.page.locator('[data-testid="colour-by"] option[data-restricted="true"]')
    assert restricted.count() == 1, "colour-by does not list residents as restricted"
    assert restricted.first.get_attribute("value") == "residents_est"
    assert restricted.first.is_disabled()
    assert "alleen voor bevoegde rollen" in restricted.first.inner_text()

    picked = pick_a_building(viewer)
    selected = viewer.page.evaluate("() => window.tweeling.selected")
    assert "residents_est" not in selected["attributes"], selected["attributes"].keys()
    panel = viewer.page.get_by_test_id("info-panel")
    row = panel.locator('dd[data-attribute="residents_est"][data-restricted="true"]')
    assert row.count() == 1, (
        f"no restricted residents row for building {picked['id']}: {panel.inner_text()[:500]}"
    )
    assert "alleen voor bevoegde rollen" in row.inner_text()
    viewer.screenshot("public-info-panel", testid="info-panel")

    editor = viewer.page.get_by_test_id("scenario-editor")
    assert editor.get_by_test_id("scenario-run").count() == 0, "the public has a run button"
    notice = editor.get_by_test_id("scenario-login-required")
    assert re.search(r"Log in als bewoner of analist", notice.inner_text()), notice.inner_text()
    assert (
        editor.get_by_test_id("draw-polygon").count() + editor.get_by_test_id("intervention-add").count() > 0
    )


def test_the_catalogue_lists_datasets_with_classification_and_lineage(viewer: ViewerPage) -> None:
    page = viewer.page
    toggle = page.get_by_test_id("catalogue-toggle")
    toggle.click()
    panel = page.get_by_test_id("catalogue-panel")
    panel.get_by_test_id("dataset-list").wait_for(state="visible", timeout=20_000)
    catalogue = httpx.get(f"{viewer.server.api}/catalogue", timeout=10).json()["datasets"]
    listed = panel.locator("[data-dataset]")
    assert listed.count() == len(catalogue)

    residents = panel.locator('li[data-dataset="residents"]')
    badge = residents.locator(".badge.classification")
    assert badge.get_attribute("data-classification") == "personal"
    assert badge.inner_text() == "persoonsgegevens"
    assert panel.locator('li[data-dataset="buildings"] .badge.classification').inner_text() == "open"
    entry = next(dataset for dataset in catalogue if dataset["id"] == "residents")
    meta = residents.locator(".dataset-meta").inner_text()
    for value in (entry["owner"], entry["licence"], entry["update_frequency"]):
        assert value in meta, f"{value!r} is not in the list entry: {meta!r}"

    residents.locator("button").click()
    detail = panel.get_by_test_id("dataset-detail")
    detail.wait_for(state="visible", timeout=20_000)
    text = detail.inner_text()
    for field in ("legal_basis", "purpose", "retention"):
        assert entry[field][:40] in text, f"{field} is not shown: {text[:800]}"
    tree = detail.get_by_test_id("lineage-tree")
    kinds = set(tree.locator("li").evaluate_all("els => els.map(e => e.dataset.kind)"))
    assert {"dataset", "source"} <= kinds, f"lineage tree kinds: {kinds}"
    assert "step" not in kinds, "processing steps should be folded into their outputs"
    assert tree.locator("li li").count() > 0, "the lineage tree is not nested"
    viewer.screenshot("catalogue-residents", testid="catalogue-panel")

    page.get_by_test_id("catalogue-back").click()
    panel.get_by_test_id("dataset-list").wait_for(state="visible", timeout=10_000)
    page.keyboard.press("Escape")
    assert panel.is_hidden(), "Escape did not close the catalogue panel"
    assert page.evaluate("() => document.activeElement?.dataset.testid") == "catalogue-toggle"


def test_an_info_panel_source_links_to_the_catalogue(viewer: ViewerPage) -> None:
    pick_a_building(viewer)
    link = (
        viewer.page.get_by_test_id("info-panel").locator('button.source-link[data-dataset="buildings"]').first
    )
    link.wait_for(state="visible", timeout=10_000)
    link.click()
    detail = viewer.page.get_by_test_id("dataset-detail")
    detail.wait_for(state="visible", timeout=20_000)
    assert detail.get_attribute("data-dataset") == "buildings"
    assert "residents_est" in detail.inner_text(), "the personal field of buildings is not listed"
    viewer.page.keyboard.press("Escape")


def test_the_registers_list_the_impact_models_and_the_sensors(viewer: ViewerPage) -> None:
    page = viewer.page
    page.get_by_test_id("registers-toggle").click()
    register = page.get_by_test_id("algorithm-register")
    register.locator("li[data-algorithm]").first.wait_for(state="visible", timeout=20_000)
    models = httpx.get(f"{viewer.server.api}/models", timeout=30).json()["models"]
    model_ids = {model["id"] for model in models}
    assert len(model_ids) == IMPACT_MODELS, model_ids
    shown = set(
        register.locator("li[data-algorithm]").evaluate_all("els => els.map(e => e.dataset.algorithm)")
    )
    assert model_ids <= shown, f"impact models missing from the register panel: {model_ids - shown}"
    statuses = register.locator(".algorithm-status").all_inner_texts()
    assert statuses and set(statuses) <= {"In ontwikkeling", "In gebruik", "Buiten gebruik"}, statuses
    for model_id in model_ids:
        link = register.locator(f'li[data-algorithm="{model_id}"] a')
        assert link.get_attribute("target") == "_blank"
        assert link.get_attribute("href").endswith(f"/algorithms/{model_id}?f=html")

    sensors = page.get_by_test_id("sensor-register")
    sensors.locator("li").first.wait_for(state="visible", timeout=20_000)
    listed = httpx.get(f"{viewer.server.api}/registers/sensors", timeout=10).json()
    assert sensors.locator("li").count() == len(listed)
    flags = sensors.locator("[data-personal-data]").evaluate_all(
        "els => els.map(e => e.dataset.personalData)"
    )
    assert flags == ["true" if entry["personal_data"] else "false" for entry in listed]
    viewer.screenshot("registers", testid="registers-panel")
    page.keyboard.press("Escape")
    assert page.get_by_test_id("registers-panel").is_hidden()

    registered = next(entry for entry in listed if entry["purpose"])
    thing = page.get_by_test_id("sensor-panel").locator(
        f'li[data-thing="{registered["thing_id"]}"] .thing-head button'
    )
    thing.click()
    entry = page.get_by_test_id("info-panel").get_by_test_id("sensor-register-entry")
    entry.wait_for(state="visible", timeout=20_000)
    assert registered["purpose"][:40] in entry.inner_text(), entry.inner_text()


def test_the_dashboard_marks_suppressed_statistics(viewer: ViewerPage) -> None:
    """Residents per buurt as the public gets them: every cell the API suppressed is marked."""
    page = viewer.page
    answer = httpx.get(
        f"{viewer.server.api}/statistics/residents", params={"level": "buurt"}, timeout=60
    ).json()
    suppressed = [row for row in answer["rows"] if row["suppressed"]]
    assert suppressed, "no buurt is suppressed for the public: nothing to show"
    page.get_by_test_id("dashboard-toggle").click()
    level = page.locator("#dashboard-body select").first
    # the dashboard waits for the models' baseline (computed on first request: minutes under load)
    level.wait_for(state="visible", timeout=300_000)
    level.select_option("buurt")
    table = page.get_by_test_id("statistics-table")
    table.wait_for(state="visible", timeout=60_000)
    markers = table.get_by_test_id("suppressed-marker")
    assert markers.count() == len(suppressed)
    threshold = answer["disclosure_control"]["threshold"]
    primary = markers.and_(table.locator('[data-suppressed="primary"]')).first
    if primary.count():
        assert primary.inner_text() == f"— (onderdrukt: minder dan {threshold})"
        assert "privacy" in (primary.get_attribute("title") or "")
    shown = next(row for row in answer["rows"] if not row["suppressed"])
    cell = table.locator(f'tr[data-area="{shown["code"]}"] td')
    assert re.sub(r"\D", "", cell.inner_text()) == str(round(shown["values"]["residents"]))
    table.scroll_into_view_if_needed()
    viewer.screenshot("dashboard-statistics", testid="statistics-table")
    page.get_by_test_id("dashboard-toggle").click()


def test_logging_in_through_the_dialog(viewer: ViewerPage) -> None:
    page = viewer.page
    username, password = ANALYST
    page.get_by_test_id("login-button").click()
    dialog = page.get_by_test_id("login-dialog")
    dialog.wait_for(state="visible", timeout=5_000)
    assert page.evaluate("() => document.activeElement?.dataset.testid") == "login-username"
    page.keyboard.press("Escape")
    assert dialog.is_hidden(), "Escape did not close the login dialog"
    assert page.evaluate("() => document.activeElement?.dataset.testid") == "login-button"

    expected = httpx.post(
        f"{viewer.server.api}/auth/token",
        data={"grant_type": "password", "username": "nobody.here", "password": "not-the-password"},
        timeout=10,
    ).json()["detail"]
    log_in(viewer, username, "not-the-password")
    error = page.get_by_test_id("login-error")
    error.wait_for(state="visible", timeout=10_000)
    assert expected in error.inner_text(), error.inner_text()
    assert dialog.is_visible()
    viewer.screenshot("login-wrong-password", testid="login-dialog")

    version = buildings_version(viewer)
    log_in(viewer, username, password)
    badge = page.get_by_test_id("role-badge")
    badge.wait_for(state="visible", timeout=15_000)
    assert username in badge.inner_text() and "analist" in badge.inner_text(), badge.inner_text()
    assert dialog.is_hidden()
    wait_for_buildings_after(viewer, version, "after logging in as an analyst")
    assert "residents_est" in columns(viewer)
    assert page.get_by_test_id("scenario-run").count() == 1
    stored = page.evaluate("(key) => JSON.parse(sessionStorage.getItem(key))", SESSION_KEY)
    assert stored["subject"] == username and "analyst" in stored["roles"], stored
    assert "publiek" not in badge.inner_text(), badge.inner_text()
    assert page.evaluate("(key) => localStorage.getItem(key)", SESSION_KEY) is None
    viewer.screenshot("logged-in")


def test_a_revoked_session_says_it_expired(viewer: ViewerPage) -> None:
    """The server stops accepting the token (revoked elsewhere): the next request ends the session,
    the top bar says so and the page goes back to what the public sees."""
    page = viewer.page
    token = page.evaluate("(key) => JSON.parse(sessionStorage.getItem(key)).token", SESSION_KEY)
    revoked = httpx.post(
        f"{viewer.server.api}/auth/revoke", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert revoked.status_code == 204, revoked.text
    version = buildings_version(viewer)
    page.get_by_test_id("dashboard-toggle").click()  # asks for the statistics with the token
    notice = page.get_by_test_id("session-notice")
    notice.wait_for(state="visible", timeout=30_000)
    assert "verlopen" in notice.inner_text(), notice.inner_text()
    assert page.get_by_test_id("login-button").is_visible()
    wait_for_buildings_after(viewer, version, "after the session ended")
    assert "residents_est" not in columns(viewer)
    page.get_by_test_id("dashboard-toggle").click()


def test_logging_out_returns_to_the_public_view(viewer: ViewerPage) -> None:
    page = viewer.page
    version = buildings_version(viewer)
    log_in(viewer, *ANALYST)
    page.get_by_test_id("role-badge").wait_for(state="visible", timeout=15_000)
    wait_for_buildings_after(viewer, version, "after logging in again")
    version = buildings_version(viewer)
    page.get_by_test_id("logout-button").click()
    page.get_by_test_id("login-button").wait_for(state="visible", timeout=10_000)
    assert page.get_by_test_id("role-badge").count() == 0
    assert "Uitgelogd" in page.get_by_test_id("session-notice").inner_text()
    assert page.evaluate("(key) => sessionStorage.getItem(key)", SESSION_KEY) is None
    assert page.evaluate("() => window.tweeling.session") is None
    wait_for_buildings_after(viewer, version, "after logging out")
    assert "residents_est" not in columns(viewer)
    assert page.get_by_test_id("scenario-run").count() == 0
    assert page.get_by_test_id("scenario-login-required").is_visible()
    viewer.screenshot("logged-out")


def test_no_javascript_errors(viewer: ViewerPage) -> None:
    """Nothing thrown; the only errors logged are the refusals these tests caused on purpose: the
    wrong password (401 from /v1/auth/token) and the revoked token (a 401 before the retry)."""
    assert not viewer.errors, f"uncaught errors in the page: {viewer.errors}"
    logged = [line for line in viewer.console if line.startswith("[error]")]
    unexpected = [line for line in logged if not re.search(r"status of 401", line)]
    assert not unexpected, f"errors logged to the console: {unexpected[:10]}"
    assert any("/v1/auth/token" in line for line in logged), logged
