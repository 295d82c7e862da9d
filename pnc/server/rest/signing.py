"""``POST /v1/sign-certificate`` without delivery: a CSMS that speaks OCPP with its chargers itself
sends the bridge the CSR of a charger's SignCertificate and gets the signed chains back, to send in
its own CertificateSigned.

The CSR passes the same checks as a SignCertificate a charger sends the bridge
(:mod:`pnc.core.csr_checks`); the certificates are issued through the CA service (CPO Sub-CA 2 for
a V2GCertificate, the charging-station CA for a ChargingStationCertificate), each one durably with
its audit entry, and returned as PEM chains: leaf, Sub-CA 2, Sub-CA 1, never the root.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pki.ca import CaService
from pki.errors import PkiError
from pki.identifiers import validate_station_id
from pnc.core.csr_checks import MAX_CSR_CHARS, CertificateType, CsrRefused, check_sign_request
from pnc.core.errors import PayloadError
from pnc.core.payloads import require_object, required_text, text_field
from pnc.server.context import AppContext


def sign_request(service: CaService, station_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Check and sign at once (blocking: run it in a worker thread). Answers
    ``{"status": "Accepted", "certificates": [...]}`` or ``{"status": "Rejected", "statusInfo": ...}``."""
    try:
        station = validate_station_id(station_id)
    except PkiError as exc:
        raise PayloadError("stationId", str(exc)) from None
    body = require_object(payload)
    csr = required_text(body, "csr", max_length=MAX_CSR_CHARS)
    kind = text_field(
        body,
        "certificateType",
        max_length=32,
        required=False,
        choices=tuple(t.value for t in CertificateType),
    )
    try:
        der, orders = check_sign_request(service, station, csr, CertificateType(kind) if kind else None)
    except CsrRefused as refused:
        return {
            "status": "Rejected",
            "statusInfo": {"reasonCode": refused.reason_code, "additionalInfo": refused.detail[:512]},
        }
    certificates = []
    for order in orders:
        issued = service.issue_leaf(order.role, order.common_name, profile=order.profile, csr=der)
        certificates.append(
            {
                "certificateType": order.certificate_type.value,
                "certificateChain": issued.chain_pem().decode("ascii"),
                "serialNumber": issued.serial,
            }
        )
    return {"status": "Accepted", "certificates": certificates}


async def sign_now(ctx: AppContext, station_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    return await asyncio.to_thread(sign_request, ctx.service, station_id, payload)


__all__ = ["sign_now", "sign_request"]
