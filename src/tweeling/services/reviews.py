"""The ethics review workflow: submit, comment, respond, decide, withdraw; apply what was approved.

Reviews are kept in ``<data_dir>/reviews/<id>/v0001.json, v0002.json, ...``: every step is a new
version, so the whole history stays on disk beside the events inside the latest version. Every
step is audited (``review-submitted``, ``review-comment``, ``review-response``,
``review-decision``), and so is what an approval does:

- ``scenario-publication``: the approved version of the scenario becomes public (a publication
  record, ``scenario-published``) and is run once as a public job (``scenario-run``), so that the
  public sees its results in the viewer;
- ``model-in-use``: the model's register status becomes "In gebruik" (the register audits
  ``algorithm-status``);
- ``personal-data-sensor``: the Thing is created in the sensor hub with
  ``properties.register.review`` naming the review (``sensor-registered``).

The review is saved as approved before its effect is applied (the algorithm register asks whether
the review is approved); when the effect fails (an incomplete register entry, a Thing the hub
refuses) the review stays approved and records the failure and its reason in ``effect``, so that
it can be applied by hand with the review's id.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from tweeling.core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    TweelingError,
)
from tweeling.core.times import now_stamp
from tweeling.governance import reviews as workflow
from tweeling.governance.algorithm_register import IN_USE, AlgorithmRegister
from tweeling.governance.audit import AuditLog
from tweeling.governance.reviews import Review, ReviewKind, ReviewStatus
from tweeling.governance.roles import Principal, Role
from tweeling.services.scenarios import ScenarioService, owns, reads_all_scenarios
from tweeling.services.sensors import SensorHub
from tweeling.services.settings import Settings
from tweeling.store.documents import DocumentStore

FULL_READERS = frozenset({Role.ETHICS, Role.ADMIN})
"""Roles that read every review in full; everyone else reads their own in full and decided ones
as a transparency summary."""

MODEL_PROPOSERS = frozenset({Role.ANALYST, Role.DATA_OWNER, Role.ADMIN})
"""Roles that may ask for a model to be put in use."""

SENSOR_PROPOSERS = frozenset({Role.DATA_OWNER, Role.ADMIN})
"""Roles that may ask for a personal-data sensor (those who write sensor data)."""


class ReviewService:
    """Submit, comment, decide; applies the approved action (publish, put in use, add sensor)."""

    def __init__(
        self,
        settings: Settings,
        audit: AuditLog,
        algorithms: AlgorithmRegister,
        scenarios: ScenarioService,
        hub: SensorHub,
    ) -> None:
        self.settings = settings
        self.audit = audit
        self.algorithms = algorithms
        self.scenarios = scenarios
        self.hub = hub
        self.documents = DocumentStore(settings.data_dir, "reviews")
        self._lock = threading.Lock()
        algorithms.approved_review = self.is_approved

    # -- reading ----------------------------------------------------------------------------

    def _load(self, review_id: str) -> Review:
        try:
            return workflow.from_document(self.documents.load(review_id))
        except NotFoundError:
            raise NotFoundError(f"no review with id {review_id!r}") from None

    def _all(self) -> list[Review]:
        return [workflow.from_document(self.documents.load(review_id)) for review_id in self.documents.ids()]

    def is_approved(self, review_id: str, kind: str, subject_id: str) -> bool:
        """Whether ``review_id`` is an approved review of ``kind`` about ``subject_id`` (scenario id,
        model id, or the Thing's name)."""
        if not isinstance(review_id, str):
            return False
        try:
            review = self._load(review_id)
        except TweelingError:
            return False
        return (
            review.status is ReviewStatus.APPROVED and review.kind == kind and review.subject_id == subject_id
        )

    @staticmethod
    def view(review: Review, principal: Principal) -> dict[str, Any] | None:
        """A review as ``principal`` may see it: in full for the committee, administrators and the
        submitter; a decided review as a transparency summary for everyone else; else None."""
        if principal.roles & FULL_READERS or owns(principal, review.submitter):
            return {**workflow.to_document(review), "view": "full"}
        return workflow.public_summary(review)

    def visible(self, principal: Principal, *, status: str | None = None) -> list[dict[str, Any]]:
        """The reviews ``principal`` may see, newest first (optionally only those of ``status``)."""
        statuses = [value.value for value in ReviewStatus]
        if status is not None and status not in statuses:
            raise InvalidInputError(
                f"status {status!r} is not a review status; statuses: {', '.join(statuses)}"
            )
        found = []
        for review in sorted(self._all(), key=lambda r: r.submitted_at, reverse=True):
            seen = self.view(review, principal)
            if seen is not None and (status is None or review.status == status):
                found.append(seen)
        return found

    def get(self, principal: Principal, review_id: str) -> dict[str, Any]:
        """One review as ``principal`` may see it; NotFoundError when they may not see it at all."""
        seen = self.view(self._load(review_id), principal)
        if seen is None:
            raise NotFoundError(f"no review with id {review_id!r}")
        return seen

    # -- submitting -------------------------------------------------------------------------

    def submit(self, principal: Principal, body: Any) -> dict[str, Any]:
        """Submit a review from a request body ``{kind, subject, title, description,
        impact_assessment}``; returns the review as the submitter sees it."""
        if not isinstance(body, Mapping):
            raise InvalidInputError(
                "send a JSON object with kind, subject, title, description and impact_assessment"
            )
        kind = workflow.parse_kind(body.get("kind"))
        subject, subject_title = self._subject(principal, kind, body.get("subject"))
        with self._lock:
            review = workflow.submit(
                review_id=f"rev-{uuid.uuid4().hex[:16]}",
                kind=kind,
                subject=subject,
                subject_title=subject_title,
                title=body.get("title"),
                description=body.get("description"),
                answers=body.get("impact_assessment"),
                submitter=principal,
                at=now_stamp(),
            )
            pending = [
                other.id
                for other in self._all()
                if other.status is ReviewStatus.SUBMITTED
                and other.kind is kind
                and other.subject_id == review.subject_id
                and other.subject.get("version") == review.subject.get("version")
            ]
            if pending:
                raise ConflictError(
                    f"review {pending[0]} of this {kind} is still open: respond there, or withdraw it first"
                )
            self.documents.save(review.id, workflow.to_document(review))
        self._audit(principal, "review-submitted", review, {"kind": kind.value, "subject": review.subject_id})
        return self._seen(review, principal)

    def _subject(self, principal: Principal, kind: ReviewKind, raw: Any) -> tuple[dict[str, Any], str]:
        """The checked subject of a new review and its readable title."""
        if not isinstance(raw, Mapping):
            field = workflow.SUBJECT_FIELDS[kind]
            raise InvalidInputError(
                f"subject must be an object with {field}",
                invalid_params=[{"name": "subject", "reason": f"object with {field}"}],
            )
        if kind is ReviewKind.SCENARIO_PUBLICATION:
            return self._scenario_subject(principal, raw)
        if kind is ReviewKind.MODEL_IN_USE:
            if not principal.roles & MODEL_PROPOSERS:
                raise PermissionDeniedError(
                    "only analysts, data owners and administrators may propose a model for use"
                )
            model_id = raw.get("model_id")
            if not isinstance(model_id, str) or not model_id:
                raise InvalidInputError("subject.model_id must name a model of the algorithm register")
            entry = self.algorithms.entry(model_id)
            if entry.status == IN_USE:
                raise ConflictError(f"model {model_id!r} is already {IN_USE!r}")
            return {"model_id": model_id}, str(entry.fields.get("name", model_id))
        if not principal.roles & SENSOR_PROPOSERS:
            raise PermissionDeniedError("only data owners and administrators may propose a sensor")
        thing = raw.get("thing")
        if (
            not isinstance(thing, Mapping)
            or not isinstance(thing.get("name"), str)
            or not thing["name"].strip()
        ):
            raise InvalidInputError(
                "subject.thing must be the SensorThings Thing to create (a JSON object with a name)",
                invalid_params=[{"name": "subject.thing", "reason": "Thing JSON with a name"}],
            )
        if "@iot.id" in thing:
            raise InvalidInputError("subject.thing is created on approval: leave @iot.id out")
        return {"thing": copy.deepcopy(dict(thing))}, thing["name"].strip()

    def _scenario_subject(self, principal: Principal, raw: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
        scenario_id = raw.get("scenario_id")
        version = raw.get("version")
        if not isinstance(scenario_id, str) or not scenario_id:
            raise InvalidInputError("subject.scenario_id must name a stored scenario")
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise InvalidInputError("subject.version must be an integer (or left out for the latest)")
        document = self.scenarios.visible(scenario_id, principal, version)
        if not (reads_all_scenarios(principal) or owns(principal, document.get("author"))):
            raise PermissionDeniedError(
                f"scenario {scenario_id!r} belongs to another account: you may ask to publish only your own"
            )
        if document["published"]:
            raise ConflictError(
                f"version {document['version']} of scenario {scenario_id!r} is already public"
            )
        subject = {"scenario_id": scenario_id, "version": int(document["version"])}
        return subject, str(document["scenario"]["name"])

    # -- the committee and the submitter ----------------------------------------------------

    def comment(self, principal: Principal, review_id: str, text: Any) -> dict[str, Any]:
        """A committee member comments on (or asks about) an open review."""
        review = self._step(review_id, lambda r: workflow.comment(r, principal, text, at=now_stamp()))
        self._audit(principal, "review-comment", review, {})
        return self._seen(review, principal)

    def respond(self, principal: Principal, review_id: str, text: Any) -> dict[str, Any]:
        """The submitter responds to the committee."""
        review = self._step(review_id, lambda r: workflow.respond(r, principal, text, at=now_stamp()))
        self._audit(principal, "review-response", review, {})
        return self._seen(review, principal)

    def withdraw(self, principal: Principal, review_id: str) -> dict[str, Any]:
        """The submitter withdraws an open review."""
        review = self._step(review_id, lambda r: workflow.withdraw(r, principal, at=now_stamp()))
        self._audit(
            principal, "review-decision", review, {"decision": "withdraw", "status": review.status.value}
        )
        return self._seen(review, principal)

    def decide(self, principal: Principal, review_id: str, body: Any, *, sta_url: str) -> dict[str, Any]:
        """A member's decision ``{decision: approve|reject, reasoning}``; on approval the effect is
        applied (``sta_url``: the SensorThings root for the links of a created Thing)."""
        if not isinstance(body, Mapping):
            raise InvalidInputError('send {"decision": "approve" | "reject", "reasoning": "..."}')
        verdict = workflow.parse_verdict(body.get("decision"))
        review = self._step(
            review_id,
            lambda r: workflow.decide(
                r,
                principal,
                verdict,
                body.get("reasoning"),
                at=now_stamp(),
                quorum=self.settings.review_quorum,
            ),
        )
        self._audit(
            principal,
            "review-decision",
            review,
            {
                "decision": verdict.value,
                "status": review.status.value,
                "approvals": len(workflow.approvals(review)),
                "quorum": self.settings.review_quorum,
            },
        )
        if review.status is ReviewStatus.APPROVED:
            effect = self._apply(review, principal, sta_url)
            review = self._step(review_id, lambda r: workflow.with_effect(r, effect))
        return self._seen(review, principal)

    def _step(self, review_id: str, change: Callable[[Review], Review]) -> Review:
        """Load, change and save a review as one step (one at a time)."""
        with self._lock:
            review = change(self._load(review_id))
            self.documents.save(review.id, workflow.to_document(review))
            return review

    def _seen(self, review: Review, principal: Principal) -> dict[str, Any]:
        seen = self.view(review, principal)
        return seen if seen is not None else {"id": review.id, "status": review.status.value}

    # -- effects of an approval -------------------------------------------------------------

    def _apply(self, review: Review, principal: Principal, sta_url: str) -> dict[str, Any]:
        """Do what ``review`` approved; the record of what happened (``status`` applied or failed)."""
        try:
            if review.kind is ReviewKind.SCENARIO_PUBLICATION:
                return self._publish(review, principal)
            if review.kind is ReviewKind.MODEL_IN_USE:
                self.algorithms.set_status(review.subject_id, IN_USE, actor=principal, review_id=review.id)
                return {"status": "applied", "type": "algorithm-status", "model_id": review.subject_id}
            return self._register_sensor(review, principal, sta_url)
        except TweelingError as error:
            action = {
                ReviewKind.SCENARIO_PUBLICATION: "scenario-published",
                ReviewKind.MODEL_IN_USE: "algorithm-status",
                ReviewKind.PERSONAL_DATA_SENSOR: "sensor-registered",
            }[review.kind]
            if review.kind is not ReviewKind.MODEL_IN_USE:  # the register audits its own refusals
                self._audit(principal, action, review, {"reason": error.message}, outcome="failed")
            return {"status": "failed", "type": action, "message": error.message}

    def _publish(self, review: Review, principal: Principal) -> dict[str, Any]:
        version = int(review.subject["version"])
        record = self.scenarios.publish(review.subject_id, version, review_id=review.id, by=principal.subject)
        self.audit.append(
            actor=principal.subject,
            roles=sorted(principal.roles),
            action="scenario-published",
            target=f"scenario {review.subject_id}",
            details={"version": version, "review_id": review.id, "job_id": record["job_id"]},
        )
        if record["job_id"] is not None:
            self.audit.append(
                actor=principal.subject,
                roles=sorted(principal.roles),
                action="scenario-run",
                target=f"scenario {review.subject_id}",
                details={
                    "process": "run-scenario",
                    "scenario": review.subject_title,
                    "scenario_id": review.subject_id,
                    "version": version,
                    "job_id": record["job_id"],
                    "mode": "async",
                    "trigger": f"publication approved by review {review.id}",
                    "models": sorted(self.scenarios.registry.models),
                },
            )
        return {"status": "applied", "type": "scenario-published", **record}

    def _register_sensor(self, review: Review, principal: Principal, sta_url: str) -> dict[str, Any]:
        body = copy.deepcopy(dict(review.subject["thing"]))
        properties = body.get("properties")
        properties = dict(properties) if isinstance(properties, Mapping) else {}
        register = properties.get("register")
        register = dict(register) if isinstance(register, Mapping) else {}
        properties["register"] = {**register, "review": review.id, "status": "public"}
        body["properties"] = properties
        link, entity = self.hub.create("Things", body, sta_url)
        thing_id = entity.get("@iot.id")
        self.audit.append(
            actor=principal.subject,
            roles=sorted(principal.roles),
            action="sensor-registered",
            target=f"Things({thing_id})",
            details={"review_id": review.id, "name": review.subject_title},
        )
        return {"status": "applied", "type": "sensor-registered", "thing_id": thing_id, "link": link}

    def _audit(
        self,
        principal: Principal,
        action: str,
        review: Review,
        details: Mapping[str, Any],
        *,
        outcome: str = "ok",
    ) -> None:
        self.audit.append(
            actor=principal.subject,
            roles=sorted(principal.roles),
            action=action,
            target=f"review {review.id}",
            outcome=outcome,
            details={"kind": review.kind.value, "subject": review.subject_id, **details},
        )

    @staticmethod
    def questionnaires() -> list[dict[str, Any]]:
        """The impact-assessment questions of every kind of review."""
        return workflow.questionnaires()
