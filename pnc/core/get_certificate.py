"""Get15118EVCertificate (OCPP 2.0.1 M01/M02): the charger forwards the EV's EXI
CertificateInstallationReq (or -UpdateReq) base64-encoded; the installation service
(:mod:`pnc.core.install`) answers it.

Request: ``iso15118SchemaVersion`` (the EXI namespace, at most 50 characters), ``action``
(``Install`` or ``Update``), ``exiRequest`` (base64; at most 5600 characters in OCPP 2.0.1, 11000 in
2.1). Answer: ``{"status": "Accepted"|"Failed", "exiResponse": base64}``, plus ``statusInfo``
(reasonCode = the outcome, e.g. ``UnknownVehicle``, ``CertChainError``; additionalInfo = why) whenever
no contract was installed. The OCPP status follows :func:`pnc.core.install_codes.ocpp_status`: a
request that was processed and refused (bad chain, unknown vehicle, cancelled contract ...) is
``Accepted`` with an EXI response carrying the ISO 15118 FAILED_ ResponseCode, which the charger
passes to the EV; ``Failed`` means it could not be processed (not EXI of the schema, an unknown
schema, an internal error), still with an EXI failure response where a schema was known.

The response must fit the schema: ``exiResponse`` is at most 7500 characters in OCPP 2.0.1 and 17000
in 2.1 (``exi_response_limit``). The responses of this CA fit 2.0.1 (an ISO 15118-2 installation is
about 3,900 characters, -20 about 5,000), but with a long OEM chain one might not: then the answer
is ``Failed`` with an empty ``exiResponse`` and ``statusInfo.reasonCode`` ``ExiResponseTooLong``,
and the contract certificate issued for it is revoked (cessationOfOperation) and the contract
names its previous certificate again, so nothing the EV never received stays valid.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from pki.ca import CaService
from pki.contracts import ContractRegistry
from pki.revocation import RevocationReason
from pnc.core.errors import PayloadError
from pnc.core.install import ContractInstaller, InstallResult
from pnc.core.payloads import require_object, required_text

EXI_REQUEST_LIMIT_201 = 5600
EXI_REQUEST_LIMIT_21 = 11000
EXI_RESPONSE_LIMIT_201 = 7500
EXI_RESPONSE_LIMIT_21 = 17000
MAX_SCHEMA_VERSION = 50
ACTIONS = ("Install", "Update")


@dataclass(frozen=True)
class EvCertificateRequest:
    schema_version: str
    action: str
    exi_request: bytes


def parse_ev_certificate_request(
    payload: object, *, exi_request_limit: int = EXI_REQUEST_LIMIT_21
) -> EvCertificateRequest:
    body = require_object(payload)
    schema = required_text(body, "iso15118SchemaVersion", max_length=MAX_SCHEMA_VERSION)
    action = required_text(body, "action", max_length=10, choices=ACTIONS)
    text = required_text(body, "exiRequest", max_length=exi_request_limit)
    try:
        exi = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise PayloadError("exiRequest", "is not base64 (RFC 4648, standard alphabet)") from None
    if not exi:
        raise PayloadError("exiRequest", "is empty")
    return EvCertificateRequest(schema, action, exi)


@dataclass(frozen=True)
class EvCertificateAnswer:
    """The answer and what the installation service did (for logs and metrics)."""

    payload: dict[str, Any]
    result: InstallResult | None
    detail: str


def answer_ev_certificate(
    installer: ContractInstaller,
    request: EvCertificateRequest,
    *,
    exi_response_limit: int = EXI_RESPONSE_LIMIT_201,
    ocpp_version: str | None = None,
) -> EvCertificateAnswer:
    """Run the installation service (store and CPU work: call from a worker thread)."""
    result = installer.install_contract(
        request.exi_request, request.schema_version, request.action, ocpp_version=ocpp_version
    )
    encoded = result.exi_response_base64()
    if len(encoded) > exi_response_limit:
        detail = (
            f"the EXI response has {len(encoded)} base64 characters; exiResponse allows {exi_response_limit}"
        )
        _withdraw(installer.service, installer.registry, result)
        return EvCertificateAnswer(
            {
                "status": "Failed",
                "exiResponse": "",
                "statusInfo": {"reasonCode": "ExiResponseTooLong", "additionalInfo": detail[:512]},
            },
            result,
            detail,
        )
    payload: dict[str, Any] = {"status": result.status.value, "exiResponse": encoded}
    if not result.ok:
        payload["statusInfo"] = {
            "reasonCode": _reason_code(result),
            "additionalInfo": result.detail[:512],
        }
    return EvCertificateAnswer(payload, result, result.detail)


def _reason_code(result: InstallResult) -> str:
    """statusInfo.reasonCode (at most 20 characters): the outcome in CamelCase."""
    return "".join(part.capitalize() for part in result.outcome.value.split("-"))[:20]


def _withdraw(service: CaService, registry: ContractRegistry, result: InstallResult) -> None:
    """Revoke a contract certificate the EV will never receive; the contract names its previous
    certificate again (one transaction)."""
    serial, emaid = result.serial, result.emaid
    if serial is None or emaid is None:
        return
    previous = result.previous_serial
    service.revoke(
        serial,
        RevocationReason.CESSATION_OF_OPERATION,
        record_also=lambda tx: registry.undo_installation(tx, emaid, serial, previous),
    )


__all__ = [
    "EXI_REQUEST_LIMIT_21",
    "EXI_REQUEST_LIMIT_201",
    "EXI_RESPONSE_LIMIT_21",
    "EXI_RESPONSE_LIMIT_201",
    "EvCertificateAnswer",
    "EvCertificateRequest",
    "answer_ev_certificate",
    "parse_ev_certificate_request",
]
