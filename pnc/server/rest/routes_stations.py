"""``/v1/stations``: the registered and connected chargers, the commands the bridge sends them
(GetInstalledCertificateIds, InstallCertificate, DeleteCertificate, TriggerMessage) with the
charger's answer, and ``/v1/sign-jobs``, the SignCertificate work the bridge does for them.

A command reaches the charger wherever it is connected: on this process directly, on another
``pnc serve`` process through Redis (:mod:`pnc.server.routing`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from cryptography import x509
from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from pki.errors import NotFoundError
from pki.store.models import SignJob
from pnc.core.apikeys import ApiPrincipal, ApiRole
from pnc.server import commands
from pnc.server.context import AppContext
from pnc.server.rest.auth import Authenticator
from pnc.server.rest.models import (
    DeleteCertificateRequest,
    InstallCertificateRequest,
    InstalledCertificateType,
    Station,
    StationAnswer,
    TriggerMessageRequest,
)
from pnc.server.rest.models import SignJob as SignJobModel
from pnc.server.rest.routing_support import audit

StationId = Annotated[str, "the charger's OCPP identity"]


def _connection(info: Any) -> dict[str, Any]:
    return {
        "ocppVersion": info.ocpp_version,
        "securityProfile": info.security_profile,
        "remote": info.remote,
        "connectedAt": info.connected_at,
        "processId": getattr(info, "process_id", ""),
    }


def _stations(ctx: AppContext) -> list[dict[str, Any]]:
    connected = {info.station_id: info for info in ctx.connections.connected()}
    out: dict[str, dict[str, Any]] = {}
    for record in ctx.stations.list():
        info = connected.get(record.station_id)
        out[record.station_id] = {
            "stationId": record.station_id,
            "registered": True,
            "securityProfile": record.security_profile,
            "connected": info is not None,
            "connection": _connection(info) if info is not None else None,
        }
    for station_id, info in connected.items():
        if station_id not in out:  # admitted without registration (allow_unknown_stations)
            out[station_id] = {
                "stationId": station_id,
                "registered": False,
                "securityProfile": None,
                "connected": True,
                "connection": _connection(info),
            }
    return sorted(out.values(), key=lambda s: str(s["stationId"]))


def _job(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "stationId": row.station_id,
        "certificateType": row.certificate_type,
        "status": row.status,
        "attempts": row.attempts,
        "serialNumber": row.serial_hex,
        "lastError": row.last_error,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
    }


_JOB_COLUMNS = (
    SignJob.id,
    SignJob.station_id,
    SignJob.certificate_type,
    SignJob.status,
    SignJob.attempts,
    SignJob.serial_hex,
    SignJob.last_error,
    SignJob.created_at,
    SignJob.updated_at,
)


def routes(ctx: AppContext, auth: Authenticator, router: APIRouter) -> None:
    readonly = Depends(auth.require(ApiRole.READONLY))
    operator = Depends(auth.require(ApiRole.OPERATOR))

    @router.get(
        "/stations", response_model=list[Station], tags=["Stations"], summary="Registered and connected"
    )
    def stations(
        connected: Annotated[
            bool | None, Query(description="Only connected (true) or offline (false)")
        ] = None,
        _: ApiPrincipal = readonly,
    ) -> list[dict[str, Any]]:
        """Every station ``pnc stations add`` registered and every charger connected to a bridge
        process, with its connection (OCPP version, security profile, peer, process)."""
        rows = _stations(ctx)
        return [r for r in rows if connected is None or r["connected"] is connected]

    @router.get("/stations/{station_id}", response_model=Station, tags=["Stations"], summary="One station")
    def station(station_id: StationId, _: ApiPrincipal = readonly) -> dict[str, Any]:
        for row in _stations(ctx):
            if row["stationId"] == station_id:
                return row
        raise NotFoundError(f"station {station_id!r} is neither registered nor connected")

    @router.get(
        "/stations/{station_id}/certificates",
        response_model=dict[str, Any],
        tags=["Stations"],
        summary="The charger's installed certificates (GetInstalledCertificateIds, M03)",
    )
    async def installed(
        station_id: StationId,
        certificate_type: Annotated[
            list[InstalledCertificateType] | None,
            Query(alias="certificateType", description="Repeat for several; none: all"),
        ] = None,
        _: ApiPrincipal = operator,
    ) -> dict[str, Any]:
        """The charger's GetInstalledCertificateIdsResponse (``status``,
        ``certificateHashDataChain``). Asks the charger, so it needs the operator role."""
        types: list[str] | None = [str(t) for t in certificate_type] if certificate_type else None
        return await commands.get_installed_certificate_ids(ctx.connections, station_id, types)

    @router.post(
        "/stations/{station_id}/install-certificate",
        response_model=StationAnswer,
        tags=["Stations"],
        summary="Install a root certificate on the charger (InstallCertificate, M05)",
    )
    async def install(
        station_id: StationId, body: InstallCertificateRequest, principal: ApiPrincipal = operator
    ) -> dict[str, Any]:
        """Only self-signed CA certificates (roots) are sent; anything else is refused (400)
        before the charger is asked. Answers the charger's InstallCertificateResponse."""
        answer = await commands.install_certificate(
            ctx.connections, station_id, body.certificate_type, body.certificate
        )
        root = x509.load_pem_x509_certificate(body.certificate.encode("ascii"))  # checked by the command
        await audit(
            ctx,
            principal,
            "api-install-certificate",
            subject=f"station={station_id}",
            serial=format(root.serial_number, "x"),
            details={
                "certificateType": body.certificate_type,
                "root": root.subject.rfc4514_string(),
                "answer": answer.get("status"),
            },
        )
        return answer

    @router.post(
        "/stations/{station_id}/delete-certificate",
        response_model=StationAnswer,
        tags=["Stations"],
        summary="Delete a certificate on the charger (DeleteCertificate, M04)",
    )
    async def delete(
        station_id: StationId, body: DeleteCertificateRequest, principal: ApiPrincipal = operator
    ) -> dict[str, Any]:
        payload = body.payload()
        answer = await commands.delete_certificate(
            ctx.connections, station_id, payload["certificateHashData"]
        )
        await audit(
            ctx,
            principal,
            "api-delete-certificate",
            subject=f"station={station_id}",
            serial=body.certificate_hash_data.serial_number,
            details={"certificateHashData": payload["certificateHashData"], "answer": answer.get("status")},
        )
        return answer

    @router.post(
        "/stations/{station_id}/trigger-message",
        response_model=StationAnswer,
        tags=["Stations"],
        summary="Make the charger renew a certificate (TriggerMessage, F06)",
    )
    async def trigger(
        station_id: StationId, body: TriggerMessageRequest, principal: ApiPrincipal = operator
    ) -> dict[str, Any]:
        """The charger answers, then sends SignCertificate with a fresh CSR, which the bridge
        signs and delivers (see ``/v1/sign-jobs``)."""
        answer = await commands.trigger_message(ctx.connections, station_id, body.requested_message)
        await audit(
            ctx,
            principal,
            "api-trigger-message",
            subject=f"station={station_id}",
            details={"requestedMessage": body.requested_message, "answer": answer.get("status")},
        )
        return answer

    @router.get(
        "/sign-jobs", response_model=list[SignJobModel], tags=["Stations"], summary="SignCertificate jobs"
    )
    def sign_jobs(
        station_id: Annotated[str | None, Query(alias="stationId", max_length=48)] = None,
        status: Annotated[
            Literal["pending", "signed", "delivered", "rejected", "failed"] | None, Query()
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        _: ApiPrincipal = readonly,
    ) -> list[dict[str, Any]]:
        """Newest first."""
        query = select(*_JOB_COLUMNS).order_by(SignJob.id.desc()).limit(limit)
        if station_id is not None:
            query = query.where(SignJob.station_id == station_id)
        if status is not None:
            query = query.where(SignJob.status == status)
        with ctx.service.store.engine.connect() as conn:
            return [_job(row) for row in conn.execute(query)]

    @router.get("/sign-jobs/{job_id}", response_model=SignJobModel, tags=["Stations"], summary="One sign job")
    def sign_job(job_id: int, _: ApiPrincipal = readonly) -> dict[str, Any]:
        with ctx.service.store.engine.connect() as conn:
            row = conn.execute(select(*_JOB_COLUMNS).where(SignJob.id == job_id)).first()
        if row is None:
            raise NotFoundError(f"no sign job {job_id}")
        return _job(row)


__all__ = ["routes"]
