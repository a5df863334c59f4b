"""The ethics review workflow as a pure state machine (no I/O, no clock: times are passed in).

Three things need the ethics committee's approval: publishing a scenario to the public, putting a
model in use, and adding a sensor that can capture personal data. A review carries a description
and the answers to a fixed impact-assessment questionnaire for its kind; committee members comment,
the submitter responds, and members decide::

    submitted ──(quorum of approvals by distinct members)──> approved
        │  └──────────(one rejection)─────────────────────> rejected
        └──────────(the submitter withdraws)──────────────> withdrawn

Only members of the ethics committee comment and decide, never on their own review (also when the
submitter holds the ethics role); decisions are taken only while the review is submitted; every
step is kept as an event with its actor, time and the status after it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tweeling.core.errors import ConflictError, InvalidInputError, PermissionDeniedError
from tweeling.governance.roles import Principal, Role

MAX_TITLE = 200
"""Characters in a review's title."""
MAX_TEXT = 10_000
"""Characters in a description, an answer, a comment, a response or a reasoning."""


class ReviewKind(StrEnum):
    """What a review asks the committee to allow."""

    SCENARIO_PUBLICATION = "scenario-publication"
    """Show a stored scenario (one version) and its results to the public; subject: scenario id."""
    MODEL_IN_USE = "model-in-use"
    """Set an impact model's register status to "In gebruik"; subject: model id."""
    PERSONAL_DATA_SENSOR = "personal-data-sensor"
    """Add a sensor (a SensorThings Thing) that can capture personal data; subject: the Thing."""


class ReviewStatus(StrEnum):
    """Where a review stands; every status but ``submitted`` is final."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Verdict(StrEnum):
    """A committee member's decision."""

    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True)
class Question:
    """One question of an impact assessment."""

    id: str
    text: str


COMMON_QUESTIONS: tuple[Question, ...] = (
    Question("purpose", "What is it for: which question or decision does it support, and why is it needed?"),
    Question(
        "data",
        "Which data does it use, from which sources, and does any of it concern identifiable people "
        "(personal data)?",
    ),
    Question(
        "affected",
        "Who is affected (residents, groups, neighbourhoods), and could some groups be affected more "
        "than others?",
    ),
    Question(
        "risks",
        "What could go wrong (errors, misreading, misuse, unfair outcomes), and how is each risk mitigated?",
    ),
    Question(
        "oversight",
        "How do people stay in control: who checks the outcome, and who can correct or stop it?",
    ),
)
"""Asked for every kind of review."""

SENSOR_QUESTIONS: tuple[Question, ...] = (
    Question(
        "legal_basis",
        "On which legal basis (AVG/GDPR article 6, and article 9 for special categories) is personal "
        "data captured, and for which purpose only?",
    ),
    Question(
        "retention",
        "How long are raw measurements kept, where, and when and how are they deleted or aggregated?",
    ),
    Question(
        "proportionality",
        "Why is the sensor proportionate: can the purpose be reached with less data or a less "
        "intrusive sensor, and how is capture limited to what the purpose needs?",
    ),
)
"""Asked in addition for a sensor that can capture personal data."""

QUESTIONNAIRES: Mapping[ReviewKind, tuple[Question, ...]] = {
    ReviewKind.SCENARIO_PUBLICATION: COMMON_QUESTIONS,
    ReviewKind.MODEL_IN_USE: COMMON_QUESTIONS,
    ReviewKind.PERSONAL_DATA_SENSOR: COMMON_QUESTIONS + SENSOR_QUESTIONS,
}
"""The impact-assessment questionnaire of each kind; every answer is required."""

SUBJECT_FIELDS: Mapping[ReviewKind, str] = {
    ReviewKind.SCENARIO_PUBLICATION: "scenario_id",
    ReviewKind.MODEL_IN_USE: "model_id",
    ReviewKind.PERSONAL_DATA_SENSOR: "thing",
}
"""The field of ``subject`` that names what a review is about."""


@dataclass(frozen=True)
class ReviewEvent:
    """One step of a review: who did what, when, and the status after it."""

    type: str
    """``submitted``, ``comment``, ``response``, ``decision`` or ``withdrawn``."""
    actor: str
    at: str
    """UTC time stamp, e.g. ``2026-05-01T10:00:00Z``."""
    status: ReviewStatus
    text: str = ""
    verdict: Verdict | None = None


@dataclass(frozen=True)
class Review:
    """A review request with its history (immutable: every step returns a new review)."""

    id: str
    kind: ReviewKind
    subject: Mapping[str, Any]
    """``{"scenario_id", "version"}``, ``{"model_id"}`` or ``{"thing": <Thing JSON>}``."""
    subject_title: str
    """A readable name of the subject (scenario name, model title, Thing name) for summaries."""
    title: str
    description: str
    answers: Mapping[str, str]
    """Impact-assessment answers by question id."""
    submitter: str
    status: ReviewStatus
    events: tuple[ReviewEvent, ...]
    effect: Mapping[str, Any] | None = None
    """What the approval did (publication, status change, sensor), once applied."""

    @property
    def subject_id(self) -> str:
        """The scenario id, the model id, or the Thing's name."""
        value = self.subject.get(SUBJECT_FIELDS[self.kind])
        if isinstance(value, Mapping):
            return str(value.get("name", ""))
        return str(value)

    @property
    def submitted_at(self) -> str:
        """When the review was submitted."""
        return self.events[0].at

    @property
    def decisions(self) -> tuple[ReviewEvent, ...]:
        """The committee's decisions, in order."""
        return tuple(event for event in self.events if event.type == "decision")

    @property
    def decided_at(self) -> str | None:
        """When the review reached its final status (None while it is submitted)."""
        final = [event.at for event in self.events if event.status is not ReviewStatus.SUBMITTED]
        return final[0] if final else None


def _text(value: Any, name: str, limit: int = MAX_TEXT) -> str:
    """A required, non-empty text of at most ``limit`` characters."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(
            f"{name} is required: write it out in plain words",
            invalid_params=[{"name": name, "reason": "required, non-empty text"}],
        )
    text = value.strip()
    if len(text) > limit:
        raise InvalidInputError(
            f"{name} is too long ({len(text)} characters; at most {limit})",
            invalid_params=[{"name": name, "reason": f"at most {limit} characters"}],
        )
    return text


def parse_kind(value: Any) -> ReviewKind:
    """A review kind from its name; InvalidInputError naming the kinds otherwise."""
    try:
        return ReviewKind(value)
    except ValueError:
        kinds = ", ".join(kind.value for kind in ReviewKind)
        raise InvalidInputError(
            f"kind {value!r} is not a kind of review; kinds: {kinds}",
            invalid_params=[{"name": "kind", "reason": f"one of {kinds}"}],
        ) from None


def parse_verdict(value: Any) -> Verdict:
    """``approve`` or ``reject``."""
    try:
        return Verdict(value)
    except ValueError:
        raise InvalidInputError(
            f"decision {value!r} is not valid: use 'approve' or 'reject'",
            invalid_params=[{"name": "decision", "reason": "approve or reject"}],
        ) from None


def check_answers(kind: ReviewKind, answers: Any) -> dict[str, str]:
    """The impact-assessment answers for ``kind``: every question answered, no unknown ones."""
    questions = QUESTIONNAIRES[kind]
    if not isinstance(answers, Mapping):
        ids = ", ".join(question.id for question in questions)
        raise InvalidInputError(
            f"impact_assessment must be an object with an answer to each question: {ids}",
            invalid_params=[{"name": "impact_assessment", "reason": "object of answers"}],
        )
    known = {question.id for question in questions}
    unknown = sorted(str(key) for key in answers if key not in known)
    if unknown:
        raise InvalidInputError(
            f"impact_assessment has no question(s) {', '.join(unknown)} for a {kind} review; "
            f"questions: {', '.join(question.id for question in questions)}",
            invalid_params=[
                {"name": f"impact_assessment.{key}", "reason": "unknown question"} for key in unknown
            ],
        )
    missing = [q.id for q in questions if not isinstance(answers.get(q.id), str) or not answers[q.id].strip()]
    if missing:
        raise InvalidInputError(
            f"impact_assessment: answer every question; unanswered: {', '.join(missing)}",
            invalid_params=[{"name": f"impact_assessment.{name}", "reason": "required"} for name in missing],
        )
    return {q.id: _text(answers[q.id], f"impact_assessment.{q.id}") for q in questions}


def submit(
    *,
    review_id: str,
    kind: ReviewKind,
    subject: Mapping[str, Any],
    subject_title: str,
    title: Any,
    description: Any,
    answers: Any,
    submitter: Principal,
    at: str,
) -> Review:
    """A new review in status ``submitted``; InvalidInputError on a missing title, description or answer."""
    if submitter.is_anonymous:
        raise PermissionDeniedError("log in to submit a review")
    if SUBJECT_FIELDS[kind] not in subject:
        raise InvalidInputError(f"a {kind} review needs subject.{SUBJECT_FIELDS[kind]}")
    return Review(
        id=review_id,
        kind=kind,
        subject=dict(subject),
        subject_title=subject_title,
        title=_text(title, "title", MAX_TITLE),
        description=_text(description, "description"),
        answers=check_answers(kind, answers),
        submitter=submitter.subject,
        status=ReviewStatus.SUBMITTED,
        events=(ReviewEvent("submitted", submitter.subject, at, ReviewStatus.SUBMITTED),),
    )


def _require_open(review: Review, doing: str) -> None:
    if review.status is not ReviewStatus.SUBMITTED:
        raise ConflictError(f"review {review.id} is {review.status}: it can no longer be {doing}")


def _require_member(review: Review, actor: Principal, doing: str) -> None:
    if not actor.has(Role.ETHICS):
        raise PermissionDeniedError(f"only members of the ethics committee may {doing} a review")
    if actor.subject == review.submitter:
        raise PermissionDeniedError(
            f"you submitted review {review.id}: another member of the committee must {doing} it"
        )


def _require_submitter(review: Review, actor: Principal, doing: str) -> None:
    if actor.is_anonymous or actor.subject != review.submitter:
        raise PermissionDeniedError(f"only the submitter of review {review.id} may {doing} it")


def _with(review: Review, event: ReviewEvent) -> Review:
    return dataclasses.replace(review, status=event.status, events=(*review.events, event))


def comment(review: Review, actor: Principal, text: Any, *, at: str) -> Review:
    """A committee member's comment or question (the review stays submitted)."""
    _require_open(review, "commented on")
    _require_member(review, actor, "comment on")
    return _with(review, ReviewEvent("comment", actor.subject, at, review.status, _text(text, "text")))


def respond(review: Review, actor: Principal, text: Any, *, at: str) -> Review:
    """The submitter's response to the committee (answers, changes made)."""
    _require_open(review, "responded to")
    _require_submitter(review, actor, "respond to")
    return _with(review, ReviewEvent("response", actor.subject, at, review.status, _text(text, "text")))


def approvals(review: Review) -> list[str]:
    """Members who approved, in order."""
    return [event.actor for event in review.decisions if event.verdict is Verdict.APPROVE]


def decide(
    review: Review, actor: Principal, verdict: Verdict, reasoning: Any, *, at: str, quorum: int
) -> Review:
    """A member's decision with its reasoning: ``quorum`` approvals by distinct members approve,
    one rejection rejects; a member decides a review once."""
    if quorum < 1:
        raise ValueError("a review quorum is at least 1")
    _require_open(review, "decided")
    _require_member(review, actor, "decide")
    if any(event.actor == actor.subject for event in review.decisions):
        raise ConflictError(f"you have already decided on review {review.id}; another member must decide")
    reason = _text(reasoning, "reasoning")
    status = ReviewStatus.SUBMITTED
    if verdict is Verdict.REJECT:
        status = ReviewStatus.REJECTED
    elif len(approvals(review)) + 1 >= quorum:
        status = ReviewStatus.APPROVED
    return _with(review, ReviewEvent("decision", actor.subject, at, status, reason, verdict))


def withdraw(review: Review, actor: Principal, *, at: str) -> Review:
    """The submitter takes the review back (final)."""
    _require_open(review, "withdrawn")
    _require_submitter(review, actor, "withdraw")
    return _with(review, ReviewEvent("withdrawn", actor.subject, at, ReviewStatus.WITHDRAWN))


def with_effect(review: Review, effect: Mapping[str, Any]) -> Review:
    """The approved review with the record of what its approval did."""
    if review.status is not ReviewStatus.APPROVED:
        raise ConflictError(f"review {review.id} is {review.status}; only an approved review has an effect")
    return dataclasses.replace(review, effect=dict(effect))


# -- documents --------------------------------------------------------------------------------


def _event_document(event: ReviewEvent) -> dict[str, Any]:
    document: dict[str, Any] = {
        "type": event.type,
        "actor": event.actor,
        "at": event.at,
        "status": event.status,
    }
    if event.text:
        document["text"] = event.text
    if event.verdict is not None:
        document["verdict"] = event.verdict
    return document


def to_document(review: Review) -> dict[str, Any]:
    """The full review as JSON-ready data (what the committee and the submitter see)."""
    return {
        "id": review.id,
        "kind": review.kind.value,
        "status": review.status.value,
        "subject": dict(review.subject),
        "subject_title": review.subject_title,
        "title": review.title,
        "description": review.description,
        "impact_assessment": [
            {"id": question.id, "question": question.text, "answer": review.answers.get(question.id, "")}
            for question in QUESTIONNAIRES[review.kind]
        ],
        "submitter": review.submitter,
        "submitted": review.submitted_at,
        "decided": review.decided_at,
        "approvals": len(approvals(review)),
        "events": [_event_document(event) for event in review.events],
        "effect": dict(review.effect) if review.effect is not None else None,
    }


def from_document(document: Mapping[str, Any]) -> Review:
    """A review from :func:`to_document`'s output."""
    return Review(
        id=str(document["id"]),
        kind=ReviewKind(document["kind"]),
        subject=dict(document["subject"]),
        subject_title=str(document["subject_title"]),
        title=str(document["title"]),
        description=str(document["description"]),
        answers={str(item["id"]): str(item["answer"]) for item in document["impact_assessment"]},
        submitter=str(document["submitter"]),
        status=ReviewStatus(document["status"]),
        events=tuple(
            ReviewEvent(
                type=str(item["type"]),
                actor=str(item["actor"]),
                at=str(item["at"]),
                status=ReviewStatus(item["status"]),
                text=str(item.get("text", "")),
                verdict=Verdict(item["verdict"]) if item.get("verdict") else None,
            )
            for item in document["events"]
        ),
        effect=dict(document["effect"]) if document.get("effect") else None,
    )


def public_summary(review: Review) -> dict[str, Any] | None:
    """What the public sees of a decided review: kind, subject, decision, date and the committee's
    reasoning, without comments, responses or names. None while it is open or when withdrawn."""
    if review.status not in (ReviewStatus.APPROVED, ReviewStatus.REJECTED):
        return None
    return {
        "id": review.id,
        "kind": review.kind.value,
        "subject_title": review.subject_title,
        "decision": review.status.value,
        "decided": review.decided_at,
        "reasoning": [
            {"verdict": event.verdict.value if event.verdict else None, "text": event.text}
            for event in review.decisions
        ],
        "view": "summary",
    }


def questionnaires() -> list[dict[str, Any]]:
    """Every kind's questionnaire as JSON-ready data: kind and questions (id, text)."""
    return [
        {"kind": kind.value, "questions": [dataclasses.asdict(q) for q in QUESTIONNAIRES[kind]]}
        for kind in ReviewKind
    ]
