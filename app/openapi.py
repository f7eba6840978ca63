"""The OpenAPI schema as the running server behaves: security only where a token is asked for,
and the answers every route can give (404, 401, 413, 503) listed where they can happen."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.config import Settings

ERROR = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"detail": {"type": "string"}},
                "required": ["detail"],
            }
        }
    }
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}
WRITE_METHODS = ("post", "put", "patch", "delete")


def openapi_schema(app: FastAPI, settings: Settings) -> dict[str, Any]:
    """FastAPI's schema of `app`, adjusted to `settings` (built once, then cached on the app)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes
    )
    token = settings.api_token is not None
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            secured = token and (method in WRITE_METHODS or settings.protect_reads)
            if secured:
                responses.setdefault("401", {**ERROR, "description": "missing or wrong token"})
            else:
                operation.pop("security", None)
            if "{study_id}" in path:
                responses.setdefault("404", {**ERROR, "description": "no such study"})
            if "{comparison_id}" in path:
                responses["404"] = {**ERROR, "description": "no such comparison"}
            if "requestBody" in operation:
                responses.setdefault("413", {**ERROR, "description": "request body too large"})
            if path.startswith("/api/"):
                responses.setdefault(
                    "503",
                    {
                        **ERROR,
                        "description": "busy (too many requests in flight) or the database is "
                        "unavailable: retry after `Retry-After` seconds",
                        "headers": RETRY_AFTER,
                    },
                )
    if not token:
        schema.get("components", {}).pop("securitySchemes", None)
    app.openapi_schema = schema
    return schema
