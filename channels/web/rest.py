"""The REST API's bodies, identities and error responses (the endpoints are `WebChannel`'s)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from channels.web.frames import FrameError, SendFeedback, SendMessage, parse_object
from channels.web.identity import IdentityClaim

IDENTITY_HEADER = "x-shopclerk-identity"  # a JWT, or the signed fields as a JSON object


async def rest_body(request: Request, optional: bool = False) -> dict[str, Any]:
    """The JSON object a call sent (an empty one where a body is optional and none came)."""
    raw = await request.body()
    if optional and not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise FrameError("bad_frame", f"the body is not JSON: {str(exc)[:100]}") from exc
    if not isinstance(body, dict):
        raise FrameError("bad_frame", "the body is a JSON object")
    return body


async def rest_identity(request: Request, body: dict[str, Any] | None) -> IdentityClaim | None:
    """The shopper identity a call carries: the body's `identity`, else the header."""
    given: Any = (body or {}).get("identity")
    if given is None:
        header = request.headers.get(IDENTITY_HEADER, "").strip()
        if not header:
            return None
        if not header.startswith("{"):
            return IdentityClaim(token=header[:4096])
        try:
            given = json.loads(header)
        except ValueError as exc:
            raise FrameError("bad_frame", f"{IDENTITY_HEADER} is not JSON or a token") from exc
    try:
        return IdentityClaim.model_validate(given)
    except ValidationError as exc:
        problems = "; ".join(
            f"identity.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_input=False)[:5]
        )
        raise FrameError("bad_frame", problems) from exc


def rest_frame(body: dict[str, Any], type_: str) -> SendMessage | SendFeedback:
    """A REST body is a frame without `v` and `type` (the path says which) and `identity`."""
    fields = {k: v for k, v in body.items() if k != "identity"}
    frame = parse_object({"v": 1, **fields, "type": type_})
    if not isinstance(frame, SendMessage | SendFeedback):
        raise FrameError("bad_frame", f"expected a {type_}")
    return frame


_STATUS = {"bad_frame": 400, "unknown_message": 404, "unknown_session": 404,
           "identity_required": 403, "too_large": 413, "rate_limited": 429,
           "overloaded": 503}  # fmt: skip


def frame_error(error: FrameError) -> JSONResponse:
    headers = {}
    if "retry_after" in error.extra:
        headers["Retry-After"] = str(max(1, round(error.extra["retry_after"])))
    return error_response(_STATUS.get(error.code, 400), error.code, error.message, headers)


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status, headers)
