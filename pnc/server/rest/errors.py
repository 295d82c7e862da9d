"""Errors of the REST API: one JSON body for every refusal, and the mapping from the packages' typed
errors to HTTP statuses.

Every error answer is ``{"error": CODE, "message": TEXT, "field": PATH | null, "details": {...}}``:

===================== ====== ==========================================================================
``error``             status when
===================== ====== ==========================================================================
invalid-request       400    the body or a parameter is malformed (``field`` names it), or the
                             request breaks a rule (a CSR that is not a CSR, an unknown eMAID form)
unauthorized          401    no API key, or a malformed, unknown, revoked or wrong one
forbidden             403    the key's role may not do this
not-found             404    no such certificate, contract, station or sign job
conflict              409    the change contradicts the state (already revoked, already registered)
station-not-connected 409    the charger has no open OCPP connection to any bridge process
station-call-error    502    the charger answered with a CallError (``details``: errorCode, ...)
station-timeout       504    the charger did not answer in time
store-unavailable     503    the database failed; nothing was changed
===================== ====== ==========================================================================
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from pki.contracts import ContractError
from pki.errors import AlreadyExistsError, NotFoundError, PkiError, StoreError
from pnc.errors import PncError
from v2g.errors import V2GError


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: str = Field(description="A stable code: invalid-request, unauthorized, forbidden, not-found, ...")
    message: str = Field(description="What was wrong, for people.")
    field: str | None = Field(default=None, description="The request field at fault, as a JSON path.")
    details: dict[str, Any] = Field(default_factory=dict)


class ApiError(Exception):
    """An error answer of the REST API."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        *,
        field: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = ErrorBody(error=error, message=message, field=field, details=details or {})
        self.headers = headers


def _path(loc: tuple[int | str, ...]) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def from_validation(exc: RequestValidationError) -> ApiError:
    """A request FastAPI could not parse into its model: the first problem, with its field."""
    errors = list(exc.errors())
    first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request"}
    field = _path(tuple(first.get("loc", ("body",))))
    message = f"{field}: {first.get('msg', 'invalid')}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    problems = [{"field": _path(tuple(e.get("loc", ()))), "message": str(e.get("msg", ""))} for e in errors]
    return ApiError(400, "invalid-request", message, field=field, details={"problems": problems})


def from_exception(exc: BaseException) -> ApiError | None:
    """The answer for a typed error of our packages (None: not ours, a bug: 500)."""
    from pnc.core.apikeys import InvalidApiKey
    from pnc.server.errors import StationCallError, StationNotConnected, StationTimeout

    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, InvalidApiKey):
        return ApiError(401, "unauthorized", str(exc), headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, StationNotConnected):
        return ApiError(409, "station-not-connected", str(exc), details={"stationId": exc.station_id})
    if isinstance(exc, StationCallError):
        details = {
            "stationId": exc.station_id,
            "action": exc.action,
            "errorCode": exc.error_code,
            "errorDescription": exc.description,
            "errorDetails": exc.details,
        }
        return ApiError(502, "station-call-error", str(exc), details=details)
    if isinstance(exc, StationTimeout):
        return ApiError(504, "station-timeout", str(exc), details={"stationId": exc.station_id})
    if isinstance(exc, ContractError):  # already blocked, the PCID has another active contract
        return ApiError(409, "conflict", str(exc))
    if isinstance(exc, NotFoundError):
        return ApiError(404, "not-found", str(exc))
    if isinstance(exc, AlreadyExistsError):
        return ApiError(409, "conflict", str(exc))
    if isinstance(exc, StoreError):
        return ApiError(503, "store-unavailable", str(exc))
    if isinstance(exc, PncError | PkiError | V2GError):
        field = getattr(exc, "field", None)
        return ApiError(400, "invalid-request", str(exc), field=field if isinstance(field, str) else None)
    return None


# The refusals every route may answer, for the OpenAPI document ("4XX" keeps FastAPI from
# documenting its own 422, which this API never sends).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorBody, "description": "Refused: see `error` and `message`."},
    "5XX": {"model": ErrorBody, "description": "The store or the charger failed."},
}

__all__ = ["ERROR_RESPONSES", "ApiError", "ErrorBody", "from_exception", "from_validation"]
