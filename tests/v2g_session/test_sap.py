"""SupportedAppProtocol: the SECC picks the EV's best-priority protocol it supports."""

from __future__ import annotations

import pytest

import v2g
from v2g import v2gtp
from v2g.messages import sap
from v2g.session import (
    ConfigError,
    EvccSession,
    EvPolicy,
    SeccConfig,
    SeccSession,
    SessionEnded,
    SessionFailed,
)
from v2g.session import protocols as P


def _offer(*entries: tuple[str, int, int, int]) -> sap.supportedAppProtocolReq:
    return sap.supportedAppProtocolReq(
        AppProtocol=[
            sap.AppProtocolType(
                ProtocolNamespace=ns,
                VersionNumberMajor=major,
                VersionNumberMinor=minor,
                SchemaID=i,
                Priority=prio,
            )
            for i, (ns, major, minor, prio) in enumerate(entries, start=10)
        ]
    )


def test_the_best_priority_among_supported_protocols_wins() -> None:
    request = _offer((P.ISO20_DC.namespace, 1, 0, 2), (P.ISO2.namespace, 2, 0, 1), (P.DIN.namespace, 2, 0, 3))
    result = P.negotiate(request, [P.DIN, P.ISO20_DC, P.ISO2])
    assert result.protocol == P.ISO2
    assert result.response_code == "OK_SuccessfulNegotiation" and result.schema_id == 11
    assert P.chosen(request, result.response) == P.ISO2


def test_an_unsupported_protocol_is_skipped_for_the_next_priority() -> None:
    request = _offer((P.ISO20_AC.namespace, 1, 0, 1), (P.DIN.namespace, 2, 0, 2))
    assert P.negotiate(request, [P.DIN, P.ISO2]).protocol == P.DIN


def test_a_minor_version_difference_is_a_deviation_not_a_failure() -> None:
    result = P.negotiate(_offer((P.ISO2.namespace, 2, 1, 1)), [P.ISO2])
    assert result.response_code == "OK_SuccessfulNegotiationWithMinorDeviation"


def test_another_major_version_or_namespace_fails_the_negotiation() -> None:
    result = P.negotiate(_offer((P.ISO2.namespace, 3, 0, 1), ("urn:other", 1, 0, 2)), [P.ISO2, P.DIN])
    assert result.protocol is None and result.response_code == "Failed_NoNegotiation"
    assert result.response.SchemaID is None


def test_the_ev_request_lists_its_protocols_by_priority() -> None:
    request = P.build_request(P.protocols(("iso20-dc", "iso2", "din")))
    assert [(a.ProtocolNamespace, a.Priority) for a in request.AppProtocol] == [
        ("urn:iso:std:iso:15118:-20:DC", 1),
        ("urn:iso:15118:2:2013:MsgDef", 2),
        ("urn:din:70121:2012:MsgDef", 3),
    ]


def test_unknown_or_repeated_protocol_names_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown protocol 'iso3'"):
        P.protocols(("iso3",))
    with pytest.raises(ConfigError, match="listed twice"):
        P.protocols(("din", "din"))
    with pytest.raises(ConfigError):
        SeccConfig(protocols=())


def test_no_common_protocol_ends_both_machines_with_failed_no_negotiation() -> None:
    ev = EvccSession(EvPolicy(protocols=("iso20-dc",)))
    secc = SeccSession(SeccConfig(protocols=("din",)))
    secc_events = secc.receive_data(ev.data_to_send(), now=0.1)
    assert [type(e) for e in secc_events][-2:] == [SessionFailed, SessionEnded]
    answer = secc.data_to_send()
    assert v2g.decode(v2gtp.parse_frame(answer).payload, "sap").ResponseCode == "Failed_NoNegotiation"
    ev_events = ev.receive_data(answer, now=0.2)
    assert isinstance(ev_events[-1], SessionEnded) and ev.outcome == "Failed"
    assert secc.state == "Failed"
