"""The bridge's calls to an OCPP 1.6 charger: given and answered in OCPP 2.0.1 terms (as for every
version), carried as the OCA application note (Plug & Charge over DataTransfer) and the 1.6 security
extensions ("Improved security for OCPP 1.6-J") prescribe.

=====================================================  ==============================================
OCPP 2.0.1 call                                        on the 1.6 wire
=====================================================  ==============================================
CertificateSigned, certificateType V2GCertificate      DataTransfer CertificateSigned
CertificateSigned, ChargingStationCertificate / none   CertificateSigned (security extension)
InstallCertificate V2GRoot- / MORootCertificate        DataTransfer InstallCertificate
InstallCertificate CSMSRootCertificate                 InstallCertificate CentralSystemRootCertificate
InstallCertificate ManufacturerRootCertificate         InstallCertificate ManufacturerRootCertificate
DeleteCertificate                                      DataTransfer DeleteCertificate; when that finds
                                                       nothing (NotFound, or no Plug & Charge): the
                                                       security extension's DeleteCertificate
GetInstalledCertificateIds                             DataTransfer for the ISO 15118 types, the
                                                       security extension's call per CSMS /
                                                       Manufacturer root type; the lists merged
TriggerMessage SignV2GCertificate                      DataTransfer TriggerMessage
TriggerMessage SignChargingStationCertificate          ExtendedTriggerMessage SignChargePointCertificate
TriggerMessage SignCombinedCertificate                 both of the above (Accepted if both are)
TriggerMessage BootNotification, Heartbeat,            TriggerMessage (``evse.id`` as connectorId)
MeterValues, StatusNotification,
FirmwareStatusNotification
TriggerMessage LogStatusNotification                   ExtendedTriggerMessage
=====================================================  ==============================================

The 2.0.1 payload is checked against its schema first (:class:`CommandRefused`, nothing sent).
Other 1.6 calls (Reset, GetConfiguration, ...) go out as given, checked against the 1.6 schema.
A part of a split call that the charger does not implement (DataTransfer UnknownVendorId /
UnknownMessageId, CallError NotImplemented / NotSupported) contributes nothing; when no part
answers, the first refusal is raised.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pnc.server.errors import CommandRefused, StationCallError
from pnc.server.ocpp import pnc16
from pnc.server.ocpp.dialect import WireCall, certificate_signed_201
from pnc.server.ocpp.frames import CALL, CallErrorReply, validate

NOT_THERE = frozenset({"UnknownVendorId", "UnknownMessageId", "NotImplemented", "NotSupported"})
PNC_ROOTS = ("V2GRootCertificate", "MORootCertificate")
PNC_IDS = ("V2GRootCertificate", "MORootCertificate", "V2GCertificateChain")
NATIVE_ROOTS = {
    "CSMSRootCertificate": "CentralSystemRootCertificate",
    "ManufacturerRootCertificate": "ManufacturerRootCertificate",
}
CORE_TRIGGERS = (
    "BootNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StatusNotification",
)

Mapper = Callable[[WireCall, str, dict[str, Any], float], Awaitable[dict[str, Any]]]


async def via_data_transfer(
    wire: WireCall, station_id: str, message_id: str, payload: dict[str, Any], timeout: float
) -> dict[str, Any]:
    """One 2.0.1 call wrapped in DataTransfer; the 2.0.1 answer inside the charger's."""
    answer = await wire(
        "DataTransfer", pnc16.request(message_id, payload), timeout, f"DataTransfer.{message_id}"
    )
    return pnc16.result(station_id, message_id, answer)


async def _certificate_signed(
    wire: WireCall, station_id: str, payload: dict[str, Any], timeout: float
) -> dict[str, Any]:
    if payload.get("certificateType") == "V2GCertificate":
        return await via_data_transfer(wire, station_id, "CertificateSigned", payload, timeout)
    answer = await wire(
        "CertificateSigned", {"certificateChain": payload["certificateChain"]}, timeout, "CertificateSigned"
    )
    return {"status": answer["status"]}


async def _install_certificate(
    wire: WireCall, station_id: str, payload: dict[str, Any], timeout: float
) -> dict[str, Any]:
    certificate_type = payload["certificateType"]
    if certificate_type in PNC_ROOTS:
        return await via_data_transfer(wire, station_id, "InstallCertificate", payload, timeout)
    native = {"certificateType": NATIVE_ROOTS[certificate_type], "certificate": payload["certificate"]}
    answer = await wire("InstallCertificate", native, timeout, "InstallCertificate")
    return {"status": answer["status"]}


async def _delete_certificate(
    wire: WireCall, station_id: str, payload: dict[str, Any], timeout: float
) -> dict[str, Any]:
    first: dict[str, Any] | None = None
    refusal: StationCallError | None = None
    try:
        first = await via_data_transfer(wire, station_id, "DeleteCertificate", payload, timeout)
    except StationCallError as exc:
        if exc.error_code not in NOT_THERE:
            raise
        refusal = exc
    if first is not None and first.get("status") != "NotFound":
        return first
    try:
        answer = await wire("DeleteCertificate", payload, timeout, "DeleteCertificate")
    except StationCallError as exc:
        if exc.error_code not in NOT_THERE:
            raise
        if first is not None:
            return first
        assert refusal is not None
        raise refusal from None
    return {"status": answer["status"]}


def _key(hash_data: dict[str, Any]) -> tuple[str, ...]:
    return (
        str(hash_data.get("hashAlgorithm")),
        str(hash_data.get("issuerNameHash", "")).lower(),
        str(hash_data.get("issuerKeyHash", "")).lower(),
        str(hash_data.get("serialNumber", "")).lower().lstrip("0") or "0",
    )


async def _get_installed_certificate_ids(
    wire: WireCall, station_id: str, payload: dict[str, Any], timeout: float
) -> dict[str, Any]:
    wanted: list[str] | None = payload.get("certificateType")
    parts: list[Callable[[], Awaitable[list[dict[str, Any]]]]] = []
    pnc_types = None if wanted is None else [t for t in wanted if t in PNC_IDS]
    if pnc_types is None or pnc_types:

        async def pnc_part() -> list[dict[str, Any]]:
            request = {} if pnc_types is None else {"certificateType": pnc_types}
            answer = await via_data_transfer(wire, station_id, "GetInstalledCertificateIds", request, timeout)
            chains: list[dict[str, Any]] = answer.get("certificateHashDataChain") or []
            return chains if answer.get("status") == "Accepted" else []

        parts.append(pnc_part)
    for ocpp201_type, native_type in NATIVE_ROOTS.items():
        if wanted is not None and ocpp201_type not in wanted:
            continue

        async def native_part(
            ocpp201_type: str = ocpp201_type, native_type: str = native_type
        ) -> list[dict[str, Any]]:
            answer = await wire(
                "GetInstalledCertificateIds",
                {"certificateType": native_type},
                timeout,
                "GetInstalledCertificateIds",
            )
            if answer.get("status") != "Accepted":
                return []
            return [
                {"certificateType": ocpp201_type, "certificateHashData": data}
                for data in answer.get("certificateHashData") or []
            ]

        parts.append(native_part)
    found: list[dict[str, Any]] = []
    seen: set[tuple[str, ...]] = set()
    refusals: list[StationCallError] = []
    for part in parts:
        try:
            chains = await part()
        except StationCallError as exc:
            if exc.error_code not in NOT_THERE:
                raise
            refusals.append(exc)
            continue
        for chain in chains:
            key = _key(chain.get("certificateHashData") or {})
            if key not in seen:
                seen.add(key)
                found.append(chain)
    if refusals and len(refusals) == len(parts):
        raise refusals[0]
    if not found:
        return {"status": "NotFound"}
    return {"status": "Accepted", "certificateHashDataChain": found}


async def _trigger_message(
    wire: WireCall, station_id: str, payload: dict[str, Any], timeout: float
) -> dict[str, Any]:
    requested = payload["requestedMessage"]
    if requested == "SignV2GCertificate":
        return await via_data_transfer(wire, station_id, "TriggerMessage", payload, timeout)
    if requested in ("SignChargingStationCertificate", "LogStatusNotification"):
        extended = (
            "SignChargePointCertificate" if requested == "SignChargingStationCertificate" else requested
        )
        answer = await wire(
            "ExtendedTriggerMessage", {"requestedMessage": extended}, timeout, "ExtendedTriggerMessage"
        )
        return {"status": answer["status"]}
    if requested == "SignCombinedCertificate":
        v2g = await _trigger_message(wire, station_id, {"requestedMessage": "SignV2GCertificate"}, timeout)
        station = await _trigger_message(
            wire, station_id, {"requestedMessage": "SignChargingStationCertificate"}, timeout
        )
        for answer in (v2g, station):
            if answer.get("status") != "Accepted":
                return {"status": answer.get("status")}
        return {"status": "Accepted"}
    if requested in CORE_TRIGGERS:
        native: dict[str, Any] = {"requestedMessage": requested}
        evse = payload.get("evse")
        if isinstance(evse, dict) and "id" in evse:
            native["connectorId"] = evse["id"]
        answer = await wire("TriggerMessage", native, timeout, "TriggerMessage")
        return {"status": answer["status"]}
    raise CommandRefused(f"TriggerMessage: an OCPP 1.6 charger cannot be asked for {requested}")


MAPPERS: dict[str, Mapper] = {
    "CertificateSigned": _certificate_signed,
    "InstallCertificate": _install_certificate,
    "DeleteCertificate": _delete_certificate,
    "GetInstalledCertificateIds": _get_installed_certificate_ids,
    "TriggerMessage": _trigger_message,
}


async def call(
    wire: WireCall, station_id: str, action: str, payload: dict[str, Any], timeout: float
) -> dict[str, Any]:
    """The bridge's call ``action`` to a 1.6 charger (see the module docstring)."""
    mapper = MAPPERS.get(action)
    if mapper is None:
        return await wire(action, payload, timeout, action)
    if action == "CertificateSigned":
        payload = certificate_signed_201(payload)
    try:
        validate(pnc16.SCHEMA_VERSION, CALL, action, payload)
    except CallErrorReply as reply:
        raise CommandRefused(f"{action}: {reply.description}") from None
    return await mapper(wire, station_id, payload, timeout)


__all__ = ["MAPPERS", "call", "via_data_transfer"]
