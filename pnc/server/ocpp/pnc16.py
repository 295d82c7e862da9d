"""ISO 15118 Plug & Charge over OCPP 1.6 DataTransfer (OCA application note "Using ISO 15118 Plug &
Charge with OCPP 1.6"): the OCPP 2.0.1 messages travel in a DataTransfer whose ``vendorId`` is
``org.openchargealliance.iso15118pnc``, whose ``messageId`` is the 2.0.1 message name and whose
``data`` is the 2.0.1 request as a JSON string; the DataTransfer answer carries the 2.0.1 response
the same way, with status ``Accepted``.

Charger -> bridge (:func:`answer_data_transfer`): Authorize, Get15118EVCertificate,
GetCertificateStatus and SignCertificate. ``data`` is read as JSON and checked against the OCPP 2.0.1
request schema of ``messageId``; the core answers; the answer is checked against the 2.0.1 response
schema. What cannot be answered gets a DataTransfer answer, never a CallError and never a crash:

==========================================================  ==================  ====================
the charger's DataTransfer                                  status              data
==========================================================  ==================  ====================
another vendorId                                            UnknownVendorId     (none)
a messageId other than the four                             UnknownMessageId    the reason
no ``data``, ``data`` not JSON / not an object               Rejected            the reason
``data`` breaks the 2.0.1 schema or the core refuses it     Rejected            the reason
==========================================================  ==================  ====================

A SignCertificate without ``certificateType`` asks for the V2GCertificate (the charge point
certificate of OCPP 1.6 has the security extension's own SignCertificate).

Bridge -> charger (:func:`request` and :func:`result`): CertificateSigned, InstallCertificate,
DeleteCertificate, GetInstalledCertificateIds and TriggerMessage in the same wrapping; a DataTransfer
answer other than ``Accepted`` with valid 2.0.1 ``data`` is the charger's refusal
(:class:`pnc.server.errors.StationCallError` with the DataTransfer status as its code).
"""

from __future__ import annotations

import json
from typing import Any

from pnc.core.errors import PayloadError
from pnc.server.context import CoreFacade
from pnc.server.errors import StationCallError
from pnc.server.ocpp.dialect import CoreRoute
from pnc.server.ocpp.frames import CALL, CALL_RESULT, CallErrorReply, validate

VENDOR_ID = "org.openchargealliance.iso15118pnc"
SCHEMA_VERSION = "2.0.1"  # the messages inside the DataTransfer
CHARGER_MESSAGES = ("Authorize", "Get15118EVCertificate", "GetCertificateStatus", "SignCertificate")
CSMS_MESSAGES = (
    "CertificateSigned",
    "InstallCertificate",
    "DeleteCertificate",
    "GetInstalledCertificateIds",
    "TriggerMessage",
)
MAX_REASON = 500  # characters of a refusal's reason in ``data``


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def message_id_of(payload: dict[str, Any]) -> str | None:
    """The Plug & Charge messageId of a DataTransfer of the application note's vendorId, or None."""
    if payload.get("vendorId") != VENDOR_ID:
        return None
    message_id = payload.get("messageId")
    return message_id if isinstance(message_id, str) else None


def _refusal(status: str, reason: str) -> dict[str, Any]:
    return {"status": status, "data": reason[:MAX_REASON]}


def unwrap(payload: dict[str, Any]) -> tuple[str, dict[str, Any]] | dict[str, Any]:
    """(messageId, the 2.0.1 request) of a charger's Plug & Charge DataTransfer, or the
    DataTransfer answer that refuses it."""
    if payload.get("vendorId") != VENDOR_ID:
        return {"status": "UnknownVendorId"}
    message_id = payload.get("messageId")
    if message_id not in CHARGER_MESSAGES:
        known = ", ".join(CHARGER_MESSAGES)
        return _refusal("UnknownMessageId", f"messageId {str(message_id)[:50]!r} is not one of {known}")
    text = payload.get("data")
    if text is None:
        return _refusal("Rejected", f"data is missing: it carries the OCPP 2.0.1 {message_id}Request as JSON")
    try:
        request = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return _refusal("Rejected", f"data is not JSON: {str(exc)[:120]}")
    if not isinstance(request, dict):
        return _refusal("Rejected", f"data is not a JSON object with the OCPP 2.0.1 {message_id}Request")
    try:
        validate(SCHEMA_VERSION, CALL, message_id, request)
    except CallErrorReply as reply:
        return _refusal("Rejected", f"{reply.error_code}: {reply.description}")
    if message_id == "SignCertificate" and "certificateType" not in request:
        request = {**request, "certificateType": "V2GCertificate"}
    return message_id, request


def wrap_answer(message_id: str, answer: dict[str, Any]) -> dict[str, Any]:
    """The DataTransfer answer carrying the core's 2.0.1 response (checked against its schema;
    a breach is an InternalError CallError, as for the other versions)."""
    validate(SCHEMA_VERSION, CALL_RESULT, message_id, answer)
    return {"status": "Accepted", "data": _dumps(answer)}


async def answer_data_transfer(
    routes: dict[str, CoreRoute], core: CoreFacade, station_id: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """A charger's DataTransfer (its 1.6 schema checked) -> the DataTransfer answer."""
    unwrapped = unwrap(payload)
    if isinstance(unwrapped, dict):
        return unwrapped
    message_id, request = unwrapped
    try:
        answer = await routes[message_id](core, station_id, request)
    except PayloadError as exc:
        return _refusal("Rejected", f"{message_id}: {exc}")
    try:
        return wrap_answer(message_id, answer)
    except CallErrorReply as reply:
        raise CallErrorReply(
            "InternalError", f"the answer breaks the OCPP 2.0.1 schema: {reply.description}"
        ) from None


def request(message_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The DataTransfer request carrying the bridge's 2.0.1 call ``message_id``."""
    return {"vendorId": VENDOR_ID, "messageId": message_id, "data": _dumps(payload)}


def result(station_id: str, message_id: str, answer: dict[str, Any]) -> dict[str, Any]:
    """The 2.0.1 response inside the charger's DataTransfer answer (its 1.6 schema checked), or
    :class:`StationCallError`."""
    status = answer.get("status")
    text = answer.get("data")
    if status != "Accepted":
        detail = f": {str(text)[:200]}" if text else ""
        raise StationCallError(
            station_id,
            message_id,
            str(status),
            f"the charger answered the DataTransfer with {status}{detail}",
        )
    try:
        inner = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError):
        inner = None
    if not isinstance(inner, dict):
        raise StationCallError(
            station_id,
            message_id,
            "FormationViolation",
            "the DataTransfer answer's data is not a JSON object",
        )
    try:
        validate(SCHEMA_VERSION, CALL_RESULT, message_id, inner)
    except CallErrorReply as reply:
        raise StationCallError(
            station_id, message_id, reply.error_code, f"invalid answer in data: {reply.description}"
        ) from None
    return inner


__all__ = [
    "CHARGER_MESSAGES",
    "CSMS_MESSAGES",
    "VENDOR_ID",
    "answer_data_transfer",
    "message_id_of",
    "request",
    "result",
    "unwrap",
    "wrap_answer",
]
