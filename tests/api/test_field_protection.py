"""Personal fields of a layer (``buildings.residents_est``, per the dataset catalogue) never reach
roles below analyst: not in features, queryables, filters, sorting, HTML or the viewer's payloads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from tests.helpers import bearer
from tweeling.api.app import create_app
from tweeling.governance.roles import ANONYMOUS, Principal, Role
from tweeling.services.settings import Settings, load_settings

ITEMS = "/v1/collections/buildings/items"
PERSONAL = {"residents_est", "residents_source"}


@pytest.fixture(scope="module")
def settings(demo_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return load_settings(store_url=demo_store_url, data_dir=tmp_path_factory.mktemp("fields"))


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def as_role(settings: Settings, role: str | None) -> dict[str, str]:
    return {} if role is None else bearer(settings, role)


def arrow(response: Any) -> pa.Table:
    return pa.ipc.open_stream(response.content).read_all()


def test_the_catalogue_classifies_residents_per_building_as_personal(client: TestClient) -> None:
    governance = client.app.state.governance  # type: ignore[attr-defined]
    assert governance.hidden_fields("buildings", ANONYMOUS) == {"residents_est"}
    analyst = Principal("a", frozenset({Role.ANALYST}), token_id="t")
    assert governance.hidden_fields("buildings", analyst) == frozenset()


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        (None, False),
        ("resident", False),
        ("ethics", False),
        ("analyst", True),
        ("data_owner", True),
        ("admin", True),
    ],
)
def test_features_carry_personal_fields_only_for_cleared_roles(
    client: TestClient, settings: Settings, role: str | None, sees: bool
) -> None:
    headers = as_role(settings, role)
    page = client.get(ITEMS, params={"limit": 5}, headers=headers).json()
    for feature in page["features"]:
        assert (set(feature["properties"]) >= PERSONAL) is sees
        assert "dwellings_est" in feature["properties"]  # public data stays
    one = client.get(f"{ITEMS}/528", headers=headers).json()
    assert (set(one["properties"]) >= PERSONAL) is sees
    if not sees:
        assert not PERSONAL & set(one["properties"])
    queryables = client.get("/v1/collections/buildings/queryables", headers=headers).json()["properties"]
    assert (set(queryables) >= PERSONAL) is sees
    html = client.get(f"{ITEMS}/528", params={"f": "html"}, headers=headers).text
    assert ("residents_est" in html) is sees
    collection = client.get("/v1/collections/buildings", headers=headers).json()
    assert ("residents_est" in collection["x-estimated-fields"]) is sees


@pytest.mark.parametrize(
    ("hidden", "unknown"),
    [
        ({"filter": "residents_est > 3"}, {"filter": "nobody_here > 3"}),
        (
            {"filter": "dwellings_est > 1 AND residents_source = 'none'"},
            {"filter": "dwellings_est > 1 AND nobody_here = 'none'"},
        ),
        ({"sortby": "-residents_est"}, {"sortby": "-nobody_here"}),
        ({"residents_est": "2"}, {"nobody_here": "2"}),
    ],
)
def test_filtering_or_sorting_on_a_hidden_field_is_an_unknown_property(
    client: TestClient, settings: Settings, hidden: dict[str, str], unknown: dict[str, str]
) -> None:
    refused = client.get(ITEMS, params=hidden)
    assert refused.status_code == 400 and refused.headers["content-type"] == "application/problem+json"
    detail = refused.json()["detail"]
    assert "unknown" in detail
    # the same answer as for a field that does not exist (same list of what is allowed), so the
    # refusal is no side channel; the hidden names are not offered
    other = client.get(ITEMS, params=unknown)
    assert other.status_code == 400
    allowed = detail.rsplit(": ", 1)[-1]
    assert allowed == other.json()["detail"].rsplit(": ", 1)[-1]
    assert "residents" not in allowed
    cleared = client.get(ITEMS, params={**hidden, "limit": "1"}, headers=bearer(settings, "analyst"))
    assert cleared.status_code == 200, cleared.text


def test_the_viewer_payload_has_a_public_variant_without_personal_fields(
    client: TestClient, settings: Settings
) -> None:
    public = client.get("/v1/viewer/buildings.arrow")
    detailed = client.get("/v1/viewer/buildings.arrow", headers=bearer(settings, "analyst"))
    assert public.status_code == detailed.status_code == 200
    public_table, detailed_table = arrow(public), arrow(detailed)
    assert not PERSONAL & set(public_table.column_names)
    assert set(detailed_table.column_names) >= PERSONAL
    assert public_table.num_rows == detailed_table.num_rows == 65_796
    assert set(detailed_table.column_names) - set(public_table.column_names) == PERSONAL
    assert public.headers["etag"] != detailed.headers["etag"]
    assert "Authorization" in public.headers["vary"] and public.headers["cache-control"] == "no-cache"
    assert detailed.headers["cache-control"] == "private, no-cache"
    resident = client.get("/v1/viewer/buildings.arrow", headers=bearer(settings, "resident"))
    assert resident.headers["etag"] == public.headers["etag"]
    again = client.get("/v1/viewer/buildings.arrow", headers={"If-None-Match": public.headers["etag"]})
    assert again.status_code == 304


def test_the_viewer_catalogue_lists_personal_attributes_only_for_cleared_roles(
    client: TestClient, settings: Settings
) -> None:
    def attributes(headers: dict[str, str]) -> set[str]:
        layers = client.get("/v1/viewer/layers", headers=headers).json()["layers"]
        (buildings,) = [layer for layer in layers if layer["id"] == "buildings"]
        return {attribute["name"] for attribute in buildings["attributes"]}

    assert "residents_est" not in attributes({}) and "dwellings_est" in attributes({})
    assert "residents_est" in attributes(bearer(settings, "analyst"))
