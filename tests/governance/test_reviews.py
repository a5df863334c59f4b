"""The ethics review state machine: questionnaires, quorum, separation of duties, final states."""

from __future__ import annotations

import pytest

from tweeling.core.errors import ConflictError, InvalidInputError, PermissionDeniedError
from tweeling.governance import reviews as rv
from tweeling.governance.roles import Principal, Role


def person(name: str, *roles: Role) -> Principal:
    return Principal(subject=name, roles=frozenset(roles), token_id=f"token-{name}")


ALICE = person("alice", Role.ANALYST)
EVA = person("eva", Role.ETHICS)
FRANK = person("frank", Role.ETHICS)
GINA = person("gina", Role.ETHICS)
ADMIN = person("root", Role.ADMIN)

ANSWERS = {
    "purpose": "Show residents what a greener Statenplein would do to heat stress.",
    "data": "Buildings, trees and weather; residents per buurt only as aggregates, no personal data.",
    "affected": "Residents and visitors of the city centre; no group singled out.",
    "risks": "Results read as a decision; mitigated by stating it is a model estimate with its limits.",
    "oversight": "The analyst checks the results; the committee can withdraw the publication.",
}


def submitted(
    kind: rv.ReviewKind = rv.ReviewKind.SCENARIO_PUBLICATION, submitter: Principal = ALICE
) -> rv.Review:
    subjects = {
        rv.ReviewKind.SCENARIO_PUBLICATION: {"scenario_id": "greening", "version": 2},
        rv.ReviewKind.MODEL_IN_USE: {"model_id": "heat_pet"},
        rv.ReviewKind.PERSONAL_DATA_SENSOR: {"thing": {"name": "Wifi counter Voorstraat"}},
    }
    answers = dict(ANSWERS)
    if kind is rv.ReviewKind.PERSONAL_DATA_SENSOR:
        answers |= {
            "legal_basis": "AVG art. 6(1)(e), public task (crowd safety).",
            "retention": "MAC addresses hashed with a daily salt, counts kept, hashes deleted after 24 h.",
            "proportionality": "Counting cameras would capture faces; wifi counts capture less.",
        }
    return rv.submit(
        review_id="rev-1",
        kind=kind,
        subject=subjects[kind],
        subject_title="Greening Statenplein",
        title="Publish the greening scenario",
        description="A scenario with 40 new trees on the Statenplein.",
        answers=answers,
        submitter=submitter,
        at="2026-05-01T09:00:00Z",
    )


def test_questionnaires_ask_sensors_more() -> None:
    common = [q.id for q in rv.QUESTIONNAIRES[rv.ReviewKind.MODEL_IN_USE]]
    sensor = [q.id for q in rv.QUESTIONNAIRES[rv.ReviewKind.PERSONAL_DATA_SENSOR]]
    assert common == ["purpose", "data", "affected", "risks", "oversight"]
    assert sensor == [*common, "legal_basis", "retention", "proportionality"]
    assert all(q.text.endswith("?") for q in rv.QUESTIONNAIRES[rv.ReviewKind.PERSONAL_DATA_SENSOR])


def test_submission_needs_every_answer_title_and_description() -> None:
    review = submitted()
    assert review.status is rv.ReviewStatus.SUBMITTED
    assert review.subject_id == "greening" and review.submitter == "alice"
    assert [(e.type, e.actor, e.status) for e in review.events] == [("submitted", "alice", "submitted")]
    with pytest.raises(InvalidInputError, match="unanswered: risks") as missing:
        rv.check_answers(rv.ReviewKind.SCENARIO_PUBLICATION, {**ANSWERS, "risks": "   "})
    assert missing.value.invalid_params == [{"name": "impact_assessment.risks", "reason": "required"}]
    with pytest.raises(InvalidInputError, match="unanswered: legal_basis, retention, proportionality"):
        rv.check_answers(rv.ReviewKind.PERSONAL_DATA_SENSOR, ANSWERS)
    with pytest.raises(InvalidInputError, match="no question"):
        rv.check_answers(rv.ReviewKind.MODEL_IN_USE, {**ANSWERS, "mood": "good"})
    with pytest.raises(InvalidInputError, match="title is required"):
        rv.submit(
            review_id="rev-2",
            kind=rv.ReviewKind.MODEL_IN_USE,
            subject={"model_id": "heat_pet"},
            subject_title="Heat",
            title="",
            description="x",
            answers=ANSWERS,
            submitter=ALICE,
            at="2026-05-01T09:00:00Z",
        )


def test_one_approval_approves_with_quorum_one() -> None:
    review = rv.comment(submitted(), EVA, "Which trees, and who maintains them?", at="2026-05-02T10:00:00Z")
    review = rv.respond(review, ALICE, "Plane trees; the city's green service.", at="2026-05-03T10:00:00Z")
    review = rv.decide(
        review, EVA, rv.Verdict.APPROVE, "Clear and careful.", at="2026-05-04T10:00:00Z", quorum=1
    )
    assert review.status is rv.ReviewStatus.APPROVED
    assert review.decided_at == "2026-05-04T10:00:00Z"
    assert [e.type for e in review.events] == ["submitted", "comment", "response", "decision"]
    assert review.events[-1].actor == "eva" and review.events[-1].status is rv.ReviewStatus.APPROVED


def test_quorum_two_needs_two_distinct_members() -> None:
    review = rv.decide(submitted(), EVA, rv.Verdict.APPROVE, "Fine.", at="2026-05-04T10:00:00Z", quorum=2)
    assert review.status is rv.ReviewStatus.SUBMITTED and rv.approvals(review) == ["eva"]
    with pytest.raises(ConflictError, match="already decided"):
        rv.decide(review, EVA, rv.Verdict.APPROVE, "Again.", at="2026-05-04T11:00:00Z", quorum=2)
    review = rv.decide(review, FRANK, rv.Verdict.APPROVE, "Agreed.", at="2026-05-05T10:00:00Z", quorum=2)
    assert review.status is rv.ReviewStatus.APPROVED and review.decided_at == "2026-05-05T10:00:00Z"
    with pytest.raises(ConflictError, match="is approved"):
        rv.decide(review, GINA, rv.Verdict.REJECT, "Too late.", at="2026-05-06T10:00:00Z", quorum=2)


def test_one_rejection_rejects_even_after_an_approval() -> None:
    review = rv.decide(submitted(), EVA, rv.Verdict.APPROVE, "Fine.", at="2026-05-04T10:00:00Z", quorum=2)
    review = rv.decide(
        review,
        FRANK,
        rv.Verdict.REJECT,
        "Names a street of one household.",
        at="2026-05-05T10:00:00Z",
        quorum=2,
    )
    assert review.status is rv.ReviewStatus.REJECTED
    with pytest.raises(ConflictError):
        rv.comment(review, GINA, "After the fact.", at="2026-05-06T10:00:00Z")
    with pytest.raises(ConflictError):
        rv.withdraw(review, ALICE, at="2026-05-06T10:00:00Z")


def test_separation_of_duties() -> None:
    own = submitted(submitter=EVA)  # an ethics member may submit, never decide it
    with pytest.raises(PermissionDeniedError, match="you submitted"):
        rv.decide(own, EVA, rv.Verdict.APPROVE, "Mine.", at="2026-05-04T10:00:00Z", quorum=1)
    with pytest.raises(PermissionDeniedError, match="ethics committee"):
        rv.decide(submitted(), ADMIN, rv.Verdict.APPROVE, "I run this.", at="2026-05-04T10:00:00Z", quorum=1)
    with pytest.raises(PermissionDeniedError, match="ethics committee"):
        rv.comment(submitted(), ALICE, "Looks good to me.", at="2026-05-04T10:00:00Z")
    with pytest.raises(PermissionDeniedError, match="only the submitter"):
        rv.respond(submitted(), FRANK, "On alice's behalf.", at="2026-05-04T10:00:00Z")
    with pytest.raises(PermissionDeniedError, match="only the submitter"):
        rv.withdraw(submitted(), ADMIN, at="2026-05-04T10:00:00Z")
    with pytest.raises(InvalidInputError, match="reasoning is required"):
        rv.decide(submitted(), EVA, rv.Verdict.APPROVE, " ", at="2026-05-04T10:00:00Z", quorum=1)


def test_withdrawn_is_final_and_not_public() -> None:
    review = rv.withdraw(submitted(), ALICE, at="2026-05-02T10:00:00Z")
    assert review.status is rv.ReviewStatus.WITHDRAWN and review.decided_at == "2026-05-02T10:00:00Z"
    assert rv.public_summary(review) is None
    with pytest.raises(ConflictError):
        rv.decide(review, EVA, rv.Verdict.APPROVE, "Fine.", at="2026-05-03T10:00:00Z", quorum=1)


def test_documents_round_trip_and_the_public_summary_names_nobody() -> None:
    review = rv.comment(
        submitted(rv.ReviewKind.PERSONAL_DATA_SENSOR), EVA, "Why wifi?", at="2026-05-02T10:00:00Z"
    )
    review = rv.decide(
        review,
        FRANK,
        rv.Verdict.APPROVE,
        "Hashing and 24 h retention suffice.",
        at="2026-05-03T10:00:00Z",
        quorum=1,
    )
    review = rv.with_effect(review, {"status": "applied", "thing_id": 7})
    document = rv.to_document(review)
    assert rv.from_document(document) == review
    assert [item["id"] for item in document["impact_assessment"]][-1] == "proportionality"
    summary = rv.public_summary(review)
    assert summary == {
        "id": "rev-1",
        "kind": "personal-data-sensor",
        "subject_title": "Greening Statenplein",
        "decision": "approved",
        "decided": "2026-05-03T10:00:00Z",
        "reasoning": [{"verdict": "approve", "text": "Hashing and 24 h retention suffice."}],
        "view": "summary",
    }
    text = str(summary)
    assert "alice" not in text and "frank" not in text and "Why wifi" not in text
    assert rv.public_summary(submitted()) is None
    with pytest.raises(ConflictError):
        rv.with_effect(submitted(), {"status": "applied"})
