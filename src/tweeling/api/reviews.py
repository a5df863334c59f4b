"""Routes: the ethics review workflow under ``/v1/reviews``.

- ``GET /reviews/questions``: the impact-assessment questionnaire of each kind of review.
- ``POST /reviews``: submit a review (``kind``, ``subject``, ``title``, ``description``,
  ``impact_assessment``).
- ``GET /reviews``, ``GET /reviews/{id}``: in full for the ethics committee, administrators and the
  submitter; decided reviews as a transparency summary for everyone else.
- ``POST /reviews/{id}/comments`` (committee), ``/responses`` (submitter), ``/decisions``
  (committee: ``{decision: approve|reject, reasoning}``), ``/withdraw`` (submitter).

The routes parse and serialise; :class:`tweeling.services.reviews.ReviewService` decides who may do
what and applies an approval.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tweeling.api.access import principal_of, requires
from tweeling.api.sensorthings import STA_ROOT
from tweeling.core.errors import InvalidInputError
from tweeling.governance.roles import Action
from tweeling.services.governance import Governance


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise InvalidInputError("the request has no body; send a JSON document")
    try:
        return json.loads(raw)
    except ValueError as error:
        raise InvalidInputError(f"the request body is not valid JSON ({error})") from None


def _text(body: Any) -> Any:
    if not isinstance(body, dict):
        raise InvalidInputError('send {"text": "..."}')
    return body.get("text")


def build_reviews_router(governance: Governance, base_path: str) -> APIRouter:
    """The routes of the ethics review workflow."""
    router = APIRouter(prefix=base_path, tags=["Ethics reviews"])
    reviews = governance.reviews

    def href(request: Request, review_id: str) -> str:
        return f"{str(request.base_url).rstrip('/')}{base_path}/reviews/{review_id}"

    def with_links(document: dict[str, Any], request: Request) -> dict[str, Any]:
        link = {"href": href(request, document["id"]), "rel": "self", "type": "application/json"}
        return {**document, "links": [link]}

    @router.get("/reviews/questions", summary="The impact-assessment questions of each kind of review")
    @requires(Action.READ)
    def questions() -> JSONResponse:
        return JSONResponse({"questionnaires": reviews.questionnaires()})

    @router.post("/reviews", status_code=201, summary="Submit a review to the ethics committee")
    @requires(Action.SUBMIT_REVIEW)
    async def submit(request: Request) -> JSONResponse:
        review = await run_in_threadpool(reviews.submit, principal_of(request), await _body(request))
        return JSONResponse(
            with_links(review, request), status_code=201, headers={"Location": href(request, review["id"])}
        )

    @router.get("/reviews", summary="Reviews (in full for the committee; decided ones as summaries)")
    @requires(Action.READ)
    def review_list(request: Request, status: str | None = None) -> JSONResponse:
        found = reviews.visible(principal_of(request), status=status)
        return JSONResponse({"reviews": [with_links(review, request) for review in found]})

    @router.get("/reviews/{review_id}", summary="One review")
    @requires(Action.READ)
    def review_get(review_id: str, request: Request) -> JSONResponse:
        return JSONResponse(with_links(reviews.get(principal_of(request), review_id), request))

    @router.post("/reviews/{review_id}/comments", summary="Comment on an open review (committee)")
    @requires(Action.REVIEW)
    async def review_comment(review_id: str, request: Request) -> JSONResponse:
        text = _text(await _body(request))
        review = await run_in_threadpool(reviews.comment, principal_of(request), review_id, text)
        return JSONResponse(with_links(review, request))

    @router.post("/reviews/{review_id}/responses", summary="Respond to the committee (submitter)")
    @requires(Action.SUBMIT_REVIEW)
    async def review_response(review_id: str, request: Request) -> JSONResponse:
        text = _text(await _body(request))
        review = await run_in_threadpool(reviews.respond, principal_of(request), review_id, text)
        return JSONResponse(with_links(review, request))

    @router.post("/reviews/{review_id}/decisions", summary="Approve or reject an open review (committee)")
    @requires(Action.REVIEW)
    async def review_decision(review_id: str, request: Request) -> JSONResponse:
        sta_url = str(request.base_url).rstrip("/") + STA_ROOT
        body = await _body(request)
        review = await run_in_threadpool(
            lambda: reviews.decide(principal_of(request), review_id, body, sta_url=sta_url)
        )
        return JSONResponse(with_links(review, request))

    @router.post("/reviews/{review_id}/withdraw", summary="Withdraw an open review (submitter)")
    @requires(Action.SUBMIT_REVIEW)
    def review_withdraw(review_id: str, request: Request) -> JSONResponse:
        return JSONResponse(with_links(reviews.withdraw(principal_of(request), review_id), request))

    return router
