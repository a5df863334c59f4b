"""Asynchronous scenario jobs with a persistent job store (OGC API – Processes job model).

A job's status record (accepted → running → successful | failed, or dismissed) is a file beside
the store, replaced atomically at each step, so job status survives a server restart; a job that
was accepted or running when the server stopped is marked failed on the next start. Results
(``result.json``, the viewer's Arrow layers and the output files) are written to the job's folder
before it is marked successful. One worker thread runs jobs in order: scenario runs are CPU-bound
and the two cores are better used by one run at a time than by two competing ones.

A synchronous run is kept as a job too (:meth:`JobManager.record_run`), with its results and viewer
layers but without the export files, so that the viewer fetches every run's layers by job id.

Every job records its ``owner`` (the account that started it) and whether it is ``public``: a run
of a stored scenario at a version approved for publication is public, and publishing a scenario
starts one such run (:meth:`JobManager.publication_run`). A job is visible to its owner, to everyone
when it is public, and to analysts, data owners, administrators and the ethics committee.
"""

from __future__ import annotations

import builtins
import json
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tweeling.core.errors import NotFoundError, PermissionDeniedError, TweelingError
from tweeling.core.times import now_stamp
from tweeling.governance.roles import Principal, Role
from tweeling.scenarios.interventions import Scenario
from tweeling.services.scenario_outputs import write_outputs
from tweeling.services.scenarios import ScenarioRun, ScenarioService, owns, reads_all_scenarios
from tweeling.services.viewer import job_layer, require_level, write_scenario_layers
from tweeling.store.documents import DocumentStore, write_atomic

log = logging.getLogger(__name__)

PROCESS_ID = "run-scenario"
FINISHED = ("successful", "failed", "dismissed")


class ResultNotReadyError(TweelingError):
    """The job has not finished successfully (yet)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 404, "result-not-ready", "Result not ready")


class JobManager:
    """Submit scenario runs, follow their status and fetch their results."""

    def __init__(self, service: ScenarioService, root: Path | None = None) -> None:
        self.service = service
        self.jobs = DocumentStore(root or service.settings.data_dir, "jobs")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scenario-job")
        self._recover()
        service.publication_runner = self.publication_run

    def _recover(self) -> None:
        for record in self.jobs.records():
            if record["status"] not in FINISHED:
                record.update(
                    status="failed", message="the server stopped before the job finished", updated=now_stamp()
                )
                self.jobs.put_record(record["jobID"], record)

    def submit(
        self,
        scenario: Scenario,
        *,
        scenario_id: str | None = None,
        version: int | None = None,
        owner: str | None = None,
        public: bool = False,
    ) -> dict[str, Any]:
        """Accept a job for ``scenario`` (``version`` of stored ``scenario_id``, if stored) started by
        ``owner`` and start it in the background; returns its status record."""
        record = self._new_job(
            scenario,
            scenario_id,
            status="accepted",
            message="waiting for a worker",
            scenario_version=version,
            owner=owner,
            public=public,
        )
        try:
            self._executor.submit(self._execute, record["jobID"], scenario)
        except RuntimeError:  # closed: the server is stopping
            self._update(record["jobID"], status="failed", message="the server is stopping; run it again")
            raise
        return record

    def publication_run(self, scenario_id: str, version: int, owner: str) -> dict[str, Any]:
        """Run a just-published scenario version as a public job (owned by the scenario's author)."""
        scenario = self.service.stored(scenario_id, version)
        return self.submit(scenario, scenario_id=scenario_id, version=version, owner=owner, public=True)

    def _new_job(self, scenario: Scenario, scenario_id: str | None, **state: Any) -> dict[str, Any]:
        """Store a new job for ``scenario`` with the fields ``state`` (status, owner, ...); returns
        its record."""
        job_id = uuid.uuid4().hex
        created = now_stamp()
        record = {
            "jobID": job_id,
            "processID": PROCESS_ID,
            "type": "process",
            "created": created,
            "updated": created,
            "progress": 0,
            "owner": None,
            "public": False,
            "scenario_version": None,
            **state,
            "scenario": scenario.name,
            "scenario_id": scenario_id,
        }
        self.jobs.save(job_id, {"scenario": scenario.model_dump(mode="json"), "scenario_id": scenario_id})
        self.jobs.put_record(job_id, record)
        return record

    def _update(self, job_id: str, **changes: Any) -> None:
        record = self.jobs.record(job_id)
        if record["status"] == "dismissed":
            return
        record.update(changes, updated=now_stamp())
        self.jobs.put_record(job_id, record)

    def _execute(self, job_id: str, scenario: Scenario) -> None:
        if self.jobs.record(job_id)["status"] == "dismissed":
            return
        self._update(
            job_id, status="running", started=now_stamp(), message="running the impact models", progress=10
        )
        try:
            run = self.service.run(scenario)
            folder = self._write_results(job_id, run)
            write_outputs(run, self.service.city().buildings, folder, ("geoparquet", "geojson", "csv"))
        except TweelingError as error:
            self._update(job_id, status="failed", finished=now_stamp(), message=error.message)
            return
        except Exception:
            log.exception("scenario job %s failed", job_id)
            self._update(
                job_id,
                status="failed",
                finished=now_stamp(),
                message="internal error while running the models",
            )
            return
        self._update(job_id, status="successful", finished=now_stamp(), message="done", progress=100)

    def _write_results(self, job_id: str, run: ScenarioRun) -> Path:
        folder = self.jobs.files(job_id)
        write_atomic(folder / "result.json", json.dumps(run.as_document()).encode())
        write_scenario_layers(run, self.service.city().buildings, folder)
        return folder

    def record_run(
        self,
        run: ScenarioRun,
        *,
        scenario_id: str | None = None,
        version: int | None = None,
        owner: str | None = None,
        public: bool = False,
    ) -> dict[str, Any]:
        """Keep a finished synchronous run as a successful job; returns its status record.

        The job holds the results document and the viewer layers (no export files: run the
        scenario asynchronously for those), and can be dismissed like any other.
        """
        record = self._new_job(
            run.scenario,
            scenario_id,
            status="running",
            message="writing the results of a synchronous execution",
            scenario_version=version,
            owner=owner,
            public=public,
        )
        self._write_results(record["jobID"], run)
        record.update(
            status="successful",
            message="done (synchronous execution: results and viewer layers, no export files)",
            finished=now_stamp(),
            progress=100,
        )
        record["updated"] = record["finished"]
        self.jobs.put_record(record["jobID"], record)
        return record

    def status(self, job_id: str) -> dict[str, Any]:
        """The status record of a job."""
        try:
            return self.jobs.record(job_id)
        except NotFoundError:
            raise NotFoundError(f"no job with id {job_id!r}") from None

    def list(self) -> list[dict[str, Any]]:
        """All job records, newest first."""
        return sorted(self.jobs.records(), key=lambda record: record["created"], reverse=True)

    # -- who sees and dismisses a job --------------------------------------------------------

    @staticmethod
    def visible_to(record: dict[str, Any], principal: Principal) -> bool:
        """Whether ``principal`` may see a job: its owner, anyone for a public job, the scenario
        readers (analysts, data owners, administrators, the ethics committee) for all."""
        return (
            bool(record.get("public"))
            or reads_all_scenarios(principal)
            or owns(principal, record.get("owner"))
        )

    @staticmethod
    def view(record: dict[str, Any], principal: Principal) -> dict[str, Any]:
        """A job record as ``principal`` sees it: the owner's account name only for the owner and the
        scenario readers."""
        if reads_all_scenarios(principal) or owns(principal, record.get("owner")):
            return record
        return {key: value for key, value in record.items() if key != "owner"}

    def require_visible(self, job_id: str, principal: Principal) -> dict[str, Any]:
        """The status record of a job ``principal`` may see; NotFoundError otherwise (a job one may
        not see does not exist for them)."""
        record = self.status(job_id)
        if not self.visible_to(record, principal):
            raise NotFoundError(f"no job with id {job_id!r}")
        return record

    def visible_list(self, principal: Principal) -> builtins.list[dict[str, Any]]:
        """The jobs ``principal`` may see, newest first, as they see them."""
        return [self.view(record, principal) for record in self.list() if self.visible_to(record, principal)]

    def unpublish(self, scenario_id: str) -> builtins.list[str]:
        """Make the public jobs of a (deleted) scenario private again; returns their ids."""
        changed = []
        for record in self.jobs.records():
            if record.get("public") and record.get("scenario_id") == scenario_id:
                self._update(record["jobID"], public=False)
                changed.append(record["jobID"])
        return changed

    def dismiss_as(self, job_id: str, principal: Principal) -> dict[str, Any]:
        """Dismiss a job for ``principal``: its owner or an administrator; a public job (published
        results) only an administrator."""
        record = self.require_visible(job_id, principal)
        if record.get("public") and not principal.has(Role.ADMIN):
            raise PermissionDeniedError(
                f"job {job_id} holds published results of a scenario: only an administrator may dismiss it"
            )
        if not (principal.has(Role.ADMIN) or owns(principal, record.get("owner"))):
            raise PermissionDeniedError(
                f"job {job_id} was started by another account: only it may dismiss it"
            )
        return self.view(self.dismiss(job_id), principal)

    def results(self, job_id: str) -> dict[str, Any]:
        """The results document of a successful job."""
        record = self.status(job_id)
        if record["status"] != "successful":
            raise ResultNotReadyError(f"job {job_id} is {record['status']}: {record.get('message', '')}")
        document: dict[str, Any] = json.loads((self.jobs.files(job_id) / "result.json").read_bytes())
        return document

    def result_file(self, job_id: str, name: str) -> Path:
        """One output file of a successful job (e.g. ``buurten.geojson``)."""
        self.results(job_id)
        folder = self.jobs.files(job_id)
        path = folder / name
        if "/" in name or name.startswith(".") or not path.is_file():
            raise NotFoundError(f"job {job_id} has no result file {name!r}")
        return path

    def result_names(self, job_id: str) -> set[str]:
        """Names of the files a successful job holds."""
        self.results(job_id)
        return {path.name for path in self.jobs.files(job_id).iterdir() if path.is_file()}

    def layer_file(self, job_id: str, level: str) -> Path:
        """The viewer's Arrow stream of one level (buildings, grid, roads, buurt) of a successful job."""
        require_level(level)
        self.results(job_id)
        return job_layer(self.jobs.files(job_id), job_id, level)

    def dismiss(self, job_id: str) -> dict[str, Any]:
        """Dismiss a job: mark it dismissed and remove its results (a running job finishes unseen)."""
        record = self.status(job_id)
        record.update(status="dismissed", message="dismissed", updated=now_stamp())
        self.jobs.put_record(job_id, record)
        for path in self.jobs.files(job_id).iterdir():
            path.unlink()
        return record

    def close(self) -> None:
        """Stop accepting jobs; waits for the running one."""
        self._executor.shutdown(wait=True, cancel_futures=True)
