"""GetCertificateChainStatus (new in OCPP 2.1): a charger asks the CSMS for the revocation status of
up to four certificates (usually of its own chains), each with ``certificateHashData``, a ``source``
(``OCSP`` or ``CRL``) and its ``urls``; the CSMS answers a status per certificate.

The bridge answers each from what it can vouch for, as GetCertificateStatus does:

- a certificate of this home's CAs (whatever the source): the home's OCSP responder, i.e. the
  store (``Good``, ``Revoked``; a serial the CA never issued ``Unknown``);
- another CA's certificate with source ``OCSP``: the response fetched from the first URL
  (``ocsp_allowed_hosts``, ``ocsp_timeout``, cached until nextUpdate) *when its signature verifies*
  against an issuer the bridge knows; an answer it cannot verify, cannot fetch or cannot read is
  ``Failed`` (the charger then asks the responder itself);
- another CA's certificate with source ``CRL``: ``Failed`` (the bridge fetches no CRLs);
- malformed hash data (e.g. a serial with leading zeros): ``Failed`` for that entry.

``nextUpdate`` is the OCSP response's (its thisUpdate plus a day when it has none); for ``Failed``
it is now, so the charger may ask again at once.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from cryptography.x509 import ocsp

from pki.certid import CertId
from pki.errors import PkiError
from pnc.core.errors import PayloadError
from pnc.server.context import CoreFacade

_STATUS = {
    ocsp.OCSPCertStatus.GOOD: "Good",
    ocsp.OCSPCertStatus.REVOKED: "Revoked",
    ocsp.OCSPCertStatus.UNKNOWN: "Unknown",
}


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def status_of(ocsp_result: str, cert_id: CertId, now: dt.datetime) -> tuple[str, str]:
    """(status, nextUpdate) of the certificate ``cert_id`` in a base64 DER OCSPResponse."""
    try:
        response = ocsp.load_der_ocsp_response(base64.b64decode(ocsp_result))
        if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
            return "Failed", _iso(now)
        for single in response.responses:
            if single.serial_number == cert_id.serial and single.issuer_key_hash == cert_id.issuer_key_hash:
                until = single.next_update_utc or single.this_update_utc + dt.timedelta(days=1)
                return _STATUS[single.certificate_status], _iso(until)
    except (ValueError, KeyError):
        pass
    return "Failed", _iso(now)


async def entry_status(core: CoreFacade, entry: dict[str, Any], now: dt.datetime) -> tuple[str, str]:
    hash_data = entry["certificateHashData"]
    request = {"ocspRequestData": {**hash_data, "responderURL": entry["urls"][0]}}
    try:
        cert_id = CertId.from_ocpp(hash_data)
        answer = await core.certificate_status_answer(request)
    except (PayloadError, PkiError):
        return "Failed", _iso(now)
    if answer.payload.get("status") != "Accepted":
        return "Failed", _iso(now)
    if answer.source != "own" and (entry["source"] != "OCSP" or not answer.verified):
        return "Failed", _iso(now)
    return status_of(answer.payload["ocspResult"], cert_id, now)


async def get_certificate_chain_status(
    core: CoreFacade, station_id: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """A GetCertificateChainStatusRequest (schema-checked) -> its response."""
    now = dt.datetime.now(dt.UTC)
    statuses = []
    for entry in payload["certificateStatusRequests"]:
        status, next_update = await entry_status(core, entry, now)
        statuses.append(
            {
                "certificateHashData": entry["certificateHashData"],
                "source": entry["source"],
                "status": status,
                "nextUpdate": next_update,
            }
        )
    return {"certificateStatus": statuses}


__all__ = ["entry_status", "get_certificate_chain_status", "status_of"]
