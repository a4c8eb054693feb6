"""One JSON error shape for every failure: {"message": ..., "field": ..., "code": ...}."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException


class ErrorBody(BaseModel):
    message: str
    field: str | None = None
    code: str


class ApiError(Exception):
    def __init__(self, status_code: int, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.field = field
        self.code = code or {404: "not_found", 409: "conflict", 422: "validation_error"}.get(status_code, "error")


def not_found(kind: str, id_: int, field: str | None = None) -> ApiError:
    return ApiError(404, f"{kind} {id_} not found", field=field)


def field_path(loc: tuple | list) -> str:
    """`mapping[3]`, `options.consent.source`: list positions in brackets, as the routes' own errors write them."""
    path = ""
    for part in loc:
        if part in ("body", "query", "path"):
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        body = ErrorBody(message=exc.message, field=exc.field, code=exc.code)
        return JSONResponse(status_code=exc.status_code, content=body.model_dump())

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        field = field_path(first.get("loc", ()))
        message = "; ".join(f"{field_path(e.get('loc', ()))}: {e.get('msg')}" for e in errors[:5])
        body = ErrorBody(message=message, field=field, code="validation_error")
        return JSONResponse(status_code=422, content=body.model_dump())

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        body = ErrorBody(message=str(exc.detail), code="not_found" if exc.status_code == 404 else "error")
        return JSONResponse(status_code=exc.status_code, content=body.model_dump())
