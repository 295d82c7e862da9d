"""Requests the service cannot process: bytes that are not EXI of the schema, an unsupported
schema version or action, a message that is not the announced certificate request, a home that
cannot serve the schema, a signer that fails after issuance. Each is a typed outcome with OCPP
status Failed; nothing raises, and the store is unchanged (a certificate issued before a later
failure is revoked)."""

from __future__ import annotations

import random
from typing import Any

import ev_side
import pytest
from bench import EMAID, NAMESPACE, PCID, Bench

import v2g
from pnc.core.install import ContractInstaller, InstallResult
from v2g.messages import iso2

PROTOCOLS = ["iso2", "iso20-cm"]


def unprocessable(bench: Bench, result: InstallResult, outcome: str, code: str | None) -> Any:
    """Failed, the outcome and code expected, nothing written; the decoded response (or None)."""
    assert (result.status, result.outcome, result.response_code) == ("Failed", outcome, code), result.detail
    assert result.serial is None
    if code is None:
        assert result.exi_response == b""
        return None
    return result.exi_response


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("data", [b"", b"\x80", b"\x80\xff\xff\xff\xff", b"not exi at all", bytes(300)])
def test_bytes_that_are_not_a_message_of_the_schema(bench: Bench, protocol: str, data: bytes) -> None:
    before, audit = bench.snapshot(), bench.audit_actions()
    result = bench.install(data, protocol)
    exi = unprocessable(bench, result, "malformed-request", "FAILED")
    assert "does not decode" in result.detail or "not a V2G message" in result.detail
    response = v2g.decode(exi, protocol)
    assert response.Header.SessionID == bytes(8)  # no session to answer in
    assert bench.snapshot() == before and bench.audit_actions() == audit


@pytest.mark.parametrize(
    "version", ["urn:iso:15118:2:2010:MsgDef", "urn:din:70121:2012:MsgDef", "", "x" * 500]
)
def test_unsupported_schema_version(bench: Bench, version: str) -> None:
    before = bench.snapshot()
    result = bench.installer.install_contract(b"\x80\x98", version, "Install")
    unprocessable(bench, result, "unsupported-schema", None)
    assert "unsupported iso15118SchemaVersion" in result.detail and len(result.detail) < 300
    assert bench.snapshot() == before


def test_unknown_action(bench: Bench) -> None:
    result = bench.installer.install_contract(b"\x80", NAMESPACE["iso2"], "Renew")
    exi = unprocessable(bench, result, "malformed-request", "FAILED")
    assert "unknown action 'Renew'" in result.detail
    assert v2g.decode(exi, "iso2").Body.CertificateInstallationRes.ResponseCode == "FAILED"


def test_update_request_announced_as_install_and_vice_versa(bench: Bench) -> None:
    bench.registry.add(EMAID, pcid=PCID)
    install = bench.request("iso2", bench.vehicle())
    result = bench.install(install, action="Update")
    exi = unprocessable(bench, result, "sequence-error", "FAILED_SequenceError")
    response = v2g.decode(exi, "iso2")  # answered in the request's session, as the message it is
    assert response.Header.SessionID == ev_side.Vehicle.session_id
    assert response.Body.CertificateInstallationRes.ResponseCode == "FAILED_SequenceError"
    assert "needs a CertificateUpdateReq" in result.detail


def test_another_message_in_place_of_the_certificate_request(bench: Bench) -> None:
    setup = iso2.V2G_Message(
        Header=iso2.MessageHeaderType(SessionID=bytes(1)),
        Body=iso2.BodyType(SessionSetupReq=iso2.SessionSetupReq(EVCCID=bytes.fromhex("48c58db1e43e"))),
    )
    result = bench.install(setup)
    exi = unprocessable(bench, result, "sequence-error", "FAILED_SequenceError")
    assert v2g.decode(exi, "iso2").Body.CertificateInstallationRes.ResponseCode == "FAILED_SequenceError"
    assert "is a SessionSetupReq" in result.detail


def test_iso2_request_announced_as_iso20(bench: Bench) -> None:
    data = v2g.encode(bench.request("iso2", bench.vehicle()))
    result = bench.installer.install_contract(data, NAMESPACE["iso20-cm"], "Install")
    assert result.status == "Failed" and result.response_code in ("FAILED", "FAILED_SequenceError")
    assert v2g.decode(result.exi_response, "iso20-cm").ResponseCode == result.response_code


def test_home_without_the_requested_profile(ca_template_ed448: Any, tmp_path: Any) -> None:
    import shutil

    home = tmp_path / "home"
    shutil.copytree(ca_template_ed448, home)  # ISO 15118-20 only
    with Bench.open(home) as bench:
        result = bench.install(b"\x80\x98\x02", "iso2")
    exi = unprocessable(bench, result, "internal-error", "FAILED")
    assert "cannot serve urn:iso:15118:2:2013:MsgDef" in result.detail
    assert v2g.decode(exi, "iso2").Body.CertificateInstallationRes.ResponseCode == "FAILED"


def test_signer_failure_after_issuance_revokes_the_certificate(bench: Bench) -> None:
    bench.registry.add(EMAID, pcid=PCID)
    request = bench.request("iso2", bench.vehicle())
    (bench.home / "keys" / "iso15118-2" / "cps-leaf.key.pem").unlink()  # the CPS leaf key is gone
    bench.installer = ContractInstaller(bench.make_service())
    result = bench.install(request)
    exi = unprocessable(bench, result, "internal-error", "FAILED")
    assert v2g.decode(exi, "iso2").Body.CertificateInstallationRes.ResponseCode == "FAILED"
    (contract,) = bench.service.list_certificates(role="contract")
    assert contract.status == "revoked" and contract.reason == "cessationOfOperation"
    assert bench.registry.get(EMAID).certificate_serial is None
    assert bench.audit_actions()[-4:] == ["issue", "contract-install", "revoke", "contract-install-undone"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_mutated_requests_always_get_an_answer(bench: Bench, protocol: str) -> None:
    """Random bit flips, truncations and insertions in a valid request: every one gets a result
    with EXI the codec decodes (or none), never an exception."""
    bench.registry.add(EMAID, pcid=PCID)
    data = v2g.encode(bench.request(protocol, bench.vehicle(protocol)))
    rng = random.Random(15118)
    outcomes = set()
    for _ in range(60):
        mutated = bytearray(data)
        choice = rng.randrange(3)
        if choice == 0:
            for _ in range(rng.randint(1, 4)):
                mutated[rng.randrange(len(mutated))] ^= 1 << rng.randrange(8)
        elif choice == 1:
            del mutated[rng.randrange(1, len(mutated)) :]
        else:
            mutated[rng.randrange(len(mutated)) : 0] = rng.randbytes(rng.randint(1, 8))
        result = bench.install(bytes(mutated), protocol)
        outcomes.add(result.outcome)
        if result.exi_response:
            v2g.decode(result.exi_response, protocol)
        assert result.outcome != "internal-error", result.detail
    assert "malformed-request" in outcomes and len(outcomes) > 1
