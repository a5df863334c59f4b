"""The authorisation matrix: every route of the API x every role, against an expectation kept here.

The routes are generated from the application (so a new route without an expected row fails this
test); the expectation is written independently of the policy code, by what each role should be
able to do. A request counts as refused by the policy when the access middleware answers 401/403
with code ``policy-denied``; anything else (200, 400, 404, 409, a service-level 403 for a record
the caller does not own) means the policy let it through.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.helpers import bearer
from tweeling.api.access import route_table
from tweeling.api.app import create_app
from tweeling.services.settings import Settings, load_settings

ROLES = ("public", "resident", "analyst", "data_owner", "ethics", "admin")
EVERYONE = frozenset(ROLES)
LOGGED_IN = EVERYONE - {"public"}
RUNNERS = frozenset({"resident", "analyst", "data_owner", "admin"})
"""Who may run scenarios and keep their own."""
SUBMITTERS = RUNNERS
"""Who may ask the ethics committee for a review."""
WRITERS = frozenset({"data_owner", "admin"})
"""Who may write data (sensors, observations, alert rules)."""
COMMITTEE = frozenset({"ethics"})
"""Who comments on and decides reviews: committee members only, not administrators."""
AUDITORS = frozenset({"ethics", "admin"})
ADMINS = frozenset({"admin"})

EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    # service, viewer, basemap: the public twin
    ("GET", "/"): EVERYONE,
    ("GET", "/v1"): EVERYONE,
    ("GET", "/v1/health"): EVERYONE,
    ("GET", "/v1/openapi.json"): EVERYONE,
    ("GET", "/v1/docs"): EVERYONE,
    ("GET", "/docs/oauth2-redirect"): EVERYONE,
    ("*", "/viewer"): EVERYONE,
    ("GET", "/v1/basemap/tiles/{z}/{x}/{y}.pbf"): EVERYONE,
    ("GET", "/v1/basemap/tiles.json"): EVERYONE,
    ("GET", "/v1/basemap/style.json"): EVERYONE,
    ("GET", "/v1/viewer/buildings.arrow"): EVERYONE,
    ("GET", "/v1/viewer/layers"): EVERYONE,
    ("GET", "/v1/viewer/indicators/{level}.arrow"): EVERYONE,
    # OGC API - Features: open layers for everyone (personal fields are filtered, not refused)
    ("GET", "/v1/conformance"): EVERYONE,
    ("GET", "/v1/collections"): EVERYONE,
    ("GET", "/v1/collections/{collection_id}"): EVERYONE,
    ("GET", "/v1/collections/{collection_id}/queryables"): EVERYONE,
    ("GET", "/v1/collections/{collection_id}/items"): EVERYONE,
    ("GET", "/v1/collections/{collection_id}/items/{feature_id}"): EVERYONE,
    # sensors: everyone reads, data owners write
    ("GET", "/v1/sensors/aggregates"): EVERYONE,
    ("GET", "/v1/sensors/alerts"): EVERYONE,
    ("GET", "/v1/sensors/alert-rules"): EVERYONE,
    ("POST", "/v1/sensors/alert-rules"): WRITERS,
    ("DELETE", "/v1/sensors/alert-rules/{rule_id}"): WRITERS,
    ("GET", "/v1/sensors/live"): EVERYONE,
    ("GET", "/v1.1"): EVERYONE,
    ("POST", "/v1.1/CreateObservations"): WRITERS,
    ("GET", "/v1.1/{path:path}"): EVERYONE,
    ("POST", "/v1.1/{path:path}"): WRITERS,
    ("PATCH", "/v1.1/{path:path}"): WRITERS,
    ("PUT", "/v1.1/{path:path}"): WRITERS,
    ("DELETE", "/v1.1/{path:path}"): WRITERS,
    # scenarios and processes: everyone reads what is published, logged-in runners run and keep
    ("GET", "/v1/processes"): EVERYONE,
    ("GET", "/v1/processes/{process_id}"): EVERYONE,
    ("POST", "/v1/processes/{process_id}/execution"): RUNNERS,
    ("GET", "/v1/scenarios"): EVERYONE,
    ("POST", "/v1/scenarios"): RUNNERS,
    ("GET", "/v1/scenarios/compare"): EVERYONE,
    ("GET", "/v1/scenarios/{scenario_id}"): EVERYONE,
    ("PUT", "/v1/scenarios/{scenario_id}"): RUNNERS,
    ("DELETE", "/v1/scenarios/{scenario_id}"): RUNNERS,
    ("GET", "/v1/scenarios/{scenario_id}/versions"): EVERYONE,
    ("POST", "/v1/scenarios/{scenario_id}/copy"): RUNNERS,
    ("GET", "/v1/models"): EVERYONE,
    ("GET", "/v1/models/{model_id}"): EVERYONE,
    # jobs: the route is open, the service shows a job to its owner, analysts+ and (published) everyone
    ("GET", "/v1/jobs"): EVERYONE,
    ("GET", "/v1/jobs/{job_id}"): EVERYONE,
    ("GET", "/v1/jobs/{job_id}/results"): EVERYONE,
    ("GET", "/v1/jobs/{job_id}/files/{name}"): EVERYONE,
    ("GET", "/v1/jobs/{job_id}/layers/{level}.arrow"): EVERYONE,
    ("DELETE", "/v1/jobs/{job_id}"): RUNNERS,
    # identity: anyone may try to log in; users and roles are the administrator's
    ("POST", "/v1/auth/token"): EVERYONE,
    ("GET", "/v1/auth/me"): EVERYONE,
    ("POST", "/v1/auth/revoke"): EVERYONE,
    ("GET", "/v1/users"): ADMINS,
    ("POST", "/v1/users"): ADMINS,
    ("GET", "/v1/users/{username}"): ADMINS,
    ("PATCH", "/v1/users/{username}"): ADMINS,
    ("POST", "/v1/users/{username}/revoke-tokens"): ADMINS,
    # audit trail: the committee and administrators
    ("GET", "/v1/audit"): AUDITORS,
    ("GET", "/v1/audit/verify"): AUDITORS,
    # catalogue and registers: public by design (transparency)
    ("GET", "/v1/catalogue"): EVERYONE,
    ("GET", "/v1/catalogue/{dataset_id}"): EVERYONE,
    ("GET", "/v1/catalogue/{dataset_id}/lineage"): EVERYONE,
    ("GET", "/v1/catalogue/runs/{job_id}/lineage"): EVERYONE,
    ("GET", "/v1/algorithms"): EVERYONE,
    ("GET", "/v1/algorithms/export"): EVERYONE,
    ("GET", "/v1/algorithms/schema"): EVERYONE,
    ("GET", "/v1/algorithms/{model_id}"): EVERYONE,
    ("PUT", "/v1/algorithms/{model_id}/status"): ADMINS,
    ("GET", "/v1/registers/sensors"): EVERYONE,
    # ethics reviews: submitters ask, the committee decides, decided reviews are public
    ("POST", "/v1/reviews"): SUBMITTERS,
    ("GET", "/v1/reviews"): EVERYONE,
    ("GET", "/v1/reviews/questions"): EVERYONE,
    ("GET", "/v1/reviews/{review_id}"): EVERYONE,
    ("POST", "/v1/reviews/{review_id}/comments"): COMMITTEE,
    ("POST", "/v1/reviews/{review_id}/responses"): SUBMITTERS,
    ("POST", "/v1/reviews/{review_id}/decisions"): COMMITTEE,
    ("POST", "/v1/reviews/{review_id}/withdraw"): SUBMITTERS,
    # statistics of personal data: everyone, aggregated and suppressed below analyst
    ("GET", "/v1/statistics"): EVERYONE,
    ("GET", "/v1/statistics/{dataset_id}"): EVERYONE,
    ("POST", "/v1/statistics/{dataset_id}/area"): EVERYONE,
}

EXAMPLE_PARAMS = {
    "collection_id": "buildings",
    "feature_id": "1",
    "z": "14",
    "x": "8410",
    "y": "5395",
    "level": "buurt",
    "path": "Things",
    "rule_id": "999999",
    "process_id": "scenario",
    "job_id": "no-such-job",
    "name": "summary.json",
    "scenario_id": "no-such-scenario",
    "model_id": "traffic",
    "username": "nobody",
    "review_id": "no-such-review",
    "dataset_id": "buildings",
}


def concrete(path: str) -> str:
    """An example URL for a route template."""
    for name, value in EXAMPLE_PARAMS.items():
        path = path.replace(f"{{{name}:path}}", value).replace(f"{{{name}}}", value)
    assert "{" not in path, f"add an example value for {path}"
    return path


def routes(settings: Settings) -> list[tuple[str, str]]:
    """(method, path template) of every route of the app; '*' for a mounted app."""
    app = create_app(settings)
    found = []
    for entry in route_table(app):
        methods = sorted(entry.methods - {"HEAD"}) or ["*"]
        found += [(method, entry.path) for method in methods]
    return found


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("matrix")
    return load_settings(store_url=f"duckdb://{folder / 'empty.duckdb'}", data_dir=folder)


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_every_route_has_an_expected_row(settings: Settings) -> None:
    missing = [f"{method} {path}" for method, path in routes(settings) if (method, path) not in EXPECTED]
    assert not missing, f"routes without a row in the authorisation matrix: {missing}"
    stale = sorted(set(EXPECTED) - set(routes(settings)))
    assert not stale, f"rows for routes that no longer exist: {stale}"


def refused_by_policy(response_status: int, body: object) -> bool:
    return response_status in (401, 403) and isinstance(body, dict) and body.get("code") == "policy-denied"


@pytest.mark.parametrize("role", ROLES)
def test_authorisation_matrix(role: str, settings: Settings, client: TestClient) -> None:
    """Each role reaches exactly the routes its row allows; all others are refused by the policy."""
    unexpected = []
    for method, path in routes(settings):
        url = concrete(path if method != "*" else f"{path}/")
        headers = {} if role == "public" else bearer(settings, role)
        if path.endswith("/live"):
            continue  # an endless event stream, open to every role (public client: test_sensorthings_server)
        response = client.request(method if method != "*" else "GET", url, headers=headers, json={})
        try:
            body = response.json()
        except ValueError:
            body = None
        refused = refused_by_policy(response.status_code, body)
        allowed = role in EXPECTED.get((method, path), frozenset())
        if allowed == refused:
            expected = "allowed" if allowed else "refused"
            unexpected.append(f"{role} {method} {url}: {response.status_code} (expected {expected})")
        if refused:
            assert response.status_code == (401 if role == "public" else 403), url
    assert not unexpected, "\n".join(unexpected)
