"""Errors as RFC 9457 ``application/problem+json``, rendered in one place."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tweeling.core.errors import TooManyRequestsError, TweelingError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("tweeling.api")


def problem(status: int, title: str, detail: str, instance: str, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "instance": instance}
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error, expected or not, as problem+json without internals."""

    @app.exception_handler(TweelingError)
    async def _tweeling(request: Request, exc: TweelingError) -> JSONResponse:
        extra = {"invalid-params": exc.invalid_params} if exc.invalid_params else {}
        response = problem(exc.status, exc.title, exc.message, request.url.path, code=exc.code, **extra)
        if isinstance(exc, TooManyRequestsError):
            response.headers["Retry-After"] = str(exc.retry_after_s)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        params = [
            {
                "name": ".".join(str(p) for p in error["loc"][1:]) or str(error["loc"][0]),
                "reason": error["msg"],
            }
            for error in exc.errors()
        ]
        detail = "; ".join(f"{p['name']}: {p['reason']}" for p in params) or "invalid parameters"
        return problem(400, "Invalid input", detail, request.url.path, **{"invalid-params": params})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = "Not found" if exc.status_code == 404 else "HTTP error"
        return problem(exc.status_code, title, str(exc.detail), request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return problem(
            500, "Internal error", "an unexpected error occurred; it has been logged", request.url.path
        )
