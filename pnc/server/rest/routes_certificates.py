"""``/v1/certificates``: the certificates this home issued (list with filters, show, revoke)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from pki.errors import PkiError
from pki.revocation import RevocationReason
from pki.store import CertificateRecord, parse_serial
from pki.store.models import Certificate, CertificateAuthority, Revocation
from pnc.core.apikeys import ApiPrincipal, ApiRole
from pnc.server.context import AppContext
from pnc.server.rest.auth import Authenticator
from pnc.server.rest.errors import ApiError
from pnc.server.rest.models import CertificateDetail, CertificatePage, RevokeRequest

MAX_PAGE = 1000


_SUMMARY_KEYS = (
    "serial",
    "role",
    "profile",
    "subject",
    "issuer",
    "notBefore",
    "notAfter",
    "status",
    "revokedAt",
    "reason",
)


def _summary(values: Sequence[Any]) -> dict[str, Any]:
    """A certificate as listed, from its values in the order of :data:`_SUMMARY_KEYS`."""
    return dict(zip(_SUMMARY_KEYS, values, strict=True))


def _detail(record: CertificateRecord) -> dict[str, Any]:
    pem = x509.load_der_x509_certificate(record.der).public_bytes(serialization.Encoding.PEM).decode()
    return {
        **_summary(
            (
                record.serial_hex,
                record.role,
                record.profile,
                record.subject,
                record.issuer,
                record.not_before,
                record.not_after,
                record.status,
                record.revoked_at,
                record.reason,
            )
        ),
        "pem": pem,
        "sha256Fingerprint": hashlib.sha256(record.der).hexdigest(),
    }


def list_certificates(
    ctx: AppContext,
    *,
    role: str | None,
    profile: str | None,
    status: str | None,
    issuer: str | None,
    subject: str | None,
    expiring_before: dt.datetime | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """One page of certificates, oldest first, without their DER (the store's rows, filtered in SQL)."""
    ca = CertificateAuthority.__table__.alias("issuer_ca")
    query = (
        select(
            Certificate.serial_hex,
            Certificate.role,
            Certificate.profile,
            Certificate.subject,
            ca.c.name,
            Certificate.not_before,
            Certificate.not_after,
            Certificate.status,
            Revocation.revoked_at,
            Revocation.reason,
        )
        .outerjoin(ca, ca.c.id == Certificate.issuer_ca_id)
        .outerjoin(Revocation, Revocation.certificate_id == Certificate.id)
        .order_by(Certificate.id)
        .limit(limit + 1)
        .offset(offset)
    )
    if role is not None:
        query = query.where(Certificate.role == role)
    if profile is not None:
        query = query.where(Certificate.profile == profile)
    if status is not None:
        query = query.where(Certificate.status == status)
    if issuer is not None:
        query = query.where(ca.c.name == issuer)
    if subject is not None:
        query = query.where(Certificate.subject.contains(subject, autoescape=True))
    if expiring_before is not None:
        query = query.where(Certificate.not_after <= expiring_before)
    with ctx.service.store.engine.connect() as conn:
        rows = conn.execute(query).all()
    items = [_summary(tuple(row)) for row in rows[:limit]]
    return {"items": items, "nextOffset": offset + limit if len(rows) > limit else None}


def routes(ctx: AppContext, auth: Authenticator, router: APIRouter) -> None:
    readonly = Depends(auth.require(ApiRole.READONLY))
    security = Depends(auth.require(ApiRole.SECURITY))

    @router.get(
        "/certificates",
        response_model=CertificatePage,
        tags=["Certificates"],
        summary="List the certificates this home issued",
    )
    def certificates(
        *,
        role: Annotated[str | None, Query(description="e.g. contract, secc, cs, mo-sub2")] = None,
        profile: Annotated[str | None, Query(description="iso15118-2 or iso15118-20")] = None,
        status: Annotated[Literal["valid", "revoked"] | None, Query()] = None,
        issuer: Annotated[str | None, Query(description="The issuing CA, e.g. iso15118-2/mo-sub2")] = None,
        subject: Annotated[str | None, Query(max_length=200, description="Part of the subject DN")] = None,
        expiring_before: Annotated[dt.datetime | None, Query(alias="expiringBefore")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
        _: ApiPrincipal = readonly,
    ) -> dict[str, Any]:
        """Oldest first; ``nextOffset`` pages on. ``expiringBefore`` is an ISO 8601 time."""
        if expiring_before is not None and expiring_before.tzinfo is None:
            expiring_before = expiring_before.replace(tzinfo=dt.UTC)
        return list_certificates(
            ctx,
            role=role,
            profile=profile,
            status=status,
            issuer=issuer,
            subject=subject,
            expiring_before=expiring_before,
            limit=limit,
            offset=offset,
        )

    @router.get(
        "/certificates/{serial}",
        response_model=CertificateDetail,
        tags=["Certificates"],
        summary="One certificate with its PEM",
    )
    def certificate(serial: str, _: ApiPrincipal = readonly) -> dict[str, Any]:
        """``serial`` in hex (leading zeros and colons are accepted)."""
        return _detail(ctx.service.store.certificate(parse_serial(serial)))

    @router.post(
        "/certificates/{serial}/revoke",
        response_model=CertificateDetail,
        tags=["Certificates"],
        summary="Revoke a certificate (role security)",
    )
    async def revoke(serial: str, body: RevokeRequest, principal: ApiPrincipal = security) -> dict[str, Any]:
        """Revoked at once and for good: OCSP answers ``revoked`` and Authorize answers
        CertificateRevoked from then on. Refused (409) when it already is revoked."""
        canonical = parse_serial(serial)
        try:
            reason = RevocationReason.parse(body.reason)
        except PkiError as exc:  # names the accepted reasons
            raise ApiError(400, "invalid-request", str(exc), field="reason") from None

        def record_also(tx: Any) -> None:
            tx.audit(
                at=ctx.service.clock(),
                actor=principal.actor,
                action="api-revoke",
                serial=canonical,
                details={"reason": reason.value},
            )

        record = await asyncio.to_thread(ctx.service.revoke, canonical, reason, record_also=record_also)
        return _detail(record)


__all__ = ["list_certificates", "routes"]
