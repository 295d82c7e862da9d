"""GetCertificateStatus (OCPP 2.0.1 M06): the charger asks for the OCSP response about one
certificate (usually a sub-CA of its V2G chain, to staple it for the EV).

Request: ``ocspRequestData {hashAlgorithm, issuerNameHash, issuerKeyHash, serialNumber,
responderURL}`` (hex hashes, hex serial without leading zeros). Answer: ``{"status": "Accepted",
"ocspResult": base64 DER OCSPResponse}``, or ``{"status": "Failed", "statusInfo": {reasonCode,
additionalInfo}}``.

When the CertID names a CA of this home the home's responder answers directly (no HTTP, whatever
``responderURL`` says; a serial the CA never issued gets a signed ``unknown``). Otherwise the
response is fetched from ``responderURL`` (:mod:`pnc.core.ocsp_client`: http(s) only,
``ocsp_allowed_hosts``, ``ocsp_timeout``, cached until nextUpdate) and passed on as received when it
is a successful response with a status for that certificate; when the bridge knows the issuer the
signature must verify too. reasonCode values: ``timeout``, ``http``, ``refused-url``,
``malformed``, ``error-status``, ``unverified``, ``TooLarge`` (ocspResult is at most 5500
characters), ``InternalError``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pki.ocsp import build_request_for
from pki.responder import OcspResponder
from pnc.core.authorize import HashEntry, parse_hash_entry
from pnc.core.errors import OcspUnavailable
from pnc.core.home_trust import HomeTrust
from pnc.core.ocsp_client import OcspClient, Offload
from pnc.core.payloads import object_field, require_object

MAX_OCSP_RESULT = 5500


def parse_certificate_status_request(payload: object) -> HashEntry:
    body = require_object(payload)
    data = object_field(body, "ocspRequestData")
    return parse_hash_entry(data, "ocspRequestData.")


@dataclass(frozen=True)
class CertificateStatusAnswer:
    payload: dict[str, Any]
    source: str  # "own" (this home's responder) or "fetched"
    detail: str
    verified: bool = True  # False: a fetched answer whose signer the bridge cannot check


def _failed(reason: str, detail: str, source: str) -> CertificateStatusAnswer:
    return CertificateStatusAnswer(
        {"status": "Failed", "statusInfo": {"reasonCode": reason[:20], "additionalInfo": detail[:512]}},
        source,
        detail,
    )


def _accepted(der: bytes, source: str, detail: str, verified: bool = True) -> CertificateStatusAnswer:
    encoded = base64.b64encode(der).decode("ascii")
    if len(encoded) > MAX_OCSP_RESULT:
        return _failed(
            "TooLarge",
            f"the OCSP response has {len(encoded)} base64 characters; ocspResult allows 5500",
            source,
        )
    return CertificateStatusAnswer({"status": "Accepted", "ocspResult": encoded}, source, detail, verified)


class CertificateStatusService:
    """Answers GetCertificateStatus; ``responder`` gives the home's OCSP responder (made on first use)."""

    def __init__(
        self,
        *,
        trust: HomeTrust,
        ocsp: OcspClient,
        responder: Callable[[], OcspResponder],
        offload: Offload[Any],
    ) -> None:
        self.trust = trust
        self.ocsp = ocsp
        self._responder = responder
        self._offload = offload

    async def answer(self, payload: object) -> CertificateStatusAnswer:
        entry = parse_certificate_status_request(payload)
        own = self.trust.own_issuer(entry.cert_id)
        if own is not None:
            request = build_request_for([entry.cert_id])
            try:
                der: bytes = await self._offload(lambda: self._responder().respond(request).der)
            except Exception as exc:  # the signer or the store failed: an answer all the same
                return _failed("InternalError", f"the home's OCSP responder failed: {exc}", "own")
            return _accepted(der, "own", f"answered by the responder of {own.name}")
        try:
            answer = await self.ocsp.answer(entry.cert_id, entry.responder_url, verify=False)
        except OcspUnavailable as exc:
            return _failed(exc.reason, exc.detail, "fetched")
        how = "verified" if answer.verified else "passed on unverified (issuer unknown here)"
        return _accepted(answer.der, "fetched", f"from {entry.responder_url}, {how}", answer.verified)


__all__ = [
    "CertificateStatusAnswer",
    "CertificateStatusService",
    "parse_certificate_status_request",
]
