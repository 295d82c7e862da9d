"""The application protocols a V2G session can speak and their SupportedAppProtocol negotiation.

The EVCC lists the protocols it supports (namespace, version, a SchemaID it chooses and a
Priority, 1 = most preferred) in ``supportedAppProtocolReq``; the SECC picks the one with the best
priority among those it supports and answers with its SchemaID ([V2G2-172]ff.,
DIN SPEC 70121 §8.8.2.1):

- ``OK_SuccessfulNegotiation`` when the major and minor versions match,
- ``OK_SuccessfulNegotiationWithMinorDeviation`` when only the major version matches,
- ``Failed_NoNegotiation`` (no SchemaID) when no offered protocol is supported.

Protocol names used here and in the session machines: ``din`` (DIN SPEC 70121), ``iso2``
(ISO 15118-2:2014), ``iso20-ac`` and ``iso20-dc`` (ISO 15118-20:2022, one namespace per energy
transfer family).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from v2g.messages import sap
from v2g.session.errors import ConfigError


@dataclass(frozen=True)
class AppProtocol:
    """One application protocol as SupportedAppProtocol names it."""

    name: str  # din | iso2 | iso20-ac | iso20-dc
    namespace: str
    major: int
    minor: int

    @property
    def family(self) -> str:
        """``din``, ``iso2`` or ``iso20``: the message set the session machines speak."""
        return "iso20" if self.name.startswith("iso20") else self.name


DIN = AppProtocol("din", "urn:din:70121:2012:MsgDef", 2, 0)
ISO2 = AppProtocol("iso2", "urn:iso:15118:2:2013:MsgDef", 2, 0)
ISO20_AC = AppProtocol("iso20-ac", "urn:iso:std:iso:15118:-20:AC", 1, 0)
ISO20_DC = AppProtocol("iso20-dc", "urn:iso:std:iso:15118:-20:DC", 1, 0)
PROTOCOLS: dict[str, AppProtocol] = {p.name: p for p in (DIN, ISO2, ISO20_AC, ISO20_DC)}
BY_NAMESPACE: dict[str, AppProtocol] = {p.namespace: p for p in PROTOCOLS.values()}

OK = "OK_SuccessfulNegotiation"
OK_MINOR_DEVIATION = "OK_SuccessfulNegotiationWithMinorDeviation"
FAILED = "Failed_NoNegotiation"


def protocols(names: Sequence[str]) -> tuple[AppProtocol, ...]:
    """The protocols of ``names`` in the order given; an unknown or repeated name is a ConfigError."""
    if not names:
        raise ConfigError("at least one protocol is needed: din, iso2, iso20-ac or iso20-dc")
    out: list[AppProtocol] = []
    for name in names:
        protocol = PROTOCOLS.get(name)
        if protocol is None:
            raise ConfigError(f"unknown protocol {name!r}: use one of {', '.join(PROTOCOLS)}")
        if protocol in out:
            raise ConfigError(f"protocol {name!r} is listed twice")
        out.append(protocol)
    return tuple(out)


def build_request(offered: Sequence[AppProtocol]) -> sap.supportedAppProtocolReq:
    """The EVCC's request: the protocols in order of preference, SchemaID = Priority = position."""
    if not 1 <= len(offered) <= 20:
        raise ConfigError(f"SupportedAppProtocol carries 1 to 20 protocols, not {len(offered)}")
    return sap.supportedAppProtocolReq(
        AppProtocol=[
            sap.AppProtocolType(
                ProtocolNamespace=p.namespace,
                VersionNumberMajor=p.major,
                VersionNumberMinor=p.minor,
                SchemaID=i,
                Priority=i,
            )
            for i, p in enumerate(offered, start=1)
        ]
    )


@dataclass(frozen=True)
class Negotiation:
    """The SECC's choice: the response to send and the protocol (None when negotiation failed)."""

    response: sap.supportedAppProtocolRes
    protocol: AppProtocol | None
    schema_id: int | None

    @property
    def response_code(self) -> str:
        return str(self.response.ResponseCode)


def negotiate(request: sap.supportedAppProtocolReq, supported: Sequence[AppProtocol]) -> Negotiation:
    """Pick the EVCC's best-priority protocol that the SECC supports (same major version)."""
    best: tuple[int, sap.AppProtocolType, AppProtocol] | None = None
    for offer in request.AppProtocol:
        ours = next(
            (
                p
                for p in supported
                if p.namespace == offer.ProtocolNamespace and p.major == offer.VersionNumberMajor
            ),
            None,
        )
        if ours is None:
            continue
        priority = offer.Priority if offer.Priority is not None else 21
        if best is None or priority < best[0]:
            best = (priority, offer, ours)
    if best is None:
        return Negotiation(sap.supportedAppProtocolRes(ResponseCode=FAILED), None, None)
    _, offer, ours = best
    code = OK if offer.VersionNumberMinor == ours.minor else OK_MINOR_DEVIATION
    return Negotiation(
        sap.supportedAppProtocolRes(ResponseCode=code, SchemaID=offer.SchemaID), ours, offer.SchemaID
    )


def chosen(request: sap.supportedAppProtocolReq, response: sap.supportedAppProtocolRes) -> AppProtocol | None:
    """The protocol the SECC chose (EVCC side): the offer with the response's SchemaID."""
    if not str(response.ResponseCode).startswith("OK") or response.SchemaID is None:
        return None
    for offer in request.AppProtocol:
        if offer.SchemaID == response.SchemaID:
            return BY_NAMESPACE.get(offer.ProtocolNamespace or "")
    return None
