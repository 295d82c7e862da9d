"""The request and answer bodies of the REST API (OpenAPI at ``/docs``).

The Plug & Charge calls take and return the OCPP 2.0.1 JSON payloads unchanged (camelCase field
names, the lengths of the OCPP JSON schemas), so a CSMS forwards what its charger sent. The
resources (certificates, contracts, stations, sign jobs) use camelCase too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class Camel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields are refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    def payload(self) -> dict[str, Any]:
        """The OCPP JSON form: camelCase names, absent optional fields left out."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class OcppType(Camel):
    """An OCPP data type: every one may carry the vendor's ``customData``."""

    custom_data: dict[str, Any] | None = Field(
        default=None, description="OCPP CustomDataType (vendorId, ...)."
    )


class CamelOut(BaseModel):
    """An answer body: camelCase, and fields the core adds later pass through."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


# -- OCPP 2.0.1 data types (names and lengths of the JSON schemas)

HashAlgorithm = Literal["SHA256", "SHA384", "SHA512"]
IdTokenEnum = Literal[
    "Central", "eMAID", "ISO14443", "ISO15693", "KeyCode", "Local", "MacAddress", "NoAuthorization"
]


class AdditionalInfo(OcppType):
    additional_id_token: str = Field(max_length=36)
    type: str = Field(max_length=50)


class IdToken(OcppType):
    id_token: str = Field(max_length=36, description="The eMAID for Plug & Charge.")
    type: IdTokenEnum = Field(description="`eMAID` for Plug & Charge.")
    additional_info: list[AdditionalInfo] | None = Field(default=None, min_length=1)


class OcspRequestData(OcppType):
    """OCSPRequestDataType: identifies one certificate and the OCSP responder to ask."""

    hash_algorithm: HashAlgorithm
    issuer_name_hash: str = Field(max_length=128, description="Hex hash of the issuer's DER name.")
    issuer_key_hash: str = Field(max_length=128, description="Hex hash of the issuer's public key.")
    serial_number: str = Field(max_length=40, description="Hex, without leading zeros.")
    responder_url: str = Field(max_length=512, alias="responderURL")


class CertificateHashData(OcppType):
    hash_algorithm: HashAlgorithm
    issuer_name_hash: str = Field(max_length=128)
    issuer_key_hash: str = Field(max_length=128)
    serial_number: str = Field(max_length=40)


class StatusInfo(CamelOut):
    reason_code: str
    additional_info: str | None = None


# -- the Plug & Charge calls


class AuthorizeRequest(OcppType):
    """OCPP AuthorizeRequest (C07): the eMAID and either the contract chain or its hash data."""

    id_token: IdToken
    certificate: str | None = Field(
        default=None, max_length=5500, description="The contract certificate chain, PEM, leaf first."
    )
    iso15118_certificate_hash_data: list[OcspRequestData] | None = Field(
        default=None, min_length=1, max_length=4, alias="iso15118CertificateHashData"
    )


class IdTokenInfo(CamelOut):
    status: str = Field(description="Accepted, Blocked, Expired, Invalid, Unknown, ...")


class AuthorizeResponse(CamelOut):
    id_token_info: IdTokenInfo
    certificate_status: str | None = Field(
        default=None,
        description="Accepted, CertificateExpired, CertificateRevoked, CertChainError or ContractCancelled.",
    )


class EvCertificateRequest(OcppType):
    """OCPP Get15118EVCertificateRequest: the EV's EXI CertificateInstallationReq (or Update), base64."""

    iso15118_schema_version: str = Field(
        max_length=50, alias="iso15118SchemaVersion", description="e.g. urn:iso:15118:2:2013:MsgDef"
    )
    action: Literal["Install", "Update"]
    exi_request: str = Field(max_length=11000, description="Base64 EXI (OCPP 2.0.1 allows 5600 characters).")


class EvCertificateResponse(CamelOut):
    status: Literal["Accepted", "Failed"]
    exi_response: str = Field(description="Base64 EXI CertificateInstallationRes / CertificateUpdateRes.")
    status_info: StatusInfo | None = None


class CertificateStatusRequest(OcppType):
    """OCPP GetCertificateStatusRequest (M06)."""

    ocsp_request_data: OcspRequestData


class CertificateStatusResponse(CamelOut):
    status: Literal["Accepted", "Failed"]
    ocsp_result: str | None = Field(default=None, description="Base64 DER OCSPResponse.")
    status_info: StatusInfo | None = None


CertificateSigningUse = Literal["ChargingStationCertificate", "V2GCertificate"]


class SignCertificateRequest(Camel):
    """OCPP SignCertificateRequest plus the station it came from."""

    station_id: str = Field(min_length=1, max_length=48, description="The charger's OCPP identity.")
    csr: str = Field(max_length=5500, description="PKCS#10 CSR, PEM.")
    certificate_type: CertificateSigningUse | None = Field(
        default=None, description="Absent: both (SignCombinedCertificate)."
    )
    deliver: bool = Field(
        default=False,
        description="false: sign now and return the chains. true: answer like the OCPP SignCertificate "
        "(Accepted/Rejected) and send CertificateSigned to the connected charger in the background.",
    )


class SignedChain(CamelOut):
    certificate_type: CertificateSigningUse
    certificate_chain: str = Field(description="PEM: leaf, Sub-CA 2, Sub-CA 1 (no root).")
    serial_number: str


class SignCertificateResponse(CamelOut):
    status: Literal["Accepted", "Rejected"]
    status_info: StatusInfo | None = None
    certificates: list[SignedChain] | None = Field(default=None, description="deliver=false: the chains.")
    jobs: list[int] | None = Field(default=None, description="deliver=true: the sign jobs to follow.")


# -- certificates


class CertificateSummary(CamelOut):
    serial: str = Field(description="Hex without leading zeros.")
    role: str
    profile: str
    subject: str
    issuer: str | None = Field(description="The issuing CA of this home; null for a root.")
    not_before: dt.datetime
    not_after: dt.datetime
    status: Literal["valid", "revoked"]
    revoked_at: dt.datetime | None = None
    reason: str | None = None


class CertificateDetail(CertificateSummary):
    pem: str
    sha256_fingerprint: str


class CertificatePage(CamelOut):
    items: list[CertificateSummary]
    next_offset: int | None = Field(description="Pass as offset for the next page; null on the last.")


class RevokeRequest(Camel):
    reason: str = Field(default="unspecified", description="RFC 5280 CRLReason, e.g. keyCompromise.")


# -- contracts

ContractStatusName = Literal["active", "blocked", "expired"]


class Contract(CamelOut):
    emaid: str
    pcid: str | None
    status: ContractStatusName = Field(description="What the services act on now.")
    registered_status: ContractStatusName
    valid_to: dt.date | None
    certificate_serial: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ContractCreate(Camel):
    emaid: str = Field(max_length=20, description="e.g. DE-8AA-CA2B3C4D5-L; check character optional.")
    pcid: str | None = Field(default=None, max_length=18)
    status: ContractStatusName = "active"
    valid_to: dt.date | None = Field(default=None, description="Last day of validity (UTC).")


class ContractUpdate(Camel):
    status: ContractStatusName


# -- stations and charger commands


class Connection(CamelOut):
    ocpp_version: str
    security_profile: int
    remote: str
    connected_at: dt.datetime
    process_id: str


class Station(CamelOut):
    station_id: str
    registered: bool
    security_profile: int | None = Field(description="The profile it must connect with; null if unknown.")
    connected: bool
    connection: Connection | None = None


class InstallCertificateRequest(OcppType):
    """OCPP InstallCertificateRequest (M05): a root certificate only (OEMRootCertificate: OCPP 2.1
    chargers only)."""

    certificate_type: Literal[
        "V2GRootCertificate",
        "MORootCertificate",
        "CSMSRootCertificate",
        "ManufacturerRootCertificate",
        "OEMRootCertificate",
    ]
    certificate: str = Field(max_length=5500, description="PEM.")


class DeleteCertificateRequest(OcppType):
    """OCPP DeleteCertificateRequest (M04)."""

    certificate_hash_data: CertificateHashData


class TriggerMessageRequest(OcppType):
    """OCPP TriggerMessageRequest (F06) for the certificate renewals (SignV2G20Certificate: OCPP
    2.1 chargers only)."""

    requested_message: Literal[
        "SignV2GCertificate",
        "SignChargingStationCertificate",
        "SignCombinedCertificate",
        "SignV2G20Certificate",
    ]


InstalledCertificateType = Literal[
    "V2GRootCertificate",
    "MORootCertificate",
    "CSMSRootCertificate",
    "V2GCertificateChain",
    "ManufacturerRootCertificate",
    "OEMRootCertificate",  # OCPP 2.1
]


class StationAnswer(CamelOut):
    """The charger's CallResult payload, as it sent it (e.g. ``{"status": "Accepted"}``)."""

    status: str


class SignJob(CamelOut):
    id: int
    station_id: str
    certificate_type: str
    status: str = Field(description="pending, signed, delivered, rejected or failed")
    attempts: int
    serial_number: str | None
    last_error: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
