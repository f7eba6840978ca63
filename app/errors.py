"""Domain errors that carry their HTTP meaning, and the one handler that answers them.

Modules below the routes raise these; `create_app` registers `domain_error` once, so route
handlers keep only the happy path and every kind gives the same status and body everywhere.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse


class DomainError(Exception):
    """An error the API answers with `status` and `detail()` (and `headers`, if any)."""

    status: int = 400
    headers: dict[str, str] | None = None

    def detail(self) -> Any:
        """The response's `detail`: the message, or a list naming the bad field."""
        return str(self)


class FieldError(DomainError):
    """Bad input in one field: a 422 shaped like FastAPI's own validation errors."""

    status = 422
    loc: tuple[str, ...] = ("body",)
    kind = "value_error"

    def detail(self) -> Any:
        return [{"loc": list(self.loc), "msg": str(self), "type": self.kind}]


async def domain_error(_request: Request, exc: Exception) -> JSONResponse:
    """The one place a domain error becomes an HTTP response."""
    assert isinstance(exc, DomainError)
    return JSONResponse({"detail": exc.detail()}, status_code=exc.status, headers=exc.headers)
