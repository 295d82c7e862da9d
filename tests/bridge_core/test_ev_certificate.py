"""Get15118EVCertificate through the facade: base64 EXI in and out, refusals with an EXI answer,
malformed payloads, and the exiResponse limit of OCPP 2.0.1 (the issued certificate withdrawn)."""

from __future__ import annotations

import base64
from typing import Any

import ev_side
import pytest
from bridge_helpers import Home, run

import v2g
from pki.certinfo import parse_certificate
from pki.profiles import ProfileName, Role
from pnc.core.errors import PayloadError
from pnc.core.get_certificate import EXI_RESPONSE_LIMIT_21
from pnc.core.install_messages import ISO2_MSG_DEF, ISO20_COMMON_MESSAGES

PCID = "WMIV1234567890ABC1"
EMAID = "DE8AACA2B3C4D5L"


def _request(home: Home, protocol: str = "iso2") -> str:
    profile = ProfileName.ISO15118_2 if protocol == "iso2" else ProfileName.ISO15118_20
    issued = home.service.issue_leaf(Role.OEM_PROV, PCID, profile=profile)
    assert issued.private_key is not None
    chain = (issued.certificate,) if protocol == "iso2" else (issued.certificate, *issued.chain)
    ev = ev_side.Vehicle(issued.private_key, chain)  # type: ignore[arg-type]
    roots = home.service.roots(profile)
    ids = [
        (parse_certificate(roots[r]).subject.rfc4514(), parse_certificate(roots[r]).serial)
        for r in (Role.V2G_ROOT, Role.MO_ROOT)
    ]
    return base64.b64encode(v2g.encode(ev_side.installation_request(protocol, ev, ids))).decode()


def _payload(exi: str, schema: str = ISO2_MSG_DEF, action: str = "Install") -> dict[str, Any]:
    return {"iso15118SchemaVersion": schema, "action": action, "exiRequest": exi}


@pytest.mark.parametrize(
    ("protocol", "schema"), [("iso2", ISO2_MSG_DEF), ("iso20-cm", ISO20_COMMON_MESSAGES)]
)
def test_an_installation_request_is_answered_with_the_contract_in_base64_exi(
    home: Home, protocol: str, schema: str
) -> None:
    core = home.core()
    core.registry.add(EMAID, pcid=PCID)
    answer = run(core.get_15118_ev_certificate(_payload(_request(home, protocol), schema)))
    assert answer["status"] == "Accepted" and "statusInfo" not in answer
    assert 1000 < len(answer["exiResponse"]) <= 7500
    assert base64.b64decode(answer["exiResponse"], validate=True)
    assert core.registry.get(EMAID).certificate_serial is not None


def test_an_unknown_vehicle_gets_an_exi_refusal_and_the_reason(home: Home) -> None:
    answer = run(home.core().get_15118_ev_certificate(_payload(_request(home))))
    assert answer["status"] == "Accepted"  # processed: the EXI answer carries the refusal
    response = v2g.decode(base64.b64decode(answer["exiResponse"]), "iso2")
    assert "FAILED_NoCertificateAvailable" in repr(response)
    assert answer["statusInfo"]["reasonCode"] == "UnknownVehicle"
    assert PCID in answer["statusInfo"]["additionalInfo"]


def test_garbage_exi_gets_failed_and_changes_nothing(home: Home) -> None:
    before = home.snapshot()
    garbage = base64.b64encode(b"\x80\x98\x02\x10garbage" * 20).decode()
    answer = run(home.core().get_15118_ev_certificate(_payload(garbage)))
    assert answer["status"] == "Failed" and answer["statusInfo"]["reasonCode"] == "MalformedRequest"
    assert home.snapshot() == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"action": "Install", "exiRequest": "AAAA"}, "iso15118SchemaVersion"),
        ({"iso15118SchemaVersion": ISO2_MSG_DEF, "action": "Delete", "exiRequest": "AAAA"}, "action"),
        (
            {"iso15118SchemaVersion": ISO2_MSG_DEF, "action": "Install", "exiRequest": "not base64!"},
            "exiRequest",
        ),
        ({"iso15118SchemaVersion": ISO2_MSG_DEF, "action": "Install", "exiRequest": ""}, "exiRequest"),
        (
            {"iso15118SchemaVersion": ISO2_MSG_DEF, "action": "Install", "exiRequest": "A" * 11004},
            "exiRequest",
        ),
        (
            {"iso15118SchemaVersion": "x" * 51, "action": "Install", "exiRequest": "AAAA"},
            "iso15118SchemaVersion",
        ),
        ({"iso15118SchemaVersion": ISO2_MSG_DEF, "action": ["Install"], "exiRequest": "AAAA"}, "action"),
    ],
)
def test_malformed_requests_are_payload_errors(home: Home, payload: dict[str, Any], field: str) -> None:
    before = home.snapshot()
    with pytest.raises(PayloadError) as caught:
        run(home.core().get_15118_ev_certificate(payload))
    assert caught.value.field == field
    assert home.snapshot() == before


def test_a_response_over_the_limit_is_failed_and_its_certificate_withdrawn(home: Home) -> None:
    core = home.core()
    core.registry.add(EMAID, pcid=PCID)
    answer = run(core.get_15118_ev_certificate(_payload(_request(home)), exi_response_limit=1000))
    assert answer["status"] == "Failed" and answer["exiResponse"] == ""
    assert answer["statusInfo"]["reasonCode"] == "ExiResponseTooLong"
    assert "1000" in answer["statusInfo"]["additionalInfo"]
    issued = [c for c in home.service.list_certificates(role="contract")]
    assert [c.status for c in issued] == ["revoked"]
    assert core.registry.get(EMAID).certificate_serial is None  # the contract names no certificate again


def test_ocpp_2_1_limits_apply_when_asked_for(home: Home) -> None:
    core = home.core()
    core.registry.add(EMAID, pcid=PCID)
    answer = run(
        core.get_15118_ev_certificate(_payload(_request(home)), exi_response_limit=EXI_RESPONSE_LIMIT_21)
    )
    assert answer["status"] == "Accepted"
