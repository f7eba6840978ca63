"""The client's wheel, so a training machine installs it from the server it talks to."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status

from app.client_wheel import WHEEL_NAME, client_wheel

router = APIRouter(prefix="/client", tags=["client"])


@router.get(
    "/{filename}",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}, 404: {}},
)
def read_wheel(filename: str) -> Response:
    """`pip install http://HOST/client/adamtune_client-VERSION-py3-none-any.whl`: the client
    alone (standard library only). Any other name is a 404 naming the one served."""
    if filename != WHEEL_NAME:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"the client's wheel is {WHEEL_NAME}")
    return Response(client_wheel(), media_type="application/zip")
