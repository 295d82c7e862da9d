"""``POST /v1/authorize``, ``/v1/ev-certificate``, ``/v1/certificate-status``, ``/v1/sign-certificate``:
the Plug & Charge calls of a charger, for a CSMS that asks the bridge instead of letting its
chargers connect to it. Same JSON as the OCPP 2.0.1 messages; answered by the same core.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from pnc.core.apikeys import ApiPrincipal, ApiRole
from pnc.server.context import AppContext
from pnc.server.rest.auth import Authenticator
from pnc.server.rest.models import (
    AuthorizeRequest,
    AuthorizeResponse,
    CertificateStatusRequest,
    CertificateStatusResponse,
    EvCertificateRequest,
    EvCertificateResponse,
    SignCertificateRequest,
    SignCertificateResponse,
)
from pnc.server.rest.routing_support import audit
from pnc.server.rest.signing import sign_now


def routes(ctx: AppContext, auth: Authenticator, router: APIRouter) -> None:
    operator = Depends(auth.require(ApiRole.OPERATOR))

    @router.post(
        "/authorize",
        response_model=AuthorizeResponse,
        response_model_exclude_none=True,
        tags=["Plug & Charge"],
        summary="Authorize a contract certificate (OCPP C07)",
    )
    async def authorize(body: AuthorizeRequest, _: ApiPrincipal = operator) -> dict[str, Any]:
        """The AuthorizeResponse for the eMAID and its contract chain (``certificate``) or its
        OCSP hash data, with the status pairs of the OCPP 2.0.1 errata 2023-12: Accepted;
        ContractCancelled with the token's registry status; CertificateExpired + Expired;
        CertificateRevoked + Invalid; CertChainError + Invalid."""
        return await ctx.core.authorize(body.payload())

    @router.post(
        "/ev-certificate",
        response_model=EvCertificateResponse,
        response_model_exclude_none=True,
        tags=["Plug & Charge"],
        summary="Install or update a contract certificate (Get15118EVCertificate)",
    )
    async def ev_certificate(
        body: EvCertificateRequest, principal: ApiPrincipal = operator
    ) -> dict[str, Any]:
        """Runs the installation service on the EV's base64 EXI request and answers the base64
        EXI response. A refused request answers ``Failed`` with an EXI response carrying the
        ISO 15118 response code (the EV needs it), and ``statusInfo`` saying why."""
        answer = await ctx.core.ev_certificate_answer(body.payload())
        result = answer.result
        if result is not None and result.serial is not None:  # a contract certificate was issued
            await audit(
                ctx,
                principal,
                "api-ev-certificate",
                subject=f"eMAID={result.emaid}",
                serial=result.serial,
                details={"action": body.action, "iso15118SchemaVersion": body.iso15118_schema_version},
            )
        return answer.payload

    @router.post(
        "/certificate-status",
        response_model=CertificateStatusResponse,
        response_model_exclude_none=True,
        tags=["Plug & Charge"],
        summary="The OCSP response for a certificate (GetCertificateStatus, M06)",
    )
    async def certificate_status(
        body: CertificateStatusRequest, _: ApiPrincipal = operator
    ) -> dict[str, Any]:
        """From this home's OCSP responder when it issued the certificate, otherwise fetched from
        ``responderURL`` (cached until nextUpdate); ``Failed`` with ``statusInfo`` when no answer
        could be had."""
        return await ctx.core.get_certificate_status(body.payload())

    @router.post(
        "/sign-certificate",
        response_model=SignCertificateResponse,
        response_model_exclude_none=True,
        tags=["Plug & Charge"],
        summary="Sign a charger's CSR (SignCertificate, A02/A03/M03)",
    )
    async def sign_certificate(
        body: SignCertificateRequest, principal: ApiPrincipal = operator
    ) -> dict[str, Any]:
        """``deliver: false`` (default): check the CSR against the profile and the station's
        identity, sign it (V2GCertificate through the CPO Sub-CA 2, ChargingStationCertificate
        through the charging-station CA; no type: both) and return the chains, leaf first, no
        root. ``Rejected`` with ``statusInfo`` when the CSR is refused.

        ``deliver: true``: answer like OCPP SignCertificate and send CertificateSigned to the
        connected charger in the background (retried; follow the ``jobs`` at
        ``/v1/sign-jobs/{id}``)."""
        payload = {k: v for k, v in body.payload().items() if k not in ("stationId", "deliver")}
        if body.deliver:
            answer = await ctx.core.sign_answer(body.station_id, payload)
            result = {**answer.payload, "jobs": list(answer.job_ids) if answer.job_ids else None}
        else:
            result = await sign_now(ctx, body.station_id, payload)
        if result.get("status") == "Accepted":
            serials = [c["serialNumber"] for c in result.get("certificates") or []]
            await audit(
                ctx,
                principal,
                "api-sign-certificate",
                subject=f"station={body.station_id}",
                serial=serials[0] if len(serials) == 1 else None,
                details={
                    "certificateType": body.certificate_type,
                    "deliver": body.deliver,
                    "serials": serials,
                    "jobs": result.get("jobs"),
                },
            )
        return result


__all__ = ["routes"]
