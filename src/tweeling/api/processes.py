"""OGC API – Processes 1.0 for scenario runs, plus stored scenarios and the model catalogue.

- ``/v1/processes``, ``/v1/processes/run-scenario``: process list and description;
  ``POST .../execution`` runs a scenario synchronously (200 with the results, kept as a
  successful job whose ``jobID`` the response gives, for its viewer layers) or, with
  ``Prefer: respond-async``, as a job (201, ``Location: /v1/jobs/{id}``).
- ``/v1/jobs``, ``/v1/jobs/{id}``, ``/v1/jobs/{id}/results``, ``DELETE /v1/jobs/{id}``; the viewer's
  layers of a job, ``/v1/jobs/{id}/layers/{level}.arrow``, are served by ``tweeling.api.viewer``.
- ``/v1/scenarios`` (list, create), ``/v1/scenarios/{id}`` (get, new version, delete),
  ``/v1/scenarios/{id}/versions``, ``/v1/scenarios/{id}/copy``,
  ``/v1/scenarios/compare?first=&second=``.
- ``/v1/models``, ``/v1/models/{id}``: the impact models with their algorithm-register entries.

Who sees and changes what (see docs/governance/reviews.md): a stored scenario's author is the
account that created it; the public sees published scenario versions and public jobs; residents
also their own; analysts, data owners, administrators and the ethics committee see all. Only the
author (or an administrator) changes or deletes a scenario; anyone who may run models copies a
scenario they can see. Every run is audited (``scenario-run``).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from tweeling.api.access import principal_of, requires
from tweeling.core.errors import InvalidInputError, NotFoundError, TweelingError
from tweeling.governance.roles import Action, Principal
from tweeling.scenarios.interventions import Scenario
from tweeling.services.jobs import PROCESS_ID, JobManager
from tweeling.services.scenarios import ScenarioService, describe_model, parse_scenario
from tweeling.services.viewer import ARROW_STREAM, LEVELS

PROCESSES_CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/ogc-process-description",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/job-list",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/dismiss",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/oas30",
]

JSON = "application/json"


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        raise InvalidInputError("the request has no body; send a JSON document")
    try:
        return json.loads(raw)
    except ValueError as error:
        raise InvalidInputError(f"the request body is not valid JSON ({error})") from None


def _link(href: str, rel: str, title: str, media: str = JSON) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media, "title": title}


def _audit_run(
    request: Request, principal: Principal, scenario: Scenario, details: dict[str, Any], outcome: str = "ok"
) -> None:
    """One ``scenario-run`` entry per run: who, which process and scenario, and the models run."""
    governance = request.app.state.governance
    governance.audit.append(
        actor=principal.subject,
        roles=sorted(principal.roles),
        action="scenario-run",
        target=f"process {PROCESS_ID}",
        outcome=outcome,
        details={"process": PROCESS_ID, "scenario": scenario.name, **details},
    )


def build_processes_router(service: ScenarioService, jobs: JobManager, base_path: str) -> APIRouter:
    """The routes above, over one scenario service and one job manager."""
    router = APIRouter(prefix=base_path, tags=["OGC API – Processes (scenarios)"])

    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/") + base_path

    def summary(root: str) -> dict[str, Any]:
        return {
            "id": PROCESS_ID,
            "title": "Run a scenario on the Dordrecht twin",
            "description": (
                "Apply a scenario's interventions to the baseline city, run every impact model (traffic, "
                "air, noise, heat, proximity, demography, care, liveability) and return baseline, "
                "scenario and difference of every indicator, with an effects table."
            ),
            "version": "1.0.0",
            "jobControlOptions": ["sync-execute", "async-execute", "dismiss"],
            "outputTransmission": ["value"],
            "links": [_link(f"{root}/processes/{PROCESS_ID}", "self", "Process description")],
        }

    def layer_links(href: str) -> list[dict[str, str]]:
        return [
            _link(f"{href}/layers/{level}.arrow", "alternate", f"Viewer layer: {level}", ARROW_STREAM)
            for level in LEVELS
        ]

    def job_document(record: dict[str, Any], root: str) -> dict[str, Any]:
        href = f"{root}/jobs/{record['jobID']}"
        links = [_link(href, "self", "Job status")]
        if record["status"] == "successful":
            links.append(
                _link(f"{href}/results", "http://www.opengis.net/def/rel/ogc/1.0/results", "Results")
            )
            links += layer_links(href)
        return {**record, "links": links}

    def results_document(document: dict[str, Any], root: str, job_id: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"comparison": document, "summary": document["summary"]}
        if job_id is not None:
            href = f"{root}/jobs/{job_id}"
            present = jobs.result_names(job_id)
            out["jobID"] = job_id
            out["files"] = [
                _link(f"{href}/files/{name}", "enclosure", name, media)
                for name, media in (
                    ("buurten.geojson", "application/geo+json"),
                    ("grid.geojson", "application/geo+json"),
                    ("roads.geojson", "application/geo+json"),
                    ("buildings.geojson", "application/geo+json"),
                    ("buurten.parquet", "application/vnd.apache.parquet"),
                    ("city.csv", "text/csv"),
                    ("effects.csv", "text/csv"),
                    ("summary.txt", "text/plain"),
                )
                if name in present
            ]
            out["links"] = [_link(href, "monitor", "Job status"), *layer_links(href)]
        return out

    @router.get("/processes", summary="Process list")
    @requires(Action.READ)
    def processes(request: Request) -> JSONResponse:
        root = base(request)
        return JSONResponse(
            {"processes": [summary(root)], "links": [_link(f"{root}/processes", "self", "Processes")]}
        )

    @router.get("/processes/{process_id}", summary="Process description")
    @requires(Action.READ)
    def process(process_id: str, request: Request) -> JSONResponse:
        if process_id != PROCESS_ID:
            raise NotFoundError(f"no process {process_id!r}; processes: {PROCESS_ID}")
        document = summary(base(request))
        document["inputs"] = {
            "scenario": {
                "title": "Scenario",
                "description": "A scenario document (name, baseline, interventions); or give scenario_id.",
                "minOccurs": 0,
                "schema": Scenario.model_json_schema(),
            },
            "scenario_id": {
                "title": "Stored scenario",
                "description": "Id of a stored scenario (latest version unless version is given).",
                "minOccurs": 0,
                "schema": {"type": "string"},
            },
            "version": {
                "title": "Version of the stored scenario",
                "minOccurs": 0,
                "schema": {"type": "integer"},
            },
        }
        document["outputs"] = {
            "comparison": {
                "title": "Baseline, scenario and difference of every citywide indicator; effects table",
                "schema": {"type": "object", "contentMediaType": JSON},
            },
            "summary": {
                "title": "Short text summary",
                "schema": {"type": "string", "contentMediaType": "text/plain"},
            },
        }
        return JSONResponse(document)

    def scenario_from_inputs(body: Any, principal: Principal) -> tuple[Scenario, str | None, int | None]:
        """The scenario to run, with its stored id and version when it is a stored one the caller
        may see."""
        if not isinstance(body, dict) or not isinstance(body.get("inputs"), dict):
            raise InvalidInputError(
                'send {"inputs": {"scenario": {...}}} or {"inputs": {"scenario_id": "..."}}'
            )
        inputs = body["inputs"]
        if "scenario" in inputs:
            return parse_scenario(inputs["scenario"]), None, None
        if "scenario_id" in inputs:
            version = inputs.get("version")
            if version is not None and not isinstance(version, int):
                raise InvalidInputError("inputs.version must be an integer")
            document = service.visible(str(inputs["scenario_id"]), principal, version)
            return parse_scenario(document["scenario"]), document["id"], int(document["version"])
        raise InvalidInputError("inputs need scenario (a document) or scenario_id (a stored scenario)")

    @router.post("/processes/{process_id}/execution", summary="Execute (sync, or async with Prefer)")
    @requires(Action.RUN_MODEL)
    async def execute(process_id: str, request: Request) -> Response:
        if process_id != PROCESS_ID:
            raise NotFoundError(f"no process {process_id!r}; processes: {PROCESS_ID}")
        principal = principal_of(request)
        scenario, scenario_id, version = scenario_from_inputs(await _body(request), principal)
        root = base(request)
        public = (
            scenario_id is not None and version is not None and service.is_published(scenario_id, version)
        )
        job = {"scenario_id": scenario_id, "version": version, "owner": principal.subject, "public": public}
        models = sorted(service.registry.models)
        if "respond-async" in request.headers.get("prefer", ""):
            record = jobs.submit(scenario, **job)
            _audit_run(
                request,
                principal,
                scenario,
                {**job, "job_id": record["jobID"], "mode": "async", "models": models},
            )
            return JSONResponse(
                job_document(jobs.view(record, principal), root),
                status_code=201,
                headers={"Location": f"{root}/jobs/{record['jobID']}", "Preference-Applied": "respond-async"},
            )
        try:
            run = await run_in_threadpool(service.run, scenario)
        except TweelingError as error:
            details = {**job, "mode": "sync", "models": models, "reason": error.message}
            _audit_run(request, principal, scenario, details, outcome="failed")
            raise
        record = await run_in_threadpool(lambda: jobs.record_run(run, **job))
        _audit_run(
            request,
            principal,
            scenario,
            {
                **job,
                "job_id": record["jobID"],
                "mode": "sync",
                "models": models,
                "recomputed": list(run.evaluation.recomputed),
            },
        )
        return JSONResponse(
            results_document(run.as_document(), root, record["jobID"]),
            headers={"Link": f'<{root}/jobs/{record["jobID"]}>; rel="monitor"'},
        )

    @router.get("/jobs", summary="Job list (own and public jobs; all for analysts and the committee)")
    @requires(Action.READ)
    def job_list(request: Request) -> JSONResponse:
        root = base(request)
        return JSONResponse(
            {
                "jobs": [job_document(r, root) for r in jobs.visible_list(principal_of(request))],
                "links": [_link(f"{root}/jobs", "self", "Jobs")],
            }
        )

    @router.get("/jobs/{job_id}", summary="Job status")
    @requires(Action.READ)
    def job_status(job_id: str, request: Request) -> JSONResponse:
        principal = principal_of(request)
        return JSONResponse(
            job_document(jobs.view(jobs.require_visible(job_id, principal), principal), base(request))
        )

    @router.get("/jobs/{job_id}/results", summary="Job results")
    @requires(Action.READ)
    def job_results(job_id: str, request: Request) -> JSONResponse:
        jobs.require_visible(job_id, principal_of(request))
        return JSONResponse(results_document(jobs.results(job_id), base(request), job_id))

    @router.get("/jobs/{job_id}/files/{name}", summary="One result file of a job")
    @requires(Action.READ)
    def job_file(job_id: str, name: str, request: Request) -> FileResponse:
        jobs.require_visible(job_id, principal_of(request))
        return FileResponse(jobs.result_file(job_id, name))

    @router.delete("/jobs/{job_id}", summary="Dismiss a job (its owner, or an administrator)")
    @requires(Action.RUN_MODEL)
    def dismiss(job_id: str, request: Request) -> JSONResponse:
        return JSONResponse(job_document(jobs.dismiss_as(job_id, principal_of(request)), base(request)))

    # -- stored scenarios --------------------------------------------------------------------

    @router.get("/scenarios", summary="Stored scenarios (published ones; also own, or all for analysts)")
    @requires(Action.READ)
    def scenario_list(request: Request) -> JSONResponse:
        root = base(request)
        items = [
            {**item, "links": [_link(f"{root}/scenarios/{item['id']}", "self", item["name"])]}
            for item in service.visible_catalogue(principal_of(request))
        ]
        return JSONResponse({"scenarios": items, "links": [_link(f"{root}/scenarios", "self", "Scenarios")]})

    @router.post("/scenarios", summary="Store a new scenario", status_code=201)
    @requires(Action.RUN_MODEL)
    async def scenario_create(request: Request) -> JSONResponse:
        body = await _body(request)
        document = service.save(parse_scenario(body), author=principal_of(request).subject)
        href = f"{base(request)}/scenarios/{document['id']}"
        return JSONResponse(document, status_code=201, headers={"Location": href})

    @router.get("/scenarios/compare", summary="Compare two stored scenarios (citywide indicators)")
    @requires(Action.READ)
    def scenario_compare(first: str, second: str, request: Request) -> JSONResponse:
        principal = principal_of(request)
        documents = [service.visible(scenario_id, principal) for scenario_id in (first, second)]
        scenarios = [parse_scenario(document["scenario"]) for document in documents]
        for document, scenario in zip(documents, scenarios, strict=True):
            details = {"scenario_id": document["id"], "version": document["version"], "mode": "compare"}
            _audit_run(request, principal, scenario, {**details, "models": sorted(service.registry.models)})
        table = service.compare(*scenarios)
        rows = json.loads(table.reset_index().to_json(orient="records"))
        return JSONResponse({"first": first, "second": second, "indicators": rows})

    @router.get("/scenarios/{scenario_id}", summary="A stored scenario")
    @requires(Action.READ)
    def scenario_get(scenario_id: str, request: Request, version: int | None = None) -> JSONResponse:
        return JSONResponse(service.visible(scenario_id, principal_of(request), version))

    @router.put("/scenarios/{scenario_id}", summary="Store a new version of a scenario (its author)")
    @requires(Action.RUN_MODEL)
    async def scenario_put(scenario_id: str, request: Request) -> JSONResponse:
        service.require_change(scenario_id, principal_of(request))
        body = await _body(request)
        scenario = parse_scenario(body)
        return JSONResponse(service.save(scenario, scenario_id))

    @router.delete(
        "/scenarios/{scenario_id}", summary="Delete a stored scenario (its author)", status_code=204
    )
    @requires(Action.RUN_MODEL)
    def scenario_delete(scenario_id: str, request: Request) -> Response:
        principal = principal_of(request)
        service.require_change(scenario_id, principal)
        published = service.published_versions(scenario_id)
        service.delete(scenario_id)
        if published:
            request.app.state.governance.audit.append(
                actor=principal.subject,
                roles=sorted(principal.roles),
                action="scenario-published",
                target=f"scenario {scenario_id}",
                outcome="retracted",
                details={"versions": published, "private_jobs": jobs.unpublish(scenario_id)},
            )
        return Response(status_code=204)

    @router.get("/scenarios/{scenario_id}/versions", summary="Versions of a stored scenario")
    @requires(Action.READ)
    def scenario_versions(scenario_id: str, request: Request) -> JSONResponse:
        versions = service.visible_versions(scenario_id, principal_of(request))
        return JSONResponse(
            {"id": scenario_id, "versions": versions, "published": service.published_versions(scenario_id)}
        )

    @router.post(
        "/scenarios/{scenario_id}/copy", summary="Copy a stored scenario as your own", status_code=201
    )
    @requires(Action.RUN_MODEL)
    def scenario_copy(scenario_id: str, request: Request, name: str | None = None) -> JSONResponse:
        principal = principal_of(request)
        source = service.visible(scenario_id, principal)
        document = service.copy(scenario_id, name=name, author=principal.subject, version=source["version"])
        href = f"{base(request)}/scenarios/{document['id']}"
        return JSONResponse(document, status_code=201, headers={"Location": href})

    # -- models ---------------------------------------------------------------------------

    @router.get("/models", summary="Impact models and their algorithm-register entries")
    @requires(Action.READ)
    def models() -> JSONResponse:
        return JSONResponse(
            {
                "models": [describe_model(model) for model in service.registry.models.values()],
                "unavailable": service.registry.unavailable,
            }
        )

    @router.get("/models/{model_id}", summary="One impact model")
    @requires(Action.READ)
    def model(model_id: str) -> JSONResponse:
        found = service.registry.models.get(model_id)
        if found is None:
            raise NotFoundError(f"no model {model_id!r}; models: {', '.join(service.registry.models)}")
        return JSONResponse(describe_model(found))

    return router
