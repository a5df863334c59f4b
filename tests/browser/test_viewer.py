"""The 3D viewer in a real browser: the city loads and is drawn in 3D, a click shows a building's
attributes and their sources, a pushed sensor value appears without reload, a scenario drawn and run
from the UI shows a difference layer, the UI speaks English on demand and the keyboard reaches the
layer panel.

One page for the whole module (loading 65,796 buildings in a software renderer is the slow part);
the tests run in file order and each leaves the page usable for the next. The page is opened by an
analyst already logged in (a token in sessionStorage before it loads): running scenarios needs a
login, and the buildings then carry the personal columns. Screenshots are kept in
``test-artifacts/browser/``.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.browser.conftest import ARTIFACTS, BUILDING_COUNT, VIEWPORT, ViewerPage
from tests.browser.pixels import changed_share, image_stats, saturated_shades
from tests.helpers import server_bearer

pytestmark = pytest.mark.browser

VIEWER_ROLES = ("analyst",)
"""The page starts logged in as an analyst (conftest's ``viewer`` fixture)."""

# Statenplein, a paved square in the centre (examples/e-greening-statenplein.yaml), lon/lat.
STATENPLEIN = [
    [4.667754, 51.814204],
    [4.668914, 51.814211],
    [4.668904, 51.81484],
    [4.667744, 51.814833],
]
MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
PUSHED_VALUE = 987.0  # out of every demo sensor's range, so it cannot be a simulated value
VIEWPORT_WIDTH, VIEWPORT_HEIGHT = VIEWPORT["width"], VIEWPORT["height"]
MAX_PITCH_STEPS = 9  # MapLibre: Shift+↓ lowers the pitch by 10° per press, Shift+↑ raises it
ZOOM_IN_STEPS = 2  # MapLibre: = zooms in one level per press, - out


def number_variants(value: float) -> set[str]:
    """How a number may be written in the UI: 0-2 decimals, decimal point or comma."""
    variants = set()
    for decimals in (0, 1, 2):
        text = f"{value:.{decimals}f}"
        variants |= {text, text.replace(".", ",")}
    return variants


def open_map_area(viewer: ViewerPage) -> dict[str, float]:
    """The part of the map no panel covers (between the layer panel, the side panels and the
    dashboard bar), as a page clip rectangle."""
    boxes = viewer.page.evaluate(
        """(ids) => Object.fromEntries(ids.map((id) => {
            const element = document.querySelector(`[data-testid="${id}"]`);
            const box = element && element.offsetParent !== null ? element.getBoundingClientRect() : null;
            return [id, box && {left: box.left, right: box.right, top: box.top, bottom: box.bottom}];
        }))""",
        ["map", "layer-panel", "info-panel", "sensor-panel", "dashboard"],
    )
    whole = boxes["map"]
    assert whole, "data-testid=map is not shown"
    left, right = whole["left"], min(whole["right"], VIEWPORT_WIDTH)
    top, bottom = whole["top"], min(whole["bottom"], VIEWPORT_HEIGHT)
    if boxes["layer-panel"] and boxes["layer-panel"]["left"] < (left + right) / 2:
        left = max(left, boxes["layer-panel"]["right"] + 4)
    for side in ("info-panel", "sensor-panel"):
        if boxes[side] and boxes[side]["left"] > (left + right) / 2:
            right = min(right, boxes[side]["left"] - 4)
    if boxes["dashboard"] and boxes["dashboard"]["top"] > (top + bottom) / 2:
        bottom = min(bottom, boxes["dashboard"]["top"] - 4)
    assert right - left > 200 and bottom - top > 200, f"the panels leave too little map visible: {boxes}"
    return {"x": left, "y": top, "width": right - left, "height": bottom - top}


def map_screenshot(viewer: ViewerPage, name: str) -> bytes:
    """A PNG of the visible map area (kept as an artefact)."""
    return bytes(viewer.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), clip=open_map_area(viewer)))


def settled_screenshot(viewer: ViewerPage, name: str, *, timeout_s: float = 20.0) -> bytes:
    """A screenshot of the map once two in a row no longer differ (camera easing and tiles done)."""
    deadline = time.monotonic() + timeout_s
    previous = map_screenshot(viewer, name)
    while time.monotonic() < deadline:
        viewer.page.wait_for_timeout(500)
        current = map_screenshot(viewer, name)
        if changed_share(previous, current) < 0.002:
            return current
        previous = current
    return previous


def map_canvas(viewer: ViewerPage) -> Any:
    """The canvas that takes the map's keyboard and mouse input."""
    canvases = viewer.page.get_by_test_id("map").locator("canvas")
    maplibre = viewer.page.get_by_test_id("map").locator("canvas.maplibregl-canvas")
    return maplibre.first if maplibre.count() else canvases.first


def press_on_map(viewer: ViewerPage, key: str, times: int) -> None:
    canvas = map_canvas(viewer)
    canvas.focus()
    for _ in range(times):
        viewer.page.keyboard.press(key)
        viewer.page.wait_for_timeout(350)  # MapLibre eases each step over 300 ms


def building_pixels(viewer: ViewerPage, wanted: int = 2) -> list[tuple[float, float, str]]:
    """Pixels of the open map area where ``pickAt`` selects ``wanted`` different buildings: (x, y,
    building id) in map-canvas pixels, in the order found (the last one is left selected).

    Each pick renders the picking buffer (slow in a software renderer), so the search visits a
    coarse grid from the centre outwards and stops early. The camera must be at rest first: a pick
    uses the view of the last frame drawn."""
    settled_screenshot(viewer, "before-picking")
    area = open_map_area(viewer)
    origin = viewer.page.get_by_test_id("map").bounding_box()
    assert origin, "the map element has no size"
    centre_x = area["x"] - origin["x"] + area["width"] / 2
    centre_y = area["y"] - origin["y"] + area["height"] / 2
    steps = [(dx, dy) for dx in range(-5, 6) for dy in range(-5, 6)]
    steps.sort(key=lambda step: step[0] ** 2 + step[1] ** 2)
    spacing = min(area["width"], area["height"]) / 12
    found: dict[str, tuple[float, float, str]] = {}
    for dx, dy in steps[:60]:
        x, y = centre_x + dx * spacing, centre_y + dy * spacing
        picked = viewer.page.evaluate("([x, y]) => window.tweeling.pickAt(x, y)", [x, y])
        if not picked or picked.get("kind") != "building" or picked.get("id") is None:
            continue
        building_id = str(picked["id"])
        if building_id not in found:
            found[building_id] = (x, y, building_id)
            if len(found) == wanted:
                return list(found.values())
    pytest.fail(
        f"pickAt hit {len(found)} of {wanted} buildings on 60 pixels of the map\n{viewer.diagnosis()}"
    )


def test_the_page_loads_the_whole_city(viewer: ViewerPage) -> None:
    state = viewer.state()
    assert state is not None, "window.tweeling is missing"
    assert state["ready"] is True
    assert state["buildingsLoaded"] == BUILDING_COUNT
    assert isinstance(state["firstFullFrameMs"], int | float) and state["firstFullFrameMs"] > 0
    assert state["buildingBytes"] > 0
    for testid in ("map", "layer-panel", "legend", "sensor-panel", "scenario-editor", "lang-toggle"):
        assert viewer.page.get_by_test_id(testid).count() == 1, f"data-testid={testid} is missing"
    assert {"pickAt", "drawPolygon"} <= set(state["hooks"]), f"test hooks missing: {state['hooks']}"


def test_a_token_stored_before_the_page_loaded_is_used_from_the_start(viewer: ViewerPage) -> None:
    """The session in sessionStorage is checked with /v1/auth/me (role badge), and the buildings the
    page fetched at start-up, while a preload of the public payload was under way, are the
    analyst's: with the personal column residents_est."""
    viewer.wait_for(
        "() => window.tweeling.session && window.tweeling.session.clearance === 'personal'",
        "the stored session confirmed by /v1/auth/me",
        20,
    )
    badge = viewer.page.get_by_test_id("role-badge")
    assert "analist" in badge.inner_text(), badge.inner_text()
    columns = viewer.page.evaluate("() => window.tweeling.buildingColumns")
    assert "residents_est" in columns, f"the analyst's buildings lack residents_est: {columns}"
    assert viewer.page.get_by_test_id("scenario-run").count() == 1, "no run button for an analyst"


def test_the_map_shows_extruded_buildings(viewer: ViewerPage) -> None:
    """Not blank (many colours, most pixels unlike the background), and 3D: zoomed in two levels,
    looking straight down (Shift+↓, as a user would) changes most of the picture, and the pitched
    view shows more shades of the building colours than the top-down one — the lit walls, which
    flat footprints or a view from above do not have."""
    overview = settled_screenshot(viewer, "city")
    stats = image_stats(overview)
    assert stats.distinct_colours >= 200, f"the map looks blank: {stats}"
    assert stats.not_background_share >= 0.3, f"the map is mostly background: {stats}"

    press_on_map(viewer, "Equal", ZOOM_IN_STEPS)
    pitched = settled_screenshot(viewer, "city-zoomed-pitched")
    press_on_map(viewer, "Shift+ArrowDown", MAX_PITCH_STEPS)
    top_down = settled_screenshot(viewer, "city-zoomed-top-down")
    press_on_map(viewer, "Shift+ArrowUp", MAX_PITCH_STEPS)
    press_on_map(viewer, "Minus", ZOOM_IN_STEPS)

    changed = changed_share(pitched, top_down)
    assert changed >= 0.3, f"looking straight down changed only {changed:.1%} of the map: no 3D camera?"
    walls, roofs = saturated_shades(pitched), saturated_shades(top_down)
    assert roofs > 20, f"no coloured buildings seen from above ({roofs} shades)"
    assert walls >= 1.2 * roofs, (
        f"the pitched view shows {walls} shades of the building colours, the top-down view {roofs}: "
        "no lit walls, so the buildings do not look extruded"
    )


def test_a_click_on_a_building_shows_its_attributes_and_sources(viewer: ViewerPage) -> None:
    """pickAt selects a building; a real mouse click on another one's pixel selects that one, and the
    info panel lists its attributes with their sources and 'estimated' markers."""
    (x, y, building_id), _ = building_pixels(viewer)
    box = viewer.page.get_by_test_id("map").bounding_box()
    viewer.page.mouse.click(box["x"] + x, box["y"] + y)
    viewer.wait_for(
        "(id) => window.tweeling.selected && String(window.tweeling.selected.id) === id",
        f"a mouse click at ({x:.0f}, {y:.0f}) selecting building {building_id}",
        10,
        arg=building_id,
    )
    panel = viewer.page.get_by_test_id("info-panel")
    panel.wait_for(state="visible", timeout=10_000)
    properties = httpx.get(
        f"{viewer.server.api}/collections/buildings/items/{building_id}", timeout=10
    ).json()["properties"]
    viewer.wait_for(
        "(id) => (document.querySelector('[data-testid=\"info-panel\"]')?.textContent ?? '').includes(id)",
        f"building {building_id} named in the info panel",
        10,
        arg=building_id,
    )
    text = panel.inner_text()
    viewer.screenshot("info-panel", testid="info-panel")
    assert any(v in text for v in number_variants(properties["height_m"])), (
        f"height {properties['height_m']} m is not in the info panel: {text[:600]!r}"
    )
    assert re.search(r"geschat|estimated", text, re.IGNORECASE), f"no 'estimated' marker: {text[:600]!r}"
    assert re.search(r"OpenStreetMap|OSM|BAG|CBS", text), f"no data source named: {text[:600]!r}"


def test_tab_reaches_the_layer_panel(viewer: ViewerPage) -> None:
    viewer.page.evaluate("() => { document.activeElement && document.activeElement.blur(); }")
    inside = "() => !!document.activeElement?.closest('[data-testid=\"layer-panel\"]')"
    for _ in range(80):
        viewer.page.keyboard.press("Tab")
        if viewer.page.evaluate(inside):
            tag = viewer.page.evaluate(
                "() => document.activeElement.tagName + ' ' + document.activeElement.type"
            )
            assert tag.split()[0] in {
                "INPUT",
                "BUTTON",
                "SELECT",
                "A",
                "SUMMARY",
                "DETAILS",
            } or viewer.page.evaluate("() => document.activeElement.tabIndex >= 0"), (
                f"focus landed on a non-control: {tag}"
            )
            return
    pytest.fail("80 presses of Tab never reached a control of the layer panel")


def test_a_pushed_sensor_value_appears_without_reload(viewer: ViewerPage, viewer_server: Any) -> None:
    values = viewer.page.locator('[data-testid^="sensor-value-"]')
    assert values.count() > 0, f"no data-testid=sensor-value-<id> in the sensor panel\n{viewer.diagnosis()}"
    shown = {
        int(t.removeprefix("sensor-value-"))
        for t in values.evaluate_all("els => els.map(e => e.dataset.testid)")
    }
    measurements = httpx.get(
        f"{viewer_server.root}/v1.1/Datastreams",
        params={"$select": "id,observationType", "$top": "1000"},
        timeout=10,
    ).json()["value"]
    candidates = sorted(
        d["@iot.id"] for d in measurements if d["observationType"] == MEASUREMENT and d["@iot.id"] in shown
    )
    assert candidates, f"none of the shown datastreams {sorted(shown)} is an OM_Measurement"
    datastream = candidates[0]
    navigations = viewer.page.evaluate("() => performance.getEntriesByType('navigation').length")
    marker = viewer.page.evaluate("() => (window.__tweelingNoReload = true)")

    response = httpx.post(
        f"{viewer_server.root}/v1.1/Datastreams({datastream})/Observations",
        json={"phenomenonTime": datetime.now(UTC).isoformat(timespec="seconds"), "result": PUSHED_VALUE},
        headers=server_bearer("data_owner"),
        timeout=10,
    )
    assert response.status_code == 201, response.text
    viewer.wait_for(
        "([id, value]) => { const u = window.tweeling.lastSensorUpdate;"
        " return u && u.datastream === id && u.value === value; }",
        f"window.tweeling.lastSensorUpdate for datastream {datastream} = {PUSHED_VALUE}",
        20,
        arg=[datastream, PUSHED_VALUE],
    )
    cell = viewer.page.get_by_test_id(f"sensor-value-{datastream}")
    viewer.wait_for(
        "(id) => /987/.test("
        "document.querySelector(`[data-testid=\"sensor-value-${id}\"]`)?.textContent ?? '')",
        f"987 shown in data-testid=sensor-value-{datastream}",
        10,
        arg=datastream,
    )
    assert re.search(r"987([.,]0+)?", cell.inner_text())
    assert marker and viewer.page.evaluate("() => window.__tweelingNoReload === true"), "the page reloaded"
    assert viewer.page.evaluate("() => performance.getEntriesByType('navigation').length") == navigations
    viewer.screenshot("sensor-pushed")


def test_a_scenario_drawn_and_run_from_the_ui_shows_a_difference_layer(viewer: ViewerPage) -> None:
    editor = viewer.page.get_by_test_id("scenario-editor")
    if not editor.is_visible():
        editor.scroll_into_view_if_needed()
    select = viewer.page.get_by_test_id("intervention-type")
    options = select.locator("option").evaluate_all(
        "els => els.map(e => ({value: e.value, text: e.textContent}))"
    )
    greening = [o for o in options if re.search(r"green|groen", f"{o['value']} {o['text']}", re.IGNORECASE)]
    assert greening, f"no greening intervention among {options}"
    select.select_option(greening[0]["value"])
    viewer.page.evaluate("(ring) => window.tweeling.drawPolygon(ring)", STATENPLEIN)
    viewer.page.get_by_test_id("scenario-run").click()
    viewer.wait_for(
        "() => { const r = window.tweeling.scenarioResult;"
        " return r && r.jobId && r.differenceLayers.length > 0; }",
        "window.tweeling.scenarioResult with difference layers after scenario-run",
        180,  # the first run computes the baseline of every impact model
    )
    result = viewer.state()["scenarioResult"]  # type: ignore[index]
    table = viewer.page.get_by_test_id("effects-table")
    table.wait_for(state="visible", timeout=10_000)
    assert table.inner_text().strip(), "the effects table is empty"
    choices = viewer.page.get_by_test_id("difference-layer-select")
    assert choices.count() == 1, "no data-testid=difference-layer-select"
    settled_screenshot(viewer, "scenario-difference")
    viewer.screenshot("scenario-page")
    assert result["differenceLayers"], result


def test_the_language_toggle_switches_to_english(viewer: ViewerPage) -> None:
    panel = viewer.page.get_by_test_id("layer-panel")
    toggle = viewer.page.get_by_test_id("lang-toggle")
    if viewer.state()["lang"] == "en":  # type: ignore[index]
        toggle.click()
        viewer.wait_for("() => window.tweeling.lang === 'nl'", "switching to Dutch", 5)
    dutch = panel.inner_text()
    toggle.click()
    viewer.wait_for("() => window.tweeling.lang === 'en'", "switching to English", 5)
    english = panel.inner_text()
    assert english != dutch, "the layer panel's text did not change with the language"
    assert viewer.page.evaluate("() => document.documentElement.lang").startswith("en")
    viewer.screenshot("english")


def test_no_javascript_errors(viewer: ViewerPage) -> None:
    """Nothing thrown uncaught, and nothing logged as an error (a shader that fails to compile, a
    request that failed) during the whole module."""
    assert not viewer.errors, f"uncaught errors in the page: {viewer.errors}"
    logged = [line for line in viewer.console if line.startswith("[error]")]
    assert not logged, f"errors logged to the console: {logged[:10]}"
